"""Large lists are validated by a pool of processes, with the same answers in the same order."""

import signal
import time
from pathlib import Path

import pytest

from outbound.domain.phones import InvalidPhone
from outbound.workers import ingest_pool as phones
from tests.conftest import migrated_database
from tests.servers import start_server


def test_the_pool_gives_the_same_answers_in_order(monkeypatch: pytest.MonkeyPatch):
    items: list[tuple[object, str | None]] = [
        (f"+3491234{n:04d}", None) if n % 7 else ("not a phone", None) for n in range(50)
    ]
    items.append(("600000000", "ES"))
    sequential = phones.normalize_all(items)
    monkeypatch.setattr(phones, "PARALLEL_FROM", 10)
    monkeypatch.setattr(phones, "CHUNK", 6)
    parallel = phones.normalize_all(items)
    assert [str(r) for r in parallel] == [str(r) for r in sequential]
    assert isinstance(parallel[0], InvalidPhone) and parallel[1].e164 == "+34912340001"
    assert parallel[-1].e164 == "+34600000000"


def children_of(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.update(int(child) for child in text)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def wait_gone(pids: set[int], timeout: float) -> set[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(pid) for pid in pids):
        time.sleep(0.1)
    return {pid for pid in pids if alive(pid)}


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc (Linux)")
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_the_pool_goes_away_with_the_api(
    postgres_database_url: str, tmp_path: Path, how: signal.Signals
):
    """`outbound api` starts its pool before answering; stopped, or killed without a word, it
    leaves no process behind."""
    url = postgres_database_url
    migrated_database(url).dispose()
    with start_server(url, tmp_path, command="api") as server:
        pool = children_of(server.process.pid)
        assert len(pool) >= 2  # the processes, and multiprocessing's resource tracker
        server.process.send_signal(how)
        server.process.wait(timeout=30)
        assert wait_gone(pool, timeout=10) == set()
