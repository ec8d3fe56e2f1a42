"""Contact lists: validated, their phones normalized to E.164 and their repeats merged.

A list is taken in chunks (``prepared_chunks``): for a large list, the processes of
``outbound.workers.ingest_pool`` validate each chunk, normalize its phones, merge its repeats and
encode its contacts as the database's writer takes them (the store's ``encode_contacts``:
COPY lines on PostgreSQL), while the caller writes the chunks already prepared. Lists whose
variables are checked first are prepared whole (``prepare_contacts``), then made one chunk.
"""

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from outbound.domain.phones import InvalidPhone, Normalized, normalize_each
from outbound.domain.records import ContactInput
from outbound.exceptions import InvalidRequest
from outbound.store.contacts import EncodeContacts
from outbound.store.ids import time_ordered_ids
from outbound.workers import ingest_pool as phone_pool


@dataclass(frozen=True)
class RawContact:
    """One contact as the request gave it, before its phone is checked."""

    phone: Any
    fields: dict[str, str] = field(default_factory=dict)
    custom_fields: dict[str, Any] = field(default_factory=dict)


# Validates a slice of a request's contacts given as a JSON array, whose first item is the
# list's item ``offset``: the contacts, or the errors of the items that fail the schema.
Validate = Callable[[bytes, int], tuple[list[RawContact], list[dict[str, Any]]]]


@dataclass(frozen=True)
class UncheckedContacts:
    """A request's contacts before the schema is checked: ``encode`` makes a slice of
    ``items`` a JSON array for ``validate``, a module-level function the pool's processes run.
    """

    items: Sequence[Any]
    validate: Validate
    encode: Callable[[Sequence[Any]], bytes]

    def checked(self) -> list[RawContact]:
        """All of them validated here and now."""
        raw, invalid = self.validate(self.encode(self.items), 0)
        if invalid:
            raise InvalidRequest.naming(invalid)
        return raw


Contacts = Sequence[RawContact] | UncheckedContacts


def checked(contacts: Contacts) -> list[RawContact]:
    if isinstance(contacts, UncheckedContacts):
        return contacts.checked()
    return list(contacts)


