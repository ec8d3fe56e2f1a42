"""The queue: claiming due calls, recording attempts and their outcomes.

The calls table is the queue. A call is claimed by moving it from ``pending`` to
``in_progress`` and writing its attempt row in the same transaction, before the provider is
asked to dial: a crash after the claim leaves a leased attempt, never a second dial.

The hottest statements are each database's own (``CallQueue``, in ``store.postgres.queue`` and
``store.sqlite.queue``, reached as ``transaction.queue``); the rest, here, is shared.
"""

import json
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple, Protocol

from sqlalchemy import (
    ColumnElement,
    Connection,
    bindparam,
    case,
    delete,
    func,
    literal_column,
    null,
    select,
    union_all,
    update,
)

from outbound.domain.pacing import RATE_WINDOW_SECONDS, AccountLimits, Pacer
from outbound.domain.records import ClaimedAttempt
from outbound.domain.statuses import CallStatus, CampaignStatus
from outbound.domain.windows import CallingWindow, parse_window
from outbound.store.tables import accounts, call_attempts, calls, campaigns, playbooks


class InFlightCall(NamedTuple):
    """A call with an open attempt, and what the recall rule needs to know about it."""

    id: uuid.UUID
    campaign_id: uuid.UUID
    account_id: uuid.UUID
    status: CallStatus
    attempt_count: int
    recall: tuple[float, ...]
    anchor_at: datetime
    recall_on: list[str] | None
    calling_window: CallingWindow | None
    timezone: str | None
    phone: str
    playbook_id: uuid.UUID
    max_callbacks: int | None  # the campaign's; None: the default
    callback_count: int  # callbacks the call has taken
    has_result: bool  # a result was stored for the open attempt (posted before its end)


class CallTransition(NamedTuple):
    call_id: uuid.UUID
    attempt_number: int
    status: str
    next_attempt_at: datetime | None
    outcome: str
    ended_at: datetime
    error: str | None
    provider_call_id: str | None = None
    callback: bool = False  # the next attempt is a callback: the call takes one of its budget


# The fields of a stored result that a later one completes (its known values win).
RESULT_FIELDS = (
    "disposition",
    "summary",
    "data",
    "transcript",
    "recording_url",
    "cost_amount",
    "cost_currency",
    "ended_reason",
    "callback_at",
    "voicemail_left",
    "success",
)


class ResultRow(NamedTuple):
    """An attempt's conversation result as stored, its documents as JSON text."""

    call_id: uuid.UUID
    number: int
    campaign_id: uuid.UUID
    account_id: uuid.UUID
    disposition: str | None
    summary: str | None
    data: str | None  # JSON
    transcript: str | None  # JSON
    recording_url: str | None
    cost_amount: float | None
    cost_currency: str | None
    ended_reason: str | None
    callback_at: datetime | None
    voicemail_left: bool | None
    success: bool | None
    truncated: bool
    received_at: datetime


class DueCall(NamedTuple):
    """A pending call whose time has come, locked for this transaction.

    Its fields are in the order of the claim's columns: it is built straight from a row.
    """

    id: uuid.UUID
    campaign_id: uuid.UUID
    account_id: uuid.UUID
    contact_id: uuid.UUID
    phone: str
    attempt_count: int
    due_at: datetime
    caller_id: str | None
    timezone: str | None
    playbook_id: uuid.UUID
    calling_window: CallingWindow | None  # the campaign's (parsed once per campaign)
    campaign_max_concurrent: int | None
    suppressed: bool  # the phone is on the account's do-not-call list


class ClaimLocks(NamedTuple):
    """The accounts whose claim lock a claim holds: it may start their calls only."""

    limits: dict[uuid.UUID, AccountLimits]  # each held account's pacing limits
    alone: set[uuid.UUID]  # held alone: their budgets and their campaigns' may be counted


