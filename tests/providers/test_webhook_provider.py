"""The webhook provider end to end: outbound -> an agent runtime -> events back -> recall."""

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from outbound.services import accounts
from outbound.signing import SIGNATURE_HEADER, sign
from outbound.store.database import Database
from tests.conftest import migrated_database
from tests.factories import Tenant
from tests.providers.agent_runtime import AgentRuntime, running
from tests.servers import Server, start_server, wait_for

SECRET = "runtime-secret"


@pytest.fixture(scope="module")
def runtime_and_server_of_module(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[AgentRuntime, Server, Database]]:
    database = migrated_database(database_url)
    with running(AgentRuntime(secret=SECRET)) as runtime:
        env = {
            "OUTBOUND_TELEPHONY": "webhook",
            "OUTBOUND_WEBHOOK_PROVIDER_URL": runtime.url,
            "OUTBOUND_WEBHOOK_PROVIDER_SECRET": SECRET,
            "OUTBOUND_PROVIDER_RETRY_SECONDS": "0.2",
        }
        workdir = tmp_path_factory.mktemp("server")
        with start_server(database_url, workdir, extra_env=env) as server:
            runtime.outbound_url = server.url
            yield runtime, server, database
    database.dispose()


@pytest.fixture
def runtime_and_server(
    runtime_and_server_of_module: tuple[AgentRuntime, Server, Database],
) -> tuple[AgentRuntime, Server, Database]:
    """The module's runtime and server, the runtime's record of earlier tests forgotten."""
    runtime_and_server_of_module[0].forget()
    return runtime_and_server_of_module


def _tenant(database: Database) -> Tenant:
    account, token = accounts.create_account(database, "Acme")
    playbook = accounts.create_playbook(
        database,
        account.id,
        "Renewals",
        first_message="Hi {{first_name}}, about your {{custom.plan}} plan at {{company}}",
        instructions="Speak to {{first_name}} {{last_name}}.",
        caller_id="+14155550123",
    )
    return Tenant(id=account.id, token=token, playbook_id=playbook.id)


def _calls(http: httpx.Client, campaign_id: str) -> dict[str, dict[str, object]]:
    return {c["phone"]: c for c in http.get(f"/campaign/{campaign_id}/calls").json()["calls"]}


def test_campaign_to_runtime_and_back_with_a_recall(runtime_and_server):
    runtime, server, database = runtime_and_server
    tenant = _tenant(database)
    retried, answered = "+14155550170", "+14155550110"
    runtime.scripts = {
        retried: [[("ringing", None), ("ended", "no_answer")],
                  [("ringing", None), ("answered", None), ("ended", "answered")]],
        answered: [[("answered", None), ("ended", "answered")]],
    }  # fmt: skip
    with server.client(tenant.token) as http:
        created = http.post(
            "/campaign",
            json={
                "playbook_id": str(tenant.playbook_id),
                "contacts": [
                    {"phone": retried, "first_name": "Ada", "company": "Acme",
                     "custom_fields": {"plan": "pro"}},
                    {"phone": answered, "first_name": "Alan"},
                ],
                "recall": [0.02],
            },
        )  # fmt: skip
        assert created.status_code == 202, created.text
        campaign_id = created.json()["campaign_id"]
        wait_for(lambda: http.get(f"/campaign/{campaign_id}").json()["status"] == "completed", 30)
        calls = _calls(http, campaign_id)

    assert [a["outcome"] for a in calls[retried]["attempts"]] == ["no_answer", "answered"]
    assert calls[retried]["status"] == "completed"
    assert [a["outcome"] for a in calls[answered]["attempts"]] == ["answered"]
    sent = [c for c in runtime.calls if c["to"] == retried]
    assert [c["attempt"] for c in sent] == [1, 2]
    first = sent[0]
    assert first["call_id"] == calls[retried]["call_id"] and first["from"] == "+14155550123"
    assert first["playbook"]["first_message"] == "Hi Ada, about your pro plan at Acme"
    assert first["playbook"]["instructions"] == "Speak to Ada ."
    assert first["variables"]["first_name"] == "Ada"
    assert first["variables"]["custom"] == {"plan": "pro"}
    alan = next(c for c in runtime.calls if c["to"] == answered)
    assert alan["playbook"]["first_message"] == "Hi Alan, about your  plan at "
    keys = [
        h["idempotency-key"]
        for h in runtime.headers
        if h["idempotency-key"].startswith(first["call_id"])
    ]
    assert keys == [f"{first['call_id']}:1", f"{first['call_id']}:2"]
    assert runtime.rejected_signatures == 0, runtime.rejected_signatures
    assert all(r.status_code == 200 for r in runtime.reports)


