"""Events reported by telephony providers, and the signatures already seen."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update

from outbound.store.database import Transaction
from outbound.store.tables import call_attempts, provider_events, seen_signatures


@dataclass(frozen=True)
class PlacedAttempt:
    call_id: uuid.UUID
    number: int
    answered_by: str | None
    open: bool  # no outcome yet
    account_id: uuid.UUID | None = None


def find_attempt(
    conn: Connection, provider_call_id: str, account_id: uuid.UUID | None = None
) -> PlacedAttempt | None:
    """The attempt placed with that provider call id; among ``account_id``'s attempts only when
    given (two accounts' platforms may hand out the same ids)."""
    query = select(
        call_attempts.c.call_id,
        call_attempts.c.number,
        call_attempts.c.answered_by,
        call_attempts.c.account_id,
        call_attempts.c.outcome,
    ).where(call_attempts.c.provider_call_id == provider_call_id)
    if account_id is not None:
        query = query.where(call_attempts.c.account_id == account_id)
    row = conn.execute(query).first()
    if row is None:
        return None
    return PlacedAttempt(
        row.call_id, row.number, row.answered_by, row.outcome is None, row.account_id
    )


def remember_event(
    conn: Transaction, provider: str, provider_call_id: str, event: str, now: datetime
) -> bool:
    """Record that ``event`` was received for the call; False if it already was."""
    inserted = conn.execute(
        conn.insert(provider_events)
        .values(provider=provider, provider_call_id=provider_call_id, event=event, received_at=now)
        .on_conflict_do_nothing()
        .returning(provider_events.c.event)
    ).first()
    return inserted is not None


def annotate_attempt(conn: Connection, attempt: PlacedAttempt, values: dict[str, Any]) -> None:
    conn.execute(
        update(call_attempts)
        .where(call_attempts.c.call_id == attempt.call_id, call_attempts.c.number == attempt.number)
        .values(**values)
    )


def remember_signature(conn: Transaction, digest: str, now: datetime) -> bool:
    """Record a signature digest; False if it was seen before (a replay)."""
    inserted = conn.execute(
        conn.insert(seen_signatures)
        .values(digest=digest, seen_at=now)
        .on_conflict_do_nothing()
        .returning(seen_signatures.c.digest)
    ).first()
    return inserted is not None


def forget_signature(conn: Connection, digest: str) -> None:
    conn.execute(delete(seen_signatures).where(seen_signatures.c.digest == digest))


def forget_signatures_before(conn: Connection, moment: datetime) -> None:
    conn.execute(delete(seen_signatures).where(seen_signatures.c.seen_at < moment))
