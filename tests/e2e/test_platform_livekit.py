"""A campaign placed through a LiveKit connection, end to end: outbound serves the API and the
dispatcher, the LiveKit stand-in takes the Twirp requests (a room, an agent dispatch, a SIP
participant per attempt), the test posts LiveKit's ``participant_left`` webhooks, signed with
the API key and secret, to the connection's webhook URL, and plays the agent, which posts the
conversation's result to outbound with the ids the SIP participant carries."""

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from livekit import api

from outbound.store.database import Database
from tests.e2e import platforms
from tests.factories import phone
from tests.providers.platforms.http_stand_in import serving
from tests.providers.platforms.livekit_api import (
    LiveKitApi,
    decoded_metadata,
    post_webhook,
    protobuf,
    twirp_error,
)
from tests.servers import Server

API_KEY = "APIoutbounde2e"
API_SECRET = "livekit-e2e-api-secret-of-at-least-32-chars"
TRUNK = "ST_outbound_e2e"
AGENT = "renewals-agent"
CALLER_ID = "+14155550123"
TEAM = "LiveKit team"
HUNG_UP = api.DisconnectReason.CLIENT_INITIATED  # the contact hung up: answered
UNANSWERED = api.DisconnectReason.USER_UNAVAILABLE


@pytest.fixture  # one per test: its calls are looked up by phone number
def livekit(database_url: str) -> Iterator[LiveKitApi]:
    """A stand-in for each database's run: a number (``phone``) may come again in the other."""
    with serving(LiveKitApi(API_KEY, API_SECRET, trunks={TRUNK})) as stand_in:
        yield stand_in


def _connect(
    http: httpx.Client, livekit: LiveKitApi, max_call_seconds: float = 600
) -> dict[str, Any]:
    return platforms.connect(
        http,
        "livekit",
        "Our LiveKit",
        {"api_key": API_KEY, "api_secret": API_SECRET, "url": livekit.url},
        {"max_call_seconds": max_call_seconds},
    )


def _playbook(http: httpx.Client, connection_id: str) -> str:
    provider = {
        "connection_id": connection_id,
        "sip_trunk_id": TRUNK,
        "room_prefix": "renewals-",
        "agent_name": AGENT,
    }
    return platforms.playbook(
        http, "LiveKit renewals", provider, **platforms.RENEWALS, caller_id=CALLER_ID
    )


def _dialed(livekit: LiveKitApi, number: str) -> list[api.CreateSIPParticipantRequest]:
    """The CreateSIPParticipant requests to ``number``, refused ones included, in order."""
    requests = livekit.requests_to("SIP/CreateSIPParticipant", api.CreateSIPParticipantRequest)
    return [dial for _, dial in requests if dial.sip_call_to == number]


def _room(livekit: LiveKitApi, number: str, attempt: int) -> str:
    """The room of the ``attempt``-th call LiveKit dialed to ``number``."""

    def dialed() -> list[str]:
        rooms = list(livekit.rooms.items())  # one copy, in C: safe while the stand-in adds one
        return [
            name
            for name, room in rooms
            for p in list(room.participants)
            if p.attributes.get("sip.phoneNumber") == number
        ]

    return platforms.nth(dialed, attempt)


def _post_result(http: httpx.Client, livekit: LiveKitApi, room: str, **result: Any) -> Any:
    """The agent in ``room`` posts its conversation's result, to the call and attempt that the
    SIP participant's attributes name."""
    [contact] = livekit.rooms[room].participants
    attributes = contact.attributes
    call_id, attempt = attributes["outbound.call_id"], attributes["outbound.attempt"]
    return http.post(f"/call/{call_id}/attempts/{attempt}/result", json=result)


def _post(url: str, body: bytes, ttl_minutes: float = 5) -> httpx.Response:
    return post_webhook(url, body, API_KEY, API_SECRET, ttl_minutes)


