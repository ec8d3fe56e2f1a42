"""A campaign placed through a Bland connection, end to end: outbound serves the API and the
dispatcher, the Bland stand-in takes the Send Call requests, and the test posts Bland's
post-call webhooks, signed as Bland signs them, to the connection's webhook URL."""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from outbound.store.database import Database
from tests.e2e import platforms
from tests.factories import phone
from tests.providers.platforms.bland_api import BlandApi, error, post_webhook
from tests.providers.platforms.http_stand_in import serving
from tests.servers import Server

API_KEY = "sk-bland-e2e"
SECRET = "bland-webhook-secret-e2e"
PATHWAY_ID = "a0f0d4ed-f5f5-4f16-b3f9-22166594d7a7"
FROM_NUMBER = "+14155550123"
TEAM = "Bland team"
SPOKEN = [
    ("user", "Hello?", "2024-04-27T23:51:26.000000+00:00"),
    ("assistant", "Hi Ana", "2024-04-27T23:51:27.500000+00:00"),
    ("agent-action", "Pressed 1", "2024-04-27T23:51:29.000000+00:00"),
    ("user", "Renew it.", "2024-04-27T23:51:31.250000+00:00"),
]


@pytest.fixture  # one per test: its calls are looked up by phone number
def bland(database_url: str) -> Iterator[BlandApi]:
    """A stand-in for each database's run: a number (``phone``) may come again in the other."""
    with serving(BlandApi(API_KEY)) as stand_in:
        yield stand_in


def _connect(http: httpx.Client, bland: BlandApi, max_call_seconds: float = 600) -> dict[str, Any]:
    return platforms.connect(
        http,
        "bland",
        "Our Bland",
        {"api_key": API_KEY, "webhook_secret": SECRET},
        {"api_base_url": bland.url, "max_call_seconds": max_call_seconds},
    )


def _playbook(http: httpx.Client, connection_id: str) -> str:
    provider = {
        "connection_id": connection_id,
        "pathway_id": PATHWAY_ID,
        "from_number": FROM_NUMBER,
    }
    return platforms.playbook(
        http,
        "Bland renewals",
        provider,
        **platforms.RENEWALS,
        data_fields=[{"name": "plan", "type": "string"}],
    )


def _sent_to(bland: BlandApi, number: str) -> list[dict]:
    """The Send Call bodies to ``number``, refused ones included, in order."""
    return [r.json() for r in bland.sent if r.json()["phone_number"] == number]


def _bland_call_id(bland: BlandApi, number: str, attempt: int) -> str:
    """The Bland call id of the ``attempt``-th call Bland queued to ``number``."""

    def queued() -> list[str]:
        calls = list(bland.calls_by_id.items())  # one copy, in C: safe while the stand-in adds one
        return [i for i, call in calls if call["to"] == number]

    return platforms.nth(queued, attempt)


def test_calls_are_placed_on_bland_retried_and_reported_with_results(
    platform_server: Server, database: Database, bland: BlandApi
):
    tenant = platforms.tenant(database, TEAM)
    answered, unanswered = phone(11), phone(12)
    with platform_server.client(tenant.token) as http:
        connection = _connect(http, bland)
        webhook_url = platforms.webhook(platform_server, connection)
        playbook_id = _playbook(http, connection["connection_id"])
        campaign_id = platforms.campaign(
            http,
            playbook_id,
            [{"phone": answered, "first_name": "Ana"}, {"phone": unanswered}],
            recall=[0.01],
        )
        first = _bland_call_id(bland, answered, 1)
        [sent] = _sent_to(bland, answered)
        assert sent["request_data"]["first_name"] == "Ana"
        assert sent["first_sentence"] == "Hi Ana"
        assert (sent["pathway_id"], sent["from"]) == (PATHWAY_ID, FROM_NUMBER)
        assert sent["webhook"] == connection["webhook_url"]  # where Bland reports the end
        assert sent["analysis_schema"] == {"plan": "string", "disposition": "string"}
        assert sent["metadata"]["outbound_attempt"] == 1
        report = bland.end(
            first,
            transcripts=SPOKEN,
            summary="Renewed for a year.",
            analysis={"disposition": "renewed", "plan": "gold"},
            price=0.12,
        )
        assert platforms.accepted(post_webhook(webhook_url, report, SECRET))
        # The unanswered one is retried after its recall offset, then answered.
        no_answer = bland.end(
            _bland_call_id(bland, unanswered, 1), answered_by="no-answer", transcripts=[]
        )
        assert platforms.accepted(post_webhook(webhook_url, no_answer, SECRET))
        second = bland.end(_bland_call_id(bland, unanswered, 2))
        assert platforms.accepted(post_webhook(webhook_url, second, SECRET))
        platforms.wait_for_campaign(http, campaign_id, "completed", 20)
        calls = platforms.calls(http, campaign_id)
        campaign = http.get(f"/campaign/{campaign_id}").json()
        full = http.get(f"/call/{calls[answered]['call_id']}").json()
    assert [a["outcome"] for a in calls[unanswered]["attempts"]] == ["no_answer", "answered"]
    assert [s["metadata"]["outbound_attempt"] for s in _sent_to(bland, unanswered)] == [1, 2]
    result = full["attempts"][0]["result"]
    assert result["disposition"] == "renewed" and result["summary"] == "Renewed for a year."
    assert result["data"] == {"disposition": "renewed", "plan": "gold"}
    assert result["cost"] == {"amount": 0.12, "currency": "USD"}
    assert [(t["role"], t["text"]) for t in result["transcript"]] == [
        ("contact", "Hello?"),
        ("agent", "Hi Ana"),
        ("contact", "Renew it."),
    ]
    assert campaign["dispositions"] == {"renewed": 1}


