"""Fixtures of the in-process tier: the loops on a fake clock, against SQLite and PostgreSQL.

Tests of a module share its database (``database``); each makes its own account, and what it
leaves due (running campaigns, webhook endpoints) is cancelled or deleted afterwards so that
the next test's loops do not pick it up.
"""

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from outbound.config import Settings
from outbound.domain.records import Account
from outbound.domain.statuses import CampaignStatus
from outbound.exceptions import Conflict
from outbound.services import accounts, campaigns, webhooks
from outbound.store.database import Database
from tests.factories import Tenant
from tests.workers.loops import FakeClock

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday morning


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Short real pauses (the loops poll often), the documented backoffs."""
    return Settings(
        database_url=database_url,
        poll_interval_seconds=0.01,
        provider_retry_seconds=5.0,
        provider_retry_max_seconds=300.0,
        event_retry_seconds=5.0,
        shutdown_timeout_seconds=5.0,
    )


@dataclass(frozen=True)
class Customer:
    account: Account  # as the use cases take it
    playbook_id: uuid.UUID


@pytest.fixture
def customer(database: Database, account: Tenant, clock: FakeClock) -> Iterator[Customer]:
    found = accounts.authenticate(database, account.token)
    assert found is not None
    yield Customer(found, account.playbook_id)
    for endpoint in webhooks.list_endpoints(database, found):
        webhooks.delete_endpoint(database, found, endpoint.id)
    reports = campaigns.list_campaigns(database, found, None, None, 200).items
    for report in reports:
        if report.campaign.status not in (CampaignStatus.COMPLETED, CampaignStatus.CANCELLED):
            with contextlib.suppress(Conflict):  # it ended meanwhile
                campaigns.cancel_campaign(database, found, report.campaign.id, clock.now)
