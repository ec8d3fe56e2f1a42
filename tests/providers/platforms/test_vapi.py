"""The Vapi adapter against a stand-in for Vapi's API, and Vapi's server messages."""

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest

from outbound.domain.connections import ConnectionType
from outbound.domain.results import TRANSCRIPT_MAX_TURNS, Cost, Turn
from outbound.domain.statuses import Outcome
from outbound.providers.base import CallRequest, PlaybookSnapshot
from outbound.providers.callbacks import CallbackRequest
from outbound.providers.errors import (
    CallRejected,
    InvalidCallback,
    MalformedCallback,
    ProviderUnavailable,
)
from outbound.providers.platforms import conventions
from outbound.providers.platforms.base import Connection
from outbound.providers.platforms.vapi import END_REASONS, VapiAdapter, create_call_body
from tests.providers.platforms.http_stand_in import ApiRequest, running
from tests.providers.platforms.vapi_api import (
    VapiApi,
    bearer_headers,
    body_of,
    end_of_call_report,
    ended_call,
    hmac_headers,
    message,
    secret_headers,
    status_update,
    vapi_error,
)

API_KEY = "vapi-private-key"
SECRET = "vapi-webhook-secret"
ASSISTANT_ID = "4a170597-a0c2-4657-8c32-cb93f080cead"
PHONE_NUMBER_ID = "c6ea6cb0-0dfb-4a65-918f-6a33abb54b64"
CONTACT = "+14155550142"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
T = TypeVar("T")


def _adapter(api_url: str = "http://127.0.0.1:9", **credentials: str) -> VapiAdapter:
    connection = Connection(
        id=uuid.uuid4(),
        account_id=uuid.uuid4(),
        type=ConnectionType.VAPI,
        name="Vapi",
        credentials={"api_key": API_KEY, "webhook_secret": SECRET, **credentials},
        settings={"api_base_url": api_url},
        webhook_url="https://outbound.example.com/provider/connection/c1/events",
    )
    return VapiAdapter(connection)


def _request(attempt: int = 1, to: str = CONTACT, **playbook: Any) -> CallRequest:
    fields = {
        "first_message": "Hi Ada, this is Sam from Acme.",
        "voicemail_message": "Hi Ada, Sam from Acme: please call us back.",
        "provider": {
            "connection_id": str(uuid.uuid4()),
            "assistant_id": ASSISTANT_ID,
            "phone_number_id": PHONE_NUMBER_ID,
        },
    }
    fields.update(playbook)
    return CallRequest(
        call_id=uuid.uuid4(),
        attempt_number=attempt,
        to=to,
        from_=None,
        playbook=PlaybookSnapshot(id=uuid.uuid4(), name="Renewals", **fields),
        variables={"first_name": "Ada", "plan": "gold", "seats": 12},
    )


def _run(adapter: VapiAdapter, use: Callable[[VapiAdapter], Awaitable[T]]) -> T:
    async def go() -> T:
        try:
            return await use(adapter)
        finally:
            await adapter.aclose()

    return asyncio.run(go())


def _callback(payload: dict[str, Any] | bytes, headers: dict[str, str]) -> CallbackRequest:
    body = payload if isinstance(payload, bytes) else body_of(payload)
    return CallbackRequest(
        method="POST",
        url="https://outbound.example.com/provider/connection/c/events",
        path="events",
        headers={name.lower(): value for name, value in headers.items()},
        body=body,
    )


def _new_call(request: CallRequest | None = None) -> dict[str, Any]:
    """A Call object as Vapi's create-call answers it, without a server."""
    api = VapiApi(API_KEY)
    body = _body(request or _request())
    status, call = api.handle(
        ApiRequest("POST", "/call", {"authorization": f"Bearer {API_KEY}"}, body)
    )
    assert status == 201
    return call


def _body(request: CallRequest) -> dict[str, Any]:
    return json.loads(conventions.json_body(create_call_body(request)))


