"""Crashes lose no campaign and call nobody twice (PostgreSQL).

Workers are killed at random moments, the database goes away and comes back, a worker is
stopped with calls in flight: every call still ends, every attempt gets an outcome, and the
simulator's log (one line per placed attempt) never shows an attempt placed twice.
"""

import contextlib
import random
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy import func, select

from outbound.domain.records import Account
from outbound.services import accounts, campaigns
from outbound.services.campaigns import NewCampaign, RawContact
from outbound.store import tables
from outbound.store.database import Database
from tests.conftest import POSTGRES_ADMIN_URL, migrated_database
from tests.factories import Tenant, make_account
from tests.servers import spawn_worker, start_server, start_workers, stop, wait_for

TERMINAL = {"completed", "failed"}


@dataclass(frozen=True)
class Attempt:
    call_id: str
    number: int
    outcome: str | None
    error: str | None


def _tenant(
    database: Database, max_concurrent_calls: int = 0, calls_per_second: float = 0
) -> Tenant:
    tenant = make_account(database)
    accounts.update_account(
        database,
        tenant.id,
        max_concurrent_calls=max_concurrent_calls,
        calls_per_second=calls_per_second,
    )
    return tenant


def _campaign(
    database: Database, tenant: Tenant, numbers: Sequence[str], recall: tuple[float, ...]
) -> uuid.UUID:
    created = campaigns.create_campaign(
        database,
        Account(id=tenant.id, name="Acme", timezone="UTC"),
        NewCampaign(
            playbook_id=tenant.playbook_id,
            contacts=[RawContact(phone=n) for n in numbers],
            recall=recall,
        ),
    )
    return created.campaign.id


def _status(database: Database, campaign_id: uuid.UUID) -> str:
    with database.engine.connect() as conn:
        return str(
            conn.execute(
                select(tables.campaigns.c.status).where(tables.campaigns.c.id == campaign_id)
            ).scalar_one()
        )


def _in_flight(database: Database, campaign_id: uuid.UUID) -> bool:
    """Whether an attempt of the campaign is open now (a kill then lands on one)."""
    with database.engine.connect() as conn:
        return bool(
            conn.execute(
                select(func.count())
                .select_from(tables.calls)
                .where(
                    tables.calls.c.campaign_id == campaign_id,
                    tables.calls.c.status == "in_progress",
                )
            ).scalar_one()
        )


def _attempts(database: Database, campaign_id: uuid.UUID) -> list[Attempt]:
    attempts, calls = tables.call_attempts, tables.calls
    with database.engine.connect() as conn:
        rows = conn.execute(
            select(attempts.c.call_id, attempts.c.number, attempts.c.outcome, attempts.c.error)
            .join(calls, calls.c.id == attempts.c.call_id)
            .where(calls.c.campaign_id == campaign_id)
        ).all()
    return [Attempt(str(r.call_id), r.number, r.outcome, r.error) for r in rows]


def _placed(log: Path) -> list[tuple[str, int, int]]:
    """The simulator's log: ``(call_id, attempt, pid)`` per placed attempt."""
    if not log.exists():
        return []
    placed = []
    for line in log.read_text().splitlines():
        call_id, number, pid = line.split()
        placed.append((call_id, int(number), int(pid)))
    return placed


