"""The Twilio adapter of a ``twilio`` connection, against the stand-in for Twilio's API: the
call created with the connection's account, the playbook's TwiML and the connection's webhook
URL; Twilio's errors; Fetch a Call; the callbacks signed for the connection's webhook URL."""

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from outbound.domain.connections import ConnectionType, webhook_url
from outbound.domain.statuses import Outcome
from outbound.providers.base import CallRequest, PlaybookSnapshot
from outbound.providers.callbacks import CallbackRequest, ProviderEvent
from outbound.providers.errors import (
    CallRejected,
    InvalidCallback,
    MalformedCallback,
    ProviderUnavailable,
)
from outbound.providers.platforms.base import Connection
from outbound.providers.platforms.registry import ADAPTERS
from outbound.providers.platforms.twilio import RING_TIMEOUT_SECONDS, TwilioAdapter
from outbound.providers.twilio import STATUS_CALLBACK_PATH
from tests import servers
from tests.providers.twilio_api import TwilioApi, running, twilio_error

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "twilio-connection-auth-token"
TWIML_URL = "https://agent.example.com/twiml?agent=renewals"
CALLER_ID = "+14155550123"
CONTACT = "+14155550142"
CONNECTION_ID = uuid.UUID("8d0f1b6e-54a4-4c55-a1c9-3f1f0e9b7a21")
WEBHOOK_URL = webhook_url("https://outbound.example.com", CONNECTION_ID)
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
T = TypeVar("T")


@pytest.fixture
def api() -> Iterator[TwilioApi]:
    with running(TwilioApi(ACCOUNT_SID, AUTH_TOKEN)) as stand_in:
        yield stand_in


def _adapter(api_url: str, auth_token: str = AUTH_TOKEN, **settings: Any) -> TwilioAdapter:
    connection = Connection(
        id=CONNECTION_ID,
        account_id=uuid.uuid4(),
        type=ConnectionType.TWILIO,
        name="Twilio",
        credentials={"account_sid": ACCOUNT_SID, "auth_token": auth_token},
        settings={"api_base_url": api_url, **settings},
        webhook_url=WEBHOOK_URL,
    )
    return TwilioAdapter(connection)


def _request(
    attempt: int = 1, caller_id: str | None = CALLER_ID, **provider: str | None
) -> CallRequest:
    fields = {"connection_id": str(CONNECTION_ID), "twiml_url": TWIML_URL, **provider}
    return CallRequest(
        call_id=uuid.uuid4(),
        attempt_number=attempt,
        to=CONTACT,
        from_=caller_id,
        playbook=PlaybookSnapshot(id=uuid.uuid4(), name="Renewals", provider=fields),
        variables={"first_name": "Ada"},
    )


def _run(adapter: TwilioAdapter, use: Callable[[TwilioAdapter], Awaitable[T]]) -> T:
    async def go() -> T:
        try:
            return await use(adapter)
        finally:
            await adapter.aclose()

    return asyncio.run(go())


def _place(api: TwilioApi, request: CallRequest, **settings: Any) -> str:
    handle = _run(_adapter(api.url, **settings), lambda adapter: adapter.place_call(request))
    return handle.provider_call_id


def _fetch(api: TwilioApi, sid: str, auth_token: str = AUTH_TOKEN) -> list[ProviderEvent]:
    return _run(_adapter(api.url, auth_token), lambda adapter: adapter.fetch_call(sid))


def test_the_adapter_of_twilio_connections_is_registered():
    assert ADAPTERS[ConnectionType.TWILIO] is TwilioAdapter


