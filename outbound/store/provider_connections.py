"""Provider connections: an account's platforms, their credentials stored as the ciphertext the
service gives (the store never sees them in clear), deleted softly (``deleted_at``) because
calls in flight and their late webhooks may still need them."""

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select, update

from outbound.domain.connections import ConnectionType, ProviderConnection
from outbound.store.tables import playbooks, provider_connections

_VISIBLE = (
    provider_connections.c.id,
    provider_connections.c.account_id,
    provider_connections.c.type,
    provider_connections.c.name,
    provider_connections.c.settings,
    provider_connections.c.created_at,
    provider_connections.c.deleted_at,
)


def _connection(row: Any) -> ProviderConnection:
    return ProviderConnection(
        id=row.id,
        account_id=row.account_id,
        type=ConnectionType(row.type),
        name=row.name,
        settings=row.settings,
        created_at=row.created_at,
        deleted_at=row.deleted_at,
    )


def insert_connection(conn: Connection, connection: ProviderConnection, ciphertext: str) -> None:
    conn.execute(
        insert(provider_connections).values(
            id=connection.id,
            account_id=connection.account_id,
            type=connection.type.value,
            name=connection.name,
            credentials=ciphertext,
            settings=dict(connection.settings),
            created_at=connection.created_at,
        )
    )


def get_connection(
    conn: Connection, account_id: uuid.UUID, connection_id: uuid.UUID, lock: bool = False
) -> ProviderConnection | None:
    """The account's connection, unless deleted. ``lock`` holds its row to the end of the
    transaction (PostgreSQL): a playbook naming it and its deletion then wait for each other."""
    query = select(*_VISIBLE).where(
        provider_connections.c.id == connection_id,
        provider_connections.c.account_id == account_id,
        provider_connections.c.deleted_at.is_(None),
    )
    if lock:
        query = query.with_for_update()  # (none on SQLite, whose writers take turns)
    row = conn.execute(query).first()
    return _connection(row) if row else None


def list_connections(
    conn: Connection,
    account_id: uuid.UUID,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[ProviderConnection]:
    """The account's connections but the deleted ones, newest first, after the keyset
    ``before``."""
    query = select(*_VISIBLE).where(
        provider_connections.c.account_id == account_id,
        provider_connections.c.deleted_at.is_(None),
    )
    if before is not None:
        created_at, connection_id = before
        query = query.where(
            or_(
                provider_connections.c.created_at < created_at,
                and_(
                    provider_connections.c.created_at == created_at,
                    provider_connections.c.id < connection_id,
                ),
            )
        )
    query = query.order_by(
        provider_connections.c.created_at.desc(), provider_connections.c.id.desc()
    ).limit(limit)
    return [_connection(row) for row in conn.execute(query)]


def playbooks_using(conn: Connection, connection_id: uuid.UUID, limit: int) -> list[uuid.UUID]:
    """Up to ``limit`` playbooks, not archived, that name the connection."""
    rows = conn.execute(
        select(playbooks.c.id)
        .where(playbooks.c.connection_id == connection_id, playbooks.c.archived_at.is_(None))
        .order_by(playbooks.c.created_at, playbooks.c.id)
        .limit(limit)
    )
    return [row.id for row in rows]


def delete_connection(conn: Connection, connection_id: uuid.UUID, now: datetime) -> bool:
    result = conn.execute(
        update(provider_connections)
        .where(
            provider_connections.c.id == connection_id,
            provider_connections.c.deleted_at.is_(None),
        )
        .values(deleted_at=now)
    )
    return result.rowcount > 0


def sealed_connections(
    conn: Connection, connection_ids: Collection[uuid.UUID]
) -> list[tuple[ProviderConnection, str]]:
    """The connections, deleted ones included, each with its credentials' ciphertext."""
    if not connection_ids:
        return []
    rows = conn.execute(
        select(*_VISIBLE, provider_connections.c.credentials).where(
            provider_connections.c.id.in_(list(connection_ids))
        )
    )
    return [(_connection(row), row.credentials) for row in rows]
