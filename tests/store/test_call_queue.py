"""The call queue's own statements (``transaction.queue``), the same contract on both
databases."""

import uuid
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from outbound.domain.results import ConversationResult, Cost, Turn
from outbound.domain.statuses import CallStatus, CampaignStatus, Outcome
from outbound.domain.windows import parse_window
from outbound.store import do_not_call, results
from outbound.store import results as result_store
from outbound.store.calls import CallTransition
from outbound.store.database import Transaction
from outbound.store.results import row_of
from outbound.store.tables import call_attempts, calls
from tests.factories import Tenant
from tests.store.conftest import NOW, SECOND, add_calls, new_campaign, unique_phones

LEASE = timedelta(minutes=5)
WINDOW = parse_window({"start": "09:00", "end": "17:00", "days": ["mon", "tue"]})


def _call_row(tx: Transaction, call_id: uuid.UUID) -> dict[str, object]:
    return dict(tx.execute(select(calls).where(calls.c.id == call_id)).one()._mapping)


def _attempt_rows(tx: Transaction, call_id: uuid.UUID) -> list[dict[str, object]]:
    rows = tx.execute(
        select(call_attempts).where(call_attempts.c.call_id == call_id).order_by("number")
    )
    return [dict(row._mapping) for row in rows]


def test_due_calls_of_running_campaigns_come_earliest_first(tx: Transaction, account: Tenant):
    running = new_campaign(tx, account, window=WINDOW, max_concurrent_calls=3)
    phones = unique_phones(4)
    later = add_calls(tx, account, running, phones[:2], NOW - SECOND)
    earlier = add_calls(tx, account, running, phones[2:3], NOW - 2 * SECOND)
    add_calls(tx, account, running, phones[3:], NOW + SECOND)  # not due yet
    paused = new_campaign(tx, account, status=CampaignStatus.PAUSED)
    add_calls(tx, account, paused, unique_phones(1), NOW - 3 * SECOND)

    due = tx.queue.select_due_calls(10, NOW)

    assert [call.id for call in due] == [*earlier, *later]
    first = due[0]
    assert (first.campaign_id, first.account_id, first.phone) == (running.id, account.id, phones[2])
    assert (first.playbook_id, first.caller_id, first.attempt_count) == (
        account.playbook_id,
        "+14155550123",
        0,
    )
    assert first.due_at == NOW - 2 * SECOND
    assert first.calling_window == WINDOW  # parsed, as campaigns have it
    assert first.campaign_max_concurrent == 3
    assert not first.suppressed
    assert [call.id for call in tx.queue.select_due_calls(2, NOW)] == [*earlier, later[0]]


def test_due_calls_leave_out_the_accounts_and_campaigns_asked_and_mark_suppressed_phones(
    tx: Transaction, account: Tenant
):
    one, other = new_campaign(tx, account), new_campaign(tx, account)
    phones = unique_phones(2)
    [kept] = add_calls(tx, account, one, phones[:1], NOW - SECOND)
    add_calls(tx, account, other, phones[1:], NOW - SECOND)
    do_not_call.add(tx, account.id, phones[:1], NOW)

    due = tx.queue.select_due_calls(10, NOW, skip_campaigns=[other.id])

    assert [(call.id, call.suppressed) for call in due] == [(kept, True)]
    assert tx.queue.select_due_calls(10, NOW, skip_accounts=[account.id]) == []


def test_starting_attempts_leases_the_calls_and_writes_their_attempts(
    tx: Transaction, account: Tenant
):
    campaign = new_campaign(tx, account)
    call_ids = add_calls(tx, account, campaign, unique_phones(2), NOW - SECOND)
    due = tx.queue.select_due_calls(10, NOW)

    claimed = tx.queue.start_attempts(due, "worker-1", NOW, LEASE)

    assert tx.queue.start_attempts([], "worker-1", NOW, LEASE) == []
    assert [item.call_id for item in claimed] == call_ids
    assert {(item.attempt_number, item.started_at, item.due_at) for item in claimed} == {
        (1, NOW, NOW - SECOND)
    }
    for item in claimed:
        call = _call_row(tx, item.call_id)
        assert call["status"] == CallStatus.IN_PROGRESS.value
        assert (call["attempt_count"], call["next_attempt_at"]) == (1, None)
        assert (call["lease_owner"], call["lease_expires_at"]) == ("worker-1", NOW + LEASE)
        assert call["anchor_at"] == NOW
        [attempt] = _attempt_rows(tx, item.call_id)
        assert isinstance(attempt["id"], uuid.UUID)
        assert (attempt["number"], attempt["caller_id"]) == (1, "+14155550123")
        assert (attempt["due_at"], attempt["started_at"], attempt["outcome"]) == (
            NOW - SECOND,
            NOW,
            None,
        )
    assert tx.queue.select_due_calls(10, NOW) == []


def test_provider_ids_are_recorded_by_attempt(tx: Transaction, account: Tenant):
    campaign = new_campaign(tx, account)
    add_calls(tx, account, campaign, unique_phones(2), NOW - SECOND)
    claimed = tx.queue.start_attempts(tx.queue.select_due_calls(10, NOW), "w", NOW, LEASE)

    tx.queue.record_provider_ids(
        [(item.call_id, item.attempt_number, f"CA{n}") for n, item in enumerate(claimed)]
    )
    tx.queue.record_provider_ids([])

    assert [_attempt_rows(tx, item.call_id)[0]["provider_call_id"] for item in claimed] == [
        "CA0",
        "CA1",
    ]


