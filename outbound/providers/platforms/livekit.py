"""LiveKit: each attempt is a room of its own, your agent dispatched into it, and the contact
dialed into it as a SIP participant through your outbound trunk.

Documentation followed:

- the server APIs are Twirp (``POST /twirp/livekit.<Service>/<Method>``, a Bearer JWT signed
  with the API secret): https://docs.livekit.io/sip/api
- the room, ``RoomService/CreateRoom`` and ``RoomService/ListParticipants`` (as the Python
  server SDK, ``livekit-api``, calls them: ``livekit/api/room_service.py``)
- explicit agent dispatch, ``AgentDispatchService/CreateDispatch`` (``agent_name``, ``room``,
  ``metadata``): https://docs.livekit.io/agents/build/dispatch/ and
  https://docs.livekit.io/reference/agents/agent-dispatch-service-api/
- the outbound call, ``SIP/CreateSIPParticipant`` (``sip_trunk_id``, ``sip_call_to``,
  ``sip_number``, ``room_name``, ``participant_identity``, ``participant_metadata``,
  ``participant_attributes``, ``wait_until_answered``, ``max_call_duration``):
  https://docs.livekit.io/sip/outbound-calls/
- the SIP participant's attributes (``sip.callStatus``: ``dialing``, ``ringing``, ``active``,
  ``automation``, ``hangup``): https://docs.livekit.io/sip/sip-participant
- why a participant left (``ParticipantInfo.disconnect_reason``, the ``DisconnectReason`` enum
  of ``protobufs/livekit_models.proto`` in github.com/livekit/protocol), and which SIP answers
  the SIP service reports as which reason (``classifyInviteError`` in ``pkg/sip/errors.go``
  of github.com/livekit/sip)
- webhooks (``participant_left``, ``room_finished``...: a ``WebhookEvent`` as JSON, with an
  ``Authorization`` JWT signed with the API key and secret that carries the body's SHA-256):
  https://docs.livekit.io/guides/webhooks

**The official SDK.** ``livekit-api`` is LiveKit's own server SDK: kept in step with the
server, typed (protobuf stubs, ``py.typed``) and asyncio-native (aiohttp). It speaks Twirp with
protobuf bodies, builds the JWT of each request and checks webhook tokens
(``TokenVerifier``, as ``WebhookReceiver`` does). Its region failover is turned off: outbound
retries a failed attempt itself, and ``settings.api_base_url`` may point at a stand-in.

What travels: the room is named ``room_prefix`` (default ``outbound-``) + ``<call id>-<attempt>``
and is the provider call id. The room, the dispatch and the SIP participant carry the same
metadata, a JSON object ``{"call_id", "attempt", "idempotency_key", "to", "from", "playbook",
"variables"}`` (LiveKit takes no idempotency key: it travels there); the SIP participant's
attributes also hold ``outbound.call_id``, ``outbound.attempt`` and each contact variable (text
as is, anything else as JSON). The call is dialed without waiting for the answer
(``wait_until_answered`` false) and bounded by the connection's ``max_call_seconds``.

What comes back: LiveKit reports no conversation. Its webhooks give the call's end, from the
SIP participant's ``participant_left`` and its ``disconnect_reason`` (``END_REASONS``); the
agent posts the conversation's result to outbound
(``POST /call/{call_id}/attempts/{number}/result``) with the ids in the metadata. Events of
rooms outbound did not create (no ``outbound.call_id`` attribute) are ignored, and so is
``room_finished``: the participant's departure says more, and comes first.
"""

import asyncio
import base64
import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import aiohttp
import httpx
from google.protobuf.duration_pb2 import Duration
from google.protobuf.json_format import Parse as parse_json
from google.protobuf.json_format import ParseError
from livekit import api

from outbound.domain.connections import ConnectionType
from outbound.domain.statuses import Outcome
from outbound.providers.base import CallHandle, CallRequest
from outbound.providers.callbacks import CallbackRequest, ProviderEvent
from outbound.providers.errors import InvalidCallback, MalformedCallback
from outbound.providers.platforms import conventions
from outbound.providers.platforms.base import (
    DEFAULT_TIMEOUT_SECONDS,
    Connection,
    PlatformAdapter,
)

NAME = ConnectionType.LIVEKIT.value
PLATFORM = "LiveKit"
DEFAULT_ROOM_PREFIX = "outbound-"
CONTACT_IDENTITY = "contact"  # the SIP participant's identity in its room
ROOM_EMPTY_TIMEOUT_SECONDS = 300  # a room nobody joined closes after this
CALL_ID_ATTRIBUTE = "outbound.call_id"
ATTEMPT_ATTRIBUTE = "outbound.attempt"
CALL_STATUS_ATTRIBUTE = "sip.callStatus"
RESERVED_ATTRIBUTE_PREFIXES = ("sip.", "lk.", "outbound.")
# Twirp's words for a server without room for the request: the attempt is not spent.
UNAVAILABLE_CODES = frozenset({"resource_exhausted", "unavailable", "deadline_exceeded"})

