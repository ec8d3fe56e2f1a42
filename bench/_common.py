"""Shared helpers for the benchmarks: a throw-away PostgreSQL database, real ``outbound``
processes, peak memory, valid phone numbers and percentiles.

Every benchmark creates its own database (``bench_<hex>``), migrates it with
``outbound db upgrade`` and drops it at the end, even when it fails or is interrupted.
"""

import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import phonenumbers
import psycopg

ADMIN_URL = os.environ.get(
    "OUTBOUND_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
PYTHON = sys.executable
OUTBOUND = [PYTHON, "-m", "outbound"]
ROOT = Path(__file__).resolve().parent.parent
FAR_FUTURE = "2099-01-01T00:00:00Z"


def _raise_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


# A benchmark stopped with SIGTERM still runs its ``finally`` blocks: processes are stopped and
# the database is dropped.
signal.signal(signal.SIGTERM, _raise_on_sigterm)


def log(message: str) -> None:
    """Progress on stderr; the figures go to stdout."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- database ---------------------------------------------------------------------------------


def database_url(name: str) -> str:
    return f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"


@contextmanager
def bench_database(migrate: bool = True) -> Iterator[str]:
    """A fresh database, migrated by ``outbound db upgrade``; dropped on the way out."""
    name = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = database_url(name)
    try:
        if migrate:
            run_cli(url, "db", "upgrade")
        yield url
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def outbound_env(url: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTBOUND_")}
    env["OUTBOUND_DATABASE_URL"] = url
    env.update(extra or {})
    return env


def cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run an ``outbound`` command to its end."""
    return subprocess.run(
        [*OUTBOUND, *args],
        env=outbound_env(url),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def run_cli(url: str, *args: str) -> str:
    """Run an ``outbound`` command that must succeed; return its stdout."""
    done = cli(url, *args)
    if done.returncode != 0:
        raise RuntimeError(f"outbound {' '.join(args)} exited {done.returncode}: {done.stderr}")
    return done.stdout


@dataclass(frozen=True)
class Tenant:
    account_id: uuid.UUID
    token: str
    playbook_id: uuid.UUID

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def create_tenant(url: str, name: str = "Bench", unlimited: bool = True) -> Tenant:
    """An account and a playbook made with the CLI (each command prints one JSON object).

    ``unlimited`` lifts the account's pacing limits (concurrent calls, calls per second), where
    this version has them, so that the figures measure the engine rather than the pacing policy.
    """
    account = json.loads(run_cli(url, "account", "create", "--name", name, "--json"))
    account_id = account["account_id"]
    playbook = json.loads(
        run_cli(url, "playbook", "create", "--account", account_id, "--name", "P", "--json")
    )
    tenant = Tenant(uuid.UUID(account_id), account["token"], uuid.UUID(playbook["playbook_id"]))
    if unlimited:
        lift_account_limits(url, tenant.account_id)
    return tenant


def lift_account_limits(url: str, account_id: uuid.UUID) -> bool:
    """Set the account's pacing limits to 0 (no limit) with ``outbound account update``.

    False when this version of outbound has no such command (and so no pacing limits).
    """
    limits = ("--max-concurrent-calls", "0", "--calls-per-second", "0")
    done = cli(url, "account", "update", "--account", str(account_id), *limits, "--json")
    if done.returncode == 2 and "No such command" in done.stderr:
        return False
    if done.returncode != 0:
        raise RuntimeError(f"outbound account update exited {done.returncode}: {done.stderr}")
    return True


# --- processes --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def check_alive(self) -> None:
        if self.popen.poll() is not None:
            tail = "\n".join(self.log_text().splitlines()[-30:])
            raise RuntimeError(f"{self.name} exited with {self.popen.returncode}:\n{tail}")


def log_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="outbound-bench-"))


