"""The Retell adapter against a stand-in for Retell's API, and Retell's webhooks."""

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest

from outbound.domain.connections import ConnectionType
from outbound.domain.results import TRANSCRIPT_MAX_TURNS, Cost, Turn
from outbound.domain.statuses import Outcome
from outbound.providers.base import CallRequest, PlaybookSnapshot
from outbound.providers.callbacks import CallbackRequest, ProviderEvent
from outbound.providers.errors import (
    CallRejected,
    InvalidCallback,
    MalformedCallback,
    ProviderUnavailable,
)
from outbound.providers.platforms import conventions
from outbound.providers.platforms.base import Connection
from outbound.providers.platforms.retell import END_REASONS, RetellAdapter, create_call_body
from tests.providers.platforms.http_stand_in import ApiRequest, running
from tests.providers.platforms.retell_api import (
    BAD_REQUEST,
    NOT_FOUND,
    PAYMENT_REQUIRED,
    RATE_LIMITED,
    SERVER_ERROR,
    UNAUTHORIZED,
    RetellApi,
    body_of,
    ended_call,
    retell_error,
    signed_headers,
    utterance,
    webhook,
)

API_KEY = "key_retell_webhook_badge"
AGENT_ID = "oBeDLoLOeuAbiuaMFXRtDOLriTJ5tSxD"
FROM_NUMBER = "+14157774444"
CONTACT = "+12137774445"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
T = TypeVar("T")

CONVERSATION = [
    utterance("agent", "Hi Ada, this is Sam from Acme.", 0.4),
    utterance("user", "Call me tomorrow at ten.", 3.1),
]


def _adapter(api_url: str = "http://127.0.0.1:9", api_key: str = API_KEY) -> RetellAdapter:
    connection = Connection(
        id=uuid.uuid4(),
        account_id=uuid.uuid4(),
        type=ConnectionType.RETELL,
        name="Retell",
        credentials={"api_key": api_key},
        settings={"api_base_url": api_url},
        webhook_url="https://outbound.example.com/provider/connection/c1/events",
    )
    return RetellAdapter(connection)


def _request(attempt: int = 1, to: str = CONTACT, **playbook: Any) -> CallRequest:
    fields = {
        "first_message": "Hi Ada, this is Sam from Acme.",
        "voicemail_message": "Hi Ada, Sam from Acme: please call us back.",
        "provider": {
            "connection_id": str(uuid.uuid4()),
            "agent_id": AGENT_ID,
            "from_number": FROM_NUMBER,
        },
    }
    fields.update(playbook)
    return CallRequest(
        call_id=uuid.uuid4(),
        attempt_number=attempt,
        to=to,
        from_="+14155550123",  # the playbook's caller_id: Retell uses the provider's from_number
        playbook=PlaybookSnapshot(id=uuid.uuid4(), name="Renewals", **fields),
        variables={"first_name": "Ada", "seats": 12, "vip": True, "notes": None, "tags": ["a"]},
    )


def _run(adapter: RetellAdapter, use: Callable[[RetellAdapter], Awaitable[T]]) -> T:
    async def go() -> T:
        try:
            return await use(adapter)
        finally:
            await adapter.aclose()

    return asyncio.run(go())


def _new_call(request: CallRequest | None = None) -> dict[str, Any]:
    """A call object as Retell's create-phone-call answers it, without a server."""
    body = json.loads(conventions.json_body(create_call_body(request or _request())))
    headers = {"authorization": f"Bearer {API_KEY}"}
    status, call = RetellApi(API_KEY).handle(
        ApiRequest("POST", "/v2/create-phone-call", headers, body)
    )
    assert status == 201
    return call


def _callback(payload: dict[str, Any] | bytes, headers: dict[str, str]) -> CallbackRequest:
    body = payload if isinstance(payload, bytes) else body_of(payload)
    return CallbackRequest(
        method="POST",
        url="https://outbound.example.com/provider/connection/c/events",
        path="events",
        headers={name.lower(): value for name, value in headers.items()},
        body=body,
    )


def _parse(payload: dict[str, Any]) -> list[ProviderEvent]:
    body = body_of(payload)
    return _adapter().parse_callback(_callback(body, signed_headers(body, API_KEY, NOW_MS)))


