"""A stand-in for a LiveKit server's API, and the webhooks LiveKit signs, as documented:

- Twirp endpoints, ``POST /twirp/livekit.<Service>/<Method>`` with the protobuf body the
  Python server SDK (``livekit-api``) sends, answered in protobuf, errors as Twirp's JSON
  ``{"code", "msg", "meta"}``: https://docs.livekit.io/sip/api;
  ``RoomService/CreateRoom`` and ``ListParticipants``, ``AgentDispatchService/CreateDispatch``
  (https://docs.livekit.io/reference/agents/agent-dispatch-service-api/) and
  ``SIP/CreateSIPParticipant`` (https://docs.livekit.io/sip/outbound-calls/);
- each request's ``Authorization: Bearer <JWT>`` is verified with the API secret and must hold
  the grant the SDK asks for (roomCreate, roomAdmin of the room, sip.call);
- webhooks: a ``WebhookEvent`` as LiveKit's JSON, with an ``Authorization`` JWT carrying the
  body's SHA-256: https://docs.livekit.io/guides/webhooks
"""

import base64
import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

import httpx
from google.protobuf.json_format import MessageToJson
from google.protobuf.message import Message
from livekit import api
from livekit.api.access_token import Claims

from tests.providers.platforms.http_stand_in import (
    WEBHOOK_TIMEOUT_SECONDS,
    Answer,
    Received,
    Recorder,
)

PROTOBUF = "application/protobuf"
M = TypeVar("M", bound=Message)


def twirp_error(status: int, code: str, msg: str, meta: dict[str, str] | None = None) -> Answer:
    body: dict[str, Any] = {"code": code, "msg": msg}
    if meta:
        body["meta"] = meta
    return Answer.json(status, body)


@dataclass
class LiveKitRoom:
    room: api.Room
    participants: list[api.ParticipantInfo] = field(default_factory=list)
    dispatches: list[api.AgentDispatch] = field(default_factory=list)


@dataclass
class LiveKitApi:
    api_key: str
    api_secret: str
    trunks: set[str] = field(default_factory=set)
    rooms: dict[str, LiveKitRoom] = field(default_factory=dict)
    recorder: Recorder = field(default_factory=Recorder)
    url: str = ""

    def requests_to(self, method: str, message: type[M]) -> list[tuple[Received, M]]:
        """The requests to a Twirp method (``"SIP/CreateSIPParticipant"``), decoded."""
        return [
            (request, message.FromString(request.body))
            for request in self.recorder.received("POST", f"/twirp/livekit.{method}")
        ]

    def answer(self, request: Received) -> Answer:
        scripted = self.recorder.record(request)
        if scripted is not None:
            return scripted
        found = re.fullmatch(r"/twirp/livekit\.(\w+)/(\w+)", request.path)
        if request.method != "POST" or found is None:
            return twirp_error(404, "bad_route", f"no handler for {request.path}")
        if request.headers.get("content-type") != PROTOBUF:
            return twirp_error(400, "malformed", "expected a protobuf body")
        try:
            claims = self.verify(request.headers.get("authorization"))
        except Exception as exc:  # anything the verifier refuses
            return twirp_error(401, "unauthenticated", f"invalid token: {exc}")
        handler = getattr(self, f"_{found[1]}_{found[2]}", None)
        if handler is None:
            return twirp_error(404, "bad_route", f"no handler for {request.path}")
        answer: Answer = handler(request.body, claims)
        return answer

    def verify(self, authorization: str | None) -> Claims:
        token = (authorization or "").removeprefix("Bearer ")
        return api.TokenVerifier(self.api_key, self.api_secret).verify(token)

    def _RoomService_CreateRoom(self, body: bytes, claims: Claims) -> Answer:
        create = api.CreateRoomRequest.FromString(body)
        if not claims.video.room_create:
            return twirp_error(403, "permission_denied", "requires roomCreate permission")
        if create.name not in self.rooms:
            self.rooms[create.name] = LiveKitRoom(
                api.Room(
                    sid=f"RM_{uuid.uuid4().hex[:12]}",
                    name=create.name,
                    empty_timeout=create.empty_timeout,
                    metadata=create.metadata,
                    creation_time=1700000000,
                )
            )
        return protobuf(self.rooms[create.name].room)

    def _RoomService_ListParticipants(self, body: bytes, claims: Claims) -> Answer:
        listing = api.ListParticipantsRequest.FromString(body)
        if not (claims.video.room_admin and claims.video.room == listing.room):
            return twirp_error(403, "permission_denied", "requires roomAdmin permission")
        room = self.rooms.get(listing.room)
        if room is None:
            return twirp_error(404, "not_found", "requested room does not exist")
        return protobuf(api.ListParticipantsResponse(participants=room.participants))

    def _AgentDispatchService_CreateDispatch(self, body: bytes, claims: Claims) -> Answer:
        create = api.CreateAgentDispatchRequest.FromString(body)
        if not (claims.video.room_admin and claims.video.room == create.room):
            return twirp_error(403, "permission_denied", "requires roomAdmin permission")
        dispatch = api.AgentDispatch(
            id=f"AD_{uuid.uuid4().hex[:12]}",
            agent_name=create.agent_name,
            room=create.room,
            metadata=create.metadata,
        )
        self.rooms[create.room].dispatches.append(dispatch)
        return protobuf(dispatch)

    def _SIP_CreateSIPParticipant(self, body: bytes, claims: Claims) -> Answer:
        create = api.CreateSIPParticipantRequest.FromString(body)
        if not claims.sip.call:
            return twirp_error(403, "permission_denied", "requires SIP call permission")
        if create.sip_trunk_id not in self.trunks:
            return twirp_error(404, "not_found", "requested sip trunk does not exist")
        if not re.fullmatch(r"\+?\d{6,15}", create.sip_call_to):
            return twirp_error(400, "invalid_argument", "invalid phone number")
        room = self.rooms.setdefault(create.room_name, LiveKitRoom(api.Room(name=create.room_name)))
        sip_call_id = f"SCL_{uuid.uuid4().hex[:12]}"
        participant = api.ParticipantInfo(
            sid=f"PA_{uuid.uuid4().hex[:12]}",
            identity=create.participant_identity,
            name=create.participant_name,
            metadata=create.participant_metadata,
            kind=api.ParticipantInfo.Kind.SIP,
            state=api.ParticipantInfo.State.ACTIVE,
            joined_at=1700000001,
            attributes={
                **create.participant_attributes,
                "sip.callID": sip_call_id,
                "sip.trunkID": create.sip_trunk_id,
                "sip.phoneNumber": create.sip_call_to,
                "sip.callStatus": "dialing",
            },
        )
        room.participants.append(participant)
        return protobuf(
            api.SIPParticipantInfo(
                participant_id=participant.sid,
                participant_identity=participant.identity,
                room_name=create.room_name,
                sip_call_id=sip_call_id,
            )
        )

    def set_call_status(self, room: str, status: str, reason: int | None = None) -> None:
        """The SIP participant's call moves on (``active``, ``hangup``...), as LiveKit shows it."""
        [participant] = [
            p for p in self.rooms[room].participants if p.kind == api.ParticipantInfo.Kind.SIP
        ]
        participant.attributes["sip.callStatus"] = status
        if reason is not None:
            participant.disconnect_reason = reason  # type: ignore[assignment]

    def hang_up(self, room: str, reason: int) -> bytes:
        """The SIP participant leaves for ``reason`` (a ``DisconnectReason``): the room shows
        its call hung up, and LiveKit sends ``participant_left``, whose body this is."""
        self.set_call_status(room, "hangup", reason)
        [participant] = [
            p for p in self.rooms[room].participants if p.kind == api.ParticipantInfo.Kind.SIP
        ]
        left = api.ParticipantInfo()
        left.CopyFrom(participant)
        left.state = api.ParticipantInfo.State.DISCONNECTED
        return webhook_event("participant_left", room, left)


