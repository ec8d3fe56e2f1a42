"""Helpers to run the worker loops inside the test process: a fake clock, waiting on a
condition with a deadline, and a loop running in the background of a test."""

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

WAIT_SECONDS = 10.0  # the longest a test waits for a loop to do something
REAL_PAUSE_SECONDS = 0.002  # what a fake sleep takes: enough for the other tasks to run


class FakeClock:
    """Time that moves only when the test moves it; its sleeps return (almost) at once.

    ``reads`` counts the readings of ``now``: a test waits on it to know that a loop has
    looked at the time since it last moved the clock.
    """

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._monotonic = 0.0
        self.reads = 0

    def now(self) -> datetime:
        self.reads += 1
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    async def sleep(self, seconds: float) -> None:
        del seconds  # time stands still; only let the other tasks run
        await asyncio.sleep(REAL_PAUSE_SECONDS)

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        self._monotonic += delta.total_seconds()
        return self._now

    def set(self, moment: datetime) -> None:
        self.advance(moment - self._now)


async def until(condition: Callable[[], bool], what: str, timeout: float = WAIT_SECONDS) -> None:
    """Wait until ``condition`` (run in a thread: it may query the database) holds."""
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(condition):
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        await asyncio.sleep(0.005)


async def looked_at_the_time(clock: FakeClock, times: int = 10) -> None:
    """Wait until the loops have read the clock ``times`` more times (several rounds)."""
    seen = clock.reads
    await until(lambda: clock.reads >= seen + times, "the loops read the clock")


@asynccontextmanager
async def running(
    loop: Callable[[asyncio.Event], Coroutine[Any, Any, None]], stop_within: float = WAIT_SECONDS
) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``loop(stopping)`` in the background; on exit, stop it and wait for it to end."""
    stopping = asyncio.Event()
    task = asyncio.create_task(loop(stopping))
    try:
        yield task
    finally:
        stopping.set()
        await asyncio.wait_for(task, stop_within)
