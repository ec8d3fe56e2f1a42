"""The dispatcher: a loop over the dispatch use cases. No SQL, no provider specifics.

Claims due calls in batches, hands each attempt to the provider, and records outcomes in
batches as the provider reports them. The database holds the truth about what is due; this
loop only decides when to look again.

It fails loudly and safely: a provider that raises something unexpected is logged with its
traceback and treated as unavailable (the attempt is not spent), and what must be written after
a call is placed (outcomes, provider call ids, released attempts) is retried until the database
takes it, never dropped. Time comes from a ``Clock``, so that tests can drive the loop.
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
from typing import TypeVar

from outbound import metrics
from outbound.clock import SYSTEM_CLOCK, Clock
from outbound.config import Settings
from outbound.domain.backoff import provider_backoff
from outbound.domain.phones import mask_phone
from outbound.domain.records import AttemptResult, ClaimedAttempt
from outbound.domain.statuses import Outcome
from outbound.providers.base import CallHandle, CallRequest, Provider, ReportResult
from outbound.providers.errors import CallRejected, LookupUnsupported, ProviderUnavailable
from outbound.providers.router import ProviderRouter
from outbound.services import dispatch, provider_events
from outbound.store.database import Database

log = logging.getLogger(__name__)

RESULT_BATCH_SIZE = 1000  # outcomes recorded per transaction at most
RESULT_WRITERS = 2  # batches of outcomes written at once (one on SQLite)
ERROR_BACKOFF_SECONDS = 1.0  # pause after a failed round or write, e.g. the database is away
PACING_RETRY_SECONDS = 0.05  # due calls held back by a rate limit are looked at again after
MIN_SLEEP_SECONDS = 0.005  # due work we could not take (e.g. no room in flight) is retried after

ProviderFactory = Callable[[ReportResult], Provider]
T = TypeVar("T")


@dataclass(frozen=True)
class _Unplaced:
    message: str


class _GaveUp(Exception):
    """A write kept failing while the dispatcher stopped; its attempts stay leased."""


class Dispatcher:
    def __init__(
        self,
        database: Database,
        provider_factory: ProviderFactory,
        settings: Settings,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._database = database
        self._provider_factory = provider_factory
        self._settings = settings
        self._clock = clock
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._results: asyncio.Queue[AttemptResult | None] = asyncio.Queue()  # None: closed
        self._stop: asyncio.Event | None = None  # set: writes that keep failing may be given up
        self._closing = False
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._next_lease_check = 0.0
        self._next_launch_check = 0.0
        self._paced = False
        # One claim at a time in this process: the claim rounds take turns at the queue (a
        # second claim would find the first one's accounts held, and read the queue for
        # nothing) while the others place the calls they claimed.
        self._claiming = asyncio.Lock()

    def wake(self) -> None:
        """Look for due work now (safe to call from any thread)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self, stopping: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = stopping
        provider = self._provider_factory(self._report)
        recorder = asyncio.create_task(self._record_results())
        claims = self._settings.dispatch_claims if self._database.concurrent_writers else 1
        log.info("dispatcher %s started", self.owner)
        try:
            await asyncio.gather(*(self._claim_loop(provider, stopping) for _ in range(claims)))
            await self._drain()
        finally:
            self._closing = True
            try:
                await provider.aclose()  # no outcome is reported after this
            finally:
                self._results.put_nowait(None)  # the recorder records what came before, and ends
                await recorder
            log.info("dispatcher %s stopped", self.owner)

    async def _claim_loop(self, provider: Provider, stopping: asyncio.Event) -> None:
        busy = False
        while not stopping.is_set():
            try:
                busy = await self._round(provider, busy)
                if not busy:
                    await self._sleep(stopping)  # it reads the next due time: it may fail too
            except Exception:
                log.exception("dispatch round failed; retrying")
                busy = False
                await self._clock.sleep(ERROR_BACKOFF_SECONDS)

    async def _round(self, provider: Provider, busy: bool) -> bool:
        """One pass over due work; True when there may be more to do at once.

        ``busy``: the previous round left work to do. Rounds then follow each other at once,
        and look for campaigns to launch once per poll interval rather than every time.
        """
        now = self._clock.now()
        elapsed = self._clock.monotonic()
        if not busy or elapsed >= self._next_launch_check:
            self._next_launch_check = elapsed + self._settings.poll_interval_seconds
            await asyncio.to_thread(dispatch.start_due_campaigns, self._database, now)
        if elapsed >= self._next_lease_check:
            self._next_lease_check = elapsed + self._settings.lease_check_interval_seconds
            if isinstance(provider, ProviderRouter):
                await self._reconcile(provider, now)
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
            async with self._claiming:
                result = await asyncio.to_thread(
                    dispatch.claim, self._database, self.owner, room, self._clock.now, lease
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
        try:
            requests = await asyncio.to_thread(
                dispatch.build_requests, self._database, claimed, provider.needs_call_content
            )
        except BaseException:
            self._settle(len(claimed))  # nothing placed: the attempts stay leased, then lost
            raise
        outcomes = await self._place_all(provider, claimed, requests)
        handles = [
            (item, request, o)
            for item, request, o in zip(claimed, requests, outcomes, strict=True)
            if isinstance(o, CallHandle)
        ]
        # Outcomes reported in this process carry the provider's call id, stored as the
        # attempt closes; the others arrive through the API and find the attempt by it: now.
        placed = [
            (item.call_id, item.attempt_number, handle.provider_call_id)
            for item, _, handle in handles
            if not handle.in_process
        ]
        leases = self._longer_leases(provider, handles)
        unplaced = [
            (item, o.message)
            for item, o in zip(claimed, outcomes, strict=True)
            if isinstance(o, _Unplaced)
        ]
        metrics.ATTEMPTS_PLACED.labels(provider.name).inc(len(handles))
        if placed or leases:
            try:
                await self._persist(
                    f"storing {len(placed)} provider call ids",
                    lambda: dispatch.record_placed(self._database, placed, leases),
                )
            finally:
                self._settle(len(placed))
        if unplaced:
            try:
                await self._persist(
                    f"releasing {len(unplaced)} attempts the provider did not take",
                    lambda: dispatch.release_unplaced(
                        self._database, unplaced, self._clock.now(), self._backoff
                    ),
                )
            finally:
                self._settle(len(unplaced))
        return len(claimed) == room

    async def _place_all(
        self, provider: Provider, claimed: list[ClaimedAttempt], requests: list[CallRequest]
    ) -> "list[CallHandle | _Unplaced | None]":
        """``_place`` for each attempt: the calls the provider places at once one after
        another, the others side by side (one task each)."""
        outcomes: list[CallHandle | _Unplaced | None] = [None] * len(claimed)
        waiting: list[int] = []
        for index, request in enumerate(requests):
            if provider.places_at_once(request):
                outcomes[index] = await self._place(provider, claimed[index], request)
            else:
                waiting.append(index)
        if waiting:
            placed = await asyncio.gather(
                *(self._place(provider, claimed[i], requests[i]) for i in waiting)
            )
            for index, outcome in zip(waiting, placed, strict=True):
                outcomes[index] = outcome
        return outcomes

    def _longer_leases(
        self, provider: Provider, handles: list[tuple[ClaimedAttempt, CallRequest, CallHandle]]
    ) -> list[tuple[uuid.UUID, datetime]]:
        """The leases of attempts placed on a platform whose calls last longer than the
        claim's lease: the platform's longest call, and the grace."""
        if not isinstance(provider, ProviderRouter):
            return []
        leases = []
        for item, request, _ in handles:
            seconds = provider.max_call_seconds_of(request)
            if seconds > provider.max_call_seconds:
                lasts = timedelta(seconds=seconds + self._settings.lease_grace_seconds)
                leases.append((item.call_id, item.started_at + lasts))
        return leases

    async def _reconcile(self, router: ProviderRouter, now: datetime) -> None:
        """Ask the platforms about their attempts whose end never arrived, before the lease
        declares them lost (a platform may send its end-of-call report once and never again).
        An attempt the platform says is still going on keeps a longer lease, up to twice its
        longest call; one the platform cannot tell about is left to the lease rule."""
        expired = await asyncio.to_thread(dispatch.expired_platform_attempts, self._database, now)
        still: list[tuple[uuid.UUID, datetime]] = []
        for attempt in expired:
            try:
                events = await router.fetch_call(attempt.connection_id, attempt.provider_call_id)
            except LookupUnsupported:
                continue  # the lease rule decides
            except Exception as exc:  # the platform cannot tell: the lease rule decides
                log.warning("looking up call %s failed: %s", attempt.call_id, exc)
                continue
            for event in events:
                await asyncio.to_thread(
                    provider_events.record_event, self._database, event, self._clock.now()
                )
            if not any(event.kind in ("ended", "unplaced") for event in events):
                adapter = await router.adapter(attempt.connection_id)
                limit = attempt.started_at + timedelta(seconds=2 * adapter.max_call_seconds)
                if now < limit:
                    grace = timedelta(seconds=self._settings.lease_grace_seconds)
                    still.append((attempt.call_id, min(now + grace, limit)))
        if still:
            await asyncio.to_thread(dispatch.extend_leases, self._database, still)

    def _backoff(self, failures: int) -> timedelta:
        return provider_backoff(
            failures,
            self._settings.provider_retry_seconds,
            self._settings.provider_retry_max_seconds,
        )

    async def _persist(self, what: str, write: Callable[[], T]) -> T:
        """Run ``write`` (one transaction) in a thread until the database takes it: what it
        records is never dropped while the dispatcher runs. Once it stops, a write that has
        failed for ``shutdown_timeout_seconds`` is given up (``_GaveUp``): the attempts it
        concerns stay leased, and the lease rule closes them."""
        failing_since: float | None = None
        while True:
            try:
                return await asyncio.to_thread(write)
            except Exception:
                now = self._clock.monotonic()
                failing_since = now if failing_since is None else failing_since
                stopping = self._closing or (self._stop is not None and self._stop.is_set())
                if stopping and now - failing_since >= self._settings.shutdown_timeout_seconds:
                    log.exception("%s failed; giving up: the dispatcher is stopping", what)
                    raise _GaveUp(what) from None
                log.exception("%s failed; retrying in %.1fs", what, ERROR_BACKOFF_SECONDS)
                await self._clock.sleep(ERROR_BACKOFF_SECONDS)

    async def _place(
        self, provider: Provider, item: ClaimedAttempt, request: CallRequest
    ) -> "CallHandle | _Unplaced | None":
        """The provider's handle of the call; _Unplaced if the provider is down or failed
        unexpectedly; None if it refused the call (the attempt fails)."""
        try:
            handle = await provider.place_call(request)
        except ProviderUnavailable as exc:
            log.warning("provider unavailable for call %s: %s", item.call_id, exc)
            return _Unplaced(str(exc))
        except CallRejected as exc:
            log.warning(
                "placing call %s to %s failed: %s", item.call_id, mask_phone(item.phone), exc
            )
            self._report(
                AttemptResult(
                    call_id=item.call_id,
                    attempt_number=item.attempt_number,
                    outcome=Outcome.FAILED,
                    ended_at=self._clock.now(),
                    error=f"provider error: {exc}",
                )
            )
            return None
        except Exception as exc:
            # A bug of the provider is not the callee's fault: the attempt is not spent, and
            # the traceback is there to fix it. Its message may hold the request: not shown.
            log.exception(
                "the %s provider failed unexpectedly placing call %s; retried with a backoff",
                provider.name,
                item.call_id,
            )
            return _Unplaced(f"the {provider.name} provider failed: {type(exc).__name__}")
        return handle

    def _report(self, result: AttemptResult) -> None:
        self._results.put_nowait(result)

    async def _record_results(self) -> None:
        """Record outcomes in batches as they come, until the queue is closed (``None``).

        Up to ``RESULT_WRITERS`` batches are written at once where the database takes several
        writers: the next batch gathers while one is written. Batches hold different attempts
        (an outcome is queued once), and each locks its calls as every writer of outcomes does
        (other workers, lease expiry, the API), so they do not meet.
        """
        writers = RESULT_WRITERS if self._database.concurrent_writers else 1
        free = asyncio.Semaphore(writers)
        writing: set[asyncio.Task[None]] = set()
        while True:
            await free.acquire()
            batch: list[AttemptResult] = []
            item = await self._results.get()
            while item is not None:
                batch.append(item)
                if len(batch) >= RESULT_BATCH_SIZE or self._results.empty():
                    break
                item = self._results.get_nowait()
            if batch:
                task = asyncio.create_task(self._record(batch))
                writing.add(task)
                task.add_done_callback(writing.discard)
                task.add_done_callback(lambda _: free.release())
            else:
                free.release()
            if item is None:
                await asyncio.gather(*writing)
                return

    async def _record(self, batch: list[AttemptResult]) -> None:
        try:
            await self._persist(
                f"recording {len(batch)} outcomes",
                lambda: dispatch.record_results(self._database, batch, self._clock.now()),
            )
        except _GaveUp:
            pass  # logged; the attempts stay leased
        finally:
            self._settle(len(batch))
        self._wake.set()  # a recall may be due at once

    def _settle(self, count: int) -> None:
        """``count`` attempts are no longer in flight."""
        self._in_flight = max(0, self._in_flight - count)
        if self._in_flight == 0:
            self._idle.set()

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
                delay = min(delay, (due - self._clock.now()).total_seconds())
        delay = max(delay, MIN_SLEEP_SECONDS)
        waiters = [asyncio.create_task(self._wake.wait()), asyncio.create_task(stopping.wait())]
        _, pending = await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
        for task in waiters:
            task.cancel()
        del pending