def start(
    url: str, args: Sequence[str], workdir: Path, env: Mapping[str, str] | None = None
) -> Process:
    name = "-".join(args[:1]) + f"-{uuid.uuid4().hex[:6]}"
    log_path = workdir / f"{name}.log"
    with open(log_path, "wb") as out:
        popen = subprocess.Popen(
            [*OUTBOUND, *args],
            env=outbound_env(url, env),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    return Process(name, popen, log_path)


def stop(process: Process, timeout: float = 30) -> int:
    """SIGTERM, then SIGKILL if it does not exit in time.

    Errors the process logged are reported with the figures: they may have skewed them.
    """
    if process.popen.poll() is None:
        process.popen.send_signal(signal.SIGTERM)
        try:
            process.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            log(f"{process.name} did not stop in {timeout}s: killed")
            process.popen.kill()
            process.popen.wait()
    errors = process.log_text().count("Traceback")
    if errors:
        print(f"  WARNING: {process.name} logged {errors} error(s), see {process.log_path}")
    return process.popen.returncode


@contextmanager
def running(
    url: str, args: Sequence[str], workdir: Path, env: Mapping[str, str] | None = None
) -> Iterator[Process]:
    process = start(url, args, workdir, env)
    try:
        yield process
    finally:
        stop(process)


@contextmanager
def running_api(
    url: str, workdir: Path, env: Mapping[str, str] | None = None
) -> Iterator[tuple[Process, str]]:
    """``outbound api`` on a free port, once it answers ``/healthz``; yields it and its URL."""
    port = free_port()
    with running(url, ["api", "--port", str(port)], workdir, env) as process:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: _healthy(base, process), timeout=60, what="the API to start")
        yield process, base


def _healthy(base: str, process: Process) -> bool:
    process.check_alive()
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def wait_for_log(process: Process, text: str, timeout: float) -> None:
    def found() -> bool:
        process.check_alive()
        return text in process.log_text()

    wait_until(found, timeout, what=f"{process.name} to log {text!r}")


def wait_until(
    predicate: Callable[[], bool], timeout: float, interval: float = 0.05, what: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


# --- memory -----------------------------------------------------------------------------------


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise KeyError(f"{field} not in /proc/{pid}/status")


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), in MiB."""
    return _status_kib(pid, "VmHWM") / 1024


def rss_mib(pid: int) -> float:
    """The process's resident memory now (VmRSS), in MiB."""
    return _status_kib(pid, "VmRSS") / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- data -------------------------------------------------------------------------------------

# Prefixes whose following digits (of the given count) make valid numbers; each number is still
# checked with phonenumbers.is_valid_number.
NUMBER_PLANS: tuple[tuple[str, str, int, str], ...] = (
    ("ES", "+3491", 7, "Europe/Madrid"),
    ("FR", "+3361", 7, "Europe/Paris"),
    ("US", "+12122", 6, "America/New_York"),
    ("DE", "+4930", 8, "Europe/Berlin"),
    ("IT", "+3906", 8, "Europe/Rome"),
    ("BR", "+55119", 8, "America/Sao_Paulo"),
)


@dataclass(frozen=True)
class Number:
    e164: str
    country: str
    timezone: str


def phone_numbers(count: int, last_two: Callable[[int], int] | None = None) -> list[Number]:
    """``count`` distinct valid numbers, spread over several countries.

    ``last_two(k)`` chooses the last two digits of the k-th number (the simulator's outcome).
    """
    serials = [0] * len(NUMBER_PLANS)
    numbers: list[Number] = []
    rejected = 0
    while len(numbers) < count:
        plan = len(numbers) % len(NUMBER_PLANS)
        country, prefix, width, zone = NUMBER_PLANS[plan]
        serial = serials[plan]
        serials[plan] += 1
        if last_two is None:
            digits = f"{serial:0{width}d}"
        else:
            digits = f"{serial:0{width - 2}d}{last_two(len(numbers)):02d}"
        if len(digits) != width:
            raise ValueError(f"too many numbers for {prefix}")
        e164 = prefix + digits
        if not phonenumbers.is_valid_number(phonenumbers.parse(e164)):
            rejected += 1
            if rejected > count:
                raise ValueError("too many invalid numbers generated")
            continue
        numbers.append(Number(e164, country, zone))
    if len({n.e164 for n in numbers}) != count:
        raise AssertionError("generated numbers are not unique")
    return numbers


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return float("nan")
    rank = min(len(sorted_values), max(1, math.ceil(fraction * len(sorted_values))))
    return sorted_values[rank - 1]


def parse_sizes(text: str) -> list[int]:
    """``"10000,100000"`` (underscores allowed) as a list of positive integers."""
    sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    if not sizes or min(sizes) <= 0:
        raise ValueError(f"expected positive sizes, got {text!r}")
    return sizes
