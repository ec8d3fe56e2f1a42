"""conversation results, playbooks over HTTP, provider connections

Each ended attempt may have a conversation result: its own table, as transcripts are large
and the queue's rows stay small. A result is keyed like its attempt (call, number); a campaign's
dispositions and cost are summed through its calls (no index of its own: one is written per
attempt placed, in the dispatcher's batches).

Playbooks gain their dispositions, data fields, voicemail policy and provider (documents), an
``updated_at`` and an ``archived_at``; the connection a playbook places its calls through is
also a column, so a connection in use is found by an index. Calls count the callbacks they
took (outside the recall budget), campaigns cap them, and a do-not-call entry says why.

Provider connections hold an account's credentials of an agent platform, encrypted.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 15:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from outbound.store.types import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOCUMENT = sa.JSON().with_variant(JSONB(), "postgresql")
PLAYBOOK_DOCUMENTS = ("dispositions", "data_fields", "voicemail", "provider")


def upgrade() -> None:
    op.create_table(
        "provider_connections",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("credentials", sa.Text(), nullable=False),
        sa.Column("settings", JSON_DOCUMENT, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name="fk_provider_connections_account_id_accounts",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_provider_connections"),
    )
    op.create_index("ix_provider_connections_account_id", "provider_connections", ["account_id"])
    with op.batch_alter_table("playbooks") as batch_op:
        for name in PLAYBOOK_DOCUMENTS:
            batch_op.add_column(sa.Column(name, JSON_DOCUMENT, nullable=True))
        batch_op.add_column(sa.Column("connection_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("updated_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("archived_at", UTCDateTime(), nullable=True))
        batch_op.create_index("ix_playbooks_connection_id", ["connection_id"])
    op.execute("UPDATE playbooks SET updated_at = created_at")
    with op.batch_alter_table("campaigns") as batch_op:
        batch_op.add_column(sa.Column("max_callbacks", sa.Integer(), nullable=True))
    with op.batch_alter_table("calls") as batch_op:
        batch_op.add_column(
            sa.Column("callback_count", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("do_not_call") as batch_op:
        batch_op.add_column(sa.Column("reason", sa.String(100), nullable=True))
    op.create_table(
        "attempt_results",
        sa.Column("call_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("disposition", sa.String(64), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("data", JSON_DOCUMENT, nullable=True),
        sa.Column("transcript", JSON_DOCUMENT, nullable=True),
        sa.Column("recording_url", sa.Text(), nullable=True),
        sa.Column("cost_amount", sa.Float(), nullable=True),
        sa.Column("cost_currency", sa.String(3), nullable=True),
        sa.Column("ended_reason", sa.String(128), nullable=True),
        sa.Column("callback_at", UTCDateTime(), nullable=True),
        sa.Column("voicemail_left", sa.Boolean(), nullable=True),
        sa.Column("success", sa.Boolean(), nullable=True),
        sa.Column("truncated", sa.Boolean(), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("call_id", "number", name="pk_attempt_results"),
    )


def downgrade() -> None:
    op.drop_table("attempt_results")
    with op.batch_alter_table("do_not_call") as batch_op:
        batch_op.drop_column("reason")
    with op.batch_alter_table("calls") as batch_op:
        batch_op.drop_column("callback_count")
    with op.batch_alter_table("campaigns") as batch_op:
        batch_op.drop_column("max_callbacks")
    with op.batch_alter_table("playbooks") as batch_op:
        batch_op.drop_index("ix_playbooks_connection_id")
        for name in ("archived_at", "updated_at", "connection_id", *PLAYBOOK_DOCUMENTS):
            batch_op.drop_column(name)
    op.drop_index("ix_provider_connections_account_id", table_name="provider_connections")
    op.drop_table("provider_connections")
