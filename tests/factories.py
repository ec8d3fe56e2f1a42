"""Small factories for test data."""

import uuid
from dataclasses import dataclass

from outbound.services import accounts
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
