"""The Twilio provider: against a stand-in for Twilio's API, then end to end with callbacks."""

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from outbound.providers.base import CallHandle, CallRequest, PlaybookSnapshot
from outbound.providers.errors import CallRejected, ProviderUnavailable
from outbound.providers.twilio import TwilioProvider
from outbound.store.database import Database
from outbound.store.tables import call_attempts, provider_events
from tests import servers
from tests.conftest import migrated_database
from tests.factories import make_account
from tests.providers.twilio_api import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    TWIML_URL,
    StatusCallbacks,
    TwilioApi,
    outbound_env,
    running,
    twilio_error,
)
from tests.servers import Server, start_server, wait_for

CALLER_ID = "+14155550123"  # the playbook's caller id in tests.factories


def _provider(api_base_url: str, **options: Any) -> TwilioProvider:
    return TwilioProvider(
        ACCOUNT_SID,
        options.pop("auth_token", AUTH_TOKEN),
        twiml_url=TWIML_URL,
        public_url="https://outbound.example.com/",
        ring_timeout_seconds=25,
        time_limit_seconds=600,
        api_base_url=api_base_url,
        **options,
    )


def _request(attempt: int = 1, caller_id: str | None = CALLER_ID) -> CallRequest:
    return CallRequest(
        call_id=uuid.uuid4(),
        attempt_number=attempt,
        to="+14155550142",
        from_=caller_id,
        playbook=PlaybookSnapshot(id=uuid.uuid4(), name="Sales", first_message="Hello"),
        variables={"first_name": "Ada"},
    )


def _place(provider: TwilioProvider, request: CallRequest) -> CallHandle:
    async def place() -> CallHandle:
        try:
            return await provider.place_call(request)
        finally:
            await provider.aclose()

    return asyncio.run(place())


@pytest.fixture
def api() -> Iterator[TwilioApi]:
    with running(TwilioApi(ACCOUNT_SID, AUTH_TOKEN)) as stand_in:
        yield stand_in


def test_place_call_creates_a_call_with_callbacks_and_machine_detection(api):
    provider = _provider(api.url)
    request = _request(attempt=2)
    handle = _place(provider, request)

    [sent] = api.requests
    assert handle.provider_call_id == sent.sid
    assert sent.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
    assert api.authorized(sent.authorization)  # basic auth: account sid and auth token
    status_url = "https://outbound.example.com/provider/twilio/status"
    assert sent.form == {
        "To": ["+14155550142"],
        "From": [CALLER_ID],
        "Url": [f"https://agent.example.com/twiml?agent=sales&call_id={request.call_id}&attempt=2"],
        "Method": ["POST"],
        "StatusCallback": [status_url],
        "StatusCallbackEvent": ["initiated", "ringing", "answered", "completed"],
        "StatusCallbackMethod": ["POST"],
        "MachineDetection": ["Enable"],
        "AsyncAmd": ["true"],
        "AsyncAmdStatusCallback": [status_url],
        "AsyncAmdStatusCallbackMethod": ["POST"],
        "Timeout": ["25"],
        "TimeLimit": ["600"],
    }
    assert provider.max_call_seconds == 25 + 600


@pytest.mark.parametrize("status", [500, 503, 429])
def test_twilio_failing_or_throttling_is_unavailable(api, status):
    api.answers.append((status, twilio_error(status, 20500, "Internal Server Error")))
    with pytest.raises(ProviderUnavailable, match=str(status)):
        _place(_provider(api.url), _request())


def test_an_invalid_number_is_rejected(api):
    api.answers.append((400, twilio_error(400, 21211, "Invalid 'To' Phone Number")))
    with pytest.raises(CallRejected, match=r"21211\): .*Invalid 'To' Phone Number"):
        _place(_provider(api.url), _request())


def test_wrong_credentials_are_rejected(api):
    with pytest.raises(CallRejected, match="20003"):
        _place(_provider(api.url, auth_token="wrong"), _request())


def test_a_call_without_caller_id_is_rejected_without_asking_twilio(api):
    with pytest.raises(CallRejected, match="caller"):
        _place(_provider(api.url), _request(caller_id=None))
    assert api.requests == []


def test_twilio_unreachable_is_unavailable():
    with pytest.raises(ProviderUnavailable, match="unreachable"):
        _place(_provider(f"http://127.0.0.1:{servers.free_port()}"), _request())


def test_twilio_too_slow_is_unavailable(api):
    api.delay_seconds = 1.0
    with pytest.raises(ProviderUnavailable, match="unreachable"):
        _place(_provider(api.url, api_timeout_seconds=0.2), _request())


# End to end: `outbound serve` creates calls on the stand-in; the test plays Twilio's callbacks.


@pytest.fixture
def twilio_and_server(
    private_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TwilioApi, Server, Database]]:
    database = migrated_database(private_database_url)
    # OUTBOUND_PUBLIC_URL must name the server's own port, chosen before it starts.
    port = servers.free_port()
    monkeypatch.setattr(servers, "free_port", lambda: port)
    with running(TwilioApi(ACCOUNT_SID, AUTH_TOKEN)) as api:
        env = outbound_env(api, f"http://127.0.0.1:{port}")
        with start_server(private_database_url, tmp_path, extra_env=env) as server:
            yield api, server, database
    database.dispose()


