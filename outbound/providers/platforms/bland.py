"""Bland: outbound calls of a Bland pathway or task prompt.

Documentation followed:

- Send Call, ``POST /v1/calls`` (``phone_number``, ``from``, ``pathway_id`` or ``task``,
  ``first_sentence``, ``request_data``, ``metadata``, ``webhook``, the voicemail parameters,
  ``answered_by_enabled``, ``analysis_schema``, ``max_duration``):
  https://docs.bland.ai/api-v1/post/calls
- Call Details, ``GET /v1/calls/{call_id}`` (``completed``, ``queue_status``, ``status``,
  ``answered_by``, ``call_ended_by``, ``transcripts``, ``summary``, ``variables``,
  ``analysis``, ``price``, ``recording_url``, ``metadata``, ``error_message``):
  https://docs.bland.ai/api-v1/get/calls-id
- post-call webhooks (the call's details, posted to the Send Call ``webhook`` when it ends):
  https://docs.bland.ai/tutorials/post-call-webhooks
- webhook signing (``X-Webhook-Signature``: hex HMAC-SHA256 of the body with the account's
  webhook signing secret): https://docs.bland.ai/tutorials/webhook-signing

**httpx, not an SDK.** Bland publishes no maintained, typed Python SDK (its tools are a CLI and
an MCP server); pydantic models of the documented payloads below are the client.

What travels: the contact's variables as ``request_data`` (the agent sees them and the prompt
names them as ``{{name}}``); the playbook's rendered ``first_message`` as ``first_sentence``,
its ``voice`` and ``language`` when set; its voicemail as ``voicemail_action`` (``hangup``, or
``leave_message`` with ``voicemail_message``) with ``answered_by_enabled`` so that Bland says
who answered; its data fields and, when it declares dispositions, a ``disposition`` field, as
the ``analysis_schema`` Bland fills after the call; ``max_duration`` from the connection's
``max_call_seconds``; and ``metadata`` naming the attempt (``conventions.call_metadata``: Bland
takes no idempotency key, so the attempt's key travels there, with whether the call was given a
voicemail message). The call's ``webhook`` is the connection's ``webhook_url``.

The result: the transcripts (``assistant`` is the agent, ``user`` the contact; ``at_s`` counts
from ``started_at``; ``agent-action`` lines are not speech and are left out), the summary, the
``analysis`` as ``data`` (``disposition`` and ``callback_at`` by outbound's convention, see
``conventions``, read from the analysis, else from the call's ``variables``, where a pathway's
extracted variables land), ``price`` as the cost in USD, ``recording_url``, and, when Bland
heard a voicemail, ``voicemail_left``: whether outbound asked it to leave a message (outbound
tells Bland to hang up otherwise, so a voicemail without one left nothing).

Refusals are read as ``conventions`` reads every platform's; a ``200`` whose ``status`` is not
``success`` is a refusal with Bland's message.
"""

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

from outbound.domain.connections import ConnectionType
from outbound.domain.dispositions import DataField, DataType
from outbound.domain.results import ConversationResult, Cost, Turn
from outbound.domain.statuses import Outcome
from outbound.providers.base import CallHandle, CallRequest
from outbound.providers.callbacks import CallbackRequest, ProviderEvent
from outbound.providers.errors import InvalidCallback
from outbound.providers.platforms import conventions
from outbound.providers.platforms.base import PlatformAdapter

NAME = ConnectionType.BLAND.value
PLATFORM = "Bland"
API_BASE_URL = "https://api.bland.ai"
SIGNATURE_HEADER = "X-Webhook-Signature"

