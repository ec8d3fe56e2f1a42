"""Results posted by an agent runtime: ``POST /call/{id}/attempts/{n}/result`` (CONTRACT §7),
for a provider that carries no results (Twilio). ``outbound serve`` places the calls on the
stand-in of Twilio's API and the tests play Twilio's status callbacks, before and after which
the runtime posts the conversation's result."""

from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from outbound.domain.dispositions import AfterVoicemail, Voicemail, VoicemailAction
from outbound.domain.results import DATA_MAX_BYTES, SUMMARY_MAX_CHARS, TRANSCRIPT_MAX_TURNS
from outbound.domain.windows import is_open, next_opening, parse_window, zone_of
from outbound.store.database import Database
from tests import servers
from tests.factories import Tenant, make_account, make_playbook, phone
from tests.providers.twilio_api import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    ApiRequest,
    StatusCallbacks,
    TwilioApi,
    outbound_env,
    running,
)
from tests.receiver import Receiver, receiving
from tests.servers import Server, serving_api, start_server, wait_for

DISPOSITIONS = {
    "booked": "complete",
    "not_now": "retry",
    "call_back": "callback",
    "opt_out": "dnc",
}
TURNS = [
    {"role": "agent", "text": "Hi Ada, this is Acme.", "at_s": 0.4},
    {"role": "contact", "text": "Call me back in a bit.", "at_s": 2.5},
]


@pytest.fixture(scope="module")
def database_url(module_database_url: str) -> str:
    """A database of the module's own: its server places calls through Twilio's stand-in."""
    return module_database_url


@pytest.fixture(scope="module")
def twilio(
    database_url: str, database: Database, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TwilioApi, Server]]:
    """Twilio's stand-in and an ``outbound serve`` calling through it (default grace)."""
    with running(TwilioApi(ACCOUNT_SID, AUTH_TOKEN)) as api, ExitStack() as stack:
        # OUTBOUND_PUBLIC_URL names the server's own port, chosen before it starts.
        port = servers.free_port()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(servers, "free_port", lambda: port)
            env = outbound_env(api, f"http://127.0.0.1:{port}")
            workdir = tmp_path_factory.mktemp("server")
            server = stack.enter_context(start_server(database_url, workdir, extra_env=env))
        yield api, server


def _tenant(database: Database, voicemail: Voicemail | None = None) -> tuple[Tenant, str]:
    tenant = make_account(database)
    return tenant, str(make_playbook(database, tenant.id, DISPOSITIONS, voicemail=voicemail))


def _campaign(http: httpx.Client, playbook_id: str, contacts: list[dict], **body: Any) -> str:
    body = {"playbook_id": playbook_id, "contacts": contacts, **body}
    created = http.post("/campaign", json=body)
    assert created.status_code == 202, created.text
    return str(created.json()["campaign_id"])


def _call_id(http: httpx.Client, campaign_id: str, phone: str) -> str:
    calls = http.get(f"/campaign/{campaign_id}/calls").json()["calls"]
    return str(next(c["call_id"] for c in calls if c["phone"] == phone))


def _placed(api: TwilioApi, phone: str, attempt: int = 1) -> StatusCallbacks:
    """The callbacks of the ``attempt``-th call Twilio was asked to place to ``phone``."""
    wait_for(lambda: len(api.calls_to(phone)) >= attempt, 20)
    call: ApiRequest = api.calls_to(phone)[attempt - 1]
    return StatusCallbacks(call)


def _answered(callbacks: StatusCallbacks, **params: str) -> None:
    """The callee picks up, talks, and hangs up."""
    assert callbacks.status("in-progress").status_code == 204
    ended = callbacks.status("completed", CallDuration="42", AnsweredBy="human", **params)
    assert ended.status_code == 204, ended.text


def _status(http: httpx.Client, campaign_id: str) -> str:
    return str(http.get(f"/campaign/{campaign_id}").json()["status"])


def _completed(http: httpx.Client, campaign_id: str) -> dict[str, Any]:
    wait_for(lambda: _status(http, campaign_id) == "completed", 20)
    return dict(http.get(f"/campaign/{campaign_id}").json())


def _events(receiver: Receiver, kind: str) -> list[dict[str, Any]]:
    return [e for e in receiver.accepted() if e["type"] == kind]


