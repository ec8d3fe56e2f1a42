"""Delivers the outbox to customers' webhook endpoints, in order of sequence.

Each endpoint has a cursor: events after it are posted one by one, signed like Stripe's
(``X-Outbound-Signature: t=...,v1=...``). A failed delivery stops the endpoint's round and is
retried with exponential backoff, so the receiver sees events in order; an event that still
fails after about a day and a half of retries is abandoned (recorded) and the next one follows
(the rules: ``domain.backoff``). Time comes from a ``Clock``, so that tests can drive the loop.
"""

import asyncio
import contextlib
import json
import logging
from datetime import timedelta
from typing import Any

import httpx

from outbound.clock import SYSTEM_CLOCK, Clock
from outbound.config import Settings
from outbound.domain.backoff import event_backoff, event_given_up
from outbound.services import webhooks
from outbound.services.webhooks import Delivery
from outbound.signing import SIGNATURE_HEADER, sign
from outbound.store.database import Database
from outbound.store.webhooks import Endpoint

log = logging.getLogger(__name__)

EVENTS_PER_ROUND = 100  # events fetched for one endpoint at a time
PARALLEL_ENDPOINTS = 16  # endpoints delivered to at once by one process
POLL_INTERVAL_SECONDS = 0.5  # how often due endpoints are looked for when idle
LEASE_SECONDS = 300.0  # an endpoint's round must end within this


def body_of(event: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "event_id": str(event["id"]),
            "type": event["type"],
            "sequence": event["sequence"],
            "created_at": event["created_at"].isoformat(),
            "account_id": str(event["account_id"]),
            "data": event["data"],
        }
    ).encode()


class Deliverer:
    def __init__(
        self,
        database: Database,
        settings: Settings,
        clock: Clock = SYSTEM_CLOCK,
        transport: httpx.AsyncBaseTransport | None = None,
        poll_interval_seconds: float = POLL_INTERVAL_SECONDS,
    ) -> None:
        self._database = database
        self._settings = settings
        self._clock = clock
        self._transport = transport
        self._poll_interval_seconds = poll_interval_seconds

    async def run(self, stopping: asyncio.Event) -> None:
        client = httpx.AsyncClient(
            timeout=self._settings.event_timeout_seconds, transport=self._transport
        )
        tasks: set[asyncio.Task[None]] = set()
        try:
            while not stopping.is_set():
                endpoint = None
                if len(tasks) < PARALLEL_ENDPOINTS:
                    try:
                        endpoint = await asyncio.to_thread(
                            webhooks.claim_endpoint,
                            self._database,
                            self._clock.now(),
                            timedelta(seconds=LEASE_SECONDS),
                        )
                    except Exception:
                        log.exception("looking for webhook deliveries failed")
                if endpoint is not None:
                    task = asyncio.create_task(self._deliver(client, endpoint))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), self._poll_interval_seconds)
            if tasks:
                await asyncio.wait(tasks, timeout=self._settings.shutdown_timeout_seconds)
        finally:
            await client.aclose()

    async def _deliver(self, client: httpx.AsyncClient, endpoint: Endpoint) -> None:
        try:
            await self._round(client, endpoint)
        except Exception:
            log.exception("delivering to webhook endpoint %s failed", endpoint.id)

    async def _round(self, client: httpx.AsyncClient, endpoint: Endpoint) -> None:
        pending = await asyncio.to_thread(
            webhooks.events_after, self._database, endpoint, EVENTS_PER_ROUND
        )
        cursor, failures = endpoint.delivered_sequence, endpoint.failures
        next_attempt_at = self._clock.now()
        deliveries: list[Delivery] = []
        for event in pending:
            if endpoint.event_types is not None and event["type"] not in endpoint.event_types:
                cursor = event["sequence"]
                continue
            delivery = await self._post(client, endpoint, event, failures + 1)
            deliveries.append(delivery)
            if delivery.succeeded:
                cursor, failures = event["sequence"], 0
                continue
            failures += 1
            if event_given_up(failures):
                log.warning("abandoning event %s for endpoint %s", event["id"], endpoint.id)
                cursor, failures = event["sequence"], 0
                continue
            next_attempt_at = self._clock.now() + event_backoff(
                failures, self._settings.event_retry_seconds
            )
            break
        await asyncio.to_thread(
            webhooks.finish_round,
            self._database,
            endpoint,
            cursor,
            failures,
            next_attempt_at,
            deliveries,
        )

    async def _post(
        self, client: httpx.AsyncClient, endpoint: Endpoint, event: dict[str, Any], attempt: int
    ) -> Delivery:
        body = body_of(event)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(endpoint.secret, int(self._clock.now().timestamp()), body),
            "X-Outbound-Event-Id": str(event["id"]),
        }
        status_code: int | None = None
        error: str | None = None
        try:
            response = await client.post(endpoint.url, content=body, headers=headers)
            status_code = response.status_code
            if not response.is_success:
                error = f"answered {status_code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        return Delivery(
            event_id=event["id"],
            sequence=event["sequence"],
            attempt=attempt,
            status_code=status_code,
            error=error,
            succeeded=error is None,
            attempted_at=self._clock.now(),
        )
