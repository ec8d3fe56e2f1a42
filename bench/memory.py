"""Worker memory: peak RSS of one ``outbound worker`` watching 1,000,000 pending calls that are
not due yet (their campaign launches in 2099), against an idle worker on an empty database.

The campaign is made through the service layer with one contact; the other contacts and their
calls are then COPYed into ``contacts`` and ``calls`` (the columns the schema requires), which
is much faster than the API for a million rows. Each worker runs for ``--seconds`` and its peak
RSS (VmHWM) is read just before it is stopped.

    .venv/bin/python bench/memory.py [--calls 1000000] [--seconds 15]
"""

import argparse
import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from _common import (
    FAR_FUTURE,
    bench_database,
    cpu_seconds,
    create_tenant,
    log,
    log_dir,
    peak_rss_mib,
    rss_mib,
    running,
    wait_for_log,
)

from outbound.services import accounts, campaigns
from outbound.services.campaigns import NewCampaign, RawContact
from outbound.store.database import Database

PHONE_PREFIX = "+3491"  # Madrid: every 7 digits that follow make a valid number
COPY_CHUNK = 100_000  # rows per COPY transaction


def phone(index: int) -> str:
    return f"{PHONE_PREFIX}{index:07d}"


def create_pending_calls(url: str, count: int) -> None:
    """A campaign launching in 2099 with ``count`` pending calls."""
    tenant = create_tenant(url)
    database = Database(url)
    try:
        account = accounts.authenticate(database, tenant.token)
        if account is None:
            raise RuntimeError("the bench account's token is not accepted")
        created = campaigns.create_campaign(
            database,
            account,
            NewCampaign(
                playbook_id=tenant.playbook_id,
                contacts=[RawContact(phone=phone(0))],
                launch_at=FAR_FUTURE,
            ),
        )
    finally:
        database.dispose()
    campaign_id = created.campaign.id
    with psycopg.connect(url) as conn:
        due, caller_id = conn.execute(
            "SELECT next_attempt_at, caller_id FROM calls WHERE campaign_id = %s", (campaign_id,)
        ).fetchone() or (None, None)
        now = datetime.now(UTC)
        recall = json.dumps([])
        for first in range(1, count, COPY_CHUNK):
            indexes = range(first, min(first + COPY_CHUNK, count))
            contact_ids = [uuid.uuid4() for _ in indexes]
            with conn.cursor() as cursor:
                with cursor.copy(
                    "COPY contacts (id, account_id, phone, created_at, updated_at) FROM STDIN"
                ) as copy:
                    for index, contact_id in zip(indexes, contact_ids, strict=True):
                        copy.write_row((contact_id, tenant.account_id, phone(index), now, now))
                with cursor.copy(
                    "COPY calls (id, campaign_id, account_id, contact_id, position, phone, status,"
                    " attempt_count, recall, next_attempt_at, caller_id, created_at, updated_at)"
                    " FROM STDIN"
                ) as copy:
                    for index, contact_id in zip(indexes, contact_ids, strict=True):
                        copy.write_row(
                            (
                                uuid.uuid4(),
                                campaign_id,
                                tenant.account_id,
                                contact_id,
                                index + 1,
                                phone(index),
                                "pending",
                                0,
                                recall,
                                due,
                                caller_id,
                                now,
                                now,
                            )
                        )
            conn.commit()
            log(f"{indexes.stop:,} pending calls")
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE contacts")
        conn.execute("VACUUM ANALYZE calls")
        (pending,) = conn.execute(
            "SELECT count(*) FROM calls WHERE status = 'pending' AND campaign_id = %s",
            (campaign_id,),
        ).fetchone() or (0,)
    if pending != count:
        raise RuntimeError(f"{pending} pending calls, expected {count}")


def watch_worker(url: str, seconds: float, workdir: Path) -> tuple[float, float, float]:
    """Peak RSS, final RSS (MiB) and CPU seconds (once started) of a worker run for ``seconds``."""
    with running(url, ["worker"], workdir) as worker:
        wait_for_log(worker, "started", 30)
        cpu_at_start = cpu_seconds(worker.pid)
        time.sleep(seconds)
        worker.check_alive()
        cpu = cpu_seconds(worker.pid) - cpu_at_start
        return peak_rss_mib(worker.pid), rss_mib(worker.pid), cpu


def report(label: str, figures: tuple[float, float, float], seconds: float) -> None:
    peak, now, cpu = figures
    print(
        f"  {label:<34} peak RSS (VmHWM) {peak:7.1f} MiB   RSS at end {now:7.1f} MiB"
        f"   CPU {cpu:5.2f} s in {seconds:.0f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--calls", type=int, default=1_000_000, help="pending calls (default 1000000)"
    )
    parser.add_argument("--seconds", type=float, default=15, help="how long each worker runs")
    args = parser.parse_args()
    if not 1 <= args.calls < 10_000_000:
        parser.error("--calls must be between 1 and 9999999")
    print(f"memory: one `outbound worker` with {args.calls:,} pending calls not due; reference:")
    print("        an idle worker on an empty database")
    workdir = log_dir()
    with bench_database() as url:
        log("idle worker on an empty database")
        reference = watch_worker(url, args.seconds, workdir)
    with bench_database() as url:
        started = time.perf_counter()
        create_pending_calls(url, args.calls)
        log(f"{args.calls:,} pending calls created in {time.perf_counter() - started:.1f} s")
        loaded = watch_worker(url, args.seconds, workdir)
    report(f"{args.calls:,} pending calls (2099)", loaded, args.seconds)
    report("reference: empty database", reference, args.seconds)
    log(f"process logs in {workdir}")


if __name__ == "__main__":
    main()
