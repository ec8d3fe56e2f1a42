"""PostgreSQL's ``CallQueue``: the hottest statements in plain SQL, one statement each whatever
the batch size, their rows taken as the driver gives them.

Array parameters go in binary (``%(name)b``): psycopg builds an array's text form item by item
in Python, 2 to 18 times slower than the binary form (timestamps worst: 3 ms for 1,000), and
that was a fifth of the dispatcher's CPU time.
"""

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.adapt import Dumper
from psycopg.pq import Format
from sqlalchemy import Connection

from outbound.domain.contacts import CONTACT_FIELDS
from outbound.domain.pacing import AccountLimits
from outbound.domain.records import ClaimedAttempt
from outbound.domain.statuses import CallStatus, CampaignStatus
from outbound.store.calls import (
    OPEN_ATTEMPT_STATUSES,
    RESULT_FIELDS,
    CallTransition,
    ClaimLocks,
    DueCall,
    InFlightCall,
    ResultRow,
    claimed_attempts,
    due_calls,
    in_flight_calls,
)

# The claim. The statuses are literals so that the planner sees them. Calls are walked in due
# order (ix_calls_due) and each one's campaign looked up: the fence (OFFSET 0) keeps the planner
# from joining the tables as wholes, which it did with a campaigns table never analyzed (a small
# table that autovacuum leaves alone): a sort of every pending call, 70-90 ms per claim of
# 50,000 due calls instead of 1 ms.
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

# Each account's claim lock, tried, never waited for (a transaction-scoped advisory lock). A
# claim that counts the account's budgets (the account has a limit, or a campaign of its due
# calls has one) takes it alone; claims with nothing to count share it. A lock held by another
# claim, which may be a frozen worker's, is skipped: that claim's calls wait for a later one, the
# others go on (the server ends a frozen worker's transaction: ``database.session_options``).
# The locks are taken in the select list: only for the rows the WHERE clause keeps.
_LOCK_ACCOUNTS = """
SELECT id, max_concurrent_calls, calls_per_second, paced,
  CASE WHEN paced THEN pg_try_advisory_xact_lock(hashtextextended('claim:' || id::text, 0))
       ELSE pg_try_advisory_xact_lock_shared(hashtextextended('claim:' || id::text, 0)) END
FROM (
  SELECT id, max_concurrent_calls, calls_per_second,
    max_concurrent_calls > 0 OR calls_per_second > 0 OR id = ANY(%(paced)b::uuid[]) AS paced
  FROM accounts WHERE id = ANY(%(ids)b::uuid[])
) AS account
"""

_START_ATTEMPTS = f"""
WITH started AS (
  UPDATE calls SET status = '{CallStatus.IN_PROGRESS.value}',
    attempt_count = calls.attempt_count + 1, anchor_at = COALESCE(calls.anchor_at, %(now)s),
    next_attempt_at = NULL, lease_owner = %(owner)s, lease_expires_at = %(lease_expires_at)s,
    updated_at = %(now)s
  WHERE calls.id = ANY(%(call_ids)b::uuid[])
)
INSERT INTO call_attempts (id, call_id, account_id, number, caller_id, due_at, started_at)
SELECT gen_random_uuid(), v.call_id, v.account_id, v.number, v.caller_id, v.due_at, %(now)s
FROM unnest(%(call_ids)b::uuid[], %(account_ids)b::uuid[], %(numbers)b::integer[],
            %(caller_ids)b::text[], %(due)b::timestamptz[])
  AS v(call_id, account_id, number, caller_id, due_at)
"""

_RECORD_PROVIDER_IDS = """
UPDATE call_attempts SET provider_call_id = v.provider_call_id
FROM unnest(%(call_ids)b::uuid[], %(numbers)b::integer[], %(provider_ids)b::text[])
  AS v(call_id, number, provider_call_id)
WHERE call_attempts.call_id = v.call_id AND call_attempts.number = v.number
"""

