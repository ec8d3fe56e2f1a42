"""The queue: claiming due calls, recording attempts and their outcomes.

The calls table is the queue. A call is claimed by moving it from ``pending`` to
``in_progress`` and writing its attempt row in the same transaction, before the provider is
asked to dial: a crash after the claim leaves a leased attempt, never a second dial.
"""

import json
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Connection,
    Text,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    literal_column,
    null,
    select,
    text,
    union_all,
    update,
)

from outbound.domain.pacing import RATE_WINDOW_SECONDS, AccountLimits, Pacer
from outbound.domain.records import ClaimedAttempt
from outbound.domain.statuses import CallStatus, CampaignStatus
from outbound.store.tables import accounts, call_attempts, calls, campaigns, do_not_call


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
    calling_window: dict[str, Any] | None
    timezone: str | None


class CallTransition(NamedTuple):
    call_id: uuid.UUID
    attempt_number: int
    status: str
    next_attempt_at: datetime | None
    outcome: str
    ended_at: datetime
    error: str | None
    provider_call_id: str | None = None


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
    calling_window: str | None  # the campaign's window as JSON text: parsed once per campaign
    campaign_max_concurrent: int | None
    suppressed: bool  # the phone is on the account's do-not-call list


def status_literal(status: CallStatus) -> ColumnElement[str]:
    """A status written into the statement, not bound: the partial indexes of calls are chosen
    by status, and a prepared statement's generic plan cannot see a bound value."""
    return literal_column(f"'{status.value}'")


# PostgreSQL's claim, in plain SQL: the hottest statement, its rows taken as the driver gives
# them. The statuses are literals so that the planner sees them. Calls are walked in due order
# (ix_calls_due) and each one's campaign looked up: the fence (OFFSET 0) keeps the planner from
# joining the tables as wholes, which it did with a campaigns table never analyzed (a small
# table that autovacuum leaves alone): a sort of every pending call, 70-90 ms per claim of
# 50,000 due calls instead of 1 ms.
# Here and below, array parameters go in binary (``%(name)b``): psycopg builds an array's text
# form item by item in Python, 2 to 18 times slower than the binary form (timestamps worst:
# 3 ms for 1,000), and that was a fifth of the dispatcher's CPU time.
_DUE_CALLS = f"""
SELECT calls.id, calls.campaign_id, calls.account_id, calls.contact_id, calls.phone,
       calls.attempt_count, calls.next_attempt_at, calls.caller_id, calls.timezone,
       campaign.playbook_id, campaign.calling_window::text, campaign.max_concurrent_calls,
       do_not_call.phone IS NOT NULL
FROM calls
CROSS JOIN LATERAL (
  SELECT playbook_id, calling_window, max_concurrent_calls FROM campaigns
  WHERE campaigns.id = calls.campaign_id AND campaigns.status = '{CampaignStatus.RUNNING.value}'
  OFFSET 0
) AS campaign
LEFT JOIN do_not_call
  ON do_not_call.account_id = calls.account_id AND do_not_call.phone = calls.phone
WHERE calls.status = '{CallStatus.PENDING.value}' AND calls.next_attempt_at <= %(now)s
  AND calls.account_id <> ALL(%(skip_accounts)b::uuid[])
  AND calls.campaign_id <> ALL(%(skip_campaigns)b::uuid[])
ORDER BY calls.next_attempt_at
LIMIT %(limit)s
FOR UPDATE OF calls SKIP LOCKED
"""


def select_due_calls(
    conn: Connection,
    limit: int,
    now: datetime,
    skip_accounts: Collection[uuid.UUID] = (),
    skip_campaigns: Collection[uuid.UUID] = (),
) -> list[DueCall]:
    """Lock up to ``limit`` due calls of running campaigns, earliest first.

    Calls of accounts and campaigns that cannot start an attempt now are left to others.
    """
    if conn.dialect.name == "postgresql":
        rows = conn.exec_driver_sql(
            _DUE_CALLS,
            {
                "now": now,
                "limit": limit,
                "skip_accounts": list(skip_accounts),
                "skip_campaigns": list(skip_campaigns),
            },
        )
        return [DueCall._make(row) for row in rows]
    query = (
        select(
            calls.c.id,
            calls.c.campaign_id,
            calls.c.account_id,
            calls.c.contact_id,
            calls.c.phone,
            calls.c.attempt_count,
            calls.c.next_attempt_at,
            calls.c.caller_id,
            calls.c.timezone,
            campaigns.c.playbook_id,
            cast(campaigns.c.calling_window, Text),
            campaigns.c.max_concurrent_calls,
            do_not_call.c.phone.is_not(None),
        )
        .join(campaigns, campaigns.c.id == calls.c.campaign_id)
        .outerjoin(
            do_not_call,
            (do_not_call.c.account_id == calls.c.account_id)
            & (do_not_call.c.phone == calls.c.phone),
        )
        .where(
            calls.c.status == CallStatus.PENDING.value,
            calls.c.next_attempt_at <= now,
            campaigns.c.status == CampaignStatus.RUNNING.value,
        )
        .order_by(calls.c.next_attempt_at)
        .limit(limit)
    )
    if skip_accounts:
        query = query.where(calls.c.account_id.not_in(list(skip_accounts)))
    if skip_campaigns:
        query = query.where(calls.c.campaign_id.not_in(list(skip_campaigns)))
    return [DueCall._make(row) for row in conn.execute(query)]


