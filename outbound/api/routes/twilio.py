"""Twilio's status callbacks: a call's progress and its answering-machine verdict.

Twilio POSTs form-encoded parameters to ``/provider/twilio/status`` (the ``StatusCallback`` and
``AsyncAmdStatusCallback`` of every call the ``twilio`` provider creates), signed with the
account's auth token in ``X-Twilio-Signature``. Each callback becomes provider events:

| Twilio sends | recorded |
|---|---|
| ``CallStatus=queued`` or ``initiated`` | nothing |
| ``CallStatus=ringing`` | ``ringing`` |
| ``CallStatus=in-progress`` | ``answered`` |
| ``AnsweredBy`` without a final ``CallStatus`` (async AMD) | ``machine_detection`` |
| ``CallStatus=completed`` | ``ended``: answered; voicemail if ``AnsweredBy`` is machine_*, fax |
| ``CallStatus=busy`` / ``no-answer`` / ``failed`` | ``ended``: busy / no_answer / failed |
| ``CallStatus=canceled`` | ``ended``: failed, error ``canceled`` |

The answer is ``204`` (Twilio ignores bodies); the same callback twice is recorded once.
"""

from collections.abc import Mapping
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request, Response
from twilio.request_validator import RequestValidator

from outbound.api.deps import DatabaseDep
from outbound.api.errors import RESPONSES, error
from outbound.config import Settings
from outbound.domain.statuses import Outcome
from outbound.exceptions import InvalidRequest, NotFound
from outbound.services import provider_events
from outbound.services.provider_events import EventKind, ProviderEvent

router = APIRouter(tags=["providers"])

SIGNATURE_HEADER = "X-Twilio-Signature"

ENDED: dict[str, tuple[Outcome, str | None]] = {
    "completed": (Outcome.ANSWERED, None),  # resolve_outcome turns a machine into voicemail
    "busy": (Outcome.BUSY, None),
    "no-answer": (Outcome.NO_ANSWER, None),
    "failed": (Outcome.FAILED, None),
    "canceled": (Outcome.FAILED, "canceled"),
}
PROGRESS: dict[str, EventKind] = {"ringing": "ringing", "in-progress": "answered"}
NOT_RECORDED = frozenset({"queued", "initiated"})

FORM_SCHEMA = {
    "type": "object",
    "required": ["CallSid"],
    "properties": {
        "CallSid": {"type": "string"},
        "AccountSid": {"type": "string"},
        "CallStatus": {
            "type": "string",
            "enum": sorted([*NOT_RECORDED, *PROGRESS, *ENDED]),
        },
        "CallDuration": {"type": "string", "description": "seconds, with a final status"},
        "AnsweredBy": {"type": "string", "description": "human, machine_start, fax, unknown..."},
    },
    "additionalProperties": {"type": "string"},
}


def status_events(params: Mapping[str, str]) -> list[ProviderEvent]:
    """The provider events a status or AMD callback reports (none for queued and initiated)."""
    call_sid = params.get("CallSid")
    if not call_sid:
        raise InvalidRequest("missing CallSid", [{"field": "CallSid", "reason": "required"}])
    status = params.get("CallStatus", "")
    answered_by = params.get("AnsweredBy") or None
    if status in ENDED:
        outcome, reason = ENDED[status]
        return [
            ProviderEvent(
                provider="twilio",
                provider_call_id=call_sid,
                kind="ended",
                outcome=outcome,
                duration_s=_seconds(params.get("CallDuration")),
                answered_by=answered_by,
                error=reason,
            )
        ]
    events = []
    if status in PROGRESS:
        events.append(ProviderEvent("twilio", call_sid, PROGRESS[status]))
    if answered_by:
        events.append(
            ProviderEvent("twilio", call_sid, "machine_detection", answered_by=answered_by)
        )
    if not events and status not in NOT_RECORDED:
        raise InvalidRequest(
            f"unknown CallStatus {status!r}", [{"field": "CallStatus", "reason": "unknown"}]
        )
    return events


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def signed_by_twilio(auth_token: str, url: str, params: Mapping[str, str], signature: str) -> bool:
    """Whether ``signature`` is Twilio's for this URL and these parameters (HMAC-SHA1)."""
    validator = RequestValidator(auth_token)  # type: ignore[no-untyped-call]
    return bool(validator.validate(url, params, signature))  # type: ignore[no-untyped-call]


async def form_body(request: Request) -> bytes:
    return await request.body()


FormBody = Annotated[bytes, Depends(form_body)]


@router.post(
    "/provider/twilio/status",
    status_code=204,
    response_class=Response,
    responses=RESPONSES(400, 401, 404),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": FORM_SCHEMA}},
        }
    },
)
def twilio_status(request: Request, database: DatabaseDep, body: FormBody) -> Response:
    """A status or answering-machine callback from Twilio; `X-Twilio-Signature` is required."""
    settings: Settings = request.app.state.settings
    if not settings.twilio_auth_token:
        raise NotFound("the Twilio provider is not configured")
    params = dict(parse_qsl(body.decode(errors="replace"), keep_blank_values=True))
    # Twilio signs the URL it called: outbound's public address, not the one it listens on.
    url = settings.public_url.rstrip("/") + request.url.path
    if request.url.query:
        url += f"?{request.url.query}"
    signature = request.headers.get(SIGNATURE_HEADER)
    if not signature or not signed_by_twilio(settings.twilio_auth_token, url, params, signature):
        return error(401, f"missing or invalid {SIGNATURE_HEADER}")
    for event in status_events(params):
        provider_events.record_when_known(database, event)
    return Response(status_code=204)
