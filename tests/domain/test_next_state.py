"""What follows an attempt: the recall rule, recall_on and the calling window together."""

import uuid
from datetime import UTC, datetime, timedelta

from outbound.domain.records import AttemptResult
from outbound.domain.statuses import CallStatus, Outcome
from outbound.services.dispatch import next_state
from outbound.store.calls import InFlightCall

ANCHOR = datetime(2026, 12, 1, 18, 30, tzinfo=UTC)  # a Tuesday, 19:30 in Madrid


def _call(**changes: object) -> InFlightCall:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "campaign_id": uuid.uuid4(),
        "account_id": uuid.uuid4(),
        "status": CallStatus.IN_PROGRESS,
        "attempt_count": 1,
        "recall": (60.0,),
        "anchor_at": ANCHOR,
        "recall_on": None,
        "calling_window": {"start": "09:00", "end": "20:00"},
        "timezone": "Europe/Madrid",
    }
    values.update(changes)
    return InFlightCall(**values)  # type: ignore[arg-type]


def _ended(call: InFlightCall, outcome: Outcome) -> AttemptResult:
    return AttemptResult(call.id, 1, outcome, ANCHOR + timedelta(seconds=30))


def test_a_recall_landing_outside_the_window_moves_to_its_next_opening():
    call = _call()
    status, due = next_state(call, _ended(call, Outcome.NO_ANSWER))
    assert status is CallStatus.PENDING
    assert due == datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # 09:00 the next morning in Madrid


def test_a_recall_inside_the_window_keeps_its_time():
    call = _call(recall=(15.0,))
    _, due = next_state(call, _ended(call, Outcome.BUSY))
    assert due == ANCHOR + timedelta(minutes=15)


def test_an_outcome_not_in_recall_on_fails_the_call():
    call = _call(recall_on=["no_answer"])
    assert next_state(call, _ended(call, Outcome.VOICEMAIL)) == (CallStatus.FAILED, None)


def test_a_cancelled_call_stays_cancelled():
    call = _call(status=CallStatus.CANCELLED)
    assert next_state(call, _ended(call, Outcome.NO_ANSWER)) == (CallStatus.CANCELLED, None)
