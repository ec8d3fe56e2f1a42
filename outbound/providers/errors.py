"""Provider errors, translated from each provider's own at the edge.

ProviderError
 ├── LookupUnsupported     the platform cannot be asked how a call ended (an agent runtime)
 ├── ProviderUnavailable   connection refused, timeout, 5xx: not the callee's fault;
 │                         the attempt is not spent and the call is retried with a backoff
 └── CallRejected          the provider refused this call (e.g. 4xx): the attempt fails

CallbackError              a request posted to outbound as a platform's callback is refused
 ├── InvalidCallback       the platform's signature is missing, wrong or stale, or the request
 │                         is a replay: nothing says the platform sent it (the API's 401)
 └── MalformedCallback     signed, but not a callback the provider knows; ``errors`` names the
                           fields at fault (the API's 400)
"""

from typing import Any


class ProviderError(Exception):
    """The telephony provider failed."""


class ProviderUnavailable(ProviderError):
    """The telephony provider could not be reached or failed to answer."""


class CallRejected(ProviderError):
    """The telephony provider refused to place this call."""


class LookupUnsupported(ProviderError):
    """The platform has no API to look a call up: the lease rule decides."""


class CallbackError(Exception):
    """A callback was refused."""

    def __init__(self, message: str | None = None) -> None:
        self.message = message or (self.__doc__ or "").strip()
        super().__init__(self.message)


class InvalidCallback(CallbackError):
    """The callback's signature is missing or invalid."""


class MalformedCallback(CallbackError):
    """The callback's content is invalid."""

    def __init__(self, message: str | None = None, errors: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.errors = errors or []