def _parse(payload: dict[str, Any]) -> list:
    return _adapter().parse_callback(_callback(payload, secret_headers(SECRET)))


CONVERSATION = [
    message("bot", "Hi Ada, this is Sam from Acme.", 0.4),
    message("user", "Call me tomorrow at ten.", 3.1),
]


@pytest.fixture
def api() -> Iterator[VapiApi]:
    with running(VapiApi(API_KEY, {ASSISTANT_ID}, {PHONE_NUMBER_ID})) as stand_in:
        yield stand_in


# Placing calls


def test_place_call_creates_the_call_with_the_assistant_number_variables_and_metadata(api):
    request = _request(attempt=2)
    handle = _run(_adapter(api.url), lambda adapter: adapter.place_call(request))

    [sent] = api.created
    assert handle.provider_call_id in api.calls
    assert sent.authorization == f"Bearer {API_KEY}"
    assert sent.headers["content-type"] == "application/json"
    assert sent.json == {
        "assistantId": ASSISTANT_ID,
        "phoneNumberId": PHONE_NUMBER_ID,
        "customer": {"number": CONTACT},
        "assistantOverrides": {
            "variableValues": {"first_name": "Ada", "plan": "gold", "seats": 12},
            "firstMessage": "Hi Ada, this is Sam from Acme.",
            "voicemailMessage": "Hi Ada, Sam from Acme: please call us back.",
            "metadata": {
                "outbound_call_id": str(request.call_id),
                "outbound_attempt": 2,
                "outbound_idempotency_key": f"{request.call_id}:2",
                "outbound_voicemail_message": True,
            },
        },
    }


def test_a_playbook_without_first_or_voicemail_message_keeps_the_assistants_own(api):
    request = _request(first_message=None, voicemail_message=None)
    _run(_adapter(api.url), lambda adapter: adapter.place_call(request))

    overrides = api.created[0].json["assistantOverrides"]
    assert "firstMessage" not in overrides and "voicemailMessage" not in overrides
    assert overrides["metadata"]["outbound_voicemail_message"] is False


def test_a_playbook_without_the_vapi_fields_is_rejected_without_a_request(api):
    request = _request(provider={"connection_id": "c", "assistant_id": ASSISTANT_ID})
    with pytest.raises(CallRejected, match="phone_number_id"):
        _run(_adapter(api.url), lambda adapter: adapter.place_call(request))
    assert api.requests == []


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (429, vapi_error(429, "Too Many Requests", "ThrottlerException: Too Many Requests")),
        (400, vapi_error(400, "Bad Request", "Over Concurrency Limit.")),
        (500, vapi_error(500, "Internal Server Error", "Internal server error")),
        (503, {"message": "Service Unavailable"}),
        (401, vapi_error(401, "Unauthorized", "Invalid Key.")),
    ],
)
def test_rate_limits_concurrency_server_errors_and_a_refused_key_leave_the_attempt_unspent(
    api, status, body
):
    api.answers.append((status, body))
    with pytest.raises(ProviderUnavailable, match=str(status)):
        _run(_adapter(api.url), lambda adapter: adapter.place_call(_request()))


def test_a_call_blocked_by_the_concurrency_limit_is_unavailable(api):
    call = _new_call()
    call["subscriptionLimits"] = {
        "concurrencyBlocked": True,
        "concurrencyLimit": 10,
        "remainingConcurrentCalls": 0,
    }
    api.answers.append((201, call))
    with pytest.raises(ProviderUnavailable, match="concurrency"):
        _run(_adapter(api.url), lambda adapter: adapter.place_call(_request()))


def test_an_invalid_number_is_rejected_with_vapis_message(api):
    with pytest.raises(CallRejected, match=r"400.*customer.number must be a valid phone number"):
        _run(_adapter(api.url), lambda adapter: adapter.place_call(_request(to="4155550142")))


