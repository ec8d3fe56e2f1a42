"""SQLite's side of the store: its ``Dialect`` (``dialect``), the call queue's statements in
SQLAlchemy Core (``queue``) and the writer of contact lists that upserts them (``contacts``).
SQLite has one writer: every transaction begins IMMEDIATE and holds the whole database, so
nothing here takes a row lock.

May import SQLAlchemy, sqlite3, the shared modules of ``outbound.store`` (not ``postgres``) and
``outbound.domain``.
"""
