"""Reading the moments users give us."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


class InvalidMoment(ValueError):
    """The moment is not an ISO 8601 date and time."""


def parse_launch_at(value: str, default_zone: str) -> datetime:
    """An ISO 8601 moment in UTC; without an offset it is read in ``default_zone``."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidMoment(f"not an ISO 8601 date and time: {value!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(default_zone))
    return moment.astimezone(UTC)
