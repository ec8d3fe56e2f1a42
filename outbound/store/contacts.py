"""Contacts, unique per account and E.164 phone."""

import json
import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Connection, func, select
from sqlalchemy.dialects import sqlite

from outbound.domain.contacts import CONTACT_FIELDS
from outbound.domain.records import ContactInput
from outbound.store.database import copy_rows
from outbound.store.tables import contacts


def upsert_contacts(
    conn: Connection, account_id: uuid.UUID, inputs: Sequence[ContactInput], now: datetime
) -> dict[str, tuple[uuid.UUID, str | None]]:
    """Insert new contacts, update the given fields of known ones (SQLite's path; PostgreSQL
    takes ``known_zones``, ``copy_new`` and ``update_known``).

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
# (an advisory lock, so that dialing, which locks the account's row, is not held up); the
# phones it already has are read in one statement; the new contacts are COPied straight into
# ``contacts`` and the known ones are updated from a staging table. An upsert of every row
# from a staging table costs three times the COPY.

_KNOWN = """
SELECT c.phone, c.timezone FROM contacts c
WHERE c.account_id = %s AND c.phone = ANY(%s)
"""
_NEW_COLUMNS = ("account_id", "phone", *CONTACT_FIELDS, "custom_fields", "created_at", "updated_at")
_STAGING_COLUMNS = ("phone", *CONTACT_FIELDS, "custom_fields")
_UPDATE_FROM_STAGING = f"""
UPDATE contacts SET
  {", ".join(f"{name} = COALESCE(s.{name}, contacts.{name})" for name in CONTACT_FIELDS)},
  custom_fields = contacts.custom_fields || s.custom_fields::jsonb,
  updated_at = %s
FROM contacts_staging s
WHERE contacts.account_id = %s AND contacts.phone = s.phone
"""


def lock_account_contacts(conn: Connection, account_id: uuid.UUID) -> None:
    """PostgreSQL: hold the account's contacts until the transaction ends (writers queue)."""
    conn.exec_driver_sql(
        "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"contacts:{account_id}",)
    )


def known_zones(
    conn: Connection, account_id: uuid.UUID, phones: Sequence[str]
) -> dict[str, str | None]:
    """PostgreSQL: the stored timezone of each of ``phones`` the account has a contact for."""
    rows = conn.exec_driver_sql(_KNOWN, (account_id, list(phones)))
    return {phone: zone for phone, zone in rows}


def copy_new(
    conn: Connection, account_id: uuid.UUID, inputs: Sequence[ContactInput], now: datetime
) -> None:
    """PostgreSQL: COPY contacts whose phones the account does not have (ids by default)."""
    account, stamp = str(account_id), now.isoformat()
    copy_rows(
        conn,
        "contacts",
        _NEW_COLUMNS,
        (
            (account, item.phone, *map(item.fields.get, CONTACT_FIELDS),
             json.dumps(item.custom_fields), stamp, stamp)
            for item in inputs
        ),
    )  # fmt: skip


def update_known(
    conn: Connection, account_id: uuid.UUID, inputs: Sequence[ContactInput], now: datetime
) -> None:
    """PostgreSQL: update the given fields of known contacts; custom fields merge by key."""
    conn.exec_driver_sql(
        "CREATE TEMPORARY TABLE IF NOT EXISTS contacts_staging ("
        + ", ".join(f"{name} text" for name in _STAGING_COLUMNS)
        + ") ON COMMIT DELETE ROWS"
    )
    conn.exec_driver_sql("TRUNCATE contacts_staging")  # an earlier chunk of this transaction's
    copy_rows(
        conn,
        "contacts_staging",
        _STAGING_COLUMNS,
        (
            (item.phone, *map(item.fields.get, CONTACT_FIELDS), json.dumps(item.custom_fields))
            for item in inputs
        ),
    )
    conn.exec_driver_sql(_UPDATE_FROM_STAGING, (now, account_id))
