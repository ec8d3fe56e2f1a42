"""The bodies of ``POST /campaign`` and ``POST /campaign/{id}/contacts``, read without FastAPI's
body validation.

A list of 100,000 contacts is 50 MB of JSON. FastAPI would validate all of it on the event loop
before the handler starts and then hand over 100,000 models. Here the handler parses the JSON
and validates what surrounds the contacts (``CampaignHead``); the contacts themselves go to the
service unvalidated (``UncheckedContacts``) with ``validate_contacts``, which the pool's processes
run chunk by chunk while the earlier chunks are written. The answers are the same: ``400``
naming each field at fault, ``malformed JSON body`` for what is not JSON.
"""

import json
from typing import Annotated, Any, NoReturn, TypeVar

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from outbound.api.limits import MAX_CONTACTS
from outbound.api.schemas import CampaignIn, ContactIn, ContactsIn
from outbound.api.validation import error_items, invalid_fields, malformed_json
from outbound.exceptions import InvalidRequest
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


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def read_head(body: bytes, model: type[Head]) -> Head:
    """The body as ``model`` (a ``*Head``), its contacts not validated yet: ``400`` if it is
    not a JSON object of that shape."""
    if not body.strip():
        raise invalid_fields([{"field": "body", "reason": "required"}])
    try:
        data = json.loads(body, parse_constant=_no_constant)  # NaN and Infinity are not JSON
    except ValueError as exc:  # JSONDecodeError, and a body that is not UTF-8
        raise malformed_json() from exc
    except RecursionError as exc:
        raise InvalidRequest(
            "JSON body nested too deeply", errors=[{"field": "body", "reason": "nested too deeply"}]
        ) from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid_fields(error_items(exc.errors(), prefix=("body",))) from exc


def unchecked(contacts: list[Any]) -> UncheckedContacts:
    return UncheckedContacts(contacts, validate_contacts)


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
