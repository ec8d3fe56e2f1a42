"""PostgreSQL's side of the store: its ``Dialect`` (``dialect.PostgreSQL``).

May import: SQLAlchemy, psycopg, the shared modules of ``outbound.store`` and ``outbound.domain``.
"""
