"""A campaign placed through a Vapi connection, end to end: outbound serves the API and the
dispatcher, the Vapi stand-in takes the create-call requests, and the test posts Vapi's
server messages to the connection's webhook URL as Vapi would."""

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from outbound.store.database import Database
from tests.e2e import platforms
from tests.factories import phone
from tests.providers.platforms.http_stand_in import serving
from tests.providers.platforms.vapi_api import (
    VapiApi,
    end_of_call_report,
    message,
    post_message,
    refusal,
)
from tests.servers import Server

API_KEY = "vapi-private-key-e2e"
SECRET = "vapi-webhook-secret-e2e"
ASSISTANT_ID = "4a170597-a0c2-4657-8c32-cb93f080cead"
PHONE_NUMBER_ID = "c6ea6cb0-0dfb-4a65-918f-6a33abb54b64"
TEAM = "Vapi team"


@pytest.fixture  # one per test: its calls are looked up by phone number
def vapi() -> Iterator[VapiApi]:
    with serving(VapiApi(API_KEY, {ASSISTANT_ID}, {PHONE_NUMBER_ID})) as stand_in:
        yield stand_in


def _connect(http: httpx.Client, vapi: VapiApi, max_call_seconds: float = 600) -> dict[str, Any]:
    return platforms.connect(
        http,
        "vapi",
        "Our Vapi",
        {"api_key": API_KEY, "webhook_secret": SECRET},
        {"api_base_url": vapi.url, "max_call_seconds": max_call_seconds},
    )


def _playbook(http: httpx.Client, connection_id: str) -> str:
    provider = {
        "connection_id": connection_id,
        "assistant_id": ASSISTANT_ID,
        "phone_number_id": PHONE_NUMBER_ID,
    }
    return platforms.playbook(http, "Vapi renewals", provider, **platforms.RENEWALS)


def _created_for(vapi: VapiApi, number: str) -> list[dict]:
    return [r.json() for r in vapi.created if r.json()["customer"]["number"] == number]


def _vapi_call_id(vapi: VapiApi, number: str, attempt: int) -> str:
    """The Vapi call id of the ``attempt``-th call Vapi created to ``number``."""

    def created() -> list[str]:
        calls = list(vapi.calls.items())  # one copy, in C: safe while the stand-in adds one
        return [i for i, call in calls if call["customer"]["number"] == number]

    return platforms.nth(created, attempt)


def test_calls_are_placed_on_vapi_retried_and_reported_with_results(
    platform_server: Server, database: Database, vapi: VapiApi
):
    tenant = platforms.tenant(database, TEAM)
    answered, unanswered = phone(1), phone(2)
    with platform_server.client(tenant.token) as http:
        connection = _connect(http, vapi)
        webhook_url = platforms.webhook(platform_server, connection)
        playbook_id = _playbook(http, connection["connection_id"])
        campaign_id = platforms.campaign(
            http,
            playbook_id,
            [{"phone": answered, "first_name": "Ana"}, {"phone": unanswered}],
            recall=[0.01],
        )
        first = _vapi_call_id(vapi, answered, 1)
        sent = _created_for(vapi, answered)[0]
        assert sent["assistantOverrides"]["variableValues"]["first_name"] == "Ana"
        assert sent["assistantOverrides"]["firstMessage"] == "Hi Ana"
        report = end_of_call_report(
            vapi.end(
                first,
                "customer-ended-call",
                messages=[message("bot", "Hi Ana", 0.4), message("user", "Renew it.", 2.0)],
                summary="Renewed for a year.",
                structured_data={"disposition": "renewed", "plan": "gold"},
                cost=0.12,
                talk_seconds=40,
            )
        )
        assert post_message(webhook_url, report, SECRET).status_code in (200, 204)
        # The unanswered one is retried after its recall offset, then answered.
        no_answer = end_of_call_report(
            vapi.end(_vapi_call_id(vapi, unanswered, 1), "customer-did-not-answer")
        )
        assert post_message(webhook_url, no_answer, SECRET).status_code in (200, 204)
        second = end_of_call_report(
            vapi.end(_vapi_call_id(vapi, unanswered, 2), "customer-ended-call", talk_seconds=5)
        )
        assert post_message(webhook_url, second, SECRET).status_code in (200, 204)
        platforms.wait_for_campaign(http, campaign_id, "completed", 20)
        calls = platforms.calls(http, campaign_id)
        campaign = http.get(f"/campaign/{campaign_id}").json()
        full = http.get(f"/call/{calls[answered]['call_id']}").json()
    assert [a["outcome"] for a in calls[unanswered]["attempts"]] == ["no_answer", "answered"]
    result = full["attempts"][0]["result"]
    assert result["disposition"] == "renewed" and result["summary"] == "Renewed for a year."
    assert result["cost"] == {"amount": 0.12, "currency": "USD"}
    assert [t["text"] for t in result["transcript"]] == ["Hi Ana", "Renew it."]
    assert campaign["dispositions"] == {"renewed": 1}