def _post(http: httpx.Client, call_id: str, number: int, result: dict) -> httpx.Response:
    return http.post(f"/call/{call_id}/attempts/{number}/result", json=result)


def _callback(asked: datetime) -> dict[str, Any]:
    return {"disposition": "call_back", "callback_at": _instant(asked)}


def _instant(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _soon(seconds: float) -> datetime:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).replace(microsecond=0)


def test_a_result_posted_before_the_hang_up_decides_the_call_when_it_ends(twilio, database):
    api, server = twilio
    tenant, playbook_id = _tenant(database)
    number = phone(31)
    with server.client(tenant.token) as http:
        campaign_id = _campaign(http, playbook_id, [{"phone": number}])
        callbacks = _placed(api, number)
        call_id = _call_id(http, campaign_id, number)
        assert callbacks.status("in-progress").status_code == 204
        asked = _soon(4)
        result = {
            "disposition": "call_back",
            "summary": "Asked to be called back in a bit.",
            "transcript": TURNS,
            "callback_at": _instant(asked),
        }
        posted = _post(http, call_id, 1, result)
        assert posted.status_code == 200, posted.text
        assert posted.json() == {"recorded": True}

        call = http.get(f"/call/{call_id}").json()
        assert call["status"] == "in_progress"  # stored; the end applies it
        assert call["attempts"][0]["outcome"] is None
        assert call["attempts"][0]["result"]["disposition"] == "call_back"
        again = _post(http, call_id, 1, {"disposition": "booked"})
        assert again.status_code == 409 and "already has a result" in again.json()["detail"]

        ended = callbacks.status("completed", CallDuration="42", AnsweredBy="human")
        assert ended.status_code == 204
        call = http.get(f"/call/{call_id}").json()
        assert call["status"] == "pending" and _when(call["next_attempt_at"]) == asked
        [first] = call["attempts"]
        assert first["outcome"] == "answered"
        assert first["result"] == {
            **result,
            "data": None,
            "recording_url": None,
            "cost": None,
            "ended_reason": None,
            "voicemail_left": None,
            "success": None,
        }

        _answered(_placed(api, number, attempt=2))
        report = _completed(http, campaign_id)
        call = http.get(f"/call/{call_id}").json()
    assert _when(call["attempts"][1]["started_at"]) >= asked
    assert call["status"] == "completed"
    assert report["dispositions"] == {}  # the last answered attempt has no result


def test_a_callback_posted_after_the_hang_up_runs_the_completed_campaign_again(twilio, database):
    api, server = twilio
    tenant, playbook_id = _tenant(database)
    number = phone(32)
    with receiving(Receiver()) as receiver, server.client(tenant.token) as http:
        created = http.post("/webhook-endpoint", json={"url": receiver.url})
        assert created.status_code == 201, created.text
        campaign_id = _campaign(http, playbook_id, [{"phone": number}])
        _answered(_placed(api, number))
        _completed(http, campaign_id)
        call_id = _call_id(http, campaign_id, number)
        assert http.get(f"/call/{call_id}").json()["attempts"][0]["result"] is None

        asked = _soon(3)
        posted = _post(http, call_id, 1, _callback(asked))
        assert posted.status_code == 200, posted.text
        call = http.get(f"/call/{call_id}").json()
        assert call["status"] == "pending" and _when(call["next_attempt_at"]) == asked
        assert _status(http, campaign_id) == "running"

        second = _placed(api, number, attempt=2)
        _answered(second)
        _completed(http, campaign_id)
        booked = _post(http, call_id, 2, {"disposition": "booked"})  # complete: nothing moves
        assert booked.status_code == 200, booked.text
        report = _completed(http, campaign_id)
        call = http.get(f"/call/{call_id}").json()
        wait_for(lambda: len(_events(receiver, "campaign.completed")) == 2, 20)
    assert _when(call["attempts"][1]["started_at"]) >= asked
    assert [a["outcome"] for a in call["attempts"]] == ["answered", "answered"]
    assert call["status"] == "completed" and report["dispositions"] == {"booked": 1}
    [scheduled] = _events(receiver, "call.callback_scheduled")
    assert _when(scheduled["data"]["callback_at"]) == asked
    assert scheduled["data"]["attempt"]["result"]["disposition"] == "call_back"
    completed = _events(receiver, "call.completed")
    assert [e["data"]["attempt"]["number"] for e in completed] == [1, 2]


