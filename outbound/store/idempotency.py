"""Idempotency keys: the first answer to a request, kept to be given again."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from outbound.store.database import Transaction
from outbound.store.tables import idempotency_keys


def take(
    conn: Transaction,
    account_id: uuid.UUID,
    key: str,
    fingerprint: str,
    now: datetime,
    expired_before: datetime,
) -> bool:
    """Own ``key`` for this transaction: True if it is new or its record had expired.

    On PostgreSQL a concurrent transaction holding the same key makes this wait until it ends.
    """
    upsert = conn.insert(idempotency_keys).values(
        account_id=account_id, key=key, fingerprint=fingerprint, created_at=now
    )
    statement = upsert.on_conflict_do_update(
        index_elements=[idempotency_keys.c.account_id, idempotency_keys.c.key],
        set_={
            "fingerprint": upsert.excluded.fingerprint,
            "created_at": upsert.excluded.created_at,
            "status_code": None,
            "body": None,
        },
        where=idempotency_keys.c.created_at < expired_before,
    ).returning(idempotency_keys.c.key)
    return conn.execute(statement).first() is not None


def recorded(conn: Connection, account_id: uuid.UUID, key: str) -> tuple[str, Any] | None:
    """The key's fingerprint and the result recorded with it."""
    row = conn.execute(
        select(idempotency_keys.c.fingerprint, idempotency_keys.c.body).where(
            idempotency_keys.c.account_id == account_id, idempotency_keys.c.key == key
        )
    ).first()
    return (row.fingerprint, row.body) if row else None


def remember(conn: Connection, account_id: uuid.UUID, key: str, result: Any) -> None:
    conn.execute(
        update(idempotency_keys)
        .where(idempotency_keys.c.account_id == account_id, idempotency_keys.c.key == key)
        .values(body=result)
    )
