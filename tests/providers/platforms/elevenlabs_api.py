"""A stand-in for the ElevenLabs Agents Platform API (api.elevenlabs.io), and the post-call
webhooks ElevenLabs signs, as documented:

- ``GET /v1/convai/phone-numbers/{id}``, ``POST /v1/convai/twilio/outbound-call``,
  ``POST /v1/convai/sip-trunk/outbound-call``, ``GET /v1/convai/conversations/{id}``, each
  refused ``401`` without the account's ``xi-api-key``:
  https://elevenlabs.io/docs/conversational-ai/api-reference/twilio/outbound-call,
  https://elevenlabs.io/docs/api-reference/convai/sip-trunk/outbound-call,
  https://elevenlabs.io/docs/api-reference/conversations/get (shapes as the official SDK,
  github.com/elevenlabs/elevenlabs-python, types them);
- the webhooks ``post_call_transcription`` (the docs' example) and ``call_initiation_failure``,
  signed ``ElevenLabs-Signature: t=<unix>,v0=<hex HMAC-SHA256 of "<t>.<body>">``:
  https://elevenlabs.io/docs/eleven-agents/workflows/post-call-webhooks

Its ``recorder`` keeps every request and gives the scripted answers first (``http_stand_in``);
``placed`` keeps each create-call body by conversation id, and ``end`` ends a conversation as
the GET and the webhook then show it.
"""

import hashlib
import hmac
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.providers.platforms.http_stand_in import (
    WEBHOOK_TIMEOUT_SECONDS,
    Answer,
    Received,
    Recorder,
)

ENDPOINTS = {
    "twilio": "/v1/convai/twilio/outbound-call",
    "sip_trunk": "/v1/convai/sip-trunk/outbound-call",
}
REQUIRED = ("agent_id", "agent_phone_number_id", "to_number")


def error(status: int, code: str, message: str) -> Answer:
    """An error as ElevenLabs sends it: ``{"detail": {"status", "message"}}``."""
    return Answer.json(status, {"detail": {"status": code, "message": message}})


@dataclass
class ElevenLabsApi:
    api_key: str
    agents: set[str] = field(default_factory=set)
    phone_numbers: dict[str, str] = field(default_factory=dict)  # id -> "twilio" | "sip_trunk"
    conversations: dict[str, dict[str, Any]] = field(default_factory=dict)  # as GET shows them
    placed: dict[str, dict[str, Any]] = field(default_factory=dict)  # create-call body by id
    recorder: Recorder = field(default_factory=Recorder)
    url: str = ""

    @property
    def calls(self) -> list[Received]:
        """The create-call requests, in order."""
        return [
            r for r in self.recorder.requests if r.method == "POST" and r.path in ENDPOINTS.values()
        ]

    def answer(self, request: Received) -> Answer:
        scripted = self.recorder.record(request)
        if scripted is not None:
            return scripted
        if request.headers.get("xi-api-key") != self.api_key:
            return error(401, "invalid_api_key", "Invalid API key")
        if request.method == "GET" and (
            found := re.fullmatch(r"/v1/convai/phone-numbers/([^/]+)", request.path)
        ):
            return self.phone_number(found[1])
        if request.method == "GET" and (
            found := re.fullmatch(r"/v1/convai/conversations/([^/]+)", request.path)
        ):
            conversation = self.conversations.get(found[1])
            if conversation is None:
                return error(404, "conversation_not_found", "Conversation not found")
            return Answer.json(200, conversation)
        if request.method == "POST" and request.path in ENDPOINTS.values():
            return self.outbound_call(request)
        return Answer.json(404, {"detail": "Not Found"})

    def phone_number(self, phone_number_id: str) -> Answer:
        provider = self.phone_numbers.get(phone_number_id)
        if provider is None:
            return error(404, "phone_number_not_found", "Phone number not found")
        return Answer.json(
            200,
            {
                "phone_number": "+14155550123",
                "label": "Outbound",
                "supports_inbound": True,
                "supports_outbound": True,
                "phone_number_id": phone_number_id,
                "assigned_agent": None,
                "provider": provider,
            },
        )

    def outbound_call(self, request: Received) -> Answer:
        body = request.json()
        missing = [name for name in REQUIRED if name not in body]
        if missing:  # FastAPI's validation error, as ElevenLabs answers it
            return Answer.json(
                422,
                {
                    "detail": [
                        {"type": "missing", "loc": ["body", name], "msg": "Field required"}
                        for name in missing
                    ]
                },
            )
        if body["agent_id"] not in self.agents:
            return error(404, "agent_not_found", f"Agent {body['agent_id']} not found")
        provider = self.phone_numbers.get(body["agent_phone_number_id"])
        if provider is None or ENDPOINTS[provider] != request.path:
            return error(400, "invalid_phone_number", "Phone number cannot place this call")
        conversation_id = f"conv_{uuid.uuid4().hex[:24]}"
        self.conversations[conversation_id] = conversation(
            conversation_id, body["agent_id"], status="initiated", transcript=[]
        )
        self.placed[conversation_id] = body
        answer: dict[str, Any] = {
            "success": True,
            "message": "Success",
            "conversation_id": conversation_id,
        }
        if provider == "twilio":
            answer["callSid"] = f"CA{uuid.uuid4().hex}"
        else:
            answer["sip_call_id"] = f"SCL_{uuid.uuid4().hex[:12]}"
        return Answer.json(200, answer)

    def placed_to(self, number: str) -> list[str]:
        """The ids of the conversations placed to ``number``, in order."""
        placed = list(self.placed.items())  # one copy, in C: safe while a call is placed
        return [i for i, body in placed if body["to_number"] == number]

    def end(self, conversation_id: str, **details: Any) -> dict[str, Any]:
        """End the conversation as ElevenLabs would show it (``conversation``'s ``details``,
        ``done`` unless told); the conversation."""
        agent_id = self.conversations[conversation_id]["agent_id"]
        self.conversations[conversation_id] = conversation(conversation_id, agent_id, **details)
        return self.conversations[conversation_id]


