"""Shared fixtures: real databases (SQLite file, PostgreSQL database per test) and servers."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from outbound.store.database import Database
from tests.factories import Tenant, make_account
from tests.servers import Server, start_server

POSTGRES_ADMIN_URL = os.environ.get(
    "OUTBOUND_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _postgres_reachable() -> bool:
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@pytest.fixture(scope="session")
def postgres_available() -> bool:
    reachable = _postgres_reachable()
    if not reachable and os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is required under CI=true and {POSTGRES_ADMIN_URL} is unreachable")
    return reachable


def _create_postgres_database() -> str:
    name = f"outbound_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def _drop_postgres_database(name: str) -> None:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_url(name: str) -> str:
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


@contextmanager
def _postgres_database(available: bool) -> Iterator[str]:
    if not available:
        pytest.skip("PostgreSQL is not reachable (it is mandatory under CI=true)")
    name = _create_postgres_database()
    try:
        yield postgres_url(name)
    finally:
        _drop_postgres_database(name)


@contextmanager
def _database(kind: str, directory: Path, postgres: bool) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{directory / f'outbound-{uuid.uuid4().hex[:8]}.db'}"
    else:
        with _postgres_database(postgres) as url:
            yield url


DATABASES = ["sqlite", "postgresql"]


@pytest.fixture(scope="module", params=DATABASES)
def module_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database shared by the tests of one module; each test makes its own account."""
    postgres = request.getfixturevalue("postgres_available") if request.param != "sqlite" else False
    with _database(request.param, tmp_path_factory.mktemp("db"), postgres) as url:
        yield url


@pytest.fixture(scope="module")
def database_url(module_database_url: str) -> str:
    """The database of a module's tests and of its ``server`` (``tests/api`` shares one with
    every module there, see ``tests/api/conftest.py``)."""
    return module_database_url


@pytest.fixture(params=DATABASES)
def private_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of the test's own, for tests that need it empty or break it."""
    postgres = request.getfixturevalue("postgres_available") if request.param != "sqlite" else False
    with _database(request.param, tmp_path, postgres) as url:
        yield url


@pytest.fixture
def postgres_database_url(postgres_available: bool) -> Iterator[str]:
    with _postgres_database(postgres_available) as url:
        yield url


def migrated_database(url: str) -> Database:
    database = Database(url)
    database.upgrade()
    return database


@pytest.fixture(scope="module")
def database(database_url: str) -> Iterator[Database]:
    """The module's database, migrated. Tests read its rows through ``database.engine``."""
    database = migrated_database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def account(database: Database) -> Tenant:
    return make_account(database)


@pytest.fixture(scope="module")
def server(
    database: Database, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """``outbound serve`` in a subprocess, with a fast simulator, shared by a module."""
    with start_server(database_url, tmp_path_factory.mktemp("server")) as running:
        yield running


# The key the shared server encrypts provider credentials with.
TEST_SECRET_KEY = "outbound tests: the secret key of provider credentials"
# Retries of events out come 0.1 s apart, for the tests that make an endpoint fail.
SHARED_SERVER_ENV = {
    "OUTBOUND_EVENT_RETRY_SECONDS": "0.1",
    "OUTBOUND_SECRET_KEY": TEST_SECRET_KEY,
}


@pytest.fixture(scope="session", params=DATABASES)
def shared_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The database of ``shared_server``, migrated."""
    postgres = request.getfixturevalue("postgres_available") if request.param != "sqlite" else False
    with _database(request.param, tmp_path_factory.mktemp("shared-db"), postgres) as url:
        migrated_database(url).dispose()
        yield url


@pytest.fixture(scope="session")
def shared_server(
    shared_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """One ``outbound serve`` per database for the whole session, for the modules that import
    ``tests.shared_server``'s fixtures."""
    workdir = tmp_path_factory.mktemp("shared-server")
    with start_server(shared_database_url, workdir, extra_env=SHARED_SERVER_ENV) as running:
        yield running
