"""Small factories for test data."""

import uuid
from dataclasses import dataclass

from outbound.clock import utcnow
from outbound.domain.dispositions import Action, DataField, Disposition, Voicemail
from outbound.domain.records import Playbook
from outbound.services import accounts
from outbound.store import playbooks as playbook_store
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
