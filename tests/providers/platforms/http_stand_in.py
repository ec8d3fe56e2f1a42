"""A real HTTP server for a stand-in of a platform's API, run by the tests in a thread.

The stand-in (``StandIn.handle``) gets every request, its JSON body parsed, and answers a status
and a JSON body; the server records nothing itself. Shared by the platforms' stand-ins
(``vapi_api``, ``retell_api``).
"""

import contextlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol, TypeVar

SHUTDOWN_POLL_SECONDS = 0.05  # how soon the server notices it is to stop


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    json: Any  # None without a body

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")


class StandIn(Protocol):
    url: str

    def handle(self, request: ApiRequest) -> tuple[int, Any]: ...


Api = TypeVar("Api", bound=StandIn)


@contextmanager
def running(api: Api) -> Iterator[Api]:
    """Serve ``api`` on a free port of 127.0.0.1; ``api.url`` is its address."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            request = ApiRequest(
                self.command,
                self.path,
                {name.lower(): value for name, value in self.headers.items()},
                json.loads(raw) if raw else None,
            )
            status, answer = api.handle(request)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # client gave up
                self.wfile.write(data)

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS}, daemon=True
    )
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
