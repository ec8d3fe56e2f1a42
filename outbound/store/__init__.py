"""The only code that speaks SQL. PostgreSQL in production, SQLite embedded.

``database.Database`` is the handle, opened once from the URL: it picks the database's
``dialect.Dialect`` and gives out transactions (``database.Transaction``) that carry it. What
the two databases do their own way sits behind small interfaces, each implemented once in
``postgres/`` and once in ``sqlite/``: the call queue's hottest statements (``calls.CallQueue``,
``transaction.queue``), the writer of contact lists (``contacts.ContactWriter``,
``transaction.contact_writer``), the INSERT that takes ON CONFLICT (``transaction.insert``),
what an outage looks like and how statistics are kept. Everything else is shared: the tables,
the migrations and the Core queries that run on both (one module per concept: ``campaigns``,
``calls``, ``contacts``, ``accounts``...). Driver errors that mean the database is away leave
the store as ``outbound.exceptions.DatabaseUnavailable``.

May import SQLAlchemy, Alembic, psycopg, sqlite3, ``outbound.domain`` and
``outbound.exceptions``; nothing outside ``store`` imports a driver or SQLAlchemy.
"""
