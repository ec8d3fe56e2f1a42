"""A stand-in for Twilio's REST API (api.twilio.com): a real HTTP server run by the tests.

It answers ``POST /2010-04-01/Accounts/{AccountSid}/Calls.json`` as Twilio does: basic auth
with the account sid and auth token, a form-encoded body, ``201`` with the Call resource. It
keeps each call it created, ``queued`` until the test moves it on (``set_status``, as the call
would progress on Twilio), and answers Fetch a Call,
``GET /2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json``, with it (``404`` for a sid it does
not know): https://www.twilio.com/docs/voice/api/call-resource#fetch-a-call-resource. Every
request is kept for the test to read; ``answers`` are given first, one per request, to play
Twilio's errors. ``StatusCallbacks`` then plays Twilio's callbacks about a call it created.
"""

import base64
import contextlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import httpx
from twilio.request_validator import RequestValidator

API_VERSION = "2010-04-01"
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2  # the tests' Twilio account
AUTH_TOKEN = "twilio-auth-token"
TWIML_URL = "https://agent.example.com/twiml?agent=sales"


def twilio_error(status: int, code: int, message: str) -> dict[str, Any]:
    """An error body as Twilio's REST API sends it."""
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def not_found(path: str) -> dict[str, Any]:
    return twilio_error(404, 20404, f"The requested resource {path} was not found")


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str
    form: dict[str, list[str]]
    authorization: str | None
    sid: str | None  # the sid of the call created, if one was

    def field(self, name: str) -> str:
        return self.form[name][0]


@dataclass
class TwilioApi:
    account_sid: str
    auth_token: str
    answers: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    delay_seconds: float = 0.0  # before each answer
    requests: list[ApiRequest] = field(default_factory=list)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)  # the calls, by sid
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def calls(self) -> list[ApiRequest]:
        """The requests that created a call, in order."""
        with self.lock:
            return [r for r in self.requests if r.sid]

    def calls_to(self, phone: str) -> list[ApiRequest]:
        return [c for c in self.calls if c.field("To") == phone]

    @property
    def fetches(self) -> list[ApiRequest]:
        """The Fetch a Call requests, in order."""
        with self.lock:
            return [r for r in self.requests if r.method == "GET"]

    def set_status(
        self,
        sid: str,
        status: str,
        duration_seconds: int | None = None,
        answered_by: str | None = None,
    ) -> None:
        """The call moves on as it would on Twilio: Fetch a Call shows it from now on."""
        now = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
        with self.lock:
            resource = self.resources[sid]
            resource.update(status=status, date_updated=now, answered_by=answered_by)
            if status in ("completed", "busy", "no-answer", "failed", "canceled"):
                resource.update(end_time=now, duration=str(duration_seconds or 0))

    def authorized(self, header: str | None) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return header == f"Basic {expected}"

    def handle(
        self, method: str, path: str, body: bytes, authorization: str | None
    ) -> tuple[int, Any]:
        time.sleep(self.delay_seconds)
        form = parse_qs(body.decode(), keep_blank_values=True)
        calls = f"/{API_VERSION}/Accounts/{self.account_sid}/Calls"
        with self.lock:
            if self.answers:
                self.requests.append(ApiRequest(method, path, form, authorization, None))
                return self.answers.pop(0)
            if method == "GET" and path.startswith(f"{calls}/") and path.endswith(".json"):
                self.requests.append(ApiRequest(method, path, form, authorization, None))
                sid = path.removeprefix(f"{calls}/").removesuffix(".json")
                return self._fetch(sid, path, authorization)
            if method != "POST" or path != f"{calls}.json":
                self.requests.append(ApiRequest(method, path, form, authorization, None))
                return 404, not_found(path)
            if not self.authorized(authorization):
                self.requests.append(ApiRequest(method, path, form, authorization, None))
                return 401, twilio_error(401, 20003, "Authenticate")
            sid = f"CA{uuid.uuid4().hex}"
            self.requests.append(ApiRequest(method, path, form, authorization, sid))
            self.resources[sid] = self.call_resource(sid, form)
            return 201, self.resources[sid]

    def _fetch(self, sid: str, path: str, authorization: str | None) -> tuple[int, Any]:
        """Fetch a Call (the caller holds the lock)."""
        if not self.authorized(authorization):
            return 401, twilio_error(401, 20003, "Authenticate")
        if sid not in self.resources:
            return 404, not_found(path)
        return 200, self.resources[sid]

    def call_resource(self, sid: str, form: dict[str, list[str]]) -> dict[str, Any]:
        """The Call resource of a call just created, as in Twilio's documentation."""
        base = f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{sid}"
        now = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
        return {
            "account_sid": self.account_sid,
            "annotation": None,
            "answered_by": None,
            "api_version": API_VERSION,
            "caller_name": None,
            "date_created": now,
            "date_updated": now,
            "direction": "outbound-api",
            "duration": None,
            "end_time": None,
            "forwarded_from": None,
            "from": form["From"][0],
            "from_formatted": form["From"][0],
            "group_sid": None,
            "parent_call_sid": None,
            "phone_number_sid": f"PN{uuid.uuid4().hex}",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "start_time": None,
            "status": "queued",
            "subresource_uris": {
                "notifications": f"{base}/Notifications.json",
                "recordings": f"{base}/Recordings.json",
                "payments": f"{base}/Payments.json",
                "events": f"{base}/Events.json",
                "siprec": f"{base}/Siprec.json",
                "streams": f"{base}/Streams.json",
                "user_defined_message_subscriptions": (
                    f"{base}/UserDefinedMessageSubscriptions.json"
                ),
                "user_defined_messages": f"{base}/UserDefinedMessages.json",
            },
            "to": form["To"][0],
            "to_formatted": form["To"][0],
            "trunk_sid": None,
            "uri": f"{base}.json",
            "queue_time": "0",
        }


