"""Small factories for test data."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, update

from outbound.clock import utcnow
from outbound.domain.connections import FIELDS, ConnectionType
from outbound.domain.dispositions import Action, DataField, Disposition, Voicemail
from outbound.domain.records import Playbook
from outbound.services import accounts
from outbound.store import playbooks as playbook_store
from outbound.store import tables
from outbound.store.database import Database


@dataclass(frozen=True)
class Tenant:
    id: uuid.UUID
    token: str
    playbook_id: uuid.UUID

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_account(database: Database, name: str = "Acme", timezone: str = "UTC") -> Tenant:
    account, token = accounts.create_account(database, name, timezone)
    playbook = accounts.create_playbook(
        database, account.id, "Sales", first_message="Hello", caller_id="+14155550123"
    )
    return Tenant(id=account.id, token=token, playbook_id=playbook.id)


def phone(last_two: int, prefix: str = "+1415555") -> str:
    """A valid US number whose last two digits choose the simulator's outcome."""
    return f"{prefix}{uuid.uuid4().int % 100:02d}{last_two:02d}"


def make_playbook(
    database: Database,
    account_id: uuid.UUID,
    dispositions: dict[str, str] | None = None,
    voicemail: Voicemail | None = None,
    data_fields: tuple[DataField, ...] = (),
) -> uuid.UUID:
    """A playbook declaring ``dispositions`` (name: action), stored as the API stores one."""
    playbook = Playbook(
        id=uuid.uuid4(),
        account_id=account_id,
        name="Results",
        first_message="Hi {{first_name}}",
        caller_id="+14155550123",
        dispositions=tuple(
            Disposition(name, Action(action)) for name, action in (dispositions or {}).items()
        ),
        data_fields=data_fields,
        voicemail=voicemail or Voicemail(),
    )
    with database.transaction() as conn:
        playbook_store.insert_playbook(conn, playbook, utcnow())
    return playbook.id


# Credentials that are addresses must be URLs; the others are any non-empty text.
URL_CREDENTIALS = {"url": "https://agents.example.com/{marker}"}


def connection_credentials(type_: str, marker: str | None = None) -> dict[str, str]:
    """Credentials of a connection of this type, each one recognisable by ``marker``."""
    marker = marker or uuid.uuid4().hex
    return {
        name: URL_CREDENTIALS.get(name, "{name}-{marker}").format(name=name, marker=marker)
        for name in FIELDS[ConnectionType(type_)].credentials
    }


def connection_body(type_: str = "vapi", name: str = "Agents", **extra: Any) -> dict[str, Any]:
    """A valid ``POST /provider-connection`` body."""
    return {"type": type_, "name": name, "credentials": connection_credentials(type_), **extra}


PLAYBOOK_WRITTEN_AT = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def playbook_using(
    database: Database, tenant: Tenant, connection_id: str, archived: bool = False
) -> uuid.UUID:
    """A playbook of the tenant naming the connection, written by the store."""
    playbook = Playbook(
        id=uuid.uuid4(),
        account_id=tenant.id,
        name="Uses the connection",
        provider={"connection_id": connection_id, "assistant_id": "a", "phone_number_id": "p"},
    )
    with database.transaction() as conn:
        playbook_store.insert_playbook(conn, playbook, PLAYBOOK_WRITTEN_AT)
    if archived:
        archive_playbook(database, playbook.id)
    return playbook.id


def archive_playbook(database: Database, playbook_id: uuid.UUID) -> None:
    with database.engine.begin() as conn:
        conn.execute(
            update(tables.playbooks)
            .where(tables.playbooks.c.id == playbook_id)
            .values(archived_at=PLAYBOOK_WRITTEN_AT)
        )


def ended_attempt(database: Database, account_id: uuid.UUID, call_id: str) -> None:
    """An answered attempt of the call that ended just now, for a result to be posted to (the
    call itself is left as it was)."""
    now = datetime.now(UTC)
    with database.engine.begin() as conn:
        conn.execute(
            insert(tables.call_attempts).values(
                id=uuid.uuid4(),
                call_id=uuid.UUID(call_id),
                number=1,
                outcome="answered",
                started_at=now,
                ended_at=now,
                account_id=account_id,
            )
        )
