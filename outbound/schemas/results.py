"""The JSON of a conversation result (CONTRACT §7), as a client posts it and as the webhook
runtime's ``ended`` event carries it."""

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from outbound.domain.results import ConversationResult, Cost, Turn


class TurnIn(BaseModel):
    role: str = Field(min_length=1, max_length=32, description="agent or contact")
    text: str
    at_s: float | None = Field(None, ge=0, description="Seconds since the call was answered")


class CostIn(BaseModel):
    amount: float = Field(ge=0)
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")


class ResultIn(BaseModel):
    """An attempt's result; every field may be null. The sizes are checked by the use case: a
    client's result over a limit is refused, a provider's is cut (``truncated``)."""

    disposition: str | None = Field(None, max_length=64)
    summary: str | None = None
    data: dict[str, Any] | None = None
    transcript: list[TurnIn] | None = None
    recording_url: str | None = Field(None, max_length=2048)
    cost: CostIn | None = None
    ended_reason: str | None = Field(None, max_length=128)
    callback_at: datetime | None = Field(None, description="ISO 8601; without an offset: UTC")
    voicemail_left: bool | None = None
    success: bool | None = None

    @field_validator("callback_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if value is not None else None

    def to_result(self) -> ConversationResult:
        return ConversationResult(
            disposition=self.disposition,
            summary=self.summary,
            data=self.data,
            transcript=tuple(Turn(t.role, t.text, t.at_s) for t in self.transcript or ()),
            recording_url=self.recording_url,
            cost=Cost(self.cost.amount, self.cost.currency) if self.cost else None,
            ended_reason=self.ended_reason,
            callback_at=self.callback_at,
            voicemail_left=self.voicemail_left,
            success=self.success,
        )


class ResultRecorded(BaseModel):
    recorded: bool
