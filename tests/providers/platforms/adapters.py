"""What the platform adapters' tests share: a connection, a call to place, an adapter run in an
event loop of its own, and a webhook as outbound receives it."""

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from outbound.domain.connections import ConnectionType
from outbound.providers.base import CallRequest, PlaybookSnapshot
from outbound.providers.callbacks import CallbackRequest, ProviderEvent
from outbound.providers.platforms.base import Connection, PlatformAdapter

UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing answers there
EVENTS_URL = "https://outbound.example.com/provider/connection/c1/events"
CONTACT = "+14155550142"

Adapter = TypeVar("Adapter", bound=PlatformAdapter)
T = TypeVar("T")


WEBHOOK_URL = "https://outbound.example.com/provider/connection/c1/events"


def connection(
    type: ConnectionType,
    credentials: Mapping[str, str],
    webhook_url: str = WEBHOOK_URL,
    **settings: Any,
) -> Connection:
    return Connection(
        id=uuid.uuid4(),
        account_id=uuid.uuid4(),
        type=type,
        name=type.value,
        credentials=dict(credentials),
        settings=settings,
        webhook_url=webhook_url,
    )


def call_request(
    provider: Mapping[str, Any],
    *,
    attempt: int = 1,
    to: str = CONTACT,
    from_: str | None = None,
    variables: Mapping[str, Any] | None = None,
    **playbook: Any,
) -> CallRequest:
    """An attempt of a playbook named "Renewals" whose ``provider`` is given."""
    return CallRequest(
        call_id=uuid.uuid4(),
        attempt_number=attempt,
        to=to,
        from_=from_,
        playbook=PlaybookSnapshot(
            id=uuid.uuid4(), name="Renewals", provider=dict(provider), **playbook
        ),
        variables=dict(variables or {}),
    )


def run(adapter: Adapter, use: Callable[[Adapter], Awaitable[T]]) -> T:
    """``use(adapter)`` in an event loop of its own, the adapter closed afterwards."""

    async def go() -> T:
        try:
            return await use(adapter)
        finally:
            await adapter.aclose()

    return asyncio.run(go())


def callback(body: bytes | Mapping[str, Any], headers: Mapping[str, str]) -> CallbackRequest:
    """A webhook posted to a connection's events address (a mapping is sent as JSON)."""
    return CallbackRequest(
        "POST",
        EVENTS_URL,
        "events",
        {name.lower(): value for name, value in headers.items()},
        body if isinstance(body, bytes) else json.dumps(body).encode(),
    )


def received(
    adapter: PlatformAdapter, request: CallbackRequest, now: datetime
) -> list[ProviderEvent]:
    """The events of a webhook the adapter authenticates (``InvalidCallback`` otherwise)."""
    adapter.authenticate(request, now)
    return adapter.parse_callback(request)
