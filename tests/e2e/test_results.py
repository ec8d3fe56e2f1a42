"""What the calls achieved, end to end through the simulator (CONTRACT §5, §7): each
disposition's action, results in the reading routes, the campaign's counts and cost, events."""

from datetime import datetime, timedelta

import httpx

from outbound.domain.dispositions import AfterVoicemail, Voicemail, VoicemailAction
from outbound.domain.windows import is_open, next_opening, parse_window, zone_of
from outbound.store.database import Database
from tests.factories import make_account, make_playbook, phone
from tests.receiver import Receiver, receiving
from tests.servers import Server, wait_for

DISPOSITIONS = {
    "booked": "complete",
    "not_now": "retry",
    "call_back": "callback",
    "opt_out": "dnc",
}


def _campaign(http: httpx.Client, playbook_id: object, contacts: list[dict], **body) -> str:
    response = http.post(
        "/campaign", json={"playbook_id": str(playbook_id), "contacts": contacts, **body}
    )
    assert response.status_code == 202, response.text
    return str(response.json()["campaign_id"])


def _finished(http: httpx.Client, campaign_id: str, timeout: float = 30) -> dict:
    wait_for(lambda: http.get(f"/campaign/{campaign_id}").json()["status"] == "completed", timeout)
    return dict(http.get(f"/campaign/{campaign_id}").json())


def _calls(http: httpx.Client, campaign_id: str) -> dict[str, dict]:
    return {c["phone"]: c for c in http.get(f"/campaign/{campaign_id}/calls").json()["calls"]}


def _sim(disposition: str | None = None, **fields: object) -> dict:
    custom = {f"sim_{name}": value for name, value in fields.items()}
    if disposition:
        custom["sim_disposition"] = disposition
    return custom


def _ended_and_pending(call: dict) -> bool:
    attempts = call["attempts"]
    return call["status"] == "pending" and bool(attempts) and attempts[0]["outcome"] is not None


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_results_are_read_everywhere_and_summed_by_the_campaign(server: Server, database: Database):
    tenant = make_account(database)
    playbook_id = make_playbook(database, tenant.id, DISPOSITIONS)
    booked, plain, unanswered = phone(11), phone(12), phone(70)
    data = {"meeting_at": "2026-12-03T10:00:00Z", "budget": 1200}
    with server.client(tenant.token) as http:
        campaign_id = _campaign(
            http,
            playbook_id,
            [
                {"phone": booked, "first_name": "Ana", "custom_fields": _sim("booked", data=data)},
                {"phone": plain},
                {"phone": unanswered},
            ],
        )
        report = _finished(http, campaign_id)
        calls = _calls(http, campaign_id)
        full = http.get(f"/call/{calls[booked]['call_id']}").json()
    assert report["dispositions"] == {"booked": 1}
    assert report["cost"] == {"amount": 0.11, "currency": "USD"}  # two answered, one not
    listed = calls[booked]["attempts"][0]["result"]
    assert "transcript" not in listed
    assert listed["disposition"] == "booked" and listed["data"] == data
    assert listed["summary"] == "Simulated conversation with Ana."
    result = full["attempts"][0]["result"]
    assert result["transcript"] == [
        {"role": "agent", "text": "Hi Ana", "at_s": 0.0},
        {"role": "contact", "text": "Hello?", "at_s": result["transcript"][1]["at_s"]},
    ]
    assert result["cost"] == {"amount": 0.05, "currency": "USD"}
    assert calls[plain]["status"] == "completed"
    assert calls[plain]["attempts"][0]["result"]["disposition"] is None
    assert calls[plain]["attempts"][0]["result"]["summary"].endswith(f"{plain}.")
    assert calls[unanswered]["attempts"][0]["result"]["cost"]["amount"] == 0.01
    with server.client(make_account(database).token) as other:
        assert other.get(f"/call/{calls[booked]['call_id']}").status_code == 404


def test_a_callback_is_placed_at_the_asked_time_then_acts_as_retry_past_the_budget(
    server: Server, database: Database
):
    tenant = make_account(database)
    playbook_id = make_playbook(database, tenant.id, DISPOSITIONS)
    number = phone(21)
    with server.client(tenant.token) as http:
        campaign_id = _campaign(
            http,
            playbook_id,
            [{"phone": number, "custom_fields": _sim("call_back", callback_minutes=0.02)}],
            max_callbacks=1,
        )
        report = _finished(http, campaign_id)
        call = _calls(http, campaign_id)[number]
    first, second = call["attempts"]
    asked = _when(first["result"]["callback_at"])
    assert abs((asked - _when(first["ended_at"])).total_seconds() - 1.2) < 0.01
    assert _when(second["started_at"]) >= asked
    # The callback budget (1) is spent and the recall has no offset: the call fails.
    assert call["status"] == "failed" and report["max_callbacks"] == 1
    assert report["dispositions"] == {"call_back": 1}


