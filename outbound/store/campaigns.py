"""Campaigns and the calls they hold."""

import uuid
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Row, and_, exists, func, insert, or_, select, update

from outbound.domain.dispositions import DEFAULT_MAX_CALLBACKS
from outbound.domain.records import Attempt, Call, Campaign
from outbound.domain.statuses import (
    ACTIVE_CALL_STATUSES,
    CallStatus,
    CampaignStatus,
    Outcome,
)
from outbound.domain.windows import parse_window
from outbound.store import results as result_store
from outbound.store.calls import status_literal
from outbound.store.tables import call_attempts, calls, campaigns, do_not_call


class Owned(NamedTuple):
    """A resource's id and its account's, for the events that follow a change."""

    id: uuid.UUID
    account_id: uuid.UUID


class SkippedCall(NamedTuple):
    id: uuid.UUID
    account_id: uuid.UUID
    campaign_id: uuid.UUID


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
        calling_window=parse_window(row.calling_window),
        max_concurrent_calls=row.max_concurrent_calls,
        recall_on=frozenset(Outcome(o) for o in row.recall_on)
        if row.recall_on is not None
        else None,
        strict_variables=row.strict_variables,
        provider_error=row.provider_error,
        provider_error_at=row.provider_error_at,
        max_callbacks=DEFAULT_MAX_CALLBACKS if row.max_callbacks is None else row.max_callbacks,
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
            calling_window=campaign.calling_window.to_json() if campaign.calling_window else None,
            max_concurrent_calls=campaign.max_concurrent_calls,
            recall_on=sorted(campaign.recall_on) if campaign.recall_on is not None else None,
            strict_variables=campaign.strict_variables,
            max_callbacks=campaign.max_callbacks,
        )
    )


def get_campaign(
    conn: Connection, account_id: uuid.UUID, campaign_id: uuid.UUID, lock: bool = False
) -> Campaign | None:
    query = select(campaigns).where(
        campaigns.c.id == campaign_id, campaigns.c.account_id == account_id
    )
    if lock:  # (SQLite has one writer: it needs no row lock and renders none)
        query = query.with_for_update()
    row = conn.execute(query).first()
    return _campaign(row) if row else None


def list_campaigns(
    conn: Connection,
    account_id: uuid.UUID,
    status: str | None,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Campaign]:
    """The account's campaigns, newest first, after the keyset ``before``."""
    query = select(campaigns).where(campaigns.c.account_id == account_id)
    if status is not None:
        query = query.where(campaigns.c.status == status)
    if before is not None:
        created_at, campaign_id = before
        query = query.where(
            or_(
                campaigns.c.created_at < created_at,
                and_(campaigns.c.created_at == created_at, campaigns.c.id < campaign_id),
            )
        )
    query = query.order_by(campaigns.c.created_at.desc(), campaigns.c.id.desc()).limit(limit)
    return [_campaign(row) for row in conn.execute(query)]


def set_status(
    conn: Connection,
    campaign_id: uuid.UUID,
    allowed_from: Iterable[CampaignStatus],
    status: CampaignStatus,
    now: datetime,
) -> bool:
    """Move the campaign to ``status`` if it is in one of ``allowed_from``."""
    values: dict[str, Any] = {"status": status.value}
    if status in (CampaignStatus.CANCELLED, CampaignStatus.COMPLETED):
        values["finished_at"] = now
    if status is CampaignStatus.RUNNING:
        values["started_at"] = func.coalesce(campaigns.c.started_at, now)
    result = conn.execute(
        update(campaigns)
        .where(
            campaigns.c.id == campaign_id,
            campaigns.c.status.in_([s.value for s in allowed_from]),
        )
        .values(**values)
    )
    return result.rowcount > 0


def cancel_calls(conn: Connection, campaign_id: uuid.UUID, now: datetime) -> None:
    """Every call not yet terminal becomes cancelled; open attempts still get their outcome."""
    conn.execute(
        update(calls)
        .where(
            calls.c.campaign_id == campaign_id,
            calls.c.status.in_([s.value for s in ACTIVE_CALL_STATUSES]),
        )
        .values(status=CallStatus.CANCELLED.value, next_attempt_at=None, updated_at=now)
    )


def last_position(conn: Connection, campaign_id: uuid.UUID) -> int:
    return int(
        conn.execute(
            select(func.coalesce(func.max(calls.c.position), 0)).where(
                calls.c.campaign_id == campaign_id
            )
        ).scalar_one()
    )


def contacts_in_campaign(
    conn: Connection, campaign_id: uuid.UUID, contact_ids: Collection[uuid.UUID]
) -> set[uuid.UUID]:
    found: set[uuid.UUID] = set()
    ids = list(contact_ids)
    for start in range(0, len(ids), _IN_CHUNK):
        found.update(
            conn.execute(
                select(calls.c.contact_id).where(
                    calls.c.campaign_id == campaign_id,
                    calls.c.contact_id.in_(ids[start : start + _IN_CHUNK]),
                )
            ).scalars()
        )
    return found


