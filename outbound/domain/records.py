"""Immutable records of what the store holds."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from outbound.domain.dispositions import (
    DEFAULT_MAX_CALLBACKS,
    DataField,
    Disposition,
    Voicemail,
)
from outbound.domain.results import ConversationResult
from outbound.domain.statuses import CallStatus, CampaignStatus, Outcome
from outbound.domain.windows import CallingWindow


@dataclass(frozen=True)
class Account:
    id: UUID
    name: str
    timezone: str
    max_concurrent_calls: int = 10  # 0: no limit
    calls_per_second: float = 5.0  # 0: no limit
    calling_window: CallingWindow | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class Playbook:
    id: UUID
    account_id: UUID
    name: str
    first_message: str | None = None
    instructions: str | None = None
    voice: str | None = None
    language: str | None = None
    caller_id: str | None = None
    dispositions: tuple[Disposition, ...] = ()
    data_fields: tuple[DataField, ...] = ()
    voicemail: Voicemail = field(default_factory=Voicemail)
    provider: Mapping[str, Any] | None = None  # {"connection_id", ...the fields of its type}
    created_at: datetime | None = None
    updated_at: datetime | None = None
    archived_at: datetime | None = None

    @property
    def connection_id(self) -> UUID | None:
        return UUID(str(self.provider["connection_id"])) if self.provider else None


@dataclass(frozen=True)
class Campaign:
    id: UUID
    account_id: UUID
    playbook_id: UUID
    status: CampaignStatus
    launch_at: datetime | None
    recall: tuple[float, ...]
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    calling_window: CallingWindow | None = None
    max_concurrent_calls: int | None = None
    recall_on: frozenset[Outcome] | None = None
    strict_variables: bool = False
    provider_error: str | None = None  # the last time the provider could not be reached
    provider_error_at: datetime | None = None
    max_callbacks: int = DEFAULT_MAX_CALLBACKS


@dataclass(frozen=True)
class Attempt:
    number: int
    outcome: Outcome | None
    started_at: datetime
    ended_at: datetime | None
    provider_call_id: str | None = None
    error: str | None = None
    caller_id: str | None = None
    result: ConversationResult | None = None


@dataclass(frozen=True)
class Call:
    id: UUID
    campaign_id: UUID
    contact_id: UUID
    phone: str
    status: CallStatus
    attempt_count: int
    recall: tuple[float, ...]
    next_attempt_at: datetime | None
    anchor_at: datetime | None = None
    skip_reason: str | None = None
    attempts: tuple[Attempt, ...] = field(default=())


@dataclass(frozen=True)
class ClaimedAttempt:
    """A call taken by one dispatcher for one attempt, recorded before it is placed."""

    call_id: UUID
    attempt_number: int
    campaign_id: UUID
    account_id: UUID
    playbook_id: UUID
    caller_id: str | None
    contact_id: UUID
    phone: str
    due_at: datetime | None
    started_at: datetime


@dataclass(frozen=True)
class AttemptResult:
    """How a placed attempt ended, as reported by the provider."""

    call_id: UUID
    attempt_number: int
    outcome: Outcome
    ended_at: datetime
    provider_call_id: str | None = None
    error: str | None = None
    result: ConversationResult | None = None  # what the conversation achieved, when known


@dataclass(frozen=True)
class ContactInput:
    """One contact of a request, its phone already in E.164."""

    phone: str
    fields: dict[str, str] = field(default_factory=dict)
    custom_fields: dict[str, Any] = field(default_factory=dict)
    number_zone: str | None = None  # the number's own zone, when it was read with the phone
