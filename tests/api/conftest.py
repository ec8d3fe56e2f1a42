"""The API's tests share one ``outbound serve`` per database for the whole session.

Every test makes its own account and reads only what that account owns, so the modules need
not wait for a server of their own (a start costs about two seconds of CPU). A module whose
assertions cover the whole server (its counters) or that runs its own dispatcher on the
database overrides ``database_url`` with ``module_database_url``, and ``server`` if it uses it.
"""

from collections.abc import Iterator

import pytest

from tests.conftest import DATABASES, _database, migrated_engine
from tests.servers import Server, start_server


@pytest.fixture(scope="session", params=DATABASES)
def shared_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    postgres = request.getfixturevalue("postgres_available") if request.param != "sqlite" else False
    with _database(request.param, tmp_path_factory.mktemp("shared-db"), postgres) as url:
        migrated_engine(url).dispose()
        yield url


@pytest.fixture(scope="session")
def shared_server(
    shared_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    with start_server(shared_database_url, tmp_path_factory.mktemp("shared-server")) as running:
        yield running


@pytest.fixture(scope="module")
def database_url(shared_database_url: str) -> str:
    return shared_database_url


@pytest.fixture(scope="module")
def server(shared_server: Server) -> Server:
    return shared_server
