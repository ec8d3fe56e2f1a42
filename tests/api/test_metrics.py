"""Prometheus metrics, from the API and from a worker."""

import re
from pathlib import Path

import httpx

from outbound.domain.records import Account
from outbound.services import accounts, campaigns
from outbound.services.campaigns import NewCampaign, RawContact
from tests.conftest import migrated_database
from tests.factories import Tenant, make_account, phone
from tests.servers import Server, free_port, start_workers, wait_for


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
    assert _value(text, 'outbound_attempts_ended_total{outcome="answered"}') >= 1
    assert _value(text, 'outbound_attempts_ended_total{outcome="no_answer"}') >= 1
    assert _value(text, 'outbound_attempts_placed_total{provider="simulator"}') >= 2
    assert _value(text, "outbound_dispatch_lag_seconds_count") >= 2
    assert _value(text, "outbound_calls_due") >= 0
    assert _value(text, "outbound_attempts_in_progress") >= 0
    latency = (
        'outbound_http_request_duration_seconds_count{method="POST",route="/campaign",status="202"}'
    )
    assert _value(text, latency) >= 1


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
