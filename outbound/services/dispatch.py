"""The dispatcher's use cases: start campaigns, claim due calls, record how attempts ended."""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from outbound import metrics
from outbound.domain.pacing import Pacer
from outbound.domain.personalization import contact_variables, render
from outbound.domain.recall import Finish, decide
from outbound.domain.records import AttemptResult, ClaimedAttempt
from outbound.domain.statuses import CallStatus, Outcome
from outbound.domain.windows import is_open, next_opening
from outbound.providers.base import CallRequest, PlaybookSnapshot
from outbound.services import events
from outbound.services.events import Outbox
from outbound.store import accounts as account_store
from outbound.store import calls as store
from outbound.store import campaigns as campaign_store
from outbound.store import contacts as contact_store
from outbound.store import metrics as metrics_store
from outbound.store.database import Database, Transaction

LOST_REASON = "lost"  # no outcome arrived before the attempt's lease ran out
DO_NOT_CALL_REASON = "do_not_call"  # the phone is on the account's suppression list
LEASE_EXPIRY_BATCH = 1000  # expired attempts closed per transaction


@dataclass(frozen=True)
class ClaimResult:
    claimed: list[ClaimedAttempt]
    paced: bool  # due calls were held back by a pacing limit


@lru_cache(maxsize=1024)
def _zone(name: str | None) -> ZoneInfo:
    return ZoneInfo(name or "UTC")


def start_due_campaigns(database: Database, now: datetime) -> list[uuid.UUID]:
    """Scheduled campaigns whose time has come start; one with nothing to call completes."""
    with database.transaction() as conn:
        outbox = Outbox(conn)
        started = campaign_store.start_due_campaigns(conn, now)
        for ref in started:
            outbox.campaign(events.CAMPAIGN_STARTED, ref.account_id, ref.id)
        outbox.completed_campaigns(
            campaign_store.complete_finished_campaigns(conn, [ref.id for ref in started], now)
        )
        outbox.publish(now)
        return [ref.id for ref in started]


def claim(
    database: Database, owner: str, limit: int, clock: Callable[[], datetime], lease: timedelta
) -> ClaimResult:
    """Take due calls within their pacing limits and calling windows, and record their
    attempts before anything is dialed. Suppressed phones are skipped here, at dialing time."""
    if limit <= 0:
        return ClaimResult([], paced=False)
    with database.transaction() as conn:
        now = clock()
        blocked_accounts, blocked_campaigns = store.pacer(conn, now).saturated()
        due = conn.queue.select_due_calls(limit, now, blocked_accounts, blocked_campaigns)
        if not due:
            return ClaimResult([], paced=bool(blocked_accounts or blocked_campaigns))
        limits = store.lock_accounts(conn, {call.account_id for call in due})
        now = clock()  # after the lock: other workers' attempts are all visible
        campaign_limits = {
            call.campaign_id: call.campaign_max_concurrent
            for call in due
            if call.campaign_max_concurrent
        }
        if campaign_limits or any(account.is_limited for account in limits.values()):
            pacer = store.pacer(conn, now, limits.keys(), campaign_limits)
        else:
            pacer = Pacer(accounts={}, campaign_limits={})  # nothing to count
        suppressed: list[uuid.UUID] = []
        deferred: list[tuple[uuid.UUID, datetime]] = []
        starting: list[store.DueCall] = []
        paced = False
        for call in due:
            if call.suppressed:
                suppressed.append(call.id)
                continue
            window = call.calling_window
            if window is not None and not is_open(window, _zone(call.timezone), now):
                deferred.append((call.id, next_opening(window, _zone(call.timezone), now)))
            elif pacer.take(call.account_id, call.campaign_id):
                starting.append(call)
            else:
                paced = True
        store.skip_calls(conn, suppressed, DO_NOT_CALL_REASON, now)
        store.defer_calls(conn, deferred, now)
        claimed = conn.queue.start_attempts(starting, owner, now, lease)
        if suppressed:
            outbox = Outbox(conn)
            for call in due:
                if call.suppressed:
                    outbox.call(events.CALL_SKIPPED, call.account_id, call.id)
            outbox.completed_campaigns(
                campaign_store.complete_finished_campaigns(
                    conn, {call.campaign_id for call in due if call.suppressed}, now
                )
            )
            outbox.publish(now)
        return ClaimResult(claimed, paced=paced)


