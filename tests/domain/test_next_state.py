"""What follows an attempt: the recall rule, recall_on and the calling window together."""

import uuid
from datetime import UTC, datetime, time, timedelta
from typing import get_args

from hypothesis import given
from hypothesis import strategies as st

from outbound.domain.recall import RETRIED_BY_DEFAULT, max_attempts, next_state
from outbound.domain.records import AttemptResult
from outbound.domain.statuses import CallStatus, Outcome
from outbound.domain.windows import CallingWindow, is_open, parse_window, zone_of
from outbound.schemas.bodies import RetryableOutcome

ANCHOR = datetime(2026, 12, 1, 18, 30, tzinfo=UTC)  # a Tuesday, 19:30 in Madrid
MADRID = zone_of("Europe/Madrid")
WINDOW = parse_window({"start": "09:00", "end": "20:00"})


def _ended(outcome: Outcome, attempt: int = 1, after: timedelta = timedelta(seconds=30)):
    return AttemptResult(uuid.uuid4(), attempt, outcome, ANCHOR + after)


def _next(
    outcome: Outcome,
    recall: tuple[float, ...] = (60.0,),
    retry_on: frozenset[Outcome] | None = None,
    status: CallStatus = CallStatus.IN_PROGRESS,
    window: CallingWindow | None = WINDOW,
) -> tuple[CallStatus, datetime | None]:
    state = next_state(status, recall, retry_on, ANCHOR, window, MADRID, _ended(outcome))
    return state.status, state.next_attempt_at


def test_a_recall_landing_outside_the_window_moves_to_its_next_opening():
    status, due = _next(Outcome.NO_ANSWER)
    assert status is CallStatus.PENDING
    assert due == datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # 09:00 the next morning in Madrid


def test_a_recall_inside_the_window_keeps_its_time():
    assert _next(Outcome.BUSY, recall=(15.0,)) == (
        CallStatus.PENDING,
        ANCHOR + timedelta(minutes=15),
    )


def test_without_a_window_the_recall_keeps_its_time():
    assert _next(Outcome.NO_ANSWER, window=None) == (
        CallStatus.PENDING,
        ANCHOR + timedelta(minutes=60),
    )


def test_an_outcome_not_in_recall_on_fails_the_call():
    retry_on = frozenset({Outcome.NO_ANSWER})
    assert _next(Outcome.VOICEMAIL, retry_on=retry_on) == (CallStatus.FAILED, None)
    assert _next(Outcome.NO_ANSWER, retry_on=retry_on)[0] is CallStatus.PENDING


def test_an_empty_recall_on_retries_nothing():
    assert _next(Outcome.NO_ANSWER, retry_on=frozenset()) == (CallStatus.FAILED, None)


def test_answered_completes_the_call_and_no_offsets_left_fails_it():
    assert _next(Outcome.ANSWERED) == (CallStatus.COMPLETED, None)
    assert _next(Outcome.NO_ANSWER, recall=()) == (CallStatus.FAILED, None)


def test_a_cancelled_call_stays_cancelled():
    assert _next(Outcome.NO_ANSWER, status=CallStatus.CANCELLED) == (CallStatus.CANCELLED, None)


def test_every_outcome_but_answered_is_retried_by_default():
    assert {o for o in Outcome if _next(o)[0] is CallStatus.PENDING} == RETRIED_BY_DEFAULT
    assert Outcome.ANSWERED not in RETRIED_BY_DEFAULT


def _window(opens: int, hours: int, days: set[int]) -> CallingWindow:
    start, end = f"{opens:02d}:00", f"{min(opens + hours, 24):02d}:00"
    return CallingWindow(*_bounds(start, end), days=frozenset(days))


def _bounds(start: str, end: str) -> tuple[time, time]:
    window = parse_window({"start": start, "end": end})
    assert window is not None
    return window.start, window.end


windows = st.one_of(
    st.none(),
    st.builds(
        _window, st.integers(0, 22), st.integers(1, 24), st.sets(st.integers(0, 6), min_size=1)
    ),
)
recalls = st.lists(st.floats(min_value=0, max_value=10_000), max_size=6).map(
    lambda xs: tuple(sorted(xs))
)
zones = st.sampled_from(["UTC", "Europe/Madrid", "America/New_York", "Asia/Kolkata", None])
retry_ons = st.one_of(st.none(), st.frozensets(st.sampled_from(sorted(RETRIED_BY_DEFAULT))))


@given(
    recalls,
    retry_ons,
    windows,
    zones,
    st.lists(st.sampled_from(list(Outcome)), min_size=1, max_size=30),
    st.lists(st.floats(min_value=0, max_value=100_000), min_size=30, max_size=30),
)
def test_a_call_never_gets_more_than_one_plus_len_recall_attempts(
    recall: tuple[float, ...],
    retry_on: frozenset[Outcome] | None,
    window: CallingWindow | None,
    zone_name: str | None,
    outcomes: list[Outcome],
    talks: list[float],
):
    """Whatever the outcomes, the call ends within 1 + len(recall) attempts; each next attempt
    is due no earlier than the last ended and inside the window; answered completes."""
    zone = zone_of(zone_name)
    started = ANCHOR
    status = CallStatus.IN_PROGRESS
    for number, outcome in enumerate(outcomes, start=1):
        assert number <= max_attempts(recall)
        ended = started + timedelta(seconds=talks[number - 1])
        status, due, *_ = next_state(
            CallStatus.IN_PROGRESS,
            recall,
            retry_on,
            ANCHOR,
            window,
            zone,
            AttemptResult(uuid.uuid4(), number, outcome, ended),
        )
        if status is not CallStatus.PENDING:
            assert due is None
            assert status is (
                CallStatus.COMPLETED if outcome is Outcome.ANSWERED else CallStatus.FAILED
            )
            break
        assert due is not None and due >= ended
        assert is_open(window, zone, due)
        started = due
    else:
        assert len(outcomes) <= max_attempts(recall) and status is CallStatus.PENDING


def test_the_api_accepts_in_recall_on_exactly_the_outcomes_retried_by_default():
    assert set(get_args(RetryableOutcome)) == {o.value for o in RETRIED_BY_DEFAULT}
