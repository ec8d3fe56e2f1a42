"""A campaign placed through an ElevenLabs connection, end to end: outbound serves the API and
the dispatcher, the ElevenLabs stand-in answers the phone-number lookup and takes the
outbound-call requests, and the test posts ElevenLabs' post-call webhooks
(``post_call_transcription``, ``call_initiation_failure``) to the connection's webhook URL,
signed as ElevenLabs signs them."""

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from outbound.store.database import Database
from tests.e2e import platforms
from tests.factories import phone
from tests.providers.platforms.elevenlabs_api import (
    ENDPOINTS,
    ElevenLabsApi,
    error,
    initiation_failure_webhook,
    post_webhook,
    transcription_webhook,
    turn,
)
from tests.providers.platforms.http_stand_in import Answer, serving
from tests.servers import Server

API_KEY = "xi-e2e-key"
SECRET = "wsec_e2e"
AGENT_ID = "agent_renewals"
PHONE_NUMBER_ID = "pn_outbound"
TEAM = "ElevenLabs team"
PHONE_NUMBER_PATH = f"/v1/convai/phone-numbers/{PHONE_NUMBER_ID}"
CONVERSATION = [turn("agent", "Hi Ana", 0), turn("user", "Renew it.", 2)]


@pytest.fixture  # one per test: its calls are looked up by phone number
def elevenlabs() -> Iterator[ElevenLabsApi]:
    stand_in = ElevenLabsApi(API_KEY, agents={AGENT_ID}, phone_numbers={PHONE_NUMBER_ID: "twilio"})
    with serving(stand_in):
        yield stand_in


def _connect(http: httpx.Client, api: ElevenLabsApi, max_call_seconds: float = 600) -> dict:
    return platforms.connect(
        http,
        "elevenlabs",
        "Our ElevenLabs",
        {"api_key": API_KEY, "webhook_secret": SECRET},
        {"api_base_url": api.url, "max_call_seconds": max_call_seconds},
    )


def _playbook(http: httpx.Client, connection_id: str) -> str:
    provider = {
        "connection_id": connection_id,
        "agent_id": AGENT_ID,
        "phone_number_id": PHONE_NUMBER_ID,
    }
    return platforms.playbook(http, "ElevenLabs renewals", provider, **platforms.RENEWALS)


def _sent_to(api: ElevenLabsApi, number: str) -> list[dict]:
    """The outbound-call bodies sent for ``number``, refused ones included, in order."""
    return [r.json() for r in api.calls if r.json()["to_number"] == number]


def _conversation_id(api: ElevenLabsApi, number: str, attempt: int) -> str:
    """The conversation id of the ``attempt``-th call ElevenLabs placed to ``number``."""
    return platforms.nth(lambda: api.placed_to(number), attempt)


def _post(url: str, payload: dict[str, Any]) -> None:
    response = post_webhook(url, payload, SECRET)
    assert response.status_code == 204, response.text


def _no_answer(conversation_id: str) -> dict[str, Any]:
    twilio = {"CallSid": "CA" + "1" * 32, "CallStatus": "no-answer"}
    return initiation_failure_webhook(
        conversation_id, "no-answer", {"type": "twilio", "body": twilio}
    )


