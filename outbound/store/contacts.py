"""Contacts, unique per account and E.164 phone."""

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ColumnElement, Connection, func, select
from sqlalchemy.dialects import postgresql, sqlite

from outbound.domain.contacts import CONTACT_FIELDS
from outbound.domain.records import ContactInput
from outbound.store.tables import contacts


def upsert_contacts(
    conn: Connection, account_id: uuid.UUID, inputs: Sequence[ContactInput], now: datetime
) -> dict[str, tuple[uuid.UUID, str | None]]:
    """Insert new contacts, update the given fields of known ones.

    Returns each phone's contact id and stored timezone.

    Fields not given keep their stored value; custom fields are merged key by key.
    """
    if not inputs:
        return {}
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(contacts)
    excluded = statement.excluded
    merged_custom: ColumnElement[Any]
    if conn.dialect.name == "postgresql":
        merged_custom = contacts.c.custom_fields.op("||")(excluded.custom_fields)
    else:
        merged_custom = func.json_patch(
            contacts.c.custom_fields, excluded.custom_fields, type_=JSON
        )
    updates: dict[str, Any] = {
        name: func.coalesce(excluded[name], contacts.c[name]) for name in CONTACT_FIELDS
    }
    updates["custom_fields"] = merged_custom
    updates["updated_at"] = excluded.updated_at
    statement = statement.on_conflict_do_update(
        index_elements=[contacts.c.account_id, contacts.c.phone], set_=updates
    ).returning(contacts.c.id, contacts.c.phone, contacts.c.timezone)
    rows = [
        {
            "id": uuid.uuid4(),
            "account_id": account_id,
            "phone": item.phone,
            **{name: item.fields.get(name) for name in CONTACT_FIELDS},
            "custom_fields": item.custom_fields,
            "created_at": now,
            "updated_at": now,
        }
        for item in inputs
    ]
    result = conn.execute(statement, rows)
    return {row.phone: (row.id, row.timezone) for row in result}


def get_contact(
    conn: Connection, account_id: uuid.UUID, contact_id: uuid.UUID
) -> dict[str, Any] | None:
    row = conn.execute(
        select(contacts).where(contacts.c.id == contact_id, contacts.c.account_id == account_id)
    ).first()
    return dict(row._mapping) if row else None


def get_many(
    conn: Connection, contact_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Any]]:
    if not contact_ids:
        return {}
    rows = conn.execute(select(contacts).where(contacts.c.id.in_(list(contact_ids))))
    return {row.id: dict(row._mapping) for row in rows}


def get_by_phones(
    conn: Connection, account_id: uuid.UUID, phones: Sequence[str]
) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(phones), 1000):
        rows = conn.execute(
            select(contacts).where(
                contacts.c.account_id == account_id,
                contacts.c.phone.in_(list(phones[start : start + 1000])),
            )
        )
        found.update((row.phone, dict(row._mapping)) for row in rows)
    return found
