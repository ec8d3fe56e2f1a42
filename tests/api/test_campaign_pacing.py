"""A campaign's own max_concurrent_calls, on top of its account's limits."""

import uuid

from sqlalchemy import ColumnElement

from outbound.services import accounts
from outbound.store import tables
from outbound.store.database import Database
from tests.factories import make_account, phone
from tests.sampling import InProgressPeak
from tests.servers import Server, wait_for


def test_a_campaigns_concurrency_limit_holds(server: Server, database: Database):
    tenant = make_account(database)
    accounts.update_account(database, tenant.id, max_concurrent_calls=0, calls_per_second=0)
    campaign_id: uuid.UUID | None = None

    def this_campaign() -> ColumnElement[bool] | None:
        return None if campaign_id is None else tables.calls.c.campaign_id == campaign_id

    with InProgressPeak(database, this_campaign) as peak, server.client(tenant.token) as http:
        created = http.post(
            "/campaign",
            json={
                "playbook_id": str(tenant.playbook_id),
                "contacts": [{"phone": phone(n)} for n in range(30)],
                "max_concurrent_calls": 2,
            },
        ).json()
        campaign_id = uuid.UUID(created["campaign_id"])
        report = http.get(f"/campaign/{campaign_id}").json()
        assert report["max_concurrent_calls"] == 2
        wait_for(
            lambda: http.get(f"/campaign/{campaign_id}").json()["status"] == "completed",
            60,
        )
    assert peak.value == 2  # reached (each of the 15 rounds has two calls ringing), never exceeded
