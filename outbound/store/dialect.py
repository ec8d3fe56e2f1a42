"""The seam between the two databases: what PostgreSQL and SQLite each do their own way.

``Dialect`` is implemented once in ``store.postgres`` and once in ``store.sqlite``. The handle
(``store.database.Database``) picks one as it opens the database and every transaction carries
it; nothing else asks which database it has. The rest of ``store`` is shared: the tables, the
migrations and the Core queries that work on both.

May import: SQLAlchemy and the shared modules of ``store`` (never ``store.postgres`` or
``store.sqlite``, which implement it).
"""

from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from outbound.store.calls import CallQueue
from outbound.store.contacts import ContactWriter

# An INSERT that takes ``on_conflict_do_update`` and ``on_conflict_do_nothing``.
UpsertInsert = postgresql.Insert | sqlite.Insert


class Dialect(Protocol):
    """One database's own ways."""

    # Several transactions may write at once. SQLite has one writer: work that would run
    # side by side (the dispatcher's claims) runs one at a time there.
    concurrent_writers: bool

    def is_unavailable(self, error: DBAPIError) -> bool:
        """Whether ``error`` means "not reachable right now" rather than a fault."""
        ...

    def call_queue(self, conn: Connection) -> CallQueue:
        """The queue's own statements, on ``conn``."""
        ...

    def contact_writer(self, conn: Connection) -> ContactWriter:
        """The writer of contact lists, on ``conn``."""
        ...

    def autocommit(self, conn: Connection) -> None:
        """Let each statement of ``conn`` commit on its own, where that spares round trips;
        else leave it as it is."""
        ...

    def insert(self, table: Table) -> UpsertInsert:
        """An INSERT into ``table`` that can say what to do ON CONFLICT."""
        ...

    def refresh_statistics_after(self, engine: Engine, calls: int) -> None:
        """``calls`` calls were just added: refresh what the planner knows of them, if it
        needs it, without making the caller wait."""
        ...

    def announce_new_work(self, conn: Connection) -> None:
        """Wake the other processes' dispatchers when the transaction of ``conn`` commits (a
        no-op where one process does all the work)."""
        ...

    async def listen_for_new_work(
        self, engine: Engine, session: dict[str, Any], wake: Callable[[], None]
    ) -> None:
        """Call ``wake`` for each announcement of another process, until cancelled; return at
        once where there are none."""
        ...
