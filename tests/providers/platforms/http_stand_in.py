"""The HTTP side of the platforms' stand-ins: a real server in a thread that hands every request
to a stand-in and sends back what it answers (imitating ``tests/providers/twilio_api.py``).

Each platform's stand-in (``vapi_api``, ``retell_api``, ``elevenlabs_api``, ``bland_api``,
``livekit_api``) decides the answers, in JSON or in the platform's own encoding (LiveKit's
protobuf), and keeps a ``Recorder``: every request it received, for the test to read, and
``answers`` queued to be given first, one per request, to play the platform's errors.
"""

import contextlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol, TypeVar

JSON = "application/json"
# A webhook posted to outbound may wait for a call id being stored (5 s): give it time.
WEBHOOK_TIMEOUT_SECONDS = 30.0
SHUTDOWN_POLL_SECONDS = 0.05  # how soon the server notices it is to stop


@dataclass(frozen=True)
class Received:
    """One request as the stand-in received it."""

    method: str
    path: str  # with the query string
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes = b""
    content_type: str = JSON

    @classmethod
    def json(cls, status: int, value: Any) -> "Answer":
        return cls(status, json.dumps(value).encode())

    def value(self) -> Any:
        """The JSON answered."""
        return json.loads(self.body)


class StandIn(Protocol):
    url: str

    def answer(self, request: Received) -> Answer: ...


Api = TypeVar("Api", bound=StandIn)


@dataclass
class Recorder:
    """What every stand-in keeps: the requests it received and the answers scripted ahead."""

    answers: list[Answer] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, request: Received) -> Answer | None:
        """Keep ``request``; the next scripted answer, if there is one."""
        with self.lock:
            self.requests.append(request)
            return self.answers.pop(0) if self.answers else None

    def received(self, method: str, path_start: str) -> list[Received]:
        """The requests of ``method`` to a path that starts with ``path_start``, in order."""
        with self.lock:
            return [
                r for r in self.requests if r.method == method and r.path.startswith(path_start)
            ]


@contextmanager
def serving(stand_in: Api) -> Iterator[Api]:
    """Serve ``stand_in`` on a free port of 127.0.0.1 (its ``url`` is set) until the block ends."""

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            request = Received(
                self.command,
                self.path,
                {name.lower(): value for name, value in self.headers.items()},
                body,
            )
            answer = stand_in.answer(request)
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # client gone
                self.wfile.write(answer.body)

        do_GET = do_POST = do_DELETE = do_PATCH = _handle

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stand_in.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS}, daemon=True
    )
    thread.start()
    try:
        yield stand_in
    finally:
        server.shutdown()
        server.server_close()
