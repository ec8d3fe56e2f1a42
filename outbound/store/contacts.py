"""Contacts, unique per account and E.164 phone."""

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import JSON, Connection, func, select
from sqlalchemy.dialects import sqlite

from outbound.domain.contacts import CONTACT_FIELDS
from outbound.domain.records import ContactInput
from outbound.store.database import array_literal, copy_text
from outbound.store.tables import contacts


def upsert_contacts(
    conn: Connection, account_id: uuid.UUID, inputs: Sequence[ContactInput], now: datetime
) -> dict[str, tuple[uuid.UUID, str | None]]:
    """Insert new contacts, update the given fields of known ones (SQLite's path; PostgreSQL
    takes ``known_contacts``, ``copy_contacts`` and ``update_contacts``).

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


# PostgreSQL's path for large lists. The account's contacts are locked for the transaction
# (an advisory lock of their own, so that dialing is not held up); the phones it already has
# are read in one statement per chunk; the new contacts are COPied
# straight into ``contacts`` and the known ones are updated from a staging table. An upsert of
# every row from a staging table costs three times the COPY.

_KNOWN = """
SELECT c.phone, c.id::text, c.timezone FROM contacts c
WHERE c.account_id = %s AND c.phone = ANY(%s::text[])
"""
_UPDATE_FROM_STAGING = f"""
UPDATE contacts SET
  {", ".join(f"{name} = COALESCE(s.{name}, contacts.{name})" for name in CONTACT_FIELDS)},
  custom_fields = contacts.custom_fields || s.custom_fields::jsonb,
  updated_at = %s
FROM contacts_staging s
WHERE contacts.account_id = %s AND contacts.phone = s.phone
"""


class Known(NamedTuple):
    """A contact the account already has: its id and its stored timezone."""

    id: str
    timezone: str | None


def lock_account_contacts(conn: Connection, account_id: uuid.UUID) -> None:
    """PostgreSQL: hold the account's contacts until the transaction ends (writers queue)."""
    conn.exec_driver_sql(
        "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"contacts:{account_id}",)
    )


def known_contacts(
    conn: Connection, account_id: uuid.UUID, phones: Sequence[str]
) -> dict[str, Known]:
    """PostgreSQL: the account's contacts among ``phones``, by phone."""
    if not phones:
        return {}
    rows = conn.exec_driver_sql(_KNOWN, (account_id, array_literal(phones)))
    return {phone: Known(contact_id, zone) for phone, contact_id, zone in rows}


def copy_contacts(conn: Connection, columns: Sequence[str], lines: Sequence[str]) -> None:
    """PostgreSQL: COPY new contacts, given as COPY lines of ``columns``."""
    copy_text(conn, "contacts", columns, lines)


def update_contacts(
    conn: Connection,
    account_id: uuid.UUID,
    columns: Sequence[str],
    lines: Sequence[str],
    now: datetime,
) -> None:
    """PostgreSQL: update known contacts from COPY lines of ``columns`` (as ``copy_contacts``
    takes them): the fields given replace the stored ones, custom fields merge by key."""
    if not lines:
        return
    conn.exec_driver_sql(
        "CREATE TEMPORARY TABLE IF NOT EXISTS contacts_staging ("
        + ", ".join(f"{name} text" for name in columns)
        + ") ON COMMIT DELETE ROWS"
    )
    conn.exec_driver_sql("TRUNCATE contacts_staging")  # an earlier chunk of this transaction's
    copy_text(conn, "contacts_staging", columns, lines)
    conn.exec_driver_sql(_UPDATE_FROM_STAGING, (now, account_id))