def test_calls_are_placed_on_livekit_retried_and_reported_with_the_agents_results(
    platform_server: Server, database: Database, livekit: LiveKitApi
):
    tenant = platforms.tenant(database, TEAM)
    answered, unanswered = phone(21), phone(22)
    with platform_server.client(tenant.token) as http:
        connection = _connect(http, livekit)
        webhook_url = platforms.webhook(platform_server, connection)
        playbook_id = _playbook(http, connection["connection_id"])
        campaign_id = platforms.campaign(
            http,
            playbook_id,
            [{"phone": answered, "first_name": "Ana"}, {"phone": unanswered}],
            recall=[0.01],
        )
        room = _room(livekit, answered, 1)
        [dial] = _dialed(livekit, answered)
        metadata = json.loads(dial.participant_metadata)
        assert dial.participant_attributes["first_name"] == "Ana"
        assert metadata["variables"]["first_name"] == "Ana"
        assert metadata["playbook"]["first_message"] == "Hi Ana"
        assert (dial.sip_trunk_id, dial.sip_number, dial.room_name) == (TRUNK, CALLER_ID, room)
        assert room.startswith("renewals-")
        [dispatch] = livekit.rooms[room].dispatches
        assert dispatch.agent_name == AGENT and decoded_metadata(dispatch) == metadata
        # The agent reports the conversation while the call is on; the contact hangs up.
        posted = _post_result(
            http,
            livekit,
            room,
            disposition="renewed",
            summary="Renewed for a year.",
            data={"plan": "gold"},
            transcript=[
                {"role": "agent", "text": "Hi Ana", "at_s": 0.4},
                {"role": "contact", "text": "Renew it.", "at_s": 2.0},
            ],
            cost={"amount": 0.12, "currency": "USD"},
        )
        assert (posted.status_code, posted.json()) == (200, {"recorded": True})
        assert platforms.accepted(_post(webhook_url, livekit.hang_up(room, HUNG_UP)))
        # The unanswered one is retried after its recall offset, then answered; its agent
        # reports after the hang-up.
        no_answer = livekit.hang_up(_room(livekit, unanswered, 1), UNANSWERED)
        assert platforms.accepted(_post(webhook_url, no_answer))
        second = _room(livekit, unanswered, 2)
        assert platforms.accepted(_post(webhook_url, livekit.hang_up(second, HUNG_UP)))
        platforms.wait_for_campaign(http, campaign_id, "completed", 20)
        late = _post_result(http, livekit, second, disposition="renewed", summary="Renewed.")
        assert late.status_code == 200, late.text
        calls = platforms.calls(http, campaign_id)
        campaign = http.get(f"/campaign/{campaign_id}").json()
        full = http.get(f"/call/{calls[answered]['call_id']}").json()
    assert [a["outcome"] for a in calls[unanswered]["attempts"]] == ["no_answer", "answered"]
    assert [a["error"] for a in calls[unanswered]["attempts"]] == ["USER_UNAVAILABLE", None]
    assert [d.participant_attributes["outbound.attempt"] for d in _dialed(livekit, unanswered)] == [
        "1",
        "2",
    ]
    [attempt] = full["attempts"]
    assert attempt["outcome"] == "answered"
    result = attempt["result"]
    assert result["disposition"] == "renewed" and result["summary"] == "Renewed for a year."
    assert result["data"] == {"plan": "gold"}
    assert result["cost"] == {"amount": 0.12, "currency": "USD"}
    assert [t["text"] for t in result["transcript"]] == ["Hi Ana", "Renew it."]
    assert campaign["dispositions"] == {"renewed": 2}