def lock_accounts(
    conn: Connection, account_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, AccountLimits]:
    """Serialize claims per account across workers (in id order: no deadlock); the accounts'
    pacing limits, read under the lock."""
    if not account_ids:
        return {}
    query = (
        select(accounts.c.id, accounts.c.max_concurrent_calls, accounts.c.calls_per_second)
        .where(accounts.c.id.in_(list(account_ids)))
        .order_by(accounts.c.id)
    )
    query = query.with_for_update()  # (SQLite has one writer: it needs no lock, renders none)
    return {
        account_id: AccountLimits(max_concurrent, per_second)
        for account_id, max_concurrent, per_second in conn.execute(query)
    }


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


_START_ATTEMPTS = f"""
WITH started AS (
  UPDATE calls SET status = '{CallStatus.IN_PROGRESS.value}',
    attempt_count = calls.attempt_count + 1, anchor_at = COALESCE(calls.anchor_at, %(now)s),
    next_attempt_at = NULL, lease_owner = %(owner)s, lease_expires_at = %(lease_expires_at)s,
    updated_at = %(now)s
  WHERE calls.id = ANY(%(call_ids)b::uuid[])
)
INSERT INTO call_attempts (id, call_id, account_id, number, caller_id, due_at, started_at)
SELECT v.id, v.call_id, v.account_id, v.number, v.caller_id, v.due_at, %(now)s
FROM unnest(%(ids)b::uuid[], %(call_ids)b::uuid[], %(account_ids)b::uuid[],
            %(numbers)b::integer[], %(caller_ids)b::text[], %(due)b::timestamptz[])
  AS v(id, call_id, account_id, number, caller_id, due_at)
"""


