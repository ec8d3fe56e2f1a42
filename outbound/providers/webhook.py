"""The webhook provider: outbound POSTs each call to your own agent runtime.

For teams that run their own voice agent (LiveKit Agents, Pipecat, a SIP stack). Each attempt
is one signed POST to ``OUTBOUND_WEBHOOK_PROVIDER_URL``::

    {"call_id", "attempt", "to", "from", "playbook": {...}, "variables": {...}}

with ``X-Outbound-Signature: t=<unix>,v1=<hex HMAC-SHA256("<t>.<body>")>`` and
``Idempotency-Key: <call_id>:<attempt>``. The runtime answers 2xx with
``{"provider_call_id": "..."}`` and later reports the call's events, signed the same way, to
``POST /provider/webhook/events``.
"""

import json
from typing import Any

import httpx

from outbound.clock import utcnow
from outbound.providers.base import CallHandle, CallRequest, Provider
from outbound.providers.errors import CallRejected, ProviderUnavailable
from outbound.signing import SIGNATURE_HEADER, sign


class WebhookProvider(Provider):
    name = "webhook"

    def __init__(
        self,
        url: str,
        secret: str,
        max_call_seconds: float,
        timeout_seconds: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._url = url
        self._secret = secret
        self._max_call_seconds = max_call_seconds
        self._client = httpx.AsyncClient(timeout=timeout_seconds, transport=transport)

    @property
    def max_call_seconds(self) -> float:
        return self._max_call_seconds

    def payload(self, request: CallRequest) -> dict[str, Any]:
        return {
            "call_id": str(request.call_id),
            "attempt": request.attempt_number,
            "to": request.to,
            "from": request.from_,
            "playbook": request.playbook.to_json(),
            "variables": dict(request.variables),
        }

    async def place_call(self, request: CallRequest) -> CallHandle:
        body = json.dumps(self.payload(request), default=str).encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self._secret, int(utcnow().timestamp()), body),
            "Idempotency-Key": request.idempotency_key,
        }
        try:
            response = await self._client.post(self._url, content=body, headers=headers)
        except httpx.TransportError as exc:
            raise ProviderUnavailable(f"agent runtime unreachable: {exc!r}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise ProviderUnavailable(f"agent runtime answered {response.status_code}")
        if response.status_code >= 300:
            raise CallRejected(f"agent runtime refused the call: {response.status_code}")
        try:
            provider_call_id = response.json()["provider_call_id"]
        except (ValueError, KeyError, TypeError) as exc:
            raise CallRejected("agent runtime answered without a provider_call_id") from exc
        if not isinstance(provider_call_id, str) or not provider_call_id:
            raise CallRejected("agent runtime answered with an empty provider_call_id")
        return CallHandle(provider_call_id)

    async def aclose(self) -> None:
        await self._client.aclose()
