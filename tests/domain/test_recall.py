from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outbound.domain.recall import (
    Finish,
    InvalidRecall,
    Retry,
    decide,
    max_attempts,
    parse_recall,
)
from outbound.domain.statuses import CallStatus, Outcome

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("given_value", "expected"),
    [
        (None, ()),
        ([], ()),
        ([30, 120], (30.0, 120.0)),
        ("[30,120]", (30.0, 120.0)),
        (" [0.02, 0.05] ", (0.02, 0.05)),
        ("30,120", (30.0, 120.0)),
        ([0, 0], (0.0, 0.0)),
    ],
)
def test_parse_recall_accepts_lists_and_strings(given_value: object, expected: tuple[float, ...]):
    assert parse_recall(given_value) == expected


@pytest.mark.parametrize(
    "bad", ["[120, 30]", [-1], "soon", {"a": 1}, [True], ["30"], "[30,", [float("nan")], 5]
)
def test_parse_recall_rejects_bad_policies(bad: object):
    with pytest.raises(InvalidRecall):
        parse_recall(bad)


def test_answered_completes_the_call():
    assert decide((30,), 1, Outcome.ANSWERED, T0, T0) == Finish(CallStatus.COMPLETED)


def test_next_attempt_is_due_at_anchor_plus_offset():
    ended = T0 + timedelta(seconds=20)
    assert decide((30, 120), 1, Outcome.NO_ANSWER, T0, ended) == Retry(T0 + timedelta(minutes=30))
    assert decide((30, 120), 2, Outcome.BUSY, T0, ended) == Retry(T0 + timedelta(minutes=120))


def test_a_moment_already_past_means_at_once():
    ended = T0 + timedelta(minutes=45)
    assert decide((30, 120), 1, Outcome.VOICEMAIL, T0, ended) == Retry(ended)


def test_no_offsets_left_fails_the_call():
    assert decide((30,), 2, Outcome.NO_ANSWER, T0, T0) == Finish(CallStatus.FAILED)
    assert decide((), 1, Outcome.FAILED, T0, T0) == Finish(CallStatus.FAILED)


def test_outcomes_not_retried_fail_the_call():
    retry_on = frozenset({Outcome.NO_ANSWER})
    assert decide((30,), 1, Outcome.BUSY, T0, T0, retry_on) == Finish(CallStatus.FAILED)
    assert isinstance(decide((30,), 1, Outcome.NO_ANSWER, T0, T0, retry_on), Retry)


offsets = st.lists(st.floats(min_value=0, max_value=10_000, allow_nan=False), max_size=8).map(
    lambda xs: tuple(sorted(xs))
)
outcomes = st.lists(st.sampled_from(list(Outcome)), min_size=1, max_size=20)
durations = st.lists(st.floats(min_value=0, max_value=50_000), min_size=20, max_size=20)


@given(offsets, outcomes, durations, durations)
def test_any_sequence_of_attempts_obeys_the_rule(
    recall: tuple[float, ...], results: list[Outcome], waits: list[float], talks: list[float]
):
    """Attempts never exceed 1 + len(recall), due times never go backwards, answered ends."""
    due = T0
    anchor: datetime | None = None
    for attempts, outcome in enumerate(results, start=1):
        index = attempts - 1
        started = due + timedelta(seconds=waits[index] % 600)
        anchor = anchor or started
        ended = started + timedelta(seconds=talks[index])
        decision = decide(recall, attempts, outcome, anchor, ended)
        assert attempts <= max_attempts(recall)
        if outcome is Outcome.ANSWERED:
            assert decision == Finish(CallStatus.COMPLETED)
            break
        if isinstance(decision, Finish):
            assert decision.status is CallStatus.FAILED
            assert attempts == max_attempts(recall)
            break
        assert decision.due_at >= due
        assert decision.due_at >= ended
        due = decision.due_at
