"""Rows and ids encoded in Python for the bulk writes: time-ordered ids on both databases,
PostgreSQL's COPY lines and array literals."""

import uuid

from outbound.store.database import Database
from outbound.store.ids import time_ordered_ids
from outbound.store.postgres.encoding import array_literal, copy_line
from tests.conftest import migrated_database


def test_time_ordered_ids_are_version_7_and_in_order_across_chunks():
    ids = time_ordered_ids(10_000, 1_795_000_000_000)  # more than one millisecond's 4,096
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert time_ordered_ids(5, 1_795_000_000_000, first=10_000)[0] > ids[-1]  # the next chunk
    assert {uuid.UUID(i).version for i in ids} == {7}
    assert {uuid.UUID(i).variant for i in ids} == {uuid.RFC_4122}


def test_copy_lines_escape_only_what_copy_reads_specially():
    assert copy_line(["a", None, "b"]) == "a\t\\N\tb\n"
    assert copy_line(["t\tab", "n\nl", "c\rr", "b\\s", "\\N"]) == (
        "t\\tab\tn\\nl\tc\\rr\tb\\\\s\t\\\\N\n"
    )


def test_array_literals_read_back_as_the_texts_given(postgres_database_url: str):
    """Arrays go to PostgreSQL as one literal string rather than item by item."""
    database: Database = migrated_database(postgres_database_url)
    cases: list[list[str | None]] = [
        [],
        ["+34910000000", "01a20d94-ed55-7000-a507-80493168fda4"],
        ['quo"te', "back\\slash", None, "NULL", "", "a,b", "{x}", " spaced ", "Zoë"],
    ]
    try:
        with database.engine.connect() as conn:
            for values in cases:
                read = conn.exec_driver_sql("SELECT %s::text[]", (array_literal(values),))
                assert read.scalar_one() == values
    finally:
        database.dispose()