@cache
def known_zone(name: str) -> bool:
    """Whether ``name`` is an IANA zone (of a contact, of an account)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file
        return False
    return True


def prepare_contacts(raw: Sequence[RawContact]) -> list[ContactInput]:
    """Normalize every phone and merge repeats; raise one error listing every bad contact."""
    errors: list[dict[str, Any]] = []
    merged: dict[str, ContactInput] = {}
    merge(merged, raw, phone_pool.normalize_all(phones_of(raw)), 0, errors)
    raise_for(errors)
    return list(merged.values())


def phones_of(raw: Sequence[RawContact]) -> list[tuple[object, str | None]]:
    return [(contact.phone, contact.fields.get("country")) for contact in raw]


def merge(
    merged: dict[str, ContactInput],
    raw: Sequence[RawContact],
    phones: Sequence[Normalized | InvalidPhone],
    offset: int,
    errors: list[dict[str, Any]],
) -> None:
    """Add the valid contacts to ``merged`` by phone (later fields win); list the others."""
    for index, (contact, phone) in enumerate(zip(raw, phones, strict=True), start=offset):
        if isinstance(phone, InvalidPhone):
            errors.append({"index": index, "field": "phone", "reason": str(phone)})
            continue
        zone = contact.fields.get("timezone")
        if zone is not None and not known_zone(zone):
            errors.append(
                {"index": index, "field": "timezone", "reason": f"unknown timezone {zone!r}"}
            )
            continue
        earlier = merged.get(phone.e164)
        if earlier is None:
            merged[phone.e164] = ContactInput(
                phone.e164, contact.fields, contact.custom_fields, phone.zone
            )
        else:  # the same phone again: later fields win, without touching the request
            merged[phone.e164] = ContactInput(
                phone.e164,
                {**earlier.fields, **contact.fields},
                {**earlier.custom_fields, **contact.custom_fields},
                phone.zone,
            )


def raise_for(errors: list[dict[str, Any]]) -> None:
    if errors:
        raise InvalidRequest(f"{len(errors)} contact(s) are invalid", errors=errors)


PARALLEL_FROM = 2_000  # contacts; below this, one chunk prepared in the API's process
CHUNK = 10_000  # contacts in a chunk, at most


class PreparedChunk(NamedTuple):
    """A chunk of a list, ready to write: its distinct phones in the order they first come,
    and for each a new contact id and call id, its ``timezone`` field, its number's own zone
    (when asked for) and its contact as the database's writer takes it (``encode_contacts``).
    Or what is wrong with it."""

    invalid: list[dict[str, Any]]  # items that fail the schema
    errors: list[dict[str, Any]]  # phones and timezones at fault
    phones: list[str]
    ids: list[str]
    call_ids: list[str]
    timezones: list[str | None]
    number_zones: list[str | None]
    rows: list[Any]


def chunk_of(
    contacts: Sequence[ContactInput],
    account_id: str,
    stamp: str,
    encode: EncodeContacts,
    offset: int = 0,
) -> PreparedChunk:
    """Contacts already merged, as a chunk whose first item is the list's item ``offset``
    (``stamp``: their creation time, ISO 8601), encoded by ``encode``."""
    millis = int(datetime.fromisoformat(stamp).timestamp() * 1000)
    ids = time_ordered_ids(len(contacts), millis, offset)
    return PreparedChunk(
        [],
        [],
        [contact.phone for contact in contacts],
        ids,
        time_ordered_ids(len(contacts), millis, offset),
        [contact.fields.get("timezone") for contact in contacts],
        [contact.number_zone for contact in contacts],
        encode(ids, account_id, contacts, stamp),
    )


def prepare_chunk(
    source: bytes | Sequence[RawContact],
    validate: Validate | None,
    offset: int,
    account_id: str,
    stamp: str,
    with_zones: bool,
    encode: EncodeContacts,
) -> PreparedChunk:
    """Validate a chunk (``source`` as JSON, when ``validate`` is given), normalize its phones,
    merge its repeats and encode its contacts. Runs in the pool's processes for large lists."""
    if validate is not None:
        assert isinstance(source, bytes)
        raw, invalid = validate(source, offset)
        if invalid:
            return PreparedChunk(invalid, [], [], [], [], [], [], [])
    else:
        assert not isinstance(source, bytes)
        raw = list(source)
    errors: list[dict[str, Any]] = []
    merged: dict[str, ContactInput] = {}
    merge(merged, raw, normalize_each(phones_of(raw), with_zones), offset, errors)
    if errors:
        return PreparedChunk([], errors, [], [], [], [], [], [])
    return chunk_of(list(merged.values()), account_id, stamp, encode, offset)


def prepared_chunks(
    contacts: Contacts, account_id: str, stamp: str, with_zones: bool, encode: EncodeContacts
) -> Iterator[PreparedChunk]:
    """The list in chunks, in order: prepared by the pool while the caller writes the earlier
    ones when it has ``PARALLEL_FROM`` contacts or more, else in one chunk prepared here."""
    unchecked = contacts if isinstance(contacts, UncheckedContacts) else None
    items: Sequence[Any] = contacts.items if isinstance(contacts, UncheckedContacts) else contacts
    validate = unchecked.validate if unchecked else None
    if not items:
        return
    if len(items) < PARALLEL_FROM:
        source = unchecked.encode(items) if unchecked else items
        yield prepare_chunk(source, validate, 0, account_id, stamp, with_zones, encode)
        return
    bounds = list(chunk_bounds(len(items)))
    yield from phone_pool.pool().map(
        prepare_chunk,
        (unchecked.encode(items[a:b]) if unchecked else items[a:b] for a, b in bounds),
        itertools.repeat(validate),
        (start for start, _ in bounds),
        itertools.repeat(account_id),
        itertools.repeat(stamp),
        itertools.repeat(with_zones),
        itertools.repeat(encode),
    )


def chunk_bounds(size: int) -> Iterator[tuple[int, int]]:
    """Where the chunks of a list of ``size`` start and end: the first ones small, so that
    writing starts early, then doubling up to ``CHUNK``."""
    start, length = 0, max(1, CHUNK // 8)
    while start < size:
        yield start, min(start + length, size)
        start, length = start + length, min(2 * length, CHUNK)
