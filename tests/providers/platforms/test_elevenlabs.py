"""The ElevenLabs adapter against a stand-in for its API, and its post-call webhooks as the
docs show them (tests/providers/platforms/elevenlabs_api.py)."""

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest

from outbound.domain.connections import ConnectionType
from outbound.domain.results import TRANSCRIPT_MAX_TURNS, Cost, Turn
from outbound.domain.statuses import Outcome
from outbound.providers.base import CallHandle, CallRequest, PlaybookSnapshot
from outbound.providers.callbacks import CallbackRequest, ProviderEvent
from outbound.providers.errors import (
    CallRejected,
    InvalidCallback,
    MalformedCallback,
    ProviderUnavailable,
)
from outbound.providers.platforms.base import Connection
from outbound.providers.platforms.elevenlabs import END_REASONS, ElevenLabsAdapter
from tests.providers.platforms.elevenlabs_api import (
    ElevenLabsApi,
    conversation,
    encode,
    error,
    initiation_failure_webhook,
    signature,
    transcription_webhook,
    turn,
)
from tests.providers.platforms.http_standin import Answer, serving

API_KEY = "xi-test-key"
SECRET = "wsec_test"
AGENT = "agent_sales"
TWILIO_NUMBER = "pn_twilio"
SIP_NUMBER = "pn_sip"
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
URL = "https://outbound.example.com/provider/connection/c1/events"
T = TypeVar("T")


@pytest.fixture
def api() -> Iterator[ElevenLabsApi]:
    stand_in = ElevenLabsApi(
        API_KEY, agents={AGENT}, phone_numbers={TWILIO_NUMBER: "twilio", SIP_NUMBER: "sip_trunk"}
    )
    with serving(stand_in):
        yield stand_in


def _connection(api_base_url: str, api_key: str = API_KEY) -> Connection:
    return Connection(
        id=uuid.uuid4(),
        account_id=uuid.uuid4(),
        type=ConnectionType.ELEVENLABS,
        name="ElevenLabs",
        credentials={"api_key": api_key, "webhook_secret": SECRET},
        settings={"api_base_url": api_base_url},
        webhook_url="https://outbound.example.com/provider/connection/c1/events",
    )


def _run(api_base_url: str, use: Callable[[ElevenLabsAdapter], Awaitable[T]], **kw: Any) -> T:
    async def run() -> T:
        adapter = ElevenLabsAdapter(_connection(api_base_url, **kw))
        try:
            return await use(adapter)
        finally:
            await adapter.aclose()

    return asyncio.run(run())


def _request(
    number: str = TWILIO_NUMBER, agent: str = AGENT, attempt: int = 1, **playbook: Any
) -> CallRequest:
    return CallRequest(
        call_id=uuid.uuid4(),
        attempt_number=attempt,
        to="+14155550142",
        from_=None,
        playbook=PlaybookSnapshot(
            id=uuid.uuid4(),
            name="Renewals",
            provider={
                "connection_id": str(uuid.uuid4()),
                "agent_id": agent,
                "phone_number_id": number,
            },
            **playbook,
        ),
        variables={
            "first_name": "Ada",
            "balance": 12.5,
            "vip": True,
            "plan": {"tier": "pro"},
            "gone": None,
        },
    )


def _place(api: ElevenLabsApi, *requests: CallRequest) -> list[CallHandle]:
    async def place(adapter: ElevenLabsAdapter) -> list[CallHandle]:
        return [await adapter.place_call(request) for request in requests]

    return _run(api.url, place)


def _webhook(payload: dict[str, Any], secret: str = SECRET, at: datetime = NOW) -> CallbackRequest:
    body = encode(payload)
    headers = {"elevenlabs-signature": signature(secret, body, int(at.timestamp()))}
    return CallbackRequest("POST", URL, "events", headers, body)


