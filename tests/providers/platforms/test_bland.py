"""The Bland adapter against a stand-in for its API, and its post-call webhooks as the docs show
them (tests/providers/platforms/bland_api.py)."""

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest

from outbound.domain.connections import ConnectionType
from outbound.domain.dispositions import Action, DataField, DataType, Disposition
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
from outbound.providers.platforms.bland import END_REASONS, BlandAdapter
from tests.providers.platforms.bland_api import BlandApi, call_details, encode, error, signature
from tests.providers.platforms.http_standin import Answer, serving

API_KEY = "sk-bland-test"
SECRET = "bland-webhook-secret"
PATHWAY = "a0f0d4ed-f5f5-4f16-b3f9-22166594d7a7"
FROM = "+14155550123"
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
WEBHOOK_URL = "https://outbound.example.com/provider/connection/c1/events"
T = TypeVar("T")


@pytest.fixture
def api() -> Iterator[BlandApi]:
    with serving(BlandApi(API_KEY)) as stand_in:
        yield stand_in


def _connection(api_base_url: str, api_key: str = API_KEY, **settings: Any) -> Connection:
    return Connection(
        id=uuid.uuid4(),
        account_id=uuid.uuid4(),
        type=ConnectionType.BLAND,
        name="Bland",
        credentials={"api_key": api_key, "webhook_secret": SECRET},
        settings={"api_base_url": api_base_url, **settings},
        webhook_url=WEBHOOK_URL,
    )


def _run(api_base_url: str, use: Callable[[BlandAdapter], Awaitable[T]], **kw: Any) -> T:
    async def run() -> T:
        adapter = BlandAdapter(_connection(api_base_url, **kw))
        try:
            return await use(adapter)
        finally:
            await adapter.aclose()

    return asyncio.run(run())


def _request(
    provider: dict[str, Any] | None = None, to: str = "+14155550142", **playbook: Any
) -> CallRequest:
    return CallRequest(
        call_id=uuid.uuid4(),
        attempt_number=3,
        to=to,
        from_=None,
        playbook=PlaybookSnapshot(
            id=uuid.uuid4(),
            name="Renewals",
            provider={"connection_id": "c1", "from_number": FROM, "pathway_id": PATHWAY}
            if provider is None
            else provider,
            **playbook,
        ),
        variables={"first_name": "Ada", "plan": {"tier": "pro"}},
    )


def _place(api: BlandApi, request: CallRequest, **kw: Any) -> CallHandle:
    return _run(api.url, lambda adapter: adapter.place_call(request), **kw)


def _webhook(payload: dict[str, Any], secret: str = SECRET) -> CallbackRequest:
    body = encode(payload)
    headers = {"x-webhook-signature": signature(secret, body)}
    return CallbackRequest("POST", WEBHOOK_URL, "events", headers, body)


def _events(payload: dict[str, Any]) -> list[ProviderEvent]:
    adapter = BlandAdapter(_connection("http://127.0.0.1:9"))
    request = _webhook(payload)
    adapter.authenticate(request, NOW)
    return adapter.parse_callback(request)


# Placing calls


def test_a_call_carries_the_pathway_the_variables_and_the_attempt(api):
    request = _request(first_message="Hi Ada", voice="maya", language="en-US")
    handle = _place(api, request)
    [sent] = api.sent
    assert sent.headers["authorization"] == API_KEY
    assert sent.json() == {
        "phone_number": "+14155550142",
        "from": FROM,
        "pathway_id": PATHWAY,
        "first_sentence": "Hi Ada",
        "voice": "maya",
        "language": "en-US",
        "request_data": {"first_name": "Ada", "plan": {"tier": "pro"}},
        "metadata": {
            "outbound_call_id": str(request.call_id),
            "outbound_attempt": 3,
            "outbound_idempotency_key": f"{request.call_id}:3",
            "outbound_voicemail": "hangup",
        },
        "webhook": WEBHOOK_URL,
        "answered_by_enabled": True,
        "voicemail_action": "hangup",
        "max_duration": 30,
    }
    assert handle.provider_call_id in api.calls_by_id


