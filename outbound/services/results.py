"""Results that arrive on their own: posted by an agent runtime
(``POST /call/{id}/attempts/{n}/result``) or reported by a platform after the event that ended
the call (Retell's ``call_analyzed``).

A result for an attempt still open is stored, and decides the call when the attempt ends
(``dispatch.apply_results`` reads it). A result for an attempt that already ended (Twilio
reports the hang-up first) decides the call again, as if it had come with the end, as long as
the call has not started another attempt and the attempt ended less than
``OUTBOUND_RESULT_GRACE_SECONDS`` ago: a callback or a retry puts a completed call back to
pending (its campaign runs again), a ``dnc`` suppresses the phone.
"""

import uuid
from datetime import datetime, timedelta

from outbound.domain import recall
from outbound.domain.records import Account, AttemptResult
from outbound.domain.results import ConversationResult, oversized, truncated
from outbound.domain.statuses import CallStatus
from outbound.domain.windows import zone_of
from outbound.exceptions import Conflict, InvalidRequest, NotFound
from outbound.services import events
from outbound.services.dispatch import (
    conversation_of,
    conversation_rules,
    retried_outcomes,
    suppress_phones,
)
from outbound.services.events import Outbox
from outbound.store import campaigns as campaign_store
from outbound.store import results as store
from outbound.store.database import Database, Transaction


def post_result(
    database: Database,
    account: Account,
    call_id: uuid.UUID,
    number: int,
    result: ConversationResult,
    now: datetime,
    grace: timedelta,
) -> None:
    """A client's result for one attempt of one of its account's calls.

    ``InvalidRequest`` over a size limit, ``NotFound`` for an unknown or foreign call or
    attempt, ``Conflict`` when the attempt already has a result or ended too long ago.
    """
    problem = oversized(result)
    if problem is not None:
        field = problem.split(" ", 1)[0]
        raise InvalidRequest.naming([{"field": field, "reason": problem}])
    with database.transaction() as conn:
        attempt = store.lock_attempt(conn, call_id, number)
        if attempt is None or attempt.account_id != account.id:
            raise NotFound("call or attempt not found")
        if attempt.has_result:
            raise Conflict("this attempt already has a result")
        if attempt.ended_at is not None and attempt.ended_at < now - grace:
            raise Conflict(f"the attempt ended more than {grace.total_seconds():g} s ago")
        _record(conn, attempt, result, now)


def record_later_result(
    conn: Transaction,
    call_id: uuid.UUID,
    number: int,
    result: ConversationResult,
    now: datetime,
    grace: timedelta,
) -> None:
    """A platform's result reported after the call's end: it completes the stored one (cut
    to the limits), and decides the call within the grace."""
    attempt = store.lock_attempt(conn, call_id, number)
    if attempt is None:
        return
    too_late = attempt.ended_at is not None and attempt.ended_at < now - grace
    _record(conn, attempt, truncated(result), now, decide=not too_late)  # late: kept to read


def _record(
    conn: Transaction,
    attempt: store.EndedAttempt,
    result: ConversationResult,
    now: datetime,
    decide: bool = True,
) -> None:
    conn.queue.record_results(
        [
            store.row_of(
                attempt.call_id,
                attempt.number,
                attempt.campaign_id,
                attempt.account_id,
                result,
                now,
            )
        ]
    )
    if attempt.outcome is None or not decide:
        return  # still open: the end applies it (``dispatch.apply_results``)
    if attempt.result_applied or attempt.attempt_count != attempt.number:
        return  # decided already, or the call has moved on to another attempt
    if attempt.status not in (CallStatus.COMPLETED, CallStatus.FAILED, CallStatus.PENDING):
        return  # cancelled or skipped meanwhile
    if attempt.anchor_at is None or attempt.ended_at is None:
        return
    rules = conversation_rules(conn, {attempt.playbook_id}).get(attempt.playbook_id)
    conversation = conversation_of(rules, attempt.max_callbacks, attempt.callback_count)
    state = recall.next_state(
        CallStatus.IN_PROGRESS,
        attempt.recall,
        retried_outcomes(attempt.recall_on),
        attempt.anchor_at,
        attempt.calling_window,
        zone_of(attempt.timezone),
        AttemptResult(
            attempt.call_id, attempt.number, attempt.outcome, attempt.ended_at, result=result
        ),
        conversation,
    )
    if (state.status, state.next_attempt_at) == (attempt.status, attempt.next_attempt_at) and (
        not state.do_not_call
    ):
        return  # the result changes nothing
    store.move_call(
        conn,
        attempt.call_id,
        state.status,
        state.next_attempt_at,
        state.callback_at is not None,
        now,
    )
    outbox = Outbox(conn)
    if state.status is CallStatus.COMPLETED and attempt.status is not CallStatus.COMPLETED:
        outbox.call(events.CALL_COMPLETED, attempt.account_id, attempt.call_id, attempt.number)
    elif state.status is CallStatus.FAILED and attempt.status is not CallStatus.FAILED:
        outbox.call(events.CALL_FAILED, attempt.account_id, attempt.call_id, attempt.number)
    if state.callback_at is not None:
        outbox.call(
            events.CALL_CALLBACK_SCHEDULED,
            attempt.account_id,
            attempt.call_id,
            attempt.number,
            at=state.callback_at,
        )
    finished = {attempt.campaign_id} if state.status.is_terminal else set()
    if state.do_not_call:
        finished |= suppress_phones(
            conn,
            [(attempt.account_id, attempt.phone, f"disposition:{result.disposition}")],
            outbox,
            now,
        )
    if state.status is CallStatus.PENDING:
        store.reopen_campaigns(conn, [attempt.campaign_id])
        conn.announce_new_work()
    outbox.completed_campaigns(campaign_store.complete_finished_campaigns(conn, finished, now))
    outbox.publish(now)
