"""Engines and transactions for PostgreSQL (psycopg 3) and SQLite (WAL, one writer)."""

import os
import re
from collections.abc import Sequence
from functools import cache
from typing import Any, Literal

import psycopg
from sqlalchemy import URL, Connection, Engine, NullPool, create_engine, event
from sqlalchemy.engine import make_url

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


@cache
def side_engine(url: URL) -> Engine:
    """An engine whose connections are opened on demand and closed after use, outside the
    pool of the engine for ``url``: a request that holds a pooled connection can open a second
    one without waiting for the pool, which other requests like it may have emptied."""
    return create_engine(url, poolclass=NullPool)


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


def copy_text(conn: Connection, table: str, columns: Sequence[str], lines: Sequence[str]) -> None:
    """COPY lines already in COPY's text format (``copy_line``) into ``table``."""
    if not lines:
        return
    driver = conn.connection.dbapi_connection
    assert isinstance(driver, psycopg.Connection)
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        copy.write("".join(lines))


COPY_NULL = "\\N"
_COPY_SPECIAL = re.compile(r"[\\\n\r]")  # with the tab, what COPY's text format escapes
needs_escape = _COPY_SPECIAL.search  # whether tab-free text must be escaped for COPY
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_line(values: Sequence[str | None]) -> str:
    """One row in COPY's text format: tab-separated, ``\\N`` for null, ending in a newline.

    Built in one join; values are escaped one by one only when the line holds a character
    that needs it (a text field with a tab, a newline or a backslash).
    """
    line = "\t".join([COPY_NULL if value is None else value for value in values])
    if line.count("\t") != len(values) - 1 or _COPY_SPECIAL.search(line):
        line = "\t".join(
            [COPY_NULL if value is None else value.translate(_COPY_ESCAPES) for value in values]
        )
    return line + "\n"


def time_ordered_ids(count: int, millis: int, first: int = 0) -> list[str]:
    """UUIDs of version 7 (RFC 9562) for the items ``first`` to ``first + count - 1`` of a
    batch made at ``millis`` (milliseconds since the epoch), in increasing order.

    They start with the time, so that rows inserted one after the other sit side by side in
    their primary key's index instead of all over it. The item's number goes into the 12 bits
    after the version (4,096 a millisecond, the next ones in the following milliseconds): a
    batch prepared in chunks by several processes is in order all the same. The last 62 bits
    are random.
    """
    randoms = os.urandom(8 * count).hex()
    ids = []
    head = ""
    for index in range(count):
        number = first + index
        if not head or not number & 0xFFF:  # a new millisecond
            stamp = f"{millis + (number >> 12):012x}"
            head = f"{stamp[:8]}-{stamp[8:]}-7"
        tail = randoms[16 * index : 16 * index + 16]
        ids.append(f"{head}{number & 0xFFF:03x}-{_VARIANT[tail[0]]}{tail[1:4]}-{tail[4:]}")
    return ids


# A random hex digit as the first digit of an RFC 9562 variant: 8, 9, a or b.
_VARIANT = {digit: f"{int(digit, 16) & 3 | 8:x}" for digit in "0123456789abcdef"}


def array_literal(values: Sequence[str | None]) -> str:
    """A PostgreSQL array literal of the texts ``values`` (null for None), to pass as one
    string where psycopg would dump a list item by item (a microsecond each): cast it in the
    statement, ``%s::text[]``.
    """
    if None not in values:
        joined = '","'.join(values)  # type: ignore[arg-type]  # no None, checked above
        if '"' not in joined and "\\" not in joined:
            return '{"' + joined + '"}' if values else "{}"
    return "{" + ",".join(_array_item(value) for value in values) + "}"


def _array_item(value: str | None) -> str:
    if value is None:
        return "NULL"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
