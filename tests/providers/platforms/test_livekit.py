"""The LiveKit adapter, through the official SDK, against a stand-in for a LiveKit server's
Twirp API, and LiveKit's webhooks as the docs describe them
(tests/providers/platforms/livekit_api.py)."""

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
from livekit import api

from outbound.domain.connections import ConnectionType
from outbound.domain.statuses import Outcome
from outbound.providers.base import CallHandle, CallRequest, PlaybookSnapshot
from outbound.providers.callbacks import CallbackRequest, ProviderEvent
from outbound.providers.errors import (
    CallRejected,
    InvalidCallback,
    MalformedCallback,
    ProviderUnavailable,
)
from outbound.providers.platforms.base import Connection
from outbound.providers.platforms.livekit import END_REASONS, LiveKitAdapter
from tests.providers.platforms.http_standin import serving
from tests.providers.platforms.livekit_api import (
    LiveKitApi,
    decoded_metadata,
    protobuf,
    sip_participant,
    twirp_error,
    webhook_event,
    webhook_token,
)

API_KEY = "APIoutbound"
API_SECRET = "livekit-api-secret-of-at-least-32-chars"
TRUNK = "ST_outbound"
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
URL = "https://outbound.example.com/provider/connection/c1/events"
T = TypeVar("T")


@pytest.fixture
def server() -> Iterator[LiveKitApi]:
    with serving(LiveKitApi(API_KEY, API_SECRET, trunks={TRUNK})) as stand_in:
        yield stand_in


def _connection(url: str, api_secret: str = API_SECRET, **settings: Any) -> Connection:
    return Connection(
        id=uuid.uuid4(),
        account_id=uuid.uuid4(),
        type=ConnectionType.LIVEKIT,
        name="LiveKit",
        credentials={"api_key": API_KEY, "api_secret": api_secret, "url": url},
        settings=settings,
        webhook_url="https://outbound.example.com/provider/connection/c1/events",
    )


def _run(url: str, use: Callable[[LiveKitAdapter], Awaitable[T]], **kw: Any) -> T:
    async def run() -> T:
        adapter = LiveKitAdapter(_connection(url, **kw))
        try:
            return await use(adapter)
        finally:
            await adapter.aclose()

    return asyncio.run(run())


def _request(trunk: str = TRUNK, to: str = "+14155550142", **fields: Any) -> CallRequest:
    return CallRequest(
        call_id=uuid.uuid4(),
        attempt_number=2,
        to=to,
        from_="+14155550123",
        playbook=PlaybookSnapshot(
            id=uuid.uuid4(),
            name="Renewals",
            first_message="Hi Ada",
            provider={"connection_id": "c1", "sip_trunk_id": trunk, **fields},
        ),
        variables={"first_name": "Ada", "plan": {"tier": "pro"}, "sip.injected": "x", "gone": None},
    )


def _place(server: LiveKitApi, request: CallRequest, **kw: Any) -> CallHandle:
    return _run(server.url, lambda adapter: adapter.place_call(request), **kw)


# Placing calls


def test_a_call_is_a_room_an_agent_dispatch_and_a_sip_participant(server):
    request = _request(agent_name="sales-agent", room_prefix="renewals-")
    handle = _place(server, request, max_call_seconds=900)
    room = f"renewals-{request.call_id}-2"
    assert handle.provider_call_id == room
    [(created, create_room)] = server.requests_to("RoomService/CreateRoom", api.CreateRoomRequest)
    [(_, dispatch)] = server.requests_to(
        "AgentDispatchService/CreateDispatch", api.CreateAgentDispatchRequest
    )
    [(_, dial)] = server.requests_to("SIP/CreateSIPParticipant", api.CreateSIPParticipantRequest)
    assert created.headers["authorization"].startswith("Bearer ")
    assert (create_room.name, create_room.empty_timeout) == (room, 300)
    assert (dispatch.agent_name, dispatch.room) == ("sales-agent", room)
    metadata = {
        "call_id": str(request.call_id),
        "attempt": 2,
        "idempotency_key": f"{request.call_id}:2",
        "to": "+14155550142",
        "from": "+14155550123",
        "playbook": request.playbook.to_json(),
        "variables": {
            "first_name": "Ada",
            "plan": {"tier": "pro"},
            "sip.injected": "x",
            "gone": None,
        },
    }
    assert decoded_metadata(create_room) == decoded_metadata(dispatch) == metadata
    assert json.loads(dial.participant_metadata) == metadata
    assert (dial.sip_trunk_id, dial.sip_call_to, dial.sip_number, dial.room_name) == (
        TRUNK,
        "+14155550142",
        "+14155550123",
        room,
    )
    assert (dial.participant_identity, dial.participant_name) == ("contact", "Ada")
    assert dict(dial.participant_attributes) == {
        "first_name": "Ada",
        "plan": '{"tier": "pro"}',
        "outbound.call_id": str(request.call_id),
        "outbound.attempt": "2",
    }
    assert dial.wait_until_answered is False
    assert dial.max_call_duration.seconds == 900
    assert [p.identity for p in server.rooms[room].participants] == ["contact"]