def assert_every_call_ended_once(
    database: Database, campaign_id: uuid.UUID, log: Path, calls: int, recall: tuple[float, ...]
) -> list[Attempt]:
    """The campaign is completed, no call is missing or open, no attempt was placed twice,
    and every attempt that never got an outcome was closed as lost and followed by a recall."""
    assert _status(database, campaign_id) == "completed"
    with database.engine.connect() as conn:
        rows = conn.execute(
            select(
                tables.calls.c.id,
                tables.calls.c.status,
                tables.calls.c.attempt_count,
                tables.calls.c.lease_expires_at,
            ).where(tables.calls.c.campaign_id == campaign_id)
        ).all()
    assert len(rows) == calls, "a call went missing"
    assert {row.status for row in rows} <= TERMINAL
    assert all(row.lease_expires_at is None for row in rows)

    attempts = _attempts(database, campaign_id)
    assert all(a.outcome is not None for a in attempts), "an attempt never got an outcome"
    by_call: dict[str, dict[int, Attempt]] = {}
    for attempt in attempts:
        by_call.setdefault(attempt.call_id, {})[attempt.number] = attempt
    budget = 1 + len(recall)
    for row in rows:
        mine = by_call[str(row.id)]
        assert sorted(mine) == list(range(1, row.attempt_count + 1))
        assert row.attempt_count <= budget
        last = mine[row.attempt_count]
        assert row.status == ("completed" if last.outcome == "answered" else "failed")
        for number, attempt in mine.items():
            if attempt.error == "lost" and number < budget:
                assert number + 1 in mine, "a lost attempt was not recalled"

    placed = _placed(log)
    dialed = Counter((call_id, number) for call_id, number, _ in placed)
    twice = [key for key, count in dialed.items() if count > 1]
    assert not twice, f"attempts placed twice: {twice[:5]}"
    known = {(a.call_id, a.number) for a in attempts}
    assert set(dialed) <= known, "the simulator placed an attempt the database does not know"
    for attempt in attempts:
        if (attempt.call_id, attempt.number) not in dialed:
            assert attempt.error == "lost", "an attempt never placed ended otherwise than lost"
    return attempts


def _no_tracebacks(directory: Path, pattern: str) -> None:
    for path in directory.glob(pattern):
        assert "Traceback" not in path.read_text(errors="replace"), path.read_text()


KILL_CALLS = 2000
KILL_RECALL = (0.01, 0.01)  # 0.6 s: lost attempts are recalled soon after their lease ends
KILLS = 5
# Unlimited, 2,000 calls are over in about two seconds: a steady rate keeps the campaign
# running while the workers are killed, so the kills land on attempts in flight.
KILL_CALLS_PER_SECOND = 400


def test_killed_workers_lose_no_call_and_place_no_attempt_twice(
    postgres_database_url: str, tmp_path: Path
):
    database = migrated_database(postgres_database_url)
    tenant = _tenant(database, calls_per_second=KILL_CALLS_PER_SECOND)
    numbers = [f"+3491234{n:04d}" for n in range(KILL_CALLS)]
    campaign_id = _campaign(database, tenant, numbers, KILL_RECALL)
    log = tmp_path / "placed.log"
    env = {
        "OUTBOUND_SIMULATOR_LOG": str(log),
        "OUTBOUND_SIMULATOR_RING_SECONDS": "0.05",
        "OUTBOUND_SIMULATOR_TALK_SECONDS": "0.05",
        "OUTBOUND_LEASE_GRACE_SECONDS": "1",
        "OUTBOUND_DISPATCH_BATCH_SIZE": "50",
    }
    rng = random.Random(20240605)
    started = 0

    def spawn() -> subprocess.Popen[bytes]:
        nonlocal started
        started += 1
        return spawn_worker(postgres_database_url, tmp_path / f"worker-{started}.log", env)

    workers = [spawn(), spawn()]
    killed: set[int] = set()
    kills_while_running = 0
    try:
        wait_for(lambda: len(_placed(log)) > 0, timeout=30, interval=0.05)
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.5, 1.5))
            # On a busy machine the workers may be between batches: kill while one is open.
            with contextlib.suppress(TimeoutError):
                wait_for(lambda: _in_flight(database, campaign_id), timeout=2, interval=0.01)
            index = rng.randrange(len(workers))
            if _status(database, campaign_id) != "completed":
                kills_while_running += 1
            workers[index].send_signal(signal.SIGKILL)
            workers[index].wait()
            killed.add(workers[index].pid)
            workers[index] = spawn()
        wait_for(lambda: _status(database, campaign_id) == "completed", timeout=60, interval=0.2)
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            assert worker.wait(20) == 0
    finally:
        for worker in workers:
            stop(worker)

    attempts = assert_every_call_ended_once(database, campaign_id, log, KILL_CALLS, KILL_RECALL)
    database.dispose()
    assert kills_while_running == KILLS, "the campaign ended before the workers were killed"
    lost = {(a.call_id, a.number) for a in attempts if a.error == "lost"}
    assert lost, "no kill landed on an attempt in flight"
    placed = _placed(log)
    assert {pid for _, _, pid in placed} & killed, "no killed worker had placed a call"
    survivors = {pid for _, _, pid in placed} - killed
    assert not {(c, n) for c, n, pid in placed if pid in survivors} & lost, (
        "a worker that was never killed lost an attempt"
    )
    _no_tracebacks(tmp_path, "worker-*.log")