@pytest.fixture
def api() -> Iterator[RetellApi]:
    with running(RetellApi(API_KEY, {AGENT_ID}, {FROM_NUMBER})) as stand_in:
        yield stand_in


# Placing calls


def test_place_call_creates_the_phone_call_with_the_agent_number_variables_and_metadata(api):
    request = _request(attempt=3)
    handle = _run(_adapter(api.url), lambda adapter: adapter.place_call(request))

    [sent] = api.created
    assert handle.provider_call_id in api.calls
    assert sent.method == "POST"
    assert sent.authorization == f"Bearer {API_KEY}"
    assert sent.headers["content-type"] == "application/json"
    assert sent.json == {
        "from_number": FROM_NUMBER,
        "to_number": CONTACT,
        "override_agent_id": AGENT_ID,
        "retell_llm_dynamic_variables": {
            "first_name": "Ada",
            "seats": "12",
            "vip": "true",
            "notes": "",
            "tags": '["a"]',
        },
        "metadata": {
            "outbound_call_id": str(request.call_id),
            "outbound_attempt": 3,
            "outbound_idempotency_key": f"{request.call_id}:3",
            "outbound_voicemail_message": True,
        },
        "agent_override": {
            "agent": {
                "voicemail_option": {
                    "action": {
                        "type": "static_text",
                        "text": "Hi Ada, Sam from Acme: please call us back.",
                    }
                }
            }
        },
    }


def test_a_playbook_that_hangs_up_on_voicemail_keeps_the_agents_own_option(api):
    _run(_adapter(api.url), lambda adapter: adapter.place_call(_request(voicemail_message=None)))

    [sent] = api.created
    assert "agent_override" not in sent.json
    assert sent.json["metadata"]["outbound_voicemail_message"] is False


def test_a_playbook_without_the_retell_fields_is_rejected_without_a_request(api):
    request = _request(provider={"connection_id": "c", "from_number": FROM_NUMBER})
    with pytest.raises(CallRejected, match="agent_id"):
        _run(_adapter(api.url), lambda adapter: adapter.place_call(request))
    assert api.requests == []


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (429, RATE_LIMITED),
        (429, retell_error("Concurrency limit reached, please try again later.")),
        (500, SERVER_ERROR),
        (502, {"message": "Bad Gateway"}),
        (401, UNAUTHORIZED),
    ],
)
def test_rate_limits_concurrency_server_errors_and_a_refused_key_leave_the_attempt_unspent(
    api, status, body
):
    api.answers.append((status, body))
    with pytest.raises(ProviderUnavailable, match=str(status)):
        _run(_adapter(api.url), lambda adapter: adapter.place_call(_request()))


@pytest.mark.parametrize(
    ("status", "body"), [(402, PAYMENT_REQUIRED), (404, retell_error("Not Found"))]
)
def test_payment_and_not_found_refusals_are_rejected_with_retells_message(api, status, body):
    api.answers.append((status, body))
    with pytest.raises(CallRejected, match=body["message"]):
        _run(_adapter(api.url), lambda adapter: adapter.place_call(_request()))


def test_an_invalid_number_is_rejected_with_retells_message(api):
    with pytest.raises(CallRejected, match=r"400.*" + BAD_REQUEST["message"]):
        _run(_adapter(api.url), lambda adapter: adapter.place_call(_request(to="2137774445")))


def test_an_unknown_agent_is_rejected_with_retells_message(api):
    request = _request(provider={"agent_id": "agent_gone", "from_number": FROM_NUMBER})
    with pytest.raises(CallRejected, match=r"422.*" + NOT_FOUND["message"]):
        _run(_adapter(api.url), lambda adapter: adapter.place_call(request))


def test_a_bad_api_key_is_unavailable(api):
    with pytest.raises(ProviderUnavailable, match="api_key"):
        _run(_adapter(api.url, api_key="wrong"), lambda adapter: adapter.place_call(_request()))


def test_an_unreachable_retell_is_unavailable():
    with pytest.raises(ProviderUnavailable, match="unreachable"):
        _run(_adapter("http://127.0.0.1:9"), lambda adapter: adapter.place_call(_request()))


# Looking calls up