# Why a call ended, in Bland's words: who answered (``answered_by``, when the call was sent
# with ``answered_by_enabled``), else the call's ``queue_status`` or ``status``.
END_REASONS: dict[str, Outcome | None] = {
    "human": Outcome.ANSWERED,  # answered_by: a person answered
    "unknown": Outcome.ANSWERED,  # answered_by: too little audio to tell; "most likely a human"
    "voicemail": Outcome.VOICEMAIL,  # answered_by: an answering machine or voicemail
    "no-answer": Outcome.NO_ANSWER,  # answered_by: nobody answered
    "completed": Outcome.ANSWERED,  # status / queue_status: the call took place
    "complete": Outcome.ANSWERED,  # queue_status: the call ended successfully
    "complete_error": Outcome.ANSWERED,  # queue_status: an error after the call (e.g. a webhook)
    "pre_queue_error": Outcome.FAILED,  # queue_status: refused before queueing (bad parameters)
    "queue_error": Outcome.FAILED,  # queue_status: e.g. a valid number in an unserviced area
    "call_error": Outcome.FAILED,  # queue_status: an error during the live call
    "failed": Outcome.FAILED,  # status
}
ROLES = {"assistant": "agent", "user": "contact"}
NOT_SPEECH = frozenset({"agent-action"})
ANALYSIS_TYPES = {  # a data field's type as Bland's analysis_schema names it
    DataType.STRING: "string",
    DataType.NUMBER: "number",
    DataType.INTEGER: "integer",
    DataType.BOOLEAN: "boolean",
    DataType.DATETIME: "YYYY-MM-DDTHH:MM:SSZ",
}


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class SendCall(_Payload):
    phone_number: str
    from_: str | None = Field(None, serialization_alias="from")
    pathway_id: str | None = None
    task: str | None = None
    first_sentence: str | None = None
    voice: str | None = None
    language: str | None = None
    request_data: dict[str, Any]
    metadata: dict[str, Any]
    webhook: str | None = None
    answered_by_enabled: bool = True
    voicemail_action: Literal["hangup", "leave_message"]
    voicemail_message: str | None = None
    analysis_schema: dict[str, str] | None = None
    max_duration: int  # minutes


class SendCallResponse(_Payload):
    status: str
    call_id: str | None = None
    message: str | None = None


class TranscriptLine(_Payload):
    text: str | None = None
    user: str
    created_at: datetime | None = None


class CallDetails(_Payload):
    """A call as Call Details shows it, and as the post-call webhook posts it."""

    call_id: str
    completed: bool | None = None
    status: str | None = None
    queue_status: str | None = None
    answered_by: str | None = None
    call_ended_by: str | None = None
    error_message: str | None = None
    started_at: datetime | None = None
    corrected_duration: float | None = None  # seconds (a numeric string)
    call_length: float | None = None  # minutes
    transcripts: list[TranscriptLine] | None = None
    summary: str | None = None
    variables: dict[str, Any] | None = None
    analysis: dict[str, Any] | None = None
    price: float | None = None  # USD
    recording_url: str | None = None
    metadata: dict[str, Any] | None = None


class BlandAdapter(PlatformAdapter):
    type = ConnectionType.BLAND
    default_api_base_url = API_BASE_URL

    @property
    def _headers(self) -> dict[str, str]:
        return {"authorization": self.connection.credentials["api_key"]}

    async def place_call(self, request: CallRequest) -> CallHandle:
        body = send_call(
            request,
            max_minutes=math.ceil(self.max_call_seconds / 60),
            webhook=self.connection.webhook_url,
        )
        response = await conventions.send(
            self._http,
            PLATFORM,
            "POST",
            self.base_url + "/v1/calls",
            self._headers,
            error_message,
            body.model_dump(exclude_none=True, by_alias=True),
        )
        sent = conventions.read_answer(SendCallResponse, response, PLATFORM)
        if sent.status != "success" or not sent.call_id:
            message = sent.message or sent.status
            raise conventions.refusal(PLATFORM, response.status_code, message)
        return CallHandle(sent.call_id)

    async def fetch_call(self, provider_call_id: str) -> list[ProviderEvent]:
        response = await conventions.http_request(
            self._http,
            PLATFORM,
            "GET",
            f"{self.base_url}/v1/calls/{provider_call_id}",
            self._headers,
        )
        if response.status_code == 404:
            why = f"{PLATFORM} knows no call {provider_call_id}"
            return [conventions.lost_event(NAME, provider_call_id, why)]
        conventions.refuse(PLATFORM, response, error_message)
        call = conventions.read_answer(CallDetails, response, PLATFORM)
        return ended(call) if call.completed else []

    def authenticate(self, request: CallbackRequest, now: datetime) -> None:
        # Bland signs the body alone, with no timestamp: a webhook sent again (Bland's resend)
        # is the same request, accepted again and recorded once.
        given = request.header(SIGNATURE_HEADER) or ""
        secret = self.connection.credentials["webhook_secret"]
        expected = conventions.hmac_sha256_hex(secret, request.body)
        if not given or not conventions.constant_time_equal(expected, given.strip().lower()):
            raise InvalidCallback(f"missing or invalid {SIGNATURE_HEADER}")

    def parse_callback(self, request: CallbackRequest) -> list[ProviderEvent]:
        call = conventions.read_webhook(CallDetails, request.body, PLATFORM)
        return ended(call) if call.completed is not False else []


