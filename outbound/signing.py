"""HMAC-SHA256 signatures over a timestamp and a body, in Stripe's header format.

    X-Outbound-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">

Used for requests to a webhook provider, events it sends back, and events sent to customers.
"""

import hashlib
import hmac

SIGNATURE_HEADER = "X-Outbound-Signature"
TOLERANCE_SECONDS = 300  # a signature older (or newer) than this is stale


class InvalidSignature(Exception):
    """The request's signature is missing, malformed, wrong or stale."""


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The header value for ``body`` sent at ``timestamp``."""
    return f"t={timestamp},v1={_digest(secret, timestamp, body)}"


def verify(secret: str, header: str | None, body: bytes, now: float) -> int:
    """Check a header against ``body``; return its timestamp."""
    if not header:
        raise InvalidSignature("missing signature")
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError) as exc:
        raise InvalidSignature("malformed signature") from exc
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        raise InvalidSignature("stale signature")
    expected = _digest(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, given) for given in parts.get("v1", [])):
        raise InvalidSignature("signature does not match")
    return timestamp
