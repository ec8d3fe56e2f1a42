"""Liveness (the process serves) and readiness (its database answers, its schema is current)."""

import logging
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from outbound.api.deps import EngineDep
from outbound.store import migrate

router = APIRouter(tags=["operations"])
log = logging.getLogger(__name__)


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
def readyz(engine: EngineDep) -> dict[str, str] | JSONResponse:
    """Ready for traffic: the database answers and its migrations are current (no token needed)."""
    try:
        current = migrate.is_current(engine)
    except SQLAlchemyError as exc:
        log.warning("readiness: database does not answer: %s", exc)
        return _not_ready("database", f"the database does not answer ({type(exc).__name__})")
    if not current:
        return _not_ready(
            "schema", "database migrations are not current: run `outbound db upgrade`"
        )
    return {"status": "ready"}


def _not_ready(field: str, reason: str) -> JSONResponse:
    body = NotReadyOut(detail=f"not ready: {reason}", errors=[{"field": field, "reason": reason}])
    return JSONResponse(body.model_dump(), status_code=503)