def test_an_unknown_assistant_is_rejected_with_vapis_message(api):
    request = _request(provider={"assistant_id": "nope", "phone_number_id": PHONE_NUMBER_ID})
    with pytest.raises(CallRejected, match="Couldn't Get Assistant"):
        _run(_adapter(api.url), lambda adapter: adapter.place_call(request))


def test_an_unreachable_vapi_is_unavailable():
    with pytest.raises(ProviderUnavailable, match="unreachable"):
        _run(_adapter("http://127.0.0.1:9"), lambda adapter: adapter.place_call(_request()))


def test_an_unreadable_answer_is_unavailable(api):
    api.answers.append((201, {"status": "queued"}))  # no id
    with pytest.raises(ProviderUnavailable, match="unreadable"):
        _run(_adapter(api.url), lambda adapter: adapter.place_call(_request()))


# Looking calls up


def test_fetch_call_of_an_ongoing_call_reports_nothing(api):
    handle = _run(_adapter(api.url), lambda adapter: adapter.place_call(_request()))
    api.set_status(handle.provider_call_id, "in-progress")

    events = _run(_adapter(api.url), lambda adapter: adapter.fetch_call(handle.provider_call_id))

    assert events == []
    assert api.requests[-1].method == "GET"
    assert api.requests[-1].path == f"/call/{handle.provider_call_id}"
    assert api.requests[-1].authorization == f"Bearer {API_KEY}"


def test_fetch_call_of_an_ended_call_reports_its_end_and_result(api):
    handle = _run(_adapter(api.url), lambda adapter: adapter.place_call(_request()))
    api.end(
        handle.provider_call_id,
        "customer-ended-call",
        messages=CONVERSATION,
        summary="Asked to be called tomorrow.",
        structured_data={"disposition": "call_back", "callback_at": "2026-12-02T10:00:00Z"},
        success_evaluation="true",
        cost=0.21,
        talk_seconds=42,
    )

    [event] = _run(_adapter(api.url), lambda adapter: adapter.fetch_call(handle.provider_call_id))

    assert (event.provider, event.provider_call_id, event.kind) == (
        "vapi",
        handle.provider_call_id,
        "ended",
    )
    assert event.outcome is Outcome.ANSWERED
    assert event.duration_s == pytest.approx(42, abs=0.01)
    assert event.result.disposition == "call_back"
    assert event.result.callback_at == datetime(2026, 12, 2, 10, tzinfo=UTC)
    assert event.result.transcript == (
        Turn("agent", "Hi Ada, this is Sam from Acme.", 0.4),
        Turn("contact", "Call me tomorrow at ten.", 3.1),
    )
    assert event.result.cost == Cost(0.21, "USD")


def test_fetch_call_of_a_call_vapi_does_not_know_is_rejected(api):
    with pytest.raises(CallRejected, match="404"):
        _run(_adapter(api.url), lambda adapter: adapter.fetch_call(str(uuid.uuid4())))


# Authenticating server messages


def test_the_secret_in_x_vapi_secret_authenticates_without_a_replay_key():
    request = _callback(status_update(_new_call(), "ringing"), secret_headers(SECRET))
    assert _adapter().authenticate(request, NOW) is None


def test_the_secret_as_a_bearer_token_authenticates():
    request = _callback(status_update(_new_call(), "ringing"), bearer_headers(SECRET))
    assert _adapter().authenticate(request, NOW) is None


@pytest.mark.parametrize(
    "headers",
    [
        secret_headers("another-secret"),
        bearer_headers("another-secret"),
        {"Content-Type": "application/json"},
        {"Authorization": f"Basic {SECRET}"},
    ],
    ids=["wrong secret", "wrong bearer", "missing", "not bearer"],
)
def test_a_wrong_or_missing_secret_is_refused(headers):
    request = _callback(status_update(_new_call(), "ringing"), headers)
    with pytest.raises(InvalidCallback):
        _adapter().authenticate(request, NOW)


