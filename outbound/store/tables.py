"""The schema, one definition for PostgreSQL and SQLite. Migrations mirror it."""

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    false,
    text,
)

from outbound.domain.contacts import CONTACT_FIELDS
from outbound.store.types import JSONDocument, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("timezone", String(64), nullable=False, server_default="UTC"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("max_concurrent_calls", Integer, nullable=False, server_default="10"),
    Column("calls_per_second", Float, nullable=False, server_default="5"),
    Column("calling_window", JSONDocument),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("account_id", Uuid, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
)

playbooks = Table(
    "playbooks",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("account_id", Uuid, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("first_message", Text),
    Column("instructions", Text),
    Column("voice", String(100)),
    Column("language", String(35)),
    Column("caller_id", String(32)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("dispositions", JSONDocument),  # [{"name", "description", "action"}]
    Column("data_fields", JSONDocument),  # [{"name", "type", "description"}]
    Column("voicemail", JSONDocument),  # {"action", "message", "then"}
    Column("provider", JSONDocument),  # {"connection_id", ...the fields of its type}
    Column("connection_id", Uuid, index=True),  # the provider's connection, when it has one
    Column("updated_at", UTCDateTime),
    Column("archived_at", UTCDateTime),
)

# An account's credentials on an agent platform (``credentials`` encrypted).
provider_connections = Table(
    "provider_connections",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("account_id", Uuid, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("type", String(32), nullable=False),
    Column("name", String(200), nullable=False),
    Column("credentials", Text, nullable=False),
    Column("settings", JSONDocument, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("deleted_at", UTCDateTime),
)

# The tables written in bulk (contacts, calls, call_attempts) have no foreign keys, and on
# PostgreSQL the ids of contacts and calls default to gen_random_uuid(): migration 0005 says why.
contacts = Table(
    "contacts",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("account_id", Uuid, nullable=False),
    Column("phone", String(20), nullable=False),
    *(Column(name, Text) for name in CONTACT_FIELDS),
    Column("custom_fields", JSONDocument, nullable=False, server_default=text("'{}'")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("account_id", "phone"),
)

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("account_id", Uuid, ForeignKey("accounts.id"), nullable=False),
    Column("playbook_id", Uuid, ForeignKey("playbooks.id"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("launch_at", UTCDateTime),
    Column("recall", JSONDocument, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Column("calling_window", JSONDocument),
    Column("max_concurrent_calls", Integer),
    Column("recall_on", JSONDocument),
    Column("strict_variables", Boolean, nullable=False, server_default=false()),
    Column("provider_error", Text),  # the last time the provider could not be reached
    Column("provider_error_at", UTCDateTime),
    Column("max_callbacks", Integer),  # null: the default (3)
    Index(None, "account_id", "created_at"),
    Index(None, "status", "launch_at"),
)


def _where(condition: str) -> dict[str, Any]:
    """A partial index's condition, on both databases."""
    return {"postgresql_where": text(condition), "sqlite_where": text(condition)}


calls = Table(
    "calls",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("campaign_id", Uuid, nullable=False),
    Column("account_id", Uuid, nullable=False),
    Column("contact_id", Uuid, nullable=False),
    Column("position", Integer, nullable=False),
    Column("phone", String(20), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempt_count", Integer, nullable=False, server_default="0"),
    Column("recall", JSONDocument, nullable=False),
    Column("next_attempt_at", UTCDateTime),
    Column("anchor_at", UTCDateTime),
    Column("lease_owner", String(64)),
    Column("lease_expires_at", UTCDateTime),
    Column("skip_reason", String(64)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("timezone", String(64)),  # the contact's zone, for its calling window
    Column("caller_id", String(32)),  # every attempt of a call comes from the same number
    Column("provider_failures", Integer, nullable=False, server_default="0"),
    Column("callback_count", Integer, nullable=False, server_default="0"),
    UniqueConstraint("campaign_id", "contact_id"),
    UniqueConstraint("campaign_id", "position"),
    # Partial: a status change writes only in the indexes whose condition it meets.
    Index("ix_calls_due", "next_attempt_at", **_where("status = 'pending'")),
    Index(
        "ix_calls_lease_expires_at", "lease_expires_at", **_where("lease_expires_at IS NOT NULL")
    ),
    Index("ix_calls_in_progress", "account_id", **_where("status = 'in_progress'")),
    Index("ix_calls_pending_phone", "account_id", "phone", **_where("status = 'pending'")),
    Index(None, "campaign_id", "status"),
)

call_attempts = Table(
    "call_attempts",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("call_id", Uuid, nullable=False),
    Column("number", Integer, nullable=False),
    Column("outcome", String(16)),
    Column("due_at", UTCDateTime),
    Column("started_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),
    Column("provider_call_id", String(128)),
    Column("error", Text),
    Column("account_id", Uuid),
    Column("caller_id", String(32)),
    Column("ringing_at", UTCDateTime),
    Column("answered_at", UTCDateTime),
    Column("answered_by", String(32)),  # answering-machine detection: human, machine_...
    Column("duration_s", Float),
    UniqueConstraint("call_id", "number"),
    Index(None, "provider_call_id"),
    Index(None, "started_at"),
)

do_not_call = Table(
    "do_not_call",
    metadata,
    Column("account_id", Uuid, ForeignKey("accounts.id"), primary_key=True),
    Column("phone", String(20), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("reason", String(100)),
)

# What an ended attempt's conversation achieved (its own table: transcripts are large).
attempt_results = Table(
    "attempt_results",
    metadata,
    Column("call_id", Uuid, primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("campaign_id", Uuid, nullable=False),
    Column("account_id", Uuid, nullable=False),
    Column("disposition", String(64)),
    Column("summary", Text),
    Column("data", JSONDocument),
    Column("transcript", JSONDocument),
    Column("recording_url", Text),
    Column("cost_amount", Float),
    Column("cost_currency", String(3)),
    Column("ended_reason", String(128)),
    Column("callback_at", UTCDateTime),
    Column("voicemail_left", Boolean),
    Column("success", Boolean),
    Column("truncated", Boolean),
    Column("received_at", UTCDateTime, nullable=False),
)

# Events already recorded, by the attempt they concern: ``provider_call_id`` holds the attempt's
# ``<call_id>:<number>`` (two accounts' platforms may hand out the same call ids).
provider_events = Table(
    "provider_events",
    metadata,
    Column("provider", String(32), primary_key=True),
    Column("provider_call_id", String(128), primary_key=True),
    Column("event", String(32), primary_key=True),
    Column("received_at", UTCDateTime, nullable=False),
)

# Signatures already accepted from a provider: the same signed request twice is a replay.
seen_signatures = Table(
    "seen_signatures",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("seen_at", UTCDateTime, nullable=False, index=True),
)

events = Table(
    "events",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("account_id", Uuid, ForeignKey("accounts.id"), nullable=False),
    Column("sequence", BigInteger, nullable=False),
    Column("type", String(32), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("data", JSONDocument, nullable=False),
    UniqueConstraint("account_id", "sequence"),
)

event_counters = Table(
    "event_counters",
    metadata,
    Column("account_id", Uuid, ForeignKey("accounts.id"), primary_key=True),
    Column("last_sequence", BigInteger, nullable=False),
)

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("account_id", Uuid, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("url", Text, nullable=False),
    Column("secret", String(128), nullable=False),
    Column("event_types", JSONDocument),  # null: every type
    Column("created_at", UTCDateTime, nullable=False),
    Column("delivered_sequence", BigInteger, nullable=False),  # events up to here are done
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("failures", Integer, nullable=False, server_default="0"),  # of the event at the head
    Column("lease_expires_at", UTCDateTime),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("endpoint_id", Uuid, ForeignKey("webhook_endpoints.id"), nullable=False),
    Column("event_id", Uuid, ForeignKey("events.id"), nullable=False),
    Column("sequence", BigInteger, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("status_code", Integer),  # unused: results are recorded alone (``body``)
    Column("error", Text),
    Column("succeeded", Boolean, nullable=False),
    Column("attempted_at", UTCDateTime, nullable=False),
    Index(None, "endpoint_id", "attempted_at"),
)

# The first answer to each Idempotency-Key of an account, replayed for 24 h.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("account_id", Uuid, ForeignKey("accounts.id"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),  # the request's route and body
    Column("status_code", Integer),  # unused: results are recorded alone (``body``)
    Column("body", JSONDocument),
    Column("created_at", UTCDateTime, nullable=False),
)