_IN_FLIGHT = f"""
SELECT calls.id, calls.campaign_id, calls.account_id, calls.status, calls.attempt_count,
       calls.recall::text, calls.anchor_at, campaigns.recall_on::text,
       campaigns.calling_window::text, calls.timezone, calls.phone, campaigns.playbook_id,
       campaigns.max_callbacks, calls.callback_count, attempt_results.call_id IS NOT NULL
FROM calls
JOIN campaigns ON campaigns.id = calls.campaign_id
LEFT JOIN attempt_results
  ON attempt_results.call_id = calls.id AND attempt_results.number = calls.attempt_count
WHERE calls.id = ANY(%(ids)b::uuid[])
  AND calls.status IN ({", ".join(f"'{status}'" for status in OPEN_ATTEMPT_STATUSES)})
  AND calls.lease_expires_at IS NOT NULL
FOR UPDATE OF calls
"""

# Both updates in one statement (a data-modifying WITH runs to completion).
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
  lease_expires_at = NULL, updated_at = %(now)s, callback_count = calls.callback_count + v.callback
FROM unnest(%(call_ids)b::uuid[], %(statuses)b::text[], %(next_attempts)b::timestamptz[],
            %(callbacks)b::integer[])
  AS v(id, status, next_attempt_at, callback)
WHERE calls.id = v.id
"""

# A result stored before (posted while the attempt was open, or a platform's first event) is
# completed by the new one: its known fields win.
_RESULT_COLUMNS = ", ".join(RESULT_FIELDS)
_RECORD_RESULTS = f"""
INSERT INTO attempt_results (call_id, number, campaign_id, account_id, {_RESULT_COLUMNS},
                             truncated, received_at)
SELECT call_id, number, campaign_id, account_id, disposition, summary, data::jsonb,
       transcript::jsonb, recording_url, cost_amount, cost_currency, ended_reason, callback_at,
       voicemail_left, success, truncated, received_at
FROM unnest(%(call_ids)b::uuid[], %(numbers)b::integer[], %(campaign_ids)b::uuid[],
            %(account_ids)b::uuid[], %(dispositions)b::text[], %(summaries)b::text[],
            %(data)b::text[], %(transcripts)b::text[], %(recording_urls)b::text[],
            %(cost_amounts)b::float8[], %(cost_currencies)b::text[], %(ended_reasons)b::text[],
            %(callback_ats)b::timestamptz[], %(voicemails_left)b::boolean[],
            %(successes)b::boolean[], %(truncated)b::boolean[], %(received_ats)b::timestamptz[])
  AS v(call_id, number, campaign_id, account_id, disposition, summary, data, transcript,
       recording_url, cost_amount, cost_currency, ended_reason, callback_at, voicemail_left,
       success, truncated, received_at)
ON CONFLICT (call_id, number) DO UPDATE SET
  {", ".join(f"{c} = COALESCE(excluded.{c}, attempt_results.{c})" for c in RESULT_FIELDS)},
  truncated = excluded.truncated OR attempt_results.truncated,
  received_at = excluded.received_at
"""
# Binary: psycopg formats a row for the text form in Python, twice the time of the binary one.
_COPY_RESULTS = f"COPY attempt_results ({', '.join(ResultRow._fields)}) FROM STDIN (FORMAT BINARY)"
_RESULT_TYPES = (  # the columns of ``ResultRow``, in order
    "uuid",
    "int4",
    "uuid",
    "uuid",
    "text",
    "text",
    "jsonb",
    "jsonb",
    "text",
    "float8",
    "text",
    "text",
    "timestamptz",
    "bool",
    "bool",
    "bool",
    "timestamptz",
)


class _JsonText(Dumper):
    """A document already encoded as JSON text, in jsonb's binary form (its version, 1)."""

    format = Format.BINARY
    oid = psycopg.postgres.types["jsonb"].oid

    def dump(self, obj: str) -> bytes:
        return b"\x01" + obj.encode()


_RESULT_PARAMETERS = (
    "call_ids",
    "numbers",
    "campaign_ids",
    "account_ids",
    "dispositions",
    "summaries",
    "data",
    "transcripts",
    "recording_urls",
    "cost_amounts",
    "cost_currencies",
    "ended_reasons",
    "callback_ats",
    "voicemails_left",
    "successes",
    "truncated",
    "received_ats",
)


