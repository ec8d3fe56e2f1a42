"""What outbound does the same way with every agent platform: each adapter (Vapi, Retell,
ElevenLabs, Bland, LiveKit) keeps to its platform's words and leaves these to this module.

- **Asking a platform** (``http_request``, ``refuse``, ``send``, ``read_answer``): one HTTP
  request, its failures in outbound's words (CONTRACT §8, ``errors``):

  - a platform out of reach (any httpx error: refused, timed out, reset, undecodable) is
    ``ProviderUnavailable``;
  - a rate limit (``429``), the platform's own failure (``5xx``), or a refusal whose message
    names concurrency ("concurrency", "concurrent") whatever its status, is
    ``ProviderUnavailable``: not the callee's doing, the attempt is not spent;
  - a refused API key (``401``/``403``) is ``ProviderUnavailable``: the connection is
    misconfigured, and failing the attempt would burn every contact's attempts until it is
    fixed;
  - any other refusal (an invalid number, an unknown agent) is ``CallRejected`` with the
    platform's message: its documented error text (the adapter's ``message_of``), else the
    answer's text, else the status's reason, cut to ``MESSAGE_MAX_CHARS``;
  - a success that is not the documented answer is ``ProviderUnavailable`` (``read_answer``):
    the platform's fault, not the callee's.

  ``refusal`` is the rule itself, for an adapter that speaks through an SDK (LiveKit).
- **What outbound attaches to a call** (``call_metadata``, ``leaves_voicemail``): the call id,
  the attempt, the attempt's idempotency key (no platform's create-call API takes one, so it
  travels there, for your own reconciliation) and whether outbound gave the call a voicemail
  message, in the metadata Vapi, Retell and Bland store and echo back (ElevenLabs takes the
  ids as dynamic variables, LiveKit a metadata of its own for the agent to read).
  ``provider_fields``: the playbook's fields of the platform, ``CallRejected`` without a
  request when one is missing.
- **The result convention** (``disposition_of``, ``callback_at_of``): the agent reports the
  playbook's disposition in its structured data (Vapi's structured data, Retell's custom
  analysis data, ElevenLabs' data collection, Bland's analysis or variables) as a string field
  ``disposition``, and the hour the person asked to be called back as ``callback_at``, an ISO
  8601 time, read as UTC without an offset (as ``POST /call/{id}/attempts/{n}/result`` reads
  one), and kept in UTC.
- **How a call ended** (``outcome_of``, ``end_event``, ``result_event``, ``lost_event``): an end
  reason the adapter's ``END_REASONS`` names has its outcome there (None: the platform was too
  busy to place the call, an ``unplaced`` event, the attempt not spent); any other reason is
  ``answered`` when the call connected (a conversation took place: it is not dialed again
  because the platform found a new word for its end) and ``failed`` when it never did. Every
  result a platform reports is cut to the limits of CONTRACT §7 (``truncated``) here.
- **Webhooks** (``read_webhook``, ``hmac_sha256_hex``, ``constant_time_equal``,
  ``check_fresh``): a body that is not the platform's documented payload is
  ``MalformedCallback`` naming the fields at fault; a timestamped signature is good for
  ``signing.TOLERANCE_SECONDS``, the window outbound's memory of used signatures covers.

This module replaces two written in parallel; where they differed, the choice above is the one
that keeps to CONTRACT §7/§8 and the rules of the agent platforms' issue: a refused API key and
a concurrency refusal named in any status leave the attempt unspent for every platform (before,
ElevenLabs, Bland and LiveKit failed the attempt on them); a callback time without an offset is
UTC (before, Vapi and Retell dropped it); an unknown end reason of a call that connected is
``answered`` (before, ElevenLabs and Bland made it ``failed``); an unreadable answer to a
create-call leaves the attempt unspent (before, ElevenLabs and Bland failed it); a platform's
message is cut at 500 characters (before, 300 for ElevenLabs, Bland and LiveKit).

May import ``outbound.domain``, ``outbound.providers`` (base, callbacks, errors),
``outbound.signing``, httpx and pydantic.
"""

import hashlib
import hmac
import json
import re
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
    InvalidCallback,
    MalformedCallback,
    ProviderError,
    ProviderUnavailable,
)
from outbound.signing import TOLERANCE_SECONDS

CALL_ID_KEY = "outbound_call_id"
ATTEMPT_KEY = "outbound_attempt"
IDEMPOTENCY_KEY = "outbound_idempotency_key"
VOICEMAIL_KEY = "outbound_voicemail_message"  # True: the call was given a message to leave
DISPOSITION_FIELD = "disposition"
CALLBACK_AT_FIELD = "callback_at"
MESSAGE_MAX_CHARS = 500  # of a platform's error message quoted in ours
CONCURRENCY = re.compile(r"concurren(cy|t)", re.IGNORECASE)  # a refusal for lack of room

EndReasons = Mapping[str, Outcome | None]
MessageOf = Callable[[httpx.Response], str | None]  # a platform's error text, if it has one
Model = TypeVar("Model", bound=BaseModel)


# Asking a platform


async def http_request(
    http: httpx.AsyncClient,
    platform: str,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: Mapping[str, Any] | None = None,
) -> httpx.Response:
    """One request, ``body`` sent as JSON; its answer whatever the status (``refuse`` reads
    it), ``ProviderUnavailable`` when the platform cannot be reached."""
    sent = {"Accept": "application/json", **headers}
    content = None
    if body is not None:
        sent["Content-Type"] = "application/json"
        content = json_body(body)
    try:
        return await http.request(method, url, headers=sent, content=content)
    except httpx.HTTPError as exc:  # refused, timed out, reset, undecodable...
        raise unreachable(platform, exc) from exc


