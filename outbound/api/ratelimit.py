"""A per-token rate limit on write routes: a token bucket per API token, in each process.

Writes are POST, PUT, PATCH and DELETE on every route but the providers' callbacks. A request
over the limit gets 429 with ``Retry-After``. The buckets live in the API process's memory: with
N processes serving the API, a token may write up to N times the rate.
"""

import hashlib
import json
import math
import threading
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from outbound.clock import SYSTEM_CLOCK

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
EXEMPT_PREFIXES = ("/provider/",)  # signed callbacks from telephony providers
MAX_BUCKETS = 100_000  # tokens tracked at once; the idlest are forgotten past this


class TokenBuckets:
    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = SYSTEM_CLOCK.monotonic
    ) -> None:
        self._rate = rate  # tokens added per second
        self._burst = burst  # bucket size
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, updated)
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take one token: 0 when allowed, else the seconds until one is available."""
        now = self._clock()
        with self._lock:
            tokens, updated = self._buckets.get(key, (float(self._burst), now))
            tokens = min(float(self._burst), tokens + (now - updated) * self._rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                self._forget_idle()
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self._rate

    def _forget_idle(self) -> None:
        if len(self._buckets) > MAX_BUCKETS:
            by_age = sorted(self._buckets, key=lambda k: self._buckets[k][1])
            for key in by_age[: len(by_age) // 2]:
                del self._buckets[key]


class WriteRateLimit:
    """ASGI middleware applying ``TokenBuckets`` to write requests, keyed by bearer token."""

    def __init__(self, app: ASGIApp, rate: float, burst: int) -> None:
        self.app = app
        self.buckets = TokenBuckets(rate, burst) if rate > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.buckets is None
            or scope["type"] != "http"
            or scope["method"] not in WRITE_METHODS
            or scope["path"].startswith(EXEMPT_PREFIXES)
        ):
            await self.app(scope, receive, send)
            return
        authorization = dict(scope["headers"]).get(b"authorization", b"")
        key = hashlib.sha256(authorization).hexdigest()
        wait = self.buckets.take(key)
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        body = json.dumps(
            {"detail": "too many write requests for this token; retry later", "errors": []}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(max(1, math.ceil(wait))).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
