"""Fixtures that put a module's tests on the session's ``outbound serve`` (``shared_server``,
one per database): ``database_url, server = shared_server.database_url, shared_server.server``
in the module, or in a folder's ``conftest.py``.

Each test makes its own account and reads only what that account owns, so the modules need not
wait for a server of their own (a start costs about two seconds of CPU). A module whose
assertions cover the whole server (its counters, its log) or that runs its own dispatcher on
the database keeps ``tests/conftest.py``'s fixtures (a database of the module's own).
"""

import pytest

from tests.servers import Server


@pytest.fixture(scope="module")
def database_url(shared_database_url: str) -> str:
    return shared_database_url


@pytest.fixture(scope="module")
def server(shared_server: Server) -> Server:
    return shared_server
