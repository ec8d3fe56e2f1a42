"""Migrations go down and up again on both databases, and leave the indexes the code needs."""

from alembic import command
from sqlalchemy import inspect

from outbound.store.database import Database
from outbound.store.migrate import alembic_config

PARTIAL_INDEXES = {
    "ix_calls_due",
    "ix_calls_lease_expires_at",
    "ix_calls_in_progress",
    "ix_calls_pending_phone",
}


def test_the_last_migration_goes_down_and_up_again(private_database_url: str):
    database = Database(private_database_url)
    try:
        database.upgrade()
        assert {i["name"] for i in inspect(database.engine).get_indexes("calls")} >= PARTIAL_INDEXES
        config = alembic_config(private_database_url)
        with database.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0004")
        indexes = {i["name"] for i in inspect(database.engine).get_indexes("calls")}
        assert "ix_calls_status_next_attempt_at" in indexes
        assert not PARTIAL_INDEXES & indexes
        assert inspect(database.engine).get_foreign_keys("calls")
        database.upgrade()
        assert {i["name"] for i in inspect(database.engine).get_indexes("calls")} >= PARTIAL_INDEXES
        assert not inspect(database.engine).get_foreign_keys("calls")
    finally:
        database.dispose()
