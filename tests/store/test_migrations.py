"""Migrations go down and up again on both databases, and leave the indexes the code needs."""

from alembic import command
from sqlalchemy import inspect

from outbound.store.database import create_database_engine
from outbound.store.migrate import alembic_config, upgrade

PARTIAL_INDEXES = {
    "ix_calls_due",
    "ix_calls_lease_expires_at",
    "ix_calls_in_progress",
    "ix_calls_pending_phone",
}


def test_the_last_migration_goes_down_and_up_again(private_database_url: str):
    engine = create_database_engine(private_database_url)
    try:
        upgrade(engine)
        assert {i["name"] for i in inspect(engine).get_indexes("calls")} >= PARTIAL_INDEXES
        config = alembic_config(private_database_url)
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0004")
        indexes = {i["name"] for i in inspect(engine).get_indexes("calls")}
        assert "ix_calls_status_next_attempt_at" in indexes
        assert not PARTIAL_INDEXES & indexes
        assert inspect(engine).get_foreign_keys("calls")
        upgrade(engine)
        assert {i["name"] for i in inspect(engine).get_indexes("calls")} >= PARTIAL_INDEXES
        assert not inspect(engine).get_foreign_keys("calls")
    finally:
        engine.dispose()
