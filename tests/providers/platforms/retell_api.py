"""A stand-in for Retell's API (api.retellai.com), and Retell's webhooks to post to outbound.

The API answers ``POST /v2/create-phone-call`` and ``GET /v2/get-call/{call_id}`` as documented
(https://docs.retellai.com/api-references/create-phone-call,
https://docs.retellai.com/api-references/get-call): a bearer API key, ``201`` with the call
object (V2PhoneCallResponse), ``{"status": "error", "message"}`` on a refusal with the
documented example messages. Its ``recorder`` keeps every request and gives the scripted answers
first (``http_stand_in``); ``end`` ends a call as Retell would report it.

The webhooks (https://docs.retellai.com/features/webhook-overview) are ``{"event", "call"}``,
signed as https://docs.retellai.com/features/secure-webhook and the SDK's ``sign`` do
(``v=<ms>,d=<hex HMAC-SHA256(api_key, body + ms)>``).
"""

import copy
import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.providers.platforms.http_stand_in import (
    WEBHOOK_TIMEOUT_SECONDS,
    Answer,
    Received,
    Recorder,
)

E164 = re.compile(r"^\+[1-9]\d{1,14}$")
NOT_CONNECTED = frozenset(
    {
        "dial_busy",
        "dial_failed",
        "dial_no_answer",
        "invalid_destination",
        "telephony_provider_permission_denied",
        "telephony_provider_unavailable",
        "sip_routing_error",
        "marked_as_spam",
        "user_declined",
        "concurrency_limit_reached",
        "no_concurrency_fallback",
    }
)


def retell_error(message: str) -> dict[str, Any]:
    """An error body as Retell's API sends it."""
    return {"status": "error", "message": message}


UNAUTHORIZED = retell_error("API key is missing or invalid.")
BAD_REQUEST = retell_error("Invalid request format, please check API reference.")
PAYMENT_REQUIRED = retell_error("Trial has ended, please add payment method.")
NOT_FOUND = retell_error("Cannot find requested asset under given api key.")
RATE_LIMITED = retell_error("Account rate limited, please throttle your requests.")
SERVER_ERROR = retell_error("An unexpected server error occurred.")


def utterance(role: str, content: str, start: float) -> dict[str, Any]:
    """One of ``transcript_object``: ``agent`` or ``user``, with its words' times."""
    words = content.split()
    return {
        "role": role,
        "content": content,
        "words": [
            {"word": word, "start": start + 0.3 * i, "end": start + 0.3 * (i + 1)}
            for i, word in enumerate(words)
        ],
    }


def ended_call(
    call: dict[str, Any],
    reason: str,
    *,
    transcript: Sequence[dict[str, Any]] = (),
    summary: str | None = None,
    custom_analysis_data: dict[str, Any] | None = None,
    call_successful: bool | None = None,
    in_voicemail: bool = False,
    combined_cost: float = 0.0,
    duration_ms: int = 0,
) -> dict[str, Any]:
    """``call`` as Retell shows it once ended for ``reason`` (``disconnection_reason``),
    analysed."""
    end = int(time.time() * 1000)
    ended = copy.deepcopy(call)
    ended.update(
        call_status="not_connected" if reason in NOT_CONNECTED else "ended",
        disconnection_reason=reason,
        start_timestamp=end - duration_ms,
        end_timestamp=end,
        duration_ms=duration_ms,
        transcript="".join(
            f"{'Agent' if u['role'] == 'agent' else 'User'}: {u['content']}\n" for u in transcript
        ),
        transcript_object=list(transcript),
        call_cost={
            "product_costs": [{"product": "retell_platform", "unit_price": 0.1, "cost": 0}],
            "total_duration_seconds": duration_ms / 1000,
            "total_duration_unit_price": 0.1,
            "combined_cost": combined_cost,
        },
        call_analysis={
            "call_summary": summary,
            "in_voicemail": in_voicemail,
            "user_sentiment": "Unknown",
            "call_successful": call_successful,
            "custom_analysis_data": custom_analysis_data or {},
        },
    )
    if transcript:
        ended["recording_url"] = (
            f"https://retellai.s3.us-west-2.amazonaws.com/{call['call_id']}/recording.wav"
        )
        ended["public_log_url"] = (
            f"https://retellai.s3.us-west-2.amazonaws.com/{call['call_id']}/public_log.txt"
        )
    return ended