def _events(payload: dict[str, Any]) -> list[ProviderEvent]:
    adapter = ElevenLabsAdapter(_connection("http://127.0.0.1:9"))
    request = _webhook(payload)
    adapter.authenticate(request, NOW)
    return adapter.parse_callback(request)


# Placing calls


def test_a_call_from_a_twilio_number_carries_the_agent_the_number_and_the_variables(api):
    request = _request(attempt=2, first_message="Hi Ada", voicemail_message="Call us back, Ada.")
    [handle] = _place(api, request)
    [call] = api.calls
    assert call.path == "/v1/convai/twilio/outbound-call"
    assert call.headers["xi-api-key"] == API_KEY
    assert call.json() == {
        "agent_id": AGENT,
        "agent_phone_number_id": TWILIO_NUMBER,
        "to_number": "+14155550142",
        "conversation_initiation_client_data": {
            "dynamic_variables": {
                "first_name": "Ada",
                "balance": 12.5,
                "vip": True,
                "plan": '{"tier": "pro"}',
                "outbound_call_id": str(request.call_id),
                "outbound_attempt": 2,
                "voicemail_message": "Call us back, Ada.",
            },
            "conversation_config_override": {"agent": {"first_message": "Hi Ada"}},
        },
    }
    assert handle.provider_call_id in api.conversations


def test_without_a_first_message_the_agent_keeps_its_own(api):
    _place(api, _request())
    [call] = api.calls
    data = call.json()["conversation_initiation_client_data"]
    assert "conversation_config_override" not in data
    assert "voicemail_message" not in data["dynamic_variables"]


def test_a_sip_trunk_number_calls_through_the_sip_trunk_endpoint(api):
    _place(api, _request(number=SIP_NUMBER))
    assert [call.path for call in api.calls] == ["/v1/convai/sip-trunk/outbound-call"]


def test_the_phone_number_is_looked_up_once_per_adapter(api):
    _place(api, _request(), _request(), _request())
    assert len(api.recorder.received("GET", "/v1/convai/phone-numbers/")) == 1
    assert len(api.calls) == 3


@pytest.mark.parametrize(
    "answer",
    [
        error(429, "too_many_concurrent_requests", "Too many concurrent requests"),
        error(429, "system_busy", "The system is experiencing heavy traffic"),
        error(500, "internal_error", "Internal server error"),
        Answer(502, b"Bad Gateway", "text/plain"),
        Answer.json(503, {"detail": "Service Unavailable"}),
    ],
)
def test_a_rate_limit_a_concurrency_refusal_or_a_failure_leaves_the_attempt_unspent(api, answer):
    api.recorder.answers.extend([api.phone_number(TWILIO_NUMBER), answer])
    with pytest.raises(ProviderUnavailable, match=str(answer.status)):
        _place(api, _request())


def test_an_unknown_agent_is_refused_with_elevenlabs_message(api):
    with pytest.raises(CallRejected, match="404: Agent agent_gone not found"):
        _place(api, _request(agent="agent_gone"))


def test_an_unknown_phone_number_is_refused(api):
    with pytest.raises(CallRejected, match="404: Phone number not found"):
        _place(api, _request(number="pn_gone"))


def test_an_invalid_request_is_refused_with_the_fields_elevenlabs_names(api):
    api.recorder.answers.extend(
        [
            api.phone_number(TWILIO_NUMBER),
            Answer.json(
                422,
                {"detail": [{"loc": ["body", "to_number"], "msg": "Invalid phone number"}]},
            ),
        ]
    )
    with pytest.raises(CallRejected, match=r"422: body\.to_number: Invalid phone number"):
        _place(api, _request())


def test_a_call_elevenlabs_did_not_start_is_refused_with_its_message(api):
    api.recorder.answers.extend(
        [
            api.phone_number(TWILIO_NUMBER),
            Answer.json(200, {"success": False, "message": "Twilio rejected the number"}),
        ]
    )
    with pytest.raises(CallRejected, match="Twilio rejected the number"):
        _place(api, _request())