class CallQueue(Protocol):
    """The queue's statements that each database writes its own way, on one transaction."""

    def select_due_calls(
        self,
        limit: int,
        now: datetime,
        skip_accounts: Collection[uuid.UUID] = (),
        skip_campaigns: Collection[uuid.UUID] = (),
    ) -> list[DueCall]:
        """Lock up to ``limit`` due calls of running campaigns, earliest first.

        Calls of accounts and campaigns that cannot start an attempt now are left to others.
        """
        ...

    def lock_accounts(
        self, account_ids: Collection[uuid.UUID], paced: Collection[uuid.UUID] = ()
    ) -> ClaimLocks:
        """Take the claim locks of ``account_ids`` that are free, alone for those whose
        budgets the claim counts (limited accounts, and ``paced``: accounts with a limited
        campaign); with their pacing limits. A lock another claim holds is skipped, never
        waited for: that claim may be a frozen worker's."""
        ...

    def start_attempts(
        self, due: Sequence[DueCall], owner: str, now: datetime, lease: timedelta
    ) -> list[ClaimedAttempt]:
        """Move the calls to ``in_progress`` and write their attempts, before anything is
        dialed."""
        ...

    def record_provider_ids(self, placed: Sequence[tuple[uuid.UUID, int, str]]) -> None:
        """Remember the provider's id of each placed attempt (by call id and number)."""
        ...

    def lock_in_flight(self, call_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, InFlightCall]:
        """The calls among ``call_ids`` with an open attempt, locked until the transaction
        ends, with their campaigns' rules (read in the same statement)."""
        ...

    def apply_transitions(self, transitions: Sequence[CallTransition], now: datetime) -> None:
        """Close each attempt with its outcome and move its call to its next state."""
        ...

    def record_results(self, results: Sequence[ResultRow], new: bool = False) -> None:
        """Store attempts' conversation results; a result already stored for an attempt is
        completed by the new one (its known fields win). ``new``: none of these attempts has a
        stored result (their calls, locked, said so), and they are written in bulk."""
        ...

    def contact_rows(self, contact_ids: Sequence[uuid.UUID]) -> Sequence[Sequence[Any]]:
        """What the attempts of a claim need of their contacts: rows of ``CONTACT_ROW``, the
        custom fields as JSON text (``contacts.variables_of`` reads them)."""
        ...


def status_literal(status: CallStatus) -> ColumnElement[str]:
    """A status written into the statement, not bound: the partial indexes of calls are chosen
    by status, and a prepared statement's generic plan cannot see a bound value."""
    return literal_column(f"'{status.value}'")


def pacer(
    conn: Connection,
    now: datetime,
    account_ids: Collection[uuid.UUID] = (),
    campaign_limits: Mapping[uuid.UUID, int | None] | None = None,
) -> Pacer:
    """The pacing state now: calls in progress and attempts started in the last window.

    Counts only what a limit applies to (an account without limits may have thousands of
    calls in flight: they are not counted on every claim). Covers every limited account with
    activity, plus ``account_ids``.
    """
    # One statement for the three counts (in progress: true; started: false), as this runs
    # before every claim.
    in_progress_here = calls.c.status == status_literal(CallStatus.IN_PROGRESS)
    per_campaign: tuple[ColumnElement[Any], ...] = (
        literal_column("true"),
        calls.c.account_id,
        calls.c.campaign_id,
        func.count(),
    )
    counts = union_all(
        select(*per_campaign)
        .select_from(accounts)
        .join(calls, (calls.c.account_id == accounts.c.id) & in_progress_here)
        .where(accounts.c.max_concurrent_calls > 0)
        .group_by(calls.c.account_id, calls.c.campaign_id),
        select(*per_campaign)
        .select_from(campaigns)
        .join(calls, (calls.c.campaign_id == campaigns.c.id) & in_progress_here)
        .where(
            campaigns.c.max_concurrent_calls.is_not(None),
            campaigns.c.status.in_([CampaignStatus.RUNNING.value, CampaignStatus.PAUSED.value]),
        )
        .group_by(calls.c.account_id, calls.c.campaign_id),
        # Attempts started in the rate window, per account.
        select(literal_column("false"), call_attempts.c.account_id, null(), func.count())
        .join(accounts, accounts.c.id == call_attempts.c.account_id)
        .where(
            call_attempts.c.started_at > now - timedelta(seconds=RATE_WINDOW_SECONDS),
            accounts.c.calls_per_second > 0,
        )
        .group_by(call_attempts.c.account_id),
    )
    in_progress: dict[tuple[uuid.UUID, uuid.UUID], int] = {}
    started_by_account: dict[uuid.UUID, int] = {}
    for is_in_progress, account_id, campaign_id, count in conn.execute(counts):
        if is_in_progress:
            in_progress[account_id, campaign_id] = count
        else:
            started_by_account[account_id] = count
    by_account: dict[uuid.UUID, int] = {}
    by_campaign: dict[uuid.UUID, int] = {}
    for (account_id, campaign_id), count in in_progress.items():
        by_account[account_id] = by_account.get(account_id, 0) + count
        by_campaign[campaign_id] = count
    wanted_accounts = set(account_ids) | set(by_account) | set(started_by_account)
    limits = (
        {
            row.id: AccountLimits(row.max_concurrent_calls, row.calls_per_second)
            for row in conn.execute(
                select(
                    accounts.c.id, accounts.c.max_concurrent_calls, accounts.c.calls_per_second
                ).where(accounts.c.id.in_(list(wanted_accounts)))
            )
        }
        if wanted_accounts
        else {}
    )
    limited_campaigns: dict[uuid.UUID, int | None] = dict(campaign_limits or {})
    missing = set(by_campaign) - set(limited_campaigns)
    if missing:
        limited_campaigns.update(
            (row.id, row.max_concurrent_calls)
            for row in conn.execute(
                select(campaigns.c.id, campaigns.c.max_concurrent_calls).where(
                    campaigns.c.id.in_(list(missing)),
                    campaigns.c.max_concurrent_calls.is_not(None),
                )
            )
        )
    return Pacer(
        accounts=limits,
        campaign_limits=limited_campaigns,
        in_progress_by_account=by_account,
        in_progress_by_campaign=by_campaign,
        started_by_account=started_by_account,
    )


