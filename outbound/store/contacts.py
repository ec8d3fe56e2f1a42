"""Contacts, unique per account and E.164 phone, and the writer of contact lists.

A contact list is written chunk by chunk in one transaction, with the campaign's calls
(``ContactWriter``, each database's own: ``store.postgres.contacts``, ``store.sqlite.contacts``,
reached as ``transaction.contact_writer``). Each chunk's contacts come encoded by the writer's
``encode_contacts``, which the ingest pool's processes run as they prepare the chunks.
"""

import json
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TypeVar

from sqlalchemy import Connection, select

from outbound.domain.contacts import CONTACT_FIELDS
from outbound.domain.personalization import row_variables
from outbound.domain.records import Campaign, ContactInput
from outbound.store.tables import contacts

if TYPE_CHECKING:
    from outbound.store.database import Transaction

# Each contact, with its id, as the database's writer takes it: ``(ids, account_id, contacts,
# stamp)``, the account's id and the creation time (ISO 8601) as text. A module-level function,
# so that the ingest pool's processes can run it.
EncodeContacts = Callable[[Sequence[str], str, Sequence[ContactInput], str], list[Any]]

Chunk = TypeVar("Chunk")


class Known(NamedTuple):
    """A contact the account already has: its id and its stored timezone."""

    id: str
    timezone: str | None


@dataclass(frozen=True)
class NewCalls:
    """A chunk's calls, one per contact in order, at the campaign's positions after ``after``,
    with the ids given (time-ordered ones keep the primary key's index compact).

    ``zones`` and ``dues`` give each call's zone and first due time when a calling window
    applies; without them every call is due at ``first_due``. With ``skip_existing``, contacts
    the campaign already has a call for are left out.
    """

    campaign: Campaign
    ids: Sequence[str]
    contact_ids: Sequence[str]
    phones: Sequence[str]
    zones: Sequence[str | None] | None
    dues: Sequence[datetime | None] | None
    after: int
    caller_id: str | None
    first_due: datetime
    now: datetime
    skip_existing: bool


class ContactWriter(Protocol):
    """Writes a contact list into an account, and the calls of a campaign to its contacts,
    chunk by chunk, in one transaction."""

    @property
    def encode_contacts(self) -> EncodeContacts:
        """How this writer takes a chunk's contacts (run where the chunks are prepared)."""
        ...

    def lock(self, account_id: uuid.UUID) -> None:
        """Hold the account's contacts until the transaction ends (writers queue)."""
        ...

    def with_stored(
        self,
        account_id: uuid.UUID,
        chunks: Iterable[Chunk],
        phones: Callable[[Chunk], Sequence[str]],
    ) -> Iterator[tuple[Chunk, dict[str, Known]]]:
        """Each chunk with the account's stored contacts among its ``phones``, by phone (read
        before the chunk is written; the account's contacts held by ``lock``)."""
        ...

    def write_chunk(
        self, new_contacts: Sequence[Any], known_contacts: Sequence[Any], calls: NewCalls
    ) -> int:
        """Write a chunk into the campaign's account: its new contacts, its known ones (the
        fields given replace the stored ones, custom fields merge by key; ``updated_at``
        becomes ``calls.now``), both encoded by ``encode_contacts``, and its calls. Returns
        the number of calls added."""
        ...

    def rezone_calls(
        self,
        campaign_id: uuid.UUID,
        after: int,
        phones: Sequence[str],
        zones: Sequence[str],
        dues: Sequence[datetime | None],
    ) -> None:
        """Give the calls added after position ``after`` to ``phones`` a new zone and first due
        time (a later chunk of the list changed the contact's timezone)."""
        ...


def get_contact(
    conn: Connection, account_id: uuid.UUID, contact_id: uuid.UUID
) -> dict[str, Any] | None:
    row = conn.execute(
        select(contacts).where(contacts.c.id == contact_id, contacts.c.account_id == account_id)
    ).first()
    return dict(row._mapping) if row else None


CONTACT_ROW = ("id", "phone", *CONTACT_FIELDS, "custom_fields")  # the last one as JSON text
_NO_CUSTOM_FIELDS = ("{}", None)


def variables_of(
    conn: "Transaction", contact_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Any]]:
    """The template variables of contacts (``contact_variables``), by id.

    Read for every batch of attempts placed: the rows come as tuples (each database's own
    statement, ``CallQueue.contact_rows``), and custom fields are parsed only when there are
    some.
    """
    if not contact_ids:
        return {}
    return {
        contact_id: row_variables(
            phone, values, {} if custom in _NO_CUSTOM_FIELDS else json.loads(custom)
        )
        for contact_id, phone, *values, custom in conn.queue.contact_rows(list(contact_ids))
    }


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
