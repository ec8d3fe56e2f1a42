"""Vapi: each attempt is one outbound phone call of a Vapi assistant, from a Vapi phone number.

Documentation followed (and the OpenAPI document it is generated from, github.com/VapiAI/docs
``fern/apis/api/openapi.json``):

- create a call: https://docs.vapi.ai/api-reference/calls/create and
  https://docs.vapi.ai/calls/outbound-calling (``POST /call``);
- concurrency: https://docs.vapi.ai/calls/call-concurrency (``subscriptionLimits``);
- get a call: https://docs.vapi.ai/api-reference/calls/get (``GET /call/{id}``);
- server messages: https://docs.vapi.ai/server-url/events and
  https://docs.vapi.ai/server-url/end-of-call-report (``status-update``,
  ``end-of-call-report``);
- their authentication: https://docs.vapi.ai/server-url/server-authentication;
- ended reasons: https://docs.vapi.ai/calls/call-ended-reason.

**Placing a call.** ``POST /call`` with the playbook's ``assistantId`` and ``phoneNumberId``,
``customer.number`` (the contact's phone) and ``assistantOverrides``: ``variableValues`` (the
contact's variables, for the assistant's ``{{...}}`` templates), ``firstMessage`` (the
playbook's rendered first message, when it has one), ``voicemailMessage`` (the playbook's
rendered voicemail message, when it leaves one) and ``metadata`` (``conventions.call_metadata``:
Vapi documents no idempotency key, so the attempt's key travels there). A ``201`` whose
``subscriptionLimits.concurrencyBlocked`` is true is a concurrency refusal.

**Webhooks.** Vapi posts its server messages, ``{"message": {"type", "call", ...}}``, to the
assistant's (or the phone number's) server URL. Each is verified with the connection's
``webhook_secret`` by whichever of Vapi's documented schemes the server credential uses: the
secret in ``X-Vapi-Secret`` (the legacy ``secret`` and the "Bearer Token" credential with that
header and no prefix), ``Authorization: Bearer <secret>`` (the "Bearer Token" credential's
default), or the "HMAC" credential with its defaults (``x-signature``: hex HMAC-SHA256 of
``"<x-timestamp>.<body>"``; a ``sha256=`` prefix is accepted; the timestamp in seconds or
milliseconds, within five minutes). A secret is the same on every request (no replay key); an
HMAC signature is good once.

| Vapi sends | recorded |
|---|---|
| ``status-update`` ``ringing`` / ``in-progress`` | ``ringing`` / ``answered`` |
| ``end-of-call-report`` | ``ended``: its outcome (``END_REASONS``) and result; or ``unplaced`` |
| anything else (``status-update`` ``ended`` included: the report follows it) | nothing |

**The result.** ``artifact.messages`` become the transcript (``bot``/``assistant`` turns are the
agent's, ``user`` turns the contact's, ``at_s`` is ``secondsFromStart``; system prompts and tool
messages are left out); ``analysis.summary``, ``analysis.structuredData`` (the playbook's
disposition in its ``disposition`` field, a callback time in ``callback_at``: see
``conventions``), ``analysis.successEvaluation`` (``true``/``pass`` or ``false``/``fail``; any
other rubric's verdict is left unknown), the recording (``artifact.recording.mono.combinedUrl``),
``cost`` (USD) and ``endedReason``. ``voicemail_left`` is true for a ``voicemail`` end of a call
given a ``voicemailMessage``.

**Why httpx and not Vapi's SDK** (``vapi_server_sdk``): it is generated, typed and has an async
client, but it pins ``pydantic-core<2.44`` (outbound runs a newer one), covers hundreds of
endpoints for the two we use, and retries on its own where outbound must decide. The payloads
read here are pydantic models of the documented fields, the rest ignored.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field

from outbound.domain.connections import ConnectionType
from outbound.domain.results import ConversationResult, Cost, Turn
from outbound.domain.statuses import Outcome
from outbound.providers.base import CallHandle, CallRequest
from outbound.providers.callbacks import CallbackRequest, EventKind, ProviderEvent
from outbound.providers.errors import InvalidCallback, MalformedCallback, ProviderUnavailable
from outbound.providers.platforms import conventions
from outbound.providers.platforms.base import PlatformAdapter

NAME = ConnectionType.VAPI.value
PLATFORM = "Vapi"
DEFAULT_API_BASE_URL = "https://api.vapi.ai"
SECRET_HEADER = "X-Vapi-Secret"
HMAC_SIGNATURE_HEADER = "x-signature"  # HMACAuthenticationPlan's defaults
HMAC_TIMESTAMP_HEADER = "x-timestamp"
HMAC_PREFIX = "sha256="
MILLISECONDS_AFTER = 10**11  # a timestamp this large is in milliseconds (year 5138 in seconds)

# endedReason values, https://docs.vapi.ai/calls/call-ended-reason. None: Vapi (or its carrier)
# had no room for the call, which was never placed. A reason not named here (a provider's
# pipeline error, worker-shutdown, a dropped transport...) is answered when the call has a
# transcript and failed when it has none (conventions.outcome_of).
END_REASONS: dict[str, Outcome | None] = {
    # the callee
    "customer-did-not-answer": Outcome.NO_ANSWER,
    "customer-busy": Outcome.BUSY,
    "voicemail": Outcome.VOICEMAIL,
    "customer-ended-call": Outcome.ANSWERED,
    "customer-ended-call-before-warm-transfer": Outcome.ANSWERED,
    "customer-ended-call-after-warm-transfer-attempt": Outcome.ANSWERED,
    "customer-ended-call-during-transfer": Outcome.ANSWERED,
    # the assistant, or a limit, ended a conversation
    "assistant-ended-call": Outcome.ANSWERED,
    "assistant-ended-call-after-message-spoken": Outcome.ANSWERED,
    "assistant-ended-call-with-hangup-task": Outcome.ANSWERED,
    "assistant-said-end-call-phrase": Outcome.ANSWERED,
    "assistant-forwarded-call": Outcome.ANSWERED,
    "exceeded-max-duration": Outcome.ANSWERED,
    "silence-timed-out": Outcome.ANSWERED,
    "call.forwarding.operator-busy": Outcome.ANSWERED,
    # the platform was full: not the callee's doing, the attempt is not spent
    "call.start.error-subscription-concurrency-limit-reached": None,
    "call.in-progress.error-vapifault-worker-not-available": None,
    "call.start.error-vapi-number-outbound-daily-limit": None,
    "call.in-progress.error-providerfault-outbound-sip-503-service-unavailable": None,
    # the carrier rang without an answer
    "call.in-progress.error-providerfault-outbound-sip-408-request-timeout": Outcome.NO_ANSWER,
    "call.in-progress.error-providerfault-outbound-sip-480-temporarily-unavailable": (
        Outcome.NO_ANSWER
    ),
    # the call could not start or connect
    "call.in-progress.error-providerfault-outbound-sip-403-forbidden": Outcome.FAILED,
    "call.in-progress.error-providerfault-outbound-sip-407-proxy-authentication-required": (
        Outcome.FAILED
    ),
    "call.in-progress.error-sip-outbound-call-failed-to-connect": Outcome.FAILED,
    "twilio-failed-to-connect-call": Outcome.FAILED,
    "twilio-reported-customer-misdialed": Outcome.FAILED,
    "vonage-failed-to-connect-call": Outcome.FAILED,
    "vonage-rejected": Outcome.FAILED,
    "assistant-join-timed-out": Outcome.FAILED,
    "call-start-error-neither-assistant-nor-server-set": Outcome.FAILED,
    "assistant-not-found": Outcome.FAILED,
    "assistant-not-valid": Outcome.FAILED,
    "assistant-request-failed": Outcome.FAILED,
    "assistant-request-returned-error": Outcome.FAILED,
    "assistant-request-returned-unspeakable-error": Outcome.FAILED,
    "assistant-request-returned-invalid-assistant": Outcome.FAILED,
    "assistant-request-returned-no-assistant": Outcome.FAILED,
    "assistant-request-returned-forwarding-phone-number": Outcome.FAILED,
    "call.start.error-get-org": Outcome.FAILED,  # as the ended-reason page spells them
    "call.start.error-get-subscription": Outcome.FAILED,
    "call.start.error-vapifault-get-org": Outcome.FAILED,  # as the API's enum does
    "call.start.error-vapifault-get-subscription": Outcome.FAILED,
    "call.start.error-get-assistant": Outcome.FAILED,
    "call.start.error-get-phone-number": Outcome.FAILED,
    "call.start.error-get-customer": Outcome.FAILED,
    "call.start.error-get-resources-validation": Outcome.FAILED,
    "call.start.error-get-transport": Outcome.FAILED,
    "call.start.error-vapifault-database-error": Outcome.FAILED,
    "call.start.error-vapi-number-international": Outcome.FAILED,
    "call.start.error-subscription-frozen": Outcome.FAILED,
    "call.start.error-subscription-insufficient-credits": Outcome.FAILED,
    "call.start.error-subscription-wallet-does-not-exist": Outcome.FAILED,
    "call.start.error-subscription-upgrade-failed": Outcome.FAILED,
    "call.start.error-fraud-check-failed": Outcome.FAILED,
    "call.start.error-enterprise-feature-not-available-recording-consent": Outcome.FAILED,
    "call.start.assistant-version-error-validation": Outcome.FAILED,
    "scheduled-call-deleted": Outcome.FAILED,
    "call-deleted": Outcome.FAILED,
}
PROGRESS: dict[str, EventKind] = {"ringing": "ringing", "in-progress": "answered"}
AGENT_ROLES = frozenset({"bot", "assistant"})
CONTACT_ROLES = frozenset({"user"})
UNSPOKEN_ROLES = frozenset({"system", "tool_calls", "tool_call_result", "tool"})
SUCCESS = {"true": True, "pass": True, "passed": True, "false": False, "fail": False}


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class VapiMessage(_Model):
    """One of ``artifact.messages`` (UserMessage, BotMessage, SystemMessage, tool messages)."""

    role: str
    message: str | None = None
    seconds_from_start: float | None = Field(None, alias="secondsFromStart")


class VapiMono(_Model):
    combined_url: str | None = Field(None, alias="combinedUrl")


class VapiRecording(_Model):
    mono: VapiMono | None = None
    stereo_url: str | None = Field(None, alias="stereoUrl")


class VapiArtifact(_Model):
    messages: list[VapiMessage] = []
    recording: VapiRecording | None = None
    recording_url: str | None = Field(None, alias="recordingUrl")  # deprecated by Vapi


class VapiAnalysis(_Model):
    summary: str | None = None
    structured_data: dict[str, Any] | None = Field(None, alias="structuredData")
    success_evaluation: str | None = Field(None, alias="successEvaluation")


class VapiAssistantOverrides(_Model):
    metadata: dict[str, Any] | None = None


class VapiSubscriptionLimits(_Model):
    concurrency_blocked: bool = Field(False, alias="concurrencyBlocked")


class VapiCall(_Model):
    """The Call object of ``POST /call``, ``GET /call/{id}`` and server messages."""

    id: str = Field(min_length=1)
    status: str | None = None
    ended_reason: str | None = Field(None, alias="endedReason")
    started_at: datetime | None = Field(None, alias="startedAt")
    ended_at: datetime | None = Field(None, alias="endedAt")
    cost: float | None = None
    messages: list[VapiMessage] = []
    artifact: VapiArtifact | None = None
    analysis: VapiAnalysis | None = None
    assistant_overrides: VapiAssistantOverrides | None = Field(None, alias="assistantOverrides")
    subscription_limits: VapiSubscriptionLimits | None = Field(None, alias="subscriptionLimits")


class VapiServerMessage(_Model):
    """A server message; the fields of ``status-update`` and ``end-of-call-report``."""

    type: str
    call: VapiCall | None = None
    status: str | None = None
    ended_reason: str | None = Field(None, alias="endedReason")
    started_at: datetime | None = Field(None, alias="startedAt")
    ended_at: datetime | None = Field(None, alias="endedAt")
    cost: float | None = None
    artifact: VapiArtifact | None = None
    analysis: VapiAnalysis | None = None

    def reported_call(self) -> VapiCall:
        """The message's call, completed by the report's own fields (which win)."""
        if self.call is None:
            raise MalformedCallback(
                f"a {self.type} message without its call",
                errors=[{"field": "message.call", "reason": "required"}],
            )
        reported = {
            name: value
            for name in ("ended_reason", "started_at", "ended_at", "cost", "artifact", "analysis")
            if (value := getattr(self, name)) is not None
        }
        return self.call.model_copy(update=reported)


class VapiWebhook(_Model):
    message: VapiServerMessage


class VapiAdapter(PlatformAdapter):
    type = ConnectionType.VAPI
    default_api_base_url = DEFAULT_API_BASE_URL

    @property
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.connection.credentials['api_key']}"}

    async def place_call(self, request: CallRequest) -> CallHandle:
        response = await self._send("POST", "/call", create_call_body(request))
        call = conventions.read_answer(VapiCall, response, PLATFORM)
        if call.subscription_limits and call.subscription_limits.concurrency_blocked:
            raise ProviderUnavailable(
                f"{PLATFORM} blocked the call: its concurrency limit is reached"
            )
        return CallHandle(call.id)

    async def fetch_call(self, provider_call_id: str) -> list[ProviderEvent]:
        response = await self._send("GET", f"/call/{quote(provider_call_id, safe='')}")
        call = conventions.read_answer(VapiCall, response, PLATFORM)
        return ended_events(call) if call.status == "ended" else []

    async def _send(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> httpx.Response:
        return await conventions.send(
            self._http, PLATFORM, method, self.base_url + path, self._headers, error_message, body
        )

    def authenticate(self, request: CallbackRequest, now: datetime) -> str | None:
        secret = self.connection.credentials["webhook_secret"]
        signature = request.header(HMAC_SIGNATURE_HEADER)
        if signature is not None:
            return _verify_hmac(secret, signature, request, now)
        given = request.header(SECRET_HEADER) or _bearer(request.header("Authorization"))
        if given is None or not conventions.constant_time_equal(secret, given):
            raise InvalidCallback(f"missing or invalid {SECRET_HEADER}")
        return None  # the same secret on every request: nothing makes one single-use

    def parse_callback(self, request: CallbackRequest) -> list[ProviderEvent]:
        message = conventions.read_webhook(VapiWebhook, request.body, PLATFORM).message
        if message.type == "end-of-call-report":
            return ended_events(message.reported_call())
        if message.type == "status-update" and message.status in PROGRESS:
            return [ProviderEvent(NAME, message.reported_call().id, PROGRESS[message.status])]
        return []


def create_call_body(request: CallRequest) -> dict[str, Any]:
    """The ``POST /call`` body of one attempt."""
    fields = conventions.provider_fields(request, PLATFORM, "assistant_id", "phone_number_id")
    overrides: dict[str, Any] = {"variableValues": dict(request.variables)}
    if request.playbook.first_message:
        overrides["firstMessage"] = request.playbook.first_message
    if request.playbook.voicemail_message:
        overrides["voicemailMessage"] = request.playbook.voicemail_message
    overrides["metadata"] = conventions.call_metadata(request)
    return {
        "assistantId": fields["assistant_id"],
        "phoneNumberId": fields["phone_number_id"],
        "customer": {"number": request.to},
        "assistantOverrides": overrides,
    }


def error_message(response: httpx.Response) -> str | None:
    """Vapi's error text: ``{"message": str | [str], "error", "statusCode"}``."""
    body = conventions.json_or_none(response)
    message = body.get("message") if isinstance(body, dict) else None
    if isinstance(message, list):
        return "; ".join(map(str, message))
    return str(message) if message else None


