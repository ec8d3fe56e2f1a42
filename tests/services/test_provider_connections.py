"""Provider connections' credentials at rest and back (on SQLite and PostgreSQL): the stored row
holds ciphertext only, and the dispatcher and the webhooks get them decrypted, deleted
connections included."""

import uuid

import pytest
from sqlalchemy import select

from outbound.domain.connections import ConnectionType
from outbound.encryption import Cipher, NoSecretKey, UnreadableCredentials
from outbound.exceptions import Conflict, NotFound
from outbound.services import accounts
from outbound.services import provider_connections as service
from outbound.store import tables
from outbound.store.database import Database
from tests.factories import Tenant, connection_credentials, make_account, playbook_using

CIPHER = Cipher("the secret key of these tests")
PUBLIC_URL = "https://outbound.example.com/"


def _create(database: Database, tenant: Tenant, type_: str = "elevenlabs"):
    account = accounts.authenticate(database, tenant.token)
    assert account is not None
    credentials = connection_credentials(type_)
    connection = service.create_connection(
        database,
        CIPHER,
        account,
        ConnectionType(type_),
        "Agents",
        credentials,
        {"api_base_url": "http://127.0.0.1:9"},
    )
    return account, connection, credentials


def _stored_row(database: Database, connection_id: uuid.UUID) -> dict[str, object]:
    with database.engine.connect() as conn:
        row = conn.execute(
            select(tables.provider_connections).where(
                tables.provider_connections.c.id == connection_id
            )
        ).one()
    return dict(row._mapping)


def test_credentials_are_stored_encrypted(database: Database, account: Tenant):
    _, connection, credentials = _create(database, account, "livekit")
    row = _stored_row(database, connection.id)
    stored = repr(row)
    assert [value for value in credentials.values() if value in stored] == []
    assert [name for name in credentials if name in str(row["credentials"])] == []
    assert CIPHER.decrypt(str(row["credentials"])) == credentials
    with pytest.raises(UnreadableCredentials):
        Cipher("another key").decrypt(str(row["credentials"]))


def test_the_dispatcher_gets_connections_decrypted_deleted_ones_too(
    database: Database, account: Tenant
):
    owner, live, live_credentials = _create(database, account, "vapi")
    _, deleted, deleted_credentials = _create(database, account, "twilio")
    service.delete_connection(database, owner, deleted.id)
    with database.reading() as conn:
        opened = service.connections(conn, CIPHER, PUBLIC_URL, [live.id, deleted.id, uuid.uuid4()])
        assert service.connections(conn, CIPHER, PUBLIC_URL, []) == {}
    assert set(opened) == {live.id, deleted.id}
    assert opened[live.id].credentials == live_credentials
    assert opened[deleted.id].credentials == deleted_credentials
    assert opened[deleted.id].type is ConnectionType.TWILIO
    assert opened[live.id].account_id == account.id
    assert opened[live.id].api_base_url("https://api.vapi.ai") == "http://127.0.0.1:9"
    assert opened[live.id].webhook_url == (
        f"https://outbound.example.com/provider/connection/{live.id}/events"
    )
    assert [v for v in live_credentials.values() if v in repr(opened[live.id])] == []


def test_a_webhook_finds_its_connection_deleted_or_not(database: Database, account: Tenant):
    owner, connection, credentials = _create(database, account)
    found = service.open_connection(database, CIPHER, PUBLIC_URL, connection.id)
    assert found is not None and found.credentials == credentials
    service.delete_connection(database, owner, connection.id)
    found = service.open_connection(database, CIPHER, PUBLIC_URL, connection.id)
    assert found is not None and found.credentials == credentials
    assert service.open_connection(database, CIPHER, PUBLIC_URL, uuid.uuid4()) is None


def test_a_server_without_the_key_cannot_open_credentials(database: Database, account: Tenant):
    _, connection, _ = _create(database, account)
    with pytest.raises(NoSecretKey):
        service.open_connection(database, Cipher(None), PUBLIC_URL, connection.id)
    with pytest.raises(UnreadableCredentials):
        service.open_connection(database, Cipher("a changed key"), PUBLIC_URL, connection.id)


def test_deleting_twice_or_another_accounts_is_not_found(database: Database, account: Tenant):
    owner, connection, _ = _create(database, account)
    other = accounts.authenticate(database, make_account(database, name="Other").token)
    assert other is not None
    with pytest.raises(NotFound):
        service.delete_connection(database, other, connection.id)
    service.delete_connection(database, owner, connection.id)
    with pytest.raises(NotFound):
        service.delete_connection(database, owner, connection.id)
    assert _stored_row(database, connection.id)["deleted_at"] is not None


def test_conflict_names_the_playbooks_that_use_it(database: Database, account: Tenant):
    owner, connection, _ = _create(database, account)
    using = [playbook_using(database, account, str(connection.id)) for _ in range(7)]
    with pytest.raises(Conflict) as refused:
        service.delete_connection(database, owner, connection.id)
    named = [p for p in using if str(p) in refused.value.message]
    assert len(named) == service.NAMED_PLAYBOOKS
    assert "and others" in refused.value.message
