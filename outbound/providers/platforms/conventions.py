"""What outbound does the same way with every agent platform.

- ``call_metadata``: what outbound attaches to each call it creates, in the metadata the
  platform stores and echoes back on the call object (its webhooks and get-call answer): the
  call id, the attempt, the attempt's idempotency key (the create-call APIs of Vapi and Retell
  document none, so the key travels here, for your own reconciliation) and whether the playbook
  asked for a voicemail message.
- ``send`` and ``refusal``: one HTTP request to a platform, its errors translated: a platform
  that cannot be reached, a rate limit (``429``), a concurrency refusal (a message naming
  concurrency), a refused API key (``401``/``403``) or a ``5xx`` is ``ProviderUnavailable`` (the
  attempt is not spent); any other refusal (an invalid number, an unknown agent) is
  ``CallRejected`` with the platform's message.
- The result convention: the playbook's disposition is reported by the platform's structured
  data as a string field ``disposition``; a callback time as a field ``callback_at``, an ISO
  8601 time with its offset (``disposition_of``, ``callback_at_of``).
- ``outcome_of``: an end reason the adapter's ``END_REASONS`` table names maps to its outcome
  (``None``: the platform was too busy to place the call, an ``unplaced`` event); any other
  reason is ``answered`` when the call connected and ``failed`` when it never did.

May import ``outbound.domain``, ``outbound.providers`` (base, callbacks, errors), httpx and
pydantic.
"""

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from outbound.domain.results import ConversationResult, truncated
from outbound.domain.statuses import Outcome
from outbound.providers.base import CallRequest
from outbound.providers.callbacks import ProviderEvent
from outbound.providers.errors import (
    CallRejected,
    MalformedCallback,
    ProviderError,
    ProviderUnavailable,
)

CALL_ID_KEY = "outbound_call_id"
ATTEMPT_KEY = "outbound_attempt"
IDEMPOTENCY_KEY = "outbound_idempotency_key"
VOICEMAIL_KEY = "outbound_voicemail_message"  # True: the call was given a message to leave
DISPOSITION_FIELD = "disposition"
CALLBACK_AT_FIELD = "callback_at"
MESSAGE_MAX_CHARS = 500  # of a platform's error message quoted in ours

EndReasons = Mapping[str, Outcome | None]
Model = TypeVar("Model", bound=BaseModel)


def call_metadata(request: CallRequest) -> dict[str, Any]:
    return {
        CALL_ID_KEY: str(request.call_id),
        ATTEMPT_KEY: request.attempt_number,
        IDEMPOTENCY_KEY: request.idempotency_key,
        VOICEMAIL_KEY: request.playbook.voicemail_message is not None,
    }


def leaves_voicemail(metadata: Mapping[str, Any] | None) -> bool:
    """Whether outbound gave the call a voicemail message to leave (its ``call_metadata``)."""
    return metadata is not None and metadata.get(VOICEMAIL_KEY) is True


def provider_fields(request: CallRequest, platform: str, *names: str) -> dict[str, str]:
    """The playbook's ``provider`` fields ``names``; ``CallRejected`` when one is missing."""
    fields = request.playbook.provider or {}
    missing = [name for name in names if not fields.get(name)]
    if missing:
        raise CallRejected(f"the playbook's provider has no {', '.join(missing)} for {platform}")
    return {name: str(fields[name]) for name in names}


def json_body(body: Mapping[str, Any]) -> bytes:
    """``body`` as JSON; a value JSON does not know (a date) is sent as its text."""
    return json.dumps(body, default=str, separators=(",", ":")).encode()


async def send(
    http: httpx.AsyncClient,
    platform: str,
    method: str,
    url: str,
    api_key: str,
    message_of: Callable[[httpx.Response], str],
    body: Mapping[str, Any] | None = None,
) -> httpx.Response:
    """One authenticated request; a refusal raised as ``refusal`` says."""
    headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}
    content = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        content = json_body(body)
    try:
        response = await http.request(method, url, headers=headers, content=content)
    except httpx.HTTPError as exc:  # refused, timed out, reset...
        raise ProviderUnavailable(f"{platform} unreachable: {exc!r}") from exc
    if response.is_success:
        return response
    raise refusal(platform, response.status_code, message_of(response))


def refusal(platform: str, status: int, message: str) -> ProviderError:
    """The error for a platform's refusal with HTTP ``status`` and its ``message``."""
    message = message[:MESSAGE_MAX_CHARS]
    if status == 429 or status >= 500 or "concurrency" in message.lower():
        return ProviderUnavailable(f"{platform} answered {status}: {message}")
    if status in (401, 403):  # the connection's key, not the callee: fix it, nothing is spent
        return ProviderUnavailable(f"{platform} refused the api_key ({status}): {message}")
    return CallRejected(f"{platform} refused the call ({status}): {message}")


def read_answer(model: type[Model], response: httpx.Response, platform: str) -> Model:
    """A successful answer read as ``model``; ``ProviderUnavailable`` when it is not one."""
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        raise ProviderUnavailable(f"{platform} answered an unreadable {model.__name__}") from exc


def read_webhook(model: type[Model], body: bytes) -> Model:
    """A webhook's body read as ``model``; ``MalformedCallback`` naming the fields at fault."""
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise MalformedCallback(
            "invalid webhook",
            errors=[
                {"field": ".".join(map(str, error["loc"])) or "body", "reason": error["msg"]}
                for error in exc.errors()
            ],
        ) from exc


def disposition_of(data: Mapping[str, Any] | None) -> str | None:
    value = (data or {}).get(DISPOSITION_FIELD)
    return value if isinstance(value, str) and value else None


def callback_at_of(data: Mapping[str, Any] | None) -> datetime | None:
    value = (data or {}).get(CALLBACK_AT_FIELD)
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:  # a time without its offset is ambiguous
        return None
    return moment.astimezone(UTC)


def outcome_of(reason: str | None, table: EndReasons, connected: bool) -> Outcome | None:
    """The outcome of a call that ended for ``reason``; None: the platform did not place it."""
    if reason is not None and reason in table:
        return table[reason]
    return Outcome.ANSWERED if connected else Outcome.FAILED


def end_event(
    provider: str,
    provider_call_id: str,
    outcome: Outcome | None,
    reason: str | None,
    duration_s: float | None,
    result: ConversationResult,
) -> ProviderEvent:
    """The event of a call that ended: ``unplaced`` without an outcome, else ``ended`` with the
    result (cut to the limits)."""
    if outcome is None:
        return ProviderEvent(provider, provider_call_id, "unplaced", error=reason)
    return ProviderEvent(
        provider,
        provider_call_id,
        "ended",
        outcome=outcome,
        duration_s=duration_s,
        error=reason if outcome is Outcome.FAILED else None,
        result=truncated(result),
    )
