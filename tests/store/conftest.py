"""Contract tests of the store's interfaces: each test body runs on SQLite and on PostgreSQL
(the ``database`` fixture), most of them in a transaction of their own that is rolled back at
the end (``tx``), so that what one test writes no other test sees."""

import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from outbound.domain.records import Campaign, ContactInput
from outbound.domain.statuses import CampaignStatus, Outcome
from outbound.domain.windows import CallingWindow
from outbound.store import campaigns
from outbound.store.contacts import NewCalls
from outbound.store.database import Database, Transaction
from outbound.store.ids import time_ordered_ids
from tests.factories import Tenant

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday, noon UTC
CALLER_ID = "+14155550123"


@pytest.fixture
def tx(database: Database, account: Tenant) -> Iterator[Transaction]:
    """A transaction of the test's own, never committed (``reading`` rolls back what it
    wrote). The test's account is made before it starts: SQLite has one writer."""
    with database.reading() as transaction:
        yield transaction


def new_campaign(
    tx: Transaction,
    account: Tenant,
    status: CampaignStatus = CampaignStatus.RUNNING,
    recall: tuple[float, ...] = (60.0,),
    window: CallingWindow | None = None,
    max_concurrent_calls: int | None = None,
    recall_on: frozenset[Outcome] | None = None,
) -> Campaign:
    campaign = Campaign(
        id=uuid.uuid4(),
        account_id=account.id,
        playbook_id=account.playbook_id,
        status=status,
        launch_at=None,
        recall=recall,
        created_at=NOW,
        started_at=NOW,
        calling_window=window,
        max_concurrent_calls=max_concurrent_calls,
        recall_on=recall_on,
    )
    campaigns.insert_campaign(tx, campaign)
    return campaign


def unique_phones(count: int) -> list[str]:
    """Valid Madrid numbers no other test uses."""
    base = uuid.uuid4().int % 10_000
    return [f"+3491{base:04d}{n:03d}" for n in range(count)]


def encoded(
    tx: Transaction, account: Tenant, contacts: Sequence[ContactInput], at: datetime = NOW
) -> tuple[list[str], list[object]]:
    """New ids for ``contacts`` and the contacts as the database's writer takes them."""
    ids = time_ordered_ids(len(contacts), int(at.timestamp() * 1000))
    writer = tx.contact_writer
    return ids, writer.encode_contacts(ids, str(account.id), contacts, at.isoformat())


def new_calls(
    campaign: Campaign,
    contact_ids: Sequence[str],
    phones: Sequence[str],
    after: int = 0,
    due: datetime = NOW,
    zones: Sequence[str | None] | None = None,
    dues: Sequence[datetime | None] | None = None,
    skip_existing: bool = False,
    now: datetime = NOW,
) -> NewCalls:
    return NewCalls(
        campaign=campaign,
        ids=time_ordered_ids(len(phones), int(now.timestamp() * 1000)),
        contact_ids=contact_ids,
        phones=phones,
        zones=zones,
        dues=dues,
        after=after,
        caller_id=CALLER_ID,
        first_due=due,
        now=now,
        skip_existing=skip_existing,
    )


def add_calls(
    tx: Transaction, account: Tenant, campaign: Campaign, phones: Sequence[str], due: datetime
) -> list[uuid.UUID]:
    """New contacts for ``phones`` and a call to each, due at ``due``; the calls' ids."""
    ids, rows = encoded(tx, account, [ContactInput(phone) for phone in phones])
    calls = new_calls(campaign, ids, phones, campaigns.last_position(tx, campaign.id), due)
    assert tx.contact_writer.write_chunk(rows, [], calls) == len(phones)
    return [uuid.UUID(call_id) for call_id in calls.ids]


SECOND = timedelta(seconds=1)
