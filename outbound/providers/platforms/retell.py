"""Retell: each attempt is one outbound phone call of a Retell agent, from a Retell number.

Documentation followed (and the types of Retell's SDK, generated from its OpenAPI document,
github.com/RetellAI/retell-python-sdk ``src/retell/types``):

- create a call: https://docs.retellai.com/api-references/create-phone-call
  (``POST /v2/create-phone-call``);
- get a call: https://docs.retellai.com/api-references/get-call (``GET /v2/get-call/{id}``);
- webhooks: https://docs.retellai.com/features/webhook-overview (``call_started``,
  ``call_ended``, ``call_analyzed``);
- their signature: https://docs.retellai.com/features/secure-webhook, as the SDK's ``verify``
  computes it (``src/retell/lib/webhook_auth.py``);
- disconnection reasons: https://docs.retellai.com/reliability/debug-call-disconnect.

**Placing a call.** ``POST /v2/create-phone-call`` with ``from_number`` and
``override_agent_id`` (the playbook's ``from_number`` and ``agent_id``), ``to_number`` (the
contact's phone), ``retell_llm_dynamic_variables`` (the contact's variables, each as a string
as Retell requires: ``true``/``false``, numbers as written, objects as JSON, null as empty),
``metadata`` (``conventions.call_metadata``: Retell documents no idempotency key, so the
attempt's key travels there) and, when the playbook leaves a voicemail message,
``agent_override.agent.voicemail_option`` speaking it (``static_text``). The agent's own begin
message and prompt are used: they may refer to the contact's variables as ``{{name}}``.

**Webhooks.** Retell posts ``{"event", "call"}`` to the agent's (or the account's) webhook
URL, signed with the API key: ``X-Retell-Signature: v=<unix ms>,d=<hex HMAC-SHA256 of the raw
body followed by the timestamp>``, good for five minutes. A signature is good once (its replay
key).

| Retell sends | recorded |
|---|---|
| ``call_started`` (the call connected) | ``answered`` |
| ``call_ended`` | ``ended``: its outcome (``END_REASONS``) and the transcript; or ``unplaced`` |
| ``call_analyzed`` | ``result``: the summary, data, success, disposition and callback |
| anything else (``transcript_updated``, ``transfer_*``) | nothing |

**The result.** ``transcript_object`` becomes the transcript (``agent`` and ``user`` turns,
``at_s`` the first word's start); ``recording_url``; ``call_cost.combined_cost`` (cents, so
divided by 100: USD); ``disconnection_reason`` is ``ended_reason``. The later
``call_analysis`` gives ``call_summary``, ``custom_analysis_data`` as ``data`` (the playbook's
disposition in its ``disposition`` field, a callback time in ``callback_at``: see
``conventions``) and ``call_successful``. ``voicemail_left`` is true for a
``voicemail_reached`` end of a call given a voicemail message.

**Why httpx and not Retell's SDK** (``retell-sdk``): it is generated, typed and async, but
outbound uses two endpoints and the webhook check, the SDK retries on its own where outbound
must decide, and its ``verify`` is untyped; the payloads read here are pydantic models of the
documented fields, the rest ignored.
"""

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel, Field

from outbound.domain.connections import ConnectionType
from outbound.domain.results import ConversationResult, Cost, Turn
from outbound.domain.statuses import Outcome
from outbound.providers.base import CallHandle, CallRequest
from outbound.providers.callbacks import CallbackRequest, ProviderEvent
from outbound.providers.errors import InvalidCallback
from outbound.providers.platforms import conventions
from outbound.providers.platforms.base import PlatformAdapter

NAME = ConnectionType.RETELL.value
PLATFORM = "Retell"
DEFAULT_API_BASE_URL = "https://api.retellai.com"
SIGNATURE_HEADER = "X-Retell-Signature"
SIGNATURE = re.compile(r"v=(\d+),d=([0-9a-f]{64})")  # as the SDK's verify reads it
CENTS_PER_DOLLAR = 100
ENDED_STATUSES = frozenset({"ended", "not_connected", "error"})  # call_status once it is over

