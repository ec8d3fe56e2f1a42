"""ElevenLabs Agents Platform (Conversational AI): outbound calls of an ElevenLabs agent from a
phone number imported into ElevenLabs (Twilio or a SIP trunk).

Documentation followed:

- outbound call via Twilio, ``POST /v1/convai/twilio/outbound-call``:
  https://elevenlabs.io/docs/conversational-ai/api-reference/twilio/outbound-call
- outbound call via SIP trunk, ``POST /v1/convai/sip-trunk/outbound-call``:
  https://elevenlabs.io/docs/api-reference/convai/sip-trunk/outbound-call
- the phone number, ``GET /v1/convai/phone-numbers/{phone_number_id}``, whose ``provider``
  (``twilio`` or ``sip_trunk``) says which of the two places its calls (the API reference as
  the official SDK carries it: github.com/elevenlabs/elevenlabs-python,
  ``src/elevenlabs/conversational_ai/phone_numbers/``)
- the conversation, ``GET /v1/convai/conversations/{conversation_id}``:
  https://elevenlabs.io/docs/api-reference/conversations/get
- ``conversation_initiation_client_data``: dynamic variables and the first-message override
  (which the agent must allow, or ElevenLabs refuses the conversation):
  https://elevenlabs.io/docs/conversational-ai/customization/personalization/dynamic-variables
  and https://elevenlabs.io/docs/conversational-ai/customization/personalization/overrides
- post-call webhooks (``post_call_transcription``, ``call_initiation_failure``) and their HMAC
  signature (``ElevenLabs-Signature: t=<unix>,v0=<hex HMAC-SHA256 of "<t>.<body>">``):
  https://elevenlabs.io/docs/eleven-agents/workflows/post-call-webhooks
- the voicemail detection system tool (``voicemail_detection`` among the transcript's tool
  calls): https://elevenlabs.io/docs/conversational-ai/customization/tools/system-tools/voicemail-detection

**httpx, not the SDK.** The official ``elevenlabs`` package is generated from the API (Fern) and
typed, but it is a large client for every ElevenLabs product, pins its own httpx and pydantic
ranges and exposes the webhook check only as a synchronous helper that reads the clock itself.
Outbound needs five requests and two webhook shapes: pydantic models of exactly those
documented payloads below keep the dependency out and the test double a plain HTTP server.

What travels: the contact's variables as ``dynamic_variables`` (values ElevenLabs takes:
strings, numbers, booleans; anything else as JSON text), plus ``outbound_call_id`` and
``outbound_attempt`` (ElevenLabs takes no idempotency key: the attempt is named in the
variables instead), the playbook's rendered voicemail message as ``voicemail_message`` (for the
voicemail tool's message, ``{{voicemail_message}}``), and the rendered ``first_message`` as the
agent's first-message override, which the agent must allow (Security tab, overrides). The
agent's prompt, voice and language stay the agent's.

The result: the transcript (``agent``; ``user`` becomes ``contact``; ``time_in_call_secs`` is
``at_s``), ``analysis.transcript_summary``, ``analysis.data_collection_results`` values as
``data`` (with ``disposition`` and ``callback_at`` by outbound's convention, see
``conventions``), ``analysis.call_successful`` as ``success``, ``metadata.cost_fiat`` as the
cost in USD (``metadata.cost`` counts ElevenLabs credits, not money, and is left out), the
conversation's audio address (``GET /v1/convai/conversations/{id}/audio``, read with the API
key) when it has audio, and ``metadata.termination_reason`` as ``ended_reason``.

Refusals are read as ``conventions`` reads every platform's; a ``200`` whose ``success`` is
false is a refusal with ElevenLabs' message.
"""

import asyncio
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict

from outbound.domain.connections import ConnectionType
from outbound.domain.results import ConversationResult, Cost, Turn
from outbound.domain.statuses import Outcome
from outbound.providers.base import CallHandle, CallRequest
from outbound.providers.callbacks import CallbackRequest, ProviderEvent
from outbound.providers.errors import CallRejected, InvalidCallback
from outbound.providers.platforms import conventions
from outbound.providers.platforms.base import Connection, PlatformAdapter

