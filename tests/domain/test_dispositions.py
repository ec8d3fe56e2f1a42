"""What a disposition does to its call (CONTRACT §7), as a pure rule: properties over any run
of attempts, and the cases the contract names."""

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from outbound.domain.dispositions import Action, AfterVoicemail
from outbound.domain.recall import Conversation, next_state
from outbound.domain.records import AttemptResult
from outbound.domain.results import ConversationResult
from outbound.domain.statuses import CallStatus, Outcome
from outbound.domain.windows import is_open, parse_window, zone_of

ANCHOR = datetime(2026, 12, 1, 18, 30, tzinfo=UTC)  # a Tuesday, 19:30 in Madrid
MADRID = zone_of("Europe/Madrid")
WINDOW = parse_window({"start": "09:00", "end": "20:00"})
ACTIONS = {action.value: action for action in Action}  # a disposition named after its action


def _answered(disposition: str | None, callback_at: datetime | None = None, number: int = 1):
    result = ConversationResult(disposition=disposition, callback_at=callback_at)
    return AttemptResult(uuid.uuid4(), number, Outcome.ANSWERED, ANCHOR, result=result)


def _next(result: AttemptResult, recall=(60.0,), taken: int = 0, window=WINDOW):
    conversation = Conversation(actions=ACTIONS, max_callbacks=3, callbacks_taken=taken)
    return next_state(
        CallStatus.IN_PROGRESS, recall, None, ANCHOR, window, MADRID, result, conversation
    )


def test_a_callback_lands_at_the_asked_time_when_the_window_is_open():
    asked = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)  # 11:00 in Madrid
    state = _next(_answered("callback", asked))
    assert state.status is CallStatus.PENDING
    assert state.next_attempt_at == asked == state.callback_at


def test_a_callback_outside_the_window_moves_to_its_next_opening():
    asked = datetime(2026, 12, 2, 21, 0, tzinfo=UTC)  # 22:00 in Madrid: closed
    state = _next(_answered("callback", asked))
    assert state.next_attempt_at == datetime(2026, 12, 3, 8, 0, tzinfo=UTC)  # 09:00 next day


def test_a_callback_without_a_time_takes_the_next_recall_offset_without_spending_it():
    state = _next(_answered("callback"), recall=(10.0,), window=None)
    assert state.next_attempt_at == ANCHOR + timedelta(minutes=10)
    # The callback attempt (2) answers without a disposition's retry: attempt 3 still gets the
    # recall offset, as attempt 2 would have.
    after = _next(_answered("retry", number=2), recall=(10.0,), taken=1, window=None)
    assert after.status is CallStatus.PENDING


def test_callbacks_over_the_budget_act_as_retry():
    result = _answered("callback", ANCHOR + timedelta(hours=1), number=4)
    state = _next(result, recall=(), taken=3)
    assert state.status is CallStatus.FAILED and state.callback_at is None


def test_dnc_completes_and_suppresses():
    state = _next(_answered("dnc"))
    assert state == (CallStatus.COMPLETED, None, None, True)


def test_an_undeclared_disposition_completes():
    assert _next(_answered("not_declared")).status is CallStatus.COMPLETED


def test_a_left_voicemail_completes_when_the_playbook_says_so():
    result = AttemptResult(
        uuid.uuid4(), 1, Outcome.VOICEMAIL, ANCHOR, result=ConversationResult(voicemail_left=True)
    )
    complete = Conversation(after_voicemail=AfterVoicemail.COMPLETE)
    state = next_state(CallStatus.IN_PROGRESS, (5.0,), None, ANCHOR, None, MADRID, result, complete)
    assert state.status is CallStatus.COMPLETED
    retry = next_state(CallStatus.IN_PROGRESS, (5.0,), None, ANCHOR, None, MADRID, result)
    assert retry.status is CallStatus.PENDING


def test_an_unanswered_outcome_follows_the_recall_rule_whatever_the_result_says():
    result = AttemptResult(
        uuid.uuid4(), 1, Outcome.NO_ANSWER, ANCHOR, result=ConversationResult(disposition="dnc")
    )
    state = _next(result)
    assert state.status is CallStatus.PENDING and not state.do_not_call


attempt_results = st.tuples(
    st.sampled_from(list(Outcome)),
    st.one_of(st.none(), st.sampled_from([*ACTIONS, "undeclared"])),
    st.one_of(st.none(), st.integers(min_value=-600, max_value=60 * 24 * 3)),  # callback, min
    st.booleans(),  # voicemail left
    st.integers(min_value=0, max_value=600),  # seconds the attempt lasted
)


@given(
    recall=st.lists(st.integers(min_value=0, max_value=600), max_size=4).map(
        lambda offsets: tuple(float(o) for o in sorted(offsets))
    ),
    max_callbacks=st.integers(min_value=0, max_value=4),
    runs=st.lists(attempt_results, min_size=1, max_size=30),
    after_voicemail=st.sampled_from(list(AfterVoicemail)),
    windowed=st.booleans(),
)
def test_any_run_of_attempts_is_bounded_never_goes_back_in_time_and_stops_at_dnc(
    recall, max_callbacks, runs, after_voicemail, windowed
):
    window = WINDOW if windowed else None
    status, now, taken, attempts = CallStatus.IN_PROGRESS, ANCHOR, 0, 0
    for outcome, disposition, callback_minutes, left, lasted in runs:
        attempts += 1
        ended = now + timedelta(seconds=lasted)
        result = AttemptResult(
            uuid.uuid4(),
            attempts,
            outcome,
            ended,
            result=ConversationResult(
                disposition=disposition,
                callback_at=(
                    None
                    if callback_minutes is None
                    else ended + timedelta(minutes=callback_minutes)
                ),
                voicemail_left=left,
            ),
        )
        conversation = Conversation(ACTIONS, after_voicemail, max_callbacks, taken)
        state = next_state(status, recall, None, ANCHOR, window, MADRID, result, conversation)
        if state.do_not_call:
            assert state.status is CallStatus.COMPLETED  # no attempt follows to that phone
        if state.status is not CallStatus.PENDING:
            assert state.status.is_terminal and state.next_attempt_at is None
            break
        assert state.next_attempt_at is not None and state.next_attempt_at >= ended
        if window is not None:
            assert is_open(window, MADRID, state.next_attempt_at)
        taken += state.callback_at is not None
        assert taken <= max_callbacks
        now = state.next_attempt_at
    assert attempts <= 1 + len(recall) + max_callbacks
