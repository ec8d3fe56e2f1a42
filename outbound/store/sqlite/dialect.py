"""SQLite's ``Dialect``."""

import sqlite3

from sqlalchemy.exc import DBAPIError


class SQLite:
    concurrent_writers = False

    def is_unavailable(self, error: DBAPIError) -> bool:
        # Another writer held the lock for longer than the busy timeout.
        original = error.orig
        return error.connection_invalidated or (
            isinstance(original, sqlite3.OperationalError)
            and ("locked" in str(original) or "busy" in str(original))
        )


SQLITE = SQLite()
