"""The writer of contact lists (``transaction.contact_writer``): the contacts of a chunk as its
``encode_contacts`` made them, and their calls; the same contract on both databases."""

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from outbound.domain.records import ContactInput
from outbound.domain.statuses import CampaignStatus
from outbound.services import accounts
from outbound.services import campaigns as campaign_services
from outbound.services.contact_lists import RawContact
from outbound.store.contacts import Known
from outbound.store.database import Database, Transaction
from outbound.store.tables import calls, contacts
from tests.factories import Tenant
from tests.store.conftest import (
    CALLER_ID,
    NOW,
    SECOND,
    encoded,
    new_calls,
    new_campaign,
    unique_phones,
)

LATER = NOW + 60 * SECOND


def _contacts(tx: Transaction, account: Tenant) -> dict[str, dict[str, Any]]:
    rows = tx.execute(select(contacts).where(contacts.c.account_id == account.id))
    return {row.phone: dict(row._mapping) for row in rows}


def _calls(tx: Transaction, campaign_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = tx.execute(
        select(calls).where(calls.c.campaign_id == campaign_id).order_by(calls.c.position)
    )
    return [dict(row._mapping) for row in rows]


def test_a_chunk_writes_its_new_contacts_and_a_call_to_each_in_order(
    tx: Transaction, account: Tenant
):
    campaign = new_campaign(tx, account, recall=(30.0,))
    phones = unique_phones(3)
    given = [
        ContactInput(phones[0], {"first_name": "Ada", "city": "tab\there"}, {"score": 7}),
        ContactInput(phones[1], {"last_name": "new\nline \\N"}, {"note": "back\\slash\t"}),
        ContactInput(phones[2]),
    ]
    ids, rows = encoded(tx, account, given)
    chunk_calls = new_calls(campaign, ids, phones)

    assert tx.contact_writer.write_chunk(rows, [], chunk_calls) == 3

    stored = _contacts(tx, account)
    assert [str(stored[phone]["id"]) for phone in phones] == ids
    assert stored[phones[0]]["first_name"] == "Ada"
    assert stored[phones[0]]["city"] == "tab\there"
    assert stored[phones[0]]["custom_fields"] == {"score": 7}
    assert stored[phones[1]]["last_name"] == "new\nline \\N"
    assert stored[phones[1]]["custom_fields"] == {"note": "back\\slash\t"}
    assert stored[phones[2]]["first_name"] is None and stored[phones[2]]["custom_fields"] == {}
    assert {(row["created_at"], row["updated_at"]) for row in stored.values()} == {(NOW, NOW)}
    written = _calls(tx, campaign.id)
    assert [str(call["id"]) for call in written] == list(chunk_calls.ids)
    assert [(call["position"], call["phone"], str(call["contact_id"])) for call in written] == [
        (1, phones[0], ids[0]),
        (2, phones[1], ids[1]),
        (3, phones[2], ids[2]),
    ]
    for call in written:
        assert (call["status"], call["attempt_count"], call["recall"]) == ("pending", 0, [30.0])
        assert (call["next_attempt_at"], call["timezone"], call["caller_id"]) == (
            NOW,
            None,
            CALLER_ID,
        )
        assert (call["account_id"], call["provider_failures"]) == (account.id, 0)


def test_known_contacts_take_the_fields_given_and_merge_their_custom_fields(
    tx: Transaction, account: Tenant
):
    campaign = new_campaign(tx, account)
    [phone] = unique_phones(1)
    ids, rows = encoded(
        tx, account, [ContactInput(phone, {"first_name": "Ada", "city": "Paris"}, {"a": 1})]
    )
    tx.contact_writer.write_chunk(rows, [], new_calls(campaign, ids, [phone]))
    _, again = encoded(tx, account, [ContactInput(phone, {"city": "Lyon"}, {"b": 2})], at=LATER)

    assert tx.contact_writer.write_chunk([], again, new_calls(campaign, [], [], 1, now=LATER)) == 0

    stored = _contacts(tx, account)[phone]
    assert str(stored["id"]) == ids[0]  # the contact keeps its id
    assert (stored["first_name"], stored["city"]) == ("Ada", "Lyon")
    assert stored["custom_fields"] == {"a": 1, "b": 2}
    assert (stored["created_at"], stored["updated_at"]) == (NOW, LATER)


def test_calls_take_their_zones_and_due_times_and_skip_contacts_the_campaign_has(
    tx: Transaction, account: Tenant
):
    campaign = new_campaign(tx, account)
    phones = unique_phones(3)
    ids, rows = encoded(tx, account, [ContactInput(phone) for phone in phones])
    tx.contact_writer.write_chunk(rows[:1], [], new_calls(campaign, ids[:1], phones[:1]))
    morning = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)

    added = tx.contact_writer.write_chunk(
        rows[1:],
        [],
        new_calls(
            campaign,
            ids,
            phones,
            after=1,
            zones=["Europe/Madrid", "Europe/Madrid", "America/New_York"],
            dues=[morning, morning, None],
            skip_existing=True,
        ),
    )

    assert added == 2  # the first contact has its call already
    assert [
        (c["position"], c["phone"], c["timezone"], c["next_attempt_at"])
        for c in _calls(tx, campaign.id)
    ] == [
        (1, phones[0], None, NOW),
        (2, phones[1], "Europe/Madrid", morning),
        (3, phones[2], "America/New_York", NOW),  # no due time of its own: the first one
    ]