# Why the SIP participant left (``DisconnectReason``). The SIP service reports a SIP answer as
# USER_REJECTED (486 Busy Here, 600 and 603 Decline, 403, 488), USER_UNAVAILABLE (480, 408, 404
# and the other 4xx, no final answer) or SIP_TRUNK_FAILURE (5xx, including a trunk's own
# concurrency limit); an invalid number is not told apart from an unanswered one.
END_REASONS: dict[str, Outcome | None] = {
    "USER_REJECTED": Outcome.BUSY,  # the callee or its network declined the call
    "USER_UNAVAILABLE": Outcome.NO_ANSWER,  # no answer in time, or the number is unavailable
    "SIP_TRUNK_FAILURE": Outcome.FAILED,  # the trunk failed or answered an unexpected error
    "CLIENT_INITIATED": Outcome.ANSWERED,  # the callee hung up
    "PARTICIPANT_REMOVED": Outcome.ANSWERED,  # the agent removed the callee: it hung up
    "ROOM_DELETED": Outcome.ANSWERED,  # the agent deleted the room to end the call
    "ROOM_CLOSED": Outcome.ANSWERED,  # everyone else left
    "MEDIA_FAILURE": Outcome.FAILED,  # the media stream failed or timed out
    "AGENT_ERROR": Outcome.FAILED,  # the agent failed
    "CONNECTION_TIMEOUT": Outcome.FAILED,  # the server timed the session out
    "SERVER_SHUTDOWN": Outcome.FAILED,  # the LiveKit server went down
    "JOIN_FAILURE": Outcome.FAILED,  # the participant could not join the room
    "UNKNOWN_REASON": Outcome.FAILED,  # LiveKit did not say
}
ONGOING_CALL_STATUSES = frozenset({"dialing", "ringing", "automation", "active"})


class LiveKitAdapter(PlatformAdapter):
    type = ConnectionType.LIVEKIT
    default_api_base_url = ""  # the connection's ``url`` credential

    def __init__(self, connection: Connection, http: httpx.AsyncClient | None = None) -> None:
        super().__init__(connection, http)
        if not self.base_url:
            self.base_url = self.connection.credentials["url"].rstrip("/")
        self._api: api.LiveKitAPI | None = None

    def _client(self) -> api.LiveKitAPI:
        """The SDK's client, made in the running loop (its aiohttp session needs one)."""
        if self._api is None:
            self._api = api.LiveKitAPI(
                self.base_url,
                self.connection.credentials["api_key"],
                self.connection.credentials["api_secret"],
                timeout=aiohttp.ClientTimeout(total=DEFAULT_TIMEOUT_SECONDS),
                failover=False,
            )
        return self._api

    async def aclose(self) -> None:
        if self._api is not None:
            await self._api.aclose()
            self._api = None
        await super().aclose()

    async def place_call(self, request: CallRequest) -> CallHandle:
        fields = request.playbook.provider or {}
        trunk = conventions.provider_fields(request, PLATFORM, "sip_trunk_id")["sip_trunk_id"]
        room = room_name(request, str(fields.get("room_prefix") or DEFAULT_ROOM_PREFIX))
        metadata = json.dumps(call_metadata(request), default=str)
        client = self._client()
        async with _translated():
            await client.room.create_room(
                api.CreateRoomRequest(
                    name=room, empty_timeout=ROOM_EMPTY_TIMEOUT_SECONDS, metadata=metadata
                )
            )
            if fields.get("agent_name"):
                await client.agent_dispatch.create_dispatch(
                    api.CreateAgentDispatchRequest(
                        agent_name=str(fields["agent_name"]), room=room, metadata=metadata
                    )
                )
            await client.sip.create_sip_participant(
                api.CreateSIPParticipantRequest(
                    sip_trunk_id=trunk,
                    sip_call_to=request.to,
                    sip_number=request.from_ or "",
                    room_name=room,
                    participant_identity=CONTACT_IDENTITY,
                    participant_name=str(request.variables.get("first_name") or request.to),
                    participant_metadata=metadata,
                    participant_attributes=participant_attributes(request),
                    wait_until_answered=False,
                    max_call_duration=Duration(seconds=int(self.max_call_seconds)),
                )
            )
        return CallHandle(room)

    async def fetch_call(self, provider_call_id: str) -> list[ProviderEvent]:
        """The SIP participant as the room lists it: still dialing or talking (nothing), hung
        up (its end), or gone with its room or without it (failed: its departure was not
        reported, and LiveKit keeps no record of it)."""
        async with _translated():
            try:
                listed = await self._client().room.list_participants(
                    api.ListParticipantsRequest(room=provider_call_id)
                )
            except api.TwirpError as exc:
                if exc.code != api.TwirpErrorCode.NOT_FOUND:
                    raise
                why = f"room {provider_call_id} is gone"
                return [conventions.lost_event(NAME, provider_call_id, why)]
        contact = next((p for p in listed.participants if p.identity == CONTACT_IDENTITY), None)
        if contact is None:
            return [conventions.lost_event(NAME, provider_call_id, "the contact left the room")]
        if contact.attributes.get(CALL_STATUS_ATTRIBUTE) in ONGOING_CALL_STATUSES:
            return []
        return [_left(provider_call_id, contact)]

    def authenticate(self, request: CallbackRequest, now: datetime) -> str:
        """The ``Authorization`` JWT checked as ``livekit.api.WebhookReceiver`` checks it:
        signed with the API secret by the API key, unexpired (by the machine's clock, which the
        SDK's verifier reads), carrying the body's SHA-256."""
        token = (request.header("Authorization") or "").removeprefix("Bearer ").strip()
        if not token:
            raise InvalidCallback("missing Authorization token")
        verifier = api.TokenVerifier(
            self.connection.credentials["api_key"], self.connection.credentials["api_secret"]
        )
        try:
            claims = verifier.verify(token)
            signed = base64.b64decode(claims.sha256 or "", validate=True)
        except Exception as exc:  # PyJWT's errors, a bad key or base64: not LiveKit's token
            raise InvalidCallback(f"invalid Authorization token: {exc}") from exc
        if not signed or signed != hashlib.sha256(request.body).digest():
            raise InvalidCallback("the Authorization token does not sign this body")
        return token  # expires within minutes: the same token twice is a replay

    def parse_callback(self, request: CallbackRequest) -> list[ProviderEvent]:
        try:
            event = parse_json(request.body, api.WebhookEvent(), ignore_unknown_fields=True)
        except ParseError as exc:
            raise MalformedCallback(
                f"not a {PLATFORM} webhook: {exc}", [{"field": "body", "reason": str(exc)}]
            ) from exc
        participant = event.participant
        if (
            event.event != "participant_left"
            or participant.kind != api.ParticipantInfo.Kind.SIP
            or CALL_ID_ATTRIBUTE not in participant.attributes
        ):
            return []  # not the end of a call outbound placed
        return [_left(event.room.name, participant)]


