"""How long to wait before trying again, and when to stop trying.

Two things are retried with exponential backoff: a call the provider could not take (it was
down: the attempt is not spent) and an event a customer's endpoint did not accept (later events
wait behind it, until it is given up). Pure: no clock, the delays are added to a ``now``.
"""

from datetime import timedelta

PROVIDER_MAX_DOUBLINGS = 20  # 2**20 times the first delay: past any maximum, and finite
EVENT_BACKOFF_CAP = 720  # an event's delay grows up to this many times the first (1 h for 5 s)
EVENT_MAX_ATTEMPTS = 40  # per event: with a 5 s start, retries span more than 24 h


def provider_backoff(failures: int, first_seconds: float, max_seconds: float) -> timedelta:
    """How long a call waits after the provider failed to take it, ``failures`` earlier
    failures of the provider on that call (0 the first time) included: doubling from
    ``first_seconds``, at most ``max_seconds``."""
    seconds = first_seconds * 2 ** min(failures, PROVIDER_MAX_DOUBLINGS)
    return timedelta(seconds=min(seconds, max_seconds))


def event_backoff(failures: int, first_seconds: float) -> timedelta:
    """How long an event waits after its ``failures``-th failed delivery (1 the first time):
    doubling from ``first_seconds``, at most ``EVENT_BACKOFF_CAP`` times that."""
    return timedelta(seconds=first_seconds * min(2 ** (failures - 1), EVENT_BACKOFF_CAP))


def event_given_up(failures: int) -> bool:
    """After this many failed deliveries the event is abandoned and the next one follows."""
    return failures >= EVENT_MAX_ATTEMPTS