def test_calls_are_placed_on_elevenlabs_retried_and_reported_with_results(
    platform_server: Server, database: Database, elevenlabs: ElevenLabsApi
):
    tenant = platforms.tenant(database, TEAM)
    answered, unanswered = phone(1), phone(2)
    asked_before = len(elevenlabs.recorder.requests)
    with platform_server.client(tenant.token) as http:
        connection = _connect(http, elevenlabs)
        url = platforms.webhook(platform_server, connection)
        playbook_id = _playbook(http, connection["connection_id"])
        campaign_id = platforms.campaign(
            http,
            playbook_id,
            [{"phone": answered, "first_name": "Ana"}, {"phone": unanswered}],
            recall=[0.01],
        )
        first = _conversation_id(elevenlabs, answered, 1)
        sent = _sent_to(elevenlabs, answered)[0]
        assert sent["agent_id"] == AGENT_ID and sent["agent_phone_number_id"] == PHONE_NUMBER_ID
        client_data = sent["conversation_initiation_client_data"]
        assert client_data["dynamic_variables"]["first_name"] == "Ana"
        assert client_data["dynamic_variables"]["outbound_attempt"] == 1
        assert client_data["conversation_config_override"]["agent"]["first_message"] == "Hi Ana"
        ended = elevenlabs.end(
            first,
            transcript=CONVERSATION,
            summary="Renewed for a year.",
            data={"disposition": "renewed", "plan": "gold"},
            cost_fiat=0.0734,
        )
        _post(url, transcription_webhook(ended))
        # The unanswered one is retried after its recall offset, then answered.
        _post(url, _no_answer(_conversation_id(elevenlabs, unanswered, 1)))
        second = _conversation_id(elevenlabs, unanswered, 2)
        _post(url, transcription_webhook(elevenlabs.end(second, transcript=CONVERSATION, data={})))
        platforms.wait_for_campaign(http, campaign_id, "completed", 20)
        calls = platforms.calls(http, campaign_id)
        campaign = http.get(f"/campaign/{campaign_id}").json()
        full = http.get(f"/call/{calls[answered]['call_id']}").json()
    asked = elevenlabs.recorder.requests[asked_before:]
    # The number is looked up once, before the first call: it says which endpoint places calls.
    assert (asked[0].method, asked[0].path) == ("GET", PHONE_NUMBER_PATH)
    assert [r.path for r in asked if r.path == PHONE_NUMBER_PATH] == [PHONE_NUMBER_PATH]
    assert {r.path for r in asked if r.method == "POST"} == {ENDPOINTS["twilio"]}
    assert [a["outcome"] for a in calls[unanswered]["attempts"]] == ["no_answer", "answered"]
    assert calls[unanswered]["attempts"][0]["error"] == "no-answer: no-answer"
    [attempt] = full["attempts"]
    assert attempt["outcome"] == "answered"
    result = attempt["result"]
    assert result["disposition"] == "renewed" and result["summary"] == "Renewed for a year."
    assert result["data"] == {"disposition": "renewed", "plan": "gold"}
    assert result["cost"] == {"amount": 0.0734, "currency": "USD"}
    assert [(t["role"], t["text"]) for t in result["transcript"]] == [
        ("agent", "Hi Ana"),
        ("contact", "Renew it."),
    ]
    assert result["recording_url"] == f"{elevenlabs.url}/v1/convai/conversations/{first}/audio"
    assert campaign["dispositions"] == {"renewed": 1}


def test_a_bad_signature_records_nothing_and_a_foreign_call_is_not_found(
    platform_server: Server, database: Database, elevenlabs: ElevenLabsApi
):
    owner, stranger = platforms.tenant(database, TEAM), platforms.tenant(database, TEAM)
    number = phone(3)
    with (
        platform_server.client(owner.token) as http,
        platform_server.client(stranger.token) as other,
    ):
        connection = _connect(http, elevenlabs)
        url = platforms.webhook(platform_server, connection)
        campaign_id = platforms.campaign(
            http, _playbook(http, connection["connection_id"]), [{"phone": number}]
        )
        ended = elevenlabs.end(_conversation_id(elevenlabs, number, 1), transcript=CONVERSATION)
        payload = transcription_webhook(ended)
        assert post_webhook(url, payload, "not-the-secret").status_code == 401
        their_url = platforms.webhook(platform_server, _connect(other, elevenlabs))
        # Signed a second earlier: the same body signed in the same second would be a replay.
        sent_before = int(time.time()) - 1
        assert post_webhook(their_url, payload, SECRET, sent_before).status_code == 404
        assert platforms.calls(http, campaign_id)[number]["status"] == "in_progress"
        assert post_webhook(url, payload, SECRET).status_code == 204
        platforms.wait_for_call(http, campaign_id, number, "completed", 10)


