"""The one place that reads the clock. Everything below the worker loops and the API takes
``now`` as a parameter (``domain/`` always does); the loops take a ``Clock``.

A ``Clock`` tells the time (``now``, UTC), measures intervals (``monotonic``, seconds that
never go backwards) and waits (``sleep``). Tests drive the loops with a fake one; every other
caller uses ``SYSTEM_CLOCK`` or ``utcnow``. Imports nothing of outbound.
"""

import asyncio
import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, in UTC."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary start, for intervals and deadlines (never goes back)."""

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""


class SystemClock:
    """The machine's clocks."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


SYSTEM_CLOCK = SystemClock()


def utcnow() -> datetime:
    return datetime.now(UTC)
