"""What a conversation achieved: an ended attempt's result, and the limits of its size.

A result comes from a provider (the simulator, the webhook runtime, an agent platform) or is
posted by a client. A provider's result over a limit is cut and marked ``truncated``; a
client's is refused, naming the field (``oversized``).
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

SUMMARY_MAX_CHARS = 10_000
DATA_MAX_BYTES = 16 * 1024  # as compact JSON
TRANSCRIPT_MAX_TURNS = 2_000
TRANSCRIPT_MAX_BYTES = 256 * 1024  # as compact JSON
TRUNCATION_MARK = "…"


@dataclass(frozen=True)
class Turn:
    role: str  # "agent" or "contact" (a platform's other roles are kept as given)
    text: str
    at_s: float | None = None  # seconds since the call was answered

    def to_json(self) -> dict[str, Any]:
        return {"role": self.role, "text": self.text, "at_s": self.at_s}


@dataclass(frozen=True)
class Cost:
    amount: float
    currency: str = "USD"

    def to_json(self) -> dict[str, Any]:
        return {"amount": self.amount, "currency": self.currency}


@dataclass(frozen=True)
class ConversationResult:
    """An attempt's result; every field may be unknown."""

    disposition: str | None = None
    summary: str | None = None
    data: Mapping[str, Any] | None = None
    transcript: tuple[Turn, ...] = field(default=())
    recording_url: str | None = None
    cost: Cost | None = None
    ended_reason: str | None = None  # the provider's own words for why the call ended
    callback_at: datetime | None = None
    voicemail_left: bool | None = None
    success: bool | None = None  # the platform's verdict, when it gives one
    truncated: bool = False

    def to_json(self, transcript: bool = True) -> dict[str, Any]:
        """The result's JSON (CONTRACT §7); without ``transcript`` when it is left out."""
        out: dict[str, Any] = {
            "disposition": self.disposition,
            "summary": self.summary,
            "data": dict(self.data) if self.data is not None else None,
        }
        if transcript:
            out["transcript"] = [turn.to_json() for turn in self.transcript]
        out.update(
            recording_url=self.recording_url,
            cost=self.cost.to_json() if self.cost else None,
            ended_reason=self.ended_reason,
            callback_at=_instant(self.callback_at),
            voicemail_left=self.voicemail_left,
            success=self.success,
        )
        if self.truncated:
            out["truncated"] = True
        return out

    def merged(self, later: "ConversationResult") -> "ConversationResult":
        """This result completed by ``later`` (a platform that reports in two events): the
        later one's known fields win."""
        changes = {
            name: value
            for name, value in vars(later).items()
            if value is not None and value != () and name != "truncated"
        }
        return replace(self, **changes, truncated=self.truncated or later.truncated)


def _instant(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def compact_size(value: Any) -> int:
    """Bytes of ``value`` as compact JSON (UTF-8)."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def oversized(result: ConversationResult) -> str | None:
    """The first field of ``result`` over its limit, with the limit, or None."""
    if result.summary is not None and len(result.summary) > SUMMARY_MAX_CHARS:
        return f"summary is longer than {SUMMARY_MAX_CHARS} characters"
    if result.data is not None and compact_size(result.data) > DATA_MAX_BYTES:
        return f"data is larger than {DATA_MAX_BYTES} bytes as JSON"
    if len(result.transcript) > TRANSCRIPT_MAX_TURNS:
        return f"transcript has more than {TRANSCRIPT_MAX_TURNS} turns"
    if _transcript_size(result.transcript) > TRANSCRIPT_MAX_BYTES:
        return f"transcript is larger than {TRANSCRIPT_MAX_BYTES} bytes as JSON"
    return None


def _transcript_size(turns: tuple[Turn, ...]) -> int:
    return compact_size([turn.to_json() for turn in turns])


def truncated(result: ConversationResult) -> ConversationResult:
    """``result`` cut to the limits, marked ``truncated`` when anything was cut."""
    if oversized(result) is None:
        return result
    summary = result.summary
    if summary is not None and len(summary) > SUMMARY_MAX_CHARS:
        summary = summary[: SUMMARY_MAX_CHARS - 1] + TRUNCATION_MARK
    data = result.data
    if data is not None and compact_size(data) > DATA_MAX_BYTES:
        kept: dict[str, Any] = {}
        for key, value in data.items():  # whole fields, in order, while they fit
            if compact_size({**kept, key: value}) > DATA_MAX_BYTES:
                break
            kept[key] = value
        data = kept
    turns = result.transcript[:TRANSCRIPT_MAX_TURNS]
    size = _transcript_size(turns)
    while turns and size > TRANSCRIPT_MAX_BYTES:  # drop the last turns until it fits
        size -= compact_size(turns[-1].to_json()) + 1
        turns = turns[:-1]
    return replace(result, summary=summary, data=data, transcript=turns, truncated=True)