@pytest.mark.parametrize("started", [False, True], ids=["registered", "ongoing"])
def test_fetch_call_of_a_call_not_over_reports_nothing(api, started):
    handle = _run(_adapter(api.url), lambda adapter: adapter.place_call(_request()))
    if started:
        api.start(handle.provider_call_id)

    events = _run(_adapter(api.url), lambda adapter: adapter.fetch_call(handle.provider_call_id))

    assert events == []
    [*_, lookup] = api.requests
    assert (lookup.method, lookup.path) == ("GET", f"/v2/get-call/{handle.provider_call_id}")
    assert lookup.authorization == f"Bearer {API_KEY}"


def test_fetch_call_of_an_ended_call_reports_its_end_with_the_whole_result(api):
    handle = _run(_adapter(api.url), lambda adapter: adapter.place_call(_request()))
    api.end(
        handle.provider_call_id,
        "user_hangup",
        transcript=CONVERSATION,
        summary="Asked to be called tomorrow.",
        custom_analysis_data={"disposition": "call_back", "callback_at": "2026-12-02T10:00:00Z"},
        call_successful=True,
        combined_cost=70,
        duration_ms=42_000,
    )

    [event] = _run(_adapter(api.url), lambda adapter: adapter.fetch_call(handle.provider_call_id))

    assert (event.provider, event.kind, event.outcome) == ("retell", "ended", Outcome.ANSWERED)
    assert event.duration_s == 42
    assert event.result.transcript == (
        Turn("agent", "Hi Ada, this is Sam from Acme.", 0.4),
        Turn("contact", "Call me tomorrow at ten.", 3.1),
    )
    assert event.result.summary == "Asked to be called tomorrow."
    assert event.result.disposition == "call_back"
    assert event.result.callback_at == datetime(2026, 12, 2, 10, tzinfo=UTC)
    assert event.result.success is True
    assert event.result.cost == Cost(0.7, "USD")


def test_fetch_call_of_a_call_never_connected_reports_its_outcome(api):
    handle = _run(_adapter(api.url), lambda adapter: adapter.place_call(_request()))
    api.end(handle.provider_call_id, "dial_no_answer")

    [event] = _run(_adapter(api.url), lambda adapter: adapter.fetch_call(handle.provider_call_id))

    assert (event.kind, event.outcome, event.result.transcript) == ("ended", Outcome.NO_ANSWER, ())


def test_fetch_call_of_a_call_retell_does_not_know_is_rejected(api):
    with pytest.raises(CallRejected, match=NOT_FOUND["message"]):
        _run(_adapter(api.url), lambda adapter: adapter.fetch_call(uuid.uuid4().hex))


# Authenticating webhooks


def test_a_signed_webhook_authenticates_once():
    body = body_of(webhook("call_started", _new_call()))
    headers = signed_headers(body, API_KEY, NOW_MS - 60_000)
    assert _adapter().authenticate(_callback(body, headers), NOW) == headers["X-Retell-Signature"]


@pytest.mark.parametrize(
    ("api_key", "tamper", "age_ms"),
    [("another-key", False, 0), (API_KEY, True, 0), (API_KEY, False, 300_001)],
    ids=["another key", "changed body", "stale"],
)
def test_a_wrong_changed_or_stale_signature_is_refused(api_key, tamper, age_ms):
    body = body_of(webhook("call_started", _new_call()))
    headers = signed_headers(body, api_key, NOW_MS - age_ms)
    if tamper:
        body = body.replace(b"call_started", b"call_ended")
    with pytest.raises(InvalidCallback):
        _adapter().authenticate(_callback(body, headers), NOW)


@pytest.mark.parametrize(
    "signature",
    [None, "", "v=1,d=zz", "t=1,v1=" + "0" * 64],
    ids=["missing", "empty", "hex", "form"],
)
def test_a_missing_or_malformed_signature_is_refused(signature):
    headers = {} if signature is None else {"X-Retell-Signature": signature}
    with pytest.raises(InvalidCallback):
        _adapter().authenticate(_callback(webhook("call_started", _new_call()), headers), NOW)


# Parsing webhooks


def test_call_started_reports_the_call_answered():
    call = _new_call()
    assert [(e.kind, e.provider_call_id) for e in _parse(webhook("call_started", call))] == [
        ("answered", call["call_id"])
    ]


