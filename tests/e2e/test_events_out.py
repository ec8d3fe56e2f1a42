"""Events out: written with each change, delivered in order with retries, signed."""

import time
from collections import Counter

from sqlalchemy import func, select

from outbound.signing import SIGNATURE_HEADER, verify
from outbound.store import tables
from outbound.store.database import Database
from tests.factories import make_account, phone
from tests.receiver import Receiver, receiving
from tests.servers import Server, wait_for


def _events_in_db(database, account_id) -> int:
    with database.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(tables.events)
                .where(tables.events.c.account_id == account_id)
            ).scalar_one()
        )


def test_every_event_arrives_in_order_once_retried(server: Server, database: Database):
    tenant = make_account(database)
    with (
        receiving(Receiver(fail_first=3)) as receiver,
        receiving(Receiver()) as completions,
        server.client(tenant.token) as http,
    ):
        created = http.post("/webhook-endpoint", json={"url": receiver.url})
        assert created.status_code == 201, created.text
        endpoint = created.json()
        assert endpoint["secret"].startswith("whsec_") and endpoint["event_types"] is None
        only_completed = http.post(
            "/webhook-endpoint",
            json={"url": completions.url, "event_types": ["campaign.completed"]},
        ).json()
        listed = http.get("/webhook-endpoint").json()["endpoints"]
        assert {e["id"] for e in listed} == {endpoint["id"], only_completed["id"]}
        assert all("secret" not in e for e in listed)

        blocked, answered, unanswered = phone(50), phone(51), phone(70)
        http.post("/dnc", json={"phones": [blocked]})
        campaign = http.post(
            "/campaign",
            json={
                "playbook_id": str(tenant.playbook_id),
                "contacts": [{"phone": blocked}, {"phone": answered}, {"phone": unanswered}],
                "recall": [0.01],
            },
        ).json()
        campaign_id = campaign["campaign_id"]
        wait_for(lambda: http.get(f"/campaign/{campaign_id}").json()["status"] == "completed", 30)
        expected = _events_in_db(database, tenant.id)
        wait_for(lambda: len({e["event_id"] for e in receiver.accepted()}) == expected, 30)
        wait_for(lambda: len(completions.accepted()) == 1, 10)
        deliveries = http.get(f"/webhook-endpoint/{endpoint['id']}/deliveries?limit=500").json()

    accepted = receiver.accepted()
    first_seen: dict[str, int] = {}
    for event in accepted:
        first_seen.setdefault(event["event_id"], event["sequence"])
    sequences = list(first_seen.values())
    assert sequences == sorted(sequences) == list(range(sequences[0], sequences[0] + expected))
    types = Counter(e["type"] for e in {e["event_id"]: e for e in accepted}.values())
    assert types == Counter(
        {"campaign.started": 1, "call.skipped": 1, "call.attempted": 3, "call.completed": 1,
         "call.failed": 1, "campaign.completed": 1}
    )  # fmt: skip
    by_type = {e["type"]: e for e in accepted}
    assert by_type["call.skipped"]["data"]["call"]["phone"] == blocked
    assert by_type["call.skipped"]["data"]["call"]["skip_reason"] == "do_not_call"
    assert by_type["call.completed"]["data"]["call"]["status"] == "completed"
    assert by_type["call.failed"]["data"]["call"]["attempts"][-1]["outcome"] == "no_answer"
    attempted = [e for e in accepted if e["type"] == "call.attempted"]
    assert {e["data"]["attempt"]["outcome"] for e in attempted} == {"answered", "no_answer"}
    assert by_type["campaign.completed"]["data"]["campaign"]["counts"]["total"] == 3

    for headers, body in receiver.received:
        verify(endpoint["secret"], headers[SIGNATURE_HEADER.lower()], body, time.time())
    assert [e["type"] for e in completions.accepted()] == ["campaign.completed"]

    attempts = deliveries["deliveries"]
    assert [d["status_code"] for d in reversed(attempts)][:3] == [500, 500, 500]
    assert sum(d["succeeded"] for d in attempts) == len(accepted)
    assert all(d["attempt"] >= 1 and d["type"] for d in attempts)


def test_cancellation_is_an_event_and_endpoints_are_per_account(server: Server, database: Database):
    tenant, other = make_account(database), make_account(database, "Other")
    with (
        receiving(Receiver()) as receiver,
        server.client(tenant.token) as http,
    ):
        endpoint = http.post(
            "/webhook-endpoint", json={"url": receiver.url, "event_types": ["campaign.cancelled"]}
        ).json()
        campaign = http.post(
            "/campaign",
            json={
                "playbook_id": str(tenant.playbook_id),
                "contacts": [{"phone": phone(52)}],
                "launch_at": "2099-01-01T00:00:00Z",
            },
        ).json()
        http.post(f"/campaign/{campaign['campaign_id']}/cancel")
        wait_for(lambda: len(receiver.accepted()) == 1, 15)
        with server.client(other.token) as intruder:
            assert intruder.get("/webhook-endpoint").json() == {"endpoints": []}
            path = f"/webhook-endpoint/{endpoint['id']}"
            assert intruder.get(f"{path}/deliveries").status_code == 404
            assert intruder.delete(path).status_code == 404
        bad = http.post("/webhook-endpoint", json={"url": "ftp://nope", "event_types": ["x"]})
        assert bad.status_code == 400
        assert http.delete(f"/webhook-endpoint/{endpoint['id']}").status_code == 204
        assert http.get("/webhook-endpoint").json() == {"endpoints": []}
    event = receiver.accepted()[0]
    assert event["type"] == "campaign.cancelled"
    assert event["data"]["campaign"]["status"] == "cancelled"
    assert event["data"]["campaign"]["counts"]["cancelled"] == 1
