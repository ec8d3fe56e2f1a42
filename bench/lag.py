"""Lag: how late attempts start after they are due (call_attempts.started_at - due_at), and
how soon a worker dials a campaign created through the API.

A campaign of N contacts posted to ``outbound api`` with launch_at 5 s ahead, half answered and
half no-answer numbers, ``recall: [0.1]`` (the no-answers are called again 6 s after their
first attempt), run by one ``outbound worker`` with a simulator ringing 0.2 s and talking
0.5 s. When the campaign completes: p50, p99 and max lag in milliseconds, for first attempts,
recalls, and all attempts.

Then, with the same two processes, 20 campaigns of one contact posted one at a time at random
moments (the worker is asleep between them): the time from each campaign's creation (its
``created_at``, and the client's 202) to the start of its first attempt. The API announces new
work to every worker (PostgreSQL's NOTIFY); a worker that missed it finds it at its next poll.

    .venv/bin/python bench/lag.py [--contacts 2000] [--campaigns 20]
"""

import argparse
import json
import random
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
from _common import (
    Process,
    Tenant,
    bench_database,
    create_tenant,
    log,
    log_dir,
    percentile,
    phone_numbers,
    running,
    running_api,
    wait_for_log,
    wait_until,
)

LAUNCH_AHEAD_SECONDS = 5.0
RECALL_MINUTES = 0.1
SIMULATOR = {"OUTBOUND_SIMULATOR_RING_SECONDS": "0.2", "OUTBOUND_SIMULATOR_TALK_SECONDS": "0.5"}
PAUSE_SECONDS = (0.05, 0.5)  # before each created campaign: a random moment of the worker's poll


def outcome_digits(k: int) -> int:
    """Even contacts answer (00-59), odd ones do not (60-79)."""
    return k // 2 % 60 if k % 2 == 0 else 60 + k // 2 % 20