def test_bad_stale_replayed_and_unknown_events(runtime_and_server):
    runtime, server, database = runtime_and_server
    tenant = _tenant(database)
    number = "+14155550111"
    runtime.scripts = {number: [[("ringing", None)]]}  # the test reports the end itself
    with server.client(tenant.token) as http:
        created = http.post(
            "/campaign",
            json={"playbook_id": str(tenant.playbook_id), "contacts": [{"phone": number}]},
        )
        campaign_id = created.json()["campaign_id"]
        wait_for(lambda: len(runtime.calls) == 1, 10)
        [provider_call_id] = runtime.provider_call_ids
        url = f"{server.url}/provider/webhook/events"
        body = json.dumps(
            {"provider_call_id": provider_call_id, "event": "ended", "outcome": "answered"}
        ).encode()
        now = int(time.time())

        def post(signature: str, content: bytes = body) -> httpx.Response:
            return httpx.post(
                url, content=content, headers={SIGNATURE_HEADER: signature}, timeout=30
            )

        assert post(sign("wrong-secret", now, body)).status_code == 401
        assert post(sign(SECRET, now - 3600, body)).status_code == 401
        assert httpx.post(url, content=body).status_code == 401
        assert http.get(f"/campaign/{campaign_id}").json()["counts"]["completed"] == 0

        good = sign(SECRET, now, body)
        first = post(good)
        assert first.status_code == 200 and first.json() == {"recorded": True}
        assert post(good).status_code == 401  # the very same signed request: a replay
        again = post(sign(SECRET, now + 1, body))
        assert again.status_code == 200 and again.json() == {"recorded": False}

        unknown = json.dumps({"provider_call_id": "rt-999", "event": "ringing"}).encode()
        assert post(sign(SECRET, now, unknown), unknown).status_code == 404
        no_outcome = json.dumps({"provider_call_id": provider_call_id, "event": "ended"}).encode()
        assert post(sign(SECRET, now, no_outcome), no_outcome).status_code == 400

        calls = _calls(http, campaign_id)
    assert [a["outcome"] for a in calls[number]["attempts"]] == ["answered"]


def test_a_provider_that_is_down_does_not_spend_the_attempt(runtime_and_server):
    runtime, server, database = runtime_and_server
    tenant = _tenant(database)
    number = "+14155550112"
    runtime.unavailable = 2
    runtime.scripts = {number: [[("ended", "answered")]]}
    with server.client(tenant.token) as http:
        created = http.post(
            "/campaign",
            json={"playbook_id": str(tenant.playbook_id), "contacts": [{"phone": number}]},
        )
        campaign_id = created.json()["campaign_id"]
        wait_for(lambda: http.get(f"/campaign/{campaign_id}").json()["status"] == "completed", 20)
        report = http.get(f"/campaign/{campaign_id}").json()
        call = _calls(http, campaign_id)[number]
    assert [a["number"] for a in call["attempts"]] == [1]
    assert call["attempts"][0]["outcome"] == "answered"
    assert "503" in report["provider_error"]
    assert [c["attempt"] for c in runtime.calls] == [1]
