"""Twilio, through a ``twilio`` provider connection: the Twilio provider of
``outbound.providers.twilio``, with the connection's account instead of the server's settings.

Documentation followed:

- Create a Call, ``POST /2010-04-01/Accounts/{AccountSid}/Calls.json``, and Fetch a Call,
  ``GET /2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json``:
  https://www.twilio.com/docs/voice/api/call-resource
- status callbacks and their signature (``X-Twilio-Signature``, HMAC-SHA1 of the URL called
  and the form's parameters with the auth token): https://www.twilio.com/docs/usage/security

Everything about Twilio is the provider's (``TwilioAccount`` creates and looks up calls, and
translates Twilio's errors; ``TwilioCallbacks`` verifies and reads its callbacks); what a
connection changes is where each setting comes from:

| what | ``OUTBOUND_TELEPHONY=twilio`` | a connection |
|---|---|---|
| account | ``OUTBOUND_TWILIO_ACCOUNT_SID``, ``_AUTH_TOKEN`` | ``account_sid``, ``auth_token`` |
| TwiML | ``OUTBOUND_TWILIO_TWIML_URL`` | the playbook's ``provider.twiml_url`` |
| callbacks to | ``/provider/twilio/status`` | the connection's ``webhook_url`` |
| API address | ``OUTBOUND_TWILIO_API_BASE_URL`` | ``settings.api_base_url`` |

Either way ``?call_id=&attempt=`` is appended to the TwiML URL, the playbook's ``caller_id`` is
``From``, and the callbacks are mapped by the provider's table. On a connection the call rings
for ``RING_TIMEOUT_SECONDS`` and may talk for the rest of the connection's
``max_call_seconds`` (``TimeLimit``), so the whole call fits in its lease. A call whose last
callback never came is looked up with Fetch a Call and mapped as its callback would be.
"""

from datetime import datetime

import httpx

from outbound.domain.connections import ConnectionType
from outbound.providers.base import CallHandle, CallRequest
from outbound.providers.callbacks import CallbackRequest, ProviderEvent
from outbound.providers.platforms import conventions
from outbound.providers.platforms.base import Connection, PlatformAdapter
from outbound.providers.twilio import TwilioAccount, TwilioCallbacks

API_BASE_URL = "https://api.twilio.com"
RING_TIMEOUT_SECONDS = 30  # as OUTBOUND_RING_TIMEOUT_SECONDS by default
MIN_TIME_LIMIT_SECONDS = 1


class TwilioAdapter(PlatformAdapter):
    type = ConnectionType.TWILIO
    default_api_base_url = API_BASE_URL

    def __init__(self, connection: Connection, http: httpx.AsyncClient | None = None) -> None:
        super().__init__(connection, http)
        credentials = connection.credentials
        # The SDK knows Twilio's hosts: it is redirected only to a stand-in or a gateway.
        redirect = connection.settings.get("api_base_url")
        self._account = TwilioAccount(
            credentials["account_sid"],
            credentials["auth_token"],
            api_base_url=str(redirect) if redirect else None,
        )
        self._callbacks = TwilioCallbacks(credentials["auth_token"])

    @property
    def time_limit_seconds(self) -> int:
        """Twilio's ``TimeLimit``: what is left of the call's longest once it has rung."""
        return max(MIN_TIME_LIMIT_SECONDS, int(self.max_call_seconds - RING_TIMEOUT_SECONDS))

    async def place_call(self, request: CallRequest) -> CallHandle:
        fields = conventions.provider_fields(request, "Twilio", "twiml_url")
        return await self._account.create_call(
            request,
            fields["twiml_url"],
            self.connection.webhook_url,
            RING_TIMEOUT_SECONDS,
            self.time_limit_seconds,
        )

    async def fetch_call(self, provider_call_id: str) -> list[ProviderEvent]:
        return await self._account.fetch_call(provider_call_id)

    def authenticate(self, request: CallbackRequest, now: datetime) -> None:
        # Signed against the URL Twilio called: the connection's webhook_url.
        self._callbacks.authenticate(request, now)

    def parse_callback(self, request: CallbackRequest) -> list[ProviderEvent]:
        return self._callbacks.parse_callback(request)

    async def aclose(self) -> None:
        self._account.close()
        await super().aclose()
