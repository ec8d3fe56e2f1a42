"""SQLite's ``CallQueue``: Core statements, a row at a time where SQLite has no arrays.

SQLite has one writer (every transaction begins IMMEDIATE): the calls need no row locks.
"""

import json
import uuid
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Connection, Text, bindparam, cast, func, insert, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

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
from outbound.store.tables import (
    accounts,
    attempt_results,
    call_attempts,
    calls,
    campaigns,
    contacts,
    do_not_call,
)


class SqliteCallQueue:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def select_due_calls(
        self,
        limit: int,
        now: datetime,
        skip_accounts: Collection[uuid.UUID] = (),
        skip_campaigns: Collection[uuid.UUID] = (),
    ) -> list[DueCall]:
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
        return due_calls(self._conn.execute(query))

    def lock_accounts(
        self, account_ids: Collection[uuid.UUID], paced: Collection[uuid.UUID] = ()
    ) -> ClaimLocks:
        # One writer at a time, claims included: every account is held alone.
        if not account_ids:
            return ClaimLocks({}, set())
        rows = self._conn.execute(
            select(
                accounts.c.id, accounts.c.max_concurrent_calls, accounts.c.calls_per_second
            ).where(accounts.c.id.in_(list(account_ids)))
        ).all()
        return ClaimLocks(
            {row[0]: AccountLimits(row[1], row[2]) for row in rows}, {row[0] for row in rows}
        )

    def start_attempts(
        self, due: Sequence[DueCall], owner: str, now: datetime, lease: timedelta
    ) -> list[ClaimedAttempt]:
        if not due:
            return []
        claimed = claimed_attempts(due, now)
        self._conn.execute(
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
        self._conn.execute(
            insert(call_attempts),
            [
                {
                    "id": uuid.uuid4(),
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

    def record_provider_ids(self, placed: Sequence[tuple[uuid.UUID, int, str]]) -> None:
        if placed:
            self._conn.execute(
                update(call_attempts)
                .where(
                    call_attempts.c.call_id == bindparam("b_call_id"),
                    call_attempts.c.number == bindparam("b_number"),
                )
                .values(provider_call_id=bindparam("b_provider_call_id")),
                [
                    {"b_call_id": call_id, "b_number": number, "b_provider_call_id": pid}
                    for call_id, number, pid in placed
                ],
            )

    def lock_in_flight(self, call_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, InFlightCall]:
        return in_flight_calls(
            self._conn.execute(
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
                    calls.c.phone,
                    campaigns.c.playbook_id,
                    campaigns.c.max_callbacks,
                    calls.c.callback_count,
                    attempt_results.c.call_id.is_not(None),
                )
                .join(campaigns, campaigns.c.id == calls.c.campaign_id)
                .outerjoin(
                    attempt_results,
                    (attempt_results.c.call_id == calls.c.id)
                    & (attempt_results.c.number == calls.c.attempt_count),
                )
                .where(
                    calls.c.id.in_(list(call_ids)),
                    calls.c.status.in_(OPEN_ATTEMPT_STATUSES),
                    calls.c.lease_expires_at.is_not(None),
                )
            )
        )

    def apply_transitions(self, transitions: Sequence[CallTransition], now: datetime) -> None:
        if not transitions:
            return
        self._conn.execute(
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
        self._conn.execute(
            update(calls)
            .where(calls.c.id == bindparam("b_call_id"))
            .values(
                status=bindparam("b_status"),
                next_attempt_at=bindparam("b_next_attempt_at", type_=calls.c.next_attempt_at.type),
                lease_owner=None,
                lease_expires_at=None,
                updated_at=now,
                callback_count=calls.c.callback_count + bindparam("b_callback"),
            ),
            [
                {
                    "b_call_id": t.call_id,
                    "b_status": t.status,
                    "b_next_attempt_at": t.next_attempt_at,
                    "b_callback": int(t.callback),
                }
                for t in transitions
            ],
        )

    def contact_rows(self, contact_ids: Sequence[uuid.UUID]) -> Sequence[Sequence[Any]]:
        columns = (contacts.c.id, contacts.c.phone, *(contacts.c[n] for n in CONTACT_FIELDS))
        return self._conn.execute(
            select(*columns, cast(contacts.c.custom_fields, Text)).where(
                contacts.c.id.in_(list(contact_ids))
            )
        ).all()

    def record_results(self, results: Sequence[ResultRow], new: bool = False) -> None:
        if not results:
            return
        statement = sqlite_insert(attempt_results).values(
            data=bindparam("data", type_=_GIVEN_DOCUMENT),
            transcript=bindparam("transcript", type_=_GIVEN_DOCUMENT),
        )
        merged: dict[str, Any] = {
            name: func.coalesce(statement.excluded[name], attempt_results.c[name])
            for name in RESULT_FIELDS
        }
        merged["truncated"] = statement.excluded.truncated | attempt_results.c.truncated
        merged["received_at"] = statement.excluded.received_at
        self._conn.execute(
            statement.on_conflict_do_update(
                index_elements=[attempt_results.c.call_id, attempt_results.c.number], set_=merged
            ),
            [
                {
                    **row._asdict(),
                    "data": _document(row.data),
                    "transcript": _document(row.transcript),
                }
                for row in results
            ],
        )


# A result without data or transcript binds SQL NULL, not the JSON document null, so that the
# merge below keeps the stored one (a platform's later result does not erase the transcript).
_GIVEN_DOCUMENT = JSON(none_as_null=True)


def _document(text: str | None) -> Any:
    return None if text is None else json.loads(text)
