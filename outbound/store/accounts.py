"""Accounts and their API tokens (playbooks are in ``playbooks``)."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from outbound.domain.records import Account
from outbound.domain.windows import parse_window
from outbound.store.tables import accounts, api_tokens

_ACCOUNT_COLUMNS = (
    accounts.c.id,
    accounts.c.name,
    accounts.c.timezone,
    accounts.c.max_concurrent_calls,
    accounts.c.calls_per_second,
    accounts.c.calling_window,
    accounts.c.created_at,
)


def _account(row: Any) -> Account:
    return Account(
        id=row.id,
        name=row.name,
        timezone=row.timezone,
        max_concurrent_calls=row.max_concurrent_calls,
        calls_per_second=row.calls_per_second,
        calling_window=parse_window(row.calling_window),
        created_at=row.created_at,
    )


def insert_account(conn: Connection, name: str, timezone: str, now: datetime) -> Account:
    account = Account(id=uuid.uuid4(), name=name, timezone=timezone, created_at=now)
    conn.execute(
        insert(accounts).values(
            id=account.id,
            name=name,
            timezone=timezone,
            created_at=now,
            max_concurrent_calls=account.max_concurrent_calls,
            calls_per_second=account.calls_per_second,
        )
    )
    return account


def get_account(conn: Connection, account_id: uuid.UUID) -> Account | None:
    row = conn.execute(select(*_ACCOUNT_COLUMNS).where(accounts.c.id == account_id)).first()
    return _account(row) if row else None


def update_account(conn: Connection, account_id: uuid.UUID, changes: dict[str, Any]) -> bool:
    """Set the given columns (``calling_window`` in its JSON form)."""
    result = conn.execute(update(accounts).where(accounts.c.id == account_id).values(**changes))
    return result.rowcount > 0


def count_accounts(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(accounts)).scalar_one())


def insert_token(conn: Connection, account_id: uuid.UUID, token_hash: str, now: datetime) -> None:
    conn.execute(
        insert(api_tokens).values(
            id=uuid.uuid4(), account_id=account_id, token_hash=token_hash, created_at=now
        )
    )


def find_token(conn: Connection, token_hash: str) -> tuple[str, Account] | None:
    """The stored hash and its account, for a live token."""
    row = conn.execute(
        select(api_tokens.c.token_hash, *_ACCOUNT_COLUMNS)
        .join(accounts, accounts.c.id == api_tokens.c.account_id)
        .where(api_tokens.c.token_hash == token_hash, api_tokens.c.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    return row.token_hash, _account(row)


def revoke_token(conn: Connection, token_hash: str, now: datetime) -> bool:
    result = conn.execute(
        update(api_tokens)
        .where(api_tokens.c.token_hash == token_hash, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount > 0
