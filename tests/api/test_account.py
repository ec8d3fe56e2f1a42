"""The caller's own account over HTTP: read it, change its settings with the checks of
``outbound account update``."""

from typing import Any

import pytest

from outbound.store.database import Database
from tests.factories import Tenant, make_account
from tests.servers import Server

ACCOUNT_KEYS = {
    "account_id",
    "name",
    "timezone",
    "max_concurrent_calls",
    "calls_per_second",
    "calling_window",
    "created_at",
}


def test_the_account_is_the_tokens(server: Server, database: Database):
    tenant = make_account(database, name="Reader", timezone="Europe/Madrid")
    with server.client(tenant.token) as http:
        account = http.get("/account").json()
    assert set(account) == ACCOUNT_KEYS
    assert account["account_id"] == str(tenant.id)
    assert (account["name"], account["timezone"]) == ("Reader", "Europe/Madrid")
    assert (account["max_concurrent_calls"], account["calls_per_second"]) == (10, 5.0)
    assert account["calling_window"] is None and account["created_at"].endswith("Z")


def test_patch_changes_the_settings_given_and_keeps_the_others(server: Server, account: Tenant):
    window = {"start": "09:00", "end": "18:00", "days": ["mon", "fri"]}
    with server.client(account.token) as http:
        before = http.get("/account").json()
        changed = http.patch(
            "/account",
            json={"timezone": "America/New_York", "calling_window": window, "name": "Ignored"},
        )
        assert changed.status_code == 200, changed.text
        assert changed.json() == {
            **before,
            "timezone": "America/New_York",
            "calling_window": {**window, "exclude_dates": []},
        }
        paced = http.patch("/account", json={"max_concurrent_calls": 0, "calls_per_second": 2.5})
        assert paced.json() == {
            **changed.json(),
            "max_concurrent_calls": 0,
            "calls_per_second": 2.5,
        }
        cleared = http.patch("/account", json={"calling_window": None}).json()
        assert cleared == {**paced.json(), "calling_window": None}
        assert http.patch("/account", json={}).json() == cleared
        assert http.get("/account").json() == cleared


def test_the_timezone_reads_a_campaigns_launch_at(server: Server, account: Tenant):
    with server.client(account.token) as http:
        assert http.patch("/account", json={"timezone": "Europe/Madrid"}).status_code == 200
        created = http.post(
            "/campaign",
            json={
                "playbook_id": str(account.playbook_id),
                "contacts": [{"phone": "+34912345601"}],
                "launch_at": "2099-07-01T10:00:00",
            },
        ).json()
    assert created["launch_at"] == "2099-07-01T08:00:00Z"


INVALID = [
    ({"timezone": "Mars/Base"}, "timezone"),
    ({"timezone": "x" * 65}, "timezone"),
    ({"timezone": None}, "timezone"),
    ({"timezone": 7}, "timezone"),
    ({"max_concurrent_calls": -1}, "max_concurrent_calls"),
    ({"max_concurrent_calls": 100_001}, "max_concurrent_calls"),
    ({"max_concurrent_calls": "many"}, "max_concurrent_calls"),
    ({"max_concurrent_calls": None}, "max_concurrent_calls"),
    ({"calls_per_second": -0.5}, "calls_per_second"),
    ({"calls_per_second": 1e9}, "calls_per_second"),
    ({"calls_per_second": None}, "calls_per_second"),
    ({"calling_window": {"start": "late", "end": "18:00"}}, "calling_window"),
    ({"calling_window": {"start": "09:00", "end": "18:00", "days": ["funday"]}}, "calling_window"),
    ({"calling_window": "9 to 5"}, "calling_window"),
]


@pytest.mark.parametrize(("body", "field"), INVALID, ids=[f for _, f in INVALID])
def test_each_invalid_setting_is_a_400_naming_it_and_changes_nothing(
    server: Server, account: Tenant, body: dict[str, Any], field: str
):
    with server.client(account.token) as http:
        before = http.get("/account").json()
        # A valid change in the same request is not made either.
        answer = http.patch("/account", json={"max_concurrent_calls": 3, **body})
        assert answer.status_code == 400, answer.text
        assert [e["field"] for e in answer.json()["errors"]] == [field]
        assert field in answer.json()["detail"]
        assert http.get("/account").json() == before


def test_every_value_at_fault_is_named(server: Server, account: Tenant):
    with server.client(account.token) as http:
        answer = http.patch(
            "/account",
            json={"timezone": "Nowhere/Town", "max_concurrent_calls": -5, "calls_per_second": -1},
        )
    assert answer.status_code == 400
    assert {e["field"] for e in answer.json()["errors"]} == {
        "timezone",
        "max_concurrent_calls",
        "calls_per_second",
    }
