"""SQLite's ``Dialect``."""

import sqlite3
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, Table
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DBAPIError

from outbound.store.sqlite.contacts import SqliteContactWriter
from outbound.store.sqlite.queue import SqliteCallQueue


class SQLite:
    concurrent_writers = False

    def is_unavailable(self, error: DBAPIError) -> bool:
        # Another writer held the lock for longer than the busy timeout.
        original = error.orig
        return error.connection_invalidated or (
            isinstance(original, sqlite3.OperationalError)
            and ("locked" in str(original) or "busy" in str(original))
        )

    def call_queue(self, conn: Connection) -> SqliteCallQueue:
        return SqliteCallQueue(conn)

    def contact_writer(self, conn: Connection) -> SqliteContactWriter:
        return SqliteContactWriter(conn)

    def autocommit(self, conn: Connection) -> None:
        pass  # in-process: a transaction costs no round trip

    def insert(self, table: Table) -> sqlite.Insert:
        return sqlite.insert(table)

    def refresh_statistics_after(self, engine: Engine, calls: int) -> None:
        pass  # SQLite's planner reads the indexes it has; it keeps no statistics unless asked

    def announce_new_work(self, conn: Connection) -> None:
        pass  # one process (``serve``) does all the work and wakes its own dispatcher

    async def listen_for_new_work(
        self, engine: Engine, session: dict[str, Any], wake: Callable[[], None]
    ) -> None:
        return  # no other process announces anything


SQLITE = SQLite()
