"""Contacts, unique per account and E.164 phone."""

import json
import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Connection, func, select, text
from sqlalchemy.dialects import sqlite

from outbound.domain.contacts import CONTACT_FIELDS
from outbound.domain.records import ContactInput
from outbound.store.database import copy_rows
from outbound.store.tables import contacts


def upsert_contacts(
    conn: Connection, account_id: uuid.UUID, inputs: Sequence[ContactInput], now: datetime
) -> dict[str, tuple[uuid.UUID, str | None]]:
    """Insert new contacts, update the given fields of known ones (SQLite's path; PostgreSQL
    stages the contacts with ``stage`` and ``upsert_staged``).

    Returns each phone's contact id and stored timezone.

    Fields not given keep their stored value; custom fields are merged key by key.
    Phones must be distinct.
    """
    if not inputs:
        return {}
    upsert = sqlite.insert(contacts)
    excluded = upsert.excluded
    updates: dict[str, Any] = {
        name: func.coalesce(excluded[name], contacts.c[name]) for name in CONTACT_FIELDS
    }
    updates["custom_fields"] = func.json_patch(
        contacts.c.custom_fields, excluded.custom_fields, type_=JSON
    )
    updates["updated_at"] = excluded.updated_at
    statement = upsert.on_conflict_do_update(
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


_STAGING_COLUMNS = ("phone", *CONTACT_FIELDS, "custom_fields", "ordinal", "number_zone")
_UPSERT_FROM_STAGING = f"""
INSERT INTO contacts (id, account_id, phone, {", ".join(CONTACT_FIELDS)}, custom_fields,
                      created_at, updated_at)
SELECT gen_random_uuid(), :account_id, phone, {", ".join(CONTACT_FIELDS)}, custom_fields::jsonb,
  :now, :now
FROM contacts_staging
ON CONFLICT (account_id, phone) DO UPDATE SET
  {", ".join(f"{name} = COALESCE(EXCLUDED.{name}, contacts.{name})" for name in CONTACT_FIELDS)},
  custom_fields = contacts.custom_fields || EXCLUDED.custom_fields,
  updated_at = EXCLUDED.updated_at
"""


def stage(
    conn: Connection, inputs: Sequence[ContactInput], number_zones: Sequence[str | None] = ()
) -> None:
    """PostgreSQL: COPY the contacts, in order, into this transaction's staging table."""
    conn.exec_driver_sql(
        "CREATE TEMPORARY TABLE IF NOT EXISTS contacts_staging ("
        + ", ".join(f"{name} text" for name in _STAGING_COLUMNS if name != "ordinal")
        + ", ordinal integer) ON COMMIT DELETE ROWS"
    )
    zones = number_zones or [None] * len(inputs)
    copy_rows(
        conn,
        "contacts_staging",
        _STAGING_COLUMNS,
        (
            (item.phone, *(item.fields.get(name) for name in CONTACT_FIELDS),
             json.dumps(item.custom_fields), ordinal, zone)
            for ordinal, (item, zone) in enumerate(zip(inputs, zones, strict=True), start=1)
        ),
    )  # fmt: skip


def upsert_staged(conn: Connection, account_id: uuid.UUID, now: datetime) -> None:
    """PostgreSQL: upsert the staged contacts in one statement (phones must be distinct)."""
    conn.execute(text(_UPSERT_FROM_STAGING), {"account_id": account_id, "now": now})
