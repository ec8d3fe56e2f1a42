"""A stand-in for Bland's API (api.bland.ai), and the post-call webhooks Bland signs, as
documented:

- Send Call, ``POST /v1/calls``: https://docs.bland.ai/api-v1/post/calls (``phone_number``
  and one of ``pathway_id`` or ``task`` required; ``{"status": "success", "call_id"}``);
- Call Details, ``GET /v1/calls/{call_id}``: https://docs.bland.ai/api-v1/get/calls-id (the
  call below follows the docs' example);
- both refused ``401`` without the account's key in ``authorization``;
- the post-call webhook is the call's details, signed ``X-Webhook-Signature: <hex HMAC-SHA256
  of the body>``: https://docs.bland.ai/tutorials/webhook-signing
"""

import hashlib
import hmac
import json
import re
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


def error(status: int, message: str) -> Answer:
    """An error as Bland sends it."""
    return Answer.json(status, {"status": "error", "message": message})


@dataclass
class BlandApi:
    api_key: str
    calls_by_id: dict[str, dict[str, Any]] = field(default_factory=dict)  # as Call Details shows
    recorder: Recorder = field(default_factory=Recorder)
    url: str = ""

    @property
    def sent(self) -> list[Received]:
        """The Send Call requests, in order."""
        return self.recorder.received("POST", "/v1/calls")

    def answer(self, request: Received) -> Answer:
        scripted = self.recorder.record(request)
        if scripted is not None:
            return scripted
        if request.headers.get("authorization") != self.api_key:
            return error(401, "Invalid API key")
        if request.method == "POST" and request.path == "/v1/calls":
            return self.send_call(request.json())
        if request.method == "GET" and (found := re.fullmatch(r"/v1/calls/([^/]+)", request.path)):
            call = self.calls_by_id.get(found[1])
            return Answer.json(200, call) if call else error(404, "Call not found")
        return error(404, "Not found")

    def send_call(self, body: dict[str, Any]) -> Answer:
        if not re.fullmatch(r"\+[1-9]\d{7,14}", body.get("phone_number", "")):
            return error(400, "Invalid phone number")
        if not body.get("pathway_id") and not body.get("task"):
            return error(400, "Missing required parameter: task or pathway_id")
        call_id = str(uuid.uuid4())
        call = call_details(call_id, completed=False, status="queued")
        call.update(to=body["phone_number"], metadata=body.get("metadata") or {})
        self.calls_by_id[call_id] = call
        return Answer.json(
            200, {"status": "success", "message": "Call successfully queued.", "call_id": call_id}
        )

    def end(self, call_id: str, **details: Any) -> dict[str, Any]:
        """The call ends as Bland shows it (``call_details``'s arguments), to the number and with
        the metadata it was sent with; its details, as the post-call webhook posts them."""
        sent = self.calls_by_id[call_id]
        ended = call_details(call_id, metadata=sent["metadata"], **details)
        ended["to"] = sent["to"]
        self.calls_by_id[call_id] = ended
        return ended


TRANSCRIPTS = [
    ("user", "Hello?", "2024-04-27T23:51:26.000000+00:00"),
    ("assistant", "Hi Ada, it's Blandie about your renewal.", "2024-04-27T23:51:27.500000+00:00"),
    ("agent-action", "Pressed 1", "2024-04-27T23:51:29.000000+00:00"),
    ("user", "Call me tomorrow at ten.", "2024-04-27T23:51:31.250000+00:00"),
]


def call_details(
    call_id: str,
    completed: bool = True,
    status: str = "completed",
    queue_status: str | None = "complete",
    answered_by: str | None = "human",
    call_ended_by: str | None = "USER",
    analysis: dict[str, Any] | None = None,
    variables: dict[str, Any] | None = None,
    transcripts: list[tuple[str, str, str]] | None = None,
    error_message: str | None = None,
    metadata: dict[str, Any] | None = None,
    price: float | None = 0.068,
    summary: str = "Ada asked to be called back tomorrow at ten.",
) -> dict[str, Any]:
    """A call as Call Details and the post-call webhook carry it (the docs' example)."""
    return {
        "call_id": call_id,
        "c_id": call_id,
        "call_length": 0.75,
        "corrected_duration": "45",
        "batch_id": None,
        "to": "+14155550142",
        "from": "+14155550123",
        "request_data": {"phone_number": "+14155550142", "wait": False, "language": "ENG"},
        "completed": completed,
        "created_at": "2024-04-27T23:51:18.025251+00:00",
        "started_at": "2024-04-27T23:51:25+00:00",
        "end_at": "2024-04-28T00:21:25+00:00",
        "inbound": False,
        "queue_status": queue_status,
        "status": status,
        "endpoint_url": "api.prod.bland.ai",
        "max_duration": 30,
        "error_message": error_message,
        "variables": {
            "now": "Sat Apr 27 2024 18:51:25 GMT-0500 (Central Daylight Time)",
            "now_utc": "Sat, 27 Apr 2024 23:51:25 GMT",
            "short_from": "4155550123",
            "short_to": "4155550142",
            "from": "+14155550123",
            "to": "+14155550142",
            "call_id": call_id,
            "phone_number": "+14155550142",
            "city": "SAN FRANCISCO",
            "country": "US",
            "state": "CA",
            "zip": "94103",
            **(variables or {}),
        },
        "answered_by": answered_by,
        "record": True,
        "recording_url": f"https://server.aws.dialinginfo.com/{call_id}.mp3",
        "metadata": metadata or {},
        "summary": summary,
        "price": price,
        "local_dialing": False,
        "call_ended_by": call_ended_by,
        "pathway_logs": None,
        "analysis_schema": None,
        "analysis": analysis,
        "concatenated_transcript": " \n ".join(
            f"{user}: {text}" for user, text, _ in TRANSCRIPTS if user != "agent-action"
        ),
        "transcripts": [
            {"id": 123456 + n, "created_at": at, "text": text, "user": user, "c_id": call_id}
            for n, (user, text, at) in enumerate(
                TRANSCRIPTS if transcripts is None else transcripts
            )
        ],
    }


def signature(secret: str, body: bytes) -> str:
    """``X-Webhook-Signature`` for ``body``."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def post_webhook(url: str, payload: dict[str, Any], secret: str) -> httpx.Response:
    """Post ``payload`` to ``url`` as Bland posts its post-call webhook, signed with ``secret``."""
    body = encode(payload)
    headers = {"Content-Type": "application/json", "X-Webhook-Signature": signature(secret, body)}
    return httpx.post(url, content=body, headers=headers, timeout=WEBHOOK_TIMEOUT_SECONDS)