def webhook(event: str, call: dict[str, Any]) -> dict[str, Any]:
    """A webhook: ``call_started`` carries the basic call, ``call_ended`` all but the
    analysis, ``call_analyzed`` all of it."""
    if event == "call_started":
        basic = (
            "call_type", "from_number", "to_number", "direction", "call_id", "agent_id",
            "agent_version", "call_status", "metadata", "retell_llm_dynamic_variables",
            "start_timestamp",
        )  # fmt: skip
        call = {name: call[name] for name in basic if name in call} | {"call_status": "ongoing"}
    elif event == "call_ended":
        call = {name: value for name, value in call.items() if name != "call_analysis"}
    return {"event": event, "call": call}


def sign(body: bytes, api_key: str, timestamp_ms: int | None = None) -> str:
    """``X-Retell-Signature`` for ``body``."""
    stamp = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    digest = hmac.new(api_key.encode(), body + str(stamp).encode(), hashlib.sha256).hexdigest()
    return f"v={stamp},d={digest}"


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def signed_headers(body: bytes, api_key: str, timestamp_ms: int | None = None) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Retell-Signature": sign(body, api_key, timestamp_ms),
    }


def post_webhook(url: str, payload: dict[str, Any], api_key: str) -> httpx.Response:
    """Post a webhook to outbound as Retell does, signed with the API key."""
    body = body_of(payload)
    return httpx.post(
        url, content=body, headers=signed_headers(body, api_key), timeout=WEBHOOK_TIMEOUT_SECONDS
    )


@dataclass
class RetellApi:
    api_key: str
    agent_ids: set[str] = field(default_factory=set)  # empty: any
    from_numbers: set[str] = field(default_factory=set)  # empty: any
    calls: dict[str, dict[str, Any]] = field(default_factory=dict)  # call objects by call_id
    recorder: Recorder = field(default_factory=Recorder)
    url: str = ""

    def answer(self, request: Received) -> Answer:
        scripted = self.recorder.record(request)
        if scripted is not None:
            return scripted
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return Answer.json(401, UNAUTHORIZED)
        if request.method == "POST" and request.path == "/v2/create-phone-call":
            return self._create(request.json())
        if request.method == "GET" and request.path.startswith("/v2/get-call/"):
            call = self.calls.get(request.path.removeprefix("/v2/get-call/"))
            return Answer.json(200, call) if call is not None else Answer.json(422, NOT_FOUND)
        return Answer.json(404, retell_error("The requested resource was not found."))

    def _create(self, body: dict[str, Any]) -> Answer:
        variables = body.get("retell_llm_dynamic_variables") or {}
        if not E164.match(body.get("to_number", "")) or not all(
            isinstance(value, str) for value in variables.values()
        ):
            return Answer.json(400, BAD_REQUEST)
        if (self.agent_ids and body.get("override_agent_id") not in self.agent_ids) or (
            self.from_numbers and body.get("from_number") not in self.from_numbers
        ):
            return Answer.json(422, NOT_FOUND)
        call_id = uuid.uuid4().hex
        call = {
            "call_type": "phone_call",
            "from_number": body["from_number"],
            "to_number": body["to_number"],
            "direction": "outbound",
            "call_id": call_id,
            "agent_id": body.get("override_agent_id", "oBeDLoLOeuAbiuaMFXRtDOLriTJ5tSxD"),
            "agent_version": 1,
            "agent_name": "My Agent",
            "call_status": "registered",
            "metadata": body.get("metadata", {}),
            "retell_llm_dynamic_variables": variables,
            "data_storage_setting": "everything",
            "opt_in_signed_url": False,
        }
        self.calls[call_id] = call
        return Answer.json(201, call)

    @property
    def created(self) -> list[Received]:
        """The requests that created a call, in order."""
        return self.recorder.received("POST", "/v2/create-phone-call")

    def start(self, call_id: str) -> dict[str, Any]:
        self.calls[call_id] = {
            **self.calls[call_id],
            "call_status": "ongoing",
            "start_timestamp": int(time.time() * 1000),
        }
        return self.calls[call_id]

    def end(self, call_id: str, reason: str, **details: Any) -> dict[str, Any]:
        """End the call as Retell would (``ended_call``'s ``details``); the ended call."""
        self.calls[call_id] = ended_call(self.calls[call_id], reason, **details)
        return self.calls[call_id]
