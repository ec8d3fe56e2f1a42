"""The states of campaigns, calls and attempts."""

from enum import StrEnum


class CampaignStatus(StrEnum):
    SCHEDULED = "scheduled"  # waiting for its launch_at
    RUNNING = "running"  # its due calls are being dialed
    PAUSED = "paused"  # no new attempts until resumed
    COMPLETED = "completed"  # every call reached a terminal state
    CANCELLED = "cancelled"  # stopped for good by the user


class CallStatus(StrEnum):
    PENDING = "pending"  # waiting for its next attempt to be due
    IN_PROGRESS = "in_progress"  # an attempt is being placed or is talking
    COMPLETED = "completed"  # answered
    FAILED = "failed"  # attempts used up without an answer
    CANCELLED = "cancelled"  # its campaign was cancelled
    SKIPPED = "skipped"  # never dialed (e.g. do-not-call)

    @property
    def is_terminal(self) -> bool:
        return self not in (CallStatus.PENDING, CallStatus.IN_PROGRESS)


class Outcome(StrEnum):
    ANSWERED = "answered"  # a person picked up and the agent talked
    NO_ANSWER = "no_answer"  # rang until the ring timeout
    BUSY = "busy"  # the line was busy
    VOICEMAIL = "voicemail"  # an answering machine picked up
    FAILED = "failed"  # the call could not be completed


TERMINAL_CALL_STATUSES = frozenset(s for s in CallStatus if s.is_terminal)
ACTIVE_CALL_STATUSES = frozenset(s for s in CallStatus if not s.is_terminal)
