"""The do-not-call list: suppressed phones are never dialed."""

import uuid
from datetime import UTC, datetime

import httpx
from sqlalchemy import insert

from outbound.store import tables
from outbound.store.database import Database
from tests.factories import Tenant, make_account, phone
from tests.servers import Server, wait_for


def _create(http: httpx.Client, account: Tenant, **body: object) -> dict[str, object]:
    response = http.post("/campaign", json={"playbook_id": str(account.playbook_id), **body})
    assert response.status_code == 202, response.text
    return dict(response.json())


def _calls(http: httpx.Client, campaign_id: object) -> dict[str, dict[str, object]]:
    return {c["phone"]: c for c in http.get(f"/campaign/{campaign_id}/calls").json()["calls"]}


def test_the_list_can_be_added_to_read_and_removed_from(server: Server, account: Tenant):
    with server.client(account.token) as http:
        added = http.post("/dnc", json={"phones": ["+34 912 345 678", "+14155550142"]})
        assert added.status_code == 200, added.text
        assert added.json()["phones"] == ["+14155550142", "+34912345678"]
        listed = http.get("/dnc").json()
        assert [p["phone"] for p in listed["phones"]] == ["+14155550142", "+34912345678"]
        assert http.delete("/dnc/%2B34912345678").status_code == 204
        assert http.delete("/dnc/%2B34912345678").status_code == 404
        assert [p["phone"] for p in http.get("/dnc").json()["phones"]] == ["+14155550142"]
        bad = http.post("/dnc", json={"phones": ["+14155550142", "garbage"]})
        assert bad.status_code == 400 and bad.json()["errors"][0]["index"] == 1


def test_a_suppressed_phone_is_skipped_at_creation(server: Server, account: Tenant):
    blocked, allowed = phone(40), phone(41)
    with server.client(account.token) as http:
        http.post("/dnc", json={"phones": [blocked]})
        created = _create(http, account, contacts=[{"phone": blocked}, {"phone": allowed}])
        wait_for(
            lambda: http.get(f"/campaign/{created['campaign_id']}").json()["status"] == "completed",
            timeout=20,
        )
        calls = _calls(http, created["campaign_id"])
    assert calls[blocked]["status"] == "skipped"
    assert calls[blocked]["skip_reason"] == "do_not_call"
    assert calls[blocked]["attempts"] == []
    assert calls[allowed]["status"] == "completed"


def test_a_campaign_of_suppressed_phones_only_completes_at_once(server: Server, account: Tenant):
    blocked = phone(42)
    with server.client(account.token) as http:
        http.post("/dnc", json={"phones": [blocked]})
        created = _create(http, account, contacts=[{"phone": blocked}])
        report = http.get(f"/campaign/{created['campaign_id']}").json()
    assert report["status"] == "completed"
    assert report["counts"]["skipped"] == 1


def test_suppressing_later_skips_the_pending_call_before_its_next_attempt(
    server: Server, account: Tenant
):
    number = phone(62)  # no answer: the call waits for its recall
    with server.client(account.token) as http:
        created = _create(http, account, contacts=[{"phone": number}], recall=[0.5])
        campaign_id = created["campaign_id"]
        wait_for(lambda: len(_calls(http, campaign_id)[number]["attempts"]) == 1, timeout=10)
        wait_for(lambda: _calls(http, campaign_id)[number]["status"] == "pending", timeout=10)
        http.post("/dnc", json={"phones": [number]})
        call = _calls(http, campaign_id)[number]
        assert call["status"] == "skipped" and call["skip_reason"] == "do_not_call"
        assert http.get(f"/campaign/{campaign_id}").json()["status"] == "completed"
    assert len(call["attempts"]) == 1


def test_the_list_is_checked_again_inside_the_claim(
    server: Server, account: Tenant, database: Database
):
    number = phone(43)
    with server.client(account.token) as http:
        created = _create(
            http,
            account,
            contacts=[{"phone": number}],
            launch_at="2099-01-01T00:00:00Z",
        )
        campaign_id = created["campaign_id"]
        # Suppressed behind the API's back: only the claim can notice it.
        with database.engine.begin() as conn:
            conn.execute(
                insert(tables.do_not_call).values(
                    account_id=account.id, phone=number, created_at=datetime.now(UTC)
                )
            )
            now, key = datetime.now(UTC), uuid.UUID(str(campaign_id))
            conn.execute(
                tables.calls.update()
                .where(tables.calls.c.campaign_id == key)
                .values(next_attempt_at=now)
            )
            conn.execute(
                tables.campaigns.update().where(tables.campaigns.c.id == key).values(launch_at=now)
            )
        wait_for(lambda: http.get(f"/campaign/{campaign_id}").json()["status"] == "completed", 20)
        call = _calls(http, campaign_id)[number]
    assert call["status"] == "skipped" and call["attempts"] == []


def test_each_account_has_its_own_list(server: Server, account: Tenant, database: Database):
    other = make_account(database, "Other")
    number = phone(44)
    with server.client(other.token) as http:
        http.post("/dnc", json={"phones": [number]})
    with server.client(account.token) as http:
        assert http.get("/dnc").json()["phones"] == []
        assert http.delete(f"/dnc/{number.replace('+', '%2B')}").status_code == 404
