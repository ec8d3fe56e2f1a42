"""The webhook provider placing calls, against a runtime played by ``httpx.MockTransport``."""

import asyncio
import json
import time
import uuid
from collections.abc import Callable

import httpx
import pytest

from outbound.providers.base import CallHandle, CallRequest, PlaybookSnapshot
from outbound.providers.errors import CallRejected, ProviderUnavailable
from outbound.providers.webhook import WebhookProvider
from outbound.signing import SIGNATURE_HEADER, verify

SECRET = "runtime-secret"
URL = "https://runtime.example.com/calls"

Handler = Callable[[httpx.Request], httpx.Response]


def _request(attempt: int = 1) -> CallRequest:
    return CallRequest(
        call_id=uuid.uuid4(),
        attempt_number=attempt,
        to="+14155550170",
        from_="+14155550123",
        playbook=PlaybookSnapshot(id=uuid.uuid4(), name="Renewals", first_message="Hi Ada"),
        variables={"first_name": "Ada", "custom": {"plan": "pro"}},
    )


def _place(handler: Handler, request: CallRequest) -> CallHandle:
    async def place() -> CallHandle:
        provider = WebhookProvider(
            URL, SECRET, max_call_seconds=600, transport=httpx.MockTransport(handler)
        )
        try:
            return await provider.place_call(request)
        finally:
            await provider.aclose()

    return asyncio.run(place())


def test_a_call_is_one_signed_post_with_an_idempotency_key():
    sent: list[httpx.Request] = []

    def runtime(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(201, json={"provider_call_id": "rt-42"})

    request = _request(attempt=2)
    assert _place(runtime, request) == CallHandle("rt-42")
    [post] = sent
    assert post.method == "POST" and str(post.url) == URL
    assert post.headers["idempotency-key"] == f"{request.call_id}:2"
    verify(SECRET, post.headers[SIGNATURE_HEADER], post.content, time.time())
    assert json.loads(post.content) == {
        "call_id": str(request.call_id),
        "attempt": 2,
        "to": "+14155550170",
        "from": "+14155550123",
        "playbook": {
            "id": str(request.playbook.id),
            "name": "Renewals",
            "first_message": "Hi Ada",
            "instructions": None,
            "voice": None,
            "language": None,
            "voicemail_message": None,
            "dispositions": [],
            "data_fields": [],
        },
        "variables": {"first_name": "Ada", "custom": {"plan": "pro"}},
    }


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_a_runtime_failing_or_throttling_is_unavailable(status):
    with pytest.raises(ProviderUnavailable, match=str(status)):
        _place(lambda _: httpx.Response(status), _request())


def test_a_runtime_that_cannot_be_reached_is_unavailable():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(ProviderUnavailable, match="unreachable"):
        _place(refuse, _request())


@pytest.mark.parametrize("status", [400, 404, 422, 301])
def test_a_refusal_rejects_the_call(status):
    with pytest.raises(CallRejected, match=str(status)):
        _place(lambda _: httpx.Response(status), _request())


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, content=b"not json"),
        httpx.Response(200, json={}),
        httpx.Response(200, json=["rt-42"]),
        httpx.Response(200, json={"provider_call_id": ""}),
        httpx.Response(200, json={"provider_call_id": 42}),
    ],
)
def test_an_answer_without_a_call_id_rejects_the_call(answer):
    with pytest.raises(CallRejected, match="provider_call_id"):
        _place(lambda _: answer, _request())
