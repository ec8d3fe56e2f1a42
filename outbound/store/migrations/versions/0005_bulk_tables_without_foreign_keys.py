"""bulk tables without foreign keys

The tables written by the hundred thousand rows (contacts and calls on ingest, attempts when
dialing) lose their foreign keys. PostgreSQL checks a foreign key row by row: on a list of
100,000 contacts the checks took longer than writing the rows. Those rows are written only by
outbound's own statements, from ids read or created in the same transaction, and no account,
campaign, contact or call is ever deleted.

On PostgreSQL, contacts and calls get their ids from ``gen_random_uuid()`` when the bulk path
does not give them.

The indexes of calls that carry its status become partial: each status change writes an entry
in every index of the row, and now only in those whose condition the new status meets. The due
index holds the pending calls, the lease index the calls with a lease, and the account's two
indexes its calls in progress (pacing) and its pending calls by phone (do-not-call).

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


# (name, columns, condition) of the partial indexes of calls, and the indexes they replace
PARTIAL_INDEXES = (
    ("ix_calls_due", ["next_attempt_at"], "status = 'pending'"),
    ("ix_calls_lease_expires_at", ["lease_expires_at"], "lease_expires_at IS NOT NULL"),
    ("ix_calls_in_progress", ["account_id"], "status = 'in_progress'"),
    ("ix_calls_pending_phone", ["account_id", "phone"], "status = 'pending'"),
)
REPLACED_INDEXES = (
    ("ix_calls_status_next_attempt_at", ["status", "next_attempt_at"]),
    ("ix_calls_status_lease_expires_at", ["status", "lease_expires_at"]),
    ("ix_calls_account_id_status", ["account_id", "status"]),
)


def upgrade() -> None:
    for table, column, referred in FOREIGN_KEYS:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(f"fk_{table}_{column}_{referred}", type_="foreignkey")
    with op.batch_alter_table("calls") as batch_op:
        for name, _ in REPLACED_INDEXES:
            batch_op.drop_index(name)
        for name, columns, condition in PARTIAL_INDEXES:
            batch_op.create_index(
                name,
                columns,
                postgresql_where=sa.text(condition),
                sqlite_where=sa.text(condition),
            )
    if op.get_bind().dialect.name == "postgresql":
        for table in GENERATED_IDS:
            op.alter_column(table, "id", server_default=sa.text("gen_random_uuid()"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in GENERATED_IDS:
            op.alter_column(table, "id", server_default=None)
    with op.batch_alter_table("calls") as batch_op:
        for name, _, _ in PARTIAL_INDEXES:
            batch_op.drop_index(name)
        for name, columns in REPLACED_INDEXES:
            batch_op.create_index(name, columns, unique=False)
    for table, column, referred in FOREIGN_KEYS:
        with op.batch_alter_table(table) as batch_op:
            batch_op.create_foreign_key(
                f"fk_{table}_{column}_{referred}", referred, [column], ["id"]
            )
