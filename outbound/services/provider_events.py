"""Events that telephony providers report: one use case for every provider.

It takes ``ProviderEvent`` records, verified and parsed by the provider that received them
(``outbound.providers.callbacks``), and knows nothing of the request that carried them.
"""

import hashlib
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from outbound import metrics
from outbound.clock import SYSTEM_CLOCK, utcnow
from outbound.domain.backoff import provider_backoff
from outbound.domain.outcomes import resolve_outcome
from outbound.domain.records import AttemptResult
from outbound.domain.statuses import Outcome
from outbound.exceptions import NotFound
from outbound.providers.callbacks import ProviderEvent
from outbound.services.dispatch import apply_results
from outbound.services.results import record_later_result
from outbound.signing import TOLERANCE_SECONDS
from outbound.store import calls as call_store
from outbound.store import campaigns as campaign_store
from outbound.store import provider_events as store
from outbound.store.database import Database

DEFAULT_RESULT_GRACE = timedelta(seconds=120)  # OUTBOUND_RESULT_GRACE_SECONDS
UNKNOWN_CALL_GRACE_SECONDS = 5.0
BUSY_RETRY_SECONDS = 5.0  # a call the platform was too busy to place is tried again after
BUSY_RETRY_MAX_SECONDS = 300.0  # how long an unknown provider call id is looked for
UNKNOWN_CALL_POLL_SECONDS = 0.1


class UnknownProviderCall(NotFound):
    """No attempt was placed with that provider call id."""


class ForeignProviderCall(NotFound):
    """The call is another account's: unknown to the connection that reported it."""


def record_event(
    database: Database,
    event: ProviderEvent,
    now: datetime,
    grace: timedelta = DEFAULT_RESULT_GRACE,
    account_id: uuid.UUID | None = None,
) -> bool:
    """Record a provider's event; the same event twice is recorded once (returns False).

    ``account_id``: the account whose connection received the event; a call of another
    account is unknown to it (``UnknownProviderCall``).

    ``ended`` closes the attempt and applies the recall rule, like any other outcome; a later
    ``result`` completes the attempt's result and decides the call within ``grace``.
    """
    ended: list[str] = []
    with database.transaction() as conn:
        attempt = store.find_attempt(conn, event.provider_call_id, account_id)
        if attempt is None:
            unknown = f"unknown provider call id {event.provider_call_id!r}"
            if account_id is not None and store.find_attempt(conn, event.provider_call_id):
                raise ForeignProviderCall(unknown)  # another account's: no use waiting
            raise UnknownProviderCall(unknown)
        # Remembered by the attempt it closes: two accounts' platforms may use the same ids.
        key = f"{attempt.call_id}:{attempt.number}"
        if not store.remember_event(conn, event.provider, key, event.kind, now):
            return False
        if event.kind == "ringing":
            store.annotate_attempt(conn, attempt, {"ringing_at": now})
        elif event.kind == "answered":
            store.annotate_attempt(conn, attempt, {"answered_at": now})
        if event.answered_by:
            store.annotate_attempt(conn, attempt, {"answered_by": event.answered_by})
        if event.kind == "ended":
            if event.duration_s is not None:
                store.annotate_attempt(conn, attempt, {"duration_s": event.duration_s})
            outcome = resolve_outcome(
                event.outcome or Outcome.FAILED, event.answered_by or attempt.answered_by
            )
            ended = apply_results(
                conn,
                [
                    AttemptResult(
                        call_id=attempt.call_id,
                        attempt_number=attempt.number,
                        outcome=outcome,
                        ended_at=now,
                        provider_call_id=event.provider_call_id,
                        error=event.error,
                        result=event.result,
                    )
                ],
                now,
            )
        elif event.kind == "unplaced":
            # The platform was too busy to place it: the attempt is not spent.
            campaigns = call_store.release_unplaced(
                conn, [(attempt.call_id, attempt.number)], now, _backoff
            )
            campaign_store.record_provider_error(
                conn, campaigns, event.error or "the platform was busy", now
            )
        elif event.kind == "result" and event.result is not None:
            record_later_result(conn, attempt.call_id, attempt.number, event.result, now, grace)
    metrics.count_outcomes(ended)
    return True


def _backoff(failures: int) -> timedelta:
    return provider_backoff(failures, BUSY_RETRY_SECONDS, BUSY_RETRY_MAX_SECONDS)


def record_when_known(
    database: Database,
    event: ProviderEvent,
    clock: Callable[[], datetime] = utcnow,
    grace: timedelta = DEFAULT_RESULT_GRACE,
    account_id: uuid.UUID | None = None,
) -> bool:
    """Record ``event``, waiting a little for a call id the dispatcher is about to store.

    A provider may report a call's first events before outbound has committed the provider
    call id that placing the call returned; only an id still unknown after
    ``UNKNOWN_CALL_GRACE_SECONDS`` is unknown for good.
    """
    deadline = SYSTEM_CLOCK.monotonic() + UNKNOWN_CALL_GRACE_SECONDS
    while True:
        try:
            return record_event(database, event, clock(), grace, account_id)
        except UnknownProviderCall:
            if SYSTEM_CLOCK.monotonic() >= deadline:
                raise
            time.sleep(UNKNOWN_CALL_POLL_SECONDS)


def accept_signature(database: Database, signature: str, now: datetime) -> bool:
    """Remember a verified signature; False when it was already used (a replay).

    A signature is remembered twice as long as a timestamped one stays valid
    (``signing.TOLERANCE_SECONDS``), then forgotten: by then its timestamp refuses it.
    """
    with database.transaction() as conn:
        store.forget_signatures_before(conn, now - timedelta(seconds=2 * TOLERANCE_SECONDS))
        return store.remember_signature(conn, _digest(signature), now)


def release_signature(database: Database, signature: str) -> None:
    """Forget a signature whose request recorded nothing (it named a call outbound does not
    know): the platform may send it again, and it is then taken."""
    with database.transaction() as conn:
        store.forget_signature(conn, _digest(signature))


def _digest(signature: str) -> str:
    return hashlib.sha256(signature.encode()).hexdigest()
