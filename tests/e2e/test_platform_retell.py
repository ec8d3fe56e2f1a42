"""A campaign placed through a Retell connection, end to end: outbound serves the API and the
dispatcher, the Retell stand-in takes the create-call requests, and the test posts Retell's
webhooks (``call_started``, ``call_ended``, then ``call_analyzed``) to the connection's webhook
URL, signed with the API key as Retell signs them."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from outbound.store.database import Database
from tests.e2e import platforms
from tests.factories import phone
from tests.providers.platforms.http_stand_in import Answer, serving
from tests.providers.platforms.retell_api import (
    BAD_REQUEST,
    RetellApi,
    post_webhook,
    retell_error,
    utterance,
    webhook,
)
from tests.servers import Server

API_KEY = "key_retell_e2e"  # also signs the webhooks
AGENT_ID = "oBeDLoLOeuAbiuaMFXRtDOLriTJ5tSxD"
FROM_NUMBER = "+14157774444"
TEAM = "Retell team"
CALLBACK_DELAY = timedelta(seconds=4)  # room to see the call pending before it is dialed again


@pytest.fixture  # one per test: its calls are looked up by phone number
def retell() -> Iterator[RetellApi]:
    with serving(RetellApi(API_KEY, {AGENT_ID}, {FROM_NUMBER})) as stand_in:
        yield stand_in


def _connect(http: httpx.Client, retell: RetellApi, max_call_seconds: float = 600) -> dict:
    return platforms.connect(
        http,
        "retell",
        "Our Retell",
        {"api_key": API_KEY},
        {"api_base_url": retell.url, "max_call_seconds": max_call_seconds},
    )


def _playbook(http: httpx.Client, connection_id: str) -> str:
    provider = {"connection_id": connection_id, "agent_id": AGENT_ID, "from_number": FROM_NUMBER}
    return platforms.playbook(http, "Retell renewals", provider, **platforms.RENEWALS)


def _created_for(retell: RetellApi, number: str) -> list[dict]:
    """The create-call bodies sent for ``number``, refused ones included, in order."""
    return [r.json() for r in retell.created if r.json()["to_number"] == number]


def _retell_call_id(retell: RetellApi, number: str, attempt: int) -> str:
    """The Retell call id of the ``attempt``-th call Retell created to ``number``."""

    def created() -> list[str]:
        calls = list(retell.calls.items())  # one copy, in C: safe while the stand-in adds one
        return [i for i, call in calls if call["to_number"] == number]

    return platforms.nth(created, attempt)


def _post(url: str, event: str, call: dict[str, Any]) -> None:
    response = post_webhook(url, webhook(event, call), API_KEY)
    assert response.status_code == 204, response.text


CONVERSATION = [utterance("agent", "Hi Ana", 0.4), utterance("user", "Renew it.", 2.0)]


def test_calls_are_placed_on_retell_retried_and_reported_with_results(
    platform_server: Server, database: Database, retell: RetellApi
):
    tenant = platforms.tenant(database, TEAM)
    answered, unanswered = phone(1), phone(2)
    with platform_server.client(tenant.token) as http:
        connection = _connect(http, retell)
        url = platforms.webhook(platform_server, connection)
        playbook_id = _playbook(http, connection["connection_id"])
        campaign_id = platforms.campaign(
            http,
            playbook_id,
            [
                {"phone": answered, "first_name": "Ana", "custom_fields": {"seats": 12}},
                {"phone": unanswered},
            ],
            recall=[0.01],
        )
        first = _retell_call_id(retell, answered, 1)
        sent = _created_for(retell, answered)[0]
        # Retell speaks the agent's own begin message, which reads the variables as strings.
        assert sent["override_agent_id"] == AGENT_ID and sent["from_number"] == FROM_NUMBER
        assert sent["retell_llm_dynamic_variables"]["first_name"] == "Ana"
        assert sent["retell_llm_dynamic_variables"]["custom"] == '{"seats":12}'
        assert sent["metadata"]["outbound_attempt"] == 1
        _post(url, "call_started", retell.start(first))
        ended = retell.end(
            first,
            "user_hangup",
            transcript=CONVERSATION,
            summary="Renewed for a year.",
            custom_analysis_data={"disposition": "renewed", "plan": "gold"},
            call_successful=True,
            combined_cost=12,  # cents
            duration_ms=40_000,
        )
        _post(url, "call_ended", ended)
        answered_call = platforms.calls(http, campaign_id)[answered]
        before_analysis = http.get(f"/call/{answered_call['call_id']}").json()
        _post(url, "call_analyzed", ended)
        # The unanswered one is retried after its recall offset, then answered.
        _post(
            url, "call_ended", retell.end(_retell_call_id(retell, unanswered, 1), "dial_no_answer")
        )
        second = _retell_call_id(retell, unanswered, 2)
        _post(url, "call_ended", retell.end(second, "agent_hangup", duration_ms=5_000))
        platforms.wait_for_campaign(http, campaign_id, "completed", 20)
        calls = platforms.calls(http, campaign_id)
        campaign = http.get(f"/campaign/{campaign_id}").json()
        full = http.get(f"/call/{answered_call['call_id']}").json()
    assert answered_call["status"] == "completed"
    assert before_analysis["attempts"][0]["result"]["summary"] is None
    assert [a["outcome"] for a in calls[unanswered]["attempts"]] == ["no_answer", "answered"]
    assert _created_for(retell, unanswered)[1]["metadata"]["outbound_attempt"] == 2
    [attempt] = full["attempts"]
    assert attempt["outcome"] == "answered"
    result = attempt["result"]
    assert result["disposition"] == "renewed" and result["summary"] == "Renewed for a year."
    assert result["data"] == {"disposition": "renewed", "plan": "gold"}
    assert result["cost"] == {"amount": 0.12, "currency": "USD"}
    assert result["ended_reason"] == "user_hangup"
    assert [(t["role"], t["text"]) for t in result["transcript"]] == [
        ("agent", "Hi Ana"),
        ("contact", "Renew it."),
    ]
    assert campaign["dispositions"] == {"renewed": 1}


def test_a_callback_asked_in_call_analyzed_dials_again_at_the_hour_asked(
    platform_server: Server, database: Database, retell: RetellApi
):
    tenant = platforms.tenant(database, TEAM)
    number = phone(7)
    with platform_server.client(tenant.token) as http:
        connection = _connect(http, retell)
        url = platforms.webhook(platform_server, connection)
        campaign_id = platforms.campaign(
            http, _playbook(http, connection["connection_id"]), [{"phone": number}]
        )
        first = _retell_call_id(retell, number, 1)
        callback_at = (datetime.now(UTC) + CALLBACK_DELAY).replace(microsecond=0)
        ended = retell.end(
            first,
            "user_hangup",
            transcript=[utterance("user", "Call me back in a moment.", 1.0)],
            summary="Asked to be called back.",
            custom_analysis_data={
                "disposition": "call_back",
                "callback_at": callback_at.isoformat(),
            },
            duration_ms=9_000,
        )
        _post(url, "call_ended", ended)  # answered, no disposition yet: completed
        platforms.wait_for_campaign(http, campaign_id, "completed", 10)
        _post(url, "call_analyzed", ended)
        waiting = platforms.calls(http, campaign_id)[number]
        campaign_after_analysis = http.get(f"/campaign/{campaign_id}").json()
        result = http.get(f"/call/{waiting['call_id']}").json()["attempts"][0]["result"]
        second = _retell_call_id(retell, number, 2)
        dialed_again_at = datetime.now(UTC)
        _post(url, "call_ended", retell.end(second, "user_hangup", duration_ms=3_000))
        platforms.wait_for_campaign(http, campaign_id, "completed", 10)
        attempts = platforms.calls(http, campaign_id)[number]["attempts"]
    assert waiting["status"] == "pending"
    assert datetime.fromisoformat(waiting["next_attempt_at"]) == callback_at
    assert campaign_after_analysis["status"] == "running"
    assert result["disposition"] == "call_back" and result["summary"] == "Asked to be called back."
    assert [t["text"] for t in result["transcript"]] == ["Call me back in a moment."]
    assert datetime.fromisoformat(result["callback_at"]) == callback_at
    assert dialed_again_at >= callback_at
    assert [a["outcome"] for a in attempts] == ["answered", "answered"]


def test_a_bad_signature_records_nothing_and_a_foreign_call_is_not_found(
    platform_server: Server, database: Database, retell: RetellApi
):
    owner, stranger = platforms.tenant(database, TEAM), platforms.tenant(database, TEAM)
    number = phone(3)
    with (
        platform_server.client(owner.token) as http,
        platform_server.client(stranger.token) as other,
    ):
        connection = _connect(http, retell)
        url = platforms.webhook(platform_server, connection)
        campaign_id = platforms.campaign(
            http, _playbook(http, connection["connection_id"]), [{"phone": number}]
        )
        payload = webhook(
            "call_ended",
            retell.end(_retell_call_id(retell, number, 1), "user_hangup", duration_ms=3_000),
        )
        assert post_webhook(url, payload, "not-the-api-key").status_code == 401
        their_url = platforms.webhook(platform_server, _connect(other, retell))
        assert post_webhook(their_url, payload, API_KEY).status_code == 404
        assert platforms.calls(http, campaign_id)[number]["status"] == "in_progress"
        assert post_webhook(url, payload, API_KEY).status_code == 204
        platforms.wait_for_call(http, campaign_id, number, "completed", 10)


def test_a_missing_call_ended_is_looked_up_before_the_lease_runs_out(
    platform_server: Server, database: Database, retell: RetellApi
):
    tenant = platforms.tenant(database, TEAM)
    number = phone(4)
    with platform_server.client(tenant.token) as http:
        connection = _connect(http, retell, max_call_seconds=1)
        campaign_id = platforms.campaign(
            http, _playbook(http, connection["connection_id"]), [{"phone": number}]
        )
        retell.end(
            _retell_call_id(retell, number, 1),
            "agent_hangup",
            transcript=CONVERSATION,
            summary="Looked up.",
            custom_analysis_data={"disposition": "renewed"},
            duration_ms=1_000,
        )  # and Retell never sends its webhooks
        platforms.wait_for_call(http, campaign_id, number, "completed", 20)
        [attempt] = platforms.calls(http, campaign_id)[number]["attempts"]
        campaign = http.get(f"/campaign/{campaign_id}").json()
    assert attempt["outcome"] == "answered" and attempt["error"] is None
    assert attempt["result"]["summary"] == "Looked up."
    assert campaign["dispositions"] == {"renewed": 1}


def test_a_concurrency_refusal_spends_no_attempt_and_an_invalid_number_fails(
    platform_server: Server, database: Database, retell: RetellApi
):
    tenant = platforms.tenant(database, TEAM)
    busy, invalid = phone(5), phone(6)
    with platform_server.client(tenant.token) as http:
        connection = _connect(http, retell)
        url = platforms.webhook(platform_server, connection)
        playbook_id = _playbook(http, connection["connection_id"])
        refusal = retell_error("Concurrency limit reached, please try again later.")
        retell.recorder.answers.append(Answer.json(429, refusal))
        busy_campaign = platforms.campaign(http, playbook_id, [{"phone": busy}])
        _post(url, "call_ended", retell.end(_retell_call_id(retell, busy, 1), "user_hangup"))
        platforms.wait_for_call(http, busy_campaign, busy, "completed", 10)
        assert [a["number"] for a in platforms.calls(http, busy_campaign)[busy]["attempts"]] == [1]
        assert len(_created_for(retell, busy)) == 2  # refused once, then placed
        assert _created_for(retell, busy)[1]["metadata"]["outbound_attempt"] == 1

        retell.recorder.answers.append(Answer.json(400, BAD_REQUEST))
        invalid_campaign = platforms.campaign(http, playbook_id, [{"phone": invalid}])
        platforms.wait_for_call(http, invalid_campaign, invalid, "failed", 10)
        [attempt] = platforms.calls(http, invalid_campaign)[invalid]["attempts"]
    assert attempt["outcome"] == "failed" and BAD_REQUEST["message"] in attempt["error"]


def test_a_call_retell_ends_for_want_of_room_is_placed_again_unspent(
    platform_server: Server, database: Database, retell: RetellApi
):
    tenant = platforms.tenant(database, TEAM)
    number = phone(8)
    with platform_server.client(tenant.token) as http:
        connection = _connect(http, retell)
        url = platforms.webhook(platform_server, connection)
        campaign_id = platforms.campaign(
            http, _playbook(http, connection["connection_id"]), [{"phone": number}]
        )
        full = retell.end(_retell_call_id(retell, number, 1), "concurrency_limit_reached")
        _post(url, "call_ended", full)
        _post(url, "call_ended", retell.end(_retell_call_id(retell, number, 2), "user_hangup"))
        platforms.wait_for_call(http, campaign_id, number, "completed", 10)
        [attempt] = platforms.calls(http, campaign_id)[number]["attempts"]
    assert attempt["number"] == 1 and attempt["outcome"] == "answered"
    assert [body["metadata"]["outbound_attempt"] for body in _created_for(retell, number)] == [1, 1]
