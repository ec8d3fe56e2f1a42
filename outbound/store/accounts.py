"""Accounts, their API tokens and playbooks."""

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from outbound.domain.dispositions import parse_data_fields, parse_dispositions, parse_voicemail
from outbound.domain.records import Account, Playbook
from outbound.domain.windows import parse_window
from outbound.store.tables import accounts, api_tokens, playbooks

_ACCOUNT_COLUMNS = (
    accounts.c.id,
    accounts.c.name,
    accounts.c.timezone,
    accounts.c.max_concurrent_calls,
    accounts.c.calls_per_second,
    accounts.c.calling_window,
)


def _account(row: Any) -> Account:
    return Account(
        id=row.id,
        name=row.name,
        timezone=row.timezone,
        max_concurrent_calls=row.max_concurrent_calls,
        calls_per_second=row.calls_per_second,
        calling_window=parse_window(row.calling_window),
    )


def insert_account(conn: Connection, name: str, timezone: str, now: datetime) -> Account:
    account = Account(id=uuid.uuid4(), name=name, timezone=timezone)
    conn.execute(
        insert(accounts).values(
            id=account.id,
            name=name,
            timezone=timezone,
            created_at=now,
            max_concurrent_calls=account.max_concurrent_calls,
            calls_per_second=account.calls_per_second,
        )
    )
    return account


def get_account(conn: Connection, account_id: uuid.UUID) -> Account | None:
    row = conn.execute(select(*_ACCOUNT_COLUMNS).where(accounts.c.id == account_id)).first()
    return _account(row) if row else None


def update_account(conn: Connection, account_id: uuid.UUID, changes: dict[str, Any]) -> bool:
    """Set the given columns (``calling_window`` in its JSON form)."""
    result = conn.execute(update(accounts).where(accounts.c.id == account_id).values(**changes))
    return result.rowcount > 0


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
        select(api_tokens.c.token_hash, *_ACCOUNT_COLUMNS)
        .join(accounts, accounts.c.id == api_tokens.c.account_id)
        .where(api_tokens.c.token_hash == token_hash, api_tokens.c.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    return row.token_hash, _account(row)


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
            dispositions=[d.to_json() for d in playbook.dispositions],
            data_fields=[f.to_json() for f in playbook.data_fields],
            voicemail=playbook.voicemail.to_json(),
            provider=dict(playbook.provider) if playbook.provider else None,
            connection_id=playbook.connection_id,
            created_at=now,
            updated_at=now,
        )
    )


def get_playbook(conn: Connection, playbook_id: uuid.UUID) -> Playbook | None:
    return get_playbooks(conn, [playbook_id]).get(playbook_id)


def get_playbooks(
    conn: Connection, playbook_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Playbook]:
    rows = conn.execute(select(playbooks).where(playbooks.c.id.in_(list(playbook_ids))))
    return {row.id: _playbook(row) for row in rows}


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
