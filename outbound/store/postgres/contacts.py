"""PostgreSQL's ``ContactWriter``.

The account's contacts are locked for the transaction (an advisory lock of their own, so that
dialing is not held up); the phones it already has are read in one statement
per chunk, one chunk ahead on a second connection; the new contacts are COPied straight into
``contacts`` and the known ones are updated from a staging table (an upsert of every row from a
staging table costs three times the COPY); the calls are inserted with their ids, their arrays
sent as one literal string each.
"""

import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import cache

import psycopg
from sqlalchemy import URL, Connection, Engine, NullPool, create_engine
from sqlalchemy.exc import OperationalError

from outbound.domain.contacts import CONTACT_FIELDS
from outbound.store.contacts import Chunk, EncodeContacts, Known, NewCalls
from outbound.store.postgres.encoding import CONTACT_COLUMNS, array_literal, encode_contacts

_KNOWN = """
SELECT c.phone, c.id::text, c.timezone FROM contacts c
WHERE c.account_id = %s AND c.phone = ANY(%s::text[])
"""
_UPDATE_FROM_STAGING = f"""
UPDATE contacts SET
  {", ".join(f"{name} = COALESCE(s.{name}, contacts.{name})" for name in CONTACT_FIELDS)},
  custom_fields = contacts.custom_fields || s.custom_fields::jsonb,
  updated_at = %s
FROM contacts_staging s
WHERE contacts.account_id = %s AND contacts.phone = s.phone
"""
_ADD_CALLS = """
INSERT INTO calls (id, campaign_id, account_id, contact_id, position, phone, status,
                   attempt_count, recall, next_attempt_at, timezone, caller_id, created_at,
                   updated_at, provider_failures)
SELECT p.id, %(campaign_id)s, %(account_id)s, p.contact_id,
       %(after)s + row_number() OVER (ORDER BY p.ordinal), p.phone, 'pending', 0,
       %(recall)s::jsonb, COALESCE(p.due, %(first_due)s), p.zone, %(caller_id)s, %(now)s, %(now)s, 0
FROM unnest(%(ids)s::uuid[], %(contact_ids)s::uuid[], %(phones)s::text[], %(zones)s::text[],
            %(dues)s::timestamptz[]) WITH ORDINALITY AS p(id, contact_id, phone, zone, due, ordinal)
"""
_NOT_IN_CAMPAIGN = """
WHERE NOT EXISTS (
  SELECT 1 FROM calls k WHERE k.campaign_id = %(campaign_id)s AND k.contact_id = p.contact_id
)
"""
_REZONE_CALLS = """
UPDATE calls SET timezone = p.zone, next_attempt_at = p.due
FROM unnest(%(phones)s::text[], %(zones)s::text[], %(dues)s::timestamptz[])
  AS p(phone, zone, due)
WHERE calls.campaign_id = %(campaign_id)s AND calls.position > %(after)s
  AND calls.phone = p.phone
"""


