"""pacing, windows, do-not-call

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 07:27:35.085094
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "do_not_call",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_do_not_call_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", "phone", name=op.f("pk_do_not_call")),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("max_concurrent_calls", sa.Integer(), server_default="10", nullable=False)
        )
        batch_op.add_column(
            sa.Column("calls_per_second", sa.Float(), server_default="5", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "calling_window",
                sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
                nullable=True,
            )
        )

    with op.batch_alter_table("call_attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("account_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("caller_id", sa.String(length=32), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_call_attempts_started_at"), ["started_at"], unique=False
        )

    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("caller_id", sa.String(length=32), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_calls_account_id_status"), ["account_id", "status"], unique=False
        )

    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "calling_window",
                sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("max_concurrent_calls", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "recall_on", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("recall_on")
        batch_op.drop_column("max_concurrent_calls")
        batch_op.drop_column("calling_window")

    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calls_account_id_status"))
        batch_op.drop_column("caller_id")
        batch_op.drop_column("timezone")

    with op.batch_alter_table("call_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_attempts_started_at"))
        batch_op.drop_column("caller_id")
        batch_op.drop_column("account_id")

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("calling_window")
        batch_op.drop_column("calls_per_second")
        batch_op.drop_column("max_concurrent_calls")

    op.drop_table("do_not_call")
