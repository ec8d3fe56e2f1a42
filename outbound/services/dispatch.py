"""The dispatcher's use cases: start campaigns, claim due calls, record how attempts ended."""

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from outbound import metrics
from outbound.domain import recall
from outbound.domain.claims import sort_due_calls
from outbound.domain.dispositions import DEFAULT_MAX_CALLBACKS, VoicemailAction
from outbound.domain.pacing import AccountLimits, Pacer
from outbound.domain.personalization import contact_variables, is_template, render
from outbound.domain.records import AttemptResult, ClaimedAttempt, Playbook
from outbound.domain.statuses import CallStatus, Outcome
from outbound.domain.windows import zone_of
from outbound.providers.base import CallRequest, PlaybookSnapshot
from outbound.services import events
from outbound.services.events import Outbox
from outbound.store import calls as store
from outbound.store import campaigns as campaign_store
from outbound.store import contacts as contact_store
from outbound.store import do_not_call as dnc_store
from outbound.store import metrics as metrics_store
from outbound.store import playbooks as playbook_store
from outbound.store import results as result_store
from outbound.store.database import Database, Transaction

LOST_REASON = "lost"  # no outcome arrived before the attempt's lease ran out
DO_NOT_CALL_REASON = "do_not_call"  # the phone is on the account's suppression list
LEASE_EXPIRY_BATCH = 1000  # expired attempts closed per transaction
# Accounts whose calls one claim takes at most: each account's claim lock is an entry of
# PostgreSQL's shared lock table, sized for max_locks_per_transaction (64 by default) each.
MAX_CLAIM_ACCOUNTS = 64


@dataclass(frozen=True)
class ClaimResult:
    claimed: list[ClaimedAttempt]
    paced: bool  # due calls were held back by a pacing limit


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
        due, limits, busy = _take_accounts(
            conn, due, limit, now, blocked_accounts, blocked_campaigns
        )
        now = clock()  # after the locks: the attempts of claims that held them are visible
        campaign_limits = {
            call.campaign_id: call.campaign_max_concurrent
            for call in due
            if call.campaign_max_concurrent
        }
        if campaign_limits or any(account.is_limited for account in limits.values()):
            pacer = store.pacer(conn, now, limits.keys(), campaign_limits)
        else:
            pacer = Pacer(accounts={}, campaign_limits={})  # nothing to count
        sort = sort_due_calls(due, pacer, now)
        store.skip_calls(conn, [call.id for call in sort.skipped], DO_NOT_CALL_REASON, now)
        store.defer_calls(conn, sort.deferred, now)
        claimed = conn.queue.start_attempts(sort.starting, owner, now, lease)
        if sort.skipped:
            outbox = Outbox(conn)
            for call in sort.skipped:
                outbox.call(events.CALL_SKIPPED, call.account_id, call.id)
            outbox.completed_campaigns(
                campaign_store.complete_finished_campaigns(
                    conn, {call.campaign_id for call in sort.skipped}, now
                )
            )
            outbox.publish(now)
        return ClaimResult(claimed, paced=sort.paced or bool(busy))


def _take_accounts(
    conn: Transaction,
    due: list[store.DueCall],
    limit: int,
    now: datetime,
    skip_accounts: set[uuid.UUID],
    skip_campaigns: set[uuid.UUID],
) -> tuple[list[store.DueCall], dict[uuid.UUID, AccountLimits], bool]:
    """The due calls the claim may start, their accounts' claim locks taken; the accounts'
    limits; whether calls were left because another claim holds their account.

    Only the calls of the first ``MAX_CLAIM_ACCOUNTS`` accounts are taken. When another claim
    holds some of these (or a frozen worker does, until the server ends its transaction), the
    queue is read once more past them.
    """
    accounts = list(dict.fromkeys(call.account_id for call in due))
    locks = conn.queue.lock_accounts(accounts[:MAX_CLAIM_ACCOUNTS], _paced(due))
    if len(locks.limits) == len(accounts):
        return due, locks.limits, False  # every account taken: the usual case
    busy = set(accounts[:MAX_CLAIM_ACCOUNTS]) - locks.limits.keys()
    if busy:
        due = conn.queue.select_due_calls(limit, now, skip_accounts | busy, skip_campaigns)
        fresh = [a for a in dict.fromkeys(call.account_id for call in due) if a not in locks.limits]
        more = conn.queue.lock_accounts(
            fresh[: max(0, MAX_CLAIM_ACCOUNTS - len(locks.limits))], _paced(due)
        )
        locks.limits.update(more.limits)
        locks.alone.update(more.alone)
    allowed = [
        call
        for call in due
        if call.account_id in locks.alone
        # Held shared: a campaign's limit would be counted without the account held alone.
        or (call.account_id in locks.limits and not call.campaign_max_concurrent)
    ]
    return allowed, locks.limits, bool(busy)


