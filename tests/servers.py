"""Real ``outbound`` processes for tests, and the API behind a real HTTP server in the test's
own process."""

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from outbound.api.app import create_app
from outbound.config import Settings

OUTBOUND = [sys.executable, "-m", "outbound"]
FAST_SIMULATOR = {
    "OUTBOUND_SIMULATOR_RING_SECONDS": "0.05",
    "OUTBOUND_SIMULATOR_TALK_SECONDS": "0.05",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def outbound_env(database_url: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTBOUND_")}
    env.update(FAST_SIMULATOR)
    env["OUTBOUND_DATABASE_URL"] = database_url
    env.update(extra or {})
    return env


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not become healthy")


def stop(process: subprocess.Popen[bytes], timeout: float = 20) -> int:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


@contextmanager
def start_server(
    database_url: str,
    workdir: Path,
    command: str = "serve",
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[Server]:
    port = free_port()
    log_path = workdir / f"{command}-{port}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [*OUTBOUND, command, "--port", str(port)],
            env=outbound_env(database_url, extra_env),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process)
        yield Server(url=url, process=process, log_path=log_path)
    finally:
        stop(process)


@contextmanager
def start_workers(
    database_url: str, workdir: Path, count: int, extra_env: Mapping[str, str] | None = None
) -> Iterator[list[subprocess.Popen[bytes]]]:
    processes = []
    for index in range(count):
        log = open(workdir / f"worker-{index}.log", "wb")  # noqa: SIM115
        processes.append(
            subprocess.Popen(
                [*OUTBOUND, "worker"],
                env=outbound_env(database_url, extra_env),
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=workdir,
            )
        )
    try:
        yield processes
    finally:
        for process in processes:
            stop(process)


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError("condition not met in time")


def spawn_worker(
    database_url: str, log_path: Path, extra_env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """One ``outbound worker``, its output in ``log_path``; the caller stops it."""
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            [*OUTBOUND, "worker"],
            env=outbound_env(database_url, extra_env),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=log_path.parent,
        )


@contextmanager
def serving_api(database_url: str, timeout: float = 10, **settings: Any) -> Iterator[str]:
    """The API (no dispatcher) with these settings, behind a real HTTP server (uvicorn, without
    its lifespan) in a thread of the test's process: the API's own code over HTTP, without the
    seconds a new process spends on its imports. Yields the base URL."""
    app = create_app(Settings(database_url=database_url, **settings))
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started or not thread.is_alive(), timeout, interval=0.01)
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
        app.state.database.dispose()
