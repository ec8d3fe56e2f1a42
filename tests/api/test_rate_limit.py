"""The per-token rate limit on write routes."""

import httpx
import pytest

from outbound.api.ratelimit import TokenBuckets
from tests.conftest import migrated_database
from tests.factories import make_account, phone
from tests.servers import serving_api


def test_writes_beyond_the_limit_get_429_with_retry_after(private_database_url: str):
    database = migrated_database(private_database_url)
    tenant, other = make_account(database), make_account(database, "Other")
    limits = {"rate_limit_writes_per_second": 2, "rate_limit_burst": 3}
    with serving_api(private_database_url, **limits) as url:
        with httpx.Client(base_url=url, headers=tenant.headers) as http:
            answers = [http.post("/dnc", json={"phones": [phone(n)]}) for n in range(6)]
            codes = [a.status_code for a in answers]
            assert codes[:3] == [200, 200, 200] and 429 in codes[3:]
            limited = next(a for a in answers if a.status_code == 429)
            assert int(limited.headers["retry-after"]) >= 1
            assert limited.json()["detail"].startswith("too many write requests")
            assert all(http.get("/dnc").status_code == 200 for _ in range(10))  # reads are free
        with httpx.Client(base_url=url, headers=other.headers) as http:
            assert http.post("/dnc", json={"phones": [phone(9)]}).status_code == 200
    database.dispose()


def test_token_buckets_refill_at_the_rate():
    now = [0.0]
    buckets = TokenBuckets(rate=2, burst=3, clock=lambda: now[0])
    assert [buckets.take("a") for _ in range(3)] == [0, 0, 0]
    assert buckets.take("a") == pytest.approx(0.5)
    now[0] += 0.5
    assert buckets.take("a") == 0
    assert buckets.take("b") == 0
