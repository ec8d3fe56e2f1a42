"""The account's do-not-call list: phones that are never dialed."""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, delete, select

from outbound.store.database import Transaction
from outbound.store.tables import do_not_call


def add(
    conn: Transaction,
    account_id: uuid.UUID,
    phones: Sequence[str],
    now: datetime,
    reason: str | None = None,
) -> None:
    if not phones:
        return
    conn.execute(
        conn.insert(do_not_call).on_conflict_do_nothing(),
        [
            {"account_id": account_id, "phone": phone, "created_at": now, "reason": reason}
            for phone in phones
        ],
    )


def remove(conn: Connection, account_id: uuid.UUID, phone: str) -> bool:
    result = conn.execute(
        delete(do_not_call).where(
            do_not_call.c.account_id == account_id, do_not_call.c.phone == phone
        )
    )
    return result.rowcount > 0


def page(
    conn: Connection, account_id: uuid.UUID, after: str | None, limit: int
) -> list[tuple[str, datetime, str | None]]:
    query = select(do_not_call.c.phone, do_not_call.c.created_at, do_not_call.c.reason).where(
        do_not_call.c.account_id == account_id
    )
    if after is not None:
        query = query.where(do_not_call.c.phone > after)
    rows = conn.execute(query.order_by(do_not_call.c.phone).limit(limit))
    return [(row.phone, row.created_at, row.reason) for row in rows]