def test_a_missing_post_call_webhook_is_looked_up_before_the_lease_runs_out(
    platform_server: Server, database: Database, elevenlabs: ElevenLabsApi
):
    tenant = platforms.tenant(database, TEAM)
    number = phone(4)
    with platform_server.client(tenant.token) as http:
        connection = _connect(http, elevenlabs, max_call_seconds=1)
        campaign_id = platforms.campaign(
            http, _playbook(http, connection["connection_id"]), [{"phone": number}]
        )
        elevenlabs.end(
            _conversation_id(elevenlabs, number, 1),
            transcript=CONVERSATION,
            summary="Looked up.",
            data={"disposition": "renewed"},
        )  # and ElevenLabs never sends its webhook
        platforms.wait_for_call(http, campaign_id, number, "completed", 20)
        [attempt] = platforms.calls(http, campaign_id)[number]["attempts"]
        campaign = http.get(f"/campaign/{campaign_id}").json()
    assert attempt["outcome"] == "answered" and attempt["error"] is None
    assert attempt["result"]["summary"] == "Looked up."
    assert campaign["dispositions"] == {"renewed": 1}


def test_a_concurrency_refusal_spends_no_attempt_and_an_invalid_number_fails(
    platform_server: Server, database: Database, elevenlabs: ElevenLabsApi
):
    tenant = platforms.tenant(database, TEAM)
    busy, invalid = phone(5), phone(6)
    with platform_server.client(tenant.token) as http:
        connection = _connect(http, elevenlabs)
        url = platforms.webhook(platform_server, connection)
        playbook_id = _playbook(http, connection["connection_id"])
        # A new connection looks its number up first, then asks for the call.
        elevenlabs.recorder.answers.extend(
            [
                elevenlabs.phone_number(PHONE_NUMBER_ID),
                error(429, "too_many_concurrent_requests", "Too many concurrent requests"),
            ]
        )
        busy_campaign = platforms.campaign(http, playbook_id, [{"phone": busy}])
        ended = elevenlabs.end(_conversation_id(elevenlabs, busy, 1), transcript=CONVERSATION)
        _post(url, transcription_webhook(ended))
        platforms.wait_for_call(http, busy_campaign, busy, "completed", 10)
        assert [a["number"] for a in platforms.calls(http, busy_campaign)[busy]["attempts"]] == [1]
        sent = _sent_to(elevenlabs, busy)
        assert len(sent) == 2  # refused once, then placed
        assert (
            sent[1]["conversation_initiation_client_data"]["dynamic_variables"]["outbound_attempt"]
            == 1
        )

        refused = "Failed to initiate call: the 'To' number is not a valid phone number."
        elevenlabs.recorder.answers.append(
            Answer.json(200, {"success": False, "message": refused, "conversation_id": None})
        )
        invalid_campaign = platforms.campaign(http, playbook_id, [{"phone": invalid}])
        platforms.wait_for_call(http, invalid_campaign, invalid, "failed", 10)
        [attempt] = platforms.calls(http, invalid_campaign)[invalid]["attempts"]
    assert attempt["outcome"] == "failed" and refused in attempt["error"]


def test_a_busy_line_is_retried_by_the_recall_rule(
    platform_server: Server, database: Database, elevenlabs: ElevenLabsApi
):
    tenant = platforms.tenant(database, TEAM)
    number = phone(7)
    with platform_server.client(tenant.token) as http:
        connection = _connect(http, elevenlabs)
        url = platforms.webhook(platform_server, connection)
        campaign_id = platforms.campaign(
            http, _playbook(http, connection["connection_id"]), [{"phone": number}], recall=[0.01]
        )
        # The default report of the stand-in: Twilio said busy.
        _post(url, initiation_failure_webhook(_conversation_id(elevenlabs, number, 1), "busy"))
        _post(url, initiation_failure_webhook(_conversation_id(elevenlabs, number, 2), "busy"))
        platforms.wait_for_call(http, campaign_id, number, "failed", 10)
        attempts = platforms.calls(http, campaign_id)[number]["attempts"]
    assert [(a["outcome"], a["error"]) for a in attempts] == [("busy", "busy: busy")] * 2
