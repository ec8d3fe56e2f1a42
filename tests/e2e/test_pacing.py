"""Pacing limits hold across worker processes; a dead worker's slots come back."""

import signal
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from outbound.domain.records import Account
from outbound.services import accounts, campaigns
from outbound.services.campaigns import NewCampaign, RawContact
from outbound.store import tables
from outbound.store.database import Database
from tests.conftest import migrated_database
from tests.factories import make_account
from tests.sampling import InProgressPeak
from tests.servers import start_workers, wait_for


def _campaign(database: Database, numbers: list[str], **limits: object) -> tuple[object, object]:
    tenant = make_account(database)
    accounts.update_account(database, tenant.id, **limits)  # type: ignore[arg-type]
    created = campaigns.create_campaign(
        database,
        Account(id=tenant.id, name="Acme", timezone="UTC"),
        NewCampaign(playbook_id=tenant.playbook_id, contacts=[RawContact(n) for n in numbers]),
    )
    return tenant.id, created.campaign.id


def _finished(database: Database, *campaign_ids: object) -> bool:
    with database.engine.connect() as conn:
        statuses = conn.execute(
            select(tables.campaigns.c.status).where(tables.campaigns.c.id.in_(campaign_ids))
        ).scalars()
        return all(status == "completed" for status in statuses)


def _started_times(database: Database, campaign_id: object) -> list[datetime]:
    with database.engine.connect() as conn:
        return sorted(
            conn.execute(
                select(tables.call_attempts.c.started_at)
                .join(tables.calls, tables.calls.c.id == tables.call_attempts.c.call_id)
                .where(tables.calls.c.campaign_id == campaign_id)
            ).scalars()
        )


RATED_CALLS = 50
RATE = 10  # calls a second: 5 s for the rated campaign


def test_concurrency_and_rate_limits_hold_across_two_workers(
    postgres_database_url: str, tmp_path: Path
):
    database = migrated_database(postgres_database_url)
    concurrent_account, concurrent_campaign = _campaign(
        database,
        [f"+3491234{n:04d}" for n in range(30)],
        max_concurrent_calls=3,
        calls_per_second=0,
    )
    _, rated_campaign = _campaign(
        database,
        [f"+3491235{n:04d}" for n in range(RATED_CALLS)],
        max_concurrent_calls=0,
        calls_per_second=RATE,
    )
    env = {"OUTBOUND_SIMULATOR_RING_SECONDS": "0.1", "OUTBOUND_SIMULATOR_TALK_SECONDS": "0.2"}
    account = tables.calls.c.account_id == concurrent_account
    with (
        InProgressPeak(database, lambda: account) as peak,
        start_workers(postgres_database_url, tmp_path, 2, env),
    ):
        wait_for(lambda: _finished(database, concurrent_campaign, rated_campaign), 90, 0.5)
    assert peak.value == 3  # reached, never exceeded

    started = _started_times(database, rated_campaign)
    assert len(started) == RATED_CALLS
    busiest = max(
        sum(1 for other in started[i:] if (other - first).total_seconds() < 1.0)
        for i, first in enumerate(started)
    )
    assert busiest <= RATE
    span = (started[-1] - started[0]).total_seconds()
    # At best a window's worth starts at the top of each second; and not much slower either.
    assert RATED_CALLS / RATE - 1 <= span < RATED_CALLS / RATE * 1.5
    database.dispose()


def test_a_dead_workers_slots_are_freed_when_its_leases_expire(
    postgres_database_url: str, tmp_path: Path
):
    database = migrated_database(postgres_database_url)
    _, campaign_id = _campaign(
        database,
        [f"+3491236{n:04d}" for n in range(6)],
        max_concurrent_calls=2,
        calls_per_second=0,
    )
    with database.engine.begin() as conn:
        conn.execute(
            tables.calls.update()
            .where(tables.calls.c.campaign_id == campaign_id)
            .values(recall=[0.01])
        )
    env = {
        "OUTBOUND_SIMULATOR_RING_SECONDS": "2",
        "OUTBOUND_SIMULATOR_TALK_SECONDS": "0",
        "OUTBOUND_LEASE_GRACE_SECONDS": "1",
    }
    doomed_dir = tmp_path / "doomed"
    doomed_dir.mkdir()
    with start_workers(postgres_database_url, doomed_dir, 1, env) as (doomed,):
        wait_for(lambda: len(_started_times(database, campaign_id)) == 2, 15, 0.05)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
    # The survivor's calls are short: it waits out the dead worker's leases, not its own ringing.
    survivor = {**env, "OUTBOUND_SIMULATOR_RING_SECONDS": "0.2"}
    with start_workers(postgres_database_url, tmp_path, 1, survivor):
        wait_for(lambda: _finished(database, campaign_id), 60, 0.2)
    with database.engine.connect() as conn:
        lost = (
            conn.execute(
                select(tables.call_attempts.c.number)
                .join(tables.calls, tables.calls.c.id == tables.call_attempts.c.call_id)
                .where(
                    tables.calls.c.campaign_id == campaign_id,
                    tables.call_attempts.c.error == "lost",
                )
            )
            .scalars()
            .all()
        )
    assert lost == [1, 1]  # the two calls in flight were closed by the lease rule, then retried
    assert len(_started_times(database, campaign_id)) == 8
    database.dispose()
