"""Your own agent runtime, through a ``webhook`` provider connection: the webhook provider of
``outbound.providers.webhook``, with the connection's ``url`` and ``secret`` instead of
``OUTBOUND_WEBHOOK_PROVIDER_URL`` and ``_SECRET``.

Each attempt is the same signed POST of the call to the runtime (``post_call``), and the
runtime reports the call's events, the same JSON signed the same way (an ``ended`` event may
carry its ``result``), to the connection's ``webhook_url`` instead of
``/provider/webhook/events``. There the answer is ``204``, as to every connection's webhook.
"""

from datetime import datetime

import httpx

from outbound.domain.connections import ConnectionType
from outbound.providers.base import CallHandle, CallRequest
from outbound.providers.callbacks import CallbackRequest, ProviderEvent
from outbound.providers.errors import LookupUnsupported
from outbound.providers.platforms.base import Connection, PlatformAdapter
from outbound.providers.webhook import WebhookCallbacks, post_call


class WebhookAdapter(PlatformAdapter):
    type = ConnectionType.WEBHOOK
    default_api_base_url = ""  # the runtime's address is the connection's ``url`` credential

    def __init__(self, connection: Connection, http: httpx.AsyncClient | None = None) -> None:
        super().__init__(connection, http)
        self._callbacks = WebhookCallbacks(connection.credentials["secret"])

    async def place_call(self, request: CallRequest) -> CallHandle:
        credentials = self.connection.credentials
        return await post_call(self._http, credentials["url"], credentials["secret"], request)

    async def fetch_call(self, provider_call_id: str) -> list[ProviderEvent]:
        """A runtime has no API to look a call up: an attempt whose end never arrives is
        declared lost by the lease rule when it runs out, as with the webhook provider."""
        raise LookupUnsupported("an agent runtime cannot be asked about its calls")

    def authenticate(self, request: CallbackRequest, now: datetime) -> str:
        return self._callbacks.authenticate(request, now)

    def parse_callback(self, request: CallbackRequest) -> list[ProviderEvent]:
        return self._callbacks.parse_callback(request)