def test_a_task_a_voicemail_message_and_the_playbooks_data_fields_travel(api):
    request = _request(
        provider={"connection_id": "c1", "from_number": FROM, "task": "Renew Ada's plan."},
        voicemail_message="Call us back, Ada.",
        dispositions=(Disposition("call_back", Action.CALLBACK),),
        data_fields=(
            DataField("budget", DataType.NUMBER),
            DataField("callback_at", DataType.DATETIME),
        ),
    )
    _place(api, request, max_call_seconds=601)
    [sent] = api.sent
    body = sent.json()
    assert body["task"] == "Renew Ada's plan." and "pathway_id" not in body
    assert (body["voicemail_action"], body["voicemail_message"]) == (
        "leave_message",
        "Call us back, Ada.",
    )
    assert body["metadata"]["outbound_voicemail"] == "leave_message"
    assert body["analysis_schema"] == {
        "budget": "number",
        "callback_at": "YYYY-MM-DDTHH:MM:SSZ",
        "disposition": "string",
    }
    assert body["max_duration"] == 11  # minutes, rounded up


@pytest.mark.parametrize(
    "answer",
    [
        error(429, "Rate limit exceeded"),
        error(429, "Concurrent call limit reached"),
        error(500, "Internal server error"),
        Answer(503, b"<html>Service Unavailable</html>", "text/html"),
    ],
)
def test_a_rate_limit_a_concurrency_refusal_or_a_failure_leaves_the_attempt_unspent(api, answer):
    api.recorder.answers.append(answer)
    with pytest.raises(ProviderUnavailable, match=str(answer.status)):
        _place(api, _request())


def test_an_invalid_number_is_refused_with_blands_message(api):
    with pytest.raises(CallRejected, match="400: Invalid phone number"):
        _place(api, _request(to="12223334444"))


def test_blands_listed_errors_are_read(api):
    api.recorder.answers.append(
        Answer.json(
            400,
            {
                "data": None,
                "errors": [{"error": "INVALID_PATHWAY", "message": "Pathway not found"}],
            },
        )
    )
    with pytest.raises(CallRejected, match="400: Pathway not found"):
        _place(api, _request())


def test_a_call_bland_did_not_queue_is_refused_with_its_message(api):
    api.recorder.answers.append(Answer.json(200, {"status": "error", "message": "Out of credits"}))
    with pytest.raises(CallRejected, match="Out of credits"):
        _place(api, _request())


def test_a_wrong_api_key_is_refused(api):
    with pytest.raises(CallRejected, match="401: Invalid API key"):
        _place(api, _request(), api_key="wrong")


def test_bland_out_of_reach_leaves_the_attempt_unspent():
    with pytest.raises(ProviderUnavailable, match="unreachable"):
        _run("http://127.0.0.1:9", lambda adapter: adapter.place_call(_request()))


# Looking a call up


def _fetch(api: BlandApi, call_id: str) -> list[ProviderEvent]:
    return _run(api.url, lambda adapter: adapter.fetch_call(call_id))


def test_a_call_not_completed_shows_nothing(api):
    handle = _place(api, _request())
    assert _fetch(api, handle.provider_call_id) == []
    [lookup] = api.recorder.received("GET", "/v1/calls/")
    assert lookup.headers["authorization"] == API_KEY


def test_a_completed_call_shows_its_end_and_result(api):
    api.calls_by_id["call-1"] = call_details("call-1", analysis={"disposition": "call_back"})
    [event] = _fetch(api, "call-1")
    assert (event.kind, event.outcome, event.duration_s) == ("ended", Outcome.ANSWERED, 45)
    assert event.result is not None and event.result.disposition == "call_back"


def test_a_call_bland_does_not_know_has_failed(api):
    [event] = _fetch(api, "call-gone")
    assert (event.kind, event.outcome) == ("ended", Outcome.FAILED)


def test_a_lookup_bland_cannot_answer_is_unavailable(api):
    api.recorder.answers.append(error(502, "Bad gateway"))
    with pytest.raises(ProviderUnavailable, match="502"):
        _fetch(api, "call-1")


# Webhook signatures


def test_a_signed_webhook_is_accepted_again_and_again():
    adapter = BlandAdapter(_connection("http://127.0.0.1:9"))
    request = _webhook(call_details("call-1"))
    # No timestamp in Bland's scheme: a resent webhook is the same request.
    assert adapter.authenticate(request, NOW) is None
    assert adapter.authenticate(request, NOW) is None


@pytest.mark.parametrize(
    "request_",
    [
        _webhook(call_details("call-1"), secret="another"),
        CallbackRequest("POST", WEBHOOK_URL, "events", {}, encode(call_details("call-1"))),
        CallbackRequest(
            "POST", WEBHOOK_URL, "events", {"x-webhook-signature": ""}, encode(call_details("c"))
        ),
    ],
    ids=["wrong secret", "missing", "empty"],
)
def test_a_webhook_without_a_valid_signature_is_refused(request_):
    with pytest.raises(InvalidCallback):
        BlandAdapter(_connection("http://127.0.0.1:9")).authenticate(request_, NOW)


