"""Calling windows: the hours and days a contact may be called, in the contact's own zone."""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_EXCLUDED_DATES = 366
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class InvalidWindow(ValueError):
    """The calling window is not of the form {"start": "09:00", "end": "20:00", ...}."""


@dataclass(frozen=True)
class CallingWindow:
    start: time
    end: time  # exclusive; later than start on the same day
    days: frozenset[int]  # 0 = Monday
    exclude_dates: frozenset[date] = frozenset()

    def to_json(self) -> dict[str, Any]:
        return {
            "start": self.start.strftime("%H:%M"),
            "end": self.end.strftime("%H:%M"),
            "days": [DAY_NAMES[d] for d in sorted(self.days)],
            "exclude_dates": sorted(d.isoformat() for d in self.exclude_dates),
        }


@lru_cache(maxsize=1024)
def zone_of(name: str | None) -> ZoneInfo:
    """The zone a call's window is read in, by its name (UTC without one); looked up once."""
    return ZoneInfo(name or "UTC")


def _clock_time(value: object, name: str) -> time:
    if value == "24:00" and name == "end":
        return time.max
    match = _HHMM.match(value) if isinstance(value, str) else None
    if match is None:
        raise InvalidWindow(f"calling_window.{name} must be HH:MM (24 h), got {value!r}")
    return time(int(match.group(1)), int(match.group(2)))


def parse_window(value: object) -> CallingWindow | None:
    """Read a window from its JSON form; None stands for "any hour"."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidWindow("calling_window must be an object")
    unknown = set(value) - {"start", "end", "days", "exclude_dates"}
    if unknown:
        raise InvalidWindow(f"calling_window has unknown keys: {', '.join(sorted(unknown))}")
    start = _clock_time(value.get("start"), "start")
    end = _clock_time(value.get("end"), "end")
    if end <= start:
        raise InvalidWindow("calling_window.end must be later than calling_window.start")
    days_given = value.get("days", list(DAY_NAMES))
    if not isinstance(days_given, list) or not days_given:
        raise InvalidWindow("calling_window.days must be a non-empty list such as ['mon','tue']")
    days: set[int] = set()
    for day in days_given:
        if not isinstance(day, str) or day.lower() not in DAY_NAMES:
            raise InvalidWindow(f"calling_window.days: unknown day {day!r}")
        days.add(DAY_NAMES.index(day.lower()))
    excluded_given = value.get("exclude_dates", [])
    if not isinstance(excluded_given, list) or len(excluded_given) > MAX_EXCLUDED_DATES:
        raise InvalidWindow(
            f"calling_window.exclude_dates must be a list of at most {MAX_EXCLUDED_DATES} dates"
        )
    excluded: set[date] = set()
    for item in excluded_given:
        try:
            excluded.add(date.fromisoformat(item))
        except (TypeError, ValueError) as exc:
            raise InvalidWindow(f"calling_window.exclude_dates: not a date {item!r}") from exc
    return CallingWindow(start, end, frozenset(days), frozenset(excluded))


def _local_bounds(window: CallingWindow, day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The window's opening and closing instants (UTC) on a local calendar day."""
    opening = datetime.combine(day, window.start, tzinfo=zone).astimezone(UTC)
    if window.end == time.max:
        closing = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    else:
        closing = datetime.combine(day, window.end, tzinfo=zone).astimezone(UTC)
    return opening, closing


def is_open(window: CallingWindow | None, zone: ZoneInfo, moment: datetime) -> bool:
    if window is None:
        return True
    day = moment.astimezone(zone).date()
    if day.weekday() not in window.days or day in window.exclude_dates:
        return False
    opening, closing = _local_bounds(window, day, zone)
    return opening <= moment < closing


def next_opening(window: CallingWindow | None, zone: ZoneInfo, moment: datetime) -> datetime:
    """``moment`` if the window is open then, else the window's next opening after it."""
    if window is None:
        return moment
    first_day = moment.astimezone(zone).date()
    for offset in range(len(window.exclude_dates) + 8):
        day = first_day + timedelta(days=offset)
        if day.weekday() not in window.days or day in window.exclude_dates:
            continue
        opening, closing = _local_bounds(window, day, zone)
        candidate = max(moment, opening)
        if candidate < closing:
            return candidate
    raise InvalidWindow("calling window never opens")  # unreachable: days is never empty
