"""The writes that say what to do ON CONFLICT (``transaction.insert``, each database's own
INSERT): the same contract on both databases."""

import uuid
from datetime import timedelta

from sqlalchemy import func, select

from outbound.store import do_not_call, events, idempotency, provider_events
from outbound.store.database import Transaction
from outbound.store.tables import event_counters
from tests.factories import Tenant
from tests.store.conftest import NOW, unique_phones

DAY = timedelta(days=1)


def test_event_sequences_are_taken_one_block_after_the_other(tx: Transaction, account: Tenant):
    assert events.reserve_sequences(tx, account.id, 3) == 3  # the account's counter starts
    assert events.reserve_sequences(tx, account.id, 2) == 5  # and goes on
    assert events.last_sequence(tx, account.id) == 5
    counters = tx.execute(
        select(func.count())
        .select_from(event_counters)
        .where(event_counters.c.account_id == account.id)
    )
    assert counters.scalar_one() == 1


def test_an_idempotency_key_is_taken_once_until_it_expires(tx: Transaction, account: Tenant):
    key = f"key-{uuid.uuid4()}"
    assert idempotency.take(tx, account.id, key, "first", NOW, NOW - DAY)
    idempotency.remember(tx, account.id, key, {"campaign_id": "c1"})

    assert not idempotency.take(tx, account.id, key, "second", NOW + DAY / 2, NOW - DAY / 2)
    assert idempotency.recorded(tx, account.id, key) == ("first", {"campaign_id": "c1"})

    later = NOW + 2 * DAY
    assert idempotency.take(tx, account.id, key, "second", later, later - DAY)  # expired
    assert idempotency.recorded(tx, account.id, key) == ("second", None)


def test_a_phone_added_twice_to_the_do_not_call_list_is_there_once(
    tx: Transaction, account: Tenant
):
    phones = unique_phones(2)
    do_not_call.add(tx, account.id, phones, NOW)
    do_not_call.add(tx, account.id, phones[:1], NOW + DAY)

    assert do_not_call.page(tx, account.id, None, 10) == [(phone, NOW, None) for phone in phones]


def test_provider_events_and_signatures_are_remembered_once(tx: Transaction, account: Tenant):
    call_id = f"CA{uuid.uuid4().hex}"
    assert provider_events.remember_event(tx, "twilio", call_id, "ringing", NOW)
    assert not provider_events.remember_event(tx, "twilio", call_id, "ringing", NOW)
    assert provider_events.remember_event(tx, "twilio", call_id, "ended", NOW)
    digest = uuid.uuid4().hex
    assert provider_events.remember_signature(tx, digest, NOW)
    assert not provider_events.remember_signature(tx, digest, NOW)
