"""Dispatch: how fast ``outbound worker`` gets through N due calls, against a bare claim loop.

For each worker count: a fresh database, N calls made through the service layer
(``create_campaign``) with numbers the simulator answers at once (ring and talk 0 s), launching
a few seconds ahead; the worker(s) start before the launch, and the clock runs from launch_at
to the moment the campaign is seen ``completed`` (polled every 0.2 s).

Reference: a bare psycopg claim loop over the same number of rows on the same server, a table
(id uuid, status text, due timestamptz) claimed with ``UPDATE ... WHERE id IN (SELECT ...
FOR UPDATE SKIP LOCKED LIMIT B) RETURNING id``, committed per batch, until none is left.

    .venv/bin/python bench/dispatch.py [--calls 50000] [--workers 1,2] [--batch-size 500]
"""

import argparse
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from _common import (
    Process,
    Tenant,
    bench_database,
    create_tenant,
    log,
    log_dir,
    parse_sizes,
    peak_rss_mib,
    phone_numbers,
    start,
    stop,
    wait_for_log,
)

from outbound.services import accounts, campaigns
from outbound.services.campaigns import NewCampaign, RawContact
from outbound.store.database import Database

POLL_SECONDS = 0.2
WORKER_START_SECONDS = 10.0  # longest wait for a worker to log that it started


def create_due_campaign(
    url: str, tenant: Tenant, calls: int, lead: float
) -> tuple[uuid.UUID, datetime]:
    """A campaign of ``calls`` answered numbers launching ``lead`` seconds from now."""
    numbers = phone_numbers(calls, last_two=lambda k: k % 60)  # 00-59: answered
    contacts = [RawContact(phone=n.e164) for n in numbers]
    database = Database(url)
    try:
        account = accounts.authenticate(database, tenant.token)
        if account is None:
            raise RuntimeError("the bench account's token is not accepted")
        launch_at = datetime.now(UTC) + timedelta(seconds=lead)
        started = time.perf_counter()
        created = campaigns.create_campaign(
            database,
            account,
            NewCampaign(
                playbook_id=tenant.playbook_id, contacts=contacts, launch_at=launch_at.isoformat()
            ),
        )
        log(f"created {calls:,} calls in {time.perf_counter() - started:.1f} s")
    finally:
        database.dispose()
    if created.campaign.status.value != "scheduled":
        raise RuntimeError(
            f"the campaign is {created.campaign.status.value}, not scheduled: raise --lead"
        )
    return created.campaign.id, launch_at


def campaign_state(url: str, campaign_id: uuid.UUID) -> tuple[str, datetime | None]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT status, finished_at FROM campaigns WHERE id = %s", (campaign_id,)
        ).fetchone()
    if row is None:
        raise RuntimeError(f"campaign {campaign_id} is gone")
    return row[0], row[1]


def call_summary(url: str, campaign_id: uuid.UUID) -> tuple[dict[str, int], int]:
    with psycopg.connect(url) as conn:
        statuses = dict(
            conn.execute(
                "SELECT status, count(*) FROM calls WHERE campaign_id = %s GROUP BY status",
                (campaign_id,),
            ).fetchall()
        )
        row = conn.execute(
            "SELECT count(*) FROM call_attempts a JOIN calls c ON c.id = a.call_id"
            " WHERE c.campaign_id = %s",
            (campaign_id,),
        ).fetchone()
    return statuses, (row or (0,))[0]