def _attempt(database: Database, sid: str | None) -> Any:
    with database.engine.connect() as conn:
        return conn.execute(
            select(call_attempts).where(call_attempts.c.provider_call_id == sid)
        ).one()


def _events(database: Database, sid: str | None) -> list[str]:
    """The events recorded for the attempt Twilio's call ``sid`` placed (remembered by the
    attempt's ``<call_id>:<number>``)."""
    attempt = _attempt(database, sid)
    key = f"{attempt.call_id}:{attempt.number}"
    with database.engine.connect() as conn:
        rows = conn.execute(
            select(provider_events.c.event).where(provider_events.c.provider_call_id == key)
        )
        return sorted(row.event for row in rows)


def test_a_campaign_through_twilio(twilio_and_server):
    api, server, database = twilio_and_server
    tenant = make_account(database)
    retried, machine = "+14155550170", "+14155550185"
    status_url = f"{server.url}/provider/twilio/status"
    with server.client(tenant.token) as http:
        created = http.post(
            "/campaign",
            json={
                "playbook_id": str(tenant.playbook_id),
                "contacts": [{"phone": retried}, {"phone": machine}],
                "recall": [0.02],
                "recall_on": ["no_answer"],
            },
        )
        assert created.status_code == 202, created.text
        campaign_id = created.json()["campaign_id"]
        wait_for(lambda: len(api.calls) == 2, 20)
        calls = {c["phone"]: c for c in http.get(f"/campaign/{campaign_id}/calls").json()["calls"]}

        # The first attempt rings out: no answer, so the call is placed again.
        [first] = api.calls_to(retried)
        assert first.field("StatusCallback") == status_url
        assert first.field("From") == CALLER_ID
        assert first.field("Url") == (f"{TWIML_URL}&call_id={calls[retried]['call_id']}&attempt=1")
        callbacks = StatusCallbacks(first)
        assert callbacks.status("initiated").status_code == 204
        assert callbacks.status("ringing").status_code == 204
        assert callbacks.status("no-answer", CallDuration="0").status_code == 204
        wait_for(lambda: len(api.calls_to(retried)) == 2, 20)
        second = api.calls_to(retried)[1]
        assert second.field("Url").endswith(f"call_id={calls[retried]['call_id']}&attempt=2")
        callbacks = StatusCallbacks(second)
        assert callbacks.status("ringing").status_code == 204
        assert callbacks.status("in-progress").status_code == 204
        done = callbacks.status("completed", CallDuration="42", AnsweredBy="human")
        assert done.status_code == 204, done.text

        # A voicemail box picks up; bad, missing and unknown callbacks change nothing.
        [voicemail] = api.calls_to(machine)
        callbacks = StatusCallbacks(voicemail)
        assert callbacks.status("in-progress").status_code == 204
        assert callbacks.machine_detection("machine_end_beep").status_code == 204
        ended = {
            "AccountSid": ACCOUNT_SID,
            "CallSid": str(voicemail.sid),
            "CallStatus": "completed",
            "CallDuration": "20",
            "AnsweredBy": "machine_end_beep",
        }
        forged = RequestValidator("not-the-token").compute_signature(status_url, ended)
        rejected = callbacks.post(status_url, ended, signature=forged)
        assert rejected.status_code == 401
        assert set(rejected.json()) == {"detail", "errors"}
        assert httpx.post(status_url, data=ended).status_code == 401
        tampered = {**ended, "AnsweredBy": "human"}
        signed = RequestValidator(AUTH_TOKEN).compute_signature(status_url, ended)
        assert callbacks.post(status_url, tampered, signature=signed).status_code == 401
        assert "ended" not in _events(database, voicemail.sid)
        assert http.get(f"/campaign/{campaign_id}").json()["counts"]["in_progress"] == 1
        unknown = {**ended, "CallSid": f"CA{uuid.uuid4().hex}"}
        missing = callbacks.post(status_url, unknown)
        assert missing.status_code == 404 and set(missing.json()) == {"detail", "errors"}

        assert callbacks.post(status_url, ended).status_code == 204
        assert callbacks.post(status_url, ended).status_code == 204  # Twilio retrying
        wait_for(lambda: http.get(f"/campaign/{campaign_id}").json()["status"] == "completed", 20)
        calls = {c["phone"]: c for c in http.get(f"/campaign/{campaign_id}/calls").json()["calls"]}

    assert [a["outcome"] for a in calls[retried]["attempts"]] == ["no_answer", "answered"]
    assert calls[retried]["status"] == "completed"
    assert [a["outcome"] for a in calls[machine]["attempts"]] == ["voicemail"]
    assert calls[machine]["status"] == "failed"  # voicemail is not retried here
    assert len(api.calls) == 3

    answered = _attempt(database, second.sid)
    assert answered.answered_by == "human" and answered.duration_s == 42.0
    assert answered.ringing_at is not None and answered.answered_at is not None
    assert _attempt(database, voicemail.sid).answered_by == "machine_end_beep"
    assert _events(database, first.sid) == ["ended", "ringing"]
    assert _events(database, voicemail.sid) == ["answered", "ended", "machine_detection"]
