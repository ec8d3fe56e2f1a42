"""The schema, one definition for PostgreSQL and SQLite. Migrations mirror it."""

from sqlalchemy import (
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
)

contacts = Table(
    "contacts",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("account_id", Uuid, ForeignKey("accounts.id"), nullable=False),
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
    Index(None, "account_id", "created_at"),
    Index(None, "status", "launch_at"),
)

calls = Table(
    "calls",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("campaign_id", Uuid, ForeignKey("campaigns.id"), nullable=False),
    Column("account_id", Uuid, ForeignKey("accounts.id"), nullable=False),
    Column("contact_id", Uuid, ForeignKey("contacts.id"), nullable=False),
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
    UniqueConstraint("campaign_id", "contact_id"),
    UniqueConstraint("campaign_id", "position"),
    Index(None, "status", "next_attempt_at"),
    Index(None, "status", "lease_expires_at"),
    Index(None, "campaign_id", "status"),
    Index(None, "account_id", "status"),
)

call_attempts = Table(
    "call_attempts",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("call_id", Uuid, ForeignKey("calls.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("outcome", String(16)),
    Column("due_at", UTCDateTime),
    Column("started_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),
    Column("provider_call_id", String(128)),
    Column("error", Text),
    Column("account_id", Uuid),
    Column("caller_id", String(32)),
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
)
