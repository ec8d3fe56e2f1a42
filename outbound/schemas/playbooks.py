"""Playbooks as JSON: the body that creates one (``PlaybookIn``), the one that changes one
(``PlaybookPatch``), and the playbook as the API shows it (``PlaybookOut``).

The bodies hold every check of a single field, so that each error names its field
(``dispositions[2].action``, ``voicemail.message``); what needs more than the body (names
unique within a list, the provider's connection and the fields of its type) is checked by
``outbound.services.playbooks``. The CLI validates its options with the same models.
"""

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from outbound.domain.dispositions import (
    MAX_DATA_FIELDS,
    MAX_DISPOSITIONS,
    NAME_PATTERN,
    Action,
    AfterVoicemail,
    DataField,
    DataType,
    Disposition,
    Voicemail,
    VoicemailAction,
)
from outbound.domain.personalization import InvalidTemplate, check_template
from outbound.domain.phones import InvalidPhone, normalize_phone
from outbound.domain.records import Playbook
from outbound.schemas.limits import (
    MAX_DESCRIPTION_LENGTH,
    MAX_INSTRUCTIONS_LENGTH,
    MAX_LANGUAGE_LENGTH,
    MAX_MESSAGE_LENGTH,
    MAX_PLAYBOOK_NAME_LENGTH,
    MAX_VOICE_LENGTH,
)


def _template(text: str) -> str:
    try:
        check_template(text)
    except InvalidTemplate as exc:
        raise ValueError(str(exc)) from exc
    return text


def _e164(text: str) -> str:
    if not text.strip().startswith("+"):
        raise ValueError("must be an E.164 number, e.g. +14155550123")
    try:
        return normalize_phone(text)
    except InvalidPhone as exc:
        raise ValueError(f"must be an E.164 number: {exc}") from exc


Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_PLAYBOOK_NAME_LENGTH),
]
Message = Annotated[
    str,
    StringConstraints(max_length=MAX_MESSAGE_LENGTH),
    AfterValidator(_template),
    Field(description="A template (see Personalization), e.g. `Hi {{first_name}}`"),
]
Instructions = Annotated[
    str,
    StringConstraints(max_length=MAX_INSTRUCTIONS_LENGTH),
    AfterValidator(_template),
    Field(description="The agent's instructions: a template, like `first_message`"),
]
CallerId = Annotated[
    str,
    StringConstraints(max_length=64),
    AfterValidator(_e164),
    Field(description="E.164, e.g. +14155550123: the number the calls come from"),
]
ItemName = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
Description = Annotated[str, StringConstraints(max_length=MAX_DESCRIPTION_LENGTH)]
ProviderText = Annotated[str, StringConstraints(max_length=MAX_INSTRUCTIONS_LENGTH)]


class DispositionIn(BaseModel):
    """An outcome of a conversation the agent may give, and what it does to the call."""

    model_config = ConfigDict(extra="ignore")

    name: ItemName = Field(description=f"Unique in the playbook; matches `{NAME_PATTERN}`")
    description: Description | None = Field(None, description="Tells the agent when it applies")
    action: Action

    def record(self) -> Disposition:
        return Disposition(self.name, self.action, self.description)


class DataFieldIn(BaseModel):
    """A value the agent extracts from the conversation."""

    model_config = ConfigDict(extra="ignore")

    name: ItemName = Field(description=f"Unique in the playbook; matches `{NAME_PATTERN}`")
    type: DataType
    description: Description | None = None

    def record(self) -> DataField:
        return DataField(self.name, self.type, self.description)


class VoicemailIn(BaseModel):
    """What the agent does when a voicemail answers."""

    model_config = ConfigDict(extra="ignore")

    action: VoicemailAction
    message: Message | None = Field(
        None, validate_default=True, description="What to leave; required by `leave_message`"
    )
    then: AfterVoicemail = Field(
        AfterVoicemail.RETRY, description="What follows a left message: the recall rule or done"
    )

    @field_validator("message")
    @classmethod
    def _message_to_leave(cls, message: str | None, info: ValidationInfo) -> str | None:
        if message is None and info.data.get("action") == VoicemailAction.LEAVE_MESSAGE:
            raise ValueError("required when action is leave_message")
        return message

    def record(self) -> Voicemail:
        return Voicemail(self.action, self.message, self.then)


class ProviderIn(BaseModel):
    """The agent platform that places the calls: a connection of the account, and the fields
    its type asks of a playbook (e.g. `assistant_id` and `phone_number_id` for `vapi`)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "connection_id": "0c6f1e0a-5b1d-4b8e-9a53-2f1d1f0f6a11",
                    "assistant_id": "asst_123",
                    "phone_number_id": "pn_456",
                }
            ]
        },
    )
    __pydantic_extra__: dict[str, ProviderText] = Field(init=False)

    connection_id: uuid.UUID = Field(description="A provider connection of your account")

    def fields(self) -> dict[str, str]:
        """The fields of the connection's type, as given."""
        return dict(self.model_extra or {})


