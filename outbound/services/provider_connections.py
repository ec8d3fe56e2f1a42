"""Provider connections: an account's agent platforms and their credentials (CONTRACT §8).

Credentials are checked, encrypted with the server's ``Cipher`` and stored; they leave this
module only decrypted into a ``Connection``, for the dispatcher that places calls through it
and for the platform's webhooks (``open_connection``), never towards the account's API. A
deleted connection is hidden from the account but still opened for calls in flight and their
late webhooks.
"""

import uuid
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import Any

from outbound.clock import utcnow
from outbound.domain import paging
from outbound.domain.connections import (
    ConnectionType,
    ProviderConnection,
    check_connection,
    webhook_url,
)
from outbound.domain.paging import Page
from outbound.domain.records import Account
from outbound.encryption import Cipher
from outbound.exceptions import Conflict, InvalidRequest, NotFound
from outbound.providers.platforms.base import Connection
from outbound.store import provider_connections as store
from outbound.store.database import Database, Transaction

MAX_PAGE = 200
NAMED_PLAYBOOKS = 5  # playbooks a refused deletion names


def _no_secret_key() -> InvalidRequest:
    return InvalidRequest(
        "this server has no OUTBOUND_SECRET_KEY: it cannot store provider credentials; "
        "its operator must set it and restart",
        errors=[{"field": "credentials", "reason": "the server has no OUTBOUND_SECRET_KEY"}],
    )


def create_connection(
    database: Database,
    cipher: Cipher,
    account: Account,
    type_: ConnectionType,
    name: str,
    credentials: Mapping[str, object],
    settings: Mapping[str, Any],
    clock: Callable[[], datetime] = utcnow,
) -> ProviderConnection:
    """A new connection of the account, its credentials stored encrypted."""
    if not cipher.configured:
        raise _no_secret_key()
    check_connection(type_, credentials, settings)
    connection = ProviderConnection(
        id=uuid.uuid4(),
        account_id=account.id,
        type=type_,
        name=name,
        settings=dict(settings),
        created_at=clock(),
    )
    ciphertext = cipher.encrypt({k: str(v) for k, v in credentials.items()})
    with database.transaction() as conn:
        store.insert_connection(conn, connection, ciphertext)
    return connection


def list_connections(
    database: Database, account: Account, cursor: str | None, limit: int
) -> Page[ProviderConnection]:
    """A page of the account's connections but the deleted ones, newest first."""
    limit = paging.page_size(limit, MAX_PAGE)
    before = paging.CONNECTIONS.decode(cursor)
    with database.reading() as conn:
        rows = store.list_connections(conn, account.id, before, limit + 1)
    return paging.CONNECTIONS.page(rows, limit, lambda c: (c.created_at, c.id))


def get_connection(
    database: Database, account: Account, connection_id: uuid.UUID
) -> ProviderConnection:
    with database.reading() as conn:
        connection = store.get_connection(conn, account.id, connection_id)
    if connection is None:
        raise NotFound("provider connection not found")
    return connection


def delete_connection(
    database: Database,
    account: Account,
    connection_id: uuid.UUID,
    clock: Callable[[], datetime] = utcnow,
) -> None:
    """Delete the connection, unless a playbook that is not archived names it (``Conflict``).

    The connection's row is locked first: a playbook being given the connection meanwhile
    (which locks it too) is either seen here or waits and finds it deleted.
    """
    with database.transaction() as conn:
        if store.get_connection(conn, account.id, connection_id, lock=True) is None:
            raise NotFound("provider connection not found")
        using = store.playbooks_using(conn, connection_id, NAMED_PLAYBOOKS + 1)
        if using:
            named = ", ".join(str(p) for p in using[:NAMED_PLAYBOOKS])
            more = " and others" if len(using) > NAMED_PLAYBOOKS else ""
            raise Conflict(
                f"the provider connection is used by playbooks that are not archived "
                f"({named}{more}): give them another provider or archive them first"
            )
        store.delete_connection(conn, connection_id, clock())


def connections(
    conn: Transaction, cipher: Cipher, public_url: str, connection_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Connection]:
    """The connections, deleted ones included, their credentials decrypted and their webhook
    URL under ``public_url`` (``OUTBOUND_PUBLIC_URL``): what each platform's adapter is built
    from. Raises ``NoSecretKey`` on a server without the key, ``UnreadableCredentials`` when
    they were stored under another key."""
    return {
        connection.id: _opened(connection, cipher.decrypt(ciphertext), public_url)
        for connection, ciphertext in store.sealed_connections(conn, connection_ids)
    }


def open_connection(
    database: Database, cipher: Cipher, public_url: str, connection_id: uuid.UUID
) -> Connection | None:
    """One connection, deleted or not (its calls' last webhooks arrive later), opened as
    ``connections`` opens them: for the dispatcher that places calls through it, and to verify
    the webhooks posted to it; ``None`` if there is none."""
    with database.reading() as conn:
        return connections(conn, cipher, public_url, [connection_id]).get(connection_id)


def _opened(
    connection: ProviderConnection, credentials: Mapping[str, str], public_url: str
) -> Connection:
    return Connection(
        id=connection.id,
        account_id=connection.account_id,
        type=connection.type,
        name=connection.name,
        credentials=credentials,
        settings=connection.settings,
        webhook_url=webhook_url(public_url, connection.id),
    )
