"""One provider for the dispatcher that places each call where its playbook says: through the
server's own provider (``OUTBOUND_TELEPHONY``), or through the agent platform of the playbook's
provider connection.

Adapters are built once per connection, from the connection as ``load`` reads it (its
credentials decrypted), and kept while the process runs. A connection that is down backs off
alone: once its platform could not take a call, the next calls of that connection are released
at once (``ProviderUnavailable``, the attempts not spent) until its backoff has passed, while
the calls of other connections go on.
"""

import asyncio
from collections.abc import Awaitable, Callable
from uuid import UUID

from outbound.clock import SYSTEM_CLOCK, Clock
from outbound.domain.backoff import provider_backoff
from outbound.providers.base import CallHandle, CallRequest, Provider
from outbound.providers.callbacks import ProviderEvent
from outbound.providers.errors import ProviderUnavailable
from outbound.providers.platforms.base import Connection, PlatformAdapter
from outbound.providers.platforms.registry import ADAPTERS

LoadConnection = Callable[[UUID], Awaitable[Connection | None]]


def connection_of(request: CallRequest) -> UUID | None:
    provider = request.playbook.provider
    return UUID(str(provider["connection_id"])) if provider else None


class ProviderRouter(Provider):
    """The server's provider, and the adapters of the connections that playbooks name."""

    def __init__(
        self,
        default: Provider,
        load: LoadConnection,
        retry_seconds: float = 5.0,
        retry_max_seconds: float = 300.0,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.default = default
        self.name = default.name
        self._load = load
        self._adapters: dict[UUID, PlatformAdapter] = {}
        self._building: dict[UUID, asyncio.Lock] = {}
        self._failures: dict[UUID, int] = {}
        self._down_until: dict[UUID, float] = {}
        self._retry_seconds = retry_seconds
        self._retry_max_seconds = retry_max_seconds
        self._clock = clock

    @property
    def max_call_seconds(self) -> float:
        return self.default.max_call_seconds

    def max_call_seconds_of(self, request: CallRequest) -> float:
        """How long this request's call may last (its connection's, or the server's)."""
        connection_id = connection_of(request)
        adapter = self._adapters.get(connection_id) if connection_id else None
        return adapter.max_call_seconds if adapter else self.default.max_call_seconds

    def places_at_once(self, request: CallRequest) -> bool:
        return connection_of(request) is None and self.default.places_at_once(request)

    async def place_call(self, request: CallRequest) -> CallHandle:
        connection_id = connection_of(request)
        if connection_id is None:
            return await self.default.place_call(request)
        if self._clock.monotonic() < self._down_until.get(connection_id, 0.0):
            raise ProviderUnavailable("the connection's platform is backing off")
        adapter = await self.adapter(connection_id)
        try:
            handle = await adapter.place_call(request)
        except ProviderUnavailable:
            failures = self._failures.get(connection_id, 0)
            self._failures[connection_id] = failures + 1
            pause = provider_backoff(failures, self._retry_seconds, self._retry_max_seconds)
            self._down_until[connection_id] = self._clock.monotonic() + pause.total_seconds()
            raise
        self._failures.pop(connection_id, None)
        return handle

    async def fetch_call(self, connection_id: UUID, provider_call_id: str) -> list[ProviderEvent]:
        """The platform's word on a call whose end never arrived."""
        return await (await self.adapter(connection_id)).fetch_call(provider_call_id)

    async def adapter(self, connection_id: UUID) -> PlatformAdapter:
        """The connection's adapter, built on first use. Raises ``ProviderUnavailable`` when
        the connection cannot be read (e.g. the server lacks its key)."""
        adapter = self._adapters.get(connection_id)
        if adapter is not None:
            return adapter
        lock = self._building.setdefault(connection_id, asyncio.Lock())
        async with lock:
            adapter = self._adapters.get(connection_id)
            if adapter is None:
                try:
                    connection = await self._load(connection_id)
                except Exception as exc:
                    raise ProviderUnavailable(
                        f"the provider connection cannot be read: {type(exc).__name__}"
                    ) from exc
                if connection is None:
                    raise ProviderUnavailable(f"no provider connection {connection_id}")
                adapter = ADAPTERS[connection.type](connection)
                self._adapters[connection_id] = adapter
        return adapter

    async def aclose(self) -> None:
        try:
            await self.default.aclose()
        finally:
            for adapter in self._adapters.values():
                await adapter.aclose()
            self._adapters.clear()
