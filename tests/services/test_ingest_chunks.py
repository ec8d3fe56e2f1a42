"""Large lists are validated chunk by chunk while the earlier chunks are written.

The chunks are made small here, so that a list of a few dozen contacts crosses several of them:
repeats across chunks, known contacts, an invalid contact in the last chunk and the zones of
calling windows must come out as if the list had been read whole.
"""

import threading
import uuid
from typing import Any

import pytest
import sqlalchemy.exc
from sqlalchemy import func, select, text

from outbound.api.bodies import unchecked
from outbound.domain.windows import parse_window
from outbound.exceptions import InvalidRequest
from outbound.services import accounts, campaigns, contact_lists
from outbound.services.campaigns import NewCampaign, RawContact
from outbound.store.database import Database
from outbound.store.postgres import contacts as postgres_contacts
from outbound.store.postgres import dialect as postgres_dialect
from outbound.store.postgres.dialect import REFRESH_THREAD
from outbound.store.tables import calls, contacts
from outbound.workers import ingest_pool as phone_pool
from tests.conftest import migrated_database
from tests.factories import Tenant, make_account

CHUNK = 7


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(phone_pool, "PARALLEL_FROM", 10)
    monkeypatch.setattr(phone_pool, "CHUNK", CHUNK)
    monkeypatch.setattr(contact_lists, "PARALLEL_FROM", 10)
    monkeypatch.setattr(contact_lists, "CHUNK", CHUNK)


def numbers(count: int) -> list[str]:
    base = uuid.uuid4().int % 10_000
    return [f"+3491{(base + n) % 10_000:04d}{n:03d}" for n in range(count)]


def stored_contacts(database: Database, account_id: uuid.UUID) -> dict[str, dict[str, Any]]:
    with database.engine.connect() as conn:
        rows = conn.execute(select(contacts).where(contacts.c.account_id == account_id))
        return {row.phone: dict(row._mapping) for row in rows}


def calls_in_order(database: Database, campaign_id: uuid.UUID) -> list[tuple[str, str | None]]:
    with database.engine.connect() as conn:
        rows = conn.execute(
            select(calls.c.phone, calls.c.timezone)
            .where(calls.c.campaign_id == campaign_id)
            .order_by(calls.c.position)
        )
        return [(row.phone, row.timezone) for row in rows]


def test_repeats_across_chunks_merge_and_are_called_once(database: Database, account: Tenant):
    phones = numbers(30)
    known = phones[5]
    tenant = accounts.authenticate(database, account.token)
    assert tenant is not None
    campaigns.create_campaign(  # the account already knows one phone
        database,
        tenant,
        NewCampaign(
            playbook_id=account.playbook_id,
            contacts=[RawContact(known, {"company": "Old Co"}, {"plan": "free", "seat": 1})],
            launch_at="2099-01-01T00:00:00",
        ),
    )
    contacts = [RawContact(p, {"first_name": f"N{i}"}) for i, p in enumerate(phones)]
    contacts[3] = RawContact(phones[3], {"first_name": "First", "city": "Madrid"}, {"a": 1})
    contacts.append(RawContact(phones[3], {"first_name": "Later"}, {"b": 2}))  # last chunk
    contacts.append(RawContact(known, {"first_name": "Known"}, {"plan": "pro"}))
    created = campaigns.create_campaign(
        database,
        tenant,
        NewCampaign(
            playbook_id=account.playbook_id,
            contacts=contacts,
            launch_at="2099-01-01T00:00:00",
        ),
    )
    assert len(contacts) > 4 * CHUNK
    assert created.contact_count == 30
    stored = stored_contacts(database, account.id)
    assert stored[phones[3]]["first_name"] == "Later"  # later fields win
    assert stored[phones[3]]["city"] == "Madrid"  # fields not given again are kept
    assert stored[phones[3]]["custom_fields"] == {"a": 1, "b": 2}
    assert stored[known]["company"] == "Old Co"
    assert stored[known]["first_name"] == "Known"
    assert stored[known]["custom_fields"] == {"plan": "pro", "seat": 1}
    assert [phone for phone, _ in calls_in_order(database, created.campaign.id)] == phones


