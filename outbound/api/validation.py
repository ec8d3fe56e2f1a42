"""The ``400`` of a request that breaks its schema: ``{"detail", "errors": [{"field", "reason",
"index"?}]}``, its items made by ``outbound.schemas.errors.error_items``.

FastAPI's own request validation and the contact lists validated chunk by chunk in the pool's
processes (``outbound.api.bodies``) give the same ``400`` body.
"""

from typing import Any

from outbound.exceptions import InvalidRequest


def invalid_fields(items: list[dict[str, Any]]) -> InvalidRequest:
    """The ``400`` for items made by ``error_items``: its detail names every field at fault."""
    return InvalidRequest.naming(items)


def malformed_json() -> InvalidRequest:
    return InvalidRequest(
        "malformed JSON body", errors=[{"field": "body", "reason": "invalid JSON"}]
    )