def build_requests(
    database: Database, claimed: Sequence[ClaimedAttempt], with_content: bool = True
) -> list[CallRequest]:
    """What the provider needs for each attempt: the playbook rendered for the contact.

    Without ``with_content`` (a provider that ignores it), only the numbers are filled in.
    """
    if not with_content:
        return [
            CallRequest(
                call_id=item.call_id,
                attempt_number=item.attempt_number,
                to=item.phone,
                from_=item.caller_id,
                playbook=PlaybookSnapshot(id=item.playbook_id, name=""),
            )
            for item in claimed
        ]
    with database.reading() as conn:
        contacts = contact_store.get_many(conn, {item.contact_id for item in claimed})
        playbooks = account_store.get_playbooks(conn, {item.playbook_id for item in claimed})
    requests = []
    for item in claimed:
        variables = contact_variables(contacts.get(item.contact_id, {"phone": item.phone}))
        playbook = playbooks[item.playbook_id]
        requests.append(
            CallRequest(
                call_id=item.call_id,
                attempt_number=item.attempt_number,
                to=item.phone,
                from_=item.caller_id,
                playbook=PlaybookSnapshot(
                    id=playbook.id,
                    name=playbook.name,
                    first_message=render(playbook.first_message, variables),
                    instructions=render(playbook.instructions, variables),
                    voice=playbook.voice,
                    language=playbook.language,
                ),
                variables=variables,
            )
        )
    return requests


def release_unplaced(
    database: Database,
    unplaced: Sequence[tuple[ClaimedAttempt, str]],
    now: datetime,
    backoff: Callable[[int], timedelta],
) -> None:
    """The provider could not take these attempts: they are not spent, and the campaigns
    show the provider's error."""
    if not unplaced:
        return
    with database.transaction() as conn:
        campaign_ids = store.release_unplaced(
            conn, [(item.call_id, item.attempt_number) for item, _ in unplaced], now, backoff
        )
        campaign_store.record_provider_error(conn, campaign_ids, unplaced[-1][1], now)


def record_placed(database: Database, placed: Sequence[tuple[uuid.UUID, str]]) -> None:
    if placed:
        with database.transaction() as conn:
            conn.queue.record_provider_ids(placed)


def apply_results(conn: Transaction, results: Sequence[AttemptResult], now: datetime) -> list[str]:
    """Apply the recall rule to each result that matches its call's open attempt."""
    in_flight = conn.queue.lock_in_flight([r.call_id for r in results])
    transitions: list[store.CallTransition] = []
    finished_campaigns: set[uuid.UUID] = set()
    outbox = Outbox(conn)
    for result in results:
        call = in_flight.pop(result.call_id, None)
        if call is None or call.attempt_count != result.attempt_number:
            continue  # a late or repeated report: that attempt is already closed
        status, next_attempt_at = next_state(call, result)
        outbox.call(events.CALL_ATTEMPTED, call.account_id, call.id, result.attempt_number)
        if status is CallStatus.COMPLETED:
            outbox.call(events.CALL_COMPLETED, call.account_id, call.id)
        elif status is CallStatus.FAILED:
            outbox.call(events.CALL_FAILED, call.account_id, call.id)
        if status.is_terminal:
            finished_campaigns.add(call.campaign_id)
        transitions.append(
            store.CallTransition(
                call_id=call.id,
                attempt_number=result.attempt_number,
                status=status.value,
                next_attempt_at=next_attempt_at,
                outcome=result.outcome.value,
                ended_at=result.ended_at,
                error=result.error,
                provider_call_id=result.provider_call_id,
            )
        )
    conn.queue.apply_transitions(transitions, now)
    outbox.completed_campaigns(
        campaign_store.complete_finished_campaigns(conn, finished_campaigns, now)
    )
    outbox.publish(now)
    return [t.outcome for t in transitions]


def next_state(
    call: store.InFlightCall, result: AttemptResult
) -> tuple[CallStatus, datetime | None]:
    if call.status is CallStatus.CANCELLED:
        return CallStatus.CANCELLED, None  # the attempt closes; the call stays cancelled
    retry_on = frozenset(Outcome(o) for o in call.recall_on) if call.recall_on is not None else None
    decision = decide(
        call.recall,
        result.attempt_number,
        result.outcome,
        call.anchor_at,
        result.ended_at,
        retry_on,
    )
    if isinstance(decision, Finish):
        return decision.status, None
    return CallStatus.PENDING, next_opening(
        call.calling_window, _zone(call.timezone), decision.due_at
    )


def record_results(database: Database, results: Sequence[AttemptResult], now: datetime) -> int:
    """Close the attempts in ``results``; return how many were applied."""
    if not results:
        return 0
    with database.transaction() as conn:
        outcomes = apply_results(conn, results, now)
    metrics.count_outcomes(outcomes)
    return len(outcomes)


def expire_leases(database: Database, now: datetime) -> int:
    """End as ``failed``/lost every attempt whose lease ran out without an outcome."""
    with database.transaction() as conn:
        expired = store.expired_leases(conn, now, LEASE_EXPIRY_BATCH)
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
        outcomes = apply_results(conn, results, now) if results else []
    metrics.count_outcomes(outcomes)
    return len(outcomes)


def queue_counts(database: Database, now: datetime) -> dict[str, int]:
    """Calls due now (the queue's depth) and calls in progress."""
    with database.reading() as conn:
        return metrics_store.queue_counts(conn, now)


def next_due_at(database: Database) -> datetime | None:
    with database.reading() as conn:
        return store.next_due_at(conn)
