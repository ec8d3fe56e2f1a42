"""The webhook provider: outbound POSTs each call to your own agent runtime.

For teams that run their own voice agent (LiveKit Agents, Pipecat, a SIP stack). Each attempt
is one signed POST to ``OUTBOUND_WEBHOOK_PROVIDER_URL``::

    {"call_id", "attempt", "to", "from", "playbook": {...}, "variables": {...}}

with ``X-Outbound-Signature: t=<unix>,v1=<hex HMAC-SHA256("<t>.<body>")>`` and
``Idempotency-Key: <call_id>:<attempt>``. The runtime answers 2xx with
``{"provider_call_id": "..."}`` and later reports the call's events, signed the same way, to
``POST /provider/webhook/events`` (``WebhookCallbacks``)::

    {"provider_call_id": "rt-42", "event": "ended", "outcome": "no_answer", "duration_s": 31.5}

An ``ended`` event may carry ``"result": {...}``, the conversation's result (CONTRACT §7); one
over a size limit is cut and marked ``truncated``.

A signed request is accepted once (its signature is its replay key) and answered
``{"recorded": false}`` when its event had been recorded before.

Placing a call (``post_call``) and reading the runtime's events (``WebhookCallbacks``) are
shared with the adapter of a ``webhook`` provider connection
(``outbound.providers.platforms.webhook``), whose ``url`` and ``secret`` are the connection's.
"""

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, Self

import httpx
from pydantic import BaseModel, Field, ValidationError

from outbound.clock import utcnow
from outbound.config import Settings
from outbound.domain.results import truncated
from outbound.domain.statuses import Outcome
from outbound.providers.base import CallHandle, CallRequest, Provider, ReportResult
from outbound.providers.callbacks import (
    CallbackReceiver,
    CallbackRequest,
    CallbackRoute,
    ProviderEvent,
)
from outbound.providers.errors import (
    CallRejected,
    InvalidCallback,
    MalformedCallback,
    ProviderUnavailable,
)
from outbound.schemas.results import ResultIn
from outbound.signing import SIGNATURE_HEADER, InvalidSignature, sign, verify

NAME = "webhook"


class RuntimeEvent(BaseModel):
    provider_call_id: str = Field(min_length=1, max_length=128)
    event: Literal["ringing", "answered", "ended"]
    outcome: Outcome | None = Field(None, description="Required with `ended`")
    duration_s: float | None = Field(None, ge=0)
    answered_by: str | None = Field(None, max_length=32, description="e.g. human, machine")
    error: str | None = Field(None, max_length=1000)
    result: ResultIn | None = Field(
        None, description="With `ended`: what the conversation achieved (CONTRACT §7)"
    )


class Recorded(BaseModel):
    recorded: bool = Field(description="False when this event had been recorded before")


class WebhookCallbacks(CallbackReceiver):
    """The events your agent runtime reports, signed with the provider's secret."""

    name = NAME
    routes = (
        CallbackRoute(
            path="events",
            name="runtime_event",
            description=(
                "A call's event reported by the agent runtime; `X-Outbound-Signature` is required."
            ),
            media_type="application/json",
            body_schema=RuntimeEvent.model_json_schema(),
            reply_model=Recorded,
        ),
    )

    def __init__(self, secret: str) -> None:
        self._secret = secret

    @classmethod
    def from_settings(cls, settings: Settings) -> Self | None:
        secret = settings.webhook_provider_secret
        return cls(secret) if secret else None

    def authenticate(self, request: CallbackRequest, now: datetime) -> str:
        signature = request.header(SIGNATURE_HEADER)
        try:
            verify(self._secret, signature, request.body, now.timestamp())
        except InvalidSignature as exc:
            raise InvalidCallback(str(exc)) from exc
        assert signature is not None  # verify refuses a missing one
        return signature  # a signed request is good once: a second time is a replay

    def parse_callback(self, request: CallbackRequest) -> list[ProviderEvent]:
        try:
            event = RuntimeEvent.model_validate_json(request.body)
        except ValidationError as exc:
            raise MalformedCallback(
                "invalid event",
                errors=[
                    {"field": ".".join(map(str, e["loc"])) or "body", "reason": e["msg"]}
                    for e in exc.errors()
                ],
            ) from exc
        if event.event == "ended" and event.outcome is None:
            raise MalformedCallback(
                "an ended event needs an outcome",
                errors=[{"field": "outcome", "reason": "required"}],
            )
        return [
            ProviderEvent(
                provider=NAME,
                provider_call_id=event.provider_call_id,
                kind=event.event,
                outcome=event.outcome,
                duration_s=event.duration_s,
                answered_by=event.answered_by,
                error=event.error,
                result=truncated(event.result.to_result()) if event.result else None,
            )
        ]

    def acknowledge(self, request: CallbackRequest, recorded: Sequence[bool]) -> Recorded:
        return Recorded(recorded=all(recorded))


class WebhookProvider(Provider):
    name = NAME
    callbacks = WebhookCallbacks

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

    @classmethod
    def from_settings(cls, settings: Settings, report: ReportResult) -> Self:
        assert (
            settings.webhook_provider_url and settings.webhook_provider_secret
        )  # checked at start
        return cls(
            settings.webhook_provider_url,
            settings.webhook_provider_secret,
            max_call_seconds=settings.max_call_seconds,
            timeout_seconds=settings.webhook_provider_timeout_seconds,
        )

    @property
    def max_call_seconds(self) -> float:
        return self._max_call_seconds

    async def place_call(self, request: CallRequest) -> CallHandle:
        return await post_call(self._client, self._url, self._secret, request)

    async def aclose(self) -> None:
        await self._client.aclose()


def payload(request: CallRequest) -> dict[str, Any]:
    """What the runtime is told of one attempt."""
    return {
        "call_id": str(request.call_id),
        "attempt": request.attempt_number,
        "to": request.to,
        "from": request.from_,
        "playbook": request.playbook.to_json(),
        "variables": dict(request.variables),
    }


async def post_call(
    http: httpx.AsyncClient, url: str, secret: str, request: CallRequest
) -> CallHandle:
    """One signed POST of the attempt to the runtime at ``url``; its answer translated: a
    runtime that cannot be reached, a 429 or a 5xx is ``ProviderUnavailable`` (the attempt is not
    spent); any other refusal, or an answer without a ``provider_call_id``, ``CallRejected``."""
    body = json.dumps(payload(request), default=str).encode()
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(secret, int(utcnow().timestamp()), body),
        "Idempotency-Key": request.idempotency_key,
    }
    try:
        response = await http.post(url, content=body, headers=headers)
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
