"""The request log of ``outbound serve``: one JSON line per request, with its id and campaign."""

import json

from tests.factories import Tenant, phone
from tests.servers import Server, wait_for


def _records(server: Server) -> list[dict[str, object]]:
    return [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]


def test_each_request_is_a_json_line_with_its_id_and_campaign(server: Server, account: Tenant):
    with server.client(account.token) as http:
        created = http.post(
            "/campaign",
            json={"playbook_id": str(account.playbook_id), "contacts": [{"phone": phone(1)}]},
            headers={"X-Request-ID": "req-create-1"},
        )
        campaign_id = created.json()["campaign_id"]
        read = http.get(f"/campaign/{campaign_id}", headers={"X-Request-ID": "req-read-1"})
        generated = http.get("/campaign")
    assert created.headers["x-request-id"] == "req-create-1"
    assert read.headers["x-request-id"] == "req-read-1"
    assert len(generated.headers["x-request-id"]) == 32

    def logged() -> bool:
        ids = {r.get("request_id") for r in _records(server)}
        return {"req-create-1", "req-read-1"} <= ids

    wait_for(logged, 10)
    records = _records(server)
    creation = next(
        r for r in records if r["event"] == "campaign created" and r["campaign_id"] == campaign_id
    )  # the server's log holds other tests' lines too
    assert creation["request_id"] == "req-create-1"
    reading = next(
        r for r in records if r["event"] == "request" and r.get("request_id") == "req-read-1"
    )
    assert reading["campaign_id"] == campaign_id
    assert reading["status"] == 200 and reading["method"] == "GET"
    assert {"timestamp", "level", "logger"} <= set(reading)
