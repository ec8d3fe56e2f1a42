"""Graceful shutdown of ``outbound serve``: prompt, with calls in flight left leased.

(``tests/e2e/test_crash.py`` holds the same promise for ``outbound worker`` on PostgreSQL.)
"""

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
from sqlalchemy import text

from tests.conftest import migrated_database
from tests.servers import (
    OUTBOUND,
    free_port,
    outbound_env,
    stop,
    wait_for,
    wait_until_healthy,
)


def test_sigterm_stops_serve_promptly_with_calls_in_flight(tmp_path: Path):
    port = free_port()
    url = f"sqlite:///{tmp_path / 'outbound.db'}"
    env = outbound_env(
        url,
        {
            "OUTBOUND_SIMULATOR_RING_SECONDS": "30",
            "OUTBOUND_SHUTDOWN_TIMEOUT_SECONDS": "1",
        },
    )
    out = tmp_path / "serve.out"
    with open(out, "w") as stdout:
        process = subprocess.Popen(
            [*OUTBOUND, "serve", "--port", str(port)], env=env, stdout=stdout,
            stderr=subprocess.DEVNULL, cwd=tmp_path,
        )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_healthy(base, process)
        printed = out.read_text()
        token = re.search(r"token:\s+(\S+)", printed)
        assert token, printed
        curl = next(line for line in printed.splitlines() if line.startswith("curl "))
        created = json.loads(
            subprocess.run(curl, shell=True, capture_output=True, timeout=30, check=True).stdout
        )
        report = f"{base}/campaign/{created['campaign_id']}"
        headers = {"Authorization": f"Bearer {token.group(1)}"}
        wait_for(  # every call is ringing, for 30 seconds
            lambda: (
                httpx.get(report, headers=headers).json()["counts"]["in_progress"]
                == created["contacts"]
            ),
            timeout=15,
        )
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
        assert time.monotonic() - started < 8
    finally:
        stop(process)
    database = migrated_database(url)
    with database.engine.connect() as conn:
        rows = conn.execute(text("SELECT status, lease_expires_at FROM calls")).all()
    database.dispose()
    # In-flight attempts were left leased, to be closed by the lease rule, not forgotten.
    assert len(rows) == created["contacts"] and all(
        r.status == "in_progress" and r.lease_expires_at for r in rows
    )
