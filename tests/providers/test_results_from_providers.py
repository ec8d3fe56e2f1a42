"""Results that providers report (CONTRACT §7): the webhook runtime's ``ended`` event carrying
``result``, cut when it is over a limit, and a platform's later result (event kind ``result``,
as Retell's ``call_analyzed``) completing the stored one. Against ``outbound serve`` with the
webhook provider and the agent runtime of ``tests.providers.agent_runtime``."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from outbound.domain.results import (
    SUMMARY_MAX_CHARS,
    TRANSCRIPT_MAX_TURNS,
    TRUNCATION_MARK,
    ConversationResult,
)
from outbound.providers.callbacks import ProviderEvent
from outbound.services.provider_events import DEFAULT_RESULT_GRACE, record_event
from outbound.store.database import Database
from tests.conftest import migrated_database
from tests.factories import Tenant, make_account, make_playbook
from tests.providers.agent_runtime import AgentRuntime, running
from tests.servers import Server, start_server, wait_for

SECRET = "runtime-secret"
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
def runtime_and_server_of_module(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[AgentRuntime, Server, Database]]:
    database = migrated_database(database_url)
    with running(AgentRuntime(secret=SECRET)) as runtime:
        env = {
            "OUTBOUND_TELEPHONY": "webhook",
            "OUTBOUND_WEBHOOK_PROVIDER_URL": runtime.url,
            "OUTBOUND_WEBHOOK_PROVIDER_SECRET": SECRET,
        }
        with start_server(database_url, tmp_path_factory.mktemp("server"), extra_env=env) as server:
            runtime.outbound_url = server.url
            yield runtime, server, database
    database.dispose()


@pytest.fixture
def runtime_and_server(
    runtime_and_server_of_module: tuple[AgentRuntime, Server, Database],
) -> tuple[AgentRuntime, Server, Database]:
    runtime_and_server_of_module[0].forget()
    return runtime_and_server_of_module


def _tenant(database: Database) -> tuple[Tenant, str]:
    tenant = make_account(database)
    return tenant, str(make_playbook(database, tenant.id, DISPOSITIONS))


def _campaign(http: httpx.Client, playbook_id: str, phones: list[str], **body: Any) -> str:
    contacts = [{"phone": phone, "first_name": "Ada"} for phone in phones]
    body = {"playbook_id": playbook_id, "contacts": contacts, **body}
    created = http.post("/campaign", json=body)
    assert created.status_code == 202, created.text
    return str(created.json()["campaign_id"])


def _calls(http: httpx.Client, campaign_id: str) -> dict[str, dict[str, Any]]:
    return {c["phone"]: c for c in http.get(f"/campaign/{campaign_id}/calls").json()["calls"]}


def _call(http: httpx.Client, campaign_id: str, phone: str) -> dict[str, Any]:
    """The call of ``phone`` as ``GET /call/{id}`` shows it: transcripts included."""
    answer = http.get(f"/call/{_calls(http, campaign_id)[phone]['call_id']}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _completed(http: httpx.Client, campaign_id: str, timeout: float = 30) -> dict[str, Any]:
    wait_for(lambda: http.get(f"/campaign/{campaign_id}").json()["status"] == "completed", timeout)
    return dict(http.get(f"/campaign/{campaign_id}").json())


def _waiting_again(call: dict[str, Any]) -> bool:
    """The call's first attempt ended and its next one is due."""
    attempts = call["attempts"]
    return call["status"] == "pending" and bool(attempts) and attempts[-1]["outcome"] is not None