def lags_ms(url: str, campaign_id: uuid.UUID) -> dict[int, list[float]]:
    """Lag of every attempt, by attempt number."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT a.number, extract(epoch FROM a.started_at - a.due_at) * 1000"
            " FROM call_attempts a JOIN calls c ON c.id = a.call_id WHERE c.campaign_id = %s",
            (campaign_id,),
        ).fetchall()
    by_number: dict[int, list[float]] = {}
    for number, lag in rows:
        if lag is None:
            raise RuntimeError("an attempt has no due_at")
        by_number.setdefault(number, []).append(float(lag))
    return by_number


def creation_lags(
    url: str, base: str, tenant: Tenant, worker: Process, count: int
) -> tuple[list[float], list[float]]:
    """Post ``count`` campaigns of one answered contact, one at a time at random moments; for
    each, the milliseconds from its ``created_at`` and from the 202 to its first attempt."""
    numbers = phone_numbers(count, last_two=lambda k: k % 60)
    from_created: list[float] = []
    from_202: list[float] = []
    with psycopg.connect(url, autocommit=True) as conn, httpx.Client(timeout=60) as client:
        for number in numbers:
            time.sleep(random.uniform(*PAUSE_SECONDS))
            body = {"playbook_id": str(tenant.playbook_id), "contacts": [{"phone": number.e164}]}
            response = client.post(
                f"{base}/campaign",
                content=json.dumps(body),
                headers={**tenant.headers, "Content-Type": "application/json"},
            )
            accepted = datetime.now(UTC)
            if response.status_code != 202:
                raise RuntimeError(f"POST /campaign: {response.status_code} {response.text[:500]}")
            campaign_id = response.json()["campaign_id"]
            deadline = time.monotonic() + 30
            while (
                row := conn.execute(
                    "SELECT c.created_at, a.started_at FROM campaigns c"
                    " JOIN calls ON calls.campaign_id = c.id"
                    " JOIN call_attempts a ON a.call_id = calls.id WHERE c.id = %s",
                    (campaign_id,),
                ).fetchone()
            ) is None:
                worker.check_alive()
                if time.monotonic() > deadline:
                    raise RuntimeError(f"campaign {campaign_id} not dialed in 30 s")
                time.sleep(0.002)
            created_at, started_at = row
            from_created.append((started_at - created_at).total_seconds() * 1000)
            from_202.append((started_at - accepted).total_seconds() * 1000)
    return from_created, from_202


def describe(label: str, values: list[float]) -> None:
    ordered = sorted(values)
    print(
        f"  {label:<15} n={len(ordered):6,}  p50 {percentile(ordered, 0.50):8.1f} ms"
        f"  p99 {percentile(ordered, 0.99):8.1f} ms  max {ordered[-1]:8.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=2000, help="contacts (default 2000)")
    parser.add_argument(
        "--campaigns", type=int, default=20, help="campaigns created one by one (default 20)"
    )
    parser.add_argument(
        "--timeout", type=float, default=600, help="longest wait for the campaign, in seconds"
    )
    args = parser.parse_args()
    if args.contacts < 2:
        parser.error("--contacts must be at least 2")
    if args.campaigns < 1:
        parser.error("--campaigns must be at least 1")
    print(
        f"lag: {args.contacts:,} contacts (half no-answer, recall [{RECALL_MINUTES}] min),"
        " outbound api + 1 worker, simulator ring 0.2 s / talk 0.5 s"
    )
    numbers = phone_numbers(args.contacts, last_two=outcome_digits)
    contacts = [{"phone": n.e164, "country": n.country} for n in numbers]
    workdir = log_dir()
    with (
        bench_database() as url,
        running_api(url, workdir, SIMULATOR) as (_api, base),
        running(url, ["worker"], workdir, SIMULATOR) as worker,
    ):
        tenant = create_tenant(url)
        wait_for_log(worker, "started", 30)
        launch_at = datetime.now(UTC) + timedelta(seconds=LAUNCH_AHEAD_SECONDS)
        body = {
            "playbook_id": str(tenant.playbook_id),
            "contacts": contacts,
            "launch_at": launch_at.isoformat().replace("+00:00", "Z"),
            "recall": [RECALL_MINUTES],
        }
        response = httpx.post(
            f"{base}/campaign",
            content=json.dumps(body),
            headers={**tenant.headers, "Content-Type": "application/json"},
            timeout=600,
        )
        if response.status_code != 202 or response.json()["status"] != "scheduled":
            raise RuntimeError(f"POST /campaign: {response.status_code} {response.text[:500]}")
        campaign_id = uuid.UUID(response.json()["campaign_id"])
        log(f"campaign posted; launch in {(launch_at - datetime.now(UTC)).total_seconds():.1f} s")

        def completed() -> bool:
            worker.check_alive()
            answer = httpx.get(f"{base}/campaign/{campaign_id}", headers=tenant.headers)
            return bool(answer.json()["status"] == "completed")

        started = time.monotonic()
        wait_until(completed, args.timeout, interval=0.2, what="the campaign to complete")
        log(f"completed {time.monotonic() - started:.1f} s after posting")
        lags = lags_ms(url, campaign_id)
        created, accepted = creation_lags(url, base, tenant, worker, args.campaigns)
    first = lags.get(1, [])
    recalls = [lag for number, values in lags.items() if number > 1 for lag in values]
    unanswered = args.contacts // 2
    if len(first) != args.contacts or len(recalls) != unanswered:
        raise RuntimeError(f"{len(first)} first attempts and {len(recalls)} recalls")
    describe("first attempts", first)
    describe("recalls", recalls)
    describe("all attempts", first + recalls)
    print(
        f"campaigns created through the API: {args.campaigns} of one contact, at random moments,"
        " first attempt started after"
    )
    describe("created_at", created)
    describe("the 202", accepted)
    log(f"process logs in {workdir}")


if __name__ == "__main__":
    main()
