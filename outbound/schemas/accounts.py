"""The caller's account as JSON: as the API shows it (``AccountOut``) and the body that changes
its settings (``AccountPatch``). The values are checked by ``outbound.services.accounts``, as
for ``outbound account update``."""

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from outbound.domain.records import Account


class AccountOut(BaseModel):
    account_id: uuid.UUID
    name: str
    timezone: str = Field(description="IANA zone: a campaign's `launch_at` without offset")
    max_concurrent_calls: int = Field(description="Calls in progress at once; 0: no limit")
    calls_per_second: float = Field(description="Attempts started per second; 0: no limit")
    calling_window: dict[str, Any] | None = Field(
        description="The default window of the account's campaigns; null: any hour"
    )
    created_at: datetime | None


class AccountPatch(BaseModel):
    """The settings to change; the others keep their values."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "timezone": "Europe/Madrid",
                    "max_concurrent_calls": 20,
                    "calling_window": {"start": "09:00", "end": "20:00"},
                }
            ]
        },
    )

    timezone: str | None = Field(None, max_length=64, description="IANA zone; may not be null")
    max_concurrent_calls: int | None = Field(None, description="0: no limit; may not be null")
    calls_per_second: float | None = Field(
        None, allow_inf_nan=False, description="0: no limit; may not be null"
    )
    calling_window: dict[str, Any] | None = Field(
        None,
        description="Hours and days to call, in each contact's zone; null clears it",
        examples=[{"start": "09:00", "end": "20:00", "days": ["mon", "tue", "wed", "thu", "fri"]}],
    )

    @field_validator("timezone", "max_concurrent_calls", "calls_per_second")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null")
        return value


def account_view(account: Account) -> AccountOut:
    window = account.calling_window
    return AccountOut(
        account_id=account.id,
        name=account.name,
        timezone=account.timezone,
        max_concurrent_calls=account.max_concurrent_calls,
        calls_per_second=account.calls_per_second,
        calling_window=window.to_json() if window else None,
        created_at=account.created_at,
    )
