"""bulk tables without foreign keys

The tables written by the hundred thousand rows (contacts and calls on ingest, attempts when
dialing) lose their foreign keys. PostgreSQL checks a foreign key row by row: on a list of
100,000 contacts the checks took longer than writing the rows. Those rows are written only by
outbound's own statements, from ids read or created in the same transaction, and no account,
campaign, contact or call is ever deleted.

On PostgreSQL, contacts and calls get their ids from ``gen_random_uuid()`` when the bulk path
does not give them. The lease index holds only the calls that have a lease: a new call no
longer enters it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 10:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FOREIGN_KEYS = (
    ("contacts", "account_id", "accounts"),
    ("calls", "account_id", "accounts"),
    ("calls", "campaign_id", "campaigns"),
    ("calls", "contact_id", "contacts"),
    ("call_attempts", "call_id", "calls"),
)
GENERATED_IDS = ("contacts", "calls")


def upgrade() -> None:
    for table, column, referred in FOREIGN_KEYS:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(f"fk_{table}_{column}_{referred}", type_="foreignkey")
    with op.batch_alter_table("calls") as batch_op:
        batch_op.drop_index("ix_calls_status_lease_expires_at")
        batch_op.create_index(
            "ix_calls_lease_expires_at",
            ["lease_expires_at"],
            postgresql_where=sa.text("lease_expires_at IS NOT NULL"),
            sqlite_where=sa.text("lease_expires_at IS NOT NULL"),
        )
    if op.get_bind().dialect.name == "postgresql":
        for table in GENERATED_IDS:
            op.alter_column(table, "id", server_default=sa.text("gen_random_uuid()"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in GENERATED_IDS:
            op.alter_column(table, "id", server_default=None)
    with op.batch_alter_table("calls") as batch_op:
        batch_op.drop_index("ix_calls_lease_expires_at")
        batch_op.create_index(
            "ix_calls_status_lease_expires_at", ["status", "lease_expires_at"], unique=False
        )
    for table, column, referred in FOREIGN_KEYS:
        with op.batch_alter_table(table) as batch_op:
            batch_op.create_foreign_key(
                f"fk_{table}_{column}_{referred}", referred, [column], ["id"]
            )
