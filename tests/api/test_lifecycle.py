"""Campaign control: list, pause, resume, cancel, append contacts."""

from datetime import UTC, datetime

import httpx

from outbound.services import accounts
from outbound.store.database import Database
from tests.factories import Tenant, make_account, phone
from tests.servers import Server, wait_for

LATER = "2099-01-01T00:00:00Z"


def _create(http: httpx.Client, account: Tenant, **body: object) -> dict[str, object]:
    response = http.post("/campaign", json={"playbook_id": str(account.playbook_id), **body})
    assert response.status_code == 202, response.text
    return dict(response.json())


def _status(http: httpx.Client, campaign_id: object) -> str:
    return str(http.get(f"/campaign/{campaign_id}").json()["status"])


def _counts(http: httpx.Client, campaign_id: object) -> dict[str, int]:
    return dict(http.get(f"/campaign/{campaign_id}").json()["counts"])


def _run_one_call(http: httpx.Client, account: Tenant) -> None:
    created = _create(http, account, contacts=[{"phone": phone(40)}])
    wait_for(lambda: _status(http, created["campaign_id"]) == "completed", timeout=20)


def test_campaigns_are_listed_newest_first_with_a_status_filter(server: Server, account: Tenant):
    with server.client(account.token) as http:
        ids = [
            _create(http, account, contacts=[{"phone": phone(n)}], launch_at=LATER)["campaign_id"]
            for n in range(5)
        ]
        paused = ids[1]
        assert http.post(f"/campaign/{paused}/pause").status_code == 200
        seen, cursor = [], None
        while True:
            params: dict[str, object] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = http.get("/campaign", params=params).json()
            seen += [c["campaign_id"] for c in page["campaigns"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert seen == list(reversed(ids))
        only_paused = http.get("/campaign", params={"status": "paused"}).json()["campaigns"]
        assert [c["campaign_id"] for c in only_paused] == [paused]
        assert http.get("/campaign", params={"status": "sleeping"}).status_code == 400
        assert http.get("/campaign", params={"cursor": "garbage!"}).status_code == 400


def test_pause_stops_new_attempts_and_resume_continues(server: Server, database: Database):
    account = make_account(database)
    # One call a second: the campaign cannot be over before it is paused.
    accounts.update_account(database, account.id, calls_per_second=1)
    numbers = [phone(n) for n in range(20, 30)]
    with server.client(account.token) as http:
        created = _create(http, account, contacts=[{"phone": n} for n in numbers], launch_at=LATER)
        campaign_id = created["campaign_id"]
        paused = http.post(f"/campaign/{campaign_id}/pause")
        assert paused.status_code == 200 and paused.json()["status"] == "paused"
        before = http.get(f"/campaign/{campaign_id}/calls").json()["calls"]
        resumed = http.post(f"/campaign/{campaign_id}/resume").json()
        assert resumed["status"] == "scheduled"  # its launch time is still ahead
        after = http.get(f"/campaign/{campaign_id}/calls").json()["calls"]
        assert [c["next_attempt_at"] for c in after] == [c["next_attempt_at"] for c in before]

        running = _create(http, account, contacts=[{"phone": n} for n in numbers])
        running_id = running["campaign_id"]
        assert http.post(f"/campaign/{running_id}/pause").json()["status"] == "paused"
        # Campaigns of the same account created after the pause, their calls due later than the
        # paused ones: once one is over, the dispatcher has claimed past the paused calls. The
        # first lets a claim that was under way at the pause end; the second is the proof.
        _run_one_call(http, account)
        wait_for(lambda: _counts(http, running_id)["in_progress"] == 0, timeout=10)
        frozen = _counts(http, running_id)
        assert frozen["pending"] > 0
        _run_one_call(http, account)
        assert _counts(http, running_id) == frozen
        accounts.update_account(database, account.id, calls_per_second=0)
        assert http.post(f"/campaign/{running_id}/resume").json()["status"] == "running"
        wait_for(lambda: _status(http, running_id) == "completed", timeout=30)


def test_senseless_transitions_are_409(server: Server, account: Tenant):
    with server.client(account.token) as http:
        created = _create(http, account, contacts=[{"phone": phone(1)}])
        campaign_id = created["campaign_id"]
        wait_for(lambda: _status(http, campaign_id) == "completed", timeout=20)
        for verb in ("resume", "pause", "cancel"):
            response = http.post(f"/campaign/{campaign_id}/{verb}")
            assert response.status_code == 409, verb
            assert "completed" in response.json()["detail"]
        scheduled = _create(http, account, contacts=[{"phone": phone(2)}], launch_at=LATER)
        assert http.post(f"/campaign/{scheduled['campaign_id']}/resume").status_code == 409


def test_cancel_ends_every_call_that_is_not_finished(server: Server, account: Tenant):
    with server.client(account.token) as http:
        created = _create(
            http, account, contacts=[{"phone": phone(n)} for n in (3, 4, 5)], launch_at=LATER
        )
        campaign_id = created["campaign_id"]
        cancelled = http.post(f"/campaign/{campaign_id}/cancel")
        assert cancelled.status_code == 200
        body = cancelled.json()
        assert body["status"] == "cancelled"
        assert body["counts"]["cancelled"] == 3 and body["counts"]["pending"] == 0
        assert http.post(f"/campaign/{campaign_id}/resume").status_code == 409


def test_contacts_are_appended_without_calling_anyone_twice(server: Server, account: Tenant):
    first, second, third = phone(31), phone(32), phone(33)
    with server.client(account.token) as http:
        created = _create(http, account, contacts=[{"phone": first}], launch_at=LATER)
        campaign_id = created["campaign_id"]
        added = http.post(
            f"/campaign/{campaign_id}/contacts",
            json={"contacts": [{"phone": first}, {"phone": second}, {"phone": third}]},
        )
        assert added.status_code == 202, added.text
        assert added.json()["added"] == 2 and added.json()["already_in_campaign"] == 1
        calls = http.get(f"/campaign/{campaign_id}/calls").json()["calls"]
        assert [c["phone"] for c in calls] == [first, second, third]
        assert len({c["next_attempt_at"] for c in calls}) == 1  # all due at the launch time

        bad = http.post(
            f"/campaign/{campaign_id}/contacts",
            json={"contacts": [{"phone": phone(34)}, {"phone": "nope"}]},
        )
        assert bad.status_code == 400 and bad.json()["errors"][0]["index"] == 1
        assert len(http.get(f"/campaign/{campaign_id}/calls").json()["calls"]) == 3

        http.post(f"/campaign/{campaign_id}/cancel")
        late = http.post(
            f"/campaign/{campaign_id}/contacts", json={"contacts": [{"phone": phone(35)}]}
        )
        assert late.status_code == 409


def test_appended_contacts_of_a_running_campaign_are_called(server: Server, account: Tenant):
    with server.client(account.token) as http:
        created = _create(http, account, contacts=[{"phone": phone(36)}], recall=[0.5])
        campaign_id = created["campaign_id"]
        late = phone(37)
        added = http.post(f"/campaign/{campaign_id}/contacts", json={"contacts": [{"phone": late}]})
        assert added.status_code == 202
        wait_for(lambda: _status(http, campaign_id) == "completed", timeout=20)
        calls = http.get(f"/campaign/{campaign_id}/calls").json()["calls"]
        assert [len(c["attempts"]) for c in calls] == [1, 1]


def test_lifecycle_routes_of_another_account_are_404(
    server: Server, account: Tenant, database: Database
):
    with server.client(account.token) as http:
        campaign_id = _create(http, account, contacts=[{"phone": phone(38)}], launch_at=LATER)[
            "campaign_id"
        ]
    intruder = make_account(database, "Intruder")
    with server.client(intruder.token) as http:
        for verb in ("pause", "resume", "cancel"):
            assert http.post(f"/campaign/{campaign_id}/{verb}").status_code == 404
        response = http.post(
            f"/campaign/{campaign_id}/contacts", json={"contacts": [{"phone": phone(39)}]}
        )
        assert response.status_code == 404
        assert campaign_id not in str(http.get("/campaign").json())
    with server.client(account.token) as http:
        assert _status(http, campaign_id) == "scheduled"
        assert datetime.now(UTC).year < 2099