def test_an_invalid_contact_in_the_last_chunk_stores_nothing(database: Database, account: Tenant):
    tenant = accounts.authenticate(database, account.token)
    assert tenant is not None
    phones = numbers(4 * CHUNK)
    contacts = [RawContact(p) for p in phones] + [RawContact("+34 not a number")]
    before = stored_contacts(database, account.id)
    with pytest.raises(InvalidRequest) as raised:
        campaigns.create_campaign(
            database, tenant, NewCampaign(playbook_id=account.playbook_id, contacts=contacts)
        )
    assert [(e["index"], e["field"]) for e in raised.value.errors] == [(4 * CHUNK, "phone")]
    assert stored_contacts(database, account.id) == before
    with database.engine.connect() as conn:
        in_campaigns = conn.execute(
            select(func.count()).select_from(calls).where(calls.c.phone == phones[0])
        ).scalar_one()
    assert in_campaigns == 0


def test_windows_read_each_call_in_its_contacts_final_zone(database: Database, account: Tenant):
    tenant = accounts.authenticate(database, account.token)
    assert tenant is not None
    phones = numbers(3 * CHUNK)
    contacts = [RawContact(p) for p in phones]
    contacts.append(RawContact(phones[0], {"timezone": "America/New_York"}))  # a later chunk
    created = campaigns.create_campaign(
        database,
        tenant,
        NewCampaign(
            playbook_id=account.playbook_id,
            contacts=contacts,
            launch_at="2099-01-01T00:00:00",
            calling_window=parse_window({"start": "09:00", "end": "17:00"}),
        ),
    )
    zones = dict(calls_in_order(database, created.campaign.id))
    assert zones[phones[0]] == "America/New_York"
    assert zones[phones[1]] == "Europe/Madrid"  # a Madrid landline's own zone


def test_a_large_insert_refreshes_the_statistics_of_calls(
    postgres_database_url: str, monkeypatch: pytest.MonkeyPatch
):
    """The claim's plan needs them: a new campaign's calls are unknown to the planner."""
    monkeypatch.setattr(postgres_dialect, "STATISTICS_FROM", 20)
    database = migrated_database(postgres_database_url)
    try:
        account = make_account(database)
        tenant = accounts.authenticate(database, account.token)
        assert tenant is not None
        campaigns.create_campaign(
            database,
            tenant,
            NewCampaign(
                playbook_id=account.playbook_id, contacts=[RawContact(p) for p in numbers(19)]
            ),
        )
        finish_statistics_refreshes()
        assert last_analyzed(database) is None  # below the threshold: left to autovacuum
        assert last_analyzed(database, "campaigns") is None
        campaigns.create_campaign(
            database,
            tenant,
            NewCampaign(
                playbook_id=account.playbook_id, contacts=[RawContact(p) for p in numbers(20)]
            ),
        )
        finish_statistics_refreshes()
        assert last_analyzed(database) is not None
        assert last_analyzed(database, "campaigns") is not None  # never by autovacuum while small
    finally:
        database.dispose()


def finish_statistics_refreshes() -> None:
    """Wait for the statistics refreshes that ``create_campaign`` started in the background: the
    ANALYZE of each has then either committed or not been asked for."""
    for thread in threading.enumerate():
        if thread.name == REFRESH_THREAD:
            thread.join(timeout=30)
            assert not thread.is_alive()


def last_analyzed(database: Database, table: str = "calls") -> Any:
    with database.engine.connect() as conn:
        return conn.execute(
            select(text("last_analyze"))
            .select_from(text("pg_stat_user_tables"))
            .where(text("relname = :table"))
            .params(table=table)
        ).scalar_one()


def test_schema_errors_of_any_chunk_name_their_index_and_store_nothing(
    database: Database, account: Tenant
):
    """Contacts as the API gives them: JSON values, validated chunk by chunk in the pool."""
    tenant = accounts.authenticate(database, account.token)
    assert tenant is not None
    items: list[Any] = [{"phone": p} for p in numbers(3 * CHUNK)]
    items[2] = {"phone": items[2]["phone"], "email": "x" * 400}  # first chunk: too long
    items.append("not an object")  # last chunk
    items.append({"phone": "+34 not a number"})  # a phone error: schema errors come first
    before = stored_contacts(database, account.id)
    with pytest.raises(InvalidRequest) as raised:
        campaigns.create_campaign(
            database,
            tenant,
            NewCampaign(playbook_id=account.playbook_id, contacts=unchecked(items)),
        )
    assert raised.value.message == "invalid request: contacts[21], contacts[2].email"
    assert [(e["index"], e["field"]) for e in raised.value.errors] == [
        (2, "contacts[2].email"),
        (3 * CHUNK, f"contacts[{3 * CHUNK}]"),
    ]
    assert stored_contacts(database, account.id) == before