def test_a_late_callback_outside_the_calling_window_moves_to_its_opening(twilio, database):
    api, server = twilio
    tenant, playbook_id = _tenant(database)
    number = phone(33)
    today = datetime.now(UTC).strftime("%a").lower()
    window = {"start": "00:00", "end": "24:00", "days": [today]}  # closed tomorrow
    with server.client(tenant.token) as http:
        contact = {"phone": number, "timezone": "UTC"}
        campaign_id = _campaign(http, playbook_id, [contact], calling_window=window)
        _answered(_placed(api, number))
        _completed(http, campaign_id)
        call_id = _call_id(http, campaign_id, number)
        ended = _when(http.get(f"/call/{call_id}").json()["attempts"][0]["ended_at"])

        asked = ended + timedelta(days=1)
        posted = _post(http, call_id, 1, _callback(asked))
        assert posted.status_code == 200, posted.text
        call = http.get(f"/call/{call_id}").json()
        status = _status(http, campaign_id)
    opening = next_opening(parse_window(window), zone_of("UTC"), asked)
    assert call["status"] == "pending" and status == "running"
    assert _when(call["next_attempt_at"]) == opening != asked
    assert is_open(parse_window(window), zone_of("UTC"), opening)
    assert _when(call["attempts"][0]["result"]["callback_at"]) == asked  # as the contact asked


def test_a_dnc_posted_after_the_hang_up_suppresses_the_phone_everywhere(twilio, database):
    api, server = twilio
    tenant, playbook_id = _tenant(database)
    number = phone(34)
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    with server.client(tenant.token) as http:
        waiting = _campaign(http, playbook_id, [{"phone": number}], launch_at=later)
        campaign_id = _campaign(http, playbook_id, [{"phone": number}])
        _answered(_placed(api, number))
        _completed(http, campaign_id)
        call_id = _call_id(http, campaign_id, number)

        posted = _post(http, call_id, 1, {"disposition": "opt_out", "summary": "Never again."})
        assert posted.status_code == 200, posted.text
        call = http.get(f"/call/{call_id}").json()
        suppressed = http.get("/dnc").json()["phones"]
        skipped = http.get(f"/call/{_call_id(http, waiting, number)}").json()
        report = http.get(f"/campaign/{campaign_id}").json()
    assert call["status"] == "completed" and report["status"] == "completed"
    assert report["dispositions"] == {"opt_out": 1}
    assert [(p["phone"], p["reason"]) for p in suppressed] == [(number, "disposition:opt_out")]
    assert skipped["status"] == "skipped" and skipped["skip_reason"] == "do_not_call"


def test_a_result_for_an_attempt_the_call_moved_on_from_is_kept_but_changes_nothing(
    twilio, database
):
    api, server = twilio
    # A left voicemail completes the call, had it come before the next attempt started.
    leave = Voicemail(VoicemailAction.LEAVE_MESSAGE, "Call us back", AfterVoicemail.COMPLETE)
    tenant, playbook_id = _tenant(database, voicemail=leave)
    number = phone(35)
    with server.client(tenant.token) as http:
        campaign_id = _campaign(http, playbook_id, [{"phone": number}], recall=[0.01])
        first = _placed(api, number)
        assert first.status("in-progress").status_code == 204
        machine = first.status("completed", CallDuration="20", AnsweredBy="machine_end_beep")
        assert machine.status_code == 204
        second = _placed(api, number, attempt=2)
        call_id = _call_id(http, campaign_id, number)

        left = {"voicemail_left": True, "summary": "Left the message."}
        posted = _post(http, call_id, 1, left)
        assert posted.status_code == 200, posted.text
        call = http.get(f"/call/{call_id}").json()
        assert call["status"] == "in_progress" and len(call["attempts"]) == 2
        assert call["attempts"][0]["outcome"] == "voicemail"
        assert call["attempts"][0]["result"]["voicemail_left"] is True

        assert second.status("no-answer", CallDuration="0").status_code == 204
        _completed(http, campaign_id)
        call = http.get(f"/call/{call_id}").json()
    assert [a["outcome"] for a in call["attempts"]] == ["voicemail", "no_answer"]
    assert call["status"] == "failed"