def room_name(request: CallRequest, prefix: str) -> str:
    return f"{prefix}{request.call_id}-{request.attempt_number}"


def call_metadata(request: CallRequest) -> dict[str, Any]:
    """What the agent reads from its job, the room or the participant."""
    return {
        "call_id": str(request.call_id),
        "attempt": request.attempt_number,
        "idempotency_key": request.idempotency_key,
        "to": request.to,
        "from": request.from_,
        "playbook": request.playbook.to_json(),
        "variables": dict(request.variables),
    }


def participant_attributes(request: CallRequest) -> dict[str, str]:
    attributes = {
        name: value if isinstance(value, str) else json.dumps(value, default=str)
        for name, value in _variables(request.variables).items()
    }
    attributes[CALL_ID_ATTRIBUTE] = str(request.call_id)
    attributes[ATTEMPT_ATTRIBUTE] = str(request.attempt_number)
    return attributes


def _variables(variables: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: value
        for name, value in variables.items()
        if value is not None and not name.startswith(RESERVED_ATTRIBUTE_PREFIXES)
    }


def _left(room: str, participant: api.ParticipantInfo) -> ProviderEvent:
    """The contact's departure. Its reason alone tells whether the call was answered: a reason
    outside ``END_REASONS`` is ``failed``, and names the error of every call not answered."""
    reason = api.DisconnectReason.Name(participant.disconnect_reason)
    outcome = conventions.outcome_of(reason, END_REASONS, connected=False)
    error = None if outcome is Outcome.ANSWERED else reason
    return conventions.end_event(NAME, room, outcome, reason, error=error)


class _translated:
    """LiveKit's errors in outbound's words, by ``conventions.refusal``'s rule (a Twirp code
    of ``UNAVAILABLE_CODES`` is a server without room); a server out of reach is
    ``ProviderUnavailable``."""

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, kind: Any, exc: BaseException | None, tb: Any) -> bool:
        if isinstance(exc, api.TwirpError):
            message = f"{exc.code}: {exc.message or exc}"
            busy = exc.code in UNAVAILABLE_CODES
            raise conventions.refusal(PLATFORM, exc.status, message, busy=busy) from exc
        if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError):
            raise conventions.unreachable(PLATFORM, exc) from exc
        return False
