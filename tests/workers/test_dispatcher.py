"""The dispatch loop in the test process: a fake clock, real databases, providers at the edge.

The simulator reports outcomes in process (ringing and talking take no time here); the webhook
provider posts to an agent runtime stood in for by ``httpx.MockTransport``.
"""

import asyncio
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import TypeVar

import httpx
import pytest
from sqlalchemy import inspect, text

from outbound.config import Settings
from outbound.domain.records import Call
from outbound.domain.statuses import CallStatus, Outcome
from outbound.exceptions import DatabaseUnavailable
from outbound.providers.base import (
    CallHandle,
    CallRequest,
    PlaybookSnapshot,
    Provider,
    ReportResult,
)
from outbound.providers.router import ProviderRouter
from outbound.providers.simulator import SimulatorProvider
from outbound.providers.webhook import WebhookProvider
from outbound.services import accounts, campaigns, dispatch
from outbound.services.campaigns import NewCampaign, RawContact
from outbound.store.database import Database
from outbound.workers.dispatcher import Dispatcher
from tests.factories import phone
from tests.workers.conftest import START, Customer
from tests.workers.loops import FakeClock, looked_at_the_time, running, until

DISPATCHER_LOG = "outbound.workers.dispatcher"
T = TypeVar("T")
ANSWERED, NO_ANSWER = 7, 61  # the simulator's outcome is chosen by a number's last two digits


def _simulator(clock: FakeClock) -> Callable[[ReportResult], Provider]:
    return lambda report: SimulatorProvider(report, ring_seconds=0, talk_seconds=0, clock=clock.now)


def _campaign(
    database: Database, customer: Customer, clock: FakeClock, phones: list[str], **rules: object
) -> uuid.UUID:
    created = campaigns.create_campaign(
        database,
        customer.account,
        NewCampaign(
            playbook_id=customer.playbook_id,
            contacts=[RawContact(number) for number in phones],
            **rules,  # type: ignore[arg-type]
        ),
        clock=clock.now,
    )
    return created.campaign.id


def _calls(database: Database, customer: Customer, campaign_id: uuid.UUID) -> dict[str, Call]:
    page = campaigns.list_calls(database, customer.account, campaign_id, None, 1000).items
    return {call.phone: call for call in page}


def _call(database: Database, customer: Customer, campaign_id: uuid.UUID, number: str) -> Call:
    return _calls(database, customer, campaign_id)[number]


def test_a_due_call_is_placed_and_its_outcome_recorded(
    database: Database, customer: Customer, clock: FakeClock, settings: Settings
):
    answered, unanswered = phone(ANSWERED), phone(NO_ANSWER)
    campaign_id = _campaign(database, customer, clock, [answered, unanswered])
    dispatcher = Dispatcher(database, _simulator(clock), settings, clock)

    async def scenario() -> None:
        async with running(dispatcher.run):
            await until(
                lambda: (
                    campaigns.get_campaign(
                        database, customer.account, campaign_id
                    ).campaign.status.value
                    == "completed"
                ),
                "the campaign completes",
            )

    asyncio.run(scenario())
    calls = _calls(database, customer, campaign_id)
    assert calls[answered].status is CallStatus.COMPLETED
    assert calls[unanswered].status is CallStatus.FAILED
    for number, outcome in ((answered, Outcome.ANSWERED), (unanswered, Outcome.NO_ANSWER)):
        (attempt,) = calls[number].attempts
        assert attempt.outcome is outcome
        assert attempt.started_at == attempt.ended_at == START  # the fake clock's time
        assert attempt.provider_call_id is not None and attempt.provider_call_id.startswith("sim-")


def test_recalls_follow_the_rule_on_the_fake_clock(
    database: Database, customer: Customer, clock: FakeClock, settings: Settings
):
    """Attempt k + 1 starts recall[k - 1] minutes after the first, not a moment earlier."""
    number = phone(NO_ANSWER)
    campaign_id = _campaign(database, customer, clock, [number], recall=(30.0, 120.0))
    dispatcher = Dispatcher(database, _simulator(clock), settings, clock)

    def ended(count: int) -> bool:
        """The call's ``count``-th attempt ended, and was the last one to start."""
        attempts = _call(database, customer, campaign_id, number).attempts
        return len(attempts) == count and attempts[-1].outcome is not None

    async def scenario() -> None:
        async with running(dispatcher.run):
            await until(lambda: ended(1), "the first attempt ends")
            call = _call(database, customer, campaign_id, number)
            assert call.status is CallStatus.PENDING
            assert call.next_attempt_at == START + timedelta(minutes=30)

            clock.set(START + timedelta(minutes=30) - timedelta(seconds=1))
            dispatcher.wake()
            await looked_at_the_time(clock)
            assert ended(1)  # one second early: no second attempt yet

            clock.set(START + timedelta(minutes=30))
            dispatcher.wake()
            await until(lambda: ended(2), "the second attempt ends")
            clock.set(START + timedelta(minutes=120))
            dispatcher.wake()
            await until(lambda: ended(3), "the third attempt ends")

    asyncio.run(scenario())
    call = _call(database, customer, campaign_id, number)
    assert call.status is CallStatus.FAILED and call.next_attempt_at is None
    assert [a.started_at - START for a in call.attempts] == [
        timedelta(0),
        timedelta(minutes=30),
        timedelta(minutes=120),
    ]


