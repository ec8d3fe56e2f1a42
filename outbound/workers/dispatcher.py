"""The dispatcher: a loop over the dispatch use cases. No SQL, no provider specifics.

Claims due calls in batches, hands each attempt to the provider, and records outcomes in
batches as the provider reports them. The database holds the truth about what is due; this
loop only decides when to look again.
"""

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from outbound import metrics
from outbound.clock import utcnow
from outbound.config import Settings
from outbound.domain.phones import mask_phone
from outbound.domain.records import AttemptResult, ClaimedAttempt
from outbound.domain.statuses import Outcome
from outbound.providers.base import CallRequest, Provider, ReportResult
from outbound.providers.errors import ProviderUnavailable
from outbound.services import dispatch
from outbound.store.database import Database

log = logging.getLogger(__name__)

RESULT_BATCH_SIZE = 1000  # outcomes recorded per transaction at most
ERROR_BACKOFF_SECONDS = 1.0  # pause after a failed round, e.g. the database is away
PACING_RETRY_SECONDS = 0.05  # due calls held back by a rate limit are looked at again after
MIN_SLEEP_SECONDS = 0.005  # due work we could not take (e.g. no room in flight) is retried after

ProviderFactory = Callable[[ReportResult], Provider]


@dataclass(frozen=True)
class _Unplaced:
    message: str


