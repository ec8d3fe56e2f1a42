"""The OpenAPI document, with every error answer a route can really give.

Handlers declare the errors they raise themselves (``responses=RESPONSES(...)``). The answers
that come from the middleware and the shared dependencies are added here to every operation
they apply to, so the document cannot forget them:

| code | where |
|---|---|
| 400 | FastAPI validates something the request carries: a body, a query or a header |
| 401 | a bearer token is required |
| 413 | everywhere: the body limit applies to every request (``outbound.api.limits``) |
| 422 | an ``Idempotency-Key`` is taken, and reused with another request |
| 429 | the write routes the rate limit covers (``outbound.api.ratelimit``) |
| 503 | every route that needs the database (all but ``/healthz``, ``/metrics``) while it is away |

FastAPI's own ``422`` with ``HTTPValidationError`` is removed: invalid data is ``400`` here.
Schemas a route gives whole (``openapi_extra``) have their ``$defs`` moved to the components,
where their references can find them.
"""

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from outbound.api.errors import ERROR_DESCRIPTIONS
from outbound.api.ratelimit import EXEMPT_PREFIXES, WRITE_METHODS

IDEMPOTENCY_HEADER = "idempotency-key"
# Every other route reads or writes the database (/metrics does, but leaves out its gauges).
DATABASE_FREE_PATHS = frozenset({"/healthz", "/metrics"})
FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")
LOCAL_DEFINITION = "#/$defs/"
COMPONENT = "#/components/schemas/"
ERROR_BODY = {"application/json": {"schema": {"$ref": COMPONENT + "ErrorOut"}}}
RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}}
}
HEADERS = {
    401: {"WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}},
    429: RETRY_AFTER,
    503: RETRY_AFTER,
}


def install(app: FastAPI) -> None:
    """Serve the document with the error answers added and FastAPI's 422 removed."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        return document_errors(generate())

    app.openapi = openapi  # type: ignore[method-assign]


def document_errors(document: dict[str, Any]) -> dict[str, Any]:
    """Add the shared error answers to each operation (idempotent: the document is cached)."""
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            if _is_fastapi_validation_error(responses.get("422")):
                del responses["422"]
            for code in sorted(_shared_errors(path, method.upper(), operation)):
                response = responses.setdefault(str(code), _error_response(code))
                if code in HEADERS and _is_error_body(response):
                    response.setdefault("headers", HEADERS[code])
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    _hoist_definitions(document["paths"], schemas)
    return document


def _hoist_definitions(node: Any, schemas: dict[str, Any]) -> None:
    """Move nested ``$defs`` into ``components/schemas`` and point their references there."""
    if isinstance(node, list):
        for item in node:
            _hoist_definitions(item, schemas)
        return
    if not isinstance(node, dict):
        return
    for name, definition in node.pop("$defs", {}).items():
        schemas.setdefault(name, definition)
    reference = node.get("$ref")
    if isinstance(reference, str) and reference.startswith(LOCAL_DEFINITION):
        node["$ref"] = COMPONENT + reference.removeprefix(LOCAL_DEFINITION)
    for value in node.values():
        _hoist_definitions(value, schemas)


def _shared_errors(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    parameters = operation.get("parameters", [])
    codes = {413}
    if "requestBody" in operation or any(p["in"] in ("query", "header") for p in parameters):
        codes.add(400)
    if operation.get("security"):
        codes.add(401)
    if any(p["in"] == "header" and p["name"].lower() == IDEMPOTENCY_HEADER for p in parameters):
        codes.add(422)
    if method in WRITE_METHODS and not path.startswith(EXEMPT_PREFIXES):
        codes.add(429)
    if path not in DATABASE_FREE_PATHS:
        codes.add(503)
    return codes


def _json_schema_ref(response: dict[str, Any] | None) -> str:
    schema = (response or {}).get("content", {}).get("application/json", {}).get("schema", {})
    return str(schema.get("$ref", ""))


def _is_fastapi_validation_error(response: dict[str, Any] | None) -> bool:
    return _json_schema_ref(response).endswith("/HTTPValidationError")


def _is_error_body(response: dict[str, Any]) -> bool:
    return _json_schema_ref(response).endswith("/ErrorOut")


def _error_response(code: int) -> dict[str, Any]:
    return {"description": ERROR_DESCRIPTIONS[code], "content": ERROR_BODY}
