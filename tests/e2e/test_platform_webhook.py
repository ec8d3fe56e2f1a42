"""A campaign placed through a ``webhook`` connection, end to end: outbound serves the API and
the dispatcher, the agent runtime stand-in takes the signed calls at the connection's ``url``,
and reports their events, signed with the connection's ``secret``, to the connection's webhook
URL."""

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from outbound.store.database import Database
from tests.e2e import platforms
from tests.factories import phone
from tests.providers.agent_runtime import AgentRuntime, running
from tests.servers import Server

SECRET = "connection-runtime-secret-e2e"
TEAM = "Runtime team"


@pytest.fixture(scope="module")
def module_runtime(platform_server: Server) -> Iterator[AgentRuntime]:
    # One runtime for the module: the call ids it gives stay unique in the server's database.
    with running(AgentRuntime(SECRET, outbound_url=platform_server.url)) as stand_in:
        yield stand_in


@pytest.fixture
def runtime(module_runtime: AgentRuntime) -> AgentRuntime:
    module_runtime.forget()
    return module_runtime


def _connect(
    http: httpx.Client, runtime: AgentRuntime, max_call_seconds: float = 600
) -> dict[str, Any]:
    """A webhook connection to ``runtime``, which now reports to its webhook URL."""
    created = platforms.connect(
        http,
        "webhook",
        "Our runtime",
        {"url": runtime.url, "secret": SECRET},
        {"max_call_seconds": max_call_seconds},
    )
    runtime.events_path = urlsplit(created["webhook_url"]).path
    return created


def _playbook(http: httpx.Client, connection: dict[str, Any]) -> str:
    return platforms.playbook(
        http,
        "Runtime renewals",
        {"connection_id": connection["connection_id"]},
        first_message="Hi {{first_name}}",
        dispositions=[{"name": "renewed", "action": "complete"}],
    )


def _placed(runtime: AgentRuntime, number: str, attempt: int) -> tuple[dict[str, Any], str]:
    """The ``attempt``-th call the runtime took to ``number``, and the id it gave it."""

    def taken() -> list[tuple[dict[str, Any], str]]:
        with runtime.lock:
            pairs = zip(runtime.calls, runtime.provider_call_ids, strict=True)
            return [(call, call_id) for call, call_id in pairs if call["to"] == number]

    return platforms.nth(taken, attempt)


def test_calls_are_posted_to_the_runtime_retried_and_reported_with_results(
    platform_server: Server, database: Database, runtime: AgentRuntime
):
    tenant = platforms.tenant(database, TEAM)
    answered, unanswered = phone(1), phone(2)
    with platform_server.client(tenant.token) as http:
        connection = _connect(http, runtime)
        playbook_id = _playbook(http, connection)
        campaign_id = platforms.campaign(
            http,
            playbook_id,
            [{"phone": answered, "first_name": "Ana"}, {"phone": unanswered}],
            recall=[0.01],
        )
        sent, call_id = _placed(runtime, answered, 1)
        assert sent["playbook"]["first_message"] == "Hi Ana"
        assert sent["variables"]["first_name"] == "Ana" and sent["attempt"] == 1
        assert runtime.report(call_id, "answered", None).status_code == 204
        result = {
            "disposition": "renewed",
            "summary": "Renewed for a year.",
            "transcript": [{"role": "agent", "text": "Hi Ana", "at_s": 0.4}],
            "cost": {"amount": 0.07, "currency": "USD"},
        }
        assert runtime.report(call_id, "ended", "answered", result=result).status_code == 204

        # The unanswered one is posted again after its recall offset, then answered.
        _, missed = _placed(runtime, unanswered, 1)
        assert runtime.report(missed, "ended", "no_answer").status_code == 204
        again, second = _placed(runtime, unanswered, 2)
        assert again["attempt"] == 2
        assert runtime.report(second, "ended", "answered").status_code == 204
        platforms.wait_for_campaign(http, campaign_id, "completed", 20)
        calls = platforms.calls(http, campaign_id)
        campaign = http.get(f"/campaign/{campaign_id}").json()
        full = http.get(f"/call/{calls[answered]['call_id']}").json()
    assert [a["outcome"] for a in calls[unanswered]["attempts"]] == ["no_answer", "answered"]
    recorded = full["attempts"][0]["result"]
    assert recorded["disposition"] == "renewed" and recorded["summary"] == "Renewed for a year."
    assert recorded["cost"] == {"amount": 0.07, "currency": "USD"}
    assert [t["text"] for t in recorded["transcript"]] == ["Hi Ana"]
    assert campaign["dispositions"] == {"renewed": 1}


def test_a_bad_signature_records_nothing_and_a_foreign_call_is_not_found(
    platform_server: Server, database: Database, runtime: AgentRuntime
):
    owner, stranger = platforms.tenant(database, TEAM), platforms.tenant(database, TEAM)
    number = phone(3)
    with (
        platform_server.client(owner.token) as http,
        platform_server.client(stranger.token) as other,
    ):
        connection = _connect(http, runtime)
        ours = runtime.events_path
        campaign_id = platforms.campaign(http, _playbook(http, connection), [{"phone": number}])
        _, call_id = _placed(runtime, number, 1)
        forger = AgentRuntime("not-the-secret", platform_server.url, runtime.events_path)
        assert forger.report(call_id, "ended", "answered").status_code == 401
        _connect(other, runtime)  # the same runtime and secret, another account's connection
        assert runtime.report(call_id, "ended", "answered").status_code == 404
        assert platforms.calls(http, campaign_id)[number]["status"] == "in_progress"
        runtime.events_path = ours  # a new request: a signed one is good once, wherever it went
        assert runtime.report(call_id, "ended", "answered", answered_by="human").status_code == 204
        platforms.wait_for_call(http, campaign_id, number, "completed", 10)


def test_a_call_whose_end_never_arrives_is_lost_when_its_lease_runs_out(
    platform_server: Server, database: Database, runtime: AgentRuntime
):
    tenant = platforms.tenant(database, TEAM)
    number = phone(4)
    with platform_server.client(tenant.token) as http:
        connection = _connect(http, runtime, max_call_seconds=1)
        campaign_id = platforms.campaign(http, _playbook(http, connection), [{"phone": number}])
        _placed(runtime, number, 1)  # and the runtime never reports it
        platforms.wait_for_call(http, campaign_id, number, "failed", 20)
        [attempt] = platforms.calls(http, campaign_id)[number]["attempts"]
    assert attempt["outcome"] == "failed" and attempt["error"] == "lost"


def test_a_throttled_runtime_spends_no_attempt(
    platform_server: Server, database: Database, runtime: AgentRuntime
):
    tenant = platforms.tenant(database, TEAM)
    number = phone(5)
    with platform_server.client(tenant.token) as http:
        connection = _connect(http, runtime)
        runtime.unavailable, runtime.unavailable_status = 1, 429
        campaign_id = platforms.campaign(http, _playbook(http, connection), [{"phone": number}])
        sent, call_id = _placed(runtime, number, 1)  # refused once, then taken
        assert runtime.unavailable == 0 and sent["attempt"] == 1
        assert runtime.report(call_id, "ended", "answered").status_code == 204
        platforms.wait_for_call(http, campaign_id, number, "completed", 10)
        assert [a["number"] for a in platforms.calls(http, campaign_id)[number]["attempts"]] == [1]
