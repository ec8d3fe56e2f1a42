"""End-to-end tests: real ``outbound serve`` and ``outbound worker`` processes, whole-system
promises. Those that only need a server as it comes run on the session's shared one (see
``tests/shared_server.py``); the others start their own, on a database of their own.

The agent platforms' tests (``test_platform_*.py``) share ``platform_server``: a second server
on the shared database, with short leases and provider retries, so that a lost report is looked
up and a busy platform retried within seconds.
"""

from collections.abc import Iterator

import pytest

from tests import shared_server
from tests.conftest import TEST_SECRET_KEY
from tests.servers import Server, start_server

database_url, server = shared_server.database_url, shared_server.server

PLATFORM_SERVER_ENV = {
    "OUTBOUND_SECRET_KEY": TEST_SECRET_KEY,
    "OUTBOUND_LEASE_GRACE_SECONDS": "0.5",
    "OUTBOUND_LEASE_CHECK_INTERVAL_SECONDS": "0.2",
    "OUTBOUND_PROVIDER_RETRY_SECONDS": "0.2",
}


@pytest.fixture(scope="session")
def platform_server(
    shared_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("platform-server")
    with start_server(shared_database_url, workdir, extra_env=PLATFORM_SERVER_ENV) as running:
        yield running
