"""The event delivery loop in the test process: a fake clock, real databases, and customers'
endpoints stood in for by ``httpx.MockTransport``."""

import asyncio
import itertools
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from outbound.config import Settings
from outbound.domain.backoff import EVENT_MAX_ATTEMPTS, event_backoff
from outbound.services import campaigns, webhooks
from outbound.services.campaigns import NewCampaign, RawContact
from outbound.signing import SIGNATURE_HEADER, verify
from outbound.store.database import Database
from outbound.workers.delivery import Deliverer
from tests.factories import phone
from tests.workers.conftest import START, Customer
from tests.workers.loops import FakeClock, looked_at_the_time, running, until

URL = "https://customer.example/hooks"


@dataclass(frozen=True)
class Post:
    at: datetime  # on the fake clock
    headers: httpx.Headers
    body: bytes
    accepted: bool

    @property
    def event(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


class Endpoint:
    """A customer's endpoint: refuses the posts ``refuse`` picks, accepts the others."""

    def __init__(self, clock: FakeClock, refuse: Callable[[dict[str, Any], int], bool]) -> None:
        self._clock = clock
        self._refuse = refuse
        self.posts: list[Post] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        refused = self._refuse(json.loads(request.content), len(self.posts) + 1)
        self.posts.append(Post(self._clock.now(), request.headers, request.content, not refused))
        return httpx.Response(500 if refused else 204)

    def accepted(self) -> list[dict[str, Any]]:
        return [post.event for post in self.posts if post.accepted]


def _events(database: Database, customer: Customer, clock: FakeClock) -> None:
    """Three events: a campaign started, then cancelled; another one started."""
    for cancel in (True, False):
        created = campaigns.create_campaign(
            database,
            customer.account,
            NewCampaign(playbook_id=customer.playbook_id, contacts=[RawContact(phone(5))]),
            clock=clock.now,
        )
        if cancel:
            campaigns.cancel_campaign(database, customer.account, created.campaign.id, clock.now)


def _recorded(database: Database, customer: Customer, endpoint_id: uuid.UUID, count: int) -> bool:
    """The endpoint's round that made the ``count``-th post is over (its backoff is set)."""
    rows = webhooks.list_deliveries(database, customer.account, endpoint_id, None, 100).items
    return len(rows) == count


def _deliverer(database: Database, settings: Settings, clock: FakeClock, endpoint: Endpoint):
    transport = httpx.MockTransport(endpoint.handle)
    return Deliverer(database, settings, clock, transport, poll_interval_seconds=0.005)


def test_events_arrive_in_sequence_order_once_retried_with_backoff(
    database: Database, customer: Customer, clock: FakeClock, settings: Settings
):
    """The first three posts fail: the first event is retried 5, 10, then 20 s later (not a
    second earlier), and the later events wait behind it."""
    created = webhooks.create_endpoint(database, customer.account, URL, None, clock.now)
    _events(database, customer, clock)
    endpoint = Endpoint(clock, lambda event, post: post <= 3)

    async def scenario() -> None:
        async with running(_deliverer(database, settings, clock, endpoint).run):
            for posts, wait in enumerate((5, 10, 20), start=1):
                await until(
                    lambda n=posts: _recorded(database, customer, created.id, n), f"post {posts}"
                )
                clock.advance(timedelta(seconds=wait - 1))
                await looked_at_the_time(clock)
                assert len(endpoint.posts) == posts  # a second early: still waiting
                clock.advance(timedelta(seconds=1))
            await until(lambda: len(endpoint.posts) == 6, "every event is delivered")

    asyncio.run(scenario())
    assert [post.at - START for post in endpoint.posts] == [
        timedelta(seconds=s) for s in (0, 5, 15, 35, 35, 35)
    ]
    sequences = [post.event["sequence"] for post in endpoint.posts]
    assert sequences[:4] == [sequences[0]] * 4
    assert sequences[3:] == list(range(sequences[0], sequences[0] + 3))
    assert [e["type"] for e in endpoint.accepted()] == [
        "campaign.started",
        "campaign.cancelled",
        "campaign.started",
    ]
    for post in endpoint.posts:
        signed_at = verify(
            created.secret, post.headers[SIGNATURE_HEADER], post.body, post.at.timestamp()
        )
        assert signed_at == int(post.at.timestamp())  # signed at the fake clock's time
        assert post.headers["X-Outbound-Event-Id"] == post.event["event_id"]

    rows = webhooks.list_deliveries(database, customer.account, created.id, None, 100).items
    history = sorted((row["sequence"], row["attempt"], row["succeeded"]) for row in rows)
    first = sequences[0]
    assert history == [
        (first, 1, False),
        (first, 2, False),
        (first, 3, False),
        (first, 4, True),
        (first + 1, 1, True),
        (first + 2, 1, True),
    ]


def test_an_event_refused_40_times_is_given_up_and_the_next_ones_follow(
    database: Database, customer: Customer, clock: FakeClock, settings: Settings
):
    created = webhooks.create_endpoint(database, customer.account, URL, None, clock.now)
    _events(database, customer, clock)
    first: list[int] = []

    def refuse(event: dict[str, Any], post: int) -> bool:
        first[:] = first or [event["sequence"]]
        return bool(event["sequence"] == first[0])

    endpoint = Endpoint(clock, refuse)

    async def scenario() -> None:
        async with running(_deliverer(database, settings, clock, endpoint).run):
            for failures in range(1, EVENT_MAX_ATTEMPTS):
                await until(
                    lambda n=failures: _recorded(database, customer, created.id, n),
                    f"post {failures}",
                )
                clock.advance(event_backoff(failures, settings.event_retry_seconds))
            await until(
                lambda: len(endpoint.posts) == EVENT_MAX_ATTEMPTS + 2, "the next events follow"
            )

    asyncio.run(scenario())
    refused = endpoint.posts[:EVENT_MAX_ATTEMPTS]
    assert {post.event["sequence"] for post in refused} == {first[0]}
    assert not any(post.accepted for post in refused)
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(refused)]
    assert gaps == [event_backoff(n, 5.0) for n in range(1, EVENT_MAX_ATTEMPTS)]
    assert refused[-1].at - START > timedelta(hours=24)
    assert [event["sequence"] for event in endpoint.accepted()] == [first[0] + 1, first[0] + 2]

    rows = webhooks.list_deliveries(database, customer.account, created.id, None, 100).items
    attempts = sorted((row["sequence"], row["attempt"]) for row in rows if not row["succeeded"])
    assert attempts == [(first[0], n) for n in range(1, EVENT_MAX_ATTEMPTS + 1)]