def test_text_comes_back_as_given_whatever_its_characters(database: Database, account: Tenant):
    """Contacts are written as COPY text lines: tabs, newlines, backslashes and a literal
    ``\\N`` must be escaped, and the other lines must not be."""
    tenant = accounts.authenticate(database, account.token)
    assert tenant is not None
    odd = ["tab\there", "line\nbreak", "carriage\rreturn", "back\\slash", "\\N", "Zoë 名前 🙂", ""]
    phones = numbers(3 * CHUNK)
    items: list[Any] = [
        {
            "phone": phone,
            "first_name": odd[i % len(odd)],
            "city": f"plain {i}",
            "custom_fields": {"note": odd[(i + 1) % len(odd)], "quote": 'say "hi"', "n": i},
        }
        for i, phone in enumerate(phones)
    ]
    created = campaigns.create_campaign(
        database,
        tenant,
        NewCampaign(
            playbook_id=account.playbook_id,
            contacts=unchecked(items),
            launch_at="2099-01-01T00:00:00",
        ),
    )
    assert created.contact_count == len(phones)
    stored = stored_contacts(database, account.id)
    for i, phone in enumerate(phones):
        assert stored[phone]["first_name"] == odd[i % len(odd)]
        assert stored[phone]["city"] == f"plain {i}"
        assert stored[phone]["last_name"] is None  # not given: null, not the text "\N"
        assert stored[phone]["custom_fields"] == items[i]["custom_fields"]


def test_new_contacts_get_time_ordered_ids(database: Database, account: Tenant):
    """Version 7 UUIDs: inserts land side by side in the primary key's index."""
    tenant = accounts.authenticate(database, account.token)
    assert tenant is not None
    phones = numbers(2 * CHUNK)
    campaigns.create_campaign(
        database,
        tenant,
        NewCampaign(
            playbook_id=account.playbook_id,
            contacts=[RawContact(p) for p in phones],
            launch_at="2099-01-01T00:00:00",
        ),
    )
    stored = stored_contacts(database, account.id)
    ids = [stored[phone]["id"] for phone in phones]
    assert {contact_id.version for contact_id in ids} == {7}
    assert ids == sorted(ids)  # in the order of the list


def test_chunks_grow_from_small_to_the_chunk_size():
    """A small first chunk starts the writes early; every contact is in exactly one chunk."""
    bounds = list(contact_lists.chunk_bounds(60))
    assert bounds[0] == (0, 1)
    assert [end - start for start, end in bounds][:4] == [1, 2, 4, CHUNK]
    assert [start for start, _ in bounds[1:]] == [end for _, end in bounds[:-1]]
    assert bounds[-1][1] == 60


def test_without_a_second_connection_the_stored_contacts_are_read_in_turn(
    database: Database, account: Tenant, monkeypatch: pytest.MonkeyPatch
):
    """Known phones are read ahead on a second connection; when the server refuses one, on the
    transaction's own, and the result is the same."""

    class NoConnections:
        def connect(self) -> None:
            raise sqlalchemy.exc.OperationalError("connect", {}, Exception("too many clients"))

    monkeypatch.setattr(postgres_contacts, "side_engine", lambda url: NoConnections())
    tenant = accounts.authenticate(database, account.token)
    assert tenant is not None
    phones = numbers(3 * CHUNK)
    first = campaigns.create_campaign(
        database,
        tenant,
        NewCampaign(
            playbook_id=account.playbook_id, contacts=[RawContact(phones[4], {"city": "A"})]
        ),
    )
    created = campaigns.create_campaign(
        database,
        tenant,
        NewCampaign(
            playbook_id=account.playbook_id,
            contacts=[RawContact(p, {"first_name": "N"}) for p in phones],
        ),
    )
    assert first.contact_count == 1 and created.contact_count == len(phones)
    stored = stored_contacts(database, account.id)
    assert stored[phones[4]]["city"] == "A" and stored[phones[4]]["first_name"] == "N"
    assert [phone for phone, _ in calls_in_order(database, created.campaign.id)] == phones