def test_a_wrong_api_key_is_refused(api):
    with pytest.raises(CallRejected, match="401: Invalid API key"):
        _run(api.url, lambda adapter: adapter.place_call(_request()), api_key="wrong")


def test_elevenlabs_out_of_reach_leaves_the_attempt_unspent():
    with pytest.raises(ProviderUnavailable, match="unreachable"):
        _run("http://127.0.0.1:9", lambda adapter: adapter.place_call(_request()))


# Looking a call up


def _fetch(api: ElevenLabsApi, conversation_id: str) -> list[ProviderEvent]:
    return _run(api.url, lambda adapter: adapter.fetch_call(conversation_id))


@pytest.mark.parametrize("status", ["initiated", "in-progress", "processing"])
def test_a_conversation_still_going_on_shows_nothing(api, status):
    api.conversations["conv_1"] = conversation("conv_1", status=status, transcript=[])
    assert _fetch(api, "conv_1") == []


def test_an_ended_conversation_shows_its_end_and_result(api):
    api.conversations["conv_1"] = conversation("conv_1", data={"disposition": "call_back"})
    [event] = _fetch(api, "conv_1")
    assert (event.kind, event.outcome, event.duration_s) == ("ended", Outcome.ANSWERED, 22)
    assert event.result is not None and event.result.disposition == "call_back"
    [lookup] = api.recorder.received("GET", "/v1/convai/conversations/")
    assert lookup.headers["xi-api-key"] == API_KEY


def test_a_conversation_elevenlabs_does_not_know_has_failed(api):
    [event] = _fetch(api, "conv_gone")
    assert (event.kind, event.outcome) == ("ended", Outcome.FAILED)
    assert "conv_gone" in (event.error or "")


def test_a_lookup_elevenlabs_cannot_answer_is_unavailable(api):
    api.recorder.answers.append(Answer(503))
    with pytest.raises(ProviderUnavailable, match="503"):
        _fetch(api, "conv_1")


# Webhook signatures


def test_a_signed_webhook_is_accepted_once():
    adapter = ElevenLabsAdapter(_connection("http://127.0.0.1:9"))
    request = _webhook(transcription_webhook(conversation("conv_1")))
    # Timestamped: the signature is the replay key, refused by outbound the second time.
    assert adapter.authenticate(request, NOW) == request.header("ElevenLabs-Signature")


@pytest.mark.parametrize(
    "request_",
    [
        _webhook(transcription_webhook(conversation("conv_1")), secret="another"),
        _webhook(transcription_webhook(conversation("conv_1")), at=NOW - timedelta(minutes=6)),
        _webhook(transcription_webhook(conversation("conv_1")), at=NOW + timedelta(minutes=6)),
        CallbackRequest("POST", URL, "events", {}, b"{}"),
        CallbackRequest("POST", URL, "events", {"elevenlabs-signature": "v0=abc"}, b"{}"),
        CallbackRequest("POST", URL, "events", {"elevenlabs-signature": "t=x,v0=abc"}, b"{}"),
    ],
    ids=["wrong secret", "stale", "from the future", "missing", "no timestamp", "bad timestamp"],
)
def test_a_webhook_without_a_valid_signature_is_refused(request_):
    with pytest.raises(InvalidCallback):
        ElevenLabsAdapter(_connection("http://127.0.0.1:9")).authenticate(request_, NOW)


def test_a_body_changed_after_signing_is_refused():
    request = _webhook(transcription_webhook(conversation("conv_1")))
    forged = CallbackRequest("POST", URL, "events", dict(request.headers), request.body + b" ")
    with pytest.raises(InvalidCallback, match="does not match"):
        ElevenLabsAdapter(_connection("http://127.0.0.1:9")).authenticate(forged, NOW)


# End reasons


