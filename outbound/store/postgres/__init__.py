"""PostgreSQL's side of the store: its ``Dialect`` (``dialect``), the call queue's statements
in plain SQL with binary array parameters (``queue``), the writer of contact lists that COPies
its contacts (``contacts``), and the text formats built in Python for them (``encoding``: COPY
lines, array literals; run by the ingest pool's processes too).

May import SQLAlchemy, psycopg, the shared modules of ``outbound.store`` (not ``sqlite``) and
``outbound.domain``; ``encoding`` imports the standard library, pydantic_core and
``outbound.domain`` only.
"""
