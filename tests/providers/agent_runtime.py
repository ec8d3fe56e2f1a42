"""A small agent runtime for the webhook provider: a real HTTP server run by the tests.

It takes calls signed by outbound, answers with its own call id, and reports each call's
events back to outbound, signed with the same secret, following a script per phone number: to
``/provider/webhook/events`` (the webhook provider), or to a connection's webhook URL
(``events_path``, a ``webhook`` provider connection).
"""

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from outbound.signing import SIGNATURE_HEADER, sign, verify

# (event, outcome) or (event, outcome, result) reported after each call; a result rides on
# the ``ended`` event (README, "Results and dispositions").
Step = tuple[str, str | None] | tuple[str, str | None, dict[str, Any]]
Script = list[Step]


@dataclass
class AgentRuntime:
    secret: str
    outbound_url: str = ""
    events_path: str = "/provider/webhook/events"  # where it reports, under outbound_url
    scripts: dict[str, list[Script]] = field(default_factory=dict)  # per phone, per attempt
    unavailable: int = 0  # answer ``unavailable_status`` to this many calls first
    unavailable_status: int = 503  # 503 (down) or 429 (too many calls)
    calls: list[dict[str, Any]] = field(default_factory=list)
    provider_call_ids: list[str] = field(default_factory=list)  # the id given to each call
    headers: list[dict[str, str]] = field(default_factory=list)
    rejected_signatures: int = 0
    reports: list[httpx.Response] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)
    placed: int = 0  # calls taken since the start: ids stay unique across ``forget``

    def forget(self) -> None:
        """Start a new test: no script, no refusal, nothing recorded."""
        with self.lock:
            self.scripts, self.unavailable, self.rejected_signatures = {}, 0, 0
            self.unavailable_status = 503
            self.calls, self.provider_call_ids, self.headers, self.reports = [], [], [], []

    def report(
        self,
        provider_call_id: str,
        event: str,
        outcome: str | None,
        result: dict[str, Any] | None = None,
        **fields: Any,
    ) -> httpx.Response:
        sent: dict[str, Any] = {
            "provider_call_id": provider_call_id, "event": event, "outcome": outcome,
            "duration_s": 1.5 if event == "ended" else None, **fields,
        }  # fmt: skip
        if result is not None:
            sent["result"] = result
        body = json.dumps(sent).encode()
        return httpx.post(
            self.outbound_url + self.events_path,
            content=body,
            headers={SIGNATURE_HEADER: sign(self.secret, int(time.time()), body)},
            timeout=30,  # outbound may wait for a call id being stored (5 s)
        )

    def _run_script(self, provider_call_id: str, script: Script) -> None:
        for event, outcome, *result in script:
            time.sleep(0.05)
            response = self.report(provider_call_id, event, outcome, *result)
            with self.lock:
                self.reports.append(response)

    def handle(self, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        try:
            verify(self.secret, headers.get(SIGNATURE_HEADER.lower()), body, time.time())
        except Exception:
            with self.lock:
                self.rejected_signatures += 1
            return 401, {"error": "bad signature"}
        with self.lock:
            if self.unavailable > 0:
                self.unavailable -= 1
                return self.unavailable_status, {"error": "busy"}
            payload = json.loads(body)
            self.placed += 1
            provider_call_id = f"rt-{self.placed}"
            self.calls.append(payload)
            self.provider_call_ids.append(provider_call_id)
            self.headers.append(headers)
            attempts = self.scripts.get(payload["to"], [])
            script = attempts[min(payload["attempt"], len(attempts)) - 1] if attempts else []
        threading.Thread(
            target=self._run_script, args=(provider_call_id, script), daemon=True
        ).start()
        return 200, {"provider_call_id": provider_call_id}


@contextmanager
def running(runtime: AgentRuntime) -> Iterator[AgentRuntime]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, answer = runtime.handle(body, headers)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    runtime.url = f"http://127.0.0.1:{server.server_address[1]}/calls"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield runtime
    finally:
        server.shutdown()
        server.server_close()
