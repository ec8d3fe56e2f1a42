"""SQLite's side of the store: its ``Dialect`` (``dialect.SQLite``).

May import: SQLAlchemy, sqlite3, the shared modules of ``outbound.store`` and ``outbound.domain``.
"""