def skip_suppressed_calls(
    conn: Connection,
    account_id: uuid.UUID,
    campaign_id: uuid.UUID | None,
    reason: str,
    now: datetime,
    after_position: int = 0,
) -> list[SkippedCall]:
    """Pending calls to phones on the account's do-not-call list become skipped.

    Limited to one campaign's calls after ``after_position`` when ``campaign_id`` is given.
    """
    suppressed = select(do_not_call.c.phone).where(do_not_call.c.account_id == account_id)
    query = (
        update(calls)
        .where(
            calls.c.account_id == account_id,
            calls.c.status == status_literal(CallStatus.PENDING),
            calls.c.phone.in_(suppressed.scalar_subquery()),
        )
        .values(
            status=CallStatus.SKIPPED.value,
            skip_reason=reason,
            next_attempt_at=None,
            updated_at=now,
        )
        .returning(calls.c.id, calls.c.account_id, calls.c.campaign_id)
    )
    if campaign_id is not None:
        query = query.where(calls.c.campaign_id == campaign_id, calls.c.position > after_position)
    return [SkippedCall(*row) for row in conn.execute(query)]


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
    calls_ = _with_attempts(conn, rows, transcripts=False)
    return list(zip([row.position for row in rows], calls_, strict=True))


def account_of_call(conn: Connection, call_id: uuid.UUID) -> uuid.UUID | None:
    return conn.execute(select(calls.c.account_id).where(calls.c.id == call_id)).scalar()


def get_calls(
    conn: Connection, call_ids: Collection[uuid.UUID], transcripts: bool = True
) -> dict[uuid.UUID, Call]:
    """Calls with their attempts and results (``transcripts``: with the results' turns)."""
    found: dict[uuid.UUID, Call] = {}
    ids = list(call_ids)
    for start in range(0, len(ids), _IN_CHUNK):
        rows = conn.execute(select(calls).where(calls.c.id.in_(ids[start : start + _IN_CHUNK])))
        found.update((call.id, call) for call in _with_attempts(conn, rows.all(), transcripts))
    return found


def _with_attempts(conn: Connection, rows: Sequence[Row[Any]], transcripts: bool) -> list[Call]:
    attempts: dict[uuid.UUID, list[Attempt]] = {row.id: [] for row in rows}
    found = result_store.of_calls(conn, list(attempts), transcripts) if rows else {}
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
                    caller_id=attempt.caller_id,
                    result=found.get((attempt.call_id, attempt.number)),
                )
            )
    return [
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
        )
        for row in rows
    ]


def get_campaigns(
    conn: Connection, campaign_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Campaign]:
    rows = conn.execute(select(campaigns).where(campaigns.c.id.in_(list(campaign_ids))))
    return {row.id: _campaign(row) for row in rows}


def start_due_campaigns(conn: Connection, now: datetime) -> list[Owned]:
    """Scheduled campaigns whose launch time has come become running."""
    result = conn.execute(
        update(campaigns)
        .where(
            campaigns.c.status == CampaignStatus.SCHEDULED.value,
            campaigns.c.launch_at <= now,
        )
        .values(status=CampaignStatus.RUNNING.value, started_at=now)
        .returning(campaigns.c.id, campaigns.c.account_id)
    )
    return [Owned(row.id, row.account_id) for row in result]


_IN_CHUNK = 1000  # ids per IN list


def complete_finished_campaigns(
    conn: Connection, campaign_ids: Iterable[uuid.UUID], now: datetime
) -> list[Owned]:
    """Running campaigns with no call left to place become completed."""
    ids = sorted(set(campaign_ids))
    if not ids:
        return []
    # Wait for transactions adding calls (they hold the campaign's row) and look at their
    # calls with the next statement's snapshot: otherwise a campaign could complete while a
    # call is being appended to it. (SQLite has one writer: it waits for nothing.)
    conn.execute(
        select(campaigns.c.id)
        .where(campaigns.c.id.in_(ids), campaigns.c.status == CampaignStatus.RUNNING.value)
        .order_by(campaigns.c.id)
        .with_for_update()
    ).all()
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
        .returning(campaigns.c.id, campaigns.c.account_id)
    )
    return [Owned(row.id, row.account_id) for row in result]


def record_provider_error(
    conn: Connection, campaign_ids: Iterable[uuid.UUID], error: str, now: datetime
) -> None:
    ids = list(campaign_ids)
    if ids:
        conn.execute(
            update(campaigns)
            .where(campaigns.c.id.in_(ids))
            .values(provider_error=error[:1000], provider_error_at=now)
        )