@pytest.mark.parametrize(("reason", "outcome"), sorted(END_REASONS.items()))
def test_each_documented_disconnection_reason_has_its_outcome(reason, outcome):
    call = ended_call(_new_call(), reason)

    [event] = _parse(webhook("call_ended", call))

    assert event.provider_call_id == call["call_id"]
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
    ("transcript", "duration_ms", "outcome"),
    [
        (CONVERSATION, 20_000, Outcome.ANSWERED),
        ([], 0, Outcome.FAILED),
    ],
    ids=["connected", "never connected"],
)
def test_an_unknown_reason_is_answered_if_the_call_connected_else_failed(
    transcript, duration_ms, outcome
):
    call = ended_call(_new_call(), "error_llm_websocket_open", transcript=transcript)
    call.update(call_status="error", duration_ms=duration_ms)

    [event] = _parse(webhook("call_ended", call))

    assert (event.kind, event.outcome) == ("ended", outcome)


def test_call_ended_then_call_analyzed_give_the_result_in_two_events():
    call = ended_call(
        _new_call(),
        "agent_hangup",
        transcript=CONVERSATION,
        summary="Asked to be called tomorrow morning.",
        custom_analysis_data={
            "disposition": "call_back",
            "budget": 1200,
            "callback_at": "2026-12-02T10:00:00+01:00",
        },
        call_successful=False,
        combined_cost=8.15,
        duration_ms=30_000,
    )

    [ended] = _parse(webhook("call_ended", call))
    [analyzed] = _parse(webhook("call_analyzed", call))

    assert (ended.kind, ended.outcome, ended.duration_s) == ("ended", Outcome.ANSWERED, 30)
    assert ended.result.to_json() == {
        "disposition": None,
        "summary": None,
        "data": None,
        "transcript": [
            {"role": "agent", "text": "Hi Ada, this is Sam from Acme.", "at_s": 0.4},
            {"role": "contact", "text": "Call me tomorrow at ten.", "at_s": 3.1},
        ],
        "recording_url": call["recording_url"],
        "cost": {"amount": 0.0815, "currency": "USD"},
        "ended_reason": "agent_hangup",
        "callback_at": None,
        "voicemail_left": None,
        "success": None,
    }
    assert (analyzed.kind, analyzed.outcome, analyzed.provider_call_id) == (
        "result",
        None,
        call["call_id"],
    )
    assert ended.result.merged(analyzed.result).to_json() == {
        **ended.result.to_json(),
        "disposition": "call_back",
        "summary": "Asked to be called tomorrow morning.",
        "data": {
            "disposition": "call_back",
            "budget": 1200,
            "callback_at": "2026-12-02T10:00:00+01:00",
        },
        "callback_at": "2026-12-02T09:00:00Z",
        "success": False,
    }


@pytest.mark.parametrize(
    ("voicemail_message", "left"), [("Please call us back.", True), (None, None)]
)
def test_voicemail_reached_says_a_message_was_left_when_the_call_was_given_one(
    voicemail_message, left
):
    call = ended_call(_new_call(_request(voicemail_message=voicemail_message)), "voicemail_reached")

    [event] = _parse(webhook("call_ended", call))

    assert event.outcome is Outcome.VOICEMAIL
    assert event.result.voicemail_left is left


def test_an_oversized_transcript_is_cut_and_marked_truncated():
    transcript = [utterance("user", f"turn {i}", float(i)) for i in range(TRANSCRIPT_MAX_TURNS + 5)]
    call = ended_call(_new_call(), "user_hangup", transcript=transcript)

    [event] = _parse(webhook("call_ended", call))

    assert len(event.result.transcript) == TRANSCRIPT_MAX_TURNS
    assert event.result.truncated is True


@pytest.mark.parametrize("event", ["transcript_updated", "transfer_started", "transfer_ended"])
def test_other_webhooks_report_nothing(event):
    assert _parse(webhook(event, ended_call(_new_call(), "call_transfer"))) == []


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"call": {"call_id": "x"}}, "event"),
        ({"event": "call_ended"}, "call"),
        ({"event": "call_ended", "call": {"call_status": "ended"}}, "call.call_id"),
    ],
)
def test_a_webhook_that_is_not_retells_is_malformed(payload, field):
    with pytest.raises(MalformedCallback) as refused:
        _parse(payload)
    assert field in [error["field"] for error in refused.value.errors]
