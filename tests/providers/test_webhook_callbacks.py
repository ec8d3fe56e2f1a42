"""Your agent runtime's events as ``WebhookCallbacks`` reads them (README, "Webhook provider")."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from outbound.domain.statuses import Outcome
from outbound.providers.callbacks import CallbackRequest, ProviderEvent
from outbound.providers.errors import InvalidCallback, MalformedCallback
from outbound.providers.webhook import Recorded, WebhookCallbacks, WebhookProvider
from outbound.signing import SIGNATURE_HEADER, TOLERANCE_SECONDS, sign

SECRET = "runtime-secret"
URL = "https://outbound.example.com/provider/webhook/events"
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def event_request(
    event: dict[str, Any] | bytes, secret: str = SECRET, at: datetime = NOW
) -> CallbackRequest:
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    signature = sign(secret, int(at.timestamp()), body)
    headers = {"content-type": "application/json", SIGNATURE_HEADER.lower(): signature}
    return CallbackRequest("POST", URL, "events", headers, body)


def parsed(event: dict[str, Any]) -> list[ProviderEvent]:
    receiver = WebhookCallbacks(SECRET)
    request = event_request(event)
    receiver.authenticate(request, NOW)
    return receiver.parse_callback(request)


# Signatures


def test_a_signed_event_is_accepted_once_by_its_signature():
    request = event_request({"provider_call_id": "rt-42", "event": "ringing"})
    replay_key = WebhookCallbacks(SECRET).authenticate(request, NOW)
    assert replay_key == request.header(SIGNATURE_HEADER)


@pytest.mark.parametrize("skew", [-TOLERANCE_SECONDS, TOLERANCE_SECONDS])
def test_a_signature_within_five_minutes_is_good(skew):
    request = event_request({"provider_call_id": "rt-42", "event": "ringing"})
    assert WebhookCallbacks(SECRET).authenticate(request, NOW + timedelta(seconds=skew))


@pytest.mark.parametrize("skew", [-TOLERANCE_SECONDS - 1, TOLERANCE_SECONDS + 1, 3600])
def test_a_stale_signature_is_invalid(skew):
    request = event_request({"provider_call_id": "rt-42", "event": "ringing"})
    with pytest.raises(InvalidCallback, match="stale"):
        WebhookCallbacks(SECRET).authenticate(request, NOW + timedelta(seconds=skew))


def test_a_signature_made_with_another_secret_is_invalid():
    request = event_request({"provider_call_id": "rt-42", "event": "ringing"}, secret="other")
    with pytest.raises(InvalidCallback, match="does not match"):
        WebhookCallbacks(SECRET).authenticate(request, NOW)


@pytest.mark.parametrize(
    ("headers", "reason"),
    [({}, "missing"), ({"x-outbound-signature": "v1=abc"}, "malformed")],
)
def test_a_missing_or_malformed_signature_is_invalid(headers, reason):
    request = CallbackRequest("POST", URL, "events", headers, b"{}")
    with pytest.raises(InvalidCallback, match=reason):
        WebhookCallbacks(SECRET).authenticate(request, NOW)


def test_a_tampered_body_breaks_the_signature():
    signed = event_request({"provider_call_id": "rt-42", "event": "ended", "outcome": "busy"})
    tampered = json.dumps({"provider_call_id": "rt-42", "event": "ended", "outcome": "answered"})
    request = CallbackRequest("POST", URL, "events", signed.headers, tampered.encode())
    with pytest.raises(InvalidCallback):
        WebhookCallbacks(SECRET).authenticate(request, NOW)


# Events


@pytest.mark.parametrize("kind", ["ringing", "answered"])
def test_progress(kind):
    assert parsed({"provider_call_id": "rt-42", "event": kind}) == [
        ProviderEvent("webhook", "rt-42", kind)
    ]


@pytest.mark.parametrize("outcome", list(Outcome))
def test_an_ended_event_with_each_outcome(outcome):
    event = {"provider_call_id": "rt-42", "event": "ended", "outcome": outcome.value}
    assert parsed({**event, "duration_s": 31.5}) == [
        ProviderEvent("webhook", "rt-42", "ended", outcome=outcome, duration_s=31.5)
    ]


def test_an_ended_event_with_every_field():
    event = {
        "provider_call_id": "rt-42",
        "event": "ended",
        "outcome": "answered",
        "duration_s": 12,
        "answered_by": "machine_start",
        "error": "hung up during the greeting",
    }
    assert parsed(event) == [
        ProviderEvent(
            "webhook",
            "rt-42",
            "ended",
            outcome=Outcome.ANSWERED,
            duration_s=12.0,
            answered_by="machine_start",
            error="hung up during the greeting",
        )
    ]


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"provider_call_id": "rt-42", "event": "ended"}, "outcome"),
        ({"provider_call_id": "rt-42", "event": "ended", "outcome": None}, "outcome"),
        ({"provider_call_id": "rt-42", "event": "?"}, "event"),
        ({"provider_call_id": "rt-42"}, "event"),
        ({"provider_call_id": "", "event": "ringing"}, "provider_call_id"),
        ({"provider_call_id": "x" * 129, "event": "ringing"}, "provider_call_id"),
        ({"event": "ringing"}, "provider_call_id"),
        ({"provider_call_id": "rt-42", "event": "ended", "outcome": "hung_up"}, "outcome"),
        ({"provider_call_id": "rt-42", "event": "answered", "duration_s": -1}, "duration_s"),
        (
            {"provider_call_id": "rt-42", "event": "answered", "answered_by": "m" * 33},
            "answered_by",
        ),
    ],
)
def test_an_invalid_event_names_its_field(event, field):
    with pytest.raises(MalformedCallback) as raised:
        parsed(event)
    assert field in [error["field"] for error in raised.value.errors]


@pytest.mark.parametrize("body", [b"", b"not json", b"[]", b'"ringing"'])
def test_a_body_that_is_not_an_event_is_malformed(body):
    receiver = WebhookCallbacks(SECRET)
    request = event_request(body)
    assert receiver.authenticate(request, NOW)  # signed, but not an event
    with pytest.raises(MalformedCallback) as raised:
        receiver.parse_callback(request)
    assert raised.value.errors


# The answer


def test_the_answer_says_whether_the_event_was_new():
    receiver = WebhookCallbacks(SECRET)
    request = event_request({"provider_call_id": "rt-42", "event": "ringing"})
    assert receiver.acknowledge(request, [True]) == Recorded(recorded=True)
    assert receiver.acknowledge(request, [False]) == Recorded(recorded=False)


def test_the_provider_declares_its_receiver():
    assert WebhookProvider.callbacks is WebhookCallbacks
    [route] = WebhookCallbacks.routes
    assert (WebhookCallbacks.name, route.path) == ("webhook", "events")
    assert route.reply_model is Recorded and route.media_type == "application/json"
