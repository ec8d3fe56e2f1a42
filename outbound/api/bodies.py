"""The bodies of ``POST /campaign`` and ``POST /campaign/{id}/contacts``, read without FastAPI's
body validation.

A list of 100,000 contacts is 50 MB of JSON. FastAPI would parse and validate all of it on the
event loop before the handler starts (about a second on one core) and then hand over 100,000
objects. Here msgspec reads the body without building the contacts: each stays the slice of
JSON text it was (``msgspec.Raw``), which takes a tenth of the time of ``json.loads``. What
surrounds the contacts is validated here (``CampaignHead``); the contacts go to the service
unvalidated (``UncheckedContacts``), and the pool's processes validate them chunk by chunk with
``validate_contacts``, while the earlier chunks are written. The answers are the same: ``400``
naming each field at fault, ``malformed JSON body`` for what is not JSON.
"""

from collections.abc import Sequence
from typing import Annotated, Any, TypeVar

import msgspec
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from outbound.api.validation import invalid_fields, malformed_json
from outbound.exceptions import InvalidRequest
from outbound.schemas.bodies import CampaignIn, ContactIn, ContactsIn
from outbound.schemas.errors import error_items
from outbound.schemas.limits import MAX_CONTACTS
from outbound.services.contact_lists import RawContact, UncheckedContacts

# The contacts as JSON values: each is validated later, by ``validate_contacts``.
UncheckedList = Annotated[list[Any], Field(min_length=1, max_length=MAX_CONTACTS)]
CONTACTS = ("body", "contacts")
_contacts = TypeAdapter(list[ContactIn])
Head = TypeVar("Head", bound=BaseModel)


class CampaignHead(CampaignIn):
    contacts: UncheckedList


class ContactsHead(ContactsIn):
    contacts: UncheckedList


def read_head(body: bytes, model: type[Head]) -> Head:
    """The body as ``model`` (a ``*Head``), its contacts not validated yet: ``400`` if it is
    not a JSON object of that shape."""
    if not body.strip():
        raise invalid_fields([{"field": "body", "reason": "required"}])
    try:
        data = _read(body)
    except (msgspec.DecodeError, ValueError) as exc:  # and a body that is not UTF-8
        raise malformed_json() from exc
    except RecursionError as exc:
        raise InvalidRequest(
            "JSON body nested too deeply", errors=[{"field": "body", "reason": "nested too deeply"}]
        ) from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid_fields(error_items(exc.errors(), prefix=("body",))) from exc


def _read(body: bytes) -> Any:
    """The body's JSON, its ``contacts`` (when a list) as the raw JSON of each contact."""
    try:
        fields = msgspec.json.decode(body, type=dict[str, msgspec.Raw])
    except msgspec.ValidationError:  # JSON, but not an object: the schema says what is wrong
        return msgspec.json.decode(body)
    return {name: _read_field(name, raw) for name, raw in fields.items()}


def _read_field(name: str, raw: msgspec.Raw) -> Any:
    if name == "contacts":
        try:
            return msgspec.json.decode(raw, type=list[msgspec.Raw])
        except msgspec.ValidationError:  # not a list: the schema says what is wrong
            pass
    return msgspec.json.decode(raw)


def unchecked(contacts: list[Any]) -> UncheckedContacts:
    """The contacts (raw JSON as ``read_head`` gives them, or any JSON values) for the service."""
    return UncheckedContacts(contacts, validate_contacts, json_array)


def json_array(items: Sequence[Any]) -> bytes:
    """Items as a JSON array: raw JSON as it came in the body, other values encoded."""
    try:
        return b"[" + b",".join(items) + b"]"  # all raw, as ``read_head`` gives them
    except TypeError:
        return b"[" + b",".join([_json(item) for item in items]) + b"]"


def _json(item: Any) -> msgspec.Raw | bytes:
    return item if isinstance(item, msgspec.Raw) else msgspec.json.encode(item)


def validate_contacts(chunk: bytes, offset: int) -> tuple[list[RawContact], list[dict[str, Any]]]:
    """A slice of the request's contacts, given as a JSON array, as the service takes them, or
    the errors of its items (indexed in the whole list: the slice starts at ``offset``)."""
    try:
        items = _contacts.validate_json(chunk)
    except ValidationError as exc:
        return [], error_items(exc.errors(), prefix=CONTACTS, offset=offset)
    return [raw_contact(item) for item in items], []


def raw_contact(item: ContactIn) -> RawContact:
    """A validated contact as the service takes it: only the fields given, none null."""
    fields: dict[str, Any] = dict(item)  # the schema keeps only the contact fields
    phone = fields.pop("phone", None)
    custom_fields = fields.pop("custom_fields", None) or {}
    if None in fields.values():  # a field given as null is a field not given
        fields = {name: value for name, value in fields.items() if value is not None}
    return RawContact(phone, fields, custom_fields)


def request_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` documenting ``model`` as the JSON body a handler reads itself."""
    schema = {"schema": model.model_json_schema()}
    return {"requestBody": {"required": True, "content": {"application/json": schema}}}
