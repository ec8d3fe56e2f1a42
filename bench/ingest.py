"""Ingest: POST /campaign with N contacts against ``outbound api`` on PostgreSQL.

For each size: the time from sending the request to its 202 (the JSON body is built before the
clock starts), then, as the reference, a plain COPY of the same rows into a fresh table shaped
like ``contacts`` (same columns and indexes) on the same server, and their ratio. Also the API
process's peak memory (VmHWM). Each size uses a fresh account (every contact is inserted, not
updated) and a fresh API process. The campaign launches in 2099: nothing is dialed.

    .venv/bin/python bench/ingest.py [--sizes 10000,100000]
"""

import argparse
import json
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
from _common import (
    FAR_FUTURE,
    Number,
    Tenant,
    bench_database,
    create_tenant,
    log,
    log_dir,
    parse_sizes,
    peak_rss_mib,
    phone_numbers,
    running_api,
)

from outbound.domain.contacts import CONTACT_FIELDS

SEED_FIELDS = CONTACT_FIELDS  # every optional field of the seed's contacts
FIRST_NAMES = ("Lucía", "Hugo", "Amélie", "John", "Greta", "Marco", "Ana", "Zoë")
LAST_NAMES = ("García", "Martin", "Smith", "Müller", "Rossi", "Silva", "O'Brien", "Nuñez")
CITIES = ("Madrid", "Paris", "New York", "Berlin", "Rome", "São Paulo")
WARM_UP_CONTACTS = 6  # one small request first, so that lazy start-up costs are not timed
REQUEST_TIMEOUT = 1800.0  # seconds; a bound, not an expectation


def contact(index: int, number: Number) -> dict[str, Any]:
    """A contact with every seed field and a few custom fields."""
    first = FIRST_NAMES[index % len(FIRST_NAMES)]
    last = LAST_NAMES[index // len(FIRST_NAMES) % len(LAST_NAMES)]
    city = CITIES[index % len(CITIES)]
    return {
        "phone": number.e164,
        "first_name": first,
        "last_name": last,
        "email": f"{first.lower()}.{index}@example.com",
        "company": f"Company {index % 997}",
        "job_title": ("CTO", "Head of Sales", "Buyer", "Founder")[index % 4],
        "address": f"{index % 300 + 1} Main Street",
        "city": city,
        "state": f"State {index % 50}",
        "country": number.country,
        "postal_code": f"{10000 + index % 90000}",
        "timezone": number.timezone,
        "utm_source": ("google", "newsletter", "linkedin")[index % 3],
        "utm_medium": ("cpc", "email", "social")[index % 3],
        "utm_campaign": f"spring-{index % 12}",
        "utm_term": f"term {index % 40}",
        "utm_content": f"variant-{index % 2}",
        "custom_fields": {"plan": ("free", "pro", "team")[index % 3], "score": index % 100},
    }


def post_campaign(base: str, tenant: Tenant, contacts: list[dict[str, Any]]) -> float:
    """Seconds from sending POST /campaign to its 202."""
    body = json.dumps(
        {"playbook_id": str(tenant.playbook_id), "contacts": contacts, "launch_at": FAR_FUTURE}
    ).encode()
    headers = {**tenant.headers, "Content-Type": "application/json"}
    with httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT) as client:
        started = time.perf_counter()
        response = client.post("/campaign", content=body, headers=headers)
        elapsed = time.perf_counter() - started
    if response.status_code != 202:
        raise RuntimeError(f"POST /campaign: {response.status_code} {response.text[:500]}")
    if response.json()["contacts"] != len(contacts):
        raise RuntimeError(f"POST /campaign stored {response.json()['contacts']} contacts")
    return elapsed


def copy_contacts(url: str, account_id: uuid.UUID, contacts: list[dict[str, Any]]) -> float:
    """Seconds to COPY the same rows into a fresh table of the shape of ``contacts``."""
    now = datetime.now(UTC)
    rows = [
        (
            uuid.uuid4(),
            account_id,
            item["phone"],
            *(item[name] for name in SEED_FIELDS),
            json.dumps(item["custom_fields"]),
            now,
            now,
        )
        for item in contacts
    ]
    columns = ", ".join(("id", "account_id", "phone", *SEED_FIELDS, "custom_fields"))
    with psycopg.connect(url) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_copy")
        conn.execute("CREATE TABLE bench_copy (LIKE contacts INCLUDING ALL)")
        conn.commit()
        started = time.perf_counter()
        with (
            conn.cursor() as cursor,
            cursor.copy(f"COPY bench_copy ({columns}, created_at, updated_at) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        conn.commit()
        elapsed = time.perf_counter() - started
        (copied,) = conn.execute("SELECT count(*) FROM bench_copy").fetchone() or (0,)
        conn.execute("DROP TABLE bench_copy")
    if copied != len(contacts):
        raise RuntimeError(f"COPY stored {copied} rows, expected {len(contacts)}")
    return elapsed


def stored_counts(url: str, account_id: uuid.UUID) -> tuple[int, int]:
    with psycopg.connect(url) as conn:
        contacts = conn.execute(
            "SELECT count(*) FROM contacts WHERE account_id = %s", (account_id,)
        ).fetchone()
        calls = conn.execute(
            "SELECT count(*) FROM calls WHERE account_id = %s", (account_id,)
        ).fetchone()
    return (contacts or (0,))[0], (calls or (0,))[0]


def run_size(url: str, size: int, workdir: Path) -> None:
    numbers = phone_numbers(size + WARM_UP_CONTACTS)
    contacts = [contact(i, n) for i, n in enumerate(numbers)]
    measured, warm_up = contacts[:size], contacts[size:]
    tenant = create_tenant(url, name=f"Bench {size}")
    with running_api(url, workdir) as (api, base):
        post_campaign(base, tenant, warm_up)
        idle_peak = peak_rss_mib(api.pid)
        log(f"POST /campaign with {size:,} contacts")
        request_seconds = post_campaign(base, tenant, measured)
        api_peak = peak_rss_mib(api.pid)
    contact_rows, call_rows = stored_counts(url, tenant.account_id)
    expected = size + WARM_UP_CONTACTS
    if (contact_rows, call_rows) != (expected, expected):
        raise RuntimeError(f"stored {contact_rows} contacts and {call_rows} calls, not {expected}")
    log(f"COPY of the same {size:,} rows")
    copy_seconds = copy_contacts(url, tenant.account_id, measured)
    print(f"N = {size:,} contacts")
    print(
        f"  POST /campaign -> 202    {request_seconds:9.3f} s  "
        f"({size / request_seconds:,.0f} contacts/s)"
    )
    print(
        f"  reference: COPY          {copy_seconds:9.3f} s  "
        f"({size / copy_seconds:,.0f} rows/s, table LIKE contacts INCLUDING ALL)"
    )
    print(f"  ratio 202 / COPY         {request_seconds / copy_seconds:9.1f} x")
    print(f"  API peak memory (VmHWM)  {api_peak:9.1f} MiB  (after warm-up: {idle_peak:.1f} MiB)")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        default=[10_000, 100_000],
        help="comma-separated contact counts (default: 10000,100000)",
    )
    args = parser.parse_args()
    print("ingest: POST /campaign on `outbound api` (PostgreSQL) vs a plain COPY of the rows")
    workdir = log_dir()
    with bench_database() as url:
        for size in args.sizes:
            run_size(url, size, workdir)
    log(f"process logs in {workdir}")


if __name__ == "__main__":
    main()
