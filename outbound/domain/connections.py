"""The agent platforms an account may connect, what each one's connection and playbooks must
name (CONTRACT §8), and the checks of a connection's credentials and settings."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from outbound.exceptions import InvalidRequest


class ConnectionType(StrEnum):
    VAPI = "vapi"
    RETELL = "retell"
    ELEVENLABS = "elevenlabs"
    BLAND = "bland"
    LIVEKIT = "livekit"
    TWILIO = "twilio"
    WEBHOOK = "webhook"


@dataclass(frozen=True)
class ConnectionFields:
    credentials: tuple[str, ...]  # every one required
    playbook: tuple[str, ...]  # the playbook's ``provider`` fields, required
    playbook_optional: tuple[str, ...] = ()
    playbook_one_of: tuple[str, ...] = ()  # exactly one of these is required


FIELDS: dict[ConnectionType, ConnectionFields] = {
    ConnectionType.VAPI: ConnectionFields(
        ("api_key", "webhook_secret"), ("assistant_id", "phone_number_id")
    ),
    ConnectionType.RETELL: ConnectionFields(("api_key",), ("agent_id", "from_number")),
    ConnectionType.ELEVENLABS: ConnectionFields(
        ("api_key", "webhook_secret"), ("agent_id", "phone_number_id")
    ),
    ConnectionType.BLAND: ConnectionFields(
        ("api_key", "webhook_secret"), ("from_number",), playbook_one_of=("pathway_id", "task")
    ),
    ConnectionType.LIVEKIT: ConnectionFields(
        ("api_key", "api_secret", "url"),
        ("sip_trunk_id",),
        playbook_optional=("room_prefix", "agent_name"),
    ),
    ConnectionType.TWILIO: ConnectionFields(("account_sid", "auth_token"), ("twiml_url",)),
    ConnectionType.WEBHOOK: ConnectionFields(("url", "secret"), ()),
}

# Where a platform posts its call webhooks for one connection, under ``OUTBOUND_PUBLIC_URL``.
WEBHOOK_PATH = "/provider/connection/{connection_id}/events"
MAX_CALL_SECONDS = 86_400.0  # the largest ``settings.max_call_seconds``: a day
# Credentials that are addresses, and the schemes each may have.
URL_CREDENTIALS: dict[tuple[ConnectionType, str], tuple[str, ...]] = {
    (ConnectionType.WEBHOOK, "url"): ("http", "https"),
    (ConnectionType.LIVEKIT, "url"): ("wss", "ws", "https", "http"),
}


@dataclass(frozen=True)
class ProviderConnection:
    """An account's connection as the account sees it: everything but its credentials."""

    id: UUID
    account_id: UUID
    type: ConnectionType
    name: str
    settings: Mapping[str, Any]
    created_at: datetime
    deleted_at: datetime | None = None


def webhook_url(public_url: str, connection_id: UUID) -> str:
    """The address to give the platform for the connection's call webhooks."""
    return public_url.rstrip("/") + WEBHOOK_PATH.format(connection_id=connection_id)


def check_connection(
    type_: ConnectionType, credentials: Mapping[str, object], settings: Mapping[str, object]
) -> None:
    """Raise ``InvalidRequest`` naming every credential and setting at fault. The messages
    never repeat a value: a credential must not reach an answer or a log."""
    problems = _credential_problems(type_, credentials) + _settings_problems(settings)
    if problems:
        raise InvalidRequest.naming(problems)


def _credential_problems(
    type_: ConnectionType, credentials: Mapping[str, object]
) -> list[dict[str, str]]:
    expected = FIELDS[type_].credentials
    problems = []
    for name in expected:
        value = credentials.get(name)
        field = f"credentials.{name}"
        if value is None:
            problems.append({"field": field, "reason": "required"})
        elif not isinstance(value, str) or not value.strip():
            problems.append({"field": field, "reason": "a non-empty string"})
        elif not value.isprintable():  # it goes into headers and URLs as it is
            problems.append({"field": field, "reason": "no control or invisible characters"})
        elif (type_, name) in URL_CREDENTIALS and not _is_url(value, URL_CREDENTIALS[type_, name]):
            schemes = ", ".join(URL_CREDENTIALS[type_, name])
            problems.append({"field": field, "reason": f"a URL ({schemes})"})
    for name in sorted(set(credentials) - set(expected)):
        problems.append(
            {
                "field": f"credentials.{name}",
                "reason": f"not a credential of {type_.value}, which takes {', '.join(expected)}",
            }
        )
    return problems


def _settings_problems(settings: Mapping[str, object]) -> list[dict[str, str]]:
    problems = []
    base_url = settings.get("api_base_url")
    if base_url is not None and not (
        isinstance(base_url, str) and _is_url(base_url, ("https", "http"))
    ):
        problems.append({"field": "settings.api_base_url", "reason": "an http or https URL"})
    seconds = settings.get("max_call_seconds")
    if seconds is not None and not (
        isinstance(seconds, int | float)
        and not isinstance(seconds, bool)
        and 0 < seconds <= MAX_CALL_SECONDS
    ):
        problems.append(
            {
                "field": "settings.max_call_seconds",
                "reason": f"a number of seconds above 0, at most {MAX_CALL_SECONDS:.0f}",
            }
        )
    return problems


def _is_url(text: str, schemes: tuple[str, ...]) -> bool:
    """An absolute URL of one of ``schemes``, with a host and nothing that a header or a log
    line would split on."""
    if not text.isprintable() or any(c.isspace() for c in text):
        return False
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 (a port out of range raises)
    except ValueError:
        return False
    return parts.scheme.lower() in schemes and bool(parts.hostname)
