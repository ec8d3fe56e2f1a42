"""A stand-in for Vapi's API (api.vapi.ai), and Vapi's server messages to post to outbound.

The API answers ``POST /call`` and ``GET /call/{id}`` as documented
(https://docs.vapi.ai/api-reference/calls/create, https://docs.vapi.ai/api-reference/calls/get,
https://docs.vapi.ai/calls/call-concurrency for ``subscriptionLimits``): a bearer private key,
``201`` with the Call object, ``{"message", "error", "statusCode"}`` on a refusal. Its
``recorder`` keeps every request and gives the scripted answers first (``http_stand_in``);
``end`` ends a call as Vapi would report it.

The server messages (https://docs.vapi.ai/server-url/events,
https://docs.vapi.ai/server-url/end-of-call-report) are built from the documented examples and
the OpenAPI schema (``ServerMessageEndOfCallReport``, ``ServerMessageStatusUpdate``), with the
headers of each documented credential (https://docs.vapi.ai/server-url/server-authentication).
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
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.providers.platforms.http_stand_in import (
    WEBHOOK_TIMEOUT_SECONDS,
    Answer,
    Received,
    Recorder,
)

ORG_ID = "be2fa99a-b5f1-4b5a-8cfd-55c085a5ad41"
E164 = re.compile(r"^\+[1-9]\d{1,14}$")


def vapi_error(status: int, error: str, message: str | list[str]) -> dict[str, Any]:
    """An error body as Vapi's API sends it."""
    return {"message": message, "error": error, "statusCode": status}


def refusal(status: int, error: str, message: str | list[str]) -> Answer:
    return Answer.json(status, vapi_error(status, error, message))


def message(role: str, text: str, seconds_from_start: float) -> dict[str, Any]:
    """One of ``artifact.messages``: a UserMessage (``user``) or BotMessage (``bot``)."""
    now = time.time() * 1000
    return {
        "role": role,
        "message": text,
        "time": now,
        "endTime": now + 1500,
        "secondsFromStart": seconds_from_start,
        "duration": 1500,
        **({"source": ""} if role == "bot" else {}),
    }


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ended_call(
    call: dict[str, Any],
    ended_reason: str,
    *,
    messages: Sequence[dict[str, Any]] = (),
    summary: str | None = None,
    structured_data: dict[str, Any] | None = None,
    success_evaluation: str | None = None,
    cost: float = 0.0,
    talk_seconds: float = 0.0,
) -> dict[str, Any]:
    """``call`` (a Call object) as Vapi shows it once ended for ``ended_reason``."""
    ended_at = datetime.now(UTC)
    started_at = ended_at - timedelta(seconds=talk_seconds)
    recording = f"https://storage.vapi.ai/{call['id']}-mono.wav" if messages else None
    artifact: dict[str, Any] = {
        "messages": [
            {
                "role": "system",
                "message": "You are a helpful assistant.",
                "time": 0,
                "secondsFromStart": 0,
            },
            *messages,
        ],
        "transcript": "\n".join(
            f"{'AI' if m['role'] == 'bot' else 'User'}: {m['message']}" for m in messages
        ),
    }
    if recording:
        artifact["recording"] = {"mono": {"combinedUrl": recording}, "stereoUrl": recording}
        artifact["recordingUrl"] = recording
    analysis: dict[str, Any] = {}
    if summary is not None:
        analysis["summary"] = summary
    if structured_data is not None:
        analysis["structuredData"] = structured_data
    if success_evaluation is not None:
        analysis["successEvaluation"] = success_evaluation
    ended = copy.deepcopy(call)
    ended.pop("subscriptionLimits", None)
    ended.update(
        status="ended",
        endedReason=ended_reason,
        startedAt=_iso(started_at),
        endedAt=_iso(ended_at),
        updatedAt=_iso(ended_at),
        cost=cost,
        costs=[{"type": "vapi", "minutes": talk_seconds / 60, "cost": cost}],
        messages=artifact["messages"],
        artifact=artifact,
        analysis=analysis,
    )
    return ended


def end_of_call_report(call: dict[str, Any]) -> dict[str, Any]:
    """The ``end-of-call-report`` server message of an ended call (``ended_call``)."""
    return {
        "message": {
            "type": "end-of-call-report",
            "timestamp": int(time.time() * 1000),
            "endedReason": call["endedReason"],
            "cost": call["cost"],
            "costs": call["costs"],
            "startedAt": call["startedAt"],
            "endedAt": call["endedAt"],
            "artifact": call["artifact"],
            "analysis": call["analysis"],
            "customer": call["customer"],
            "phoneNumber": {"provider": "vapi", "number": "+14155550100"},
            "call": call,
        }
    }


