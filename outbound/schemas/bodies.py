"""Request and response bodies (the views of records live in ``outbound.schemas.records``)."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)
from pydantic_core import PydanticCustomError
from typing_extensions import TypedDict  # pydantic needs it for TypedDict before Python 3.12

from outbound.domain.dispositions import DEFAULT_MAX_CALLBACKS, MAX_CALLBACKS
from outbound.domain.recall import InvalidRecall, parse_recall
from outbound.domain.windows import InvalidWindow, parse_window
from outbound.schemas.limits import (
    MAX_CONTACTS,
    MAX_CUSTOM_BYTES,
    MAX_CUSTOM_DEPTH,
    MAX_CUSTOM_FIELDS,
    MAX_CUSTOM_KEY_LENGTH,
    MAX_DNC_PHONES,
    MAX_EMAIL_LENGTH,
    MAX_FIELD_LENGTH,
    MAX_PHONE_LENGTH,
    MAX_RECALL,
    custom_fields_problem,
)
from outbound.schemas.records import (
    AttemptOut,
    CallOut,
    CampaignCreatedOut,
    CampaignOut,
    ContactsAddedOut,
)

RetryableOutcome = Literal["no_answer", "busy", "voicemail", "failed"]


Text = Annotated[str, StringConstraints(max_length=MAX_FIELD_LENGTH)]


def _check_custom_fields(value: dict[str, Any]) -> dict[str, Any]:
    problem = custom_fields_problem(value)
    if problem is not None:
        raise PydanticCustomError(
            "custom_fields_limit", "custom_fields {problem}", {"problem": problem}
        )
    return value


CustomFields = Annotated[
    dict[str, Any],
    AfterValidator(_check_custom_fields),
    Field(
        description=(
            f"Any JSON object: at most {MAX_CUSTOM_FIELDS} keys of at most "
            f"{MAX_CUSTOM_KEY_LENGTH} characters, nested at most {MAX_CUSTOM_DEPTH} levels, "
            f"{MAX_CUSTOM_BYTES} bytes as JSON"
        )
    ),
]


# A typed dict rather than a model: a list of 100,000 contacts validates in half the time and
# reaches the service as the dicts it needs.
class ContactIn(TypedDict, total=False):
    """A contact to call: ``phone`` plus any of the seed's optional fields."""

    __pydantic_config__ = ConfigDict(  # type: ignore[misc]
        extra="ignore", coerce_numbers_to_str=True
    )

    phone: Annotated[
        str | None,
        StringConstraints(max_length=MAX_PHONE_LENGTH),
        Field(description="E.164, or national with `country`"),
    ]
    first_name: Text | None
    last_name: Text | None
    email: Annotated[str, StringConstraints(max_length=MAX_EMAIL_LENGTH)] | None
    company: Text | None
    job_title: Text | None
    address: Text | None
    city: Text | None
    state: Text | None
    country: Annotated[Text | None, Field(description="ISO 3166 alpha-2, e.g. ES")]
    postal_code: Text | None
    timezone: Annotated[Text | None, Field(description="IANA zone, e.g. Europe/Madrid")]
    utm_source: Text | None
    utm_medium: Text | None
    utm_campaign: Text | None
    utm_term: Text | None
    utm_content: Text | None
    custom_fields: CustomFields | None


Contacts = Annotated[list[ContactIn], Field(min_length=1, max_length=MAX_CONTACTS)]


class CampaignIn(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "playbook_id": "6793f6f5-1f3b-422c-abdf-a0b6e245cd62",
                    "contacts": [
                        {"phone": "+34912345600", "first_name": "Lucía", "company": "Acme"},
                        {"phone": "612345678", "country": "ES", "custom_fields": {"plan": "pro"}},
                    ],
                    "launch_at": "2026-12-01T10:00:00",
                    "recall": [30, 120],
                }
            ]
        },
    )

    playbook_id: uuid.UUID = Field(description="UUID of a playbook of your account")
    contacts: Contacts
    launch_at: str | None = Field(
        None, description="ISO 8601; without an offset, read in the account's timezone"
    )
    recall: Annotated[list[float], Field(max_length=MAX_RECALL)] | str | None = Field(
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
    max_callbacks: int = Field(
        DEFAULT_MAX_CALLBACKS,
        ge=0,
        le=MAX_CALLBACKS,
        description="Callbacks a call may take at the hour the contact asked for (CONTRACT §7)",
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
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [{"contacts": [{"phone": "+14155550142", "first_name": "Edsger"}]}]
        },
    )

    contacts: Contacts


class PhonesIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"phones": ["+14155550142"]}]})

    phones: list[Annotated[str, StringConstraints(max_length=MAX_PHONE_LENGTH)]] = Field(
        min_length=1, max_length=MAX_DNC_PHONES
    )


class SuppressedOut(BaseModel):
    phones: list[str]


class SuppressedPhone(BaseModel):
    phone: str
    created_at: datetime
    reason: str | None = Field(
        None, description="Why it was added: `disposition:<name>` for a `dnc` disposition"
    )


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
