"""What one request may carry: sizes of lists, fields and custom fields.

They are part of the request schemas (``outbound.schemas.bodies``) and answer ``400`` naming
the field; the size of a whole body is bounded by the API's middleware (``outbound.api.limits``).
Imports the standard library and ``outbound.domain`` only.
"""

import json
import math
from typing import Any

from outbound.domain.recall import MAX_RECALL_OFFSETS

MAX_CONTACTS = 100_000  # contacts in one POST /campaign or POST /campaign/{id}/contacts
MAX_DNC_PHONES = 100_000  # phones in one POST /dnc
MAX_RECALL = MAX_RECALL_OFFSETS  # offsets in a campaign's recall
MAX_FIELD_LENGTH = 1_000  # characters of a contact's text field
MAX_PHONE_LENGTH = 64  # characters of a phone as given, before normalization
MAX_EMAIL_LENGTH = 320  # characters: 64 for the local part, @, 255 for the domain
MAX_CUSTOM_FIELDS = 100  # keys at the top of a contact's custom_fields
MAX_CUSTOM_KEY_LENGTH = 100  # characters of a custom_fields key, at any depth
MAX_CUSTOM_DEPTH = 5  # objects and arrays nested in custom_fields, itself included
MAX_CUSTOM_BYTES = 16 * 1024  # a contact's custom_fields as compact UTF-8 JSON
MAX_PLAYBOOK_NAME_LENGTH = 200  # characters of a playbook's name
MAX_MESSAGE_LENGTH = 10_000  # characters of a first_message or a voicemail message
MAX_INSTRUCTIONS_LENGTH = 100_000  # characters of instructions, and of a provider field
MAX_VOICE_LENGTH = 100  # characters of a voice name
MAX_LANGUAGE_LENGTH = 35  # characters of a language tag (BCP 47 allows 35)
MAX_DESCRIPTION_LENGTH = 1_000  # characters of a disposition's or data field's description


def custom_fields_problem(value: dict[str, Any]) -> str | None:
    """Why these custom fields are over the limits, or None when they are within them."""
    if len(value) > MAX_CUSTOM_FIELDS:
        return f"has {len(value)} keys; at most {MAX_CUSTOM_FIELDS}"
    characters = _flat_characters(value)
    if characters is not None and characters * _MAX_BYTES_PER_CHARACTER + 6 * len(value) + 2 <= (
        MAX_CUSTOM_BYTES
    ):
        return None  # the usual case: a few scalars under short keys, told in one pass
    problem = _nested_problem(value, depth=1)
    if problem is not None:
        return problem
    if _flat_size_bound(value) <= MAX_CUSTOM_BYTES:
        return None  # decided without serializing
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
    if size > MAX_CUSTOM_BYTES:
        return f"is {size} bytes as JSON; at most {MAX_CUSTOM_BYTES}"
    return None


_SCALARS = frozenset({str, int, float, bool, type(None)})
_MAX_BYTES_PER_CHARACTER = 6  # a control character is escaped as \u00XX in JSON


def _flat_characters(value: dict[str, Any]) -> int | None:
    """The characters of the keys and values of an object of scalars under keys within the
    key limit; None for any other object."""
    characters = 0
    for key, child in value.items():
        kind = type(child)
        if kind is str:
            characters += len(key) + len(child)
        elif kind in _SCALARS:
            characters += len(key) + len(str(child))
        else:
            return None
        if len(key) > MAX_CUSTOM_KEY_LENGTH:
            return None
    return characters


def _flat_size_bound(value: dict[str, Any]) -> float:
    """An upper bound of the object's JSON size when its values are all scalars, else inf."""
    if not all(type(child) in _SCALARS for child in value.values()):
        return math.inf
    characters = sum(len(key) + len(str(child)) for key, child in value.items())
    return characters * _MAX_BYTES_PER_CHARACTER + 6 * len(value) + 2


def _nested_problem(value: Any, depth: int) -> str | None:
    if not isinstance(value, dict | list):
        return None
    if depth > MAX_CUSTOM_DEPTH:
        return f"is nested more than {MAX_CUSTOM_DEPTH} levels deep"
    if isinstance(value, dict):
        for key in value:
            if len(key) > MAX_CUSTOM_KEY_LENGTH:
                return f"has a key of {len(key)} characters; at most {MAX_CUSTOM_KEY_LENGTH}"
    children = value.values() if isinstance(value, dict) else value
    for child in children:
        problem = _nested_problem(child, depth + 1)
        if problem is not None:
            return problem
    return None
