"""What the platform adapters share: one reading of a platform's HTTP answer, one translation
of a webhook that fails its schema, and outbound's convention for the fields of an agent's
structured data that act on the call.

The convention: an agent reports the call's disposition in its structured data under
``disposition`` (a string, one of the playbook's dispositions) and the hour the person asked
to be called back under ``callback_at`` (ISO 8601; without an offset it is read as UTC). Each
platform calls that data something else (ElevenLabs' data collection, Bland's analysis and
variables); its adapter hands it here.

May import ``outbound.domain``, ``outbound.providers`` (callbacks, errors), httpx and pydantic.
"""

import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import ValidationError

from outbound.domain.results import ConversationResult
from outbound.domain.statuses import Outcome
from outbound.providers.callbacks import ProviderEvent
from outbound.providers.errors import CallRejected, MalformedCallback, ProviderUnavailable

DISPOSITION_FIELD = "disposition"
CALLBACK_AT_FIELD = "callback_at"
MESSAGE_MAX_CHARS = 300  # of a platform's error message kept in a refusal


def disposition_of(data: Mapping[str, Any] | None) -> str | None:
    """The disposition an agent put in its structured data, if it is a non-empty string."""
    value = (data or {}).get(DISPOSITION_FIELD)
    return value if isinstance(value, str) and value else None


def callback_at_of(data: Mapping[str, Any] | None) -> datetime | None:
    """The callback hour an agent put in its structured data, if it is an ISO 8601 instant."""
    value = (data or {}).get(CALLBACK_AT_FIELD)
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def end_event(
    provider: str,
    provider_call_id: str,
    reason: str,
    end_reasons: Mapping[str, Outcome | None],
    *,
    duration_s: float | None = None,
    answered_by: str | None = None,
    error: str | None = None,
    result: ConversationResult | None = None,
) -> ProviderEvent:
    """The event a platform's end reason makes by its adapter's table: ``ended`` with the
    reason's outcome (``failed`` for a reason outside the table), or ``unplaced`` for a reason
    the table maps to None (the platform was too busy to place the call)."""
    if reason in end_reasons and end_reasons[reason] is None:
        return ProviderEvent(provider, provider_call_id, "unplaced", error=error or reason)
    return ProviderEvent(
        provider,
        provider_call_id,
        "ended",
        outcome=end_reasons.get(reason) or Outcome.FAILED,
        duration_s=duration_s,
        answered_by=answered_by,
        error=error,
        result=result,
    )


def hmac_sha256_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def malformed(exc: ValidationError, what: str) -> MalformedCallback:
    """A webhook whose body is not the platform's documented payload (the API's 400)."""
    return MalformedCallback(
        f"not {what}",
        errors=[
            {"field": ".".join(map(str, error["loc"])) or "body", "reason": error["msg"]}
            for error in exc.errors()
        ],
    )


async def send(
    http: httpx.AsyncClient, platform: str, method: str, url: str, **kwargs: Any
) -> httpx.Response:
    """One request to a platform's API; a platform out of reach is ``ProviderUnavailable``."""
    try:
        return await http.request(method, url, **kwargs)
    except httpx.TransportError as exc:  # refused, reset, timed out
        raise ProviderUnavailable(f"{platform} unreachable: {exc!r}") from exc


def refuse(response: httpx.Response, platform: str, message: str | None) -> None:
    """Raise for an answer that is not a success: a rate limit or a concurrency refusal (429)
    and the platform's own failures (5xx) leave the attempt unspent; any other refusal is
    ``CallRejected`` with the platform's message."""
    if response.is_success:
        return
    detail = f"{response.status_code}: {(message or response.reason_phrase)[:MESSAGE_MAX_CHARS]}"
    if response.status_code == 429 or response.status_code >= 500:
        raise ProviderUnavailable(f"{platform} answered {detail}")
    raise CallRejected(f"{platform} refused the call: {detail}")


def json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
