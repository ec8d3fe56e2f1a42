"""Keyset paging: one opaque, validated cursor for every list, and the page it ends.

Each list is read in the order of a key that is unique within it (campaigns newest first by
``(created_at, id)``, a campaign's calls by ``(position,)``...). A page ends at a position in that
order and the next page starts after it. A ``Keyset`` turns that position into the cursor a
client passes back, and a cursor back into a position, refusing with ``InvalidCursor`` (``400``
naming ``cursor``) anything the server did not make: another list's cursor, wrong types, control
characters, a text too long, an encoding other than the one the server writes.

A cursor is the base64url text (no padding) of the compact JSON array ``[tag, value, ...]``. It
is not signed: a client can forge a well-formed position, which only moves where its own read
starts (every list is read within the caller's account), never reaches the query as anything
but a value of the key's type.

Every list's keyset is defined here, so that their tags are seen to differ. Pure: imports only
the standard library and ``outbound.exceptions``.
"""

import base64
import json
import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar, overload

from outbound.exceptions import InvalidRequest

MAX_CURSOR_LENGTH = 256  # characters; the longest cursor the server writes is about 120
MAX_TEXT_LENGTH = 64  # characters of a text value in a cursor
MAX_INTEGER = 2**63 - 1  # the largest value of a BIGINT column
MAX_POSITION = 2**31 - 1  # the largest value of an INTEGER column: a call's position
_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")  # base64url without padding

T = TypeVar("T")
U = TypeVar("U")
A = TypeVar("A")
B = TypeVar("B")
K = TypeVar("K", bound=tuple[Any, ...])


class InvalidCursor(InvalidRequest):
    """The cursor is not one this list gave."""

    def __init__(self) -> None:
        super().__init__(
            "invalid cursor",
            errors=[{"field": "cursor", "reason": "not a cursor this list gave; pass next_cursor"}],
        )


class Field(ABC, Generic[T]):
    """One value of a sort key: how it is written in a cursor and read back, strictly."""

    @abstractmethod
    def dump(self, value: T) -> str | int:
        """The JSON value of ``value``."""

    @abstractmethod
    def load(self, value: object) -> T:
        """The value a JSON value stands for; ``ValueError`` if it is not one ``dump`` writes."""


class Moment(Field[datetime]):
    """An instant, written in UTC."""

    def dump(self, value: datetime) -> str:
        if value.utcoffset() is None:
            raise ValueError("a naive datetime has no place in a cursor")
        return value.astimezone(UTC).isoformat()

    def load(self, value: object) -> datetime:
        if not isinstance(value, str) or len(value) > MAX_TEXT_LENGTH:
            raise ValueError("a moment is an ISO 8601 text")
        moment = datetime.fromisoformat(value)
        # Only UTC: any other offset could overflow when converted, and is never written.
        if moment.utcoffset() != timedelta(0):
            raise ValueError("a moment is in UTC")
        return moment


class Id(Field[uuid.UUID]):
    """A UUID."""

    def dump(self, value: uuid.UUID) -> str:
        return str(value)

    def load(self, value: object) -> uuid.UUID:
        if not isinstance(value, str) or len(value) != 36:
            raise ValueError("an id is a UUID's 36 characters")
        return uuid.UUID(value)


@dataclass(frozen=True)
class Integer(Field[int]):
    """An integer from ``minimum`` to ``maximum``."""

    minimum: int = 0
    maximum: int = MAX_INTEGER

    def dump(self, value: int) -> int:
        return value

    def load(self, value: object) -> int:
        # bool is an int to Python, not to JSON
        if type(value) is not int or not self.minimum <= value <= self.maximum:
            raise ValueError(f"an integer from {self.minimum} to {self.maximum}")
        return value