def test_results_for_calls_or_attempts_not_of_the_account_are_404(twilio, database):
    api, server = twilio
    tenant, playbook_id = _tenant(database)
    number = phone(36)
    with server.client(tenant.token) as http:
        campaign_id = _campaign(http, playbook_id, [{"phone": number}])
        callbacks = _placed(api, number)
        call_id = _call_id(http, campaign_id, number)
        with server.client(make_account(database).token) as other:
            foreign = _post(other, call_id, 1, {"disposition": "opt_out"})
        unknown_attempt = _post(http, call_id, 2, {"disposition": "booked"})
        unknown_call = _post(http, "7b1d3c1e-0000-4000-8000-000000000000", 1, {})
        not_an_id = _post(http, "not-a-call", 1, {})
        _answered(callbacks)
        _completed(http, campaign_id)
        call = http.get(f"/call/{call_id}").json()
        suppressed = http.get("/dnc").json()["phones"]
    for answer in (foreign, unknown_attempt, unknown_call, not_an_id):
        assert answer.status_code == 404, answer.text
        assert set(answer.json()) == {"detail", "errors"}
    assert call["attempts"][0]["result"] is None and suppressed == []


@pytest.mark.parametrize(
    ("result", "field"),
    [
        (
            {"transcript": [{"role": "agent", "text": "Hi"}] * (TRANSCRIPT_MAX_TURNS + 1)},
            "transcript",
        ),
        ({"summary": "s" * (SUMMARY_MAX_CHARS + 1)}, "summary"),
        ({"data": {"notes": "n" * DATA_MAX_BYTES}}, "data"),
        ({"transcript": [{"role": "agent"}]}, "transcript[0].text"),
        ({"callback_at": "tomorrow"}, "callback_at"),
        ({"cost": {"amount": -1}}, "cost.amount"),
    ],
    ids=["transcript", "summary", "data", "turn", "callback_at", "cost"],
)
def test_a_result_over_a_limit_or_malformed_is_400_naming_the_field_and_stores_nothing(
    twilio, database, result, field
):
    api, server = twilio
    tenant, playbook_id = _tenant(database)
    number = phone(38)
    with server.client(tenant.token) as http:
        campaign_id = _campaign(http, playbook_id, [{"phone": number}])
        callbacks = _placed(api, number)
        call_id = _call_id(http, campaign_id, number)
        refused = _post(http, call_id, 1, result)
        assert refused.status_code == 400, refused.text
        assert [e["field"] for e in refused.json()["errors"]] == [field]
        assert field in refused.json()["detail"]
        assert http.get(f"/call/{call_id}").json()["attempts"][0]["result"] is None
        _answered(callbacks)
        assert _post(http, call_id, 1, {"disposition": "booked"}).status_code == 200


def test_a_result_posted_after_the_grace_is_409(
    twilio, database, database_url: str, monkeypatch: pytest.MonkeyPatch
):
    api, server = twilio
    tenant, playbook_id = _tenant(database)
    number = phone(37)
    with server.client(tenant.token) as http:
        campaign_id = _campaign(http, playbook_id, [{"phone": number}])
        _answered(_placed(api, number))
        _completed(http, campaign_id)
        call_id = _call_id(http, campaign_id, number)
    # An API of the same database whose grace is half a second, read from the environment.
    monkeypatch.setenv("OUTBOUND_RESULT_GRACE_SECONDS", "0.5")
    bearer = {"Authorization": f"Bearer {tenant.token}"}
    with serving_api(database_url) as url, httpx.Client(base_url=url, headers=bearer) as http:
        wait_for(lambda: _ended_before(http, call_id, timedelta(seconds=0.6)), 5)
        late = _post(http, call_id, 1, {"disposition": "call_back"})
        call = http.get(f"/call/{call_id}").json()
    assert late.status_code == 409, late.text
    assert late.json()["detail"] == "the attempt ended more than 0.5 s ago"
    assert call["status"] == "completed" and call["attempts"][0]["result"] is None


def _ended_before(http: httpx.Client, call_id: str, age: timedelta) -> bool:
    ended = http.get(f"/call/{call_id}").json()["attempts"][0]["ended_at"]
    return _when(ended) < datetime.now(UTC) - age