NAME = ConnectionType.ELEVENLABS.value
PLATFORM = "ElevenLabs"
API_BASE_URL = "https://api.elevenlabs.io"
API_KEY_HEADER = "xi-api-key"
SIGNATURE_HEADER = "ElevenLabs-Signature"
# ElevenLabs' examples accept a signature for 30 minutes; outbound keeps its own, shorter
# window, the one its memory of used signatures covers (``conventions.check_fresh``).
VOICEMAIL_TOOL = "voicemail_detection"
OUTBOUND_CALL_ENDPOINTS = {  # by the phone number's provider
    "twilio": "/v1/convai/twilio/outbound-call",
    "sip_trunk": "/v1/convai/sip-trunk/outbound-call",
}

# Why a call ended, in ElevenLabs' words: a call_initiation_failure's ``failure_reason``, a
# conversation's ``status``, or the voicemail tool the agent called.
END_REASONS: dict[str, Outcome | None] = {
    "busy": Outcome.BUSY,  # failure_reason: the line was busy
    "no-answer": Outcome.NO_ANSWER,  # failure_reason: nobody picked up
    "unknown": Outcome.FAILED,  # failure_reason: any other failure to connect
    "done": Outcome.ANSWERED,  # status: the conversation took place and was analysed
    "failed": Outcome.FAILED,  # status: the conversation failed
    VOICEMAIL_TOOL: Outcome.VOICEMAIL,  # the agent detected a voicemail system
}
ONGOING_STATUSES = frozenset({"initiated", "in-progress", "processing"})
ROLES = {"agent": "agent", "user": "contact"}
CALL_SUCCESSFUL = {"success": True, "failure": False}


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore")  # ElevenLabs adds fields; outbound reads these


# The create-call request (both endpoints take the same body).


class AgentOverride(_Payload):
    first_message: str | None = None


class ConversationConfigOverride(_Payload):
    agent: AgentOverride


class ClientData(_Payload):
    dynamic_variables: dict[str, str | int | float | bool]
    conversation_config_override: ConversationConfigOverride | None = None


class OutboundCallRequest(_Payload):
    agent_id: str
    agent_phone_number_id: str
    to_number: str
    conversation_initiation_client_data: ClientData


class OutboundCallResponse(_Payload):
    success: bool
    message: str = ""
    conversation_id: str | None = None


class PhoneNumber(_Payload):
    phone_number_id: str
    provider: str


# The conversation, as GET /v1/convai/conversations/{id} and post_call_transcription give it.


class ToolCall(_Payload):
    tool_name: str


class TranscriptTurn(_Payload):
    role: str
    message: str | None = None
    time_in_call_secs: float | None = None
    tool_calls: list[ToolCall] | None = None


class DataCollectionResult(_Payload):
    value: Any = None


class Analysis(_Payload):
    data_collection_results: dict[str, DataCollectionResult] | None = None
    call_successful: str | None = None
    transcript_summary: str | None = None


class ConversationMetadata(_Payload):
    call_duration_secs: float | None = None
    cost_fiat: float | None = None  # USD
    termination_reason: str | None = None


class Conversation(_Payload):
    conversation_id: str
    agent_id: str | None = None
    status: str
    transcript: list[TranscriptTurn] = []
    metadata: ConversationMetadata | None = None
    analysis: Analysis | None = None
    has_audio: bool | None = None


class FailureMetadata(_Payload):
    type: str | None = None  # "twilio" or "sip"
    body: dict[str, Any] | None = None  # the telephony provider's own report


class InitiationFailure(_Payload):
    conversation_id: str
    agent_id: str | None = None
    failure_reason: str
    metadata: FailureMetadata | None = None


class Webhook(_Payload):
    type: str
    event_timestamp: int | None = None
    data: dict[str, Any]


class TranscriptionWebhook(_Payload):
    data: Conversation


class InitiationFailureWebhook(_Payload):
    data: InitiationFailure


