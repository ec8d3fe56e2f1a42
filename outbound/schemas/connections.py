"""The JSON of provider connections: what ``POST /provider-connection`` takes and what the
routes answer. Credentials come in and never go out."""

import math
import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from outbound.domain.connections import ConnectionType, ProviderConnection, webhook_url
from outbound.schemas.limits import custom_fields_problem

MAX_NAME_LENGTH = 200  # characters of a connection's name
MAX_CREDENTIALS = 20  # keys of ``credentials``
MAX_CREDENTIAL_NAME_LENGTH = 64  # characters of a credential's name
MAX_CREDENTIAL_LENGTH = 4_096  # characters of one credential


def _check_settings(value: dict[str, Any]) -> dict[str, Any]:
    problem = custom_fields_problem(value)  # the limits of a contact's custom fields
    if problem is not None:
        raise PydanticCustomError("settings_limit", "settings {problem}", {"problem": problem})
    if not _storable(value):
        raise PydanticCustomError(
            "settings_json", "settings may not hold NaN, an infinity or a NUL character"
        )
    return value


def _storable(value: Any) -> bool:
    """Whether the database's JSON can hold the value: no NaN nor infinity (which Python's
    JSON reads), no NUL character (which PostgreSQL's text refuses)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        return "\x00" not in value
    if isinstance(value, dict):
        return all(_storable(k) and _storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_storable(item) for item in value)
    return True


def _printable(value: str) -> str:
    if not value.isprintable():
        raise PydanticCustomError("printable", "no control or invisible characters")
    return value


Credentials = Annotated[
    dict[
        Annotated[str, StringConstraints(max_length=MAX_CREDENTIAL_NAME_LENGTH)],
        Annotated[str, StringConstraints(max_length=MAX_CREDENTIAL_LENGTH)],
    ],
    Field(
        max_length=MAX_CREDENTIALS,
        description=(
            "The platform's secrets, each a non-empty string: vapi `api_key`, `webhook_secret`; "
            "retell `api_key`; elevenlabs `api_key`, `webhook_secret`; bland `api_key`, "
            "`webhook_secret`; livekit `api_key`, `api_secret`, `url`; twilio `account_sid`, "
            "`auth_token`; webhook `url`, `secret`. Stored encrypted, never shown again"
        ),
    ),
]

ConnectionSettings = Annotated[
    dict[str, Any],
    AfterValidator(_check_settings),
    Field(
        description=(
            "`api_base_url` (http or https) replaces the platform's API address (tests, "
            "gateways); `max_call_seconds` bounds a call's length (default 1800)"
        ),
        examples=[{"api_base_url": "https://gateway.example.com/vapi"}],
    ),
]


class ProviderConnectionIn(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "type": "vapi",
                    "name": "Vapi production",
                    "credentials": {"api_key": "vapi-key", "webhook_secret": "vapi-secret"},
                    "settings": {},
                }
            ]
        },
    )

    type: ConnectionType = Field(description="The agent platform")
    name: Annotated[
        str,
        StringConstraints(min_length=1, max_length=MAX_NAME_LENGTH),
        AfterValidator(_printable),
    ]
    credentials: Credentials
    settings: ConnectionSettings = {}


class ProviderConnectionOut(BaseModel):
    connection_id: uuid.UUID
    type: ConnectionType
    name: str
    settings: dict[str, Any]
    webhook_url: str = Field(description="The address to give the platform for its webhooks")
    created_at: datetime


class ProviderConnectionsPage(BaseModel):
    connections: list[ProviderConnectionOut]
    next_cursor: str | None


def connection_view(connection: ProviderConnection, public_url: str) -> ProviderConnectionOut:
    return ProviderConnectionOut(
        connection_id=connection.id,
        type=connection.type,
        name=connection.name,
        settings=dict(connection.settings),
        webhook_url=webhook_url(public_url, connection.id),
        created_at=connection.created_at,
    )