def test_a_body_changed_after_signing_is_refused():
    request = _webhook(call_details("call-1"))
    forged = CallbackRequest(
        "POST", WEBHOOK_URL, "events", dict(request.headers), request.body[:-1] + b" }"
    )
    with pytest.raises(InvalidCallback):
        BlandAdapter(_connection("http://127.0.0.1:9")).authenticate(forged, NOW)


# End reasons

ANSWERED_BY = ("human", "unknown", "voicemail", "no-answer")


def _call_ending(reason: str) -> dict[str, Any]:
    """Call details that end for ``reason``, a key of END_REASONS."""
    if reason in ANSWERED_BY:
        return call_details("call-1", answered_by=reason)
    if reason == "failed":
        return call_details("call-1", answered_by=None, queue_status=None, status="failed")
    return call_details("call-1", answered_by=None, queue_status=reason)


@pytest.mark.parametrize(("reason", "outcome"), END_REASONS.items())
def test_every_end_reason_gives_its_outcome(reason, outcome):
    [event] = _events(_call_ending(reason))
    assert (event.provider, event.provider_call_id, event.kind) == ("bland", "call-1", "ended")
    assert event.outcome == outcome


def test_who_answered_wins_over_the_queue_status():
    [event] = _events(call_details("call-1", answered_by="no-answer", queue_status="call_error"))
    assert (event.outcome, event.answered_by) == (Outcome.NO_ANSWER, "no-answer")


def test_a_failed_call_carries_blands_error_message():
    payload = call_details(
        "call-1", answered_by=None, queue_status="queue_error", error_message="Unserviced area"
    )
    [event] = _events(payload)
    assert (event.outcome, event.error) == (Outcome.FAILED, "Unserviced area")


def test_a_webhook_of_a_call_not_completed_reports_nothing():
    assert _events(call_details("call-1", completed=False)) == []


@pytest.mark.parametrize(
    "payload", [{"completed": True}, call_details("call-1") | {"transcripts": "none"}]
)
def test_a_body_that_is_not_a_call_is_malformed(payload):
    with pytest.raises(MalformedCallback):
        _events(payload)


# Results


def test_the_result_carries_the_transcript_summary_analysis_and_cost():
    analysis = {"disposition": "call_back", "callback_at": "2026-03-03T10:00:00Z", "budget": 1200}
    [event] = _events(call_details("call-1", analysis=analysis))
    result = event.result
    assert result is not None
    assert result.transcript == (
        Turn("contact", "Hello?", 1.0),
        Turn("agent", "Hi Ada, it's Blandie about your renewal.", 2.5),
        Turn("contact", "Call me tomorrow at ten.", 6.25),
    )
    assert result.summary == "Ada asked to be called back tomorrow at ten."
    assert result.data == analysis
    assert result.disposition == "call_back"
    assert result.callback_at == datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
    assert result.cost == Cost(0.068, "USD")
    assert result.recording_url == "https://server.aws.dialinginfo.com/call-1.mp3"
    assert result.ended_reason == "USER"
    assert (result.voicemail_left, result.success, result.truncated) == (None, None, False)


def test_a_pathways_extracted_variables_give_the_disposition_without_an_analysis():
    variables = {"disposition": "not_interested", "callback_at": "2026-03-04T08:00:00"}
    [event] = _events(call_details("call-1", variables=variables))
    result = event.result
    assert result is not None and result.data is None
    assert result.disposition == "not_interested"
    assert result.callback_at == datetime(2026, 3, 4, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(("left", "voicemail_left"), [("leave_message", True), ("hangup", False)])
def test_a_voicemail_says_whether_the_message_was_left(left, voicemail_left):
    payload = call_details("call-1", answered_by="voicemail", metadata={"outbound_voicemail": left})
    [event] = _events(payload)
    assert event.outcome == Outcome.VOICEMAIL
    assert event.result is not None and event.result.voicemail_left is voicemail_left


def test_an_oversized_transcript_is_cut_and_marked():
    lines = [
        ("user", f"line {n}", "2024-04-27T23:51:26+00:00") for n in range(TRANSCRIPT_MAX_TURNS + 3)
    ]
    [event] = _events(call_details("call-1", transcripts=lines))
    result = event.result
    assert result is not None and result.truncated is True
    assert len(result.transcript) == TRANSCRIPT_MAX_TURNS
