"""Calling windows in each contact's zone, recall by outcome, one caller ID per call."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx

from outbound.domain.windows import DAY_NAMES
from outbound.services import accounts
from outbound.store.database import Database
from tests.factories import Tenant, phone
from tests.servers import Server, wait_for


def _create(http: httpx.Client, account: Tenant, **body: object) -> httpx.Response:
    return http.post("/campaign", json={"playbook_id": str(account.playbook_id), **body})


def _calls(http: httpx.Client, campaign_id: object) -> dict[str, dict[str, object]]:
    return {c["phone"]: c for c in http.get(f"/campaign/{campaign_id}/calls").json()["calls"]}


def _completed(http: httpx.Client, campaign_id: object) -> None:
    wait_for(lambda: http.get(f"/campaign/{campaign_id}").json()["status"] == "completed", 30)


def _day_after_tomorrow() -> datetime:
    return datetime.now(UTC) + timedelta(days=2)


def test_a_closed_window_moves_each_call_to_its_opening_in_the_contacts_zone(
    server: Server, account: Tenant
):
    target = _day_after_tomorrow().date()
    window = {"start": "09:00", "end": "17:00", "days": [DAY_NAMES[target.weekday()]]}
    tokyo, new_york, madrid_by_number = phone(10), phone(11), "+34912345610"
    contacts = [
        {"phone": tokyo, "timezone": "Asia/Tokyo"},
        {"phone": new_york, "timezone": "America/New_York"},
        {"phone": madrid_by_number},
    ]
    with server.client(account.token) as http:
        response = _create(http, account, contacts=contacts, calling_window=window)
        assert response.status_code == 202, response.text
        campaign_id = response.json()["campaign_id"]
        assert http.get(f"/campaign/{campaign_id}").json()["calling_window"]["start"] == "09:00"
        calls = _calls(http, campaign_id)
    for number, zone in (
        (tokyo, "Asia/Tokyo"),
        (new_york, "America/New_York"),
        (madrid_by_number, "Europe/Madrid"),
    ):
        expected = datetime.combine(target, time(9), tzinfo=ZoneInfo(zone))
        assert datetime.fromisoformat(calls[number]["next_attempt_at"]) == expected, zone
        assert calls[number]["status"] == "pending" and calls[number]["attempts"] == []


def test_an_open_window_dials_at_once(server: Server, account: Tenant):
    window = {"start": "00:00", "end": "24:00"}
    with server.client(account.token) as http:
        response = _create(http, account, contacts=[{"phone": phone(12)}], calling_window=window)
        assert response.status_code == 202, response.text
        _completed(http, response.json()["campaign_id"])


def test_bad_windows_and_zones_are_400(server: Server, account: Tenant):
    with server.client(account.token) as http:
        bad_window = _create(
            http,
            account,
            contacts=[{"phone": phone(13)}],
            calling_window={"start": "21:00", "end": "09:00"},
        )
        assert bad_window.status_code == 400
        assert bad_window.json()["errors"][0]["field"] == "calling_window"
        bad_zone = _create(
            http,
            account,
            contacts=[{"phone": phone(14)}, {"phone": phone(15), "timezone": "Mars/Olympus"}],
        )
        assert bad_zone.status_code == 400
        assert bad_zone.json()["errors"] == [
            {"index": 1, "field": "timezone", "reason": "unknown timezone 'Mars/Olympus'"}
        ]
        # A name too long for a file of the zone database is unknown too (not a crash).
        long_zone = _create(http, account, contacts=[{"phone": phone(14), "timezone": "x" * 300}])
        assert long_zone.status_code == 400, long_zone.text
        assert long_zone.json()["errors"][0]["field"] == "timezone"


def test_the_accounts_default_window_applies(server: Server, account: Tenant, database: Database):
    target = _day_after_tomorrow().date()
    default = {"start": "10:00", "end": "12:00", "days": [DAY_NAMES[target.weekday()]]}
    accounts.update_account(database, account.id, calling_window=default)
    with server.client(account.token) as http:
        response = _create(http, account, contacts=[{"phone": phone(16), "timezone": "UTC"}])
        campaign_id = response.json()["campaign_id"]
        assert http.get(f"/campaign/{campaign_id}").json()["calling_window"]["start"] == "10:00"
        call = next(iter(_calls(http, campaign_id).values()))
    expected = datetime.combine(target, time(10), tzinfo=UTC)
    assert datetime.fromisoformat(str(call["next_attempt_at"])) == expected


def test_only_the_outcomes_in_recall_on_are_retried(server: Server, account: Tenant):
    busy, no_answer = phone(91), phone(71)
    with server.client(account.token) as http:
        response = _create(
            http,
            account,
            contacts=[{"phone": busy}, {"phone": no_answer}],
            recall=[0.01, 0.01],
            recall_on=["no_answer"],
        )
        assert response.status_code == 202, response.text
        campaign_id = response.json()["campaign_id"]
        assert http.get(f"/campaign/{campaign_id}").json()["recall_on"] == ["no_answer"]
        _completed(http, campaign_id)
        calls = _calls(http, campaign_id)
        assert [a["outcome"] for a in calls[busy]["attempts"]] == ["busy"]
        assert calls[busy]["status"] == "failed"
        assert [a["outcome"] for a in calls[no_answer]["attempts"]] == ["no_answer"] * 3
        refused = _create(http, account, contacts=[{"phone": busy}], recall_on=["answered"])
        assert refused.status_code == 400
        assert refused.json()["errors"][0]["field"].startswith("recall_on")


def test_every_attempt_of_a_call_has_the_same_caller_id(server: Server, account: Tenant):
    voicemail = phone(82)
    with server.client(account.token) as http:
        response = _create(http, account, contacts=[{"phone": voicemail}], recall=[0.01, 0.02])
        campaign_id = response.json()["campaign_id"]
        _completed(http, campaign_id)
        attempts = _calls(http, campaign_id)[voicemail]["attempts"]
    assert len(attempts) == 3
    assert {a["caller_id"] for a in attempts} == {"+14155550123"}


def test_strict_variables_rejects_contacts_lacking_a_variable(server: Server, database: Database):
    account, token = accounts.create_account(database, "Strict")
    playbook = accounts.create_playbook(
        database, account.id, "P", first_message="Hi {{first_name}} from {{custom.company_size}}"
    )
    body = {
        "playbook_id": str(playbook.id),
        "strict_variables": True,
        "contacts": [
            {"phone": phone(17), "first_name": "Ada", "custom_fields": {"company_size": 10}},
            {"phone": phone(18), "first_name": "Bob"},
            {"phone": phone(19), "custom_fields": {"company_size": 3}},
        ],
    }
    with server.client(token) as http:
        refused = http.post("/campaign", json=body)
        assert refused.status_code == 400
        assert refused.json()["errors"] == [
            {"index": 1, "field": "variables", "reason": "missing: custom.company_size"},
            {"index": 2, "field": "variables", "reason": "missing: first_name"},
        ]
        lenient = http.post("/campaign", json={**body, "strict_variables": False})
        assert lenient.status_code == 202