def test_a_callback_outside_the_calling_window_moves_to_its_opening(
    server: Server, database: Database
):
    tenant = make_account(database)
    playbook_id = make_playbook(database, tenant.id, DISPOSITIONS)
    number = phone(22)
    now = datetime.now(zone_of("UTC"))
    # Open only today, for the next hour or so: a callback a day later lands on a closed day.
    start = now - timedelta(minutes=5)
    end = min(now + timedelta(minutes=60), now.replace(hour=23, minute=59))
    window = {
        "start": start.strftime("%H:%M"),
        "end": end.strftime("%H:%M"),
        "days": [now.strftime("%a").lower()],
    }
    with server.client(tenant.token) as http:
        campaign_id = _campaign(
            http,
            playbook_id,
            [
                {
                    "phone": number,
                    "timezone": "UTC",  # the window is read in the contact's zone
                    "custom_fields": _sim("call_back", callback_minutes=24 * 60),
                }
            ],
            calling_window=window,
        )
        # A new call is pending too, due at launch: wait for its first attempt's end.
        wait_for(lambda: _ended_and_pending(_calls(http, campaign_id)[number]), 30)
        call = _calls(http, campaign_id)[number]
    ended = _when(call["attempts"][0]["ended_at"])
    asked = ended + timedelta(days=1)
    expected = next_opening(parse_window(window), zone_of("UTC"), asked)
    assert _when(call["next_attempt_at"]) == expected != asked
    assert is_open(parse_window(window), zone_of("UTC"), expected)
    assert _when(call["attempts"][0]["result"]["callback_at"]) == asked  # as the contact asked


def test_dnc_stops_the_phone_in_every_campaign_of_the_account(server: Server, database: Database):
    tenant = make_account(database)
    playbook_id = make_playbook(database, tenant.id, DISPOSITIONS)
    number = phone(31)
    later = (datetime.now(zone_of("UTC")) + timedelta(seconds=4)).isoformat()
    with server.client(tenant.token) as http:
        waiting = _campaign(http, playbook_id, [{"phone": number}], launch_at=later)
        now = _campaign(http, playbook_id, [{"phone": number, "custom_fields": _sim("opt_out")}])
        _finished(http, now)
        assert _calls(http, now)[number]["status"] == "completed"
        _finished(http, waiting)
        skipped = _calls(http, waiting)[number]
        suppressed = http.get("/dnc").json()["phones"]
    assert skipped["status"] == "skipped" and skipped["skip_reason"] == "do_not_call"
    assert skipped["attempts"] == []
    assert [p["phone"] for p in suppressed] == [number]
    assert suppressed[0].get("reason") == "disposition:opt_out"


def test_a_retry_disposition_follows_the_recall_rule(server: Server, database: Database):
    tenant = make_account(database)
    playbook_id = make_playbook(database, tenant.id, DISPOSITIONS)
    number = phone(41)
    with server.client(tenant.token) as http:
        campaign_id = _campaign(
            http, playbook_id, [{"phone": number, "custom_fields": _sim("not_now")}], recall=[0.01]
        )
        _finished(http, campaign_id)
        call = _calls(http, campaign_id)[number]
    assert [a["outcome"] for a in call["attempts"]] == ["answered", "answered"]
    assert call["status"] == "failed"


def test_a_left_voicemail_completes_when_the_playbook_says_so(server: Server, database: Database):
    tenant = make_account(database)
    leave = Voicemail(VoicemailAction.LEAVE_MESSAGE, "Call us back", AfterVoicemail.COMPLETE)
    playbook_id = make_playbook(database, tenant.id, DISPOSITIONS, voicemail=leave)
    number = phone(85)
    with server.client(tenant.token) as http:
        campaign_id = _campaign(http, playbook_id, [{"phone": number}], recall=[0.01, 0.02])
        _finished(http, campaign_id)
        call = _calls(http, campaign_id)[number]
    assert call["status"] == "completed"
    [attempt] = call["attempts"]
    assert attempt["outcome"] == "voicemail" and attempt["result"]["voicemail_left"] is True


def test_events_carry_results_and_callbacks(server: Server, database: Database):
    tenant = make_account(database)
    playbook_id = make_playbook(database, tenant.id, DISPOSITIONS)
    number = phone(42)
    with receiving(Receiver()) as receiver, server.client(tenant.token) as http:
        created = http.post("/webhook-endpoint", json={"url": receiver.url})
        assert created.status_code == 201, created.text
        campaign_id = _campaign(
            http,
            playbook_id,
            [{"phone": number, "custom_fields": _sim("call_back", callback_minutes=0.01)}],
            max_callbacks=1,
        )
        _finished(http, campaign_id)
        wait_for(lambda: any(e["type"] == "call.failed" for e in receiver.accepted()), 20)
        events = receiver.accepted()
    [scheduled] = [e for e in events if e["type"] == "call.callback_scheduled"]
    attempted = [e for e in events if e["type"] == "call.attempted"]
    assert [e["data"]["attempt"]["result"]["disposition"] for e in attempted] == ["call_back"] * 2
    first_result = attempted[0]["data"]["attempt"]["result"]
    assert scheduled["data"]["callback_at"] == first_result["callback_at"]
    assert scheduled["data"]["attempt"]["number"] == 1  # the attempt that asked for it
    [failed] = [e for e in events if e["type"] == "call.failed"]
    assert failed["data"]["call"]["attempts"][-1]["result"]["cost"]["amount"] == 0.05
    assert failed["data"]["attempt"]["number"] == 2
    assert failed["data"]["attempt"]["result"]["disposition"] == "call_back"