class PostgresContactWriter:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    @property
    def encode_contacts(self) -> EncodeContacts:
        return encode_contacts

    def lock(self, account_id: uuid.UUID) -> None:
        self._conn.exec_driver_sql(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"contacts:{account_id}",)
        )

    def with_stored(
        self,
        account_id: uuid.UUID,
        chunks: Iterable[Chunk],
        phones: Callable[[Chunk], Sequence[str]],
    ) -> Iterator[tuple[Chunk, dict[str, Known]]]:
        """Read one chunk ahead on a second connection while the caller writes the chunk before
        on the transaction's (or on the transaction's own, in turn, when a second connection
        cannot be had). What is stored cannot change meanwhile (``lock``), but for what the
        caller itself writes, which it keeps track of."""
        if isinstance(chunks, Sequence) and len(chunks) <= 1:
            # Nothing to read ahead of (a list prepared whole): a second connection would only
            # cost its opening, several milliseconds of the request.
            for chunk in chunks:
                yield chunk, _known_contacts(self._conn, account_id, phones(chunk))
            return
        pending = iter(chunks)

        def next_chunk(reading: Connection) -> tuple[Chunk, dict[str, Known]] | None:
            for chunk in pending:
                return chunk, _known_contacts(reading, account_id, phones(chunk))
            return None

        try:
            reading = side_engine(self._conn.engine.url).connect()
        except OperationalError:  # e.g. the server's connections are all taken
            while (item := next_chunk(self._conn)) is not None:
                yield item
            return
        with reading, ThreadPoolExecutor(1, "stored-contacts") as reader:
            ahead = reader.submit(next_chunk, reading)
            while (item := ahead.result()) is not None:
                ahead = reader.submit(next_chunk, reading)
                yield item

    def write_chunk(
        self, new_contacts: Sequence[str], known_contacts: Sequence[str], calls: NewCalls
    ) -> int:
        copy_text(self._conn, "contacts", CONTACT_COLUMNS, new_contacts)
        self._update_contacts(calls.campaign.account_id, known_contacts, calls.now)
        return self._add_calls(calls)

    def _update_contacts(self, account_id: uuid.UUID, lines: Sequence[str], now: datetime) -> None:
        if not lines:
            return
        self._conn.exec_driver_sql(
            "CREATE TEMPORARY TABLE IF NOT EXISTS contacts_staging ("
            + ", ".join(f"{name} text" for name in CONTACT_COLUMNS)
            + ") ON COMMIT DELETE ROWS"
        )
        self._conn.exec_driver_sql("TRUNCATE contacts_staging")  # an earlier chunk's
        copy_text(self._conn, "contacts_staging", CONTACT_COLUMNS, lines)
        self._conn.exec_driver_sql(_UPDATE_FROM_STAGING, (now, account_id))

    def _add_calls(self, calls: NewCalls) -> int:
        if not calls.contact_ids:
            return 0
        campaign = calls.campaign
        result = self._conn.exec_driver_sql(
            _ADD_CALLS + (_NOT_IN_CAMPAIGN if calls.skip_existing else ""),
            {
                "campaign_id": campaign.id,
                "account_id": campaign.account_id,
                "after": calls.after,
                "recall": json.dumps(list(campaign.recall)),
                "first_due": calls.first_due,
                "caller_id": calls.caller_id,
                "now": calls.now,
                "ids": array_literal(calls.ids),
                "contact_ids": array_literal(calls.contact_ids),
                "phones": array_literal(calls.phones),
                "zones": array_literal(calls.zones) if calls.zones is not None else None,
                "dues": array_literal([due.isoformat() if due else None for due in calls.dues])
                if calls.dues is not None
                else None,  # unnest pads missing arrays with nulls
            },
        )
        return result.rowcount

    def rezone_calls(
        self,
        campaign_id: uuid.UUID,
        after: int,
        phones: Sequence[str],
        zones: Sequence[str],
        dues: Sequence[datetime | None],
    ) -> None:
        self._conn.exec_driver_sql(
            _REZONE_CALLS,
            {
                "campaign_id": campaign_id,
                "after": after,
                "phones": list(phones),
                "zones": list(zones),
                "dues": list(dues),
            },
        )


def _known_contacts(
    conn: Connection, account_id: uuid.UUID, phones: Sequence[str]
) -> dict[str, Known]:
    if not phones:
        return {}
    rows = conn.exec_driver_sql(_KNOWN, (account_id, array_literal(phones)))
    return {phone: Known(contact_id, zone) for phone, contact_id, zone in rows}


def copy_text(conn: Connection, table: str, columns: Sequence[str], lines: Sequence[str]) -> None:
    """COPY lines already in COPY's text format (``copy_line``) into ``table``."""
    if not lines:
        return
    driver = conn.connection.dbapi_connection
    assert isinstance(driver, psycopg.Connection)
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        copy.write("".join(lines))


@cache
def side_engine(url: URL) -> Engine:
    """An engine whose connections are opened on demand and closed after use, outside the
    pool of the engine for ``url``: a request that holds a pooled connection can open a second
    one without waiting for the pool, which other requests like it may have emptied."""
    return create_engine(url, poolclass=NullPool)
