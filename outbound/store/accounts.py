"""Accounts, their API tokens and playbooks."""

import uuid
from datetime import datetime

from sqlalchemy import Connection, func, insert, select, update

from outbound.domain.records import Account, Playbook
from outbound.store.tables import accounts, api_tokens, playbooks


def insert_account(conn: Connection, name: str, timezone: str, now: datetime) -> Account:
    account = Account(id=uuid.uuid4(), name=name, timezone=timezone)
    conn.execute(
        insert(accounts).values(id=account.id, name=name, timezone=timezone, created_at=now)
    )
    return account


def get_account(conn: Connection, account_id: uuid.UUID) -> Account | None:
    row = conn.execute(
        select(accounts.c.id, accounts.c.name, accounts.c.timezone).where(
            accounts.c.id == account_id
        )
    ).first()
    return Account(id=row.id, name=row.name, timezone=row.timezone) if row else None


def count_accounts(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(accounts)).scalar_one())


def insert_token(conn: Connection, account_id: uuid.UUID, token_hash: str, now: datetime) -> None:
    conn.execute(
        insert(api_tokens).values(
            id=uuid.uuid4(), account_id=account_id, token_hash=token_hash, created_at=now
        )
    )


def find_token(conn: Connection, token_hash: str) -> tuple[str, Account] | None:
    """The stored hash and its account, for a live token."""
    row = conn.execute(
        select(api_tokens.c.token_hash, accounts.c.id, accounts.c.name, accounts.c.timezone)
        .join(accounts, accounts.c.id == api_tokens.c.account_id)
        .where(api_tokens.c.token_hash == token_hash, api_tokens.c.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    return row.token_hash, Account(id=row.id, name=row.name, timezone=row.timezone)


def revoke_token(conn: Connection, token_hash: str, now: datetime) -> bool:
    result = conn.execute(
        update(api_tokens)
        .where(api_tokens.c.token_hash == token_hash, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount > 0


def insert_playbook(conn: Connection, playbook: Playbook, now: datetime) -> None:
    conn.execute(
        insert(playbooks).values(
            id=playbook.id,
            account_id=playbook.account_id,
            name=playbook.name,
            first_message=playbook.first_message,
            instructions=playbook.instructions,
            voice=playbook.voice,
            language=playbook.language,
            caller_id=playbook.caller_id,
            created_at=now,
        )
    )


def get_playbook(conn: Connection, playbook_id: uuid.UUID) -> Playbook | None:
    row = conn.execute(select(playbooks).where(playbooks.c.id == playbook_id)).first()
    if row is None:
        return None
    return Playbook(
        id=row.id,
        account_id=row.account_id,
        name=row.name,
        first_message=row.first_message,
        instructions=row.instructions,
        voice=row.voice,
        language=row.language,
        caller_id=row.caller_id,
    )
