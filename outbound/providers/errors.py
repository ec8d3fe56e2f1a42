"""Provider errors, translated from each provider's own at the edge.

ProviderError
 ├── ProviderUnavailable   connection refused, timeout, 5xx: not the callee's fault;
 │                         the attempt is not spent and the call is retried with a backoff
 └── CallRejected          the provider refused this call (e.g. 4xx): the attempt fails
"""


class ProviderError(Exception):
    """The telephony provider failed."""


class ProviderUnavailable(ProviderError):
    """The telephony provider could not be reached or failed to answer."""


class CallRejected(ProviderError):
    """The telephony provider refused to place this call."""
