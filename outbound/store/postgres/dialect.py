"""PostgreSQL's ``Dialect``."""

import logging
import threading
from collections.abc import Callable
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError

from outbound.store.postgres import notifications
from outbound.store.postgres.contacts import PostgresContactWriter
from outbound.store.postgres.queue import PostgresCallQueue

log = logging.getLogger(__name__)

# Calls added at once from which the statistics of ``calls`` are refreshed: without them the
# claim's plan reads and sorts every pending call of a new campaign (23 ms a claim instead of
# 2 ms on 50,000 calls) until autovacuum gets to it.
STATISTICS_FROM = 10_000
REFRESH_THREAD = "refresh-statistics"  # the name of the thread that runs the ANALYZE


class PostgreSQL:
    concurrent_writers = True

    def is_unavailable(self, error: DBAPIError) -> bool:
        return error.connection_invalidated or isinstance(error.orig, psycopg.OperationalError)

    def call_queue(self, conn: Connection) -> PostgresCallQueue:
        return PostgresCallQueue(conn)

    def contact_writer(self, conn: Connection) -> PostgresContactWriter:
        return PostgresContactWriter(conn)

    def autocommit(self, conn: Connection) -> None:
        conn.execution_options(isolation_level="AUTOCOMMIT")  # reset as the pool takes it back

    def insert(self, table: Table) -> postgresql.Insert:
        return postgresql.insert(table)

    def refresh_statistics_after(self, engine: Engine, calls: int) -> None:
        if calls >= STATISTICS_FROM:
            threading.Thread(
                target=_refresh_statistics, args=(engine,), name=REFRESH_THREAD, daemon=True
            ).start()

    def announce_new_work(self, conn: Connection) -> None:
        notifications.announce_new_work(conn)

    async def listen_for_new_work(
        self, engine: Engine, session: dict[str, Any], wake: Callable[[], None]
    ) -> None:
        await notifications.listen_for_new_work(engine, session, wake)


def _refresh_statistics(engine: Engine) -> None:
    """Sample ``calls`` again, so that the claim's plan knows the new calls, and ``campaigns``,
    which autovacuum leaves alone while it is small."""
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE calls, campaigns")
    except Exception:  # the statistics only help the planner; autovacuum refreshes them too
        log.exception("refreshing the statistics of calls failed")


POSTGRESQL = PostgreSQL()