def turn(role: str, message: str | None, at: int, tool: str | None = None) -> dict[str, Any]:
    """A transcript turn as the docs' example has it."""
    return {
        "role": role,
        "message": message,
        "tool_calls": (
            [
                {
                    "type": "system",
                    "request_id": uuid.uuid4().hex,
                    "tool_name": tool,
                    "params_as_json": '{"reason": "Automated greeting detected"}',
                    "tool_has_been_called": True,
                }
            ]
            if tool
            else None
        ),
        "tool_results": None,
        "feedback": None,
        "time_in_call_secs": at,
        "conversation_turn_metrics": None,
    }


TRANSCRIPT = [
    turn("agent", "Hey there Ada. How are you?", 0),
    turn("user", "Call me tomorrow at ten, I'm driving.", 2),
    turn("agent", "Of course, talk tomorrow.", 9),
]


def conversation(
    conversation_id: str,
    agent_id: str = "agent_xyz",
    status: str = "done",
    transcript: list[dict[str, Any]] | None = None,
    data: dict[str, Any] | None = None,
    summary: str = "Asked to be called tomorrow at ten.",
    call_successful: str = "success",
    cost_fiat: float | None = 0.0734,
    termination_reason: str = "Call ended by remote party",
    has_audio: bool = True,
) -> dict[str, Any]:
    """A conversation as GET /v1/convai/conversations/{id} and post_call_transcription carry
    it (the docs' example, with the fields the GET response adds)."""
    return {
        "agent_id": agent_id,
        "conversation_id": conversation_id,
        "status": status,
        "user_id": None,
        "transcript": TRANSCRIPT if transcript is None else transcript,
        "metadata": {
            "start_time_unix_secs": 1739537297,
            "call_duration_secs": 22,
            "cost": 296,
            "cost_fiat": cost_fiat,
            "deletion_settings": {
                "deletion_time_unix_secs": 1802609320,
                "deleted_logs_at_time_unix_secs": None,
                "deleted_audio_at_time_unix_secs": None,
                "deleted_transcript_at_time_unix_secs": None,
                "delete_transcript_and_pii": True,
                "delete_audio": True,
            },
            "feedback": {"overall_score": None, "likes": 0, "dislikes": 0},
            "authorization_method": "authorization_header",
            "charging": {"dev_discount": True},
            "phone_call": {
                "type": "twilio",
                "direction": "outbound",
                "phone_number_id": "pn_outbound",
                "agent_number": "+14155550123",
                "external_number": "+14155550142",
                "stream_sid": "MZ" + "0" * 32,
                "call_sid": "CA" + "0" * 32,
            },
            "termination_reason": termination_reason,
        },
        "analysis": {
            "evaluation_criteria_results": {},
            "data_collection_results": {
                name: {
                    "data_collection_id": name,
                    "value": value,
                    "json_schema": None,
                    "rationale": "Stated by the user.",
                }
                for name, value in (data or {}).items()
            },
            "call_successful": call_successful,
            "transcript_summary": summary,
        },
        "conversation_initiation_client_data": {
            "conversation_config_override": {"agent": {"prompt": None, "first_message": None}},
            "custom_llm_extra_body": {},
            "dynamic_variables": {"first_name": "Ada"},
        },
        "has_audio": has_audio,
        "has_user_audio": has_audio,
        "has_response_audio": has_audio,
    }


def transcription_webhook(data: dict[str, Any]) -> dict[str, Any]:
    return {"type": "post_call_transcription", "event_timestamp": 1739537297, "data": data}


def initiation_failure_webhook(
    conversation_id: str, failure_reason: str, metadata: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "type": "call_initiation_failure",
        "event_timestamp": 1739537297,
        "data": {
            "agent_id": "agent_xyz",
            "conversation_id": conversation_id,
            "failure_reason": failure_reason,
            "metadata": metadata
            or {"type": "twilio", "body": {"CallSid": "CA" + "0" * 32, "CallStatus": "busy"}},
        },
    }


def signature(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """``ElevenLabs-Signature`` for ``body`` sent at ``timestamp`` (now by default)."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v0={digest}"


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def post_webhook(
    url: str, payload: dict[str, Any], secret: str, timestamp: int | None = None
) -> httpx.Response:
    """Post a webhook to outbound as ElevenLabs does, signed with the webhook secret (at
    ``timestamp``, now by default: the same body signed twice in one second is a replay)."""
    body = encode(payload)
    headers = {
        "Content-Type": "application/json",
        "ElevenLabs-Signature": signature(secret, body, timestamp),
    }
    return httpx.post(url, content=body, headers=headers, timeout=WEBHOOK_TIMEOUT_SECONDS)
