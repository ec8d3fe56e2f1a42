"""SQLite's ``ContactWriter``: each chunk's contacts upserted (custom fields merged with
``json_patch``), its calls inserted row by row. SQLite has one writer: the transaction holds
the whole database, and reads in turn on its own connection."""

import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Connection, bindparam, func, insert, select, update
from sqlalchemy.dialects import sqlite

from outbound.domain.contacts import CONTACT_FIELDS
from outbound.domain.records import ContactInput
from outbound.domain.statuses import CallStatus
from outbound.store.campaigns import contacts_in_campaign
from outbound.store.contacts import Chunk, EncodeContacts, Known, NewCalls
from outbound.store.tables import calls as calls_table
from outbound.store.tables import contacts

_PHONES_PER_QUERY = 1000  # bound parameters of an IN list


def encode_contacts(
    ids: Sequence[str], account_id: str, contacts: Sequence[ContactInput], stamp: str
) -> list[dict[str, Any]]:
    """Each contact, with its id, as the parameters of a row of ``contacts``."""
    account = uuid.UUID(account_id)
    created_at = datetime.fromisoformat(stamp)
    return [
        {
            "id": uuid.UUID(contact_id),
            "account_id": account,
            "phone": contact.phone,
            **{name: contact.fields.get(name) for name in CONTACT_FIELDS},
            "custom_fields": contact.custom_fields,
            "created_at": created_at,
            "updated_at": created_at,
        }
        for contact_id, contact in zip(ids, contacts, strict=True)
    ]


def _upsert_contacts() -> Any:
    """Insert a new contact; of a known one, replace the fields given, merge the custom fields
    key by key and set ``updated_at``."""
    upsert = sqlite.insert(contacts)
    excluded = upsert.excluded
    updates: dict[str, Any] = {
        name: func.coalesce(excluded[name], contacts.c[name]) for name in CONTACT_FIELDS
    }
    updates["custom_fields"] = func.json_patch(
        contacts.c.custom_fields, excluded.custom_fields, type_=JSON
    )
    updates["updated_at"] = excluded.updated_at
    return upsert.on_conflict_do_update(
        index_elements=[contacts.c.account_id, contacts.c.phone], set_=updates
    )


_UPSERT_CONTACTS = _upsert_contacts()


class SqliteContactWriter:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    @property
    def encode_contacts(self) -> EncodeContacts:
        return encode_contacts

    def lock(self, account_id: uuid.UUID) -> None:
        pass  # the transaction began IMMEDIATE: it holds the database's one write lock

    def with_stored(
        self,
        account_id: uuid.UUID,
        chunks: Iterable[Chunk],
        phones: Callable[[Chunk], Sequence[str]],
    ) -> Iterator[tuple[Chunk, dict[str, Known]]]:
        for chunk in chunks:
            yield chunk, self._known_contacts(account_id, phones(chunk))

    def _known_contacts(self, account_id: uuid.UUID, phones: Sequence[str]) -> dict[str, Known]:
        found: dict[str, Known] = {}
        for start in range(0, len(phones), _PHONES_PER_QUERY):
            rows = self._conn.execute(
                select(contacts.c.phone, contacts.c.id, contacts.c.timezone).where(
                    contacts.c.account_id == account_id,
                    contacts.c.phone.in_(list(phones[start : start + _PHONES_PER_QUERY])),
                )
            )
            found.update((phone, Known(str(contact_id), zone)) for phone, contact_id, zone in rows)
        return found

    def write_chunk(
        self,
        new_contacts: Sequence[dict[str, Any]],
        known_contacts: Sequence[dict[str, Any]],
        calls: NewCalls,
    ) -> int:
        written = [*new_contacts, *known_contacts]
        if written:
            self._conn.execute(_UPSERT_CONTACTS, written)
        return self._add_calls(calls)

    def _add_calls(self, new: NewCalls) -> int:
        campaign = new.campaign
        contact_ids = [uuid.UUID(contact_id) for contact_id in new.contact_ids]
        existing = (
            contacts_in_campaign(self._conn, campaign.id, contact_ids)
            if new.skip_existing
            else set()
        )
        recall = list(campaign.recall)
        none = [None] * len(contact_ids)  # no window: no zone, every call due at first_due
        rows: list[dict[str, Any]] = []
        for call_id, contact_id, phone, zone, due in zip(
            new.ids,
            contact_ids,
            new.phones,
            none if new.zones is None else new.zones,
            none if new.dues is None else new.dues,
            strict=True,
        ):
            if contact_id in existing:
                continue
            rows.append(
                {
                    "id": uuid.UUID(call_id),
                    "campaign_id": campaign.id,
                    "account_id": campaign.account_id,
                    "contact_id": contact_id,
                    "position": new.after + len(rows) + 1,
                    "phone": phone,
                    "status": CallStatus.PENDING.value,
                    "attempt_count": 0,
                    "recall": recall,
                    "next_attempt_at": due if due is not None else new.first_due,
                    "timezone": zone,
                    "caller_id": new.caller_id,
                    "created_at": new.now,
                    "updated_at": new.now,
                }
            )
        if rows:
            self._conn.execute(insert(calls_table), rows)
        return len(rows)

    def rezone_calls(
        self,
        campaign_id: uuid.UUID,
        after: int,
        phones: Sequence[str],
        zones: Sequence[str],
        dues: Sequence[datetime | None],
    ) -> None:
        self._conn.execute(
            update(calls_table)
            .where(
                calls_table.c.campaign_id == campaign_id,
                calls_table.c.position > after,
                calls_table.c.phone == bindparam("b_phone"),
            )
            .values(
                timezone=bindparam("b_zone"),
                next_attempt_at=bindparam("b_due", type_=calls_table.c.next_attempt_at.type),
            ),
            [
                {"b_phone": phone, "b_zone": zone, "b_due": due}
                for phone, zone, due in zip(phones, zones, dues, strict=True)
            ],
        )
