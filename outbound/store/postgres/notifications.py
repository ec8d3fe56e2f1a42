"""Wake-ups across processes: PostgreSQL's LISTEN/NOTIFY on one channel.

A transaction that makes calls due (a campaign created or resumed, contacts appended) announces
it: PostgreSQL delivers the notification when, and only if, it commits, to every process
listening. ``listen_for_new_work`` is what a worker runs beside its dispatcher: a connection of
its own that listens and calls ``wake`` for each notification. Without it (the connection lost,
until it is back) the dispatcher still polls: wake-ups only shorten its sleep.

Imports SQLAlchemy and psycopg (the listening connection is psycopg's, asynchronous).
"""

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine

log = logging.getLogger(__name__)

CHANNEL = "outbound_wakeup"  # one channel, an empty payload: "look for due work now"
RECONNECT_FIRST_SECONDS = 0.1  # first pause before listening again after losing the connection
RECONNECT_MAX_SECONDS = 5.0  # the pause doubles up to this


def announce_new_work(conn: Connection) -> None:
    """Wake every listening worker when the transaction of ``conn`` commits."""
    conn.exec_driver_sql(f"NOTIFY {CHANNEL}")


async def listen_for_new_work(
    engine: Engine, session: dict[str, Any], wake: Callable[[], None]
) -> None:
    """Call ``wake`` for each announcement, until cancelled; reconnect with a backoff when the
    connection is lost, and wake once listening again (what was announced meanwhile).
    ``session``: the libpq options of the process's sessions (keepalives, timeouts)."""
    _, options = engine.dialect.create_connect_args(engine.url)
    options.pop("context", None)  # SQLAlchemy's own adapters, for its connections
    options.update(session)
    failures = 0
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(**options, autocommit=True) as conn:
                await conn.execute(f"LISTEN {CHANNEL}")
                log.info("listening for new work on %s", CHANNEL)
                failures = 0
                wake()
                async for _ in conn.notifies():
                    wake()
        except psycopg.Error as exc:
            delay = min(RECONNECT_MAX_SECONDS, RECONNECT_FIRST_SECONDS * 2**failures)
            failures += 1
            log.warning("not listening for new work (%s); polling, retrying in %.1fs", exc, delay)
            await asyncio.sleep(delay)
