"""Playbooks: what the agent says and does on an account's calls.

An archived playbook stays readable (campaigns already running with it go on), but is left out
of the account's list. Imports SQLAlchemy, ``outbound.domain`` and the store's tables.
"""

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, insert, or_, select, update

from outbound.domain.dispositions import parse_data_fields, parse_dispositions, parse_voicemail
from outbound.domain.records import Playbook
from outbound.store.tables import playbooks, provider_connections


def insert_playbook(conn: Connection, playbook: Playbook, now: datetime) -> None:
    """Store a new playbook, created and last updated ``now``."""
    values = {**_columns(playbook), "created_at": now, "updated_at": now}
    conn.execute(insert(playbooks).values(id=playbook.id, account_id=playbook.account_id, **values))


def update_playbook(conn: Connection, playbook: Playbook) -> None:
    """Write every field of ``playbook`` over the stored one (``updated_at`` included)."""
    conn.execute(
        update(playbooks).where(playbooks.c.id == playbook.id).values(**_columns(playbook))
    )


def archive_playbook(conn: Connection, playbook_id: uuid.UUID, now: datetime) -> None:
    """Archive the playbook, once: a second archive keeps the first moment."""
    conn.execute(
        update(playbooks)
        .where(playbooks.c.id == playbook_id, playbooks.c.archived_at.is_(None))
        .values(archived_at=now)
    )


def _columns(playbook: Playbook) -> dict[str, Any]:
    return {
        "name": playbook.name,
        "first_message": playbook.first_message,
        "instructions": playbook.instructions,
        "voice": playbook.voice,
        "language": playbook.language,
        "caller_id": playbook.caller_id,
        "dispositions": [d.to_json() for d in playbook.dispositions],
        "data_fields": [f.to_json() for f in playbook.data_fields],
        "voicemail": playbook.voicemail.to_json(),
        "provider": dict(playbook.provider) if playbook.provider else None,
        "connection_id": playbook.connection_id,
        "updated_at": playbook.updated_at,
    }


def get_playbook(conn: Connection, playbook_id: uuid.UUID) -> Playbook | None:
    """The playbook, archived or not, whatever its account (the caller checks it)."""
    return get_playbooks(conn, [playbook_id]).get(playbook_id)


# Read for every batch of attempts placed: built once (and its cache key with it).
_BY_IDS = select(playbooks).where(playbooks.c.id.in_(bindparam("ids", expanding=True)))


def get_playbooks(
    conn: Connection, playbook_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Playbook]:
    rows = conn.execute(_BY_IDS, {"ids": list(playbook_ids)})
    return {row.id: _playbook(row) for row in rows}


def find_playbook(
    conn: Connection, account_id: uuid.UUID, playbook_id: uuid.UUID, lock: bool = False
) -> Playbook | None:
    """The account's playbook (archived too); ``lock`` holds it until the transaction ends."""
    query = select(playbooks).where(
        playbooks.c.id == playbook_id, playbooks.c.account_id == account_id
    )
    if lock:  # (SQLite has one writer: it needs no row lock and renders none)
        query = query.with_for_update()
    row = conn.execute(query).first()
    return _playbook(row) if row else None


def list_playbooks(
    conn: Connection,
    account_id: uuid.UUID,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Playbook]:
    """The account's playbooks that are not archived, newest first, after the keyset
    ``before``."""
    query = select(playbooks).where(
        playbooks.c.account_id == account_id, playbooks.c.archived_at.is_(None)
    )
    if before is not None:
        created_at, playbook_id = before
        query = query.where(
            or_(
                playbooks.c.created_at < created_at,
                and_(playbooks.c.created_at == created_at, playbooks.c.id < playbook_id),
            )
        )
    query = query.order_by(playbooks.c.created_at.desc(), playbooks.c.id.desc()).limit(limit)
    return [_playbook(row) for row in conn.execute(query)]


def connection_type(
    conn: Connection, account_id: uuid.UUID, connection_id: uuid.UUID
) -> str | None:
    """The type of the account's live provider connection, held until the transaction ends
    (so that it is not deleted under a playbook being written); None if there is none."""
    row = conn.execute(
        select(provider_connections.c.type)
        .where(
            provider_connections.c.id == connection_id,
            provider_connections.c.account_id == account_id,
            provider_connections.c.deleted_at.is_(None),
        )
        .with_for_update()  # (none on SQLite: one writer)
    ).first()
    return str(row.type) if row else None


def _playbook(row: Any) -> Playbook:
    return Playbook(
        id=row.id,
        account_id=row.account_id,
        name=row.name,
        first_message=row.first_message,
        instructions=row.instructions,
        voice=row.voice,
        language=row.language,
        caller_id=row.caller_id,
        dispositions=parse_dispositions(row.dispositions),
        data_fields=parse_data_fields(row.data_fields),
        voicemail=parse_voicemail(row.voicemail),
        provider=row.provider,
        created_at=row.created_at,
        updated_at=row.updated_at or row.created_at,
        archived_at=row.archived_at,
    )