def _paced(due: Sequence[store.DueCall]) -> set[uuid.UUID]:
    """Accounts whose budgets a claim of ``due`` counts for their campaigns' limits."""
    return {call.account_id for call in due if call.campaign_max_concurrent}


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
    with database.reading_apart() as conn:
        contacts = contact_store.variables_of(conn, {item.contact_id for item in claimed})
        playbooks = playbook_store.get_playbooks(conn, {item.playbook_id for item in claimed})
    # A playbook whose texts are not templates is the same for every contact: made once.
    constant = {
        playbook.id: _snapshot(playbook, {})
        for playbook in playbooks.values()
        if not any(map(is_template, filter(None, _texts(playbook))))
    }
    requests = []
    for item in claimed:
        variables = contacts.get(item.contact_id) or contact_variables({"phone": item.phone})
        snapshot = constant.get(item.playbook_id)
        requests.append(
            CallRequest(
                call_id=item.call_id,
                attempt_number=item.attempt_number,
                to=item.phone,
                from_=item.caller_id,
                playbook=snapshot or _snapshot(playbooks[item.playbook_id], variables),
                variables=variables,
            )
        )
    return requests


def _texts(playbook: Playbook) -> tuple[str | None, ...]:
    """The templates of a playbook that are rendered for each contact."""
    return (playbook.first_message, playbook.instructions, _voicemail_message(playbook))


def _voicemail_message(playbook: Playbook) -> str | None:
    voicemail = playbook.voicemail
    return voicemail.message if voicemail.action is VoicemailAction.LEAVE_MESSAGE else None


def _snapshot(playbook: Playbook, variables: Mapping[str, Any]) -> PlaybookSnapshot:
    """The playbook as the agent runs it for a contact of ``variables``."""
    return PlaybookSnapshot(
        id=playbook.id,
        name=playbook.name,
        first_message=render(playbook.first_message, variables),
        instructions=render(playbook.instructions, variables),
        voice=playbook.voice,
        language=playbook.language,
        voicemail_message=render(_voicemail_message(playbook), variables),
        dispositions=playbook.dispositions,
        data_fields=playbook.data_fields,
        provider=playbook.provider,
    )


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


def record_placed(
    database: Database,
    placed: Sequence[tuple[uuid.UUID, int, str]],
    leases: Sequence[tuple[uuid.UUID, datetime]] = (),
) -> None:
    """Store the provider's call id of each placed attempt (by call id and number), and the
    longer leases of calls placed on a platform whose calls last longer than the claim's
    lease."""
    if placed or leases:
        with database.transaction() as conn:
            conn.queue.record_provider_ids(placed)
            store.extend_leases(conn, leases)


def expired_platform_attempts(database: Database, now: datetime) -> list[store.PlatformAttempt]:
    with database.reading() as conn:
        return store.expired_platform_attempts(conn, now, LEASE_EXPIRY_BATCH)


def extend_leases(database: Database, leases: Sequence[tuple[uuid.UUID, datetime]]) -> None:
    with database.transaction() as conn:
        store.extend_leases(conn, leases)


def apply_results(conn: Transaction, results: Sequence[AttemptResult], now: datetime) -> list[str]:
    """Apply the recall rule, and the playbook's action for a conversation's disposition, to
    each result that matches its call's open attempt; store the conversations' results in the
    same transaction."""
    in_flight = conn.queue.lock_in_flight([r.call_id for r in results])
    matched: list[tuple[store.InFlightCall, AttemptResult]] = []
    for result in results:
        call = in_flight.pop(result.call_id, None)
        if call is None or call.attempt_count != result.attempt_number:
            continue  # a late or repeated report: that attempt is already closed
        matched.append((call, result))
    matched, already_stored = _with_stored_results(conn, matched)
    rules = conversation_rules(
        conn, {call.playbook_id for call, result in matched if _needs_rules(result)}
    )
    transitions: list[store.CallTransition] = []
    stored: list[store.ResultRow] = []  # results of attempts without one (the usual case)
    completing: list[store.ResultRow] = []  # results completing one posted before the end
    finished_campaigns: set[uuid.UUID] = set()
    suppressed: list[tuple[store.InFlightCall, str]] = []
    retry_on: dict[uuid.UUID, frozenset[Outcome] | None] = {}  # once per campaign of the batch
    outbox = Outbox(conn)
    outbox.expect({call.account_id for call, _ in matched})
    for call, result in matched:
        if call.campaign_id not in retry_on:
            retry_on[call.campaign_id] = retried_outcomes(call.recall_on)
        state = recall.next_state(
            call.status,
            call.recall,
            retry_on[call.campaign_id],
            call.anchor_at,
            call.calling_window,
            zone_of(call.timezone),
            result,
            conversation_of(rules.get(call.playbook_id), call.max_callbacks, call.callback_count),
        )
        if result.result is not None and (call.id, result.attempt_number) not in already_stored:
            (completing if call.has_result else stored).append(
                result_store.row_of(
                    call.id,
                    result.attempt_number,
                    call.campaign_id,
                    call.account_id,
                    result.result,
                    now,
                )
            )
        outbox.call(events.CALL_ATTEMPTED, call.account_id, call.id, result.attempt_number)
        _announce(outbox, call.account_id, call.id, result.attempt_number, state)
        if state.do_not_call and result.result is not None:
            suppressed.append((call, f"disposition:{result.result.disposition}"))
        if state.status.is_terminal:
            finished_campaigns.add(call.campaign_id)
        transitions.append(
            store.CallTransition(
                call_id=call.id,
                attempt_number=result.attempt_number,
                status=state.status.value,
                next_attempt_at=state.next_attempt_at,
                outcome=result.outcome.value,
                ended_at=result.ended_at,
                error=result.error,
                provider_call_id=result.provider_call_id,
                callback=state.callback_at is not None,
            )
        )
    conn.queue.record_results(stored, new=True)
    conn.queue.record_results(completing)
    conn.queue.apply_transitions(transitions, now)
    finished_campaigns |= suppress_phones(
        conn, [(call.account_id, call.phone, reason) for call, reason in suppressed], outbox, now
    )
    outbox.completed_campaigns(
        campaign_store.complete_finished_campaigns(conn, finished_campaigns, now)
    )
    outbox.publish(now)
    return [t.outcome for t in transitions]


