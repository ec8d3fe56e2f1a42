"""A worker frozen while it holds an account's claim lock stops the other workers for seconds
at most, and the pacing limits hold across them all the same (PostgreSQL)."""

import signal
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import psycopg
from sqlalchemy import select

from outbound.clock import utcnow
from outbound.domain.records import Account
from outbound.services import accounts, campaigns, dispatch
from outbound.services.campaigns import NewCampaign, RawContact
from outbound.store import tables
from outbound.store.database import Database
from tests.conftest import migrated_database
from tests.factories import make_account
from tests.sampling import InProgressPeak
from tests.servers import start_workers, wait_for

MAX_CONCURRENT = 3
PER_SECOND = 5
STALL_LIMIT_SECONDS = 5.0  # the server ends a frozen worker's transaction after 2 s
ENV = {
    "OUTBOUND_SIMULATOR_RING_SECONDS": "0.1",
    "OUTBOUND_SIMULATOR_TALK_SECONDS": "0.1",
    # The frozen worker's calls in flight are closed as lost soon: their slots come back.
    "OUTBOUND_LEASE_GRACE_SECONDS": "0.5",
    "OUTBOUND_LEASE_CHECK_INTERVAL_SECONDS": "0.2",
    "OUTBOUND_SHUTDOWN_TIMEOUT_SECONDS": "1",
}
# The advisory lock a claim holds alone for an account it paces, held by a given process.
HOLDS_CLAIM_LOCK = """
SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE a.application_name = %s AND l.locktype = 'advisory' AND l.mode = 'ExclusiveLock'
  AND l.granted
"""


def _account_with_calls(
    database: Database, prefix: str, calls: int, max_concurrent_calls: int, calls_per_second: int
) -> tuple[uuid.UUID, uuid.UUID]:
    """An account with these limits and a running campaign of ``calls`` calls: their ids."""
    tenant = make_account(database)
    accounts.update_account(
        database,
        tenant.id,
        max_concurrent_calls=max_concurrent_calls,
        calls_per_second=calls_per_second,
    )
    created = campaigns.create_campaign(
        database,
        Account(id=tenant.id, name="Acme", timezone="UTC"),
        NewCampaign(
            playbook_id=tenant.playbook_id,
            contacts=[RawContact(f"{prefix}{n:04d}") for n in range(calls)],
        ),
    )
    return tenant.id, created.campaign.id


def test_a_claim_skips_the_accounts_whose_lock_another_claim_holds(postgres_database_url: str):
    database = migrated_database(postgres_database_url)
    held, _ = _account_with_calls(
        database, "+3491234", 20, max_concurrent_calls=3, calls_per_second=0
    )
    limited, _ = _account_with_calls(
        database, "+3491235", 20, max_concurrent_calls=3, calls_per_second=0
    )
    unlimited, _ = _account_with_calls(
        database, "+3491236", 20, max_concurrent_calls=0, calls_per_second=0
    )
    with database.transaction() as holder, ThreadPoolExecutor(1) as pool:
        # A claim under way (or frozen): the limited account alone, the unlimited one shared.
        locks = holder.queue.lock_accounts({held, unlimited})
        assert locks.alone == {held} and locks.limits.keys() == {held, unlimited}
        # The held account's calls come first: the claim looks past them, without waiting.
        result = pool.submit(
            dispatch.claim, database, "test", 60, utcnow, timedelta(minutes=1)
        ).result(timeout=10)
    by_account = {account: 0 for account in (held, limited, unlimited)}
    for item in result.claimed:
        by_account[item.account_id] += 1
    assert by_account == {held: 0, limited: 3, unlimited: 20}
    assert result.paced  # the held account's calls are looked at again soon
    database.dispose()