def _instant(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_the_ended_event_carries_the_result_and_its_disposition_decides_the_call(
    runtime_and_server,
):
    runtime, server, database = runtime_and_server
    tenant, playbook_id = _tenant(database)
    back, opted_out = "+14155550120", "+14155550121"
    asked = (datetime.now(UTC) + timedelta(seconds=6)).replace(microsecond=0)
    callback = {
        "disposition": "call_back",
        "summary": "Asked to be called back in a bit.",
        "data": {"budget": 1200, "meeting_at": None},
        "transcript": TURNS,
        "recording_url": "https://runtime.example.com/rec/1.wav",
        "cost": {"amount": 0.12, "currency": "USD"},
        "ended_reason": "contact-hung-up",
        "callback_at": _instant(asked),
    }
    runtime.scripts = {
        back: [
            [("answered", None), ("ended", "answered", callback)],
            [("answered", None), ("ended", "answered", {"disposition": "booked"})],
        ],
        opted_out: [[("answered", None), ("ended", "answered", {"disposition": "opt_out"})]],
    }
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    with server.client(tenant.token) as http:
        waiting = _campaign(http, playbook_id, [opted_out], launch_at=later)
        campaign_id = _campaign(http, playbook_id, [back, opted_out])

        # The callback: pending at the asked time, the result as the runtime sent it.
        wait_for(lambda: _waiting_again(_calls(http, campaign_id)[back]), 20)
        call = _call(http, campaign_id, back)
        [first] = call["attempts"]
        assert first["outcome"] == "answered"
        assert first["result"] == {
            **callback,
            "voicemail_left": None,
            "success": None,
        }
        assert _when(call["next_attempt_at"]) == asked

        report = _completed(http, campaign_id)
        call = _call(http, campaign_id, back)
        suppressed = http.get("/dnc").json()["phones"]
        skipped = _calls(http, waiting)[opted_out]

    assert call["status"] == "completed"
    assert [a["result"]["disposition"] for a in call["attempts"]] == ["call_back", "booked"]
    assert _when(call["attempts"][1]["started_at"]) >= asked
    assert [c["attempt"] for c in runtime.calls if c["to"] == back] == [1, 2]
    assert report["dispositions"] == {"booked": 1, "opt_out": 1}
    assert report["cost"] == {"amount": 0.12, "currency": "USD"}
    # The opt-out: its call completed, its phone suppressed, its call elsewhere never dialed.
    assert [(p["phone"], p["reason"]) for p in suppressed] == [(opted_out, "disposition:opt_out")]
    assert skipped["status"] == "skipped" and skipped["skip_reason"] == "do_not_call"
    assert skipped["attempts"] == []


def test_a_result_over_the_limits_is_cut_and_still_decides_the_call(runtime_and_server):
    runtime, server, database = runtime_and_server
    tenant, playbook_id = _tenant(database)
    long_talk, long_summary = "+14155550122", "+14155550123"
    turns = [
        {"role": "agent" if i % 2 else "contact", "text": f"turn {i}", "at_s": float(i)}
        for i in range(TRANSCRIPT_MAX_TURNS + 1)
    ]
    runtime.scripts = {
        long_talk: [[("ended", "answered", {"disposition": "booked", "transcript": turns})]],
        long_summary: [
            [
                (
                    "ended",
                    "answered",
                    {
                        "disposition": "opt_out",
                        "summary": "s" * (SUMMARY_MAX_CHARS + 1),
                        "data": {"plan": "pro", "notes": "n" * (17 * 1024)},
                    },
                )
            ]
        ],
    }
    with server.client(tenant.token) as http:
        campaign_id = _campaign(http, playbook_id, [long_talk, long_summary])
        _completed(http, campaign_id)
        talk = _call(http, campaign_id, long_talk)
        summary = _call(http, campaign_id, long_summary)
        listed = _calls(http, campaign_id)[long_talk]["attempts"][0]["result"]
        suppressed = [p["phone"] for p in http.get("/dnc").json()["phones"]]
    assert all(r.status_code == 200 for r in runtime.reports), runtime.reports

    result = talk["attempts"][0]["result"]
    assert result["truncated"] is True and result["disposition"] == "booked"
    assert result["transcript"] == turns[:TRANSCRIPT_MAX_TURNS]
    assert talk["status"] == "completed"
    assert listed["truncated"] is True and "transcript" not in listed

    result = summary["attempts"][0]["result"]
    assert result["truncated"] is True
    assert len(result["summary"]) == SUMMARY_MAX_CHARS
    assert result["summary"] == "s" * (SUMMARY_MAX_CHARS - 1) + TRUNCATION_MARK
    assert result["data"] == {"plan": "pro"}  # whole fields kept while they fit
    assert summary["status"] == "completed" and suppressed == [long_summary]


def test_a_later_result_completes_the_stored_one_and_decides_within_the_grace(
    runtime_and_server,
):
    runtime, server, database = runtime_and_server
    tenant, playbook_id = _tenant(database)
    number = "+14155550124"
    first = {
        "summary": "Talked about the renewal.",
        "transcript": TURNS,
        "cost": {"amount": 0.07, "currency": "USD"},
        "ended_reason": "contact-hung-up",
    }
    runtime.scripts = {
        number: [
            [("answered", None), ("ended", "answered", first)],
            [("answered", None), ("ended", "answered", {"disposition": "booked"})],
        ]
    }
    with server.client(tenant.token) as http:
        campaign_id = _campaign(http, playbook_id, [number])
        _completed(http, campaign_id)  # no disposition yet: answered is complete
        [provider_call_id] = runtime.provider_call_ids

        asked = (datetime.now(UTC) + timedelta(seconds=3)).replace(microsecond=0)
        analysis = ConversationResult(
            disposition="call_back",
            data={"budget": 1200},
            callback_at=asked,
            success=True,
        )
        event = ProviderEvent("webhook", provider_call_id, "result", result=analysis)
        assert record_event(database, event, datetime.now(UTC)) is True
        assert record_event(database, event, datetime.now(UTC)) is False  # once

        call = _call(http, campaign_id, number)
        report = http.get(f"/campaign/{campaign_id}").json()
        assert call["status"] == "pending" and _when(call["next_attempt_at"]) == asked
        assert report["status"] == "running"
        assert call["attempts"][0]["result"] == {
            **first,
            "disposition": "call_back",
            "data": {"budget": 1200},
            "recording_url": None,
            "callback_at": _instant(asked),
            "voicemail_left": None,
            "success": True,
        }

        _completed(http, campaign_id)
        call = _call(http, campaign_id, number)
    assert [a["result"]["disposition"] for a in call["attempts"]] == ["call_back", "booked"]
    assert _when(call["attempts"][1]["started_at"]) >= asked
    assert call["status"] == "completed"


def test_a_later_result_past_the_grace_is_kept_but_decides_nothing(runtime_and_server):
    runtime, server, database = runtime_and_server
    tenant, playbook_id = _tenant(database)
    number = "+14155550125"
    runtime.scripts = {number: [[("ended", "answered", {"summary": "Short call."})]]}
    with server.client(tenant.token) as http:
        campaign_id = _campaign(http, playbook_id, [number])
        _completed(http, campaign_id)
        [provider_call_id] = runtime.provider_call_ids
        ended = _when(_call(http, campaign_id, number)["attempts"][0]["ended_at"])

        late = ConversationResult(disposition="opt_out")
        event = ProviderEvent("webhook", provider_call_id, "result", result=late)
        too_late = ended + DEFAULT_RESULT_GRACE + timedelta(seconds=1)
        assert record_event(database, event, too_late) is True

        call = _call(http, campaign_id, number)
        report = http.get(f"/campaign/{campaign_id}").json()
        suppressed = http.get("/dnc").json()["phones"]
    result = call["attempts"][0]["result"]
    assert (result["summary"], result["disposition"]) == ("Short call.", "opt_out")
    assert call["status"] == "completed" and report["status"] == "completed"
    assert suppressed == []  # its dnc came too late to act


def test_a_result_posted_while_the_call_is_open_is_completed_by_the_ended_event(
    runtime_and_server,
):
    runtime, server, database = runtime_and_server
    tenant, playbook_id = _tenant(database)
    number = "+14155550126"
    runtime.scripts = {number: [[("answered", None)]]}  # the test reports the end itself
    with server.client(tenant.token) as http:
        campaign_id = _campaign(http, playbook_id, [number])
        wait_for(lambda: len(runtime.provider_call_ids) == 1, 20)
        [provider_call_id] = runtime.provider_call_ids
        call_id = _calls(http, campaign_id)[number]["call_id"]
        posted = http.post(f"/call/{call_id}/attempts/1/result", json={"disposition": "opt_out"})
        assert posted.status_code == 200, posted.text

        ended = {"summary": "Asked not to be called again.", "transcript": TURNS}
        assert runtime.report(provider_call_id, "ended", "answered", ended).status_code == 200
        _completed(http, campaign_id)
        call = _call(http, campaign_id, number)
        suppressed = [p["phone"] for p in http.get("/dnc").json()["phones"]]
    result = call["attempts"][0]["result"]
    assert (result["disposition"], result["summary"]) == ("opt_out", ended["summary"])
    assert result["transcript"] == TURNS
    assert suppressed == [number]  # the disposition posted first acts