def send_call(request: CallRequest, max_minutes: int, webhook: str | None) -> SendCall:
    playbook = request.playbook
    fields = playbook.provider or {}
    leave_message = bool(playbook.voicemail_message)
    return SendCall(
        phone_number=request.to,
        from_=fields.get("from_number") or request.from_,
        pathway_id=fields.get("pathway_id"),
        task=None if fields.get("pathway_id") else fields.get("task"),
        first_sentence=playbook.first_message,
        voice=playbook.voice,
        language=playbook.language,
        request_data=dict(request.variables),
        metadata=conventions.call_metadata(request),
        webhook=webhook,
        voicemail_action="leave_message" if leave_message else "hangup",
        voicemail_message=playbook.voicemail_message if leave_message else None,
        analysis_schema=analysis_schema(playbook.data_fields, bool(playbook.dispositions)),
        max_duration=max_minutes,
    )


def analysis_schema(
    data_fields: tuple[DataField, ...], dispositions: bool
) -> dict[str, str] | None:
    """What Bland extracts after the call: the playbook's data fields, and its disposition."""
    schema = {field.name: ANALYSIS_TYPES[field.type] for field in data_fields}
    if dispositions:
        schema.setdefault(conventions.DISPOSITION_FIELD, "string")
    return schema or None


def end_reason(call: CallDetails) -> str:
    """Why the call ended, as a key of ``END_REASONS`` when Bland says it in those words."""
    for reason in (call.answered_by, call.queue_status, call.status):
        if reason in END_REASONS:
            return reason
    return call.answered_by or call.queue_status or call.status or "unknown status"


def ended(call: CallDetails) -> list[ProviderEvent]:
    reason = end_reason(call)
    transcript = transcript_of(call)
    outcome = conventions.outcome_of(reason, END_REASONS, connected=bool(transcript))
    duration = call.corrected_duration
    if duration is None and call.call_length is not None:
        duration = call.call_length * 60
    return [
        conventions.end_event(
            NAME,
            call.call_id,
            outcome,
            reason,
            duration_s=duration,
            answered_by=call.answered_by,
            error=call.error_message if outcome is Outcome.FAILED else None,
            result=result(call, outcome, transcript),
        )
    ]


def result(
    call: CallDetails, outcome: Outcome | None, transcript: tuple[Turn, ...]
) -> ConversationResult:
    extracted: Mapping[str, Any] = {**(call.variables or {}), **(call.analysis or {})}
    return ConversationResult(
        disposition=conventions.disposition_of(extracted),
        summary=call.summary or None,
        data=call.analysis or None,
        transcript=transcript,
        recording_url=call.recording_url,
        cost=Cost(call.price, "USD") if call.price is not None else None,
        ended_reason=call.call_ended_by or call.error_message or call.answered_by or call.status,
        callback_at=conventions.callback_at_of(extracted),
        voicemail_left=(
            conventions.leaves_voicemail(call.metadata) if outcome is Outcome.VOICEMAIL else None
        ),
    )


def transcript_of(call: CallDetails) -> tuple[Turn, ...]:
    return tuple(
        Turn(ROLES.get(line.user, line.user), line.text, _seconds_since(call, line))
        for line in call.transcripts or ()
        if line.text and line.user not in NOT_SPEECH
    )


def _seconds_since(call: CallDetails, line: TranscriptLine) -> float | None:
    if call.started_at is None or line.created_at is None:
        return None
    return round((line.created_at - call.started_at).total_seconds(), 3)


def error_message(response: httpx.Response) -> str | None:
    """Bland's error text: ``{"status": "error", "message"}`` or ``{"errors": [{"message"}]}``."""
    body = conventions.json_or_none(response)
    if not isinstance(body, dict):
        return None
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("message") or errors[0].get("error") or "") or None
    message = body.get("message")
    return str(message) if message else None