# disconnection_reason values, https://docs.retellai.com/reliability/debug-call-disconnect.
# None: Retell (or its carrier) had no room for the call, which was never placed. A reason not
# named here (error_*, manual_stopped, registered_call_timeout...) is answered when the call
# connected (status ended, a transcript or a duration) and failed when it never did.
END_REASONS: dict[str, Outcome | None] = {
    # a conversation took place
    "user_hangup": Outcome.ANSWERED,
    "agent_hangup": Outcome.ANSWERED,
    "call_transfer": Outcome.ANSWERED,
    "transfer_bridged": Outcome.ANSWERED,
    "transfer_cancelled": Outcome.ANSWERED,
    "call_take_over": Outcome.ANSWERED,
    "inactivity": Outcome.ANSWERED,
    "max_duration_reached": Outcome.ANSWERED,
    # a machine answered
    "voicemail_reached": Outcome.VOICEMAIL,
    "ivr_reached": Outcome.VOICEMAIL,
    # the callee did not take the call
    "dial_no_answer": Outcome.NO_ANSWER,
    "dial_busy": Outcome.BUSY,
    "user_declined": Outcome.BUSY,
    # the platform was full: not the callee's doing, the attempt is not spent
    "concurrency_limit_reached": None,
    "no_concurrency_fallback": None,
    "telephony_provider_unavailable": None,
    # the call could not be placed
    "dial_failed": Outcome.FAILED,
    "invalid_destination": Outcome.FAILED,
    "telephony_provider_permission_denied": Outcome.FAILED,
    "sip_routing_error": Outcome.FAILED,
    "marked_as_spam": Outcome.FAILED,
    "scam_detected": Outcome.FAILED,
    "no_valid_payment": Outcome.FAILED,
}
ROLES = {"agent": "agent", "user": "contact"}  # transfer_target is kept as given


class RetellWord(BaseModel):
    start: float | None = None  # seconds into the call


class RetellUtterance(BaseModel):
    role: str
    content: str
    words: list[RetellWord] = []


class RetellCallCost(BaseModel):
    combined_cost: float | None = None  # cents


class RetellCallAnalysis(BaseModel):
    call_summary: str | None = None
    call_successful: bool | None = None
    custom_analysis_data: dict[str, Any] | None = None


class RetellCall(BaseModel):
    """The call object of the API and the webhooks (V2PhoneCallResponse)."""

    call_id: str = Field(min_length=1)
    call_status: str | None = None
    disconnection_reason: str | None = None
    duration_ms: int | None = None
    transcript_object: list[RetellUtterance] | None = None
    recording_url: str | None = None
    call_cost: RetellCallCost | None = None
    call_analysis: RetellCallAnalysis | None = None
    metadata: dict[str, Any] | None = None


class RetellWebhook(BaseModel):
    event: str
    call: RetellCall


class RetellAdapter(PlatformAdapter):
    type = ConnectionType.RETELL
    default_api_base_url = DEFAULT_API_BASE_URL

    @property
    def _api_key(self) -> str:
        return self.connection.credentials["api_key"]

    async def place_call(self, request: CallRequest) -> CallHandle:
        response = await self._send("POST", "/v2/create-phone-call", create_call_body(request))
        return CallHandle(conventions.read_answer(RetellCall, response, PLATFORM).call_id)

    async def fetch_call(self, provider_call_id: str) -> list[ProviderEvent]:
        response = await self._send("GET", f"/v2/get-call/{quote(provider_call_id, safe='')}")
        call = conventions.read_answer(RetellCall, response, PLATFORM)
        if call.call_status not in ENDED_STATUSES:
            return []
        return [_end_event(call, ended_result(call).merged(analysis_result(call)))]

    async def _send(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._api_key}"}  # the key also signs webhooks
        return await conventions.send(
            self._http, PLATFORM, method, self.base_url + path, headers, error_message, body
        )

    def authenticate(self, request: CallbackRequest, now: datetime) -> str:
        signature = request.header(SIGNATURE_HEADER) or ""
        match = SIGNATURE.fullmatch(signature)
        if match is None:
            raise InvalidCallback(f"missing or malformed {SIGNATURE_HEADER}")
        timestamp, digest = match.groups()
        conventions.check_fresh(int(timestamp) / 1000, now, SIGNATURE_HEADER)
        expected = conventions.hmac_sha256_hex(self._api_key, request.body + timestamp.encode())
        if not conventions.constant_time_equal(expected, digest):
            raise InvalidCallback(f"invalid {SIGNATURE_HEADER}")
        return signature  # timestamped: good once

    def parse_callback(self, request: CallbackRequest) -> list[ProviderEvent]:
        webhook = conventions.read_webhook(RetellWebhook, request.body, PLATFORM)
        call = webhook.call
        if webhook.event == "call_started":
            return [ProviderEvent(NAME, call.call_id, "answered")]
        if webhook.event == "call_ended":
            return [_end_event(call, ended_result(call))]
        if webhook.event == "call_analyzed":
            return [conventions.result_event(NAME, call.call_id, analysis_result(call))]
        return []


