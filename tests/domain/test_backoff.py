"""Backoffs: a provider that is down, an event its endpoint refused; when an event is given up."""

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from outbound.domain.backoff import (
    EVENT_BACKOFF_CAP,
    EVENT_MAX_ATTEMPTS,
    event_backoff,
    event_given_up,
    provider_backoff,
)


def test_the_provider_backoff_doubles_from_its_first_delay_up_to_its_maximum():
    delays = [provider_backoff(n, 5.0, 300.0).total_seconds() for n in range(8)]
    assert delays == [5, 10, 20, 40, 80, 160, 300, 300]


def test_the_provider_backoff_stays_finite_after_any_number_of_failures():
    assert provider_backoff(10**9, 5.0, 300.0) == timedelta(seconds=300)


def test_the_event_backoff_doubles_up_to_720_times_the_first_delay():
    delays = [event_backoff(n, 5.0).total_seconds() for n in (1, 2, 3, 10, 11, 39)]
    assert delays == [5, 10, 20, 2560, 3600, 3600]


def test_an_event_is_given_up_at_its_40th_failure_after_more_than_a_day():
    assert not event_given_up(EVENT_MAX_ATTEMPTS - 1) and event_given_up(EVENT_MAX_ATTEMPTS)
    waited = sum((event_backoff(n, 5.0) for n in range(1, EVENT_MAX_ATTEMPTS)), timedelta())
    assert waited > timedelta(hours=24)


firsts = st.floats(min_value=0.001, max_value=3600)


@given(st.integers(0, 10_000), firsts, st.floats(min_value=0.001, max_value=86_400))
def test_the_provider_backoff_never_exceeds_its_maximum_and_never_decreases(
    failures: int, first: float, maximum: float
):
    delay = provider_backoff(failures, first, maximum)
    assert timedelta(0) < delay <= timedelta(seconds=maximum)
    assert provider_backoff(failures + 1, first, maximum) >= delay


@given(st.integers(1, 10_000), firsts)
def test_the_event_backoff_never_exceeds_its_cap_and_never_decreases(failures: int, first: float):
    delay = event_backoff(failures, first)
    assert timedelta(seconds=first) <= delay <= timedelta(seconds=first * EVENT_BACKOFF_CAP)
    assert event_backoff(failures + 1, first) >= delay


@given(st.integers(0, 10_000))
def test_once_given_up_always_given_up(failures: int):
    assert event_given_up(failures + 1) >= event_given_up(failures)
