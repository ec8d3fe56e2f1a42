"""Campaigns and the calls they hold."""

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, exists, func, insert, select, update

from outbound.domain.records import Attempt, Call, Campaign
from outbound.domain.statuses import (
    ACTIVE_CALL_STATUSES,
    CallStatus,
    CampaignStatus,
    Outcome,
)
from outbound.store.tables import call_attempts, calls, campaigns


def _campaign(row: Row[Any]) -> Campaign:
    return Campaign(
        id=row.id,
        account_id=row.account_id,
        playbook_id=row.playbook_id,
        status=CampaignStatus(row.status),
        launch_at=row.launch_at,
        recall=tuple(row.recall),
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


def insert_campaign(conn: Connection, campaign: Campaign) -> None:
    conn.execute(
        insert(campaigns).values(
            id=campaign.id,
            account_id=campaign.account_id,
            playbook_id=campaign.playbook_id,
            status=campaign.status.value,
            launch_at=campaign.launch_at,
            recall=list(campaign.recall),
            created_at=campaign.created_at,
            started_at=campaign.started_at,
            finished_at=campaign.finished_at,
        )
    )


def insert_calls(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Bulk insert of new calls; each row names every column of ``calls`` it sets."""
    if rows:
        conn.execute(insert(calls), list(rows))


def get_campaign(
    conn: Connection, account_id: uuid.UUID, campaign_id: uuid.UUID
) -> Campaign | None:
    row = conn.execute(
        select(campaigns).where(campaigns.c.id == campaign_id, campaigns.c.account_id == account_id)
    ).first()
    return _campaign(row) if row else None


def count_calls_by_status(conn: Connection, campaign_id: uuid.UUID) -> dict[str, int]:
    rows = conn.execute(
        select(calls.c.status, func.count())
        .where(calls.c.campaign_id == campaign_id)
        .group_by(calls.c.status)
    )
    return {status: int(count) for status, count in rows}


def list_calls(
    conn: Connection, campaign_id: uuid.UUID, after_position: int, limit: int
) -> list[tuple[int, Call]]:
    """A page of a campaign's calls in the order they were given, with their attempts."""
    rows = conn.execute(
        select(calls)
        .where(calls.c.campaign_id == campaign_id, calls.c.position > after_position)
        .order_by(calls.c.position)
        .limit(limit)
    ).all()
    attempts: dict[uuid.UUID, list[Attempt]] = {row.id: [] for row in rows}
    if rows:
        for attempt in conn.execute(
            select(call_attempts)
            .where(call_attempts.c.call_id.in_(list(attempts)))
            .order_by(call_attempts.c.call_id, call_attempts.c.number)
        ):
            attempts[attempt.call_id].append(
                Attempt(
                    number=attempt.number,
                    outcome=Outcome(attempt.outcome) if attempt.outcome else None,
                    started_at=attempt.started_at,
                    ended_at=attempt.ended_at,
                    provider_call_id=attempt.provider_call_id,
                    error=attempt.error,
                )
            )
    return [
        (
            row.position,
            Call(
                id=row.id,
                campaign_id=row.campaign_id,
                contact_id=row.contact_id,
                phone=row.phone,
                status=CallStatus(row.status),
                attempt_count=row.attempt_count,
                recall=tuple(row.recall),
                next_attempt_at=row.next_attempt_at,
                anchor_at=row.anchor_at,
                skip_reason=row.skip_reason,
                attempts=tuple(attempts[row.id]),
            ),
        )
        for row in rows
    ]


def start_due_campaigns(conn: Connection, now: datetime) -> list[uuid.UUID]:
    """Scheduled campaigns whose launch time has come become running."""
    result = conn.execute(
        update(campaigns)
        .where(
            campaigns.c.status == CampaignStatus.SCHEDULED.value,
            campaigns.c.launch_at <= now,
        )
        .values(status=CampaignStatus.RUNNING.value, started_at=now)
        .returning(campaigns.c.id)
    )
    return [row.id for row in result]


def complete_finished_campaigns(
    conn: Connection, campaign_ids: Iterable[uuid.UUID], now: datetime
) -> list[uuid.UUID]:
    """Running campaigns with no call left to place become completed."""
    ids = list(set(campaign_ids))
    if not ids:
        return []
    active = exists().where(
        and_(
            calls.c.campaign_id == campaigns.c.id,
            calls.c.status.in_([s.value for s in ACTIVE_CALL_STATUSES]),
        )
    )
    result = conn.execute(
        update(campaigns)
        .where(
            campaigns.c.id.in_(ids),
            campaigns.c.status == CampaignStatus.RUNNING.value,
            ~active,
        )
        .values(status=CampaignStatus.COMPLETED.value, finished_at=now)
        .returning(campaigns.c.id)
    )
    return [row.id for row in result]
