"""The outbox: events written in the same transaction as the state change they describe."""

import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Connection, insert, select

from outbound.store.database import Transaction
from outbound.store.tables import event_counters, events, webhook_endpoints


def subscriptions(
    conn: Connection, account_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[set[str] | None]]:
    """Each account's endpoints' event types (None: every type)."""
    found: dict[uuid.UUID, list[set[str] | None]] = {}
    if not account_ids:
        return found
    rows = conn.execute(
        select(webhook_endpoints.c.account_id, webhook_endpoints.c.event_types).where(
            webhook_endpoints.c.account_id.in_(list(account_ids))
        )
    )
    for account_id, types in rows:
        found.setdefault(account_id, []).append(set(types) if types is not None else None)
    return found


def reserve_sequences(conn: Transaction, account_id: uuid.UUID, count: int) -> int:
    """Take ``count`` sequence numbers for the account; returns the last one.

    Locks the account's counter until commit, which orders the account's events by commit:
    the caller must take no other lock after this.
    """
    upsert = conn.insert(event_counters).values(account_id=account_id, last_sequence=count)
    statement = upsert.on_conflict_do_update(
        index_elements=[event_counters.c.account_id],
        set_={"last_sequence": event_counters.c.last_sequence + count},
    ).returning(event_counters.c.last_sequence)
    return int(conn.execute(statement).scalar_one())


def last_sequence(conn: Connection, account_id: uuid.UUID) -> int:
    value = conn.execute(
        select(event_counters.c.last_sequence).where(event_counters.c.account_id == account_id)
    ).scalar_one_or_none()
    return int(value or 0)


def insert_events(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(events), list(rows))


def after(
    conn: Connection, account_id: uuid.UUID, sequence: int, limit: int
) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(events)
        .where(events.c.account_id == account_id, events.c.sequence > sequence)
        .order_by(events.c.sequence)
        .limit(limit)
    )
    return [dict(row._mapping) for row in rows]
