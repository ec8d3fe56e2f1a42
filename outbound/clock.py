"""The one place that reads the wall clock; everything below takes ``now`` as a parameter."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
