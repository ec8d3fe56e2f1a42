"""Accounts, API tokens and playbooks."""

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from outbound.clock import utcnow
from outbound.domain.records import Account, Playbook
from outbound.domain.windows import InvalidWindow, parse_window
from outbound.exceptions import InvalidRequest, NotFound
from outbound.schemas.playbooks import PlaybookIn
from outbound.services import playbooks
from outbound.services.contact_lists import known_zone
from outbound.store import accounts as store
from outbound.store.database import Database

TOKEN_PREFIX = "ob_"
UNCHANGED = object()
MAX_CONCURRENT_CALLS = 100_000  # an account's calls in progress at once, as for a campaign's
MAX_CALLS_PER_SECOND = 10_000.0  # attempts an account starts per second
DEMO_FIRST_MESSAGE = "Hi {{first_name}}, this is Ada from outbound. Do you have a minute?"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def check_timezone(name: str) -> str:
    if not known_zone(name):
        raise InvalidRequest(f"unknown timezone: {name!r}", errors=[_unknown_timezone(name)])
    return name


def _unknown_timezone(name: str) -> dict[str, str]:
    return {"field": "timezone", "reason": f"unknown timezone: {name!r}"}


def create_account(database: Database, name: str, timezone: str = "UTC") -> tuple[Account, str]:
    """A new account and its first API token (shown once; only its hash is kept)."""
    check_timezone(timezone)
    token = new_token()
    now = utcnow()
    with database.transaction() as conn:
        account = store.insert_account(conn, name, timezone, now)
        store.insert_token(conn, account.id, hash_token(token), now)
    return account, token


def update_account(
    database: Database,
    account_id: uuid.UUID,
    *,
    timezone: str | None = None,
    max_concurrent_calls: int | None = None,
    calls_per_second: float | None = None,
    calling_window: object = UNCHANGED,
) -> Account:
    """Change an account's settings; pacing limits of 0 mean "no limit". ``InvalidRequest``
    names every value at fault."""
    changes: dict[str, object] = {}
    errors: list[dict[str, str]] = []
    if timezone is not None:
        if known_zone(timezone):
            changes["timezone"] = timezone
        else:
            errors.append(_unknown_timezone(timezone))
    if max_concurrent_calls is not None:
        if 0 <= max_concurrent_calls <= MAX_CONCURRENT_CALLS:
            changes["max_concurrent_calls"] = max_concurrent_calls
        else:
            reason = f"must be from 0 (no limit) to {MAX_CONCURRENT_CALLS}"
            errors.append({"field": "max_concurrent_calls", "reason": reason})
    if calls_per_second is not None:
        if 0 <= calls_per_second <= MAX_CALLS_PER_SECOND:  # NaN is neither
            changes["calls_per_second"] = calls_per_second
        else:
            reason = f"must be from 0 (no limit) to {MAX_CALLS_PER_SECOND:g}"
            errors.append({"field": "calls_per_second", "reason": reason})
    if calling_window is not UNCHANGED:
        try:
            window = parse_window(calling_window)
        except InvalidWindow as exc:
            errors.append({"field": "calling_window", "reason": str(exc)})
        else:
            changes["calling_window"] = window.to_json() if window else None
    if errors:
        raise InvalidRequest.naming(errors)
    with database.transaction() as conn:
        if changes and not store.update_account(conn, account_id, changes):
            raise NotFound(f"no account {account_id}")
        account = store.get_account(conn, account_id)
    if account is None:
        raise NotFound(f"no account {account_id}")
    return account


def create_token(database: Database, account_id: uuid.UUID) -> str:
    token = new_token()
    with database.transaction() as conn:
        if store.get_account(conn, account_id) is None:
            raise NotFound(f"no account {account_id}")
        store.insert_token(conn, account_id, hash_token(token), utcnow())
    return token


def revoke_token(database: Database, token: str) -> bool:
    with database.transaction() as conn:
        return store.revoke_token(conn, hash_token(token), utcnow())


def authenticate(database: Database, token: str) -> Account | None:
    """The account of a live token, or None."""
    expected = hash_token(token)
    with database.reading() as conn:
        found = store.find_token(conn, expected)
    if found is None:
        return None
    stored_hash, account = found
    return account if hmac.compare_digest(stored_hash, expected) else None


def create_playbook(
    database: Database,
    account_id: uuid.UUID,
    name: str,
    first_message: str | None = None,
    instructions: str | None = None,
    voice: str | None = None,
    language: str | None = None,
    caller_id: str | None = None,
    **more: Any,
) -> Playbook:
    """A playbook of the account, its fields given as keywords (``more``: ``dispositions``,
    ``data_fields``, ``voicemail``, ``provider`` in their JSON form); checked as
    ``POST /playbook`` checks its body."""
    given = dict(
        name=name,
        first_message=first_message,
        instructions=instructions,
        voice=voice,
        language=language,
        caller_id=caller_id,
        **more,
    )
    body = playbooks.read_body(PlaybookIn, {k: v for k, v in given.items() if v is not None})
    return playbooks.create_playbook(database, account_id, body)


@dataclass(frozen=True)
class DemoSetup:
    account: Account
    token: str
    playbook: Playbook


def ensure_demo(database: Database) -> DemoSetup | None:
    """On an empty database, a demo account with a token and a playbook; else None."""
    with database.reading() as conn:
        if store.count_accounts(conn):
            return None
    account, token = create_account(database, "Demo")
    playbook = create_playbook(
        database,
        account.id,
        "Demo playbook",
        first_message=DEMO_FIRST_MESSAGE,
        instructions="Introduce outbound and ask whether they would like a follow-up call.",
        caller_id="+14155550123",
    )
    return DemoSetup(account=account, token=token, playbook=playbook)
