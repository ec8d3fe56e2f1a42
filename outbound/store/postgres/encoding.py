"""PostgreSQL's text formats, built in Python: rows as COPY lines, arrays as literals, and a
contact list's contacts encoded as the COPY lines ``contacts`` takes.

``encode_contacts`` runs in the ingest pool's processes, beside the validation of the chunks:
this module imports the standard library, pydantic_core and ``outbound.domain`` only.
"""

import re
from collections.abc import Sequence

from pydantic_core import to_json

from outbound.domain.contacts import CONTACT_FIELDS
from outbound.domain.records import ContactInput

COPY_NULL = "\\N"
_COPY_SPECIAL = re.compile(r"[\\\n\r]")  # with the tab, what COPY's text format escapes
needs_escape = _COPY_SPECIAL.search  # whether tab-free text must be escaped for COPY
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_line(values: Sequence[str | None]) -> str:
    """One row in COPY's text format: tab-separated, ``\\N`` for null, ending in a newline.

    Built in one join; values are escaped one by one only when the line holds a character
    that needs it (a text field with a tab, a newline or a backslash).
    """
    line = "\t".join([COPY_NULL if value is None else value for value in values])
    if line.count("\t") != len(values) - 1 or _COPY_SPECIAL.search(line):
        line = "\t".join(
            [COPY_NULL if value is None else value.translate(_COPY_ESCAPES) for value in values]
        )
    return line + "\n"


# The columns of a contact's COPY line, in order.
CONTACT_COLUMNS = (
    "id",
    "account_id",
    "phone",
    *CONTACT_FIELDS,
    "custom_fields",
    "created_at",
    "updated_at",
)


def encode_contacts(
    ids: Sequence[str], account_id: str, contacts: Sequence[ContactInput], stamp: str
) -> list[str]:
    """Each contact, with its id, as a COPY line of ``CONTACT_COLUMNS`` (``stamp``: its
    creation time, ISO 8601)."""
    return [
        _contact_line(contact_id, account_id, contact, stamp)
        for contact_id, contact in zip(ids, contacts, strict=True)
    ]


_FIELD_TABS = len(CONTACT_FIELDS) - 1  # in the fields of a line none of which holds a tab


def _contact_line(contact_id: str, account_id: str, contact: ContactInput, stamp: str) -> str:
    """The contact as a COPY line of ``CONTACT_COLUMNS``.

    Only the fields and custom fields can hold characters COPY reads specially; the line is
    made in one join, and again value by value only when they do (``copy_line``).
    """
    get = contact.fields.get
    middle = "\t".join([get(name, COPY_NULL) for name in CONTACT_FIELDS])
    custom = to_json(contact.custom_fields).decode()
    if middle.count("\t") != _FIELD_TABS or needs_escape(middle) or needs_escape(custom):
        return copy_line(
            (
                contact_id,
                account_id,
                contact.phone,
                *map(get, CONTACT_FIELDS),
                custom,
                stamp,
                stamp,
            )
        )
    return f"{contact_id}\t{account_id}\t{contact.phone}\t{middle}\t{custom}\t{stamp}\t{stamp}\n"


def array_literal(values: Sequence[str | None]) -> str:
    """A PostgreSQL array literal of the texts ``values`` (null for None), to pass as one
    string where psycopg would dump a list item by item (a microsecond each): cast it in the
    statement, ``%s::text[]``.
    """
    if None not in values:
        joined = '","'.join(values)  # type: ignore[arg-type]  # no None, checked above
        if '"' not in joined and "\\" not in joined:
            return '{"' + joined + '"}' if values else "{}"
    return "{" + ",".join(_array_item(value) for value in values) + "}"


def _array_item(value: str | None) -> str:
    if value is None:
        return "NULL"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
