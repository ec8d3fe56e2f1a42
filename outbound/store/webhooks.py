"""Customers' webhook endpoints, each with its cursor over the account's events."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, exists, insert, or_, select, update

from outbound.store.tables import events, webhook_deliveries, webhook_endpoints


@dataclass(frozen=True)
class Endpoint:
    id: uuid.UUID
    account_id: uuid.UUID
    url: str
    secret: str
    event_types: frozenset[str] | None
    created_at: datetime
    delivered_sequence: int
    failures: int


def _endpoint(row: Any) -> Endpoint:
    return Endpoint(
        id=row.id,
        account_id=row.account_id,
        url=row.url,
        secret=row.secret,
        event_types=frozenset(row.event_types) if row.event_types is not None else None,
        created_at=row.created_at,
        delivered_sequence=row.delivered_sequence,
        failures=row.failures,
    )


def insert_endpoint(conn: Connection, endpoint: Endpoint, now: datetime) -> None:
    conn.execute(
        insert(webhook_endpoints).values(
            id=endpoint.id,
            account_id=endpoint.account_id,
            url=endpoint.url,
            secret=endpoint.secret,
            event_types=sorted(endpoint.event_types) if endpoint.event_types is not None else None,
            created_at=endpoint.created_at,
            delivered_sequence=endpoint.delivered_sequence,
            next_attempt_at=now,
            failures=0,
        )
    )


def list_endpoints(conn: Connection, account_id: uuid.UUID) -> list[Endpoint]:
    rows = conn.execute(
        select(webhook_endpoints)
        .where(webhook_endpoints.c.account_id == account_id)
        .order_by(webhook_endpoints.c.created_at)
    )
    return [_endpoint(row) for row in rows]


def get_endpoint(
    conn: Connection, account_id: uuid.UUID, endpoint_id: uuid.UUID
) -> Endpoint | None:
    row = conn.execute(
        select(webhook_endpoints).where(
            webhook_endpoints.c.id == endpoint_id, webhook_endpoints.c.account_id == account_id
        )
    ).first()
    return _endpoint(row) if row else None


def delete_endpoint(conn: Connection, endpoint_id: uuid.UUID) -> None:
    conn.execute(delete(webhook_deliveries).where(webhook_deliveries.c.endpoint_id == endpoint_id))
    conn.execute(delete(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id))


def claim_endpoint(conn: Connection, now: datetime, lease_until: datetime) -> Endpoint | None:
    """Lease an endpoint that is due and has events after its cursor."""
    has_events = exists().where(
        and_(
            events.c.account_id == webhook_endpoints.c.account_id,
            events.c.sequence > webhook_endpoints.c.delivered_sequence,
        )
    )
    query = (
        select(webhook_endpoints)
        .where(
            webhook_endpoints.c.next_attempt_at <= now,
            or_(
                webhook_endpoints.c.lease_expires_at.is_(None),
                webhook_endpoints.c.lease_expires_at < now,
            ),
            has_events,
        )
        .order_by(webhook_endpoints.c.next_attempt_at)
        .limit(1)
    )
    query = query.with_for_update(of=webhook_endpoints, skip_locked=True)  # (none on SQLite)
    row = conn.execute(query).first()
    if row is None:
        return None
    conn.execute(
        update(webhook_endpoints)
        .where(webhook_endpoints.c.id == row.id)
        .values(lease_expires_at=lease_until)
    )
    return _endpoint(row)


def release_endpoint(
    conn: Connection,
    endpoint_id: uuid.UUID,
    delivered_sequence: int,
    failures: int,
    next_attempt_at: datetime,
) -> None:
    conn.execute(
        update(webhook_endpoints)
        .where(webhook_endpoints.c.id == endpoint_id)
        .values(
            delivered_sequence=delivered_sequence,
            failures=failures,
            next_attempt_at=next_attempt_at,
            lease_expires_at=None,
        )
    )


def insert_deliveries(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(webhook_deliveries), list(rows))


def list_deliveries(
    conn: Connection, endpoint_id: uuid.UUID, before: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[dict[str, Any]]:
    """Delivery attempts, newest first, with their event's type."""
    query = (
        select(webhook_deliveries, events.c.type)
        .join(events, events.c.id == webhook_deliveries.c.event_id)
        .where(webhook_deliveries.c.endpoint_id == endpoint_id)
    )
    if before is not None:
        moment, delivery_id = before
        query = query.where(
            or_(
                webhook_deliveries.c.attempted_at < moment,
                and_(
                    webhook_deliveries.c.attempted_at == moment,
                    webhook_deliveries.c.id < delivery_id,
                ),
            )
        )
    query = query.order_by(
        webhook_deliveries.c.attempted_at.desc(), webhook_deliveries.c.id.desc()
    ).limit(limit)
    return [dict(row._mapping) for row in conn.execute(query)]
