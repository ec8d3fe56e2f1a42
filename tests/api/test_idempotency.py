"""Idempotency-Key: a retried request gets the first answer and creates nothing."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx

from outbound.services import accounts, campaigns
from outbound.services.campaigns import NewCampaign, RawContact
from outbound.services.idempotency import IdempotencyKey
from outbound.store.database import Database
from tests.factories import Tenant, phone
from tests.servers import Server


def _body(account: Tenant, *numbers: str) -> dict[str, object]:
    return {
        "playbook_id": str(account.playbook_id),
        "contacts": [{"phone": n} for n in numbers],
        "launch_at": "2099-01-01T00:00:00Z",
    }


def _campaign_count(http: httpx.Client) -> int:
    return len(http.get("/campaign", params={"limit": 200}).json()["campaigns"])


def test_the_same_key_and_body_get_the_first_answer(server: Server, account: Tenant):
    body = _body(account, phone(1), phone(2))
    with server.client(account.token) as http:
        first = http.post("/campaign", json=body, headers={"Idempotency-Key": "k-1"})
        again = http.post("/campaign", json=body, headers={"Idempotency-Key": "k-1"})
        assert first.status_code == again.status_code == 202
        assert first.json() == again.json()
        assert again.headers.get("idempotent-replayed") == "true"
        assert "idempotent-replayed" not in first.headers
        assert _campaign_count(http) == 1

        other = http.post("/campaign", json=body, headers={"Idempotency-Key": "k-2"})
        assert other.json()["campaign_id"] != first.json()["campaign_id"]
        assert _campaign_count(http) == 2


def test_the_same_key_with_another_body_is_422(server: Server, account: Tenant):
    with server.client(account.token) as http:
        http.post("/campaign", json=_body(account, phone(3)), headers={"Idempotency-Key": "k"})
        reused = http.post(
            "/campaign", json=_body(account, phone(4)), headers={"Idempotency-Key": "k"}
        )
        assert reused.status_code == 422
        assert "Idempotency-Key" in reused.json()["detail"]
        assert _campaign_count(http) == 1


def test_appending_contacts_is_idempotent_too(server: Server, account: Tenant):
    with server.client(account.token) as http:
        campaign_id = http.post("/campaign", json=_body(account, phone(5))).json()["campaign_id"]
        path = f"/campaign/{campaign_id}/contacts"
        more = {"contacts": [{"phone": phone(6)}]}
        first = http.post(path, json=more, headers={"Idempotency-Key": "add-1"})
        again = http.post(path, json=more, headers={"Idempotency-Key": "add-1"})
        assert first.json() == again.json() == {
            "campaign_id": campaign_id, "status": "scheduled", "added": 1, "already_in_campaign": 0,
        }  # fmt: skip
        assert len(http.get(f"{path.rsplit('/', 1)[0]}/calls").json()["calls"]) == 2
        elsewhere = http.post("/campaign", json=more, headers={"Idempotency-Key": "add-1"})
        assert elsewhere.status_code in (400, 422)


def test_fifty_concurrent_requests_with_one_key_create_one_campaign(
    server: Server, account: Tenant
):
    body = _body(account, *(phone(n) for n in range(10, 30)))

    def post(_: int) -> httpx.Response:
        with server.client(account.token) as http:
            return http.post("/campaign", json=body, headers={"Idempotency-Key": "storm"})

    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(post, range(50)))
    assert {r.status_code for r in responses} == {202}
    assert len({r.json()["campaign_id"] for r in responses}) == 1
    with server.client(account.token) as http:
        assert _campaign_count(http) == 1


def test_a_key_older_than_a_day_can_be_used_again(database: Database, account: Tenant):
    owner = accounts.authenticate(database, account.token)
    assert owner is not None
    request = NewCampaign(playbook_id=account.playbook_id, contacts=[RawContact(phone(40))])
    key = IdempotencyKey.of("daily", "POST /campaign", b"{}")
    now = datetime.now(UTC)
    first = campaigns.create_campaign_once(database, owner, request, key, clock=lambda: now)
    same_day = campaigns.create_campaign_once(
        database, owner, request, key, clock=lambda: now + timedelta(hours=23)
    )
    next_day = campaigns.create_campaign_once(
        database, owner, request, key, clock=lambda: now + timedelta(hours=25)
    )
    assert same_day.replayed and same_day.result == first.result
    assert not next_day.replayed
    assert next_day.result["campaign_id"] != first.result["campaign_id"]
