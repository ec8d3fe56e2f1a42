"""The recall rule: when a call's next attempt is due, or how it ends.

Attempt ``k + 1`` is due ``recall[k - 1]`` minutes after the call's anchor (the moment its
first attempt started). A moment already past when attempt ``k`` ends means "at once".
``answered`` completes the call; with no offsets left it fails. A campaign's ``recall_on``
narrows which outcomes are retried (by default every outcome but ``answered``), and a retry due
outside the calling window waits for the window's next opening.

An answered conversation's disposition acts by what the playbook declares for it (CONTRACT §7):
``complete``, ``retry`` (the recall rule), ``callback`` (the next attempt at the asked time,
outside the recall budget, at most ``max_callbacks``) or ``dnc``.
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from outbound.domain.dispositions import DEFAULT_MAX_CALLBACKS, Action, AfterVoicemail
from outbound.domain.records import AttemptResult
from outbound.domain.statuses import CallStatus, Outcome
from outbound.domain.windows import CallingWindow, next_opening

MAX_RECALL_OFFSETS = 20
MAX_RECALL_MINUTES = 60 * 24 * 90  # ninety days
RETRIED_BY_DEFAULT = frozenset(Outcome) - {Outcome.ANSWERED}  # when a campaign has no recall_on


class InvalidRecall(ValueError):
    """The recall policy is not an ascending list of non-negative minutes."""


@dataclass(frozen=True)
class Retry:
    due_at: datetime


@dataclass(frozen=True)
class Finish:
    status: CallStatus


Decision = Retry | Finish


def parse_recall(value: object) -> tuple[float, ...]:
    """Read a recall policy given as a list of minutes or as that list in a string."""
    if value is None:
        return ()
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return ()
        if not text.startswith("["):
            text = f"[{text}]"
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidRecall(f"recall is not a list of minutes: {value!r}") from exc
    if not isinstance(value, list | tuple):
        raise InvalidRecall('recall must be a list of minutes, e.g. [30, 120] or "[30,120]"')
    if len(value) > MAX_RECALL_OFFSETS:
        raise InvalidRecall(f"recall has {len(value)} offsets; at most {MAX_RECALL_OFFSETS}")
    offsets: list[float] = []
    for index, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, int | float):
            raise InvalidRecall(f"recall[{index}] is not a number of minutes: {item!r}")
        minutes = float(item)
        if minutes != minutes or minutes < 0:
            raise InvalidRecall(f"recall[{index}] must be >= 0 minutes, got {item!r}")
        if minutes > MAX_RECALL_MINUTES:
            raise InvalidRecall(f"recall[{index}] exceeds {MAX_RECALL_MINUTES} minutes")
        if offsets and minutes < offsets[-1]:
            raise InvalidRecall(f"recall must be ascending: recall[{index}]={item!r} < previous")
        offsets.append(minutes)
    return tuple(offsets)


def max_attempts(recall: Sequence[float]) -> int:
    return 1 + len(recall)


def decide(
    recall: Sequence[float],
    attempt_number: int,
    outcome: Outcome,
    anchor: datetime,
    ended_at: datetime,
    retry_on: frozenset[Outcome] | None = None,
) -> Decision:
    """What follows attempt ``attempt_number`` (1-based) that ended with ``outcome``.

    ``retry_on`` restricts which outcomes are retried (default: ``RETRIED_BY_DEFAULT``).
    """
    if outcome is Outcome.ANSWERED:
        return Finish(CallStatus.COMPLETED)
    if outcome not in (RETRIED_BY_DEFAULT if retry_on is None else retry_on):
        return Finish(CallStatus.FAILED)
    if attempt_number > len(recall):
        return Finish(CallStatus.FAILED)
    due_at = anchor + timedelta(minutes=recall[attempt_number - 1])
    return Retry(max(due_at, ended_at))


@dataclass(frozen=True)
class Conversation:
    """What decides a call after a conversation: its playbook's dispositions and voicemail
    policy, and the callbacks the call has taken so far."""

    actions: Mapping[str, Action] = field(default_factory=dict)  # by disposition name
    after_voicemail: AfterVoicemail = AfterVoicemail.RETRY
    max_callbacks: int = DEFAULT_MAX_CALLBACKS
    callbacks_taken: int = 0


NO_CONVERSATION = Conversation()


class NextState(NamedTuple):
    status: CallStatus
    next_attempt_at: datetime | None
    callback_at: datetime | None = None  # a callback was scheduled (it takes one of the budget)
    do_not_call: bool = False  # the phone joins the account's do-not-call list


def next_state(
    status: CallStatus,
    recall: Sequence[float],
    retry_on: frozenset[Outcome] | None,
    anchor: datetime,
    window: CallingWindow | None,
    zone: ZoneInfo,
    result: AttemptResult,
    conversation: Conversation = NO_CONVERSATION,
) -> NextState:
    """A call's status once ``result`` closes its open attempt, and when its next attempt is
    due: the recall rule, or the action of the disposition the conversation ended with; the due
    time moved to the calling window's next opening in ``zone``.

    Callbacks do not use the recall budget: the recall offset of attempt ``k`` is that of the
    ``k - callbacks taken``-th recall attempt, so a call makes at most
    ``1 + len(recall) + max_callbacks`` attempts. A call cancelled while its attempt was open
    stays cancelled.
    """
    if status is CallStatus.CANCELLED:
        return NextState(CallStatus.CANCELLED, None)  # the attempt closes; the call stays so
    number = result.attempt_number - conversation.callbacks_taken  # in the recall budget
    found = result.result
    if result.outcome is Outcome.ANSWERED and found is not None and found.disposition:
        action = conversation.actions.get(found.disposition, Action.COMPLETE)
        if action is Action.DNC:
            return NextState(CallStatus.COMPLETED, None, do_not_call=True)
        if action is Action.CALLBACK and conversation.callbacks_taken < conversation.max_callbacks:
            due = found.callback_at
            if due is None and number <= len(recall):
                due = anchor + timedelta(minutes=recall[number - 1])
            if due is not None:
                opening = next_opening(window, zone, max(due, result.ended_at))
                return NextState(CallStatus.PENDING, opening, callback_at=opening)
        if action in (Action.RETRY, Action.CALLBACK):  # a callback over the budget: a retry
            decision = decide(recall, number, Outcome.NO_ANSWER, anchor, result.ended_at)
            return _state(decision, window, zone)
        return NextState(CallStatus.COMPLETED, None)
    if (
        result.outcome is Outcome.VOICEMAIL
        and found is not None
        and found.voicemail_left
        and conversation.after_voicemail is AfterVoicemail.COMPLETE
    ):
        return NextState(CallStatus.COMPLETED, None)
    decision = decide(recall, number, result.outcome, anchor, result.ended_at, retry_on)
    return _state(decision, window, zone)


def _state(decision: Decision, window: CallingWindow | None, zone: ZoneInfo) -> NextState:
    if isinstance(decision, Finish):
        return NextState(decision.status, None)
    return NextState(CallStatus.PENDING, next_opening(window, zone, decision.due_at))
