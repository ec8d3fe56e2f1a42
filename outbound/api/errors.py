"""Errors as HTTP: every error body is JSON ``{"detail": str, "errors": [...]}``."""

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from outbound.api.deps import Unauthorized
from outbound.api.validation import invalid_fields, malformed_json
from outbound.exceptions import (
    Conflict,
    DatabaseUnavailable,
    Forbidden,
    InvalidRequest,
    NotFound,
)
from outbound.schemas.bodies import ErrorOut
from outbound.schemas.errors import error_items
from outbound.services.idempotency import KeyReused

log = logging.getLogger(__name__)

DATABASE_RETRY_AFTER_SECONDS = 1

ERROR_DESCRIPTIONS = {
    400: "Invalid data; `errors` names each field (and contact index) at fault",
    401: "Missing or invalid token",
    403: "Playbook not found or not owned by your account",
    404: "Not found (or owned by another account)",
    409: "The resource's state does not allow this",
    413: "The request body is larger than the server accepts (`OUTBOUND_MAX_BODY_BYTES`)",
    422: "This Idempotency-Key was already used with a different request",
    429: "Too many write requests for this token; retry after `Retry-After` seconds",
    500: "Internal server error",
    503: "The database is unavailable; retry after `Retry-After` seconds",
}


def RESPONSES(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorOut, "description": ERROR_DESCRIPTIONS[code]} for code in codes}


def parse_id(value: str) -> uuid.UUID:
    """A resource id from a path; anything else is simply not found."""
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise NotFound("not found") from exc


def error(status: int, detail: str, errors: list[dict[str, Any]] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail, "errors": errors or []}, status_code=status)


def _validation_errors(exc: RequestValidationError) -> JSONResponse:
    if any(item.get("type") == "json_invalid" for item in exc.errors()):
        return _error_of(malformed_json())
    return _error_of(invalid_fields(error_items(exc.errors())))


def _error_of(exc: InvalidRequest) -> JSONResponse:
    return error(400, exc.message, exc.errors)


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _on_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation_errors(exc)

    @app.exception_handler(InvalidRequest)
    async def _on_invalid(_: Request, exc: InvalidRequest) -> JSONResponse:
        return _error_of(exc)

    @app.exception_handler(Unauthorized)
    async def _on_unauthorized(_: Request, exc: Unauthorized) -> JSONResponse:
        response = error(401, str(exc))
        response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.exception_handler(Forbidden)
    async def _on_forbidden(_: Request, exc: Forbidden) -> JSONResponse:
        return error(403, exc.message)

    @app.exception_handler(NotFound)
    async def _on_not_found(_: Request, exc: NotFound) -> JSONResponse:
        return error(404, exc.message)

    @app.exception_handler(KeyReused)
    async def _on_key_reused(_: Request, exc: KeyReused) -> JSONResponse:
        return error(422, exc.message, [{"field": "Idempotency-Key", "reason": exc.message}])

    @app.exception_handler(Conflict)
    async def _on_conflict(_: Request, exc: Conflict) -> JSONResponse:
        return error(409, exc.message)

    @app.exception_handler(HTTPException)
    async def _on_http(_: Request, exc: HTTPException) -> JSONResponse:
        return error(exc.status_code, str(exc.detail))

    @app.exception_handler(DatabaseUnavailable)
    async def _on_database_away(request: Request, exc: DatabaseUnavailable) -> JSONResponse:
        log.warning(
            "database unavailable on %s %s: %s", request.method, request.url.path, exc.__cause__
        )
        response = error(503, "the database is unavailable; retry shortly")
        response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        return response

    @app.exception_handler(Exception)
    async def _on_crash(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return error(500, "internal server error")