def test_calls_are_rezoned_after_a_position(tx: Transaction, account: Tenant):
    campaign = new_campaign(tx, account)
    phones = unique_phones(2)
    ids, rows = encoded(tx, account, [ContactInput(phone) for phone in phones])
    tx.contact_writer.write_chunk(rows, [], new_calls(campaign, ids, phones, zones=["UTC", "UTC"]))

    tx.contact_writer.rezone_calls(
        campaign.id, 1, phones, ["Asia/Tokyo", "Asia/Tokyo"], [LATER, LATER]
    )

    assert [(c["timezone"], c["next_attempt_at"]) for c in _calls(tx, campaign.id)] == [
        ("UTC", NOW),  # at position 1: not after it
        ("Asia/Tokyo", LATER),
    ]


def test_stored_contacts_are_read_for_each_chunk(database: Database, account: Tenant):
    phones = unique_phones(3)
    tenant = accounts.authenticate(database, account.token)
    assert tenant is not None
    campaign_services.create_campaign(
        database,
        tenant,
        campaign_services.NewCampaign(
            playbook_id=account.playbook_id,
            contacts=[
                RawContact(phones[0], {"timezone": "Europe/Madrid"}),
                RawContact(phones[1]),
            ],
            launch_at="2099-01-01T00:00:00",
        ),
    )
    with database.reading() as tx:
        known = _contacts(tx, account)
        chunks = [[phones[0]], [phones[1], phones[2]], []]

        read = list(tx.contact_writer.with_stored(account.id, chunks, lambda chunk: chunk))

    assert [chunk for chunk, _ in read] == chunks
    assert [stored for _, stored in read] == [
        {phones[0]: Known(str(known[phones[0]]["id"]), "Europe/Madrid")},
        {phones[1]: Known(str(known[phones[1]]["id"]), None)},
        {},
    ]


def test_the_writer_holds_the_accounts_contacts(tx: Transaction, account: Tenant):
    """Taking the account's contacts twice in one transaction does not wait on itself."""
    tx.contact_writer.lock(account.id)
    tx.contact_writer.lock(account.id)
    campaign = new_campaign(tx, account, status=CampaignStatus.SCHEDULED)
    [phone] = unique_phones(1)
    ids, rows = encoded(tx, account, [ContactInput(phone)])
    assert tx.contact_writer.write_chunk(rows, [], new_calls(campaign, ids, [phone])) == 1