def skip_calls(conn: Connection, call_ids: Sequence[uuid.UUID], reason: str, now: datetime) -> None:
    if call_ids:
        conn.execute(
            update(calls)
            .where(calls.c.id.in_(list(call_ids)))
            .values(
                status=CallStatus.SKIPPED.value,
                skip_reason=reason,
                next_attempt_at=None,
                updated_at=now,
            )
        )


def defer_calls(
    conn: Connection, deferred: Sequence[tuple[uuid.UUID, datetime]], now: datetime
) -> None:
    """Move pending calls' due times (e.g. to their calling window's next opening)."""
    if deferred:
        conn.execute(
            update(calls)
            .where(calls.c.id == bindparam("b_id"))
            .values(
                next_attempt_at=bindparam("b_due", type_=calls.c.next_attempt_at.type),
                updated_at=now,
            ),
            [{"b_id": call_id, "b_due": due} for call_id, due in deferred],
        )


OPEN_ATTEMPT_STATUSES = (CallStatus.IN_PROGRESS.value, CallStatus.CANCELLED.value)


@lru_cache(maxsize=256)
def _recall(text: str) -> tuple[float, ...]:
    """A stored recall rule, from its JSON text (calls of a campaign share one)."""
    return tuple(json.loads(text))


@lru_cache(maxsize=256)
def _json(text: str | None) -> Any:
    """A campaign's stored document, from its JSON text (parsed once per campaign, and shared:
    not to be modified)."""
    return None if text is None else json.loads(text)


@lru_cache(maxsize=256)
def _window(text: str | None) -> CallingWindow | None:
    """A campaign's calling window, from its JSON text (parsed once per campaign)."""
    return None if text is None else parse_window(json.loads(text))


def due_calls(rows: Iterable[Sequence[Any]]) -> list[DueCall]:
    """``DueCall`` records from rows of their fields, in order, the window as JSON text."""
    make = DueCall._make  # from a tuple: twice as fast as the constructor's arguments
    return [
        make(
            (
                call_id,
                campaign_id,
                account_id,
                contact_id,
                phone,
                attempt_count,
                due_at,
                caller_id,
                timezone,
                playbook_id,
                _window(calling_window),
                campaign_max_concurrent,
                suppressed,
            )
        )
        for (
            call_id,
            campaign_id,
            account_id,
            contact_id,
            phone,
            attempt_count,
            due_at,
            caller_id,
            timezone,
            playbook_id,
            calling_window,
            campaign_max_concurrent,
            suppressed,
        ) in rows
    ]


def claimed_attempts(due: Sequence[DueCall], now: datetime) -> list[ClaimedAttempt]:
    """The attempts ``start_attempts`` writes for ``due``: each with a new id and number."""
    return [
        ClaimedAttempt(
            call_id=call.id,
            attempt_number=call.attempt_count + 1,
            campaign_id=call.campaign_id,
            account_id=call.account_id,
            playbook_id=call.playbook_id,
            caller_id=call.caller_id,
            contact_id=call.contact_id,
            phone=call.phone,
            due_at=call.due_at,
            started_at=now,
        )
        for call in due
    ]


def in_flight_calls(rows: Iterable[Sequence[Any]]) -> dict[uuid.UUID, InFlightCall]:
    """``InFlightCall`` records by call id, from rows of their fields in order, the recall
    rule, ``recall_on`` and the window as JSON text."""
    make = InFlightCall._make
    return {
        call_id: make(
            (
                call_id,
                campaign_id,
                account_id,
                CallStatus(status),
                attempt_count,
                _recall(recall),
                anchor_at,
                _json(recall_on),
                _window(calling_window),
                timezone,
                phone,
                playbook_id,
                max_callbacks,
                callback_count,
                bool(has_result),
            )
        )
        for (
            call_id,
            campaign_id,
            account_id,
            status,
            attempt_count,
            recall,
            anchor_at,
            recall_on,
            calling_window,
            timezone,
            phone,
            playbook_id,
            max_callbacks,
            callback_count,
            has_result,
        ) in rows
    }


