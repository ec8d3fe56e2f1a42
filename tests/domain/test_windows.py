from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outbound.domain.windows import InvalidWindow, is_open, next_opening, parse_window

MADRID, NEW_YORK = ZoneInfo("Europe/Madrid"), ZoneInfo("America/New_York")
WEEKDAYS = parse_window(
    {"start": "09:00", "end": "20:00", "days": ["mon", "tue", "wed", "thu", "fri"]}
)


def test_a_moment_inside_the_window_is_kept():
    moment = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # Tuesday 11:00 in Madrid
    assert next_opening(WEEKDAYS, MADRID, moment) == moment


def test_too_early_moves_to_the_opening_in_the_contacts_zone():
    moment = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # 07:00 Madrid, 01:00 New York
    assert next_opening(WEEKDAYS, MADRID, moment) == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert next_opening(WEEKDAYS, NEW_YORK, moment) == datetime(2026, 12, 1, 14, 0, tzinfo=UTC)


def test_friday_evening_moves_to_monday_morning():
    friday_late = datetime(2026, 12, 4, 19, 30, tzinfo=UTC)  # 20:30 Madrid
    assert next_opening(WEEKDAYS, MADRID, friday_late) == datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def test_excluded_dates_are_skipped():
    window = parse_window({"start": "09:00", "end": "20:00", "exclude_dates": ["2026-12-25"]})
    christmas = datetime(2026, 12, 25, 12, 0, tzinfo=UTC)
    assert next_opening(window, MADRID, christmas) == datetime(2026, 12, 26, 8, 0, tzinfo=UTC)


def test_dst_change_days():
    window = parse_window({"start": "02:30", "end": "09:00"})
    # Madrid springs forward on 2026-03-29 at 02:00 -> 03:00: 02:30 does not exist that day.
    opening = next_opening(window, MADRID, datetime(2026, 3, 28, 23, 0, tzinfo=UTC))
    assert is_open(window, MADRID, opening)
    assert opening.astimezone(MADRID).time() >= time(2, 30)
    # New York falls back on 2026-11-01: 01:00-02:00 happens twice; 09:00 EST = 14:00 UTC.
    nine = parse_window({"start": "09:00", "end": "17:00"})
    start = next_opening(nine, NEW_YORK, datetime(2026, 11, 1, 5, 0, tzinfo=UTC))
    assert start == datetime(2026, 11, 1, 14, 0, tzinfo=UTC)
    before = next_opening(nine, NEW_YORK, datetime(2026, 10, 31, 5, 0, tzinfo=UTC))
    assert before == datetime(2026, 10, 31, 13, 0, tzinfo=UTC)  # 09:00 EDT


@pytest.mark.parametrize(
    "bad",
    [
        "9-5",
        {"start": "9:00", "end": "20:00"},
        {"start": "20:00", "end": "09:00"},
        {"start": "09:00", "end": "20:00", "days": []},
        {"start": "09:00", "end": "20:00", "days": ["monday"]},
        {"start": "09:00", "end": "20:00", "exclude_dates": ["25/12/2026"]},
        {"start": "09:00", "end": "20:00", "hours": 3},
    ],
)
def test_bad_windows_are_rejected(bad: object):
    with pytest.raises(InvalidWindow):
        parse_window(bad)


def test_window_round_trips_through_json():
    assert WEEKDAYS is not None
    assert parse_window(WEEKDAYS.to_json()) == WEEKDAYS


ZONES = ["Europe/Madrid", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe",
         "Pacific/Kiritimati", "America/St_Johns", "UTC", "Africa/Casablanca"]  # fmt: skip
clock_times = st.integers(0, 23 * 60 + 58)


@st.composite
def windows(draw: st.DrawFn):
    start = draw(clock_times)
    end = draw(st.integers(start + 1, 24 * 60 - 1))
    names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    days = draw(st.lists(st.sampled_from(names), min_size=1, unique=True))
    excluded = draw(st.lists(st.dates(date(2025, 1, 1), date(2028, 12, 31)), max_size=20))
    return parse_window({
        "start": f"{start // 60:02d}:{start % 60:02d}",
        "end": f"{end // 60:02d}:{end % 60:02d}",
        "days": days,
        "exclude_dates": [d.isoformat() for d in excluded],
    })  # fmt: skip


@settings(max_examples=300)
@given(
    windows(),
    st.sampled_from(ZONES),
    st.datetimes(datetime(2025, 1, 1), datetime(2028, 12, 1), timezones=st.just(UTC)),
)
def test_the_moved_time_is_open_never_earlier_and_soon(window, zone_name: str, moment: datetime):
    zone = ZoneInfo(zone_name)
    moved = next_opening(window, zone, moment)
    assert moved >= moment
    assert is_open(window, zone, moved)
    assert moved - moment <= timedelta(days=8 + len(window.exclude_dates))
    if is_open(window, zone, moment):
        assert moved == moment