Dispositions = Annotated[list[DispositionIn], Field(max_length=MAX_DISPOSITIONS)]
DataFields = Annotated[list[DataFieldIn], Field(max_length=MAX_DATA_FIELDS)]


class _PlaybookFields(BaseModel):
    """The fields of a playbook but its name; ``null`` clears one (a list becomes empty, the
    voicemail the default ``hangup``, and without a provider the server's telephony places the
    calls)."""

    model_config = ConfigDict(extra="ignore")

    first_message: Message | None = None
    instructions: Instructions | None = None
    voice: Annotated[str, StringConstraints(max_length=MAX_VOICE_LENGTH)] | None = None
    language: (
        Annotated[str, StringConstraints(max_length=MAX_LANGUAGE_LENGTH), Field(examples=["en-US"])]
        | None
    ) = None
    caller_id: CallerId | None = None
    dispositions: Dispositions | None = Field(
        None, description=f"At most {MAX_DISPOSITIONS}, names unique"
    )
    data_fields: DataFields | None = Field(
        None, description=f"At most {MAX_DATA_FIELDS}, names unique"
    )
    voicemail: VoicemailIn | None = Field(None, description='Default: {"action": "hangup"}')
    provider: ProviderIn | None = Field(
        None, description="Without it, the server's telephony (`OUTBOUND_TELEPHONY`)"
    )

    def given(self) -> dict[str, Any]:
        """The fields the body gave, as ``Playbook`` holds them; ``provider`` apart: its
        connection is the service's to check."""
        given: dict[str, Any] = {}
        for name in self.model_fields_set - {"provider"}:
            value = getattr(self, name)
            if name in ("dispositions", "data_fields"):
                value = tuple(item.record() for item in value or ())
            elif name == "voicemail":
                value = value.record() if value is not None else Voicemail()
            given[name] = value
        return given


_EXAMPLE: dict[str, Any] = {
    "name": "Renewals",
    "first_message": "Hi {{first_name}}, this is Ada from Acme about your {{custom.plan}} plan.",
    "instructions": "Ask whether they want to renew; offer a call back if now is not good.",
    "caller_id": "+14155550123",
    "dispositions": [
        {"name": "renewed", "action": "complete"},
        {"name": "call_back", "description": "Asked to be called later", "action": "callback"},
        {"name": "do_not_call", "action": "dnc"},
    ],
    "data_fields": [{"name": "budget", "type": "number", "description": "Yearly budget"}],
    "voicemail": {"action": "leave_message", "message": "Hi {{first_name}}, Ada from Acme."},
}


class PlaybookIn(_PlaybookFields):
    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [_EXAMPLE]})

    name: Name = Field(description=f"1 to {MAX_PLAYBOOK_NAME_LENGTH} characters")


class PlaybookPatch(_PlaybookFields):
    """The fields to change; the others keep their values. A list is replaced whole."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={"examples": [{"first_message": "Hello {{first_name}}!"}]},
    )

    name: Name | None = Field(None, description="May not be null")

    @field_validator("name")
    @classmethod
    def _not_null(cls, name: str | None) -> str:
        if name is None:
            raise ValueError("may not be null")
        return name


class DispositionOut(BaseModel):
    name: str
    description: str | None
    action: Action


class DataFieldOut(BaseModel):
    name: str
    type: DataType
    description: str | None


class VoicemailOut(BaseModel):
    action: VoicemailAction
    message: str | None
    then: AfterVoicemail


class PlaybookOut(BaseModel):
    playbook_id: uuid.UUID
    name: str
    first_message: str | None
    instructions: str | None
    voice: str | None
    language: str | None
    caller_id: str | None
    dispositions: list[DispositionOut]
    data_fields: list[DataFieldOut]
    voicemail: VoicemailOut
    provider: dict[str, str] | None = Field(
        description="`connection_id` and the fields of its type; null: the server's telephony"
    )
    created_at: datetime | None
    updated_at: datetime | None
    archived_at: datetime | None = Field(description="Set once archived (DELETE)")


class PlaybooksPage(BaseModel):
    playbooks: list[PlaybookOut]
    next_cursor: str | None


def playbook_view(playbook: Playbook) -> PlaybookOut:
    return PlaybookOut(
        playbook_id=playbook.id,
        name=playbook.name,
        first_message=playbook.first_message,
        instructions=playbook.instructions,
        voice=playbook.voice,
        language=playbook.language,
        caller_id=playbook.caller_id,
        dispositions=[
            DispositionOut(name=d.name, description=d.description, action=d.action)
            for d in playbook.dispositions
        ],
        data_fields=[
            DataFieldOut(name=f.name, type=f.type, description=f.description)
            for f in playbook.data_fields
        ],
        voicemail=VoicemailOut(
            action=playbook.voicemail.action,
            message=playbook.voicemail.message,
            then=playbook.voicemail.then,
        ),
        provider={k: str(v) for k, v in playbook.provider.items()} if playbook.provider else None,
        created_at=playbook.created_at,
        updated_at=playbook.updated_at,
        archived_at=playbook.archived_at,
    )
