"""Several ``outbound worker`` processes on one PostgreSQL database share the work exactly once."""

import signal
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from outbound.domain.records import Account
from outbound.services import accounts, campaigns
from outbound.services.campaigns import NewCampaign, RawContact
from outbound.store import tables
from tests.conftest import migrated_database
from tests.factories import make_account
from tests.servers import start_workers, wait_for

CALLS = 2000


def _expected_attempts(number: str) -> int:
    return 1 if int(number[-2:]) < 60 else 2  # answered once; anything else retried once


def test_two_workers_place_every_due_attempt_exactly_once(
    postgres_database_url: str, tmp_path: Path
):
    database = migrated_database(postgres_database_url)
    tenant = make_account(database)
    accounts.update_account(database, tenant.id, max_concurrent_calls=0, calls_per_second=0)
    numbers = [f"+3491234{n:04d}" for n in range(CALLS)]
    created = campaigns.create_campaign(
        database,
        Account(id=tenant.id, name="Acme", timezone="UTC"),
        NewCampaign(
            playbook_id=tenant.playbook_id,
            contacts=[RawContact(phone=n) for n in numbers],
            recall=(0.01,),
        ),
    )
    log = tmp_path / "placed.log"
    env = {
        "OUTBOUND_SIMULATOR_LOG": str(log),
        "OUTBOUND_SIMULATOR_RING_SECONDS": "0.01",
        "OUTBOUND_SIMULATOR_TALK_SECONDS": "0.01",
        "OUTBOUND_DISPATCH_BATCH_SIZE": "50",
    }
    campaign_id = created.campaign.id
    calls, attempts = tables.calls, tables.call_attempts

    def finished() -> bool:
        with database.engine.connect() as conn:
            status = conn.execute(
                select(tables.campaigns.c.status).where(tables.campaigns.c.id == campaign_id)
            ).scalar_one()
        return bool(status == "completed")

    with start_workers(postgres_database_url, tmp_path, 2, env) as workers:
        wait_for(finished, timeout=120, interval=0.2)
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for worker in workers:
            assert worker.wait(max(0.1, deadline - time.monotonic())) == 0

    with database.engine.connect() as conn:
        rows = conn.execute(
            select(calls.c.id, calls.c.phone, calls.c.status, calls.c.attempt_count).where(
                calls.c.campaign_id == campaign_id
            )
        ).all()
        per_call = dict(
            conn.execute(
                select(attempts.c.call_id, func.count())
                .join(calls, calls.c.id == attempts.c.call_id)
                .where(calls.c.campaign_id == campaign_id, attempts.c.outcome.is_not(None))
                .group_by(attempts.c.call_id)
            ).all()
        )
    database.dispose()

    assert len(rows) == CALLS
    for row in rows:
        expected = _expected_attempts(row.phone)
        assert row.status == ("completed" if expected == 1 else "failed")
        assert row.attempt_count == expected
        assert per_call[row.id] == expected

    placed = [line.split() for line in log.read_text().splitlines()]
    dialed = Counter((call_id, number) for call_id, number, _pid in placed)
    assert max(dialed.values()) == 1, "an attempt was placed twice"
    assert len(dialed) == sum(_expected_attempts(row.phone) for row in rows)
    assert len({pid for *_, pid in placed}) == 2, "both workers took part"
    for worker_log in tmp_path.glob("worker-*.log"):
        assert "Traceback" not in worker_log.read_text(), worker_log.read_text()
