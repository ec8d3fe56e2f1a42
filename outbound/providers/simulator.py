"""A deterministic provider: the outcome is chosen by the number's last two digits.

| last two digits | outcome |
|---|---|
| 00-59 | answered (rings, then talks) |
| 60-79 | no_answer |
| 80-89 | voicemail |
| 90-97 | busy |
| 98-99 | failed |

An answered attempt also reports a conversation, made from the contact's custom fields so that
any test can choose it (CONTRACT §5): ``sim_disposition``, ``sim_summary``, ``sim_data`` and
``sim_callback_minutes``. Every attempt reports a cost.
"""

import asyncio
import json
import os
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Self

from outbound.clock import utcnow
from outbound.config import Settings
from outbound.domain.records import AttemptResult
from outbound.domain.results import ConversationResult, Cost, Turn
from outbound.domain.statuses import Outcome
from outbound.providers.base import CallHandle, CallRequest, Provider, ReportResult


def simulated_outcome(e164: str) -> Outcome:
    last_two = int(e164[-2:])
    if last_two < 60:
        return Outcome.ANSWERED
    if last_two < 80:
        return Outcome.NO_ANSWER
    if last_two < 90:
        return Outcome.VOICEMAIL
    if last_two < 98:
        return Outcome.BUSY
    return Outcome.FAILED


ANSWERED_COST = Cost(0.05, "USD")
UNANSWERED_COST = Cost(0.01, "USD")


def simulated_result(
    request: CallRequest, outcome: Outcome, ended_at: datetime, talk_seconds: float
) -> ConversationResult:
    """The conversation the simulator reports, from the contact's ``sim_*`` custom fields."""
    if outcome is not Outcome.ANSWERED:
        left = outcome is Outcome.VOICEMAIL and request.playbook.voicemail_message is not None
        return _unanswered(outcome, left)
    custom = request.variables.get("custom") or {}
    name = request.variables.get("first_name") or request.to
    minutes = _number(custom.get("sim_callback_minutes"))
    return ConversationResult(
        disposition=_text(custom.get("sim_disposition")),
        summary=_text(custom.get("sim_summary")) or f"Simulated conversation with {name}.",
        data=_document(custom.get("sim_data")),
        transcript=_transcript(request.playbook.first_message or "Hello", talk_seconds),
        cost=ANSWERED_COST,
        ended_reason="customer-ended-call",
        callback_at=ended_at + timedelta(minutes=minutes) if minutes is not None else None,
        voicemail_left=False,
    )


@lru_cache(maxsize=32)
def _unanswered(outcome: Outcome, voicemail_left: bool) -> ConversationResult:
    """The result of an unanswered attempt (one object per outcome: results are immutable)."""
    return ConversationResult(
        cost=UNANSWERED_COST, ended_reason=outcome.value, voicemail_left=voicemail_left
    )


@lru_cache(maxsize=1024)
def _transcript(first_message: str, talk_seconds: float) -> tuple[Turn, ...]:
    """The two turns of a simulated conversation (the same tuple for the same message, which
    the store then encodes once)."""
    return (
        Turn("agent", first_message, 0.0),
        Turn("contact", "Hello?", round(min(1.0, talk_seconds / 2), 3)),
    )


def _text(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


def _number(value: object) -> float | None:
    """A number of minutes, also as text (a CSV's custom fields are strings)."""
    if isinstance(value, bool):
        return None
    try:
        return float(value) if isinstance(value, int | float | str) and value != "" else None
    except ValueError:
        return None


def _document(value: object) -> dict[str, Any] | None:
    """An object, also as JSON text (a CSV's custom fields are strings)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, dict) else None


class SimulatorProvider(Provider):
    name = "simulator"
    reports_in_process = True

    def __init__(
        self,
        report: ReportResult,
        ring_seconds: float = 1.0,
        talk_seconds: float = 3.0,
        log_path: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._report = report
        self._ring_seconds = ring_seconds
        self._talk_seconds = talk_seconds
        self._clock = clock
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._log = open(log_path, "a", buffering=1) if log_path else None  # noqa: SIM115

    @classmethod
    def from_settings(cls, settings: Settings, report: ReportResult) -> Self:
        return cls(
            report,
            ring_seconds=settings.simulator_ring_seconds,
            talk_seconds=settings.simulator_talk_seconds,
            log_path=settings.simulator_log,
        )

    @property
    def max_call_seconds(self) -> float:
        return self._ring_seconds + self._talk_seconds

    def places_at_once(self, request: CallRequest) -> bool:
        return True

    async def place_call(self, request: CallRequest) -> CallHandle:
        provider_call_id = f"sim-{os.urandom(16).hex()}"  # (uuid4().hex: 4 times as long)
        if self._log is not None:
            # One short line per write: appends from many processes do not interleave.
            self._log.write(f"{request.call_id} {request.attempt_number} {os.getpid()}\n")
        outcome = simulated_outcome(request.to)
        lasts = self._ring_seconds + (self._talk_seconds if outcome is Outcome.ANSWERED else 0)
        timer = asyncio.get_running_loop().call_later(
            lasts, self._end, request, outcome, provider_call_id
        )
        self._timers[provider_call_id] = timer
        return CallHandle(provider_call_id, in_process=True)

    def _end(self, request: CallRequest, outcome: Outcome, provider_call_id: str) -> None:
        del self._timers[provider_call_id]
        ended_at = self._clock()
        self._report(
            AttemptResult(
                call_id=request.call_id,
                attempt_number=request.attempt_number,
                outcome=outcome,
                ended_at=ended_at,
                provider_call_id=provider_call_id,
                result=simulated_result(request, outcome, ended_at, self._talk_seconds),
            )
        )

    async def aclose(self) -> None:
        for timer in self._timers.values():
            timer.cancel()  # calls still ringing end with the process: their leases tell
        self._timers.clear()
        if self._log is not None:
            self._log.close()
