"""Liveness (the process serves) and readiness (its database answers, its schema is current)."""

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from outbound.api.deps import DatabaseDep
from outbound.services.health import readiness

router = APIRouter(tags=["operations"])


class NotReadyOut(BaseModel):
    status: str = "unavailable"
    detail: str
    errors: list[dict[str, Any]] = []


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up (no token needed)."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=None,
    responses={
        200: {"content": {"application/json": {"example": {"status": "ready"}}}},
        503: {"model": NotReadyOut, "description": "The database does not answer or is behind"},
    },
)
def readyz(database: DatabaseDep) -> dict[str, str] | JSONResponse:
    """Ready for traffic: the database answers and its migrations are current (no token needed)."""
    state = readiness(database)
    if state.ready:
        return {"status": "ready"}
    body = NotReadyOut(
        detail=f"not ready: {state.reason}",
        errors=[{"field": state.field, "reason": state.reason}],
    )
    return JSONResponse(body.model_dump(), status_code=503)