def test_an_hmac_signature_authenticates_once():
    body = body_of(status_update(_new_call(), "ringing"))
    headers = hmac_headers(SECRET, body, int(NOW.timestamp()))
    assert _adapter().authenticate(_callback(body, headers), NOW) == headers["x-signature"]


def test_an_hmac_signature_in_milliseconds_with_a_prefix_authenticates():
    body = body_of(status_update(_new_call(), "ringing"))
    headers = hmac_headers(SECRET, body, int(NOW.timestamp() * 1000))
    headers["x-signature"] = "sha256=" + headers["x-signature"]
    assert _adapter().authenticate(_callback(body, headers), NOW) == headers["x-signature"]


@pytest.mark.parametrize(
    ("secret", "tamper", "age_seconds"),
    [("another-secret", False, 0), (SECRET, True, 0), (SECRET, False, 301)],
    ids=["wrong secret", "changed body", "stale"],
)
def test_a_wrong_changed_or_stale_hmac_signature_is_refused(secret, tamper, age_seconds):
    body = body_of(status_update(_new_call(), "ringing"))
    headers = hmac_headers(secret, body, int(NOW.timestamp()) - age_seconds)
    if tamper:
        body = body.replace(b"ringing", b"ended")
    with pytest.raises(InvalidCallback):
        _adapter().authenticate(_callback(body, headers), NOW)


# Parsing server messages


@pytest.mark.parametrize(("reason", "outcome"), sorted(END_REASONS.items()))
def test_each_documented_end_reason_has_its_outcome(reason, outcome):
    call = ended_call(_new_call(), reason)

    [event] = _parse(end_of_call_report(call))

    assert event.provider_call_id == call["id"]
    if outcome is None:
        assert (event.kind, event.outcome, event.error, event.result) == (
            "unplaced",
            None,
            reason,
            None,
        )
    else:
        assert (event.kind, event.outcome) == ("ended", outcome)
        assert event.result.ended_reason == reason
        assert event.error == (reason if outcome is Outcome.FAILED else None)


@pytest.mark.parametrize(
    ("messages", "outcome"),
    [(CONVERSATION, Outcome.ANSWERED), ([], Outcome.FAILED)],
    ids=["with a transcript", "without one"],
)
def test_an_unknown_end_reason_is_answered_with_a_transcript_else_failed(messages, outcome):
    call = ended_call(
        _new_call(), "call.in-progress.error-vapifault-worker-died", messages=messages
    )

    [event] = _parse(end_of_call_report(call))

    assert (event.kind, event.outcome) == ("ended", outcome)


def test_the_end_of_call_report_carries_the_result():
    call = ended_call(
        _new_call(),
        "assistant-ended-call",
        messages=CONVERSATION,
        summary="Asked to be called tomorrow morning.",
        structured_data={
            "disposition": "call_back",
            "budget": 1200,
            "callback_at": "2026-12-02T10:00:00+01:00",
        },
        success_evaluation="false",
        cost=0.0815,
        talk_seconds=30,
    )

    [event] = _parse(end_of_call_report(call))

    assert event.result.to_json() == {
        "disposition": "call_back",
        "summary": "Asked to be called tomorrow morning.",
        "data": {
            "disposition": "call_back",
            "budget": 1200,
            "callback_at": "2026-12-02T10:00:00+01:00",
        },
        "transcript": [
            {"role": "agent", "text": "Hi Ada, this is Sam from Acme.", "at_s": 0.4},
            {"role": "contact", "text": "Call me tomorrow at ten.", "at_s": 3.1},
        ],
        "recording_url": f"https://storage.vapi.ai/{call['id']}-mono.wav",
        "cost": {"amount": 0.0815, "currency": "USD"},
        "ended_reason": "assistant-ended-call",
        "callback_at": "2026-12-02T09:00:00Z",
        "voicemail_left": None,
        "success": False,
    }
    assert event.duration_s == pytest.approx(30, abs=0.01)


