"""Events from your own agent runtime (the ``webhook`` provider), signed like its calls."""

import time
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, ValidationError

from outbound.api.deps import DatabaseDep
from outbound.api.errors import RESPONSES, error
from outbound.clock import utcnow
from outbound.config import Settings
from outbound.domain.statuses import Outcome
from outbound.exceptions import InvalidRequest, NotFound
from outbound.services import provider_events
from outbound.services.provider_events import ProviderEvent
from outbound.signing import SIGNATURE_HEADER, InvalidSignature, verify

router = APIRouter(tags=["providers"])


class RuntimeEvent(BaseModel):
    provider_call_id: str = Field(min_length=1, max_length=128)
    event: Literal["ringing", "answered", "ended"]
    outcome: Outcome | None = Field(None, description="Required with `ended`")
    duration_s: float | None = Field(None, ge=0)
    answered_by: str | None = Field(None, max_length=32, description="e.g. human, machine")
    error: str | None = Field(None, max_length=1000)


class Recorded(BaseModel):
    recorded: bool = Field(description="False when this event had been recorded before")


@router.post(
    "/provider/webhook/events",
    response_model=Recorded,
    responses=RESPONSES(400, 401, 404),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": RuntimeEvent.model_json_schema()}},
        }
    },
)
async def runtime_event(request: Request, database: DatabaseDep) -> object:
    """A call's event reported by the agent runtime; `X-Outbound-Signature` is required."""
    settings: Settings = request.app.state.settings
    if not settings.webhook_provider_secret:
        raise NotFound("the webhook provider is not configured")
    body = await request.body()
    try:
        verify(
            settings.webhook_provider_secret,
            request.headers.get(SIGNATURE_HEADER),
            body,
            time.time(),
        )
    except InvalidSignature as exc:
        return error(401, str(exc))
    signature = request.headers[SIGNATURE_HEADER]
    if not await run_in_threadpool(provider_events.accept_signature, database, signature, utcnow()):
        return error(401, "replayed request")
    try:
        event = RuntimeEvent.model_validate_json(body)
    except ValidationError as exc:
        raise InvalidRequest(
            "invalid event",
            errors=[
                {"field": ".".join(map(str, e["loc"])) or "body", "reason": e["msg"]}
                for e in exc.errors()
            ],
        ) from exc
    if event.event == "ended" and event.outcome is None:
        raise InvalidRequest(
            "an ended event needs an outcome", errors=[{"field": "outcome", "reason": "required"}]
        )
    recorded = await run_in_threadpool(
        provider_events.record_when_known,
        database,
        ProviderEvent(
            provider="webhook",
            provider_call_id=event.provider_call_id,
            kind=event.event,
            outcome=event.outcome,
            duration_s=event.duration_s,
            answered_by=event.answered_by,
            error=event.error,
        ),
    )
    return Recorded(recorded=recorded)