@contextmanager
def database_unreachable(database_url: str) -> Iterator[None]:
    """No new connection to the database is allowed, and every open one is cut, until exit."""
    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        try:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            yield
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


OUTAGE_CALLS = 200  # 5 s at 40 a second
OUTAGE_RECALL = (0.02,)  # 1.2 s
OUTAGE_SECONDS = 2.0


@contextmanager
def _api_and_dialer(
    mode: str, database_url: str, workdir: Path, env: dict[str, str]
) -> Iterator[str]:
    """The API's URL, with a dispatcher behind it: in the same process or in a worker."""
    if mode == "serve":
        with start_server(database_url, workdir, extra_env=env) as server:
            yield server.url
            assert server.process.poll() is None, "outbound serve died"
    else:
        with (
            start_server(database_url, workdir, command="api", extra_env=env) as server,
            start_workers(database_url, workdir, 1, env) as (worker,),
        ):
            yield server.url
            assert server.process.poll() is None, "outbound api died"
            assert worker.poll() is None, "outbound worker died"


@pytest.mark.parametrize("mode", ["serve", "api+worker"])
def test_the_database_going_away_loses_nothing_and_the_api_says_503(
    mode: str, postgres_database_url: str, tmp_path: Path
):
    database = migrated_database(postgres_database_url)
    # A steady rate keeps the campaign dialing before, during and after the outage.
    tenant = _tenant(database, calls_per_second=40)
    log = tmp_path / "placed.log"
    env = {
        "OUTBOUND_SIMULATOR_LOG": str(log),
        "OUTBOUND_SIMULATOR_RING_SECONDS": "0.2",
        "OUTBOUND_SIMULATOR_TALK_SECONDS": "0.2",
    }
    numbers = [f"+3491237{n:04d}" for n in range(OUTAGE_CALLS)]
    with _api_and_dialer(mode, postgres_database_url, tmp_path, env) as url:
        http = httpx.Client(base_url=url, headers=tenant.headers, timeout=30)
        created = http.post(
            "/campaign",
            json={
                "playbook_id": str(tenant.playbook_id),
                "contacts": [{"phone": n} for n in numbers],
                "recall": list(OUTAGE_RECALL),
            },
        )
        assert created.status_code == 202, created.text
        campaign_id = uuid.UUID(created.json()["campaign_id"])
        wait_for(lambda: len(_placed(log)) >= 40, timeout=30, interval=0.05)

        answers: list[httpx.Response] = []
        with database_unreachable(postgres_database_url):
            deadline = time.monotonic() + OUTAGE_SECONDS
            while time.monotonic() < deadline:
                answers.append(http.get(f"/campaign/{campaign_id}"))
                time.sleep(0.1)
            assert httpx.get(f"{url}/healthz").status_code == 200
            assert httpx.get(f"{url}/readyz", timeout=30).status_code == 503
            placed_during_outage = len(_placed(log))
        assert len(answers) >= 5
        for answer in answers:
            assert answer.status_code == 503, answer.text
            body = answer.json()
            assert set(body) == {"detail", "errors"}
            assert isinstance(body["detail"], str) and body["errors"] == []
            assert int(answer.headers["Retry-After"]) >= 1

        back = time.monotonic()
        wait_for(lambda: http.get(f"/campaign/{campaign_id}").status_code == 200, timeout=10)
        assert time.monotonic() - back < 10
        wait_for(
            lambda: http.get(f"/campaign/{campaign_id}").json()["status"] == "completed",
            timeout=90,
            interval=0.25,
        )
        report = http.get(f"/campaign/{campaign_id}").json()
        http.close()

    assert len(_placed(log)) > placed_during_outage, "dialing resumed after the outage"
    assert report["counts"]["total"] == OUTAGE_CALLS
    assert report["counts"]["completed"] + report["counts"]["failed"] == OUTAGE_CALLS
    assert_every_call_ended_once(database, campaign_id, log, OUTAGE_CALLS, OUTAGE_RECALL)
    database.dispose()


