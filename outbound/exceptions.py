"""outbound's errors, raised by use cases and translated to HTTP at the API's edge.

OutboundError
 ├── InvalidRequest      400: the request's data is wrong; ``errors`` says where
 ├── Forbidden           403: the resource exists but is not the caller's to use
 ├── NotFound            404: no such resource for this account
 ├── Conflict            409: the resource is not in a state that allows this
 └── DatabaseUnavailable 503: the database does not answer now (raised by ``store``)
"""

from typing import Any


class OutboundError(Exception):
    """Something went wrong in outbound."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())
        self.message = message or (self.__doc__ or "").strip()


class InvalidRequest(OutboundError):
    """The request's data is invalid."""

    def __init__(self, message: str | None = None, errors: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.errors = errors or []

    @classmethod
    def naming(cls, errors: list[dict[str, Any]]) -> "InvalidRequest":
        """The error of a request whose items ``errors`` (``{"field", "reason", ...}``) fail
        its schema: the message names every field at fault."""
        fields = ", ".join(sorted({item["field"] for item in errors})) or "body"
        return cls(f"invalid request: {fields}", errors=errors)


class Forbidden(OutboundError):
    """This resource does not belong to your account."""


class NotFound(OutboundError):
    """No such resource."""


class Conflict(OutboundError):
    """The resource's state does not allow this."""


class DatabaseUnavailable(OutboundError):
    """The database is unavailable; retry shortly."""