def ended_events(call: VapiCall) -> list[ProviderEvent]:
    """The events of a call Vapi reports ended: its end and its result."""
    artifact = call.artifact or VapiArtifact()
    transcript = transcript_of(artifact.messages or call.messages)
    reason = call.ended_reason
    outcome = conventions.outcome_of(reason, END_REASONS, connected=bool(transcript))
    analysis = call.analysis or VapiAnalysis()
    data = analysis.structured_data
    metadata = call.assistant_overrides.metadata if call.assistant_overrides else None
    result = ConversationResult(
        disposition=conventions.disposition_of(data),
        summary=analysis.summary,
        data=data,
        transcript=transcript,
        recording_url=_recording_url(artifact),
        cost=Cost(call.cost) if call.cost is not None else None,
        ended_reason=reason,
        callback_at=conventions.callback_at_of(data),
        voicemail_left=(
            True
            if outcome is Outcome.VOICEMAIL and conventions.leaves_voicemail(metadata)
            else None
        ),
        success=SUCCESS.get((analysis.success_evaluation or "").strip().lower()),
    )
    duration = (
        (call.ended_at - call.started_at).total_seconds()
        if call.started_at and call.ended_at
        else None
    )
    return [
        conventions.end_event(NAME, call.id, outcome, reason, duration_s=duration, result=result)
    ]