def _payload_ending(reason: str) -> dict[str, Any]:
    """A webhook that ends a call for ``reason``, a key of END_REASONS."""
    if reason in ("busy", "no-answer", "unknown"):
        return initiation_failure_webhook("conv_1", reason)
    if reason == "voicemail_detection":
        transcript = [
            turn("agent", "Hi, is this Ada?", 0),
            turn("user", "Leave a message after the tone.", 2),
            turn("agent", None, 5, tool="voicemail_detection"),
        ]
        return transcription_webhook(conversation("conv_1", transcript=transcript))
    return transcription_webhook(conversation("conv_1", status=reason))


@pytest.mark.parametrize(("reason", "outcome"), END_REASONS.items())
def test_every_end_reason_gives_its_outcome(reason, outcome):
    [event] = _events(_payload_ending(reason))
    assert (event.provider, event.provider_call_id, event.kind) == ("elevenlabs", "conv_1", "ended")
    assert event.outcome == outcome


def test_a_call_that_never_connected_names_the_telephony_report():
    sip = {"type": "sip", "body": {"sip_status_code": 486, "error_reason": "Busy Here"}}
    [event] = _events(initiation_failure_webhook("conv_1", "busy", sip))
    assert (event.outcome, event.error, event.result) == (Outcome.BUSY, "busy: 486", None)


def test_audio_webhooks_report_nothing():
    payload = {"type": "post_call_audio", "event_timestamp": 1, "data": {"conversation_id": "c"}}
    assert _events(payload) == []


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "post_call_transcription"},
        transcription_webhook({"conversation_id": "conv_1"}),
        initiation_failure_webhook("conv_1", "busy") | {"data": {"conversation_id": "conv_1"}},
    ],
)
def test_a_body_that_is_not_a_documented_webhook_is_malformed(payload):
    with pytest.raises(MalformedCallback):
        _events(payload)


# Results


def test_the_result_carries_the_transcript_summary_data_and_cost():
    data = {"disposition": "call_back", "callback_at": "2026-03-03T10:00:00+01:00", "budget": 1200}
    [event] = _events(transcription_webhook(conversation("conv_1", data=data)))
    result = event.result
    assert result is not None
    assert result.transcript == (
        Turn("agent", "Hey there Ada. How are you?", 0),
        Turn("contact", "Call me tomorrow at ten, I'm driving.", 2),
        Turn("agent", "Of course, talk tomorrow.", 9),
    )
    assert result.summary == "Asked to be called tomorrow at ten."
    assert result.data == data
    assert result.disposition == "call_back"
    assert result.callback_at == datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    assert result.success is True
    assert result.cost == Cost(0.0734, "USD")
    assert result.ended_reason == "Call ended by remote party"
    assert result.recording_url == "http://127.0.0.1:9/v1/convai/conversations/conv_1/audio"
    assert result.truncated is False


def test_a_result_without_analysis_or_audio_leaves_them_unknown():
    payload = conversation(
        "conv_1", call_successful="unknown", cost_fiat=None, has_audio=False, summary=""
    )
    payload["analysis"]["data_collection_results"] = {}
    [event] = _events(transcription_webhook(payload))
    result = event.result
    assert result is not None
    assert (result.data, result.disposition, result.callback_at) == (None, None, None)
    assert (result.success, result.cost, result.recording_url, result.summary) == (
        None,
        None,
        None,
        None,
    )


def test_a_callback_hour_that_is_not_iso_is_left_out():
    [event] = _events(
        transcription_webhook(conversation("conv_1", data={"callback_at": "tomorrow at ten"}))
    )
    assert event.result is not None and event.result.callback_at is None


def test_an_oversized_transcript_is_cut_and_marked():
    transcript = [turn("user", f"turn {n}", n) for n in range(TRANSCRIPT_MAX_TURNS + 5)]
    [event] = _events(transcription_webhook(conversation("conv_1", transcript=transcript)))
    result = event.result
    assert result is not None and result.truncated is True
    assert len(result.transcript) == TRANSCRIPT_MAX_TURNS
    assert result.to_json()["truncated"] is True