def test_a_bad_signature_records_nothing_and_a_foreign_call_is_not_found(
    platform_server: Server, database: Database, bland: BlandApi
):
    owner, stranger = platforms.tenant(database, TEAM), platforms.tenant(database, TEAM)
    number = phone(13)
    with (
        platform_server.client(owner.token) as http,
        platform_server.client(stranger.token) as other,
    ):
        connection = _connect(http, bland)
        url = platforms.webhook(platform_server, connection)
        campaign_id = platforms.campaign(
            http, _playbook(http, connection["connection_id"]), [{"phone": number}]
        )
        report = bland.end(_bland_call_id(bland, number, 1))
        assert post_webhook(url, report, "not-the-secret").status_code == 401
        their_url = platforms.webhook(platform_server, _connect(other, bland))
        assert post_webhook(their_url, report, SECRET).status_code == 404
        assert platforms.calls(http, campaign_id)[number]["status"] == "in_progress"
        assert platforms.accepted(post_webhook(url, report, SECRET))
        platforms.wait_for_call(http, campaign_id, number, "completed", 10)


def test_a_missing_post_call_webhook_is_looked_up_before_the_lease_runs_out(
    platform_server: Server, database: Database, bland: BlandApi
):
    tenant = platforms.tenant(database, TEAM)
    number = phone(14)
    with platform_server.client(tenant.token) as http:
        connection = _connect(http, bland, max_call_seconds=1)
        campaign_id = platforms.campaign(
            http, _playbook(http, connection["connection_id"]), [{"phone": number}]
        )
        bland.end(
            _bland_call_id(bland, number, 1),
            summary="Looked up.",
            analysis={"disposition": "renewed"},
        )  # and Bland never posts its webhook
        platforms.wait_for_call(http, campaign_id, number, "completed", 20)
        [attempt] = platforms.calls(http, campaign_id)[number]["attempts"]
    assert attempt["outcome"] == "answered" and attempt["error"] is None
    assert attempt["result"]["summary"] == "Looked up."
    assert attempt["result"]["disposition"] == "renewed"
    assert bland.recorder.received("GET", f"/v1/calls/{_bland_call_id(bland, number, 1)}")


def test_a_concurrency_refusal_spends_no_attempt_and_an_invalid_number_fails(
    platform_server: Server, database: Database, bland: BlandApi
):
    tenant = platforms.tenant(database, TEAM)
    busy, invalid = phone(15), phone(16)
    with platform_server.client(tenant.token) as http:
        connection = _connect(http, bland)
        url = platforms.webhook(platform_server, connection)
        playbook_id = _playbook(http, connection["connection_id"])
        bland.recorder.answers.append(error(429, "Concurrent call limit reached"))
        busy_campaign = platforms.campaign(http, playbook_id, [{"phone": busy}])
        report = bland.end(_bland_call_id(bland, busy, 1))
        assert platforms.accepted(post_webhook(url, report, SECRET))
        platforms.wait_for_call(http, busy_campaign, busy, "completed", 10)
        assert [a["number"] for a in platforms.calls(http, busy_campaign)[busy]["attempts"]] == [1]
        assert len(_sent_to(bland, busy)) == 2  # refused once, then placed
        assert _sent_to(bland, busy)[1]["metadata"]["outbound_attempt"] == 1

        bland.recorder.answers.append(error(400, "Invalid phone number"))
        invalid_campaign = platforms.campaign(http, playbook_id, [{"phone": invalid}])
        platforms.wait_for_call(http, invalid_campaign, invalid, "failed", 10)
        [attempt] = platforms.calls(http, invalid_campaign)[invalid]["attempts"]
    assert attempt["outcome"] == "failed" and "Invalid phone number" in attempt["error"]