def start_attempts(
    conn: Connection, due: Sequence[DueCall], owner: str, now: datetime, lease: timedelta
) -> list[ClaimedAttempt]:
    """Move the calls to ``in_progress`` and write their attempts, before anything is dialed."""
    if not due:
        return []
    claimed = [
        ClaimedAttempt(
            call_id=call.id,
            attempt_id=uuid.uuid4(),
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
    if conn.dialect.name == "postgresql":
        # One statement, whatever the batch size.
        conn.exec_driver_sql(
            _START_ATTEMPTS,
            {
                "now": now,
                "owner": owner,
                "lease_expires_at": now + lease,
                "ids": [item.attempt_id for item in claimed],
                "call_ids": [item.call_id for item in claimed],
                "account_ids": [item.account_id for item in claimed],
                "numbers": [item.attempt_number for item in claimed],
                "caller_ids": [item.caller_id for item in claimed],
                "due": [item.due_at for item in claimed],
            },
        )
        return claimed
    conn.execute(
        update(calls)
        .where(calls.c.id.in_([call.id for call in due]))
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
    conn.execute(
        insert(call_attempts),
        [
            {
                "id": item.attempt_id,
                "call_id": item.call_id,
                "account_id": item.account_id,
                "number": item.attempt_number,
                "caller_id": item.caller_id,
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
    if conn.dialect.name == "postgresql":
        conn.execute(
            text(
                "UPDATE call_attempts SET provider_call_id = v.provider_call_id "
                "FROM unnest(CAST(:ids AS uuid[]), CAST(:provider_ids AS text[])) "
                "AS v(id, provider_call_id) WHERE call_attempts.id = v.id"
            ),
            {"ids": [a for a, _ in placed], "provider_ids": [p for _, p in placed]},
        )
        return
    conn.execute(
        update(call_attempts)
        .where(call_attempts.c.id == bindparam("b_id"))
        .values(provider_call_id=bindparam("b_provider_call_id")),
        [{"b_id": attempt_id, "b_provider_call_id": pid} for attempt_id, pid in placed],
    )


_OPEN_ATTEMPT_STATUSES = (CallStatus.IN_PROGRESS.value, CallStatus.CANCELLED.value)


_IN_FLIGHT = f"""
SELECT calls.id, calls.campaign_id, calls.account_id, calls.status, calls.attempt_count,
       calls.recall::text, calls.anchor_at, campaigns.recall_on::text,
       campaigns.calling_window::text, calls.timezone
FROM calls
JOIN campaigns ON campaigns.id = calls.campaign_id
WHERE calls.id = ANY(%(ids)b::uuid[])
  AND calls.status IN ({", ".join(f"'{status}'" for status in _OPEN_ATTEMPT_STATUSES)})
  AND calls.lease_expires_at IS NOT NULL
FOR UPDATE OF calls
"""


@lru_cache(maxsize=256)
def _recall(text: str) -> tuple[float, ...]:
    """A stored recall rule, from its JSON text (calls of a campaign share one)."""
    return tuple(json.loads(text))


@lru_cache(maxsize=256)
def _json(text: str | None) -> Any:
    """A campaign's stored document, from its JSON text (parsed once per campaign, and shared:
    not to be modified)."""
    return None if text is None else json.loads(text)


def lock_in_flight(
    conn: Connection, call_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, InFlightCall]:
    """The calls among ``call_ids`` with an open attempt, locked until the transaction ends,
    with their campaigns' rules (read in the same statement)."""
    if conn.dialect.name == "postgresql":
        rows = conn.exec_driver_sql(_IN_FLIGHT, {"ids": list(call_ids)}).all()
    else:
        rows = conn.execute(
            select(
                calls.c.id,
                calls.c.campaign_id,
                calls.c.account_id,
                calls.c.status,
                calls.c.attempt_count,
                cast(calls.c.recall, Text),
                calls.c.anchor_at,
                cast(campaigns.c.recall_on, Text),
                cast(campaigns.c.calling_window, Text),
                calls.c.timezone,
            )
            .join(campaigns, campaigns.c.id == calls.c.campaign_id)
            .where(
                calls.c.id.in_(list(call_ids)),
                calls.c.status.in_(_OPEN_ATTEMPT_STATUSES),
                calls.c.lease_expires_at.is_not(None),
            )
        ).all()
    return {
        call_id: InFlightCall(
            call_id,
            campaign_id,
            account_id,
            CallStatus(status),
            attempt_count,
            _recall(recall),
            anchor_at,
            _json(recall_on),
            _json(calling_window),
            timezone,
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
        ) in rows
    }


def expired_leases(conn: Connection, now: datetime, limit: int) -> list[tuple[uuid.UUID, int]]:
    """Open attempts whose lease ran out: ``(call_id, attempt_number)``."""
    query = (
        select(calls.c.id, calls.c.attempt_count)
        .where(
            calls.c.status.in_(_OPEN_ATTEMPT_STATUSES),
            calls.c.lease_expires_at < now,
        )
        .limit(limit)
    )
    query = query.with_for_update(skip_locked=True)  # (none on SQLite: one writer)
    return [(row.id, row.attempt_count) for row in conn.execute(query)]


def apply_transitions(
    conn: Connection, transitions: Sequence[CallTransition], now: datetime
) -> None:
    """Close each attempt with its outcome and move its call to its next state."""
    if not transitions:
        return
    if conn.dialect.name == "postgresql":
        _apply_transitions_in_bulk(conn, transitions, now)
        return
    conn.execute(
        update(call_attempts)
        .where(
            call_attempts.c.call_id == bindparam("b_call_id"),
            call_attempts.c.number == bindparam("b_number"),
        )
        .values(
            outcome=bindparam("b_outcome"),
            ended_at=bindparam("b_ended_at", type_=call_attempts.c.ended_at.type),
            error=bindparam("b_error"),
            provider_call_id=func.coalesce(
                call_attempts.c.provider_call_id, bindparam("b_provider_call_id")
            ),
        ),
        [
            {
                "b_call_id": t.call_id,
                "b_number": t.attempt_number,
                "b_outcome": t.outcome,
                "b_ended_at": t.ended_at,
                "b_error": t.error,
                "b_provider_call_id": t.provider_call_id,
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


# PostgreSQL: both updates in one statement (a data-modifying WITH runs to completion).
_APPLY_TRANSITIONS = """
WITH closed AS (
  UPDATE call_attempts SET outcome = v.outcome, ended_at = v.ended_at, error = v.error,
    provider_call_id = COALESCE(call_attempts.provider_call_id, v.provider_call_id)
  FROM unnest(%(call_ids)b::uuid[], %(numbers)b::integer[], %(outcomes)b::text[],
              %(ended)b::timestamptz[], %(errors)b::text[], %(provider_ids)b::text[])
    AS v(call_id, number, outcome, ended_at, error, provider_call_id)
  WHERE call_attempts.call_id = v.call_id AND call_attempts.number = v.number
)
UPDATE calls SET status = v.status, next_attempt_at = v.next_attempt_at, lease_owner = NULL,
  lease_expires_at = NULL, updated_at = %(now)s
FROM unnest(%(call_ids)b::uuid[], %(statuses)b::text[], %(next_attempts)b::timestamptz[])
  AS v(id, status, next_attempt_at)
WHERE calls.id = v.id
"""


def _apply_transitions_in_bulk(
    conn: Connection, transitions: Sequence[CallTransition], now: datetime
) -> None:
    """PostgreSQL: ``apply_transitions`` in one statement, whatever the batch size."""
    columns = list(zip(*transitions, strict=True))
    conn.exec_driver_sql(
        _APPLY_TRANSITIONS,
        {
            "call_ids": list(columns[0]),
            "numbers": list(columns[1]),
            "statuses": list(columns[2]),
            "next_attempts": list(columns[3]),
            "outcomes": list(columns[4]),
            "ended": list(columns[5]),
            "errors": list(columns[6]),
            "provider_ids": list(columns[7]),
            "now": now,
        },
    )


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