def test_sigterm_leaves_calls_in_flight_leased_for_the_lease_rule(
    postgres_database_url: str, tmp_path: Path
):
    database = migrated_database(postgres_database_url)
    tenant = _tenant(database)
    numbers = [f"+3491238{n:04d}" for n in range(0, 100, 5)]  # every simulated outcome
    recall = (0.01,)
    campaign_id = _campaign(database, tenant, numbers, recall)
    log = tmp_path / "placed.log"
    # The lease is fixed when a call is claimed: ring + talk + grace of the worker that claims.
    ring = 7.0
    first = spawn_worker(
        postgres_database_url,
        tmp_path / "worker-first.log",
        {
            "OUTBOUND_SIMULATOR_LOG": str(log),
            "OUTBOUND_SIMULATOR_RING_SECONDS": str(ring),
            "OUTBOUND_SIMULATOR_TALK_SECONDS": "0",
            "OUTBOUND_LEASE_GRACE_SECONDS": "0",
            "OUTBOUND_SHUTDOWN_TIMEOUT_SECONDS": "1",
        },
    )
    try:
        wait_for(lambda: len(_placed(log)) == len(numbers), timeout=30, interval=0.05)
        first.send_signal(signal.SIGTERM)
        stopped_at = time.monotonic()
        assert first.wait(30) == 0
        assert time.monotonic() - stopped_at < ring - 2, "the worker waited for its calls"
    finally:
        stop(first)

    with database.engine.connect() as conn:
        calls = conn.execute(
            select(
                tables.calls.c.status,
                tables.calls.c.lease_owner,
                tables.calls.c.lease_expires_at,
            ).where(tables.calls.c.campaign_id == campaign_id)
        ).all()
    assert len(calls) == len(numbers)
    assert {call.status for call in calls} == {"in_progress"}
    assert all(call.lease_owner and call.lease_expires_at for call in calls)
    in_flight = _attempts(database, campaign_id)
    assert len(in_flight) == len(numbers)
    assert all(a.number == 1 and a.outcome is None for a in in_flight)

    with start_workers(
        postgres_database_url,
        tmp_path,
        1,
        {"OUTBOUND_SIMULATOR_LOG": str(log), "OUTBOUND_LEASE_GRACE_SECONDS": "1"},
    ) as (second,):
        wait_for(lambda: _status(database, campaign_id) == "completed", timeout=60, interval=0.2)

    attempts = assert_every_call_ended_once(database, campaign_id, log, len(numbers), recall)
    database.dispose()
    firsts = [a.error for a in attempts if a.number == 1]
    assert firsts == ["lost"] * len(numbers)  # closed by the lease rule, never redialed blindly
    assert len([a for a in attempts if a.number == 2]) == len(numbers)
    pids = {(number, pid) for _, number, pid in _placed(log)}
    assert pids == {(1, first.pid), (2, second.pid)}
    _no_tracebacks(tmp_path, "worker-*.log")