_CONTACT_ROWS = f"""
SELECT id, phone, {", ".join(CONTACT_FIELDS)}, custom_fields::text
FROM contacts WHERE id = ANY(%(ids)b::uuid[])
"""


class PostgresCallQueue:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def select_due_calls(
        self,
        limit: int,
        now: datetime,
        skip_accounts: Collection[uuid.UUID] = (),
        skip_campaigns: Collection[uuid.UUID] = (),
    ) -> list[DueCall]:
        rows = self._conn.exec_driver_sql(
            _DUE_CALLS,
            {
                "now": now,
                "limit": limit,
                "skip_accounts": list(skip_accounts),
                "skip_campaigns": list(skip_campaigns),
            },
        )
        return due_calls(rows)

    def lock_accounts(
        self, account_ids: Collection[uuid.UUID], paced: Collection[uuid.UUID] = ()
    ) -> ClaimLocks:
        if not account_ids:
            return ClaimLocks({}, set())
        rows = self._conn.exec_driver_sql(
            _LOCK_ACCOUNTS, {"ids": list(account_ids), "paced": list(paced)}
        ).all()
        return ClaimLocks(
            {row[0]: AccountLimits(row[1], row[2]) for row in rows if row[4]},
            {row[0] for row in rows if row[4] and row[3]},
        )

    def start_attempts(
        self, due: Sequence[DueCall], owner: str, now: datetime, lease: timedelta
    ) -> list[ClaimedAttempt]:
        if not due:
            return []
        claimed = claimed_attempts(due, now)
        self._conn.exec_driver_sql(
            _START_ATTEMPTS,
            {
                "now": now,
                "owner": owner,
                "lease_expires_at": now + lease,
                "call_ids": [item.call_id for item in claimed],
                "account_ids": [item.account_id for item in claimed],
                "numbers": [item.attempt_number for item in claimed],
                "caller_ids": [item.caller_id for item in claimed],
                "due": [item.due_at for item in claimed],
            },
        )
        return claimed

    def record_provider_ids(self, placed: Sequence[tuple[uuid.UUID, int, str]]) -> None:
        if placed:
            call_ids, numbers, provider_ids = zip(*placed, strict=True)
            self._conn.exec_driver_sql(
                _RECORD_PROVIDER_IDS,
                {
                    "call_ids": list(call_ids),
                    "numbers": list(numbers),
                    "provider_ids": list(provider_ids),
                },
            )

    def lock_in_flight(self, call_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, InFlightCall]:
        return in_flight_calls(self._conn.exec_driver_sql(_IN_FLIGHT, {"ids": list(call_ids)}))

    def apply_transitions(self, transitions: Sequence[CallTransition], now: datetime) -> None:
        if not transitions:
            return
        columns = list(zip(*transitions, strict=True))
        self._conn.exec_driver_sql(
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
                "callbacks": [int(callback) for callback in columns[8]],
                "now": now,
            },
        )

    def contact_rows(self, contact_ids: Sequence[uuid.UUID]) -> Sequence[Sequence[Any]]:
        return self._conn.exec_driver_sql(_CONTACT_ROWS, {"ids": list(contact_ids)}).all()

    def record_results(self, results: Sequence[ResultRow], new: bool = False) -> None:
        if results and new:  # COPY: the dispatcher writes one for every attempt it closes
            driver = self._conn.connection.dbapi_connection
            assert isinstance(driver, psycopg.Connection)
            with driver.cursor() as cursor:
                cursor.adapters.register_dumper(None, _JsonText)  # for the jsonb columns
                with cursor.copy(_COPY_RESULTS) as copy:
                    copy.set_types(_RESULT_TYPES)
                    for row in results:
                        copy.write_row(row)
        elif results:
            columns = zip(*results, strict=True)
            self._conn.exec_driver_sql(
                _RECORD_RESULTS, dict(zip(_RESULT_PARAMETERS, map(list, columns), strict=True))
            )
