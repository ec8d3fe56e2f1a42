"""Idempotent requests: the same ``Idempotency-Key`` and body within 24 h get the first answer.

The key is taken inside the transaction that does the work and its answer is stored in that
same transaction, so concurrent requests with one key do the work once: the others wait for
the first to commit, then replay its answer.
"""

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from outbound.exceptions import OutboundError
from outbound.store import idempotency as store
from outbound.store.database import Transaction

KEY_LIFETIME = timedelta(hours=24)
MAX_KEY_LENGTH = 255


class KeyReused(OutboundError):
    """This Idempotency-Key was already used with a different request."""


@dataclass(frozen=True)
class IdempotencyKey:
    key: str
    fingerprint: str  # the route and the body, hashed

    @classmethod
    def of(cls, key: str, route: str, body: bytes) -> "IdempotencyKey":
        digest = hashlib.sha256(route.encode() + b"\0" + body).hexdigest()
        return cls(key=key, fingerprint=digest)


@dataclass(frozen=True)
class Replay:
    """The result first given for this key (its JSON form)."""

    result: Any


def begin(
    conn: Transaction, account_id: uuid.UUID, idempotency: IdempotencyKey, now: datetime
) -> Replay | None:
    """Take the key for this transaction, or return the result recorded for it."""
    if store.take(
        conn, account_id, idempotency.key, idempotency.fingerprint, now, now - KEY_LIFETIME
    ):
        return None
    found = store.recorded(conn, account_id, idempotency.key)
    if found is None:  # expired and taken over by another transaction meanwhile
        raise KeyReused("this Idempotency-Key is being used by another request; retry")
    fingerprint, result = found
    if fingerprint != idempotency.fingerprint:
        raise KeyReused(
            "this Idempotency-Key was already used with a different request body or route"
        )
    return Replay(result)


def finish(
    conn: Transaction,
    account_id: uuid.UUID,
    idempotency: IdempotencyKey,
    result: Any,
) -> None:
    """Record the result of the work done under the key, in the same transaction."""
    store.remember(conn, account_id, idempotency.key, result)