def create_call_body(request: CallRequest) -> dict[str, Any]:
    """The ``POST /v2/create-phone-call`` body of one attempt."""
    fields = conventions.provider_fields(request, PLATFORM, "agent_id", "from_number")
    body: dict[str, Any] = {
        "from_number": fields["from_number"],
        "to_number": request.to,
        "override_agent_id": fields["agent_id"],
        "retell_llm_dynamic_variables": dynamic_variables(request.variables),
        "metadata": conventions.call_metadata(request),
    }
    if request.playbook.voicemail_message:
        action = {"type": "static_text", "text": request.playbook.voicemail_message}
        body["agent_override"] = {"agent": {"voicemail_option": {"action": action}}}
    return body


def dynamic_variables(variables: Mapping[str, Any]) -> dict[str, str]:
    """The contact's variables as Retell's dynamic variables, every value a string."""
    return {name: _text(value) for name, value in variables.items()}


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, default=str, separators=(",", ":"), ensure_ascii=False)


def error_message(response: httpx.Response) -> str | None:
    """Retell's error text: ``{"status": "error", "message"}``."""
    body = conventions.json_or_none(response)
    message = body.get("message") if isinstance(body, dict) else None
    return str(message) if message else None


def ended_result(call: RetellCall) -> ConversationResult:
    """What ``call_ended`` reports: the conversation, before Retell analyses it."""
    outcome = _outcome(call)
    return ConversationResult(
        transcript=transcript_of(call),
        recording_url=call.recording_url,
        cost=(
            Cost(round(call.call_cost.combined_cost / CENTS_PER_DOLLAR, 6))
            if call.call_cost and call.call_cost.combined_cost is not None
            else None
        ),
        ended_reason=call.disconnection_reason,
        voicemail_left=(
            True
            if outcome is Outcome.VOICEMAIL and conventions.leaves_voicemail(call.metadata)
            else None
        ),
    )


def analysis_result(call: RetellCall) -> ConversationResult:
    """What ``call_analyzed`` adds: the analysis."""
    analysis = call.call_analysis or RetellCallAnalysis()
    data = analysis.custom_analysis_data
    return ConversationResult(
        disposition=conventions.disposition_of(data),
        summary=analysis.call_summary,
        data=data,
        callback_at=conventions.callback_at_of(data),
        success=analysis.call_successful,
    )


def transcript_of(call: RetellCall) -> tuple[Turn, ...]:
    return tuple(
        Turn(
            ROLES.get(utterance.role, utterance.role),
            utterance.content,
            utterance.words[0].start if utterance.words else None,
        )
        for utterance in call.transcript_object or ()
        if utterance.content
    )


def _outcome(call: RetellCall) -> Outcome | None:
    connected = (
        call.call_status == "ended" or bool(call.transcript_object) or bool(call.duration_ms)
    )
    return conventions.outcome_of(call.disconnection_reason, END_REASONS, connected)


def _end_event(call: RetellCall, result: ConversationResult) -> ProviderEvent:
    duration = call.duration_ms / 1000 if call.duration_ms is not None else None
    return conventions.end_event(
        NAME,
        call.call_id,
        _outcome(call),
        call.disconnection_reason,
        duration_s=duration,
        result=result,
    )