def protobuf(message: Message) -> Answer:
    """A Twirp success: the message, in protobuf."""
    return Answer(200, message.SerializeToString(), PROTOBUF)


def sip_participant(
    room: str, reason: int, attributes: dict[str, str] | None = None
) -> api.ParticipantInfo:
    """The SIP participant outbound created, as a webhook reports it once it left."""
    return api.ParticipantInfo(
        sid="PA_contact",
        identity="contact",
        state=api.ParticipantInfo.State.DISCONNECTED,
        kind=api.ParticipantInfo.Kind.SIP,
        joined_at=1700000001,
        disconnect_reason=reason,  # type: ignore[arg-type]
        attributes={
            "outbound.call_id": room.removeprefix("outbound-")[:36],
            "outbound.attempt": "1",
            "sip.callID": "SCL_contact",
            "sip.callStatus": "hangup",
            **(attributes if attributes is not None else {}),
        },
    )


def webhook_event(kind: str, room: str, participant: api.ParticipantInfo | None = None) -> bytes:
    """A webhook's body, JSON as LiveKit encodes a ``WebhookEvent``."""
    event = api.WebhookEvent(
        event=kind,
        room=api.Room(sid="RM_room", name=room, empty_timeout=300, creation_time=1700000000),
        id=f"EV_{uuid.uuid4().hex[:12]}",
        created_at=1700000100,
    )
    if participant is not None:
        event.participant.CopyFrom(participant)
    return MessageToJson(event).encode()


def webhook_token(api_key: str, api_secret: str, body: bytes, ttl_minutes: float = 5) -> str:
    """The ``Authorization`` token LiveKit sends with ``body``."""
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    return (
        api.AccessToken(api_key, api_secret)
        .with_sha256(digest)
        .with_ttl(timedelta(minutes=ttl_minutes))
        .to_jwt()
    )


def post_webhook(
    url: str, body: bytes, api_key: str, api_secret: str, ttl_minutes: float = 5
) -> httpx.Response:
    """Post ``body`` to ``url`` as LiveKit posts a webhook: its token in ``Authorization``."""
    headers = {
        "Authorization": webhook_token(api_key, api_secret, body, ttl_minutes),
        "Content-Type": "application/webhook+json",
    }
    return httpx.post(url, content=body, headers=headers, timeout=WEBHOOK_TIMEOUT_SECONDS)


def decoded_metadata(message: Any) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(message.metadata)
    return loaded
