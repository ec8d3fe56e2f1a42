"""The middleware that bounds a request's body.

The body is bounded before it is read: a ``Content-Length`` over the limit is refused without
reading a byte, and a chunked body is counted as it streams in and refused as soon as it passes
the limit, so at most the limit (plus the chunk that crossed it) is ever held in memory. Both
answer ``413`` with the API's error body. The other limits are part of the request schemas
(``outbound.schemas.limits``) and answer ``400`` naming the field.
"""

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CLOSE = [(b"connection", b"close")]  # a refused body is not drained: the connection ends


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
