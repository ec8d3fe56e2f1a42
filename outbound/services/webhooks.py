"""Webhook endpoints: where an account's events are delivered, and how that went."""

import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from outbound.clock import utcnow
from outbound.domain import paging
from outbound.domain.paging import Page
from outbound.domain.records import Account
from outbound.exceptions import InvalidRequest, NotFound
from outbound.services.events import EVENT_TYPES
from outbound.store import events as event_store
from outbound.store import webhooks as store
from outbound.store.database import Database
from outbound.store.webhooks import Endpoint

SECRET_PREFIX = "whsec_"
MAX_DELIVERIES_PAGE = 500
MAX_ENDPOINTS = 20  # per account


@dataclass(frozen=True)
class Delivery:
    """One attempt to deliver one event."""

    event_id: uuid.UUID
    sequence: int
    attempt: int
    status_code: int | None
    error: str | None
    succeeded: bool
    attempted_at: datetime


def create_endpoint(
    database: Database,
    account: Account,
    url: str,
    event_types: Sequence[str] | None,
    clock: Callable[[], datetime] = utcnow,
) -> Endpoint:
    """A new endpoint; it receives the events published from now on."""
    if event_types is not None:
        unknown = sorted(set(event_types) - set(EVENT_TYPES))
        if unknown or not event_types:
            raise InvalidRequest(
                f"unknown event types: {', '.join(unknown)}" if unknown else "no event types",
                errors=[
                    {"field": "event_types", "reason": f"choose among {', '.join(EVENT_TYPES)}"}
                ],
            )
    now = clock()
    with database.transaction() as conn:
        if len(store.list_endpoints(conn, account.id)) >= MAX_ENDPOINTS:
            raise InvalidRequest(f"an account has at most {MAX_ENDPOINTS} webhook endpoints")
        endpoint = Endpoint(
            id=uuid.uuid4(),
            account_id=account.id,
            url=url,
            secret=SECRET_PREFIX + secrets.token_urlsafe(32),
            event_types=frozenset(event_types) if event_types is not None else None,
            created_at=now,
            delivered_sequence=event_store.last_sequence(conn, account.id),
            failures=0,
        )
        store.insert_endpoint(conn, endpoint, now)
    return endpoint


def list_endpoints(database: Database, account: Account) -> list[Endpoint]:
    with database.reading() as conn:
        return store.list_endpoints(conn, account.id)


def delete_endpoint(database: Database, account: Account, endpoint_id: uuid.UUID) -> None:
    with database.transaction() as conn:
        if store.get_endpoint(conn, account.id, endpoint_id) is None:
            raise NotFound("webhook endpoint not found")
        store.delete_endpoint(conn, endpoint_id)


def list_deliveries(
    database: Database, account: Account, endpoint_id: uuid.UUID, cursor: str | None, limit: int
) -> Page[dict[str, Any]]:
    """A page of the endpoint's delivery attempts, newest first."""
    limit = paging.page_size(limit, MAX_DELIVERIES_PAGE)
    before = paging.DELIVERIES.decode(cursor)
    with database.reading() as conn:
        if store.get_endpoint(conn, account.id, endpoint_id) is None:
            raise NotFound("webhook endpoint not found")
        rows = store.list_deliveries(conn, endpoint_id, before, limit + 1)
    return paging.DELIVERIES.page(rows, limit, lambda row: (row["attempted_at"], row["id"]))


def claim_endpoint(database: Database, now: datetime, lease: timedelta) -> Endpoint | None:
    with database.transaction() as conn:
        return store.claim_endpoint(conn, now, now + lease)


def events_after(database: Database, endpoint: Endpoint, limit: int) -> list[dict[str, Any]]:
    with database.reading() as conn:
        return event_store.after(conn, endpoint.account_id, endpoint.delivered_sequence, limit)


def finish_round(
    database: Database,
    endpoint: Endpoint,
    delivered_sequence: int,
    failures: int,
    next_attempt_at: datetime,
    deliveries: Sequence[Delivery],
) -> None:
    """Record a round of deliveries and move the endpoint's cursor; releases its lease."""
    with database.transaction() as conn:
        store.insert_deliveries(
            conn,
            [
                {
                    "id": uuid.uuid4(),
                    "endpoint_id": endpoint.id,
                    "event_id": d.event_id,
                    "sequence": d.sequence,
                    "attempt": d.attempt,
                    "status_code": d.status_code,
                    "error": d.error,
                    "succeeded": d.succeeded,
                    "attempted_at": d.attempted_at,
                }
                for d in deliveries
            ],
        )
        store.release_endpoint(conn, endpoint.id, delivered_sequence, failures, next_attempt_at)
