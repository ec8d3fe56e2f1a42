"""Calls placed by a real server: recall timing, scheduled launches, outcomes."""

from datetime import UTC, datetime, timedelta

import httpx

from outbound.store.database import Database
from tests.factories import Tenant, make_account, phone
from tests.servers import Server, wait_for


def _create(http: httpx.Client, account: Tenant, **body: object) -> dict[str, object]:
    response = http.post("/campaign", json={"playbook_id": str(account.playbook_id), **body})
    assert response.status_code == 202, response.text
    return dict(response.json())


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _wait_completed(
    http: httpx.Client, campaign_id: object, timeout: float = 30
) -> dict[str, object]:
    wait_for(lambda: http.get(f"/campaign/{campaign_id}").json()["status"] == "completed", timeout)
    return dict(http.get(f"/campaign/{campaign_id}").json())


def _calls_by_phone(http: httpx.Client, campaign_id: object) -> dict[str, dict[str, object]]:
    calls = http.get(f"/campaign/{campaign_id}/calls").json()["calls"]
    return {call["phone"]: call for call in calls}


def test_recall_with_decimal_minutes(server: Server, account: Tenant):
    no_answer, answered = phone(61), phone(7)
    with server.client(account.token) as http:
        created = _create(
            http, account, contacts=[{"phone": no_answer}, {"phone": answered}], recall=[0.01, 0.03]
        )
        report = _wait_completed(http, created["campaign_id"])
        calls = _calls_by_phone(http, created["campaign_id"])
    assert report["counts"]["failed"] == 1 and report["counts"]["completed"] == 1

    retried = calls[no_answer]
    assert retried["status"] == "failed"
    attempts = retried["attempts"]
    assert [a["number"] for a in attempts] == [1, 2, 3]
    assert [a["outcome"] for a in attempts] == ["no_answer"] * 3
    anchor = _when(attempts[0]["started_at"])
    for attempt, offset in zip(attempts[1:], (0.6, 1.8), strict=True):
        delay = (_when(attempt["started_at"]) - anchor).total_seconds()
        assert offset <= delay < offset + 0.6, (offset, delay)
    assert retried["next_attempt_at"] is None

    done = calls[answered]
    assert done["status"] == "completed"
    assert [a["outcome"] for a in done["attempts"]] == ["answered"]


def test_each_outcome_of_the_simulator_is_recorded(server: Server, account: Tenant):
    expected = {phone(5): "answered", phone(65): "no_answer", phone(85): "voicemail",
                phone(93): "busy", phone(99): "failed"}  # fmt: skip
    with server.client(account.token) as http:
        created = _create(http, account, contacts=[{"phone": p} for p in expected])
        _wait_completed(http, created["campaign_id"])
        calls = _calls_by_phone(http, created["campaign_id"])
    for number, outcome in expected.items():
        call = calls[number]
        assert [a["outcome"] for a in call["attempts"]] == [outcome]
        assert call["status"] == ("completed" if outcome == "answered" else "failed")
        attempt = call["attempts"][0]
        assert _when(attempt["started_at"]) <= _when(attempt["ended_at"])


def test_a_scheduled_campaign_starts_at_its_launch_time(server: Server, account: Tenant):
    launch = datetime.now(UTC) + timedelta(seconds=2)
    with server.client(account.token) as http:
        created = _create(
            http, account, contacts=[{"phone": phone(8)}, {"phone": phone(9)}],
            launch_at=launch.isoformat(),
        )  # fmt: skip
        assert created["status"] == "scheduled"
        report = http.get(f"/campaign/{created['campaign_id']}").json()
        assert report["counts"]["pending"] == 2
        _wait_completed(http, created["campaign_id"])
        calls = _calls_by_phone(http, created["campaign_id"]).values()
    for call in calls:
        started = _when(call["attempts"][0]["started_at"])
        assert launch <= started < launch + timedelta(seconds=0.5), (launch, started)


def test_a_launch_time_in_the_past_runs_at_once(server: Server, account: Tenant):
    with server.client(account.token) as http:
        created = _create(
            http, account, contacts=[{"phone": phone(11)}], launch_at="2020-01-01T09:00:00+01:00"
        )
        assert created["status"] == "running"
        assert _when(str(created["launch_at"])) == datetime(2020, 1, 1, 8, tzinfo=UTC)
        _wait_completed(http, created["campaign_id"])


def test_a_launch_time_without_offset_is_read_in_the_accounts_zone(
    server: Server, database: Database
):
    madrid = make_account(database, "Madrid", timezone="Europe/Madrid")
    with server.client(madrid.token) as http:
        created = _create(
            http, madrid, contacts=[{"phone": phone(12)}], launch_at="2099-07-01T10:00:00"
        )
    assert _when(str(created["launch_at"])) == datetime(2099, 7, 1, 8, tzinfo=UTC)