def _with_stored_results(
    conn: Transaction, matched: list[tuple[store.InFlightCall, AttemptResult]]
) -> tuple[list[tuple[store.InFlightCall, AttemptResult]], set[tuple[uuid.UUID, int]]]:
    """Attach the results posted while their attempts were open to the reports that close
    them (a runtime may post its result before the platform reports the hang-up; a report that
    carries a result of its own completes the posted one, its known fields winning); and the
    attempts whose reports brought no result (already stored)."""
    wanted = [
        (call.id, result.attempt_number)
        for call, result in matched
        if call.has_result and result.outcome in _CONVERSED
    ]
    found = result_store.stored(conn, wanted, transcript=False) if wanted else {}
    if not found:
        return matched, set()
    completed = []
    for call, result in matched:
        posted = found.get((call.id, result.attempt_number))
        if posted is not None:
            reported = result.result
            result = replace(result, result=posted.merged(reported) if reported else posted)
        completed.append((call, result))
    nothing_new = {(call.id, r.attempt_number) for call, r in matched if r.result is None}
    return completed, nothing_new & set(found)


_CONVERSED = (Outcome.ANSWERED, Outcome.VOICEMAIL)


def _needs_rules(result: AttemptResult) -> bool:
    found = result.result
    return found is not None and bool(found.disposition or found.voicemail_left)


def conversation_rules(
    conn: Transaction, playbook_ids: set[uuid.UUID]
) -> dict[uuid.UUID, recall.Conversation]:
    """What the playbooks declare about their conversations (callbacks taken left at 0)."""
    if not playbook_ids:
        return {}
    return {
        playbook.id: recall.Conversation(
            actions={d.name: d.action for d in playbook.dispositions},
            after_voicemail=playbook.voicemail.then,
        )
        for playbook in playbook_store.get_playbooks(conn, playbook_ids).values()
    }


def conversation_of(
    rules: recall.Conversation | None, max_callbacks: int | None, callbacks_taken: int
) -> recall.Conversation:
    """What decides a call after a conversation: its playbook's rules (``conversation_rules``)
    and the callbacks it has taken of its campaign's budget."""
    if rules is None and not callbacks_taken:
        return recall.NO_CONVERSATION
    return replace(
        rules or recall.NO_CONVERSATION,
        max_callbacks=DEFAULT_MAX_CALLBACKS if max_callbacks is None else max_callbacks,
        callbacks_taken=callbacks_taken,
    )


def _announce(
    outbox: Outbox,
    account_id: uuid.UUID,
    call_id: uuid.UUID,
    number: int,
    state: recall.NextState,
) -> None:
    """The events of a call's new state, each with the attempt that decided it."""
    if state.status is CallStatus.COMPLETED:
        outbox.call(events.CALL_COMPLETED, account_id, call_id, number)
    elif state.status is CallStatus.FAILED:
        outbox.call(events.CALL_FAILED, account_id, call_id, number)
    if state.callback_at is not None:
        outbox.call(
            events.CALL_CALLBACK_SCHEDULED, account_id, call_id, number, at=state.callback_at
        )


def suppress_phones(
    conn: Transaction,
    phones: Sequence[tuple[uuid.UUID, str, str]],
    outbox: Outbox,
    now: datetime,
) -> set[uuid.UUID]:
    """A ``dnc`` disposition: each phone joins its account's do-not-call list with the reason,
    and its pending calls in every campaign are skipped. Returns the campaigns touched."""
    if not phones:
        return set()
    for account_id, phone, reason in phones:
        dnc_store.add(conn, account_id, [phone], now, reason=reason)
    skipped = result_store.skip_pending_calls_of(
        conn, [(account_id, phone) for account_id, phone, _ in phones], DO_NOT_CALL_REASON, now
    )
    for call in skipped:
        outbox.call(events.CALL_SKIPPED, call.account_id, call.id)
    return {call.campaign_id for call in skipped}


def retried_outcomes(recall_on: Sequence[str] | None) -> frozenset[Outcome] | None:
    """A campaign's ``recall_on`` as the recall rule takes it."""
    return None if recall_on is None else frozenset(Outcome(o) for o in recall_on)


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
    with database.reading_apart() as conn:
        return store.next_due_at(conn)