def test_without_an_agent_name_no_agent_is_dispatched(server):
    request = _request()
    handle = _place(server, request)
    assert handle.provider_call_id == f"outbound-{request.call_id}-2"
    assert (
        server.requests_to("AgentDispatchService/CreateDispatch", api.CreateAgentDispatchRequest)
        == []
    )
    assert len(server.requests_to("SIP/CreateSIPParticipant", api.CreateSIPParticipantRequest)) == 1


def test_the_api_address_setting_replaces_the_connection_url(server):
    async def place(adapter: LiveKitAdapter) -> CallHandle:
        return await adapter.place_call(_request())

    async def run() -> CallHandle:
        connection = _connection("wss://project.livekit.cloud", api_base_url=server.url)
        adapter = LiveKitAdapter(connection)
        try:
            return await place(adapter)
        finally:
            await adapter.aclose()

    asyncio.run(run())
    assert len(server.requests_to("SIP/CreateSIPParticipant", api.CreateSIPParticipantRequest)) == 1


@pytest.mark.parametrize(
    "answer",
    [
        twirp_error(429, "resource_exhausted", "too many requests"),
        twirp_error(503, "unavailable", "no SIP servers available"),
        twirp_error(500, "internal", "internal error"),
    ],
)
def test_a_rate_limit_or_an_overloaded_server_leaves_the_attempt_unspent(server, answer):
    server.recorder.answers.append(answer)
    with pytest.raises(ProviderUnavailable, match=str(answer.status)):
        _place(server, _request())


def test_an_overloaded_sip_service_leaves_the_attempt_unspent(server):
    server.recorder.answers.extend(
        [protobuf(api.Room(name="r")), twirp_error(429, "resource_exhausted", "concurrency limit")]
    )
    with pytest.raises(ProviderUnavailable, match="resource_exhausted"):
        _place(server, _request())


def test_an_unknown_trunk_is_refused_with_livekits_message(server):
    with pytest.raises(CallRejected, match="404 not_found: requested sip trunk does not exist"):
        _place(server, _request(trunk="ST_gone"))


def test_an_invalid_number_is_refused(server):
    with pytest.raises(CallRejected, match="invalid phone number"):
        _place(server, _request(to="not a number"))


def test_a_wrong_api_secret_is_refused(server):
    with pytest.raises(CallRejected, match="401 unauthenticated"):
        _place(server, _request(), api_secret="another-secret-of-at-least-32-chars")
    assert server.rooms == {}


def test_livekit_out_of_reach_leaves_the_attempt_unspent():
    with pytest.raises(ProviderUnavailable, match="unreachable"):
        _run("http://127.0.0.1:9", lambda adapter: adapter.place_call(_request()))


# Looking a call up


def _fetch(server: LiveKitApi, room: str) -> list[ProviderEvent]:
    return _run(server.url, lambda adapter: adapter.fetch_call(room))


@pytest.mark.parametrize("status", ["dialing", "ringing", "active", "automation"])
def test_a_call_still_dialing_or_talking_shows_nothing(server, status):
    room = _place(server, _request()).provider_call_id
    server.set_call_status(room, status)
    assert _fetch(server, room) == []
    [(lookup, listing)] = server.requests_to(
        "RoomService/ListParticipants", api.ListParticipantsRequest
    )
    assert listing.room == room and lookup.headers["authorization"].startswith("Bearer ")


def test_a_hung_up_participant_shows_its_end(server):
    room = _place(server, _request()).provider_call_id
    server.set_call_status(room, "hangup", api.DisconnectReason.USER_REJECTED)
    [event] = _fetch(server, room)
    assert (event.provider_call_id, event.kind, event.outcome) == (room, "ended", Outcome.BUSY)
    assert event.error == "USER_REJECTED"


def test_a_room_that_is_gone_shows_a_failed_call(server):
    [event] = _fetch(server, "outbound-gone-1")
    assert (event.kind, event.outcome) == ("ended", Outcome.FAILED)
    assert "is gone" in (event.error or "")