class Dispatcher:
    def __init__(
        self,
        database: Database,
        provider_factory: ProviderFactory,
        settings: Settings,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._database = database
        self._provider_factory = provider_factory
        self._settings = settings
        self._clock = clock
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._results: asyncio.Queue[AttemptResult] = asyncio.Queue()
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._next_lease_check = 0.0
        self._next_launch_check = 0.0
        self._paced = False

    def wake(self) -> None:
        """Look for due work now (safe to call from any thread)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self, stopping: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        provider = self._provider_factory(self._report)
        recorder = asyncio.create_task(self._record_results())
        claims = self._settings.dispatch_claims if self._database.concurrent_writers else 1
        log.info("dispatcher %s started", self.owner)
        try:
            await asyncio.gather(*(self._claim_loop(provider, stopping) for _ in range(claims)))
            await self._drain()
        finally:
            recorder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await recorder
            await self._flush_results()
            await provider.aclose()
            log.info("dispatcher %s stopped", self.owner)

    async def _claim_loop(self, provider: Provider, stopping: asyncio.Event) -> None:
        busy = False
        while not stopping.is_set():
            try:
                busy = await self._round(provider, busy)
            except Exception:
                log.exception("dispatch round failed; retrying")
                busy = False
                await asyncio.sleep(ERROR_BACKOFF_SECONDS)
            if not busy:
                await self._sleep(stopping)

    async def _round(self, provider: Provider, busy: bool) -> bool:
        """One pass over due work; True when there may be more to do at once.

        ``busy``: the previous round left work to do. Rounds then follow each other at once,
        and look for campaigns to launch once per poll interval rather than every time.
        """
        now = self._clock()
        loop_time = asyncio.get_running_loop().time()
        if not busy or loop_time >= self._next_launch_check:
            self._next_launch_check = loop_time + self._settings.poll_interval_seconds
            await asyncio.to_thread(dispatch.start_due_campaigns, self._database, now)
        if loop_time >= self._next_lease_check:
            self._next_lease_check = loop_time + self._settings.lease_check_interval_seconds
            await asyncio.to_thread(dispatch.expire_leases, self._database, now)
        room = min(
            self._settings.dispatch_batch_size, self._settings.max_in_flight - self._in_flight
        )
        if room <= 0:
            return False
        lease = timedelta(seconds=provider.max_call_seconds + self._settings.lease_grace_seconds)
        self._in_flight += room  # held for this claim: another one may be under way
        self._idle.clear()
        try:
            result = await asyncio.to_thread(
                dispatch.claim, self._database, self.owner, room, self._clock, lease
            )
        except BaseException:
            self._settle(room)
            raise
        claimed = result.claimed
        self._settle(room - len(claimed))
        self._paced = result.paced
        if not claimed:
            return False
        for item in claimed:
            if item.due_at is not None:
                metrics.DISPATCH_LAG.observe((item.started_at - item.due_at).total_seconds())
        requests = await asyncio.to_thread(
            dispatch.build_requests, self._database, claimed, provider.needs_call_content
        )
        outcomes = await asyncio.gather(
            *(
                self._place(provider, item, request)
                for item, request in zip(claimed, requests, strict=True)
            )
        )
        placed = [
            (item.attempt_id, o)
            for item, o in zip(claimed, outcomes, strict=True)
            if isinstance(o, str)
        ]
        unplaced = [
            (item, o.message)
            for item, o in zip(claimed, outcomes, strict=True)
            if isinstance(o, _Unplaced)
        ]
        metrics.ATTEMPTS_PLACED.labels(provider.name).inc(len(placed))
        if not provider.reports_in_process:
            # Outcomes will arrive through the API and find the attempt by this id: store it
            # now. In-process outcomes carry it, and it is stored as the attempt closes.
            await asyncio.to_thread(dispatch.record_placed, self._database, placed)
            self._settle(len(placed))
        if unplaced:
            await asyncio.to_thread(
                dispatch.release_unplaced, self._database, unplaced, self._clock(), self._backoff
            )
            self._settle(len(unplaced))
        return len(claimed) == room

    def _backoff(self, failures: int) -> timedelta:
        seconds = self._settings.provider_retry_seconds * 2 ** min(failures, 20)
        return timedelta(seconds=min(seconds, self._settings.provider_retry_max_seconds))

    async def _place(
        self, provider: Provider, item: ClaimedAttempt, request: CallRequest
    ) -> "str | _Unplaced | None":
        """The provider's call id; _Unplaced if the provider is down; None if it refused."""
        try:
            handle = await provider.place_call(request)
        except ProviderUnavailable as exc:
            log.warning("provider unavailable for call %s: %s", item.call_id, exc)
            return _Unplaced(str(exc))
        except Exception as exc:
            log.warning(
                "placing call %s to %s failed: %s", item.call_id, mask_phone(item.phone), exc
            )
            self._report(
                AttemptResult(
                    call_id=item.call_id,
                    attempt_number=item.attempt_number,
                    outcome=Outcome.FAILED,
                    ended_at=self._clock(),
                    error=f"provider error: {exc}",
                )
            )
            return None
        return handle.provider_call_id

    def _report(self, result: AttemptResult) -> None:
        self._results.put_nowait(result)

    async def _record_results(self) -> None:
        while True:
            first = await self._results.get()
            batch = [first]
            while len(batch) < RESULT_BATCH_SIZE and not self._results.empty():
                batch.append(self._results.get_nowait())
            await self._record(batch)

    async def _record(self, batch: list[AttemptResult]) -> None:
        while True:
            try:
                await asyncio.to_thread(
                    dispatch.record_results, self._database, batch, self._clock()
                )
                break
            except Exception:
                log.exception("recording %d outcomes failed; retrying", len(batch))
                await asyncio.sleep(ERROR_BACKOFF_SECONDS)
        self._settle(len(batch))
        self._wake.set()  # a recall may be due at once

    def _settle(self, count: int) -> None:
        """``count`` attempts are no longer in flight."""
        self._in_flight = max(0, self._in_flight - count)
        if self._in_flight == 0:
            self._idle.set()

    async def _flush_results(self) -> None:
        batch: list[AttemptResult] = []
        while not self._results.empty():
            batch.append(self._results.get_nowait())
        if batch:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(
                    dispatch.record_results, self._database, batch, self._clock()
                )

    async def _drain(self) -> None:
        """On shutdown, let attempts in flight end for a bounded time; the rest stay leased."""
        if self._in_flight == 0:
            return
        log.info(
            "waiting up to %.1fs for %d attempts in flight",
            self._settings.shutdown_timeout_seconds,
            self._in_flight,
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), self._settings.shutdown_timeout_seconds)

    async def _sleep(self, stopping: asyncio.Event) -> None:
        self._wake.clear()  # before reading the due time: a later wake is not lost
        delay = self._settings.poll_interval_seconds
        if self._paced:
            delay = PACING_RETRY_SECONDS  # a rate window will free up soon
        elif self._in_flight < self._settings.max_in_flight:  # else: woken as attempts end
            due = await asyncio.to_thread(dispatch.next_due_at, self._database)
            if due is not None:
                delay = min(delay, (due - self._clock()).total_seconds())
        delay = max(delay, MIN_SLEEP_SECONDS)
        waiters = [asyncio.create_task(self._wake.wait()), asyncio.create_task(stopping.wait())]
        _, pending = await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
        for task in waiters:
            task.cancel()
        del pending