@contextmanager
def running(api: TwilioApi) -> Iterator[TwilioApi]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status, answer = api.handle(
                self.command, self.path, body, self.headers.get("Authorization")
            )
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # client timed out
                self.wfile.write(data)

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()


def outbound_env(api: TwilioApi, public_url: str) -> dict[str, str]:
    """The settings of an ``outbound serve`` that calls through ``api``; ``public_url`` must be
    its own address (Twilio's callbacks are signed for it)."""
    return {
        "OUTBOUND_TELEPHONY": "twilio",
        "OUTBOUND_TWILIO_ACCOUNT_SID": api.account_sid,
        "OUTBOUND_TWILIO_AUTH_TOKEN": api.auth_token,
        "OUTBOUND_TWILIO_TWIML_URL": TWIML_URL,
        "OUTBOUND_TWILIO_API_BASE_URL": api.url,
        "OUTBOUND_PUBLIC_URL": public_url,
        "OUTBOUND_SHUTDOWN_TIMEOUT_SECONDS": "1",
    }


class StatusCallbacks:
    """Posts a call's callbacks as Twilio does: form-encoded, signed with the auth token."""

    def __init__(self, call: ApiRequest) -> None:
        self.call = call
        self.sequence = 0

    def status(self, status: str, **params: str) -> httpx.Response:
        self.sequence += 1
        form = {
            "AccountSid": ACCOUNT_SID,
            "ApiVersion": "2010-04-01",
            "CallSid": str(self.call.sid),
            "CallStatus": status,
            "Called": self.call.field("To"),
            "Caller": self.call.field("From"),
            "Direction": "outbound-api",
            "From": self.call.field("From"),
            "To": self.call.field("To"),
            "CallbackSource": "call-progress-events",
            "Timestamp": format_datetime(datetime.now(UTC), usegmt=True),
            "SequenceNumber": str(self.sequence - 1),
            **params,
        }
        return self.post(self.call.field("StatusCallback"), form)

    def machine_detection(self, answered_by: str) -> httpx.Response:
        form = {
            "AccountSid": ACCOUNT_SID,
            "CallSid": str(self.call.sid),
            "AnsweredBy": answered_by,
            "MachineDetectionDuration": "2150",
        }
        return self.post(self.call.field("AsyncAmdStatusCallback"), form)

    @staticmethod
    def post(url: str, form: dict[str, str], signature: str | None = None) -> httpx.Response:
        signature = signature or RequestValidator(AUTH_TOKEN).compute_signature(url, form)
        return httpx.post(url, data=form, headers={"X-Twilio-Signature": signature}, timeout=30)
