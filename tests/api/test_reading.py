"""Reading campaigns, calls and contacts back; other accounts see nothing."""

import uuid

from outbound.store.database import Database
from tests.factories import Tenant, make_account, phone
from tests.servers import Server


def _create(server: Server, account: Tenant, contacts: list[dict[str, object]], **extra: object):
    with server.client(account.token) as http:
        response = http.post(
            "/campaign",
            json={"playbook_id": str(account.playbook_id), "contacts": contacts, **extra},
        )
    assert response.status_code == 202, response.text
    return response.json()


def test_calls_are_paged_with_a_cursor_in_the_order_given(server: Server, account: Tenant):
    phones = [f"+3491234{n:04d}" for n in range(25)]
    created = _create(
        server, account, [{"phone": p} for p in phones], launch_at="2099-01-01T00:00:00Z"
    )
    seen: list[str] = []
    cursor = None
    pages = 0
    with server.client(account.token) as http:
        while True:
            params: dict[str, str | int] = {"limit": 10}
            if cursor:
                params["cursor"] = cursor
            page = http.get(f"/campaign/{created['campaign_id']}/calls", params=params).json()
            pages += 1
            seen += [call["phone"] for call in page["calls"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
    assert seen == phones
    assert pages == 3
    with server.client(account.token) as http:
        bad = http.get(f"/campaign/{created['campaign_id']}/calls", params={"cursor": "x"})
    assert bad.status_code == 400


def test_the_same_phone_twice_is_one_contact_and_one_call(server: Server, account: Tenant):
    created = _create(
        server,
        account,
        [
            {"phone": "+34912345611", "first_name": "Ana"},
            {"phone": "912345611", "country": "ES", "company": "Acme"},
        ],
        launch_at="2099-01-01T00:00:00Z",
    )
    assert created["contacts"] == 1
    with server.client(account.token) as http:
        calls = http.get(f"/campaign/{created['campaign_id']}/calls").json()["calls"]
        assert len(calls) == 1
        contact = http.get(f"/contact/{calls[0]['contact_id']}").json()
    assert (contact["first_name"], contact["company"], contact["country"]) == ("Ana", "Acme", "ES")


def test_upsert_updates_given_fields_and_keeps_the_rest(server: Server, account: Tenant):
    number = phone(10)
    first = {
        "phone": number,
        "first_name": "Grace",
        "company": "Navy",
        "city": "Arlington",
        "custom_fields": {"tier": "gold", "seats": 3},
    }
    second = {"phone": number, "company": "UNIVAC", "custom_fields": {"seats": 5}}
    one = _create(server, account, [first], launch_at="2099-01-01T00:00:00Z")
    two = _create(server, account, [second], launch_at="2099-01-01T00:00:00Z")
    with server.client(account.token) as http:
        calls_one = http.get(f"/campaign/{one['campaign_id']}/calls").json()["calls"]
        calls_two = http.get(f"/campaign/{two['campaign_id']}/calls").json()["calls"]
        assert calls_one[0]["contact_id"] == calls_two[0]["contact_id"]
        contact = http.get(f"/contact/{calls_two[0]['contact_id']}").json()
    assert contact["company"] == "UNIVAC"
    assert contact["first_name"] == "Grace"
    assert contact["city"] == "Arlington"
    assert contact["custom_fields"] == {"tier": "gold", "seats": 5}


def test_another_accounts_resources_are_404(server: Server, account: Tenant, database: Database):
    created = _create(server, account, [{"phone": phone(20)}], launch_at="2099-01-01T00:00:00Z")
    campaign_id = created["campaign_id"]
    with server.client(account.token) as http:
        contact_id = http.get(f"/campaign/{campaign_id}/calls").json()["calls"][0]["contact_id"]
    intruder = make_account(database, "Intruder")
    with server.client(intruder.token) as http:
        for path in (
            f"/campaign/{campaign_id}",
            f"/campaign/{campaign_id}/calls",
            f"/contact/{contact_id}",
        ):
            response = http.get(path)
            assert response.status_code == 404, path
            assert campaign_id not in response.text
        for path in (f"/campaign/{uuid.uuid4()}", f"/contact/{uuid.uuid4()}", "/campaign/nope"):
            assert http.get(path).status_code == 404, path


def test_campaign_report_counts_calls_by_status(server: Server, account: Tenant):
    created = _create(
        server,
        account,
        [{"phone": phone(n)} for n in (1, 2, 3)],
        launch_at="2099-01-01T00:00:00Z",
        recall=[5],
    )
    with server.client(account.token) as http:
        report = http.get(f"/campaign/{created['campaign_id']}").json()
    assert report["status"] == "scheduled"
    assert report["counts"]["total"] == 3
    assert report["counts"]["pending"] == 3
    assert report["counts"]["completed"] == 0
    assert report["playbook_id"] == str(account.playbook_id)
    assert report["recall"] == [5]