def test_a_call_is_created_with_the_playbooks_twiml_and_the_connections_webhook_url(api):
    request = _request(attempt=2)
    sid = _place(api, request, max_call_seconds=600)
    [sent] = api.requests
    assert sent.sid == sid
    assert (sent.method, sent.path) == ("POST", f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json")
    assert api.authorized(sent.authorization)  # the connection's account sid and auth token
    assert sent.form == {
        "To": [CONTACT],
        "From": [CALLER_ID],
        "Url": [f"{TWIML_URL}&call_id={request.call_id}&attempt=2"],
        "Method": ["POST"],
        "StatusCallback": [WEBHOOK_URL],
        "StatusCallbackEvent": ["initiated", "ringing", "answered", "completed"],
        "StatusCallbackMethod": ["POST"],
        "MachineDetection": ["Enable"],
        "AsyncAmd": ["true"],
        "AsyncAmdStatusCallback": [WEBHOOK_URL],
        "AsyncAmdStatusCallbackMethod": ["POST"],
        "Timeout": [str(RING_TIMEOUT_SECONDS)],
        "TimeLimit": [str(600 - RING_TIMEOUT_SECONDS)],  # ringing and talking: 600 s at most
    }


def test_a_playbook_without_twiml_url_or_caller_id_is_rejected_without_asking_twilio(api):
    with pytest.raises(CallRejected, match="twiml_url"):
        _place(api, _request(twiml_url=None))
    with pytest.raises(CallRejected, match="caller_id"):
        _place(api, _request(caller_id=None))
    assert api.requests == []


@pytest.mark.parametrize("status", [429, 500, 503])
def test_twilio_throttling_or_failing_leaves_the_attempt_unspent(api, status):
    api.answers.append((status, twilio_error(status, 20429, "Too Many Requests")))
    with pytest.raises(ProviderUnavailable, match=f"{status} \\(code 20429\\)"):
        _place(api, _request())


def test_an_invalid_number_is_rejected_with_twilios_message(api):
    api.answers.append((400, twilio_error(400, 21211, "Invalid 'To' Phone Number: +1415555")))
    with pytest.raises(CallRejected, match=r"21211\): .*Invalid 'To' Phone Number"):
        _place(api, _request())


def test_twilio_unreachable_is_unavailable():
    with pytest.raises(ProviderUnavailable, match="unreachable"):
        _place(
            TwilioApi(ACCOUNT_SID, AUTH_TOKEN, url=f"http://127.0.0.1:{servers.free_port()}"),
            _request(),
        )


@pytest.mark.parametrize("status", ["queued", "ringing", "in-progress"])
def test_fetching_a_call_still_going_on_reports_nothing(api, status):
    sid = _place(api, _request())
    api.set_status(sid, status)
    assert _fetch(api, sid) == []
    [fetch] = api.fetches
    assert fetch.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{sid}.json"
    assert api.authorized(fetch.authorization)


@pytest.mark.parametrize(
    ("status", "outcome", "error"),
    [
        ("completed", Outcome.ANSWERED, None),
        ("busy", Outcome.BUSY, None),
        ("no-answer", Outcome.NO_ANSWER, None),
        ("failed", Outcome.FAILED, None),
        ("canceled", Outcome.FAILED, "canceled"),
    ],
)
def test_fetching_an_ended_call_reports_its_end_as_its_callback_would(api, status, outcome, error):
    sid = _place(api, _request())
    api.set_status(sid, status, duration_seconds=42, answered_by="human")
    assert _fetch(api, sid) == [
        ProviderEvent(
            "twilio",
            sid,
            "ended",
            outcome=outcome,
            duration_s=42.0,
            answered_by="human",
            error=error,
        )
    ]


def test_fetching_a_call_a_machine_answered_reports_who_answered(api):
    sid = _place(api, _request())
    api.set_status(sid, "completed", duration_seconds=20, answered_by="machine_end_beep")
    [ended] = _fetch(api, sid)
    assert (ended.outcome, ended.answered_by) == (Outcome.ANSWERED, "machine_end_beep")


def test_fetching_a_call_twilio_does_not_know_reports_it_failed(api):
    sid = f"CA{uuid.uuid4().hex}"
    [ended] = _fetch(api, sid)
    assert (ended.kind, ended.outcome) == ("ended", Outcome.FAILED)
    assert sid in (ended.error or "")


def test_fetching_when_twilio_fails_or_refuses_the_account_cannot_tell(api):
    sid = _place(api, _request())
    api.answers.append((503, twilio_error(503, 20503, "Service Unavailable")))
    with pytest.raises(ProviderUnavailable, match="503"):
        _fetch(api, sid)
    with pytest.raises(ProviderUnavailable, match="20003"):
        _fetch(api, sid, auth_token="not-the-token")


# Callbacks: Twilio signs the URL it called (the connection's webhook URL) and the form.


def _form(status: str, sid: str = "CA" + "fedcba9876543210" * 2, **params: str) -> dict[str, str]:
    return {
        "AccountSid": ACCOUNT_SID,
        "CallSid": sid,
        "CallStatus": status,
        "To": CONTACT,
        "From": CALLER_ID,
        **params,
    }


def _callback(
    form: dict[str, str], signed_url: str = WEBHOOK_URL, token: str = AUTH_TOKEN
) -> CallbackRequest:
    signature = RequestValidator(token).compute_signature(signed_url, form)
    return CallbackRequest(
        "POST",
        WEBHOOK_URL,
        "events",
        {"content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature},
        urlencode(form).encode(),
    )


def test_a_callback_signed_for_the_connections_webhook_url_is_accepted_every_time():
    adapter = _adapter("http://127.0.0.1:9")
    callback = _callback(_form("completed", CallDuration="42", AnsweredBy="human"))
    assert adapter.authenticate(callback, NOW) is None  # Twilio retries a callback unchanged
    assert adapter.parse_callback(callback) == [
        ProviderEvent(
            "twilio",
            "CA" + "fedcba9876543210" * 2,
            "ended",
            outcome=Outcome.ANSWERED,
            duration_s=42.0,
            answered_by="human",
        )
    ]


@pytest.mark.parametrize(
    "callback",
    [
        _callback(_form("completed"), token="another-accounts-token"),
        _callback(
            _form("completed"), signed_url="https://outbound.example.com" + STATUS_CALLBACK_PATH
        ),
        CallbackRequest("POST", WEBHOOK_URL, "events", {}, urlencode(_form("completed")).encode()),
    ],
    ids=["another-token", "another-url", "unsigned"],
)
def test_a_callback_not_signed_for_this_connection_is_refused(callback):
    with pytest.raises(InvalidCallback, match="X-Twilio-Signature"):
        _adapter("http://127.0.0.1:9").authenticate(callback, NOW)


def test_progress_and_answering_machine_callbacks_are_read_as_the_providers():
    adapter = _adapter("http://127.0.0.1:9")
    sid = "CA" + "fedcba9876543210" * 2
    assert adapter.parse_callback(_callback(_form("ringing"))) == [
        ProviderEvent("twilio", sid, "ringing")
    ]
    assert adapter.parse_callback(_callback(_form("initiated"))) == []
    amd = {"AccountSid": ACCOUNT_SID, "CallSid": sid, "AnsweredBy": "machine_start"}
    assert adapter.parse_callback(_callback(amd)) == [
        ProviderEvent("twilio", sid, "machine_detection", answered_by="machine_start")
    ]
    with pytest.raises(MalformedCallback, match="CallSid"):
        adapter.parse_callback(_callback({"CallStatus": "completed"}))
