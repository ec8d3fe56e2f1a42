"""The database handle: transactions, what each dialect can do, and driver errors that mean
"away" leaving the store as ``DatabaseUnavailable`` while faults stay faults."""

import uuid

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import SQLAlchemyError

from outbound.exceptions import DatabaseUnavailable
from outbound.store.database import Database, Transaction
from outbound.store.tables import accounts
from tests.store.conftest import NOW

UNREACHABLE = "postgresql://postgres@127.0.0.1:1/outbound"  # nothing listens on port 1


def _count(database: Database) -> int:
    with database.reading() as tx:
        return int(tx.execute(select(func.count()).select_from(accounts)).scalar_one())


def _add_account(tx: Transaction) -> None:
    tx.execute(insert(accounts).values(id=uuid.uuid4(), name="A", timezone="UTC", created_at=NOW))


def test_a_transaction_commits_at_its_end_and_rolls_back_if_it_raises(database: Database):
    before = _count(database)
    with pytest.raises(RuntimeError), database.transaction() as tx:
        _add_account(tx)
        raise RuntimeError("undo")
    assert _count(database) == before
    with database.reading() as tx:
        _add_account(tx)
    assert _count(database) == before  # a reading transaction keeps nothing
    with database.transaction() as tx:
        _add_account(tx)
    assert _count(database) == before + 1


def test_only_postgresql_takes_concurrent_writers(database: Database, database_url: str):
    assert database.concurrent_writers == database_url.startswith("postgresql")
    assert database.schema_is_current()


def test_a_faulty_statement_is_a_fault_not_an_outage(database: Database):
    with pytest.raises(SQLAlchemyError, match="no_such_table"), database.reading() as tx:
        tx.exec_driver_sql("SELECT * FROM no_such_table")


def test_a_database_that_does_not_answer_is_unavailable():
    database = Database(UNREACHABLE)
    try:
        with pytest.raises(DatabaseUnavailable), database.transaction():
            pass
        with pytest.raises(DatabaseUnavailable), database.reading():
            pass
        with pytest.raises(DatabaseUnavailable) as raised:
            database.schema_is_current()
        assert raised.value.message == "OperationalError"  # the driver's error, named
    finally:
        database.dispose()


def _prepared(tx: Transaction) -> int:
    return int(tx.exec_driver_sql("SELECT count(*) FROM pg_prepared_statements").scalar_one())


def test_reads_apart_commit_as_they_go_and_keep_what_the_connection_prepared(
    database: Database,
):
    """The dispatcher's reads of every batch: each statement on its own. On PostgreSQL psycopg
    prepares a statement run often on a connection, and keeps it across these reads; a
    ``reading`` transaction ends with a ROLLBACK, which makes psycopg forget them all."""
    for _ in range(8):  # more than psycopg's prepare threshold (5)
        with database.reading_apart() as tx:
            tx.exec_driver_sql("SELECT id FROM accounts WHERE id IS NULL").all()
    if not database.concurrent_writers:
        return  # SQLite: no prepared statements to keep
    with database.reading_apart() as tx:
        driver = tx.connection.dbapi_connection
        assert driver is not None and driver.autocommit  # no BEGIN, no ROLLBACK
        assert _prepared(tx) >= 1
    with database.reading() as tx:
        tx.exec_driver_sql("SELECT 1").all()
    with database.reading_apart() as tx:
        assert _prepared(tx) == 0  # the ROLLBACK of ``reading`` dropped them
