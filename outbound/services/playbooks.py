"""Playbooks: create, read, change and archive an account's playbooks.

A body's single fields are checked by its schema (``outbound.schemas.playbooks``); here what
needs more: names unique within ``dispositions`` and ``data_fields``, and a ``provider`` naming
a live connection of the account with the fields its type asks for. An archived playbook takes
no new campaign but stays readable: the campaigns already running with it go on.
"""

import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from outbound.clock import utcnow
from outbound.domain import paging
from outbound.domain.connections import FIELDS, ConnectionType
from outbound.domain.paging import Page
from outbound.domain.records import Playbook
from outbound.exceptions import Conflict, InvalidRequest, NotFound
from outbound.schemas.errors import error_items
from outbound.schemas.playbooks import PlaybookIn, PlaybookPatch, ProviderIn
from outbound.store import accounts as account_store
from outbound.store import playbooks as store
from outbound.store.database import Database, Transaction

MAX_PAGE = 200
Body = TypeVar("Body", bound=BaseModel)


def read_body(model: type[Body], data: Mapping[str, Any]) -> Body:
    """``data`` validated as the API validates a body: ``InvalidRequest`` naming each field at
    fault (for the CLI, whose options are not a request's body)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidRequest.naming(error_items(exc.errors())) from exc


def create_playbook(database: Database, account_id: uuid.UUID, body: PlaybookIn) -> Playbook:
    fields = body.given()
    _check_unique_names(fields)
    now = utcnow()
    with database.transaction() as conn:
        if account_store.get_account(conn, account_id) is None:
            raise NotFound(f"no account {account_id}")
        playbook = Playbook(
            id=uuid.uuid4(),
            account_id=account_id,
            **fields,
            provider=_provider(conn, account_id, body.provider),
            created_at=now,
            updated_at=now,
        )
        store.insert_playbook(conn, playbook, now)
    return playbook


def get_playbook(database: Database, account_id: uuid.UUID, playbook_id: uuid.UUID) -> Playbook:
    """The account's playbook, archived or not."""
    with database.reading() as conn:
        playbook = store.find_playbook(conn, account_id, playbook_id)
    if playbook is None:
        raise NotFound("playbook not found")
    return playbook


def list_playbooks(
    database: Database, account_id: uuid.UUID, cursor: str | None, limit: int
) -> Page[Playbook]:
    """A page of the account's playbooks that are not archived, newest first."""
    limit = paging.page_size(limit, MAX_PAGE)
    before = paging.PLAYBOOKS.decode(cursor)
    with database.reading() as conn:
        if account_store.get_account(conn, account_id) is None:
            raise NotFound(f"no account {account_id}")
        rows = store.list_playbooks(conn, account_id, before, limit + 1)
    return paging.PLAYBOOKS.page(rows, limit, lambda p: (_created_at(p), p.id))


def update_playbook(
    database: Database, account_id: uuid.UUID, playbook_id: uuid.UUID, patch: PlaybookPatch
) -> Playbook:
    """The fields given replace the stored ones (a list whole); attempts placed afterwards
    use the new version. An archived playbook is not changed (``Conflict``)."""
    fields = patch.given()
    _check_unique_names(fields)
    with database.transaction() as conn:
        current = store.find_playbook(conn, account_id, playbook_id, lock=True)
        if current is None:
            raise NotFound("playbook not found")
        if current.archived_at is not None:
            raise Conflict("the playbook is archived")
        if "provider" in patch.model_fields_set:
            fields["provider"] = _provider(conn, account_id, patch.provider)
        updated = replace(current, **fields, updated_at=utcnow())
        store.update_playbook(conn, updated)
    return updated


def archive_playbook(database: Database, account_id: uuid.UUID, playbook_id: uuid.UUID) -> None:
    """No new campaign may use the playbook; those running with it go on. Archiving an
    archived playbook changes nothing."""
    with database.transaction() as conn:
        if store.find_playbook(conn, account_id, playbook_id, lock=True) is None:
            raise NotFound("playbook not found")
        store.archive_playbook(conn, playbook_id, utcnow())


def _created_at(playbook: Playbook) -> datetime:
    assert playbook.created_at is not None  # read from the store
    return playbook.created_at


def _check_unique_names(fields: Mapping[str, Any]) -> None:
    errors = [
        {"field": f"{name}[{index}].name", "reason": f"duplicate name {item.name!r}"}
        for name in ("dispositions", "data_fields")
        for index, item in _repeated(fields.get(name, ()))
    ]
    if errors:
        raise InvalidRequest.naming(errors)


def _repeated(items: Any) -> list[tuple[int, Any]]:
    """The items whose name an earlier item has, with their index."""
    seen: Counter[str] = Counter()
    repeated = []
    for index, item in enumerate(items):
        if seen[item.name]:
            repeated.append((index, item))
        seen[item.name] += 1
    return repeated


def _provider(
    conn: Transaction, account_id: uuid.UUID, provider: ProviderIn | None
) -> dict[str, str] | None:
    """The playbook's ``provider`` as stored, once its connection and fields are checked."""
    if provider is None:
        return None
    kind = _connection_type(conn, account_id, provider.connection_id)
    fields = provider.fields()
    errors = [
        {"field": f"provider.{name}", "reason": reason}
        for name, reason in _field_problems(kind, fields)
    ]
    if errors:
        raise InvalidRequest.naming(errors)
    return {"connection_id": str(provider.connection_id), **fields}


def _connection_type(
    conn: Transaction, account_id: uuid.UUID, connection_id: uuid.UUID
) -> ConnectionType:
    found = store.connection_type(conn, account_id, connection_id)
    if found not in set(ConnectionType):
        raise InvalidRequest.naming(
            [{"field": "provider.connection_id", "reason": "no such provider connection"}]
        )
    return ConnectionType(found)


def _field_problems(kind: ConnectionType, given: Mapping[str, str]) -> list[tuple[str, str]]:
    """What is wrong with a playbook's ``provider`` fields for a connection of type ``kind``."""
    expected = FIELDS[kind]
    known = {*expected.playbook, *expected.playbook_optional, *expected.playbook_one_of}
    problems = [
        (name, f"not a field of {kind.value} connections") for name in sorted(set(given) - known)
    ]
    problems += [
        (name, f"required by {kind.value} connections")
        for name in expected.playbook
        if not given.get(name, "").strip()
    ]
    if expected.playbook_one_of:
        present = [name for name in expected.playbook_one_of if given.get(name, "").strip()]
        if len(present) != 1:
            either = " or ".join(expected.playbook_one_of)
            reason = f"{kind.value} connections need exactly one of {either}"
            problems += [(name, reason) for name in (present or expected.playbook_one_of[:1])]
    return problems