def transcript_of(messages: Sequence[VapiMessage]) -> tuple[Turn, ...]:
    turns = []
    for message in messages:
        if message.role in UNSPOKEN_ROLES or not message.message:
            continue
        role = (
            "agent"
            if message.role in AGENT_ROLES
            else "contact"
            if message.role in CONTACT_ROLES
            else message.role
        )
        turns.append(Turn(role, message.message, message.seconds_from_start))
    return tuple(turns)


def _recording_url(artifact: VapiArtifact) -> str | None:
    recording = artifact.recording
    if recording and recording.mono and recording.mono.combined_url:
        return recording.mono.combined_url
    return artifact.recording_url or (recording.stereo_url if recording else None)


def _bearer(header: str | None) -> str | None:
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def _verify_hmac(secret: str, signature: str, request: CallbackRequest, now: datetime) -> str:
    """Vapi's HMAC credential with its defaults; the signature is the replay key."""
    timestamp = request.header(HMAC_TIMESTAMP_HEADER)
    try:
        sent = float(timestamp or "")
    except ValueError as exc:
        raise InvalidCallback(f"missing or invalid {HMAC_TIMESTAMP_HEADER}") from exc
    conventions.check_fresh(
        sent / 1000 if sent >= MILLISECONDS_AFTER else sent, now, HMAC_SIGNATURE_HEADER
    )
    expected = conventions.hmac_sha256_hex(secret, f"{timestamp}.".encode() + request.body)
    if not conventions.constant_time_equal(expected, signature.removeprefix(HMAC_PREFIX)):
        raise InvalidCallback(f"invalid {HMAC_SIGNATURE_HEADER}")
    return signature