@pytest.mark.parametrize(
    ("data", "disposition", "callback_at"),
    [
        ({"disposition": 3, "callback_at": "tomorrow"}, None, None),
        ({"callback_at": "2026-12-02T10:00:00"}, None, None),  # no offset: ambiguous
        (None, None, None),
    ],
)
def test_a_disposition_or_callback_not_in_the_convention_is_left_unknown(
    data, disposition, callback_at
):
    call = ended_call(
        _new_call(), "customer-ended-call", messages=CONVERSATION, structured_data=data
    )

    [event] = _parse(end_of_call_report(call))

    assert (event.result.disposition, event.result.callback_at) == (disposition, callback_at)
    assert event.result.data == data


@pytest.mark.parametrize(
    ("voicemail_message", "left"), [("Please call us back.", True), (None, None)]
)
def test_a_voicemail_end_says_a_message_was_left_when_the_call_was_given_one(
    voicemail_message, left
):
    call = ended_call(_new_call(_request(voicemail_message=voicemail_message)), "voicemail")

    [event] = _parse(end_of_call_report(call))

    assert event.outcome is Outcome.VOICEMAIL
    assert event.result.voicemail_left is left


def test_an_oversized_transcript_is_cut_and_marked_truncated():
    messages = [message("user", f"turn {i}", float(i)) for i in range(TRANSCRIPT_MAX_TURNS + 5)]
    call = ended_call(_new_call(), "customer-ended-call", messages=messages)

    [event] = _parse(end_of_call_report(call))

    assert len(event.result.transcript) == TRANSCRIPT_MAX_TURNS
    assert event.result.truncated is True
    assert event.result.to_json()["truncated"] is True


@pytest.mark.parametrize(("status", "kind"), [("ringing", "ringing"), ("in-progress", "answered")])
def test_status_updates_report_ringing_and_answered(status, kind):
    call = _new_call()
    assert [(e.kind, e.provider_call_id) for e in _parse(status_update(call, status))] == [
        (kind, call["id"])
    ]


@pytest.mark.parametrize("status", ["queued", "forwarding", "ended"])
def test_other_status_updates_report_nothing(status):
    assert _parse(status_update(ended_call(_new_call(), "customer-busy"), status)) == []


def test_other_server_messages_report_nothing():
    payload = {"message": {"type": "conversation-update", "messages": [], "call": _new_call()}}
    assert _parse(payload) == []


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"type": "end-of-call-report"}, "message"),
        ({"message": {"type": "end-of-call-report", "endedReason": "voicemail"}}, "message.call"),
        (
            {"message": {"type": "status-update", "status": "ringing", "call": {}}},
            "message.call.id",
        ),
    ],
)
def test_a_message_that_is_not_vapis_is_malformed(payload, field):
    with pytest.raises(MalformedCallback) as refused:
        _parse(payload)
    assert field in [error["field"] for error in refused.value.errors]


def test_a_body_that_is_not_json_is_malformed():
    with pytest.raises(MalformedCallback):
        _adapter().parse_callback(_callback(b"not json", secret_headers(SECRET)))


def test_a_report_received_late_still_ends_the_call_it_names():
    # the end-of-call-report's own fields win over its call's, as Vapi documents
    call = ended_call(_new_call(), "customer-busy")
    report = end_of_call_report({**call, "endedReason": None, "status": "in-progress"})
    report["message"]["endedReason"] = "customer-busy"

    [event] = _parse(report)

    assert (event.kind, event.outcome) == ("ended", Outcome.BUSY)


def test_a_timestamp_in_the_future_is_refused():
    body = body_of(status_update(_new_call(), "ringing"))
    headers = hmac_headers(SECRET, body, int((NOW + timedelta(minutes=6)).timestamp()))
    with pytest.raises(InvalidCallback, match="stale"):
        _adapter().authenticate(_callback(body, headers), NOW)
