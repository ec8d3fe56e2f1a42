"""The webhook adapter of a ``webhook`` connection, against the agent runtime stand-in: the call
posted to the connection's ``url``, signed with its ``secret``; the runtime's events, the same
JSON as ``/provider/webhook/events``, verified with that secret."""

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest

from outbound.domain.connections import ConnectionType
from outbound.domain.results import Cost
from outbound.domain.statuses import Outcome
from outbound.providers.base import CallRequest, PlaybookSnapshot
from outbound.providers.callbacks import CallbackRequest, ProviderEvent
from outbound.providers.errors import (
    CallRejected,
    InvalidCallback,
    LookupUnsupported,
    MalformedCallback,
    ProviderUnavailable,
)
from outbound.providers.platforms.base import Connection
from outbound.providers.platforms.registry import ADAPTERS
from outbound.providers.platforms.webhook import WebhookAdapter
from outbound.signing import SIGNATURE_HEADER, sign, verify
from tests import servers
from tests.providers.agent_runtime import AgentRuntime, running

SECRET = "connection-runtime-secret"
WEBHOOK_URL = "https://outbound.example.com/provider/connection/c1/events"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
T = TypeVar("T")


@pytest.fixture
def runtime() -> Iterator[AgentRuntime]:
    with running(AgentRuntime(SECRET)) as stand_in:
        yield stand_in


def _adapter(url: str = "http://127.0.0.1:9/calls", secret: str = SECRET) -> WebhookAdapter:
    connection = Connection(
        id=uuid.uuid4(),
        account_id=uuid.uuid4(),
        type=ConnectionType.WEBHOOK,
        name="Our runtime",
        credentials={"url": url, "secret": secret},
        settings={},
        webhook_url=WEBHOOK_URL,
    )
    return WebhookAdapter(connection)


def _request(attempt: int = 1) -> CallRequest:
    return CallRequest(
        call_id=uuid.uuid4(),
        attempt_number=attempt,
        to="+14155550170",
        from_="+14155550123",
        playbook=PlaybookSnapshot(
            id=uuid.uuid4(),
            name="Renewals",
            first_message="Hi Ada",
            provider={"connection_id": str(uuid.uuid4())},
        ),
        variables={"first_name": "Ada", "custom": {"plan": "pro"}},
    )


def _run(adapter: WebhookAdapter, use: Callable[[WebhookAdapter], Awaitable[T]]) -> T:
    async def go() -> T:
        try:
            return await use(adapter)
        finally:
            await adapter.aclose()

    return asyncio.run(go())


def _place(url: str, request: CallRequest, secret: str = SECRET) -> str:
    handle = _run(_adapter(url, secret), lambda adapter: adapter.place_call(request))
    return handle.provider_call_id


def _event(body: dict[str, Any] | bytes, secret: str = SECRET) -> CallbackRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    signature = sign(secret, int(NOW.timestamp()), raw)
    headers = {"content-type": "application/json", SIGNATURE_HEADER.lower(): signature}
    return CallbackRequest("POST", WEBHOOK_URL, "events", headers, raw)


def test_the_adapter_of_webhook_connections_is_registered():
    assert ADAPTERS[ConnectionType.WEBHOOK] is WebhookAdapter


def test_a_call_is_one_signed_post_to_the_connections_runtime(runtime):
    request = _request(attempt=2)
    assert _place(runtime.url, request) == runtime.provider_call_ids[0]
    [payload], [headers] = runtime.calls, runtime.headers
    verify(SECRET, headers[SIGNATURE_HEADER.lower()], json.dumps(payload).encode(), time.time())
    assert headers["idempotency-key"] == f"{request.call_id}:2"
    assert payload["call_id"] == str(request.call_id) and payload["attempt"] == 2
    assert (payload["to"], payload["from"]) == ("+14155550170", "+14155550123")
    assert payload["playbook"]["first_message"] == "Hi Ada"
    assert "provider" not in payload["playbook"]  # the connection is outbound's business
    assert payload["variables"] == {"first_name": "Ada", "custom": {"plan": "pro"}}


@pytest.mark.parametrize("status", [429, 503])
def test_a_runtime_throttling_or_down_leaves_the_attempt_unspent(runtime, status):
    runtime.unavailable, runtime.unavailable_status = 1, status
    with pytest.raises(ProviderUnavailable, match=str(status)):
        _place(runtime.url, _request())
    assert runtime.calls == []


def test_a_runtime_refusing_the_call_rejects_it(runtime):
    with pytest.raises(CallRejected, match="401"):
        _place(runtime.url, _request(), secret="not-the-runtimes-secret")
    assert runtime.rejected_signatures == 1


def test_a_runtime_that_cannot_be_reached_is_unavailable():
    with pytest.raises(ProviderUnavailable, match="unreachable"):
        _place(f"http://127.0.0.1:{servers.free_port()}/calls", _request())


def test_a_runtime_cannot_be_asked_about_a_call():
    with pytest.raises(LookupUnsupported):  # the lease rule decides
        _run(_adapter(), lambda adapter: adapter.fetch_call("rt-1"))


def test_an_event_signed_with_the_secret_is_read_with_its_result():
    event = {
        "provider_call_id": "rt-7",
        "event": "ended",
        "outcome": "answered",
        "duration_s": 61.5,
        "result": {"disposition": "renewed", "cost": {"amount": 0.08, "currency": "USD"}},
    }
    adapter = _adapter()
    request = _event(event)
    assert adapter.authenticate(request, NOW) == request.header(SIGNATURE_HEADER)  # single use
    [ended] = adapter.parse_callback(request)
    assert (ended.provider, ended.provider_call_id, ended.kind) == ("webhook", "rt-7", "ended")
    assert (ended.outcome, ended.duration_s) == (Outcome.ANSWERED, 61.5)
    assert ended.result is not None and ended.result.disposition == "renewed"
    assert ended.result.cost == Cost(0.08, "USD")


def test_an_event_signed_with_another_secret_is_refused():
    request = _event({"provider_call_id": "rt-7", "event": "ringing"}, secret="another")
    with pytest.raises(InvalidCallback):
        _adapter().authenticate(request, NOW)


def test_progress_is_read_and_a_malformed_event_named():
    adapter = _adapter()
    ringing = _event({"provider_call_id": "rt-7", "event": "ringing"})
    assert adapter.parse_callback(ringing) == [ProviderEvent("webhook", "rt-7", "ringing")]
    with pytest.raises(MalformedCallback) as refused:
        adapter.parse_callback(_event({"provider_call_id": "rt-7", "event": "ended"}))
    assert refused.value.errors == [{"field": "outcome", "reason": "required"}]
