"""What every agent platform adapter does, for one provider connection.

An adapter is built from a ``Connection`` (the account's decrypted credentials and its
settings, ``api_base_url`` among them) and serves every playbook that names the connection.
The connection also carries its ``webhook_url`` (``OUTBOUND_PUBLIC_URL`` +
``/provider/connection/{id}/events``, filled in by ``services.provider_connections``): the
address a platform that takes one per call (Bland, Twilio) is given, and the one a platform
that signs the address it called (Twilio) signed. The adapter speaks the platform's documented
HTTP API and nothing else:

- ``place_call``: the platform's create-call request, with the playbook's rendered texts and
  the contact's variables where the platform takes them, and the attempt's idempotency key
  where it takes one. A rate limit or concurrency refusal raises ``ProviderUnavailable`` (the
  attempt is not spent, the connection backs off); a refused call (invalid number, unknown
  agent) raises ``CallRejected`` with the platform's message (the attempt fails).
- ``fetch_call``: the platform's get-call request, for an attempt whose end never arrived:
  the events the platform's record of the call shows (an ``ended`` with its result), or none
  while the call is still going on.
- ``authenticate`` and ``parse_callback``: the platform's webhooks, verified by its own
  signature scheme (``InvalidCallback`` otherwise) and turned into ``ProviderEvent``s, each
  end reason mapped to an outcome by the adapter's one table (``END_REASONS``).
"""

import abc
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

import httpx

from outbound.domain.connections import ConnectionType
from outbound.providers.base import CallHandle, CallRequest
from outbound.providers.callbacks import CallbackRequest, ProviderEvent

DEFAULT_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Connection:
    """An account's connection to a platform, its credentials decrypted."""

    id: UUID
    account_id: UUID
    type: ConnectionType
    name: str
    credentials: Mapping[str, str]
    settings: Mapping[str, Any]
    webhook_url: str  # where the platform posts this connection's call webhooks

    def __repr__(self) -> str:  # never the credentials
        return f"Connection(id={self.id}, type={self.type.value}, name={self.name!r})"

    def api_base_url(self, default: str) -> str:
        return str(self.settings.get("api_base_url") or default).rstrip("/")


class PlatformAdapter(abc.ABC):
    type: ClassVar[ConnectionType]
    default_api_base_url: ClassVar[str]

    def __init__(self, connection: Connection, http: httpx.AsyncClient | None = None) -> None:
        self.connection = connection
        self.base_url = connection.api_base_url(self.default_api_base_url)
        self._http = http or httpx.AsyncClient(timeout=DEFAULT_TIMEOUT_SECONDS)

    @property
    def max_call_seconds(self) -> float:
        """The longest a call may last before its end must have been reported."""
        return float(self.connection.settings.get("max_call_seconds", 1800))

    @abc.abstractmethod
    async def place_call(self, request: CallRequest) -> CallHandle:
        """Create the call on the platform; ``request.playbook.provider`` holds the playbook's
        fields of this platform (assistant_id, agent_id, from_number...)."""

    @abc.abstractmethod
    async def fetch_call(self, provider_call_id: str) -> list[ProviderEvent]:
        """The call as the platform's get-call API shows it: its end and result once it has
        ended, else nothing."""

    @abc.abstractmethod
    def authenticate(self, request: CallbackRequest, now: datetime) -> str | None:
        """Verify a webhook by the platform's scheme; return its replay key (or None when the
        platform may send the same request twice). Raises ``InvalidCallback``."""

    @abc.abstractmethod
    def parse_callback(self, request: CallbackRequest) -> list[ProviderEvent]:
        """The events a verified webhook reports (possibly none: a type outbound ignores).
        Raises ``MalformedCallback`` when the body is not the platform's webhook."""

    async def aclose(self) -> None:
        await self._http.aclose()
