"""The queue: claiming due calls, recording attempts and their outcomes.

The calls table is the queue. A call is claimed by moving it from ``pending`` to
``in_progress`` and writing its attempt row in the same transaction, before the provider is
asked to dial: a crash after the claim leaves a leased attempt, never a second dial.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from outbound.domain.records import ClaimedAttempt
from outbound.domain.statuses import CallStatus, CampaignStatus
from outbound.store.tables import call_attempts, calls, campaigns, playbooks


@dataclass(frozen=True)
class InFlightCall:
    """What the recall rule needs to know about a call whose attempt just ended."""

    id: uuid.UUID
    campaign_id: uuid.UUID
    attempt_count: int
    recall: tuple[float, ...]
    anchor_at: datetime


@dataclass(frozen=True)
class CallTransition:
    call_id: uuid.UUID
    attempt_number: int
    status: str
    next_attempt_at: datetime | None
    outcome: str
    ended_at: datetime
    error: str | None


def claim_due_calls(
    conn: Connection, owner: str, limit: int, now: datetime, lease: timedelta
) -> list[ClaimedAttempt]:
    """Take up to ``limit`` due calls of running campaigns and record their next attempt."""
    query = (
        select(
            calls.c.id,
            calls.c.campaign_id,
            calls.c.account_id,
            calls.c.contact_id,
            calls.c.phone,
            calls.c.attempt_count,
            calls.c.next_attempt_at,
            campaigns.c.playbook_id,
            playbooks.c.caller_id,
        )
        .join(campaigns, campaigns.c.id == calls.c.campaign_id)
        .join(playbooks, playbooks.c.id == campaigns.c.playbook_id)
        .where(
            calls.c.status == CallStatus.PENDING.value,
            calls.c.next_attempt_at <= now,
            campaigns.c.status == CampaignStatus.RUNNING.value,
        )
        .order_by(calls.c.next_attempt_at)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(of=calls, skip_locked=True)
    rows = conn.execute(query).all()
    if not rows:
        return []
    conn.execute(
        update(calls)
        .where(calls.c.id.in_([row.id for row in rows]))
        .values(
            status=CallStatus.IN_PROGRESS.value,
            attempt_count=calls.c.attempt_count + 1,
            anchor_at=func.coalesce(calls.c.anchor_at, now),
            next_attempt_at=None,
            lease_owner=owner,
            lease_expires_at=now + lease,
            updated_at=now,
        )
    )
    claimed = [
        ClaimedAttempt(
            call_id=row.id,
            attempt_id=uuid.uuid4(),
            attempt_number=row.attempt_count + 1,
            campaign_id=row.campaign_id,
            account_id=row.account_id,
            playbook_id=row.playbook_id,
            caller_id=row.caller_id,
            contact_id=row.contact_id,
            phone=row.phone,
            due_at=row.next_attempt_at,
            started_at=now,
        )
        for row in rows
    ]
    conn.execute(
        insert(call_attempts),
        [
            {
                "id": item.attempt_id,
                "call_id": item.call_id,
                "number": item.attempt_number,
                "due_at": item.due_at,
                "started_at": now,
            }
            for item in claimed
        ],
    )
    return claimed


def record_provider_ids(conn: Connection, placed: Sequence[tuple[uuid.UUID, str]]) -> None:
    """Remember the provider's id of each placed attempt (by attempt id)."""
    if not placed:
        return
    conn.execute(
        update(call_attempts)
        .where(call_attempts.c.id == bindparam("b_id"))
        .values(provider_call_id=bindparam("b_provider_call_id")),
        [{"b_id": attempt_id, "b_provider_call_id": pid} for attempt_id, pid in placed],
    )


def lock_in_flight(
    conn: Connection, call_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, InFlightCall]:
    """The in-progress calls among ``call_ids``, locked until the transaction ends."""
    query = select(
        calls.c.id, calls.c.campaign_id, calls.c.attempt_count, calls.c.recall, calls.c.anchor_at
    ).where(calls.c.id.in_(list(call_ids)), calls.c.status == CallStatus.IN_PROGRESS.value)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return {
        row.id: InFlightCall(
            id=row.id,
            campaign_id=row.campaign_id,
            attempt_count=row.attempt_count,
            recall=tuple(row.recall),
            anchor_at=row.anchor_at,
        )
        for row in conn.execute(query)
    }


def expired_leases(conn: Connection, now: datetime, limit: int) -> list[tuple[uuid.UUID, int]]:
    """In-progress calls whose lease ran out: ``(call_id, attempt_number)``."""
    query = (
        select(calls.c.id, calls.c.attempt_count)
        .where(
            calls.c.status == CallStatus.IN_PROGRESS.value,
            calls.c.lease_expires_at < now,
        )
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return [(row.id, row.attempt_count) for row in conn.execute(query)]


def apply_transitions(
    conn: Connection, transitions: Sequence[CallTransition], now: datetime
) -> None:
    """Close each attempt with its outcome and move its call to its next state."""
    if not transitions:
        return
    conn.execute(
        update(call_attempts)
        .where(
            call_attempts.c.call_id == bindparam("b_call_id"),
            call_attempts.c.number == bindparam("b_number"),
        )
        .values(
            outcome=bindparam("b_outcome"),
            ended_at=bindparam("b_ended_at"),
            error=bindparam("b_error"),
        ),
        [
            {
                "b_call_id": t.call_id,
                "b_number": t.attempt_number,
                "b_outcome": t.outcome,
                "b_ended_at": t.ended_at,
                "b_error": t.error,
            }
            for t in transitions
        ],
    )
    conn.execute(
        update(calls)
        .where(calls.c.id == bindparam("b_call_id"))
        .values(
            status=bindparam("b_status"),
            next_attempt_at=bindparam("b_next_attempt_at", type_=calls.c.next_attempt_at.type),
            lease_owner=None,
            lease_expires_at=None,
            updated_at=now,
        ),
        [
            {
                "b_call_id": t.call_id,
                "b_status": t.status,
                "b_next_attempt_at": t.next_attempt_at,
            }
            for t in transitions
        ],
    )


def next_due_at(conn: Connection) -> datetime | None:
    """The earliest moment work becomes due: a call of a running campaign, or a launch."""
    call_due = conn.execute(
        select(func.min(calls.c.next_attempt_at))
        .join(campaigns, campaigns.c.id == calls.c.campaign_id)
        .where(
            calls.c.status == CallStatus.PENDING.value,
            campaigns.c.status == CampaignStatus.RUNNING.value,
        )
    ).scalar_one()
    launch_due = conn.execute(
        select(func.min(campaigns.c.launch_at)).where(
            campaigns.c.status == CampaignStatus.SCHEDULED.value
        )
    ).scalar_one()
    moments: list[Any] = [m for m in (call_due, launch_due) if m is not None]
    return min(moments) if moments else None