def test_a_bad_signature_records_nothing_and_a_foreign_call_is_not_found(
    platform_server: Server, database: Database, livekit: LiveKitApi
):
    owner, stranger = platforms.tenant(database, TEAM), platforms.tenant(database, TEAM)
    number = phone(23)
    with (
        platform_server.client(owner.token) as http,
        platform_server.client(stranger.token) as other,
    ):
        connection = _connect(http, livekit)
        url = platforms.webhook(platform_server, connection)
        campaign_id = platforms.campaign(
            http, _playbook(http, connection["connection_id"]), [{"phone": number}]
        )
        room = _room(livekit, number, 1)
        left = livekit.hang_up(room, HUNG_UP)
        wrong_secret = post_webhook(url, left, API_KEY, "another-secret-of-at-least-32-chars")
        assert wrong_secret.status_code == 401
        their_url = platforms.webhook(platform_server, _connect(other, livekit))
        assert _post(their_url, left).status_code == 404
        # Nor may another account post the agent's result of this call.
        assert _post_result(other, livekit, room, disposition="renewed").status_code == 404
        assert platforms.calls(http, campaign_id)[number]["status"] == "in_progress"
        # LiveKit signs each delivery anew.
        assert platforms.accepted(_post(url, left, ttl_minutes=6))
        platforms.wait_for_call(http, campaign_id, number, "completed", 10)
        [attempt] = platforms.calls(http, campaign_id)[number]["attempts"]
    assert attempt["outcome"] == "answered" and attempt["result"] is None


def test_a_missing_participant_left_is_looked_up_before_the_lease_runs_out(
    platform_server: Server, database: Database, livekit: LiveKitApi
):
    tenant = platforms.tenant(database, TEAM)
    number = phone(24)
    with platform_server.client(tenant.token) as http:
        connection = _connect(http, livekit, max_call_seconds=1)
        campaign_id = platforms.campaign(
            http, _playbook(http, connection["connection_id"]), [{"phone": number}]
        )
        room = _room(livekit, number, 1)
        posted = _post_result(http, livekit, room, disposition="renewed", summary="Looked up.")
        assert posted.status_code == 200, posted.text
        livekit.set_call_status(room, "hangup", HUNG_UP)  # and LiveKit never sends its webhook
        platforms.wait_for_call(http, campaign_id, number, "completed", 20)
        [attempt] = platforms.calls(http, campaign_id)[number]["attempts"]
    assert attempt["outcome"] == "answered" and attempt["error"] is None
    assert attempt["result"]["summary"] == "Looked up."
    assert attempt["result"]["disposition"] == "renewed"
    listed = livekit.requests_to("RoomService/ListParticipants", api.ListParticipantsRequest)
    assert room in [listing.room for _, listing in listed]


def _refused_when_dialing(livekit: LiveKitApi, refusal: Any) -> None:
    """LiveKit creates the room and dispatches the agent, then refuses to dial."""
    livekit.recorder.answers.extend(
        [protobuf(api.Room(name="refused")), protobuf(api.AgentDispatch()), refusal]
    )


def test_a_concurrency_refusal_spends_no_attempt_and_an_invalid_number_fails(
    platform_server: Server, database: Database, livekit: LiveKitApi
):
    tenant = platforms.tenant(database, TEAM)
    busy, invalid = phone(25), phone(26)
    with platform_server.client(tenant.token) as http:
        connection = _connect(http, livekit)
        url = platforms.webhook(platform_server, connection)
        playbook_id = _playbook(http, connection["connection_id"])
        _refused_when_dialing(
            livekit, twirp_error(429, "resource_exhausted", "concurrent call limit reached")
        )
        busy_campaign = platforms.campaign(http, playbook_id, [{"phone": busy}])
        assert platforms.accepted(_post(url, livekit.hang_up(_room(livekit, busy, 1), HUNG_UP)))
        platforms.wait_for_call(http, busy_campaign, busy, "completed", 10)
        assert [a["number"] for a in platforms.calls(http, busy_campaign)[busy]["attempts"]] == [1]
        dialed = _dialed(livekit, busy)
        assert len(dialed) == 2  # refused once, then placed
        assert dialed[1].participant_attributes["outbound.attempt"] == "1"

        _refused_when_dialing(livekit, twirp_error(400, "invalid_argument", "invalid phone number"))
        invalid_campaign = platforms.campaign(http, playbook_id, [{"phone": invalid}])
        platforms.wait_for_call(http, invalid_campaign, invalid, "failed", 10)
        [attempt] = platforms.calls(http, invalid_campaign)[invalid]["attempts"]
    assert attempt["outcome"] == "failed" and "invalid phone number" in attempt["error"]