def test_a_claim_takes_the_calls_of_a_bounded_number_of_accounts(postgres_database_url: str):
    database = migrated_database(postgres_database_url)
    for n in range(dispatch.MAX_CLAIM_ACCOUNTS + 6):
        _account_with_calls(
            database, f"+3491{n:03d}", 1, max_concurrent_calls=n % 2, calls_per_second=0
        )
    claimed = dispatch.claim(database, "test", 500, utcnow, timedelta(minutes=1)).claimed
    assert len({item.account_id for item in claimed}) == dispatch.MAX_CLAIM_ACCOUNTS
    again = dispatch.claim(database, "test", 500, utcnow, timedelta(minutes=1)).claimed
    assert len({item.account_id for item in again}) == 6
    database.dispose()


def _dialed_by(log: Path, pid: int) -> int:
    """Attempts the simulator placed for the worker ``pid`` so far."""
    text = log.read_text() if log.exists() else ""
    return sum(1 for line in text.splitlines() if line.split()[-1] == str(pid))


def _stopped(pid: int) -> bool:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T"


def _freeze_holding_the_lock(url: str, worker: subprocess.Popen[bytes]) -> None:
    """SIGSTOP ``worker`` at a moment its claim holds the account's lock alone."""
    with psycopg.connect(url, autocommit=True) as conn:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            worker.send_signal(signal.SIGSTOP)
            wait_for(lambda: _stopped(worker.pid), timeout=5, interval=0.001)
            held = conn.execute(HOLDS_CLAIM_LOCK, (f"outbound worker {worker.pid}",)).fetchone()
            if held and held[0]:
                return
            worker.send_signal(signal.SIGCONT)
            time.sleep(0.003)
    raise TimeoutError("never caught the worker holding the claim lock")


def _max_started_in_a_second(database: Database, campaign_id: object) -> int:
    with database.engine.connect() as conn:
        started = sorted(
            conn.execute(
                select(tables.call_attempts.c.started_at)
                .join(tables.calls, tables.calls.c.id == tables.call_attempts.c.call_id)
                .where(tables.calls.c.campaign_id == campaign_id)
            ).scalars()
        )
    return max(
        sum(1 for other in started[i:] if (other - first).total_seconds() < 1.0)
        for i, first in enumerate(started)
    )


def test_a_frozen_worker_holding_the_claim_lock_stalls_no_one(
    postgres_database_url: str, tmp_path: Path
):
    database = migrated_database(postgres_database_url)
    account_id, campaign_id = _account_with_calls(  # 40 s of calls at 5 a second
        database, "+3491234", 200, max_concurrent_calls=MAX_CONCURRENT, calls_per_second=PER_SECOND
    )
    log = tmp_path / "placed.log"
    env = {**ENV, "OUTBOUND_SIMULATOR_LOG": str(log)}
    account = tables.calls.c.account_id == account_id
    with (
        InProgressPeak(database, lambda: account, interval=0.005) as peak,
        start_workers(postgres_database_url, tmp_path, 2, env) as (frozen, other),
    ):
        try:
            wait_for(lambda: bool(_dialed_by(log, frozen.pid) and _dialed_by(log, other.pid)), 30)
            _freeze_holding_the_lock(postgres_database_url, frozen)
            frozen_at, dialed = time.monotonic(), _dialed_by(log, other.pid)
            wait_for(lambda: _dialed_by(log, other.pid) > dialed, STALL_LIMIT_SECONDS, 0.01)
            stalled = time.monotonic() - frozen_at
            frozen.send_signal(signal.SIGCONT)
            # Its transaction was ended for it: it reconnects and dials again.
            dialed = _dialed_by(log, frozen.pid)
            wait_for(lambda: _dialed_by(log, frozen.pid) > dialed, 15, 0.02)
        finally:
            frozen.send_signal(signal.SIGCONT)
    print(f"the other worker dialed again {stalled:.2f} s after the freeze")
    assert peak.value == MAX_CONCURRENT  # reached, never exceeded
    assert _max_started_in_a_second(database, campaign_id) <= PER_SECOND
    placed = [tuple(line.split()[:2]) for line in log.read_text().splitlines()]
    assert len(placed) == len(set(placed)), "an attempt was placed twice"
    database.dispose()