def run_workers(args: argparse.Namespace, count: int, workdir: Path) -> float:
    """Calls finished per second with ``count`` workers."""
    with bench_database() as url:
        tenant = create_tenant(url)
        campaign_id, launch_at = create_due_campaign(url, tenant, args.calls, args.lead)
        env = {
            "OUTBOUND_SIMULATOR_RING_SECONDS": "0",
            "OUTBOUND_SIMULATOR_TALK_SECONDS": "0",
            "OUTBOUND_DISPATCH_BATCH_SIZE": str(args.batch_size),
        }
        workers: list[Process] = []
        try:
            for _ in range(count):
                workers.append(start(url, ["worker"], workdir, env))
            for worker in workers:
                wait_for_log(worker, "started", WORKER_START_SECONDS)
            ahead = (launch_at - datetime.now(UTC)).total_seconds()
            if ahead <= 0:
                raise RuntimeError(f"workers started {-ahead:.1f} s after launch_at: raise --lead")
            log(f"{count} worker(s) up, {ahead:.1f} s before launch_at")
            deadline = time.monotonic() + ahead + args.timeout
            while True:
                status, finished_at = campaign_state(url, campaign_id)
                seen_at = datetime.now(UTC)
                if status == "completed":
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"campaign still {status} after {args.timeout:.0f} s")
                for worker in workers:
                    worker.check_alive()
                time.sleep(POLL_SECONDS)
            peaks = [peak_rss_mib(worker.pid) for worker in workers]
        finally:
            for worker in workers:
                stop(worker)
        statuses, attempts = call_summary(url, campaign_id)
    if statuses != {"completed": args.calls} or attempts != args.calls:
        raise RuntimeError(f"unexpected end state: {statuses}, {attempts} attempts")
    elapsed = (seen_at - launch_at).total_seconds()
    precise = (finished_at - launch_at).total_seconds() if finished_at else float("nan")
    rate = args.calls / elapsed
    print(
        f"  {count} worker(s): {args.calls:,} calls in {elapsed:7.2f} s"
        f" -> {rate:8,.0f} calls/s  (finished_at - launch_at: {precise:.2f} s;"
        f" peak RSS {', '.join(f'{p:.0f}' for p in peaks)} MiB)"
    )
    sys.stdout.flush()
    return rate


def bare_claim_loop(rows: int, batch: int) -> float:
    """Rows per second claimed by a minimal SKIP LOCKED loop, committed per batch."""
    with bench_database(migrate=False) as url, psycopg.connect(url) as conn:
        conn.execute(
            "CREATE TABLE claim_bench"
            " (id uuid PRIMARY KEY, status text NOT NULL, due timestamptz NOT NULL)"
        )
        conn.execute("CREATE INDEX ON claim_bench (status, due)")
        conn.execute(
            "INSERT INTO claim_bench SELECT gen_random_uuid(), 'pending',"
            " now() - random() * interval '1 minute' FROM generate_series(1, %s)",
            (rows,),
        )
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE claim_bench")
        conn.autocommit = False
        claim = (
            "UPDATE claim_bench SET status = 'done' WHERE id IN (SELECT id FROM claim_bench"
            " WHERE status = 'pending' AND due <= now() ORDER BY due LIMIT %s"
            " FOR UPDATE SKIP LOCKED) RETURNING id"
        )
        claimed = 0
        started = time.perf_counter()
        while True:
            got = len(conn.execute(claim, (batch,)).fetchall())
            conn.commit()
            if not got:
                break
            claimed += got
        elapsed = time.perf_counter() - started
    if claimed != rows:
        raise RuntimeError(f"claimed {claimed} rows, expected {rows}")
    rate = rows / elapsed
    print(
        f"  reference: bare claim loop, {rows:,} rows in batches of {batch}:"
        f" {elapsed:6.2f} s -> {rate:8,.0f} rows/s"
    )
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=50_000, help="due calls (default 50000)")
    parser.add_argument(
        "--workers", type=parse_sizes, default=[1, 2], help="worker counts to run (default 1,2)"
    )
    parser.add_argument(
        "--batch-size", type=int, default=500, help="OUTBOUND_DISPATCH_BATCH_SIZE (default 500)"
    )
    parser.add_argument(
        "--claim-batch", type=int, default=100, help="rows per bare claim (default 100)"
    )
    parser.add_argument(
        "--lead",
        type=float,
        default=None,
        help="seconds from creating the campaign to its launch (default 8 + calls/2000)",
    )
    parser.add_argument(
        "--timeout", type=float, default=1200, help="longest wait for a campaign, in seconds"
    )
    args = parser.parse_args()
    if args.lead is None:
        args.lead = 8 + args.calls / 2000
    print(
        f"dispatch: {args.calls:,} due calls answered at once (simulator ring/talk 0 s),"
        f" OUTBOUND_DISPATCH_BATCH_SIZE={args.batch_size}"
    )
    workdir = log_dir()
    rates = {count: run_workers(args, count, workdir) for count in args.workers}
    reference = bare_claim_loop(args.calls, args.claim_batch)
    for count, rate in rates.items():
        print(f"  ratio bare claim / {count} worker(s): {reference / rate:6.1f} x")
    log(f"process logs in {workdir}")


if __name__ == "__main__":
    main()