class AgentRuntime:
    """The agent runtime's side of the webhook provider: answers each POST as scripted."""

    def __init__(self, *answers: Callable[[], httpx.Response]) -> None:
        self.answers = list(answers)
        self.requests: list[dict[str, object]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(json.loads(request.content))
        answer = self.answers.pop(0) if self.answers else _accepted
        return answer()

    def provider(self, report: ReportResult) -> Provider:
        del report  # its outcomes come back through the API
        return WebhookProvider(
            "https://runtime.example/calls",
            "runtime-secret",
            max_call_seconds=60,
            transport=httpx.MockTransport(self.handle),
        )


def _accepted() -> httpx.Response:
    return httpx.Response(200, json={"provider_call_id": f"rt-{uuid.uuid4().hex[:8]}"})


def _bug() -> httpx.Response:
    raise RuntimeError("the runtime client has a bug")


def _down() -> httpx.Response:
    return httpx.Response(503)


def test_a_provider_that_raises_spends_no_attempt_and_is_logged_with_its_traceback(
    database: Database,
    customer: Customer,
    clock: FakeClock,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
):
    """An unexpected exception is treated as the provider being down: the call is retried
    with the provider's backoff (5 s, then 10 s after a 503), and placed on the third try."""
    number = phone(ANSWERED)
    campaign_id = _campaign(database, customer, clock, [number])
    runtime = AgentRuntime(_bug, _down)
    dispatcher = Dispatcher(database, runtime.provider, settings, clock)

    def call() -> Call:
        return _call(database, customer, campaign_id, number)

    async def scenario() -> None:
        async with running(dispatcher.run):
            await until(lambda: call().next_attempt_at == START + timedelta(seconds=5), "backoff")
            assert call().status is CallStatus.PENDING and call().attempts == ()
            clock.advance(timedelta(seconds=5))
            await until(lambda: call().next_attempt_at == START + timedelta(seconds=15), "again")
            assert call().attempts == ()
            clock.advance(timedelta(seconds=10))
            await until(lambda: call().status is CallStatus.IN_PROGRESS, "placed")
            await until(lambda: call().attempts[0].provider_call_id is not None, "id stored")

    with caplog.at_level(logging.WARNING, logger=DISPATCHER_LOG):
        asyncio.run(scenario())

    (attempt,) = call().attempts
    assert attempt.number == 1 and attempt.outcome is None  # the first real attempt, open
    assert [r["attempt"] for r in runtime.requests] == [1, 1, 1]
    report = campaigns.get_campaign(database, customer.account, campaign_id)
    assert report.campaign.provider_error == "agent runtime answered 503"  # the last error
    (failure,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert failure.name == DISPATCHER_LOG and "unexpectedly" in failure.getMessage()
    assert failure.exc_info is not None and isinstance(failure.exc_info[1], RuntimeError)
    assert number not in failure.getMessage()


def _rename(database: Database, table: str, to: str) -> None:
    with database.engine.begin() as conn:
        conn.execute(text(f"ALTER TABLE {table} RENAME TO {to}"))


def _put_back(database: Database) -> None:
    if not inspect(database.engine).has_table("webhook_endpoints"):
        _rename(database, "webhook_endpoints_away", "webhook_endpoints")


def test_outcomes_that_fail_to_record_are_retried_until_the_database_takes_them(
    database: Database,
    customer: Customer,
    clock: FakeClock,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
):
    """The database refuses the outcomes' transaction (a table it writes is away, for real):
    the batch is retried, and recorded once the table is back."""
    numbers = [phone(ANSWERED), phone(NO_ANSWER)]
    campaign_id = _campaign(database, customer, clock, numbers)
    dispatcher = Dispatcher(database, _simulator(clock), settings, clock)

    def refused() -> bool:
        return any("outcomes failed; retrying" in r.getMessage() for r in caplog.records)

    async def scenario() -> None:
        async with running(dispatcher.run):
            await until(refused, "recording the outcomes fails")
            calls = _calls(database, customer, campaign_id).values()
            assert all(c.status is CallStatus.IN_PROGRESS for c in calls)
            _rename(database, "webhook_endpoints_away", "webhook_endpoints")
            await until(
                lambda: all(
                    c.status.is_terminal for c in _calls(database, customer, campaign_id).values()
                ),
                "the outcomes are recorded",
            )

    # Every outcome's transaction reads the account's webhook endpoints (to write its events).
    _rename(database, "webhook_endpoints", "webhook_endpoints_away")
    try:
        with caplog.at_level(logging.ERROR, logger=DISPATCHER_LOG):
            asyncio.run(scenario())
    finally:
        _put_back(database)

    calls = _calls(database, customer, campaign_id)
    assert calls[numbers[0]].status is CallStatus.COMPLETED
    assert calls[numbers[1]].status is CallStatus.FAILED
    assert all(len(call.attempts) == 1 for call in calls.values())


def test_a_dispatcher_stopping_while_outcomes_cannot_be_recorded_ends_in_bounded_time(
    database: Database,
    customer: Customer,
    clock: FakeClock,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
):
    """It gives up after the shutdown timeout, loudly; the attempt stays leased (the lease
    rule will close it), never recorded as something it was not."""
    number = phone(ANSWERED)
    campaign_id = _campaign(database, customer, clock, [number])
    quick = settings.model_copy(update={"shutdown_timeout_seconds": 0.0})
    dispatcher = Dispatcher(database, _simulator(clock), quick, clock)

    def refused() -> bool:
        return any("outcomes failed" in r.getMessage() for r in caplog.records)

    async def scenario() -> None:
        async with running(dispatcher.run, stop_within=5.0):
            await until(refused, "recording the outcome fails")

    _rename(database, "webhook_endpoints", "webhook_endpoints_away")
    try:
        with caplog.at_level(logging.ERROR, logger=DISPATCHER_LOG):
            asyncio.run(scenario())
    finally:
        _put_back(database)

    assert any("giving up" in r.getMessage() for r in caplog.records)
    call = _call(database, customer, campaign_id, number)
    assert call.status is CallStatus.IN_PROGRESS
    (attempt,) = call.attempts
    assert attempt.outcome is None


def test_a_failed_read_of_the_next_due_time_does_not_stop_the_dispatcher(
    database: Database,
    customer: Customer,
    clock: FakeClock,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
):
    """Between rounds the loop reads when the next call is due. A worker resumed after a freeze
    finds its connections ended by the server, and that read fails like any other: the loop
    logs it and goes on (it used to end the dispatcher, and the worker with it)."""
    reads = 0

    def away_once(database: Database) -> object:
        nonlocal reads
        reads += 1
        if reads == 1:
            raise DatabaseUnavailable()
        return next_due_at(database)

    next_due_at = dispatch.next_due_at
    monkeypatch.setattr(dispatch, "next_due_at", away_once)
    dispatcher = Dispatcher(database, _simulator(clock), settings, clock)

    def failed() -> bool:
        return any("dispatch round failed" in r.getMessage() for r in caplog.records)

    async def scenario() -> None:
        async with running(dispatcher.run):
            await until(failed, "the read of the next due time fails once")
            number = phone(ANSWERED)
            campaign_id = _campaign(database, customer, clock, [number])
            dispatcher.wake()
            await until(
                lambda: (
                    _call(database, customer, campaign_id, number).status is CallStatus.COMPLETED
                ),
                "a campaign created after the failure is dialed",
            )

    asyncio.run(scenario())
    assert reads > 1


class _Overlap:
    """Counts how many calls of a function run at once (they run in threads)."""

    def __init__(self, pause: float = 0.0) -> None:
        self._lock = threading.Lock()
        self._running = 0
        self._pause = pause
        self.most = 0
        self.calls = 0

    def around(self, function: Callable[..., T]) -> Callable[..., T]:
        def counted(*args: object, **kwargs: object) -> T:
            with self._lock:
                self._running += 1
                self.calls += 1
                self.most = max(self.most, self._running)
            try:
                time.sleep(self._pause)  # long enough for the loops to want another
                return function(*args, **kwargs)
            finally:
                with self._lock:
                    self._running -= 1

        return counted


def test_claims_take_turns_while_outcomes_are_written_side_by_side(
    database: Database,
    customer: Customer,
    clock: FakeClock,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
):
    """Two claim rounds: one claims while the other places what it claimed, never two
    claims at once (the second would find the account held, and read the queue for nothing).
    Outcomes are written two batches at once where the database takes several writers."""
    numbers = sorted({phone(ANSWERED) for _ in range(24)})
    campaign_id = _campaign(database, customer, clock, numbers)
    claims, writes = _Overlap(pause=0.02), _Overlap(pause=0.05)
    monkeypatch.setattr(dispatch, "claim", claims.around(dispatch.claim))
    monkeypatch.setattr(dispatch, "record_results", writes.around(dispatch.record_results))
    small = settings.model_copy(update={"dispatch_batch_size": 3, "dispatch_claims": 2})
    dispatcher = Dispatcher(database, _simulator(clock), small, clock)

    def ended() -> bool:
        return all(c.status.is_terminal for c in _calls(database, customer, campaign_id).values())

    async def scenario() -> None:
        async with running(dispatcher.run):
            for _ in range(60):  # the account's rate limit lets a few calls go each second
                if await asyncio.to_thread(ended):
                    return
                clock.advance(timedelta(seconds=1))
                await looked_at_the_time(clock)
            raise AssertionError("not every call ended")

    asyncio.run(scenario())

    calls = _calls(database, customer, campaign_id)
    assert len(calls) == len(numbers)
    assert all(len(call.attempts) == 1 for call in calls.values())
    assert claims.calls >= len(numbers) // 3 and claims.most == 1
    assert writes.most == (2 if database.concurrent_writers else 1)


class _SomeAtOnce(SimulatorProvider):
    """The simulator, placing calls to numbers that end in an even digit at once and the
    others after a pause (as a provider that waits on its platform does)."""

    def __init__(self, report: ReportResult, clock: FakeClock) -> None:
        super().__init__(report, ring_seconds=0, talk_seconds=0, clock=clock.now)
        self.placed_by: dict[str, asyncio.Task[object] | None] = {}
        self.waiting = 0
        self.most_waiting = 0

    def places_at_once(self, request: CallRequest) -> bool:
        return int(request.to[-1]) % 2 == 0

    async def place_call(self, request: CallRequest) -> CallHandle:
        self.placed_by[request.to] = asyncio.current_task()
        if not self.places_at_once(request):
            self.waiting += 1
            self.most_waiting = max(self.most_waiting, self.waiting)
            await asyncio.sleep(0.02)
            self.waiting -= 1
        return await super().place_call(request)


def test_calls_placed_at_once_take_no_task_and_the_others_wait_side_by_side(
    database: Database, customer: Customer, clock: FakeClock, settings: Settings
):
    """One claim of eight calls: the four placed at once in the claim round's own task, one
    after another; the four others side by side, a task each."""
    accounts.update_account(
        database, customer.account.id, max_concurrent_calls=0, calls_per_second=0
    )
    at_once = sorted({phone(10 + 2 * k) for k in range(4)})
    waiting = sorted({phone(11 + 2 * k) for k in range(4)})
    campaign_id = _campaign(database, customer, clock, at_once + waiting)
    providers: list[_SomeAtOnce] = []

    def provider(report: ReportResult) -> Provider:
        providers.append(_SomeAtOnce(report, clock))
        return providers[0]

    one_claim = settings.model_copy(update={"dispatch_claims": 1})
    dispatcher = Dispatcher(database, provider, one_claim, clock)

    def answered() -> bool:
        calls = _calls(database, customer, campaign_id).values()
        return all(call.status is CallStatus.COMPLETED for call in calls)

    async def scenario() -> None:
        async with running(dispatcher.run):
            await until(answered, "every call is answered")

    asyncio.run(scenario())
    (simulator,) = providers
    assert set(simulator.placed_by) == set(at_once + waiting)
    placing = {simulator.placed_by[number] for number in at_once}
    assert len(placing) == 1
    assert placing.isdisjoint(simulator.placed_by[number] for number in waiting)
    assert len({simulator.placed_by[number] for number in waiting}) == len(waiting)
    assert simulator.most_waiting == len(waiting)


def test_the_simulator_places_at_once_and_the_router_only_without_a_connection():
    simulator = SimulatorProvider(lambda result: None)
    router = ProviderRouter(simulator, load=_no_connection)
    request = CallRequest(
        uuid.uuid4(), 1, phone(ANSWERED), None, PlaybookSnapshot(uuid.uuid4(), "P")
    )
    on_platform = replace(
        request, playbook=replace(request.playbook, provider={"connection_id": str(uuid.uuid4())})
    )
    assert simulator.places_at_once(request)
    assert router.places_at_once(request) and not router.places_at_once(on_platform)
    assert not WebhookProvider("https://runtime.example/calls", "s", 60).places_at_once(request)


async def _no_connection(connection_id: uuid.UUID) -> None:
    return None