@dataclass(frozen=True)
class Text(Field[str]):
    """A printable text (no NUL, no control character) of at most ``max_length`` characters."""

    max_length: int = MAX_TEXT_LENGTH

    def dump(self, value: str) -> str:
        return value

    def load(self, value: object) -> str:
        if not isinstance(value, str) or len(value) > self.max_length or not value.isprintable():
            raise ValueError(f"a printable text of at most {self.max_length} characters")
        return value


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, and the cursor that reads the next one (``None`` on the last)."""

    items: list[T]
    next_cursor: str | None

    def map(self, convert: Callable[[T], U]) -> "Page[U]":
        return Page([convert(item) for item in self.items], self.next_cursor)


@dataclass(frozen=True)
class Keyset(Generic[K]):
    """The cursors of one list: its ``tag`` and the fields of its sort key, in order."""

    tag: str
    fields: tuple[Field[Any], ...]

    def encode(self, position: K) -> str:
        """The cursor of the page that starts after ``position``."""
        if len(position) != len(self.fields):
            raise ValueError(f"a {self.tag} position has {len(self.fields)} values")
        values = [self.tag, *(f.dump(v) for f, v in zip(self.fields, position, strict=True))]
        text = json.dumps(values, separators=(",", ":"), ensure_ascii=True)
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    def decode(self, cursor: str | None) -> K | None:
        """The position ``cursor`` stands for; ``None`` (the first page) for no cursor or ``""``.

        Raises ``InvalidCursor`` unless ``cursor`` is exactly what ``encode`` writes for this
        list.
        """
        if not cursor:
            return None
        if len(cursor) > MAX_CURSOR_LENGTH or not _ALPHABET.fullmatch(cursor):
            raise InvalidCursor()
        try:
            text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
            values = json.loads(text)
            if (
                not isinstance(values, list)
                or len(values) != 1 + len(self.fields)
                or values[0] != self.tag
            ):
                raise ValueError("not a cursor of this list")
            loaded = [f.load(v) for f, v in zip(self.fields, values[1:], strict=True)]
            position: K = tuple(loaded)  # type: ignore[assignment]
            # One cursor per position: anything else (padding bits, spaces, other spellings of
            # a value) was not written by the server.
            if self.encode(position) != cursor:
                raise ValueError("not in the form the server writes")
        except ValueError as exc:  # binascii.Error and UnicodeDecodeError among them
            raise InvalidCursor() from exc
        return position

    def page(self, rows: Sequence[T], limit: int, position: Callable[[T], K]) -> Page[T]:
        """The page of the first ``limit`` of ``rows``, read with ``limit + 1``: a row beyond
        the page says that another page follows."""
        items = list(rows[:limit])
        return Page(items, self.encode(position(items[-1])) if len(rows) > limit else None)


@overload
def keyset(tag: str, first: Field[A], /) -> Keyset[tuple[A]]: ...
@overload
def keyset(tag: str, first: Field[A], second: Field[B], /) -> Keyset[tuple[A, B]]: ...
def keyset(tag: str, *fields: Field[Any]) -> Keyset[Any]:
    """The keyset of a list whose sort key has these fields."""
    return Keyset(tag, fields)


def page_size(limit: int, maximum: int) -> int:
    """``limit`` within 1 and the list's ``maximum``."""
    return max(1, min(limit, maximum))


CAMPAIGNS = keyset("campaigns", Moment(), Id())  # (created_at, id), newest first
CALLS = keyset("calls", Integer(maximum=MAX_POSITION))  # (position,) in the campaign, as given
DO_NOT_CALL = keyset("dnc", Text(max_length=32))  # (phone,), E.164 in text order
DELIVERIES = keyset("deliveries", Moment(), Id())  # (attempted_at, id), newest first
PLAYBOOKS = keyset("playbooks", Moment(), Id())  # (created_at, id), newest first
CONNECTIONS = keyset("connections", Moment(), Id())  # (created_at, id), newest first
KEYSETS = (CAMPAIGNS, CALLS, DO_NOT_CALL, DELIVERIES, PLAYBOOKS, CONNECTIONS)
