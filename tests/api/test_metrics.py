"""Prometheus metrics, from the API and from a worker."""

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from outbound.domain.records import Account
from outbound.services import accounts, campaigns
from outbound.services.campaigns import NewCampaign, RawContact
from outbound.store import tables
from outbound.store.database import Database
from tests.conftest import migrated_database
from tests.factories import Tenant, make_account, phone
from tests.servers import Server, free_port, serving_api, start_server, start_workers, wait_for


@pytest.fixture(scope="module")
def database_url(module_database_url: str) -> str:
    """A database and a server of this module's own: a server's counters are exact only when
    no other test's calls go through it."""
    return module_database_url


@pytest.fixture(scope="module")
def server(
    database: Database, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    with start_server(database_url, tmp_path_factory.mktemp("server")) as running:
        yield running


def _value(text: str, metric: str) -> float:
    found = re.search(rf"^{re.escape(metric)} ([0-9.e+-]+)$", text, re.MULTILINE)
    assert found, f"{metric} missing"
    return float(found.group(1))


def test_metrics_count_outcomes_lag_queue_and_latency(server: Server, account: Tenant):
    with server.client(account.token) as http:
        created = http.post(
            "/campaign",
            json={
                "playbook_id": str(account.playbook_id),
                "contacts": [{"phone": phone(1)}, {"phone": phone(62)}],
            },
        ).json()
        wait_for(
            lambda: http.get(f"/campaign/{created['campaign_id']}").json()["status"] == "completed",
            20,
        )
        response = httpx.get(f"{server.url}/metrics")  # no token needed
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    # The module's server placed only this test's calls: its counters are exact.
    assert _value(text, 'outbound_attempts_ended_total{outcome="answered"}') == 1
    assert _value(text, 'outbound_attempts_ended_total{outcome="no_answer"}') == 1
    assert _value(text, 'outbound_attempts_placed_total{provider="simulator"}') == 2
    assert _value(text, "outbound_dispatch_lag_seconds_count") == 2
    assert _value(text, "outbound_calls_due") == 0
    assert _value(text, "outbound_attempts_in_progress") == 0
    latency = (
        'outbound_http_request_duration_seconds_count{method="POST",route="/campaign",status="202"}'
    )
    assert _value(text, latency) == 1


def test_the_queue_gauges_count_due_calls_of_running_campaigns_and_calls_in_progress(
    private_database_url: str,
):
    """The API without a dispatcher (served in the test's process): the queue stays as the
    test leaves it."""
    database = migrated_database(private_database_url)
    tenant = make_account(database)
    with (
        serving_api(private_database_url) as url,
        httpx.Client(base_url=url, headers=tenant.headers) as http,
    ):

        def create(count: int, **body: object) -> str:
            contacts = [{"phone": phone(n)} for n in range(count)]
            response = http.post(
                "/campaign",
                json={"playbook_id": str(tenant.playbook_id), "contacts": contacts, **body},
            )
            assert response.status_code == 202, response.text
            return str(response.json()["campaign_id"])

        def gauges() -> tuple[float, float]:
            text = http.get("/metrics").text
            return _value(text, "outbound_calls_due"), _value(text, "outbound_attempts_in_progress")

        running = create(5)
        create(2, launch_at="2099-01-01T00:00:00Z")  # scheduled: not due
        paused = create(3)
        assert http.post(f"/campaign/{paused}/pause").status_code == 200
        with database.engine.begin() as conn:
            of_running = tables.calls.c.campaign_id == uuid.UUID(running)
            ringing = conn.execute(select(tables.calls.c.id).where(of_running).limit(2))
            conn.execute(
                tables.calls.update()
                .where(tables.calls.c.id.in_(list(ringing.scalars())))
                .values(status="in_progress")
            )
        assert gauges() == (3, 2)
        assert http.post(f"/campaign/{running}/pause").status_code == 200
        assert gauges() == (0, 2)  # paused: its calls are not due, its ringing ones count
    database.dispose()


def test_a_worker_serves_its_metrics(postgres_database_url: str, tmp_path: Path):
    database = migrated_database(postgres_database_url)
    tenant = make_account(database)
    accounts.update_account(database, tenant.id, max_concurrent_calls=0, calls_per_second=0)
    campaigns.create_campaign(
        database,
        Account(id=tenant.id, name="Acme", timezone="UTC"),
        NewCampaign(
            playbook_id=tenant.playbook_id, contacts=[RawContact(phone(n)) for n in range(5)]
        ),
    )
    port = free_port()
    with start_workers(postgres_database_url, tmp_path, 1, {"OUTBOUND_METRICS_PORT": str(port)}):

        def placed() -> bool:
            try:
                text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
            except httpx.TransportError:
                return False
            return 'outbound_attempts_ended_total{outcome="answered"} 5.0' in text

        wait_for(placed, 30, 0.2)
    database.dispose()
