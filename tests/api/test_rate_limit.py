"""The per-token rate limit on write routes."""

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from outbound.api.ratelimit import TokenBuckets
from tests.factories import make_account, phone
from tests.servers import Server, start_server


@pytest.fixture(scope="module")
def database_url(module_database_url: str) -> str:
    """A database of this module's own: its server is the only one dialing there."""
    return module_database_url


@pytest.fixture(scope="module")
def limited_server(
    engine: Engine, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    env = {"OUTBOUND_RATE_LIMIT_WRITES_PER_SECOND": "2", "OUTBOUND_RATE_LIMIT_BURST": "3"}
    with start_server(database_url, tmp_path_factory.mktemp("limited"), extra_env=env) as server:
        yield server


def test_writes_beyond_the_limit_get_429_with_retry_after(limited_server: Server, engine: Engine):
    tenant, other = make_account(engine), make_account(engine, "Other")
    with limited_server.client(tenant.token) as http:
        answers = [http.post("/dnc", json={"phones": [phone(n)]}) for n in range(6)]
        codes = [a.status_code for a in answers]
        assert codes[:3] == [200, 200, 200] and 429 in codes[3:]
        limited = next(a for a in answers if a.status_code == 429)
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.json()["detail"].startswith("too many write requests")
        assert all(http.get("/dnc").status_code == 200 for _ in range(10))  # reads are free
    with limited_server.client(other.token) as http:
        assert http.post("/dnc", json={"phones": [phone(9)]}).status_code == 200


def test_token_buckets_refill_at_the_rate():
    now = [0.0]
    buckets = TokenBuckets(rate=2, burst=3, clock=lambda: now[0])
    assert [buckets.take("a") for _ in range(3)] == [0, 0, 0]
    assert buckets.take("a") == pytest.approx(0.5)
    now[0] += 0.5
    assert buckets.take("a") == 0
    assert buckets.take("b") == 0
