"""The dispatcher's use cases: start campaigns, claim due calls, record how attempts ended."""

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine

from outbound.domain.recall import Finish, decide
from outbound.domain.records import AttemptResult, ClaimedAttempt
from outbound.domain.statuses import CallStatus, Outcome
from outbound.store import calls as store
from outbound.store import campaigns as campaign_store

LOST_REASON = "lost"  # no outcome arrived before the attempt's lease ran out


def start_due_campaigns(engine: Engine, now: datetime) -> list[uuid.UUID]:
    with engine.begin() as conn:
        return campaign_store.start_due_campaigns(conn, now)


def claim(
    engine: Engine, owner: str, limit: int, now: datetime, lease: timedelta
) -> list[ClaimedAttempt]:
    """Take due calls and record their attempts, before anything is dialed."""
    if limit <= 0:
        return []
    with engine.begin() as conn:
        return store.claim_due_calls(conn, owner, limit, now, lease)


def record_placed(engine: Engine, placed: Sequence[tuple[uuid.UUID, str]]) -> None:
    if placed:
        with engine.begin() as conn:
            store.record_provider_ids(conn, placed)


def _apply_results(conn: Connection, results: Sequence[AttemptResult], now: datetime) -> int:
    """Apply the recall rule to each result that matches its call's open attempt."""
    in_flight = store.lock_in_flight(conn, [r.call_id for r in results])
    transitions: list[store.CallTransition] = []
    campaign_ids: set[uuid.UUID] = set()
    for result in results:
        call = in_flight.pop(result.call_id, None)
        if call is None or call.attempt_count != result.attempt_number:
            continue  # a late or repeated report: that attempt is already closed
        decision = decide(
            call.recall, result.attempt_number, result.outcome, call.anchor_at, result.ended_at
        )
        if isinstance(decision, Finish):
            status, next_attempt_at = decision.status, None
            campaign_ids.add(call.campaign_id)
        else:
            status, next_attempt_at = CallStatus.PENDING, decision.due_at
        transitions.append(
            store.CallTransition(
                call_id=call.id,
                attempt_number=result.attempt_number,
                status=status.value,
                next_attempt_at=next_attempt_at,
                outcome=result.outcome.value,
                ended_at=result.ended_at,
                error=result.error,
            )
        )
    store.apply_transitions(conn, transitions, now)
    campaign_store.complete_finished_campaigns(conn, campaign_ids, now)
    return len(transitions)


def record_results(engine: Engine, results: Sequence[AttemptResult], now: datetime) -> int:
    """Close the attempts in ``results``; return how many were applied."""
    if not results:
        return 0
    with engine.begin() as conn:
        return _apply_results(conn, results, now)


def expire_leases(engine: Engine, now: datetime, limit: int = 1000) -> int:
    """End as ``failed``/lost every attempt whose lease ran out without an outcome."""
    with engine.begin() as conn:
        expired = store.expired_leases(conn, now, limit)
        results = [
            AttemptResult(
                call_id=call_id,
                attempt_number=number,
                outcome=Outcome.FAILED,
                ended_at=now,
                error=LOST_REASON,
            )
            for call_id, number in expired
        ]
        return _apply_results(conn, results, now) if results else 0


def next_due_at(engine: Engine) -> datetime | None:
    with engine.connect() as conn:
        return store.next_due_at(conn)