def status_update(call: dict[str, Any], status: str) -> dict[str, Any]:
    """A ``status-update`` server message."""
    update: dict[str, Any] = {
        "type": "status-update",
        "timestamp": int(time.time() * 1000),
        "status": status,
        "call": {**call, "status": status},
        "customer": call["customer"],
    }
    if status == "ended":
        update["endedReason"] = call.get("endedReason")
    return {"message": update}


def secret_headers(secret: str) -> dict[str, str]:
    """The legacy ``secret`` (or a Bearer Token credential on ``X-Vapi-Secret``)."""
    return {"Content-Type": "application/json", "X-Vapi-Secret": secret}


def bearer_headers(secret: str) -> dict[str, str]:
    """A Bearer Token credential with its defaults."""
    return {"Content-Type": "application/json", "Authorization": f"Bearer {secret}"}


def hmac_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """An HMAC credential with its defaults: ``{timestamp}.{body}``, SHA-256, hex."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "x-signature": digest, "x-timestamp": stamp}


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def post_message(url: str, payload: dict[str, Any], secret: str) -> httpx.Response:
    """Post a server message to outbound as Vapi does, with the secret header."""
    return httpx.post(
        url,
        content=body_of(payload),
        headers=secret_headers(secret),
        timeout=WEBHOOK_TIMEOUT_SECONDS,
    )


@dataclass
class VapiApi:
    api_key: str
    assistant_ids: set[str] = field(default_factory=set)  # empty: any
    phone_number_ids: set[str] = field(default_factory=set)  # empty: any
    calls: dict[str, dict[str, Any]] = field(default_factory=dict)  # Call objects by id
    recorder: Recorder = field(default_factory=Recorder)
    url: str = ""

    def answer(self, request: Received) -> Answer:
        scripted = self.recorder.record(request)
        if scripted is not None:
            return scripted
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return refusal(
                401,
                "Unauthorized",
                "Invalid Key. Hot tip, you may be "
                "using the private key instead of the public key, or "
                "vice versa.",
            )
        if request.method == "POST" and request.path == "/call":
            return self._create(request.json())
        if request.method == "GET" and request.path.startswith("/call/"):
            call = self.calls.get(request.path.removeprefix("/call/"))
            if call is None:
                return refusal(404, "Not Found", "Call not found")
            return Answer.json(200, call)
        return refusal(404, "Not Found", f"Cannot {request.method} {request.path}")

    def _create(self, body: dict[str, Any]) -> Answer:
        number = (body.get("customer") or {}).get("number", "")
        if not E164.match(number):
            return refusal(
                400,
                "Bad Request",
                [
                    "customer.number must be a valid phone number in the E.164 format. Hot tip, "
                    "you may be missing the country code (Eg. US: +1)."
                ],
            )
        if self.assistant_ids and body.get("assistantId") not in self.assistant_ids:
            return refusal(400, "Bad Request", "Couldn't Get Assistant. Assistant Not Found.")
        if self.phone_number_ids and body.get("phoneNumberId") not in self.phone_number_ids:
            return refusal(400, "Bad Request", "Couldn't Get Phone Number. Not Found.")
        call_id = str(uuid.uuid4())
        now = _iso(datetime.now(UTC))
        call = {
            "subscriptionLimits": {
                "concurrencyBlocked": False,
                "concurrencyLimit": 10,
                "remainingConcurrentCalls": 9,
            },
            "id": call_id,
            "assistantId": body.get("assistantId"),
            "phoneNumberId": body.get("phoneNumberId"),
            "type": "outboundPhoneCall",
            "createdAt": now,
            "updatedAt": now,
            "orgId": ORG_ID,
            "cost": 0,
            "customer": body["customer"],
            "status": "queued",
            "phoneCallProvider": "twilio",
            "assistantOverrides": body.get("assistantOverrides", {}),
            "monitor": {
                "listenUrl": f"wss://phone-call-websocket.vapi.ai/{call_id}/listen",
                "controlUrl": f"https://phone-call-websocket.vapi.ai/{call_id}/control",
            },
            "transport": {"conversationType": "voice", "provider": "twilio"},
        }
        self.calls[call_id] = call
        return Answer.json(201, call)

    @property
    def created(self) -> list[Received]:
        """The requests that created a call, in order."""
        return self.recorder.received("POST", "/call")

    def set_status(self, call_id: str, status: str) -> dict[str, Any]:
        self.calls[call_id] = {**self.calls[call_id], "status": status}
        return self.calls[call_id]

    def end(self, call_id: str, ended_reason: str, **details: Any) -> dict[str, Any]:
        """End the call as Vapi would (``ended_call``'s ``details``); the ended Call object."""
        self.calls[call_id] = ended_call(self.calls[call_id], ended_reason, **details)
        return self.calls[call_id]
