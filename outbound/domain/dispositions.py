"""What a playbook declares about its conversations: the dispositions an agent may give a call
and the action each takes, the data fields it extracts, and what to do on a voicemail."""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

NAME_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"  # of a disposition and of a data field
MAX_DISPOSITIONS = 50
MAX_DATA_FIELDS = 50
DEFAULT_MAX_CALLBACKS = 3
MAX_CALLBACKS = 20  # a campaign's max_callbacks at most


class Action(StrEnum):
    COMPLETE = "complete"  # the call is done
    RETRY = "retry"  # the recall rule, as for an unanswered attempt
    CALLBACK = "callback"  # the next attempt at the hour the person asked for
    DNC = "dnc"  # the phone joins the do-not-call list; the call is done


class DataType(StrEnum):
    STRING = "string"
    NUMBER = "number"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    DATETIME = "datetime"


class VoicemailAction(StrEnum):
    HANGUP = "hangup"
    LEAVE_MESSAGE = "leave_message"


class AfterVoicemail(StrEnum):
    RETRY = "retry"
    COMPLETE = "complete"


@dataclass(frozen=True)
class Disposition:
    name: str
    action: Action
    description: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "action": self.action.value}


@dataclass(frozen=True)
class DataField:
    name: str
    type: DataType
    description: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type.value, "description": self.description}


@dataclass(frozen=True)
class Voicemail:
    action: VoicemailAction = VoicemailAction.HANGUP
    message: str | None = None  # a template, rendered for each contact
    then: AfterVoicemail = AfterVoicemail.RETRY

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"action": self.action.value, "then": self.then.value}
        if self.message is not None:
            out["message"] = self.message
        return out


def parse_dispositions(stored: Any) -> tuple[Disposition, ...]:
    """Dispositions from their stored JSON (already validated when written)."""
    return tuple(
        Disposition(item["name"], Action(item["action"]), item.get("description"))
        for item in stored or ()
    )


def parse_data_fields(stored: Any) -> tuple[DataField, ...]:
    return tuple(
        DataField(item["name"], DataType(item["type"]), item.get("description"))
        for item in stored or ()
    )


def parse_voicemail(stored: Any) -> Voicemail:
    if not stored:
        return Voicemail()
    return Voicemail(
        VoicemailAction(stored.get("action", VoicemailAction.HANGUP)),
        stored.get("message"),
        AfterVoicemail(stored.get("then") or AfterVoicemail.RETRY),
    )