def test_a_room_the_contact_left_shows_a_failed_call(server):
    room = _place(server, _request()).provider_call_id
    server.rooms[room].participants.clear()
    [event] = _fetch(server, room)
    assert (event.kind, event.outcome, event.error) == (
        "ended",
        Outcome.FAILED,
        "the contact left the room",
    )


# Webhook tokens


def _webhook(body: bytes, token: str | None = None, scheme: str = "") -> CallbackRequest:
    token = webhook_token(API_KEY, API_SECRET, body) if token is None else token
    headers = {"authorization": scheme + token, "content-type": "application/webhook+json"}
    return CallbackRequest("POST", URL, "events", headers, body)


def _adapter() -> LiveKitAdapter:
    return LiveKitAdapter(_connection("http://127.0.0.1:9"))


LEFT = webhook_event("participant_left", "outbound-room-1", sip_participant("outbound-room-1", 1))


@pytest.mark.parametrize("scheme", ["", "Bearer "])
def test_a_webhook_signed_with_the_api_secret_is_accepted_once(scheme):
    request = _webhook(LEFT, scheme=scheme)
    # The token expires within minutes: it is the replay key.
    assert _adapter().authenticate(request, NOW) == request.header("authorization").removeprefix(
        scheme
    )


@pytest.mark.parametrize(
    "request_",
    [
        _webhook(LEFT, token=webhook_token(API_KEY, "another-secret-of-at-least-32-chars", LEFT)),
        _webhook(LEFT, token=webhook_token("APIanother", API_SECRET, LEFT)),
        _webhook(LEFT, token=webhook_token(API_KEY, API_SECRET, LEFT, ttl_minutes=-5)),
        _webhook(LEFT, token=webhook_token(API_KEY, API_SECRET, LEFT + b" ")),
        _webhook(LEFT, token=api.AccessToken(API_KEY, API_SECRET).to_jwt()),
        _webhook(LEFT, token="not.a.jwt"),
        CallbackRequest("POST", URL, "events", {}, LEFT),
    ],
    ids=[
        "wrong secret",
        "another key",
        "expired",
        "another body",
        "no body hash",
        "garbage",
        "missing",
    ],
)
def test_a_webhook_without_a_valid_token_is_refused(request_):
    with pytest.raises(InvalidCallback):
        _adapter().authenticate(request_, NOW)


# End reasons


def _events(body: bytes) -> list[ProviderEvent]:
    adapter = _adapter()
    request = _webhook(body)
    adapter.authenticate(request, NOW)
    return adapter.parse_callback(request)


@pytest.mark.parametrize(("reason", "outcome"), END_REASONS.items())
def test_every_end_reason_gives_its_outcome(reason, outcome):
    participant = sip_participant("outbound-room-1", api.DisconnectReason.Value(reason))
    [event] = _events(webhook_event("participant_left", "outbound-room-1", participant))
    assert (event.provider, event.provider_call_id, event.kind) == (
        "livekit",
        "outbound-room-1",
        "ended",
    )
    assert event.outcome == outcome
    assert event.error == (None if outcome == Outcome.ANSWERED else reason)
    assert event.result is None  # the agent posts the result to outbound itself


def test_an_end_reason_outside_the_table_is_a_failure():
    participant = sip_participant("outbound-room-1", api.DisconnectReason.DUPLICATE_IDENTITY)
    [event] = _events(webhook_event("participant_left", "outbound-room-1", participant))
    assert (event.outcome, event.error) == (Outcome.FAILED, "DUPLICATE_IDENTITY")


def test_events_other_than_the_contact_leaving_report_nothing():
    agent = api.ParticipantInfo(
        identity="agent-AJ_1",
        kind=api.ParticipantInfo.Kind.AGENT,
        disconnect_reason=api.DisconnectReason.CLIENT_INITIATED,
    )
    joined = sip_participant("outbound-room-1", 0, {"sip.callStatus": "dialing"})
    assert _events(webhook_event("participant_left", "outbound-room-1", agent)) == []
    assert _events(webhook_event("participant_joined", "outbound-room-1", joined)) == []
    assert _events(webhook_event("room_finished", "outbound-room-1")) == []


def test_a_call_outbound_did_not_place_reports_nothing():
    stranger = sip_participant("inbound-room", 1)
    del stranger.attributes["outbound.call_id"]
    assert _events(webhook_event("participant_left", "inbound-room", stranger)) == []


def test_a_body_that_is_not_a_webhook_event_is_malformed():
    with pytest.raises(MalformedCallback):
        _events(b'{"event": ["not", "a", "string"]}')
