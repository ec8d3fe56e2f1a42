"""The agent platforms an account may connect, and what each one's connection and playbooks
must name (CONTRACT §8)."""

from dataclasses import dataclass
from enum import StrEnum


class ConnectionType(StrEnum):
    VAPI = "vapi"
    RETELL = "retell"
    ELEVENLABS = "elevenlabs"
    BLAND = "bland"
    LIVEKIT = "livekit"
    TWILIO = "twilio"
    WEBHOOK = "webhook"


@dataclass(frozen=True)
class ConnectionFields:
    credentials: tuple[str, ...]  # every one required
    playbook: tuple[str, ...]  # the playbook's ``provider`` fields, required
    playbook_optional: tuple[str, ...] = ()
    playbook_one_of: tuple[str, ...] = ()  # exactly one of these is required


FIELDS: dict[ConnectionType, ConnectionFields] = {
    ConnectionType.VAPI: ConnectionFields(
        ("api_key", "webhook_secret"), ("assistant_id", "phone_number_id")
    ),
    ConnectionType.RETELL: ConnectionFields(("api_key",), ("agent_id", "from_number")),
    ConnectionType.ELEVENLABS: ConnectionFields(
        ("api_key", "webhook_secret"), ("agent_id", "phone_number_id")
    ),
    ConnectionType.BLAND: ConnectionFields(
        ("api_key", "webhook_secret"), ("from_number",), playbook_one_of=("pathway_id", "task")
    ),
    ConnectionType.LIVEKIT: ConnectionFields(
        ("api_key", "api_secret", "url"),
        ("sip_trunk_id",),
        playbook_optional=("room_prefix", "agent_name"),
    ),
    ConnectionType.TWILIO: ConnectionFields(("account_sid", "auth_token"), ("twiml_url",)),
    ConnectionType.WEBHOOK: ConnectionFields(("url", "secret"), ()),
}
