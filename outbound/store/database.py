"""The database handle, its engines and transactions: PostgreSQL (psycopg 3) or SQLite (WAL,
one writer).

``Database`` is opened once from the URL and knows its ``Dialect``; services get their
transactions from it (``transaction()``, ``reading()``) and hand them to the store's functions.
Driver errors that mean the database is away leave it as ``DatabaseUnavailable``.
"""

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Any, Literal

from sqlalchemy import URL, Connection, Engine, Table, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError

from outbound.exceptions import DatabaseUnavailable
from outbound.store import migrate
from outbound.store.calls import CallQueue
from outbound.store.contacts import ContactWriter
from outbound.store.dialect import Dialect, UpsertInsert
from outbound.store.postgres.dialect import POSTGRESQL
from outbound.store.sqlite.dialect import SQLITE

SQLITE_BUSY_TIMEOUT = 30_000  # milliseconds a writer waits for the lock
POOL_SIZE = 10  # PostgreSQL connections kept per process
POOL_OVERFLOW = 20  # extra PostgreSQL connections under load

# PostgreSQL sessions. A process frozen or cut off (a VM pause, a network partition) while it
# holds a transaction keeps its locks until the server ends that transaction: the idle timeouts
# bound how long, and TCP keepalives (probes both ways) find a dead peer within seconds rather
# than hours. The timeouts count only the time a transaction waits between two statements.
KEEPALIVE_IDLE = 5  # seconds of silence before TCP probes the connection
KEEPALIVE_INTERVAL = 2  # seconds between probes
KEEPALIVE_COUNT = 3  # probes unanswered before the connection is dropped
TCP_USER_TIMEOUT = 10_000  # milliseconds sent data may stay unacknowledged
# A worker's transactions run their statements back to back (the dialing happens after the
# commit): an idle gap of seconds means a frozen worker, whose claim another worker waits for.
WORKER_IDLE_IN_TRANSACTION_TIMEOUT = 2_000  # milliseconds
# A worker waits this long at most for a row lock: longer than a legitimate holder keeps one
# (an API transaction appending 100,000 contacts holds its campaign for seconds); a holder that
# is stuck in a statement, which the idle timeout does not end, costs a retry, not hours.
WORKER_LOCK_TIMEOUT = 30_000  # milliseconds
# The API's transactions wait for the ingest pool between chunks: only a backstop for them.
API_IDLE_IN_TRANSACTION_TIMEOUT = 60_000  # milliseconds

Sessions = Literal["api", "worker"]  # what a process's PostgreSQL sessions are for


def driver_url(url: str) -> str:
    """Accept ``postgresql://`` and ``sqlite:///`` URLs and name the driver we use."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif parsed.drivername not in ("postgresql+psycopg", "sqlite", "sqlite+pysqlite"):
        raise ValueError(f"unsupported database URL scheme: {parsed.drivername}")
    return parsed.render_as_string(hide_password=False)


class Transaction(Connection):
    """A connection in one transaction, carrying its database's ``Dialect``: what services
    hand to the store's functions (which take it as a SQLAlchemy ``Connection``)."""

    def __init__(self, engine: Engine, dialect: Dialect) -> None:
        super().__init__(engine)
        self._outbound_dialect = dialect

    @cached_property
    def queue(self) -> CallQueue:
        """The call queue's statements that are the database's own, on this transaction."""
        return self._outbound_dialect.call_queue(self)

    @cached_property
    def contact_writer(self) -> ContactWriter:
        """The writer of contact lists that is the database's own, on this transaction."""
        return self._outbound_dialect.contact_writer(self)

    def insert(self, table: Table) -> UpsertInsert:
        """An INSERT into ``table`` that can say what to do ON CONFLICT (the dialect's own)."""
        return self._outbound_dialect.insert(table)

    def announce_new_work(self) -> None:
        """Wake every listening worker when this transaction commits (calls became due)."""
        self._outbound_dialect.announce_new_work(self)


