"""New work wakes every worker at once through PostgreSQL (LISTEN/NOTIFY), and a worker whose
listening connection is lost listens again."""

import asyncio
import json
import time
from datetime import datetime
from pathlib import Path

import httpx
import psycopg
from sqlalchemy import select

from outbound.domain.records import Account
from outbound.services import campaigns
from outbound.services.campaigns import NewCampaign, RawContact
from outbound.store import tables
from outbound.store.database import Database
from outbound.store.postgres.notifications import CHANNEL
from tests.conftest import migrated_database
from tests.factories import make_account
from tests.servers import spawn_worker, start_server, stop, wait_for

WAKE_SECONDS = 5.0  # generous: a wake-up takes milliseconds, the machine may be loaded
LISTENERS = f"SELECT pid FROM pg_stat_activity WHERE query = 'LISTEN {CHANNEL}'"


def _listening(url: str) -> set[int]:
    """The backends of the database's listeners."""
    with psycopg.connect(url) as conn:
        return {pid for (pid,) in conn.execute(LISTENERS + " AND datname = current_database()")}


def _create_campaign(database: Database) -> None:
    tenant = make_account(database)
    campaigns.create_campaign(
        database,
        Account(id=tenant.id, name="Acme", timezone="UTC"),
        NewCampaign(playbook_id=tenant.playbook_id, contacts=[RawContact("+34912340000")]),
    )


async def _woken(events: list[asyncio.Event]) -> None:
    await asyncio.wait_for(asyncio.gather(*(event.wait() for event in events)), WAKE_SECONDS)


def test_a_new_campaign_wakes_every_listener(postgres_database_url: str):
    database = migrated_database(postgres_database_url)

    async def scenario() -> None:
        woken = [asyncio.Event(), asyncio.Event()]
        listeners = [asyncio.create_task(database.listen_for_new_work(e.set)) for e in woken]
        await _woken(woken)  # each wakes once as it starts listening
        for event in woken:
            event.clear()
        await asyncio.to_thread(_create_campaign, database)
        await _woken(woken)
        for listener in listeners:
            listener.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)

    asyncio.run(scenario())
    wait_for(lambda: not _listening(postgres_database_url), 5)  # cancelled listeners hang up
    database.dispose()


def test_a_listener_whose_connection_is_killed_listens_again(postgres_database_url: str):
    database = migrated_database(postgres_database_url)

    async def scenario() -> None:
        woken = asyncio.Event()
        listener = asyncio.create_task(database.listen_for_new_work(woken.set))
        await _woken([woken])
        (backend,) = await asyncio.to_thread(_listening, postgres_database_url)
        woken.clear()
        with psycopg.connect(postgres_database_url) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
        await _woken([woken])  # listening again: it wakes, for what it may have missed
        wait_for(lambda: _listening(postgres_database_url) - {backend} != set(), 5)
        woken.clear()
        with database.transaction() as conn:
            conn.announce_new_work()
        await _woken([woken])
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)

    asyncio.run(scenario())
    database.dispose()


def _first_attempt_after_202(
    database: Database, client: httpx.Client, body: dict[str, object]
) -> float:
    """Seconds from the 202 of ``POST /campaign`` to the start of its first attempt."""
    response = client.post("/campaign", content=json.dumps(body))
    accepted = time.time()
    assert response.status_code == 202, response.text
    query = (
        select(tables.call_attempts.c.started_at)
        .join(tables.calls, tables.calls.c.id == tables.call_attempts.c.call_id)
        .where(tables.calls.c.campaign_id == response.json()["campaign_id"])
    )
    started: list[datetime] = []

    def attempted() -> bool:
        with database.engine.connect() as conn:
            started.extend(conn.execute(query).scalars())
        return bool(started)

    wait_for(attempted, 10, 0.01)
    return started[0].timestamp() - accepted


def test_a_worker_dials_a_campaign_created_by_another_process_at_once(
    postgres_database_url: str, tmp_path: Path
):
    database = migrated_database(postgres_database_url)
    tenant = make_account(database)
    log = tmp_path / "worker.log"
    # The worker polls every 30 s: only a wake-up makes it dial within the second.
    worker = spawn_worker(postgres_database_url, log, {"OUTBOUND_POLL_INTERVAL_SECONDS": "30"})
    try:
        with (
            start_server(postgres_database_url, tmp_path, "api") as api,
            api.client(tenant.token) as client,
        ):
            wait_for(lambda: "listening for new work" in log.read_text(), 30)
            lags = []
            for number in ("+34912340000", "+34912340001", "+34912340002"):
                time.sleep(0.3)  # the worker is asleep again
                body = {"playbook_id": str(tenant.playbook_id), "contacts": [{"phone": number}]}
                lags.append(_first_attempt_after_202(database, client, body))
    finally:
        stop(worker)
    print("first attempts started after the 202: " + ", ".join(f"{x * 1000:.0f} ms" for x in lags))
    assert max(lags) < 1.0
    database.dispose()