def test_a_later_result_completes_the_stored_one_and_keeps_what_it_does_not_give(
    tx: Transaction, account: Tenant
):
    """Retell's ``call_ended`` gives the conversation, ``call_analyzed`` the analysis."""
    campaign = new_campaign(tx, account)
    [call_id] = add_calls(tx, account, campaign, unique_phones(1), NOW - SECOND)
    ended = ConversationResult(
        transcript=(Turn("agent", "Hi Ana", 0.4),), cost=Cost(0.12), ended_reason="user_hangup"
    )
    analysed = ConversationResult(
        disposition="renewed", summary="Renewed.", data={"plan": "gold"}, success=True
    )

    for result in (ended, analysed):
        tx.queue.record_results(
            [result_store.row_of(call_id, 1, campaign.id, account.id, result, NOW)]
        )

    assert result_store.stored(tx, [(call_id, 1)])[(call_id, 1)] == ConversationResult(
        disposition="renewed",
        summary="Renewed.",
        data={"plan": "gold"},
        transcript=(Turn("agent", "Hi Ana", 0.4),),
        cost=Cost(0.12),
        ended_reason="user_hangup",
        success=True,
    )


def test_calls_in_flight_come_with_their_campaigns_rules(tx: Transaction, account: Tenant):
    campaign = new_campaign(
        tx, account, recall=(30.0, 120.0), window=WINDOW, recall_on=frozenset({Outcome.BUSY})
    )
    started, waiting = add_calls(tx, account, campaign, unique_phones(2), NOW - SECOND)
    due = [call for call in tx.queue.select_due_calls(10, NOW) if call.id == started]
    tx.queue.start_attempts(due, "w", NOW, LEASE)

    in_flight = tx.queue.lock_in_flight([started, waiting, uuid.uuid4()])

    assert list(in_flight) == [started]  # a pending call has no open attempt
    call = in_flight[started]
    assert (call.campaign_id, call.account_id) == (campaign.id, account.id)
    assert (call.status, call.attempt_count, call.anchor_at) == (CallStatus.IN_PROGRESS, 1, NOW)
    assert call.recall == (30.0, 120.0)
    assert call.recall_on == ["busy"]
    assert call.calling_window == WINDOW
    assert call.timezone is None  # no zone was given with the call


def test_transitions_close_attempts_and_move_their_calls(tx: Transaction, account: Tenant):
    campaign = new_campaign(tx, account)
    recalled, finished = add_calls(tx, account, campaign, unique_phones(2), NOW - SECOND)
    claimed = tx.queue.start_attempts(tx.queue.select_due_calls(10, NOW), "w", NOW, LEASE)
    tx.queue.record_provider_ids([(claimed[0].call_id, 1, "CA-placed")])
    ended = NOW + 30 * SECOND

    tx.queue.apply_transitions(
        [
            CallTransition(
                recalled, 1, CallStatus.PENDING.value, NOW + 60 * SECOND, "no_answer", ended, None
            ),
            CallTransition(
                finished, 1, CallStatus.FAILED.value, None, "failed", ended, "boom", "CA-late"
            ),
        ],
        ended,
    )
    tx.queue.apply_transitions([], ended)

    again = _call_row(tx, recalled)
    assert (again["status"], again["next_attempt_at"]) == ("pending", NOW + 60 * SECOND)
    assert (again["lease_owner"], again["lease_expires_at"], again["updated_at"]) == (
        None,
        None,
        ended,
    )
    [attempt] = _attempt_rows(tx, recalled)
    assert (attempt["outcome"], attempt["ended_at"], attempt["error"]) == ("no_answer", ended, None)
    assert attempt["provider_call_id"] == "CA-placed"  # kept: the one recorded when placed
    done = _call_row(tx, finished)
    assert (done["status"], done["next_attempt_at"]) == ("failed", None)
    [attempt] = _attempt_rows(tx, finished)
    assert (attempt["outcome"], attempt["error"], attempt["provider_call_id"]) == (
        "failed",
        "boom",
        "CA-late",
    )
    assert tx.queue.lock_in_flight([recalled, finished]) == {}


def test_a_result_stored_again_is_completed_by_the_known_fields_of_the_new_one(
    tx: Transaction, account: Tenant
):
    campaign = new_campaign(tx, account)
    [call_id] = add_calls(tx, account, campaign, unique_phones(1), NOW)
    turns = (Turn("agent", "Hello", 0.5), Turn("contact", "Hi", 1.0))
    ended = ConversationResult(summary="Talked.", data={"plan": "pro"}, transcript=turns)
    analysed = ConversationResult(disposition="booked", success=True, truncated=True)

    for result in (ended, analysed):
        tx.queue.record_results([row_of(call_id, 1, campaign.id, account.id, result, NOW)])

    assert results.stored(tx, [(call_id, 1)]) == {
        (call_id, 1): replace(ended, disposition="booked", success=True, truncated=True)
    }
    assert results.stored(tx, [(call_id, 1)], transcript=False)[call_id, 1].transcript == ()