class Database:
    """The database outbound runs on: opened once from its URL, it knows its dialect and what
    that dialect can do."""

    def __init__(self, url: str, sessions: Sessions = "api") -> None:
        self.engine = create_database_engine(url, sessions)
        self._sessions: Sessions = sessions
        self._dialect: Dialect = SQLITE if self.engine.dialect.name == "sqlite" else POSTGRESQL

    @property
    def concurrent_writers(self) -> bool:
        """Whether several transactions may write at once (not on SQLite: one writer)."""
        return self._dialect.concurrent_writers

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """A transaction that commits when the block ends, and rolls back if it raises."""
        with self._unavailable_as_ours():
            conn = self._connect()
            with conn, conn.begin():
                yield conn

    @contextmanager
    def reading(self) -> Iterator[Transaction]:
        """A transaction for reads; whatever it wrote would be rolled back."""
        with self._unavailable_as_ours():
            conn = self._connect()
            with conn:
                yield conn

    @contextmanager
    def reading_apart(self) -> Iterator[Transaction]:
        """A connection for reads that need no common snapshot, each statement on its own
        (autocommit on PostgreSQL): for the dispatcher's reads of every batch. It spares the
        BEGIN and the ROLLBACK of ``reading``, and on ROLLBACK psycopg forgets the
        connection's prepared statements (the dispatcher's statements were planned afresh on
        each connection: a fifth slower)."""
        with self._unavailable_as_ours():
            conn = self._connect()
            with conn:
                self._dialect.autocommit(conn)
                yield conn

    def upgrade(self) -> None:
        """Bring the schema to the newest revision (idempotent)."""
        migrate.upgrade(self.engine)

    def schema_is_current(self) -> bool:
        """Whether every migration is applied; ``DatabaseUnavailable`` if the database does not
        answer (naming the driver's error)."""
        try:
            return migrate.is_current(self.engine)
        except SQLAlchemyError as exc:
            raise DatabaseUnavailable(type(exc).__name__) from exc

    def refresh_statistics_after(self, calls: int) -> None:
        """``calls`` calls were just added: the planner's statistics are refreshed in the
        background where the database needs it."""
        self._dialect.refresh_statistics_after(self.engine, calls)

    async def listen_for_new_work(self, wake: Callable[[], None]) -> None:
        """Call ``wake`` whenever a transaction of another process announces new work, until
        cancelled; return at once where one process does all the work (SQLite)."""
        await self._dialect.listen_for_new_work(
            self.engine, session_options(self.engine.url, self._sessions), wake
        )

    def dispose(self) -> None:
        """Close the pooled connections (the process is stopping)."""
        self.engine.dispose()

    def _connect(self) -> Transaction:
        return Transaction(self.engine, self._dialect)

    @contextmanager
    def _unavailable_as_ours(self) -> Iterator[None]:
        try:
            yield
        except (OperationalError, InterfaceError) as exc:
            if self._dialect.is_unavailable(exc):
                raise DatabaseUnavailable() from exc
            raise


def create_database_engine(url: str, sessions: Sessions = "api", **kwargs: Any) -> Engine:
    """An engine for ``url``; on PostgreSQL its sessions get the timeouts of ``sessions``."""
    url = driver_url(url)
    if url.startswith("sqlite"):
        return _sqlite_engine(url, **kwargs)
    return create_engine(
        url,
        pool_size=POOL_SIZE,
        max_overflow=POOL_OVERFLOW,
        pool_pre_ping=True,
        connect_args=session_options(make_url(url), sessions),
        **kwargs,
    )


def session_options(url: URL, sessions: Sessions) -> dict[str, Any]:
    """libpq options of a PostgreSQL session: TCP keepalives and, as server settings, the
    timeouts of ``sessions``. What the URL (or ``PGOPTIONS``) sets itself wins."""
    server: dict[str, int] = {
        "idle_in_transaction_session_timeout": API_IDLE_IN_TRANSACTION_TIMEOUT,
        "tcp_keepalives_idle": KEEPALIVE_IDLE,
        "tcp_keepalives_interval": KEEPALIVE_INTERVAL,
        "tcp_keepalives_count": KEEPALIVE_COUNT,
        "tcp_user_timeout": TCP_USER_TIMEOUT,
    }
    if sessions == "worker":
        server["idle_in_transaction_session_timeout"] = WORKER_IDLE_IN_TRANSACTION_TIMEOUT
        server["lock_timeout"] = WORKER_LOCK_TIMEOUT
    given = url.query.get("options", os.environ.get("PGOPTIONS", ""))
    settings = [f"-c {name}={value}" for name, value in server.items()]
    client: dict[str, Any] = {
        "application_name": f"outbound {sessions} {os.getpid()}",  # in pg_stat_activity
        "keepalives": 1,
        "keepalives_idle": KEEPALIVE_IDLE,
        "keepalives_interval": KEEPALIVE_INTERVAL,
        "keepalives_count": KEEPALIVE_COUNT,
        "tcp_user_timeout": TCP_USER_TIMEOUT,
    }
    return {
        **{name: value for name, value in client.items() if name not in url.query},
        "options": " ".join([*settings, given] if isinstance(given, str) else settings).strip(),
    }


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" decide when a transaction starts (see below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        # Take the write lock up front: a deferred transaction that later writes fails at once
        # with "database is locked" instead of waiting for the busy timeout.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
