"""PostgreSQL's ``Dialect``."""

import psycopg
from sqlalchemy.exc import DBAPIError


class PostgreSQL:
    concurrent_writers = True

    def is_unavailable(self, error: DBAPIError) -> bool:
        return error.connection_invalidated or isinstance(error.orig, psycopg.OperationalError)


POSTGRESQL = PostgreSQL()