def refuse(platform: str, response: httpx.Response, message_of: MessageOf) -> None:
    """Raise the error of an answer that is not a success (``refusal``)."""
    if response.is_success:
        return
    message = message_of(response) or response.text.strip() or response.reason_phrase
    raise refusal(platform, response.status_code, message)


async def send(
    http: httpx.AsyncClient,
    platform: str,
    method: str,
    url: str,
    headers: Mapping[str, str],
    message_of: MessageOf,
    body: Mapping[str, Any] | None = None,
) -> httpx.Response:
    """``http_request``, then ``refuse``: the answer of a request that succeeded."""
    response = await http_request(http, platform, method, url, headers, body)
    refuse(platform, response, message_of)
    return response


def refusal(platform: str, status: int, message: str, busy: bool = False) -> ProviderError:
    """The error for a platform's refusal with HTTP ``status`` and its ``message``; ``busy``:
    the platform said in its own words that it has no room (LiveKit's Twirp codes)."""
    message = message[:MESSAGE_MAX_CHARS]
    if busy or status == 429 or status >= 500 or CONCURRENCY.search(message):
        return ProviderUnavailable(f"{platform} answered {status}: {message}")
    if status in (401, 403):  # the connection's key, not the callee: fix it, nothing is spent
        return ProviderUnavailable(f"{platform} refused the api_key: {status}: {message}")
    return CallRejected(f"{platform} refused the call: {status}: {message}")


def unreachable(platform: str, exc: Exception) -> ProviderUnavailable:
    return ProviderUnavailable(f"{platform} unreachable: {exc!r}")


def read_answer(model: type[Model], response: httpx.Response, platform: str) -> Model:
    """A successful answer read as ``model``; ``ProviderUnavailable`` when it is not one."""
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        raise ProviderUnavailable(f"{platform} answered an unreadable {model.__name__}") from exc


def json_body(body: Mapping[str, Any]) -> bytes:
    """``body`` as JSON; a value JSON does not know (a date) is sent as its text."""
    return json.dumps(body, default=str, separators=(",", ":")).encode()


def json_or_none(response: httpx.Response) -> Any:
    """The answer's JSON, None when it is not JSON (an error page)."""
    try:
        return response.json()
    except ValueError:
        return None


# What outbound attaches to a call


def call_metadata(request: CallRequest) -> dict[str, Any]:
    return {
        CALL_ID_KEY: str(request.call_id),
        ATTEMPT_KEY: request.attempt_number,
        IDEMPOTENCY_KEY: request.idempotency_key,
        VOICEMAIL_KEY: bool(request.playbook.voicemail_message),  # as the adapters send it
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


# The result convention


def disposition_of(data: Mapping[str, Any] | None) -> str | None:
    """The disposition an agent put in its structured data, if it is a non-empty string."""
    value = (data or {}).get(DISPOSITION_FIELD)
    return value if isinstance(value, str) and value else None


def callback_at_of(data: Mapping[str, Any] | None) -> datetime | None:
    """The callback hour an agent put in its structured data, if it is an ISO 8601 time; in
    UTC, a time without an offset read as UTC."""
    value = (data or {}).get(CALLBACK_AT_FIELD)
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


# How a call ended


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
    *,
    duration_s: float | None = None,
    answered_by: str | None = None,
    error: str | None = None,
    result: ConversationResult | None = None,
) -> ProviderEvent:
    """The event of a call that ended: ``unplaced`` without an outcome, else ``ended`` with the
    result cut to the limits. Its error: ``error`` when the adapter has the platform's own
    words for it, else the reason of a failed call."""
    if outcome is None:
        return ProviderEvent(provider, provider_call_id, "unplaced", error=error or reason)
    if error is None and outcome is Outcome.FAILED:
        error = reason
    return ProviderEvent(
        provider,
        provider_call_id,
        "ended",
        outcome=outcome,
        duration_s=duration_s,
        answered_by=answered_by,
        error=error,
        result=truncated(result) if result is not None else None,
    )


def result_event(provider: str, provider_call_id: str, result: ConversationResult) -> ProviderEvent:
    """The result a platform reports after the call's end (Retell's analysis), cut to the
    limits."""
    return ProviderEvent(provider, provider_call_id, "result", result=truncated(result))


def lost_event(provider: str, provider_call_id: str, why: str) -> ProviderEvent:
    """A call the platform no longer knows when it is looked up: its end will never be
    reported, so the attempt ended ``failed``."""
    return ProviderEvent(provider, provider_call_id, "ended", outcome=Outcome.FAILED, error=why)


# Webhooks


def read_webhook(model: type[Model], body: bytes, platform: str) -> Model:
    """A webhook's body read as ``model``; ``MalformedCallback`` naming the fields at fault."""
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise MalformedCallback(
            f"not a {platform} webhook",
            errors=[
                {"field": ".".join(map(str, error["loc"])) or "body", "reason": error["msg"]}
                for error in exc.errors()
            ],
        ) from exc


def hmac_sha256_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def constant_time_equal(expected: str, given: str) -> bool:
    """``given`` (a header: any text) is ``expected`` (a secret or a digest), compared in
    constant time."""
    return hmac.compare_digest(expected.encode(), given.encode())


def check_fresh(sent_at_seconds: float, now: datetime, header: str) -> None:
    """``InvalidCallback`` for a signature made further from ``now`` than outbound remembers
    used ones (``signing.TOLERANCE_SECONDS``, either way)."""
    if abs(now.timestamp() - sent_at_seconds) > TOLERANCE_SECONDS:
        raise InvalidCallback(f"stale {header}")