def test_a_bad_signature_records_nothing_and_a_foreign_call_is_not_found(
    platform_server: Server, database: Database, vapi: VapiApi
):
    owner, stranger = platforms.tenant(database, TEAM), platforms.tenant(database, TEAM)
    number = phone(3)
    with (
        platform_server.client(owner.token) as http,
        platform_server.client(stranger.token) as other,
    ):
        connection = _connect(http, vapi)
        url = platforms.webhook(platform_server, connection)
        campaign_id = platforms.campaign(
            http, _playbook(http, connection["connection_id"]), [{"phone": number}]
        )
        report = end_of_call_report(
            vapi.end(_vapi_call_id(vapi, number, 1), "customer-ended-call", talk_seconds=3)
        )
        assert post_message(url, report, "not-the-secret").status_code == 401
        theirs = _connect(other, vapi)
        their_url = platforms.webhook(platform_server, theirs)
        assert post_message(their_url, report, SECRET).status_code == 404
        assert platforms.calls(http, campaign_id)[number]["status"] == "in_progress"
        assert post_message(url, report, SECRET).status_code in (200, 204)
        platforms.wait_for_call(http, campaign_id, number, "completed", 10)


def test_a_missing_end_of_call_report_is_looked_up_before_the_lease_runs_out(
    platform_server: Server, database: Database, vapi: VapiApi
):
    tenant = platforms.tenant(database, TEAM)
    number = phone(4)
    with platform_server.client(tenant.token) as http:
        connection = _connect(http, vapi, max_call_seconds=1)
        campaign_id = platforms.campaign(
            http, _playbook(http, connection["connection_id"]), [{"phone": number}]
        )
        vapi.end(
            _vapi_call_id(vapi, number, 1),
            "customer-ended-call",
            summary="Looked up.",
            structured_data={"disposition": "renewed"},
            talk_seconds=1,
        )  # and Vapi never sends its report
        platforms.wait_for_call(http, campaign_id, number, "completed", 20)
        [attempt] = platforms.calls(http, campaign_id)[number]["attempts"]
    assert attempt["outcome"] == "answered" and attempt["error"] is None
    assert attempt["result"]["summary"] == "Looked up."


def test_a_concurrency_refusal_spends_no_attempt_and_an_invalid_number_fails(
    platform_server: Server, database: Database, vapi: VapiApi
):
    tenant = platforms.tenant(database, TEAM)
    busy, invalid = phone(5), phone(6)
    with platform_server.client(tenant.token) as http:
        connection = _connect(http, vapi)
        url = platforms.webhook(platform_server, connection)
        playbook_id = _playbook(http, connection["connection_id"])
        vapi.recorder.answers.append(refusal(400, "Bad Request", "Over Concurrency Limit."))
        busy_campaign = platforms.campaign(http, playbook_id, [{"phone": busy}])
        report = end_of_call_report(
            vapi.end(_vapi_call_id(vapi, busy, 1), "customer-ended-call", talk_seconds=2)
        )
        assert post_message(url, report, SECRET).status_code in (200, 204)
        platforms.wait_for_call(http, busy_campaign, busy, "completed", 10)
        assert [a["number"] for a in platforms.calls(http, busy_campaign)[busy]["attempts"]] == [1]
        assert len(_created_for(vapi, busy)) == 2  # refused once, then placed
        assert (
            _created_for(vapi, busy)[1]["assistantOverrides"]["metadata"]["outbound_attempt"] == 1
        )

        refused = ["customer.number must be a valid phone number in the E.164 format."]
        vapi.recorder.answers.append(refusal(400, "Bad Request", refused))
        invalid_campaign = platforms.campaign(http, playbook_id, [{"phone": invalid}])
        platforms.wait_for_call(http, invalid_campaign, invalid, "failed", 10)
        [attempt] = platforms.calls(http, invalid_campaign)[invalid]["attempts"]
    assert attempt["outcome"] == "failed" and "E.164" in attempt["error"]


def test_a_connection_that_is_down_backs_off_alone(
    platform_server: Server, database: Database, vapi: VapiApi
):
    tenant = platforms.tenant(database, TEAM)
    healthy_number = phone(7)
    down_numbers = [phone(8), phone(9), phone(10)]
    with serving(VapiApi(API_KEY)) as down, platform_server.client(tenant.token) as http:
        down.recorder.answers.extend(
            [refusal(503, "Service Unavailable", "Service Unavailable")] * 100
        )
        broken = _connect(http, down)
        working = _connect(http, vapi)
        stuck = platforms.campaign(
            http,
            _playbook(http, broken["connection_id"]),
            [{"phone": number} for number in down_numbers],
        )
        placed = platforms.campaign(
            http, _playbook(http, working["connection_id"]), [{"phone": healthy_number}]
        )
        report = end_of_call_report(
            vapi.end(_vapi_call_id(vapi, healthy_number, 1), "customer-ended-call", talk_seconds=2)
        )
        working_url = platforms.webhook(platform_server, working)
        assert post_message(working_url, report, SECRET).status_code == 204
        platforms.wait_for_call(http, placed, healthy_number, "completed", 10)
        time.sleep(2)  # the broken connection keeps backing off meanwhile
        tried = len(down.created)
        calls = platforms.calls(http, stuck)
        campaign = http.get(f"/campaign/{stuck}").json()
    # Backing off as one: its three calls were not each tried on every round.
    assert 1 <= tried <= 8, tried
    assert all(call["attempts"] == [] and call["status"] == "pending" for call in calls.values())
    assert "503" in (campaign["provider_error"] or "")
