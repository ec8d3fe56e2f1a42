"""The seam between the two databases: what PostgreSQL and SQLite each do their own way.

``Dialect`` is implemented once in ``store.postgres`` and once in ``store.sqlite``. The handle
(``store.database.Database``) picks one as it opens the database and every transaction carries
it; nothing else asks which database it has. The rest of ``store`` is shared: the tables, the
migrations and the Core queries that work on both.

May import: SQLAlchemy and the shared modules of ``store`` (never ``store.postgres`` or
``store.sqlite``, which import this).
"""

from typing import Protocol

from sqlalchemy.exc import DBAPIError


class Dialect(Protocol):
    """One database's own ways."""

    # Several transactions may write at once. SQLite has one writer: work that would run
    # side by side (the dispatcher's claims) runs one at a time there.
    concurrent_writers: bool

    def is_unavailable(self, error: DBAPIError) -> bool:
        """Whether ``error`` means "not reachable right now" rather than a fault."""
        ...