class ElevenLabsAdapter(PlatformAdapter):
    type = ConnectionType.ELEVENLABS
    default_api_base_url = API_BASE_URL

    def __init__(self, connection: Connection, http: httpx.AsyncClient | None = None) -> None:
        super().__init__(connection, http)
        self._phone_providers: dict[str, str] = {}  # phone_number_id -> "twilio" | "sip_trunk"
        self._looking_up = asyncio.Lock()  # calls placed at once wait for one lookup

    async def place_call(self, request: CallRequest) -> CallHandle:
        fields = conventions.provider_fields(request, PLATFORM, "agent_id", "phone_number_id")
        phone_number_id = fields["phone_number_id"]
        endpoint = OUTBOUND_CALL_ENDPOINTS[await self._phone_provider(phone_number_id)]
        body = outbound_call_request(request, fields["agent_id"], phone_number_id)
        response = await self._send("POST", endpoint, body.model_dump(exclude_none=True))
        created = conventions.read_answer(OutboundCallResponse, response, PLATFORM)
        if not created.success or not created.conversation_id:
            message = created.message or "no conversation"
            raise conventions.refusal(PLATFORM, response.status_code, message)
        return CallHandle(created.conversation_id)

    async def _phone_provider(self, phone_number_id: str) -> str:
        """Which telephony the number is imported from, asked once per number (the calls of
        a batch, placed at once, wait for the first one's answer)."""
        if phone_number_id in self._phone_providers:
            return self._phone_providers[phone_number_id]
        async with self._looking_up:
            if phone_number_id not in self._phone_providers:
                response = await self._send("GET", f"/v1/convai/phone-numbers/{phone_number_id}")
                number = conventions.read_answer(PhoneNumber, response, PLATFORM)
                if number.provider not in OUTBOUND_CALL_ENDPOINTS:
                    raise CallRejected(
                        f"{PLATFORM} places no outbound call from a {number.provider!r} number"
                    )
                self._phone_providers[phone_number_id] = number.provider
        return self._phone_providers[phone_number_id]

    async def fetch_call(self, provider_call_id: str) -> list[ProviderEvent]:
        response = await conventions.http_request(
            self._http,
            PLATFORM,
            "GET",
            f"{self.base_url}/v1/convai/conversations/{provider_call_id}",
            self._headers,
        )
        if response.status_code == 404:  # never started, or deleted: nothing will come
            why = f"{PLATFORM} knows no conversation {provider_call_id}"
            return [conventions.lost_event(NAME, provider_call_id, why)]
        conventions.refuse(PLATFORM, response, error_message)
        conversation = conventions.read_answer(Conversation, response, PLATFORM)
        if conversation.status in ONGOING_STATUSES:
            return []
        return [self._ended(conversation)]

    @property
    def _headers(self) -> dict[str, str]:
        return {API_KEY_HEADER: self.connection.credentials["api_key"]}

    async def _send(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> httpx.Response:
        return await conventions.send(
            self._http, PLATFORM, method, self.base_url + path, self._headers, error_message, body
        )

    def authenticate(self, request: CallbackRequest, now: datetime) -> str:
        header = request.header(SIGNATURE_HEADER)
        parts = dict(item.strip().partition("=")[::2] for item in (header or "").split(","))
        timestamp, digest = parts.get("t", ""), parts.get("v0", "")
        if not timestamp.isdigit() or not digest:
            raise InvalidCallback(f"missing or malformed {SIGNATURE_HEADER}")
        conventions.check_fresh(int(timestamp), now, SIGNATURE_HEADER)
        expected = conventions.hmac_sha256_hex(
            self.connection.credentials["webhook_secret"], timestamp.encode() + b"." + request.body
        )
        if not conventions.constant_time_equal(expected, digest):
            raise InvalidCallback(f"{SIGNATURE_HEADER} does not match")
        assert header is not None
        return header  # timestamped: the same signature twice is a replay

    def parse_callback(self, request: CallbackRequest) -> list[ProviderEvent]:
        webhook = conventions.read_webhook(Webhook, request.body, PLATFORM)
        if webhook.type == "post_call_transcription":
            transcription = conventions.read_webhook(TranscriptionWebhook, request.body, PLATFORM)
            return [self._ended(transcription.data)]
        if webhook.type == "call_initiation_failure":
            failure = conventions.read_webhook(InitiationFailureWebhook, request.body, PLATFORM)
            return [initiation_failed(failure.data)]
        return []  # post_call_audio and types outbound does not read

    def _ended(self, conversation: Conversation) -> ProviderEvent:
        reason = end_reason(conversation)
        metadata = conversation.metadata or ConversationMetadata()
        result = self.result(conversation)
        outcome = conventions.outcome_of(reason, END_REASONS, connected=bool(result.transcript))
        return conventions.end_event(
            NAME,
            conversation.conversation_id,
            outcome,
            reason,
            duration_s=metadata.call_duration_secs,
            error=metadata.termination_reason if outcome is Outcome.FAILED else None,
            result=result,
        )

    def result(self, conversation: Conversation) -> ConversationResult:
        analysis = conversation.analysis or Analysis()
        metadata = conversation.metadata or ConversationMetadata()
        data = (
            {name: item.value for name, item in analysis.data_collection_results.items()}
            if analysis.data_collection_results
            else None
        )
        recording_url = (
            f"{self.base_url}/v1/convai/conversations/{conversation.conversation_id}/audio"
            if conversation.has_audio
            else None
        )
        return ConversationResult(
            disposition=conventions.disposition_of(data),
            summary=analysis.transcript_summary or None,
            data=data,
            transcript=tuple(
                Turn(ROLES.get(turn.role, turn.role), turn.message, turn.time_in_call_secs)
                for turn in conversation.transcript
                if turn.message
            ),
            recording_url=recording_url,
            cost=Cost(metadata.cost_fiat, "USD") if metadata.cost_fiat is not None else None,
            ended_reason=metadata.termination_reason or conversation.status,
            callback_at=conventions.callback_at_of(data),
            success=CALL_SUCCESSFUL.get(analysis.call_successful or ""),
        )


def outbound_call_request(
    request: CallRequest, agent_id: str, phone_number_id: str
) -> OutboundCallRequest:
    variables = dynamic_variables(request.variables)
    variables.update(outbound_call_id=str(request.call_id), outbound_attempt=request.attempt_number)
    if request.playbook.voicemail_message:
        variables["voicemail_message"] = request.playbook.voicemail_message
    first_message = request.playbook.first_message
    return OutboundCallRequest(
        agent_id=agent_id,
        agent_phone_number_id=phone_number_id,
        to_number=request.to,
        conversation_initiation_client_data=ClientData(
            dynamic_variables=variables,
            conversation_config_override=(
                ConversationConfigOverride(agent=AgentOverride(first_message=first_message))
                if first_message
                else None
            ),
        ),
    )


def dynamic_variables(variables: Mapping[str, Any]) -> dict[str, str | int | float | bool]:
    """The contact's variables as ElevenLabs takes them: scalars as they are, others as JSON
    text, unknown ones (None) left out."""
    out: dict[str, str | int | float | bool] = {}
    for name, value in variables.items():
        if value is None:
            continue
        out[name] = value if isinstance(value, str | int | float | bool) else json.dumps(value)
    return out


def end_reason(conversation: Conversation) -> str:
    """Why the conversation ended, as a key of ``END_REASONS``."""
    for turn in conversation.transcript:
        if any(call.tool_name == VOICEMAIL_TOOL for call in turn.tool_calls or ()):
            return VOICEMAIL_TOOL
    return conversation.status


def initiation_failed(failure: InitiationFailure) -> ProviderEvent:
    """A call that never connected: its outcome, and the telephony's own report as the error."""
    body = (failure.metadata.body if failure.metadata else None) or {}
    detail = body.get("sip_status_code") or body.get("CallStatus") or body.get("error_reason")
    reason = failure.failure_reason
    return conventions.end_event(
        NAME,
        failure.conversation_id,
        conventions.outcome_of(reason, END_REASONS, connected=False),
        reason,
        error=f"{reason}: {detail}" if detail else reason,
    )


def error_message(response: httpx.Response) -> str | None:
    """ElevenLabs' error text: ``{"detail": {"status", "message"}}``, ``{"detail": "..."}``
    or, for a request that fails validation (422), ``{"detail": [{"loc", "msg"}...]}``."""
    body = conventions.json_or_none(response)
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, dict):
        return str(detail.get("message") or detail.get("status") or "") or None
    if isinstance(detail, list):
        return "; ".join(
            f"{'.'.join(map(str, item.get('loc', [])))}: {item.get('msg')}"
            for item in detail
            if isinstance(item, dict)
        )
    return str(detail) if detail else None
