"""Request and response bodies (the views of records live in ``outbound.views``)."""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from outbound.domain.recall import InvalidRecall, parse_recall
from outbound.domain.windows import InvalidWindow, parse_window
from outbound.views import (
    AttemptOut,
    CallOut,
    CampaignCreatedOut,
    CampaignOut,
    ContactsAddedOut,
)

RetryableOutcome = Literal["no_answer", "busy", "voicemail", "failed"]


class ContactIn(BaseModel):
    """A contact to call: ``phone`` plus any of the seed's optional fields."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    phone: str | None = Field(None, description="E.164, or national with `country`")
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    company: str | None = None
    job_title: str | None = None
    address: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = Field(None, description="ISO 3166 alpha-2, e.g. ES")
    postal_code: str | None = None
    timezone: str | None = Field(None, description="IANA zone, e.g. Europe/Madrid")
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_term: str | None = None
    utm_content: str | None = None
    custom_fields: dict[str, Any] | None = None


class CampaignIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    playbook_id: uuid.UUID = Field(description="UUID of a playbook of your account")
    contacts: list[ContactIn] = Field(min_length=1)
    launch_at: str | None = Field(
        None, description="ISO 8601; without an offset, read in the account's timezone"
    )
    recall: list[float] | str | None = Field(
        None, description='Retry offsets in minutes from the first attempt: [30,120] or "[30,120]"'
    )

    calling_window: dict[str, Any] | None = Field(
        None,
        description="Hours and days to call, in each contact's zone; default: the account's",
        examples=[{"start": "09:00", "end": "20:00", "days": ["mon", "tue", "wed", "thu", "fri"]}],
    )
    max_concurrent_calls: int | None = Field(None, ge=1, le=100_000)
    recall_on: list[RetryableOutcome] | None = Field(
        None, description="Outcomes that are retried (default: all but answered)"
    )
    strict_variables: bool = Field(
        False, description="Reject contacts lacking a variable the playbook's texts use"
    )

    @field_validator("recall", mode="before")
    @classmethod
    def _check_recall(cls, value: Any) -> list[float]:
        try:
            return list(parse_recall(value))
        except InvalidRecall as exc:
            raise ValueError(str(exc)) from exc

    @field_validator("calling_window")
    @classmethod
    def _check_window(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        try:
            window = parse_window(value)
        except InvalidWindow as exc:
            raise ValueError(str(exc)) from exc
        return window.to_json() if window else None


class ContactsIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    contacts: list[ContactIn] = Field(min_length=1)


class PhonesIn(BaseModel):
    phones: list[str] = Field(min_length=1, max_length=100_000)


class SuppressedOut(BaseModel):
    phones: list[str]


class SuppressedPhone(BaseModel):
    phone: str
    created_at: datetime


class SuppressedPage(BaseModel):
    phones: list[SuppressedPhone]
    next_cursor: str | None


class CampaignsPage(BaseModel):
    campaigns: list[CampaignOut]
    next_cursor: str | None


class CallsPage(BaseModel):
    calls: list[CallOut]
    next_cursor: str | None


class ContactOut(BaseModel):
    contact_id: uuid.UUID
    phone: str
    first_name: str | None
    last_name: str | None
    email: str | None
    company: str | None
    job_title: str | None
    address: str | None
    city: str | None
    state: str | None
    country: str | None
    postal_code: str | None
    timezone: str | None
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    utm_term: str | None
    utm_content: str | None
    custom_fields: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class ErrorItem(BaseModel):
    field: str
    reason: str
    index: int | None = None


class ErrorOut(BaseModel):
    detail: str
    errors: list[ErrorItem] = []


__all__ = ["AttemptOut", "CallOut", "CampaignCreatedOut", "CampaignOut", "ContactsAddedOut"]
