"""``/readyz``: ready when the database answers and its migrations are current, 503 otherwise."""

import httpx
from alembic.script import ScriptDirectory
from sqlalchemy import text

from outbound.store.migrate import MIGRATIONS
from tests.conftest import _drop_postgres_database, migrated_database
from tests.servers import Server, serving_api


def _head() -> str:
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


def test_ready_without_a_token(server: Server):
    response = httpx.get(f"{server.url}/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_not_ready_while_migrations_are_behind(private_database_url: str):
    database = migrated_database(private_database_url)
    try:
        with serving_api(private_database_url) as url:
            with database.engine.begin() as conn:
                conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
            behind = httpx.get(f"{url}/readyz")
            assert behind.status_code == 503
            body = behind.json()
            assert body["status"] == "unavailable"
            assert "migrations are not current" in body["detail"]
            assert body["errors"] == [
                {"field": "schema", "reason": body["detail"].removeprefix("not ready: ")}
            ]
            assert httpx.get(f"{url}/healthz").status_code == 200

            with database.engine.begin() as conn:
                conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": _head()})
            assert httpx.get(f"{url}/readyz").status_code == 200
    finally:
        database.dispose()


def test_not_ready_when_the_database_is_gone(postgres_database_url: str):
    migrated_database(postgres_database_url).dispose()
    with serving_api(postgres_database_url) as url:
        assert httpx.get(f"{url}/readyz").status_code == 200
        _drop_postgres_database(postgres_database_url.rsplit("/", 1)[1])
        gone = httpx.get(f"{url}/readyz", timeout=30)
        assert gone.status_code == 503
        assert "database does not answer" in gone.json()["detail"]
        assert "Traceback" not in gone.text