def expired_leases(conn: Connection, now: datetime, limit: int) -> list[tuple[uuid.UUID, int]]:
    """Open attempts whose lease ran out: ``(call_id, attempt_number)``."""
    query = (
        select(calls.c.id, calls.c.attempt_count)
        .where(
            calls.c.status.in_(OPEN_ATTEMPT_STATUSES),
            calls.c.lease_expires_at < now,
        )
        .limit(limit)
    )
    query = query.with_for_update(skip_locked=True)  # (none on SQLite: one writer)
    return [(row.id, row.attempt_count) for row in conn.execute(query)]


def next_due_at(conn: Connection) -> datetime | None:
    """The earliest moment work becomes due: a call of a running campaign, or a launch."""
    call_due = conn.execute(
        select(func.min(calls.c.next_attempt_at))
        .join(campaigns, campaigns.c.id == calls.c.campaign_id)
        .where(
            calls.c.status == status_literal(CallStatus.PENDING),
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


def release_unplaced(
    conn: Connection,
    unplaced: Sequence[tuple[uuid.UUID, int]],
    now: datetime,
    backoff: Callable[[int], timedelta],
) -> set[uuid.UUID]:
    """Undo attempts the provider never placed: the attempt is not spent.

    Each call goes back to ``pending``, due after ``backoff(failures so far)``; a cancelled
    call just loses its open attempt. Returns the campaigns touched.
    """
    numbers = dict(unplaced)
    rows = [
        row
        for row in conn.execute(
            select(
                calls.c.id, calls.c.campaign_id, calls.c.attempt_count, calls.c.provider_failures
            ).where(calls.c.id.in_(list(numbers)), calls.c.lease_expires_at.is_not(None))
        )
        if row.attempt_count == numbers[row.id]
    ]
    if not rows:
        return set()
    conn.execute(
        delete(call_attempts).where(
            call_attempts.c.call_id == bindparam("b_id"),
            call_attempts.c.number == bindparam("b_number"),
            call_attempts.c.outcome.is_(None),
        ),
        [{"b_id": row.id, "b_number": row.attempt_count} for row in rows],
    )
    in_progress = calls.c.status == CallStatus.IN_PROGRESS.value
    conn.execute(
        update(calls)
        .where(calls.c.id == bindparam("b_id"))
        .values(
            status=case((in_progress, CallStatus.PENDING.value), else_=calls.c.status),
            next_attempt_at=case(
                (in_progress, bindparam("b_due", type_=calls.c.next_attempt_at.type)), else_=None
            ),
            anchor_at=case((calls.c.attempt_count == 1, None), else_=calls.c.anchor_at),
            attempt_count=calls.c.attempt_count - 1,
            provider_failures=calls.c.provider_failures + 1,
            lease_owner=None,
            lease_expires_at=None,
            updated_at=now,
        ),
        [{"b_id": row.id, "b_due": now + backoff(row.provider_failures)} for row in rows],
    )
    return {row.campaign_id for row in rows}


class PlatformAttempt(NamedTuple):
    """An open attempt placed through a provider connection, whose lease has run out."""

    call_id: uuid.UUID
    number: int
    provider_call_id: str
    connection_id: uuid.UUID
    started_at: datetime


def expired_platform_attempts(conn: Connection, now: datetime, limit: int) -> list[PlatformAttempt]:
    """Open attempts of playbooks with a provider connection whose lease ran out: before the
    lease rule declares them lost, the platform is asked how they ended."""
    query = (
        select(
            calls.c.id,
            call_attempts.c.number,
            call_attempts.c.provider_call_id,
            playbooks.c.connection_id,
            call_attempts.c.started_at,
        )
        .join(
            call_attempts,
            (call_attempts.c.call_id == calls.c.id)
            & (call_attempts.c.number == calls.c.attempt_count),
        )
        .join(campaigns, campaigns.c.id == calls.c.campaign_id)
        .join(playbooks, playbooks.c.id == campaigns.c.playbook_id)
        .where(
            calls.c.status.in_(OPEN_ATTEMPT_STATUSES),
            calls.c.lease_expires_at < now,
            playbooks.c.connection_id.is_not(None),
            call_attempts.c.provider_call_id.is_not(None),
        )
        .limit(limit)
    )
    return [PlatformAttempt(*row) for row in conn.execute(query)]


def extend_leases(conn: Connection, leases: Sequence[tuple[uuid.UUID, datetime]]) -> None:
    """Open attempts that may last longer than the claim's lease (a platform's calls)."""
    if leases:
        conn.execute(
            update(calls)
            .where(calls.c.id == bindparam("b_id"), calls.c.lease_expires_at.is_not(None))
            .values(lease_expires_at=bindparam("b_until", type_=calls.c.lease_expires_at.type)),
            [{"b_id": call_id, "b_until": until} for call_id, until in leases],
        )
