"""What one request may carry, and the middleware that bounds its body.

The body is bounded before it is read: a ``Content-Length`` over the limit is refused without
reading a byte, and a chunked body is counted as it streams in and refused as soon as it passes
the limit, so at most the limit (plus the chunk that crossed it) is ever held in memory. Both
answer ``413`` with the API's error body. The other limits are part of the request schemas
(``outbound.api.schemas``) and answer ``400`` naming the field.
"""

import json
import math
from typing import Any

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from outbound.domain.recall import MAX_RECALL_OFFSETS

MAX_CONTACTS = 100_000  # contacts in one POST /campaign or POST /campaign/{id}/contacts
MAX_DNC_PHONES = 100_000  # phones in one POST /dnc
MAX_RECALL = MAX_RECALL_OFFSETS  # offsets in a campaign's recall
MAX_FIELD_LENGTH = 1_000  # characters of a contact's text field
MAX_PHONE_LENGTH = 64  # characters of a phone as given, before normalization
MAX_EMAIL_LENGTH = 320  # characters: 64 for the local part, @, 255 for the domain
MAX_CUSTOM_FIELDS = 100  # keys at the top of a contact's custom_fields
MAX_CUSTOM_KEY_LENGTH = 100  # characters of a custom_fields key, at any depth
MAX_CUSTOM_DEPTH = 5  # objects and arrays nested in custom_fields, itself included
MAX_CUSTOM_BYTES = 16 * 1024  # a contact's custom_fields as compact UTF-8 JSON

CLOSE = [(b"connection", b"close")]  # a refused body is not drained: the connection ends


def custom_fields_problem(value: dict[str, Any]) -> str | None:
    """Why these custom fields are over the limits, or None when they are within them."""
    if len(value) > MAX_CUSTOM_FIELDS:
        return f"has {len(value)} keys; at most {MAX_CUSTOM_FIELDS}"
    characters = _flat_characters(value)
    if characters is not None and characters * _MAX_BYTES_PER_CHARACTER + 6 * len(value) + 2 <= (
        MAX_CUSTOM_BYTES
    ):
        return None  # the usual case: a few scalars under short keys, told in one pass
    problem = _nested_problem(value, depth=1)
    if problem is not None:
        return problem
    if _flat_size_bound(value) <= MAX_CUSTOM_BYTES:
        return None  # decided without serializing
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
    if size > MAX_CUSTOM_BYTES:
        return f"is {size} bytes as JSON; at most {MAX_CUSTOM_BYTES}"
    return None


_SCALARS = frozenset({str, int, float, bool, type(None)})
_MAX_BYTES_PER_CHARACTER = 6  # a control character is escaped as \u00XX in JSON


def _flat_characters(value: dict[str, Any]) -> int | None:
    """The characters of the keys and values of an object of scalars under keys within the
    key limit; None for any other object."""
    characters = 0
    for key, child in value.items():
        kind = type(child)
        if kind is str:
            characters += len(key) + len(child)
        elif kind in _SCALARS:
            characters += len(key) + len(str(child))
        else:
            return None
        if len(key) > MAX_CUSTOM_KEY_LENGTH:
            return None
    return characters


def _flat_size_bound(value: dict[str, Any]) -> float:
    """An upper bound of the object's JSON size when its values are all scalars, else inf."""
    if not all(type(child) in _SCALARS for child in value.values()):
        return math.inf
    characters = sum(len(key) + len(str(child)) for key, child in value.items())
    return characters * _MAX_BYTES_PER_CHARACTER + 6 * len(value) + 2


def _nested_problem(value: Any, depth: int) -> str | None:
    if not isinstance(value, dict | list):
        return None
    if depth > MAX_CUSTOM_DEPTH:
        return f"is nested more than {MAX_CUSTOM_DEPTH} levels deep"
    if isinstance(value, dict):
        for key in value:
            if len(key) > MAX_CUSTOM_KEY_LENGTH:
                return f"has a key of {len(key)} characters; at most {MAX_CUSTOM_KEY_LENGTH}"
    children = value.values() if isinstance(value, dict) else value
    for child in children:
        problem = _nested_problem(child, depth + 1)
        if problem is not None:
            return problem
    return None


class BodyTooLarge(HTTPException):
    """The request body is larger than the server accepts."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"request body too large: at most {max_bytes} bytes")


class BodySizeLimit:
    """ASGI middleware answering 413 to a request body over ``max_bytes``.

    An overflow found while the application reads the body is raised from ``receive`` as an
    ``HTTPException``: FastAPI lets it through its body parsing, and the API's handler turns
    it into the JSON error body. One that escapes the application is answered here.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, receive, send)
            return

        received = 0
        overflowed = started = False

        async def receive_within_limit() -> Message:
            nonlocal received, overflowed
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    overflowed = True
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def send_noting_start(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if overflowed:  # the rest of the body is unread: close rather than drain it
                    message = {**message, "headers": [*message["headers"], *CLOSE]}
            await send(message)

        try:
            await self.app(scope, receive_within_limit, send_noting_start)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = BodyTooLarge(self.max_bytes)
        response = JSONResponse({"detail": error.detail, "errors": []}, status_code=413)
        response.raw_headers.extend(CLOSE)
        await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
