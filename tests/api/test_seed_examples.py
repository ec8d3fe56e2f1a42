"""The seed's request examples 5.1-5.4, against a real server on SQLite and PostgreSQL."""

import uuid
from datetime import UTC, datetime, timedelta

from outbound.domain.contacts import CONTACT_FIELDS
from tests.factories import Tenant
from tests.servers import Server


def _accepted(body: dict[str, object], contacts: int, status: str = "running") -> None:
    assert set(body) == {"campaign_id", "status", "launch_at", "contacts"}
    uuid.UUID(str(body["campaign_id"]))
    assert body["status"] == status
    assert body["contacts"] == contacts


def test_5_1_immediate_campaign_minimal(server: Server, account: Tenant):
    with server.client(account.token) as http:
        response = http.post(
            "/campaign",
            json={
                "playbook_id": str(account.playbook_id),
                "contacts": [{"phone": "+34912345600"}, {"phone": "+14155550101"}],
            },
        )
        assert response.status_code == 202, response.text
        body = response.json()
        _accepted(body, contacts=2)
        assert body["launch_at"] is None
        campaign = http.get(f"/campaign/{body['campaign_id']}").json()
        assert campaign["counts"]["total"] == 2
        assert campaign["recall"] == []


def test_5_2_immediate_campaign_with_contact_data_and_recall(server: Server, account: Tenant):
    contact = {
        "phone": "+34912345602",
        "first_name": "Lucía",
        "last_name": "García",
        "email": "lucia@example.com",
        "company": "Acme",
        "job_title": "CTO",
        "address": "Gran Vía 1",
        "city": "Madrid",
        "state": "Madrid",
        "country": "ES",
        "postal_code": "28013",
        "timezone": "Europe/Madrid",
        "utm_source": "newsletter",
        "utm_medium": "email",
        "utm_campaign": "spring",
        "utm_term": "dialer",
        "utm_content": "cta",
    }
    with server.client(account.token) as http:
        response = http.post(
            "/campaign",
            json={
                "playbook_id": str(account.playbook_id),
                "contacts": [contact],
                "recall": "[30,120]",
            },
        )
        assert response.status_code == 202, response.text
        body = response.json()
        _accepted(body, contacts=1)
        campaign = http.get(f"/campaign/{body['campaign_id']}").json()
        assert campaign["recall"] == [30, 120]
        calls = http.get(f"/campaign/{body['campaign_id']}/calls").json()["calls"]
        assert calls[0]["recall"] == [30, 120]
        stored = http.get(f"/contact/{calls[0]['contact_id']}").json()
        for name in CONTACT_FIELDS:
            assert stored[name] == contact[name], name
        assert stored["phone"] == "+34912345602"


def test_5_3_immediate_campaign_with_custom_fields(server: Server, account: Tenant):
    custom = {"plan": "pro", "seats": 12, "tags": ["a", "b"], "vip": True}
    with server.client(account.token) as http:
        response = http.post(
            "/campaign",
            json={
                "playbook_id": str(account.playbook_id),
                "contacts": [
                    {"phone": "+14155550103", "first_name": "Ada", "custom_fields": custom}
                ],
            },
        )
        assert response.status_code == 202, response.text
        body = response.json()
        _accepted(body, contacts=1)
        calls = http.get(f"/campaign/{body['campaign_id']}/calls").json()["calls"]
        stored = http.get(f"/contact/{calls[0]['contact_id']}").json()
        assert stored["custom_fields"] == custom
        assert stored["first_name"] == "Ada"


def test_5_4_scheduled_campaign(server: Server, account: Tenant):
    launch = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    with server.client(account.token) as http:
        response = http.post(
            "/campaign",
            json={
                "playbook_id": str(account.playbook_id),
                "contacts": [{"phone": "+14155550104"}],
                "launch_at": launch.replace(tzinfo=None).isoformat(),
                "recall": [30, 120],
            },
        )
        assert response.status_code == 202, response.text
        body = response.json()
        _accepted(body, contacts=1, status="scheduled")
        assert datetime.fromisoformat(body["launch_at"]) == launch
        campaign = http.get(f"/campaign/{body['campaign_id']}").json()
        assert campaign["status"] == "scheduled"
        call = http.get(f"/campaign/{body['campaign_id']}/calls").json()["calls"][0]
        assert call["status"] == "pending"
        assert datetime.fromisoformat(call["next_attempt_at"]) == launch
        assert call["attempts"] == []
