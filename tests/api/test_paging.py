"""Every list pages the same way: small pages read every item once, in the documented order,
and a cursor the server did not make is 400 naming ``cursor`` (on SQLite and PostgreSQL)."""

import base64
import json
import math
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import insert

from outbound.store import tables
from outbound.store.database import Database
from tests.factories import Tenant, make_account, phone
from tests.servers import Server

ITEMS = 7  # in every list
LATER = "2099-01-01T00:00:00Z"  # the campaigns wait: nothing changes while they are read
T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Listing:
    """A list of the account: where to read it, what to key each item by, and what it holds."""

    name: str
    path: str
    items_field: str
    expected: list[Any]

    def key(self, item: dict[str, Any]) -> Any:
        if self.name == "campaigns":
            return item["campaign_id"]
        if self.name == "calls":
            return item["phone"]
        if self.name == "dnc":
            return item["phone"]
        if self.name == "playbooks":
            return item["playbook_id"]
        if self.name == "connections":
            return item["connection_id"]
        return (item["event_id"], item["attempt"])


def _deliveries(database: Database, account: Tenant) -> tuple[str, list[tuple[str, int]]]:
    """An endpoint with ITEMS delivery attempts, four of them at the same moment (the order
    falls back to their ids), that the delivery worker never claims (not due before 2099)."""
    endpoint_id = uuid.uuid4()
    event_ids = [uuid.uuid4() for _ in range(3)]
    moments = [
        T0,
        T0 + timedelta(seconds=1),
        *[T0 + timedelta(seconds=2)] * 4,
        T0 + timedelta(seconds=3),
    ]
    rows = [
        {
            "id": uuid.uuid4(),
            "endpoint_id": endpoint_id,
            "event_id": event_ids[n % 3],
            "sequence": n % 3 + 1,
            "attempt": n + 1,
            "status_code": 500 if n % 2 else 200,
            "error": None,
            "succeeded": not n % 2,
            "attempted_at": moment,
        }
        for n, moment in enumerate(moments)
    ]
    with database.engine.begin() as conn:
        conn.execute(
            insert(tables.events),
            [
                {
                    "id": event_id,
                    "account_id": account.id,
                    "sequence": n + 1,
                    "type": "call.completed",
                    "created_at": T0,
                    "data": {},
                }
                for n, event_id in enumerate(event_ids)
            ],
        )
        conn.execute(
            insert(tables.webhook_endpoints).values(
                id=endpoint_id,
                account_id=account.id,
                url="http://127.0.0.1:9/hook",
                secret="whsec_test",
                event_types=None,
                created_at=T0,
                delivered_sequence=len(event_ids),
                next_attempt_at=datetime(2099, 1, 1, tzinfo=UTC),
                failures=0,
            )
        )
        conn.execute(insert(tables.webhook_deliveries), rows)
    newest_first = sorted(rows, key=lambda r: (r["attempted_at"], r["id"]), reverse=True)
    return str(endpoint_id), [(str(r["event_id"]), r["attempt"]) for r in newest_first]


def _playbooks(database: Database, account: Tenant) -> list[str]:
    """ITEMS - 1 playbooks older than the account's first, three of them at the same moment
    (the order falls back to their ids), and one archived (left out); the ids newest first,
    the account's first included."""
    moments = [T0, T0 + timedelta(seconds=1), *[T0 + timedelta(seconds=2)] * 3, T0]
    rows = [
        {"id": uuid.uuid4(), "account_id": account.id, "name": f"P{n}", "created_at": moment}
        for n, moment in enumerate([*moments[: ITEMS - 1], T0 + timedelta(seconds=2)])
    ]
    rows[-1]["archived_at"] = T0 + timedelta(seconds=5)
    with database.engine.begin() as conn:
        for row in rows:
            conn.execute(insert(tables.playbooks).values(**row))
    live = sorted(rows[:-1], key=lambda r: (r["created_at"], r["id"]), reverse=True)
    return [str(account.playbook_id), *(str(r["id"]) for r in live)]


def _connections(database: Database, account: Tenant) -> list[str]:
    """ITEMS provider connections, three of them made at the same moment (the order falls back
    to their ids), and a newer one deleted, which the list leaves out; their ids, newest first."""
    seconds = [0, 1, 1, 1, 2, 3, 4, 5]  # the last one is deleted
    rows = [
        {
            "id": uuid.uuid4(),
            "account_id": account.id,
            "type": "vapi",
            "name": f"Connection {n}",
            "credentials": "not read by the list",
            "settings": {},
            "created_at": T0 + timedelta(seconds=second),
            "deleted_at": T0 if n == ITEMS else None,
        }
        for n, second in enumerate(seconds)
    ]
    with database.engine.begin() as conn:
        conn.execute(insert(tables.provider_connections), rows)
    newest_first = sorted(rows[:ITEMS], key=lambda r: (r["created_at"], r["id"]), reverse=True)
    return [str(r["id"]) for r in newest_first]


@pytest.fixture(scope="module")
def lists(server: Server, database: Database) -> Iterator[tuple[Tenant, dict[str, Listing]]]:
    """An account with ITEMS campaigns (the last of ITEMS calls), phones on its do-not-call
    list, delivery attempts to an endpoint, ITEMS playbooks and provider connections."""
    account = make_account(database)
    phones = [phone(n) for n in range(ITEMS)]
    suppressed = [phone(n, prefix="+3491234") for n in range(ITEMS)]
    with server.client(account.token) as http:
        campaign_ids = []
        for n in range(ITEMS):
            contacts = [{"phone": p} for p in phones] if n == ITEMS - 1 else [{"phone": phone(n)}]
            created = http.post(
                "/campaign",
                json={
                    "playbook_id": str(account.playbook_id),
                    "contacts": contacts,
                    "launch_at": LATER,
                },
            )
            assert created.status_code == 202, created.text
            campaign_ids.append(created.json()["campaign_id"])
        assert http.post("/dnc", json={"phones": suppressed}).status_code == 200
    endpoint_id, deliveries = _deliveries(database, account)
    playbook_ids = _playbooks(database, account)
    yield (
        account,
        {
            "campaigns": Listing("campaigns", "/campaign", "campaigns", campaign_ids[::-1]),
            "calls": Listing("calls", f"/campaign/{campaign_ids[-1]}/calls", "calls", phones),
            "dnc": Listing("dnc", "/dnc", "phones", sorted(suppressed)),
            "deliveries": Listing(
                "deliveries",
                f"/webhook-endpoint/{endpoint_id}/deliveries",
                "deliveries",
                deliveries,
            ),
            "playbooks": Listing("playbooks", "/playbook", "playbooks", playbook_ids),
            "connections": Listing(
                "connections",
                "/provider-connection",
                "connections",
                _connections(database, account),
            ),
        },
    )


LISTS = ["campaigns", "calls", "dnc", "deliveries", "playbooks", "connections"]


def _get(http: httpx.Client, path: str, **params: object) -> dict[str, Any]:
    response = http.get(path, params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.mark.parametrize("limit", [1, 3, ITEMS, 50])
@pytest.mark.parametrize("name", LISTS)
def test_small_pages_read_every_item_once_in_order(
    server: Server, lists: tuple[Tenant, dict[str, Listing]], name: str, limit: int
):
    account, listings = lists
    listing = listings[name]
    seen: list[Any] = []
    pages: list[dict[str, Any]] = []
    cursor = None
    with server.client(account.token) as http:
        while True:
            page = _get(http, listing.path, limit=limit, **({"cursor": cursor} if cursor else {}))
            assert set(page) == {listing.items_field, "next_cursor"}
            pages.append(page)
            seen += [listing.key(item) for item in page[listing.items_field]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
            assert isinstance(cursor, str) and len(page[listing.items_field]) == limit
    assert seen == listing.expected
    # A full last page says so: no empty page after it.
    assert len(pages) == math.ceil(ITEMS / limit)


def _encoded(document: object) -> str:
    text = json.dumps(document, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _forgeries(http: httpx.Client, listings: dict[str, Listing], name: str) -> dict[str, str]:
    other = "dnc" if name != "dnc" else "calls"
    made = _get(http, listings[name].path, limit=1)["next_cursor"]
    of_another = _get(http, listings[other].path, limit=1)["next_cursor"]
    assert isinstance(made, str) and isinstance(of_another, str)
    return {
        "random text": "not-a-cursor",
        "punctuation": "garbage!",
        "a NUL byte": "\x00abc",
        "a NUL byte after a real cursor": made + "\x00",
        "another list's": of_another,
        "too long": made * 10,
        "truncated": made[:-2],
        "base64 of garbage": base64.urlsafe_b64encode(bytes(range(7, 97, 3))).decode(),
        "padded": made + "==",
        "a raw integer": "42",
        "a raw phone": "+14155550142",
        "a NUL in the value": _encoded([json.loads(_decoded(made))[0], "+1\x00415"]),
        "a value of the wrong type": _encoded([json.loads(_decoded(made))[0], True]),
    }


def _decoded(cursor: str) -> str:
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()


@pytest.mark.parametrize("name", LISTS)
def test_a_cursor_the_server_did_not_make_is_400_naming_cursor(
    server: Server, lists: tuple[Tenant, dict[str, Listing]], name: str
):
    account, listings = lists
    with server.client(account.token) as http:
        forgeries = _forgeries(http, listings, name)
        answers = {
            what: http.get(listings[name].path, params={"cursor": cursor})
            for what, cursor in forgeries.items()
        }
    wrong = {what: (r.status_code, r.text) for what, r in answers.items() if r.status_code != 400}
    assert wrong == {}
    for answer in answers.values():
        body = answer.json()
        assert set(body) == {"detail", "errors"}
        assert body["detail"] == "invalid cursor"
        assert [item["field"] for item in body["errors"]] == ["cursor"]


MAX_MOMENT = "9999-12-31T23:59:59.999999+00:00"
MIN_MOMENT = "0001-01-01T00:00:00+00:00"
MAX_ID, MIN_ID = str(uuid.UUID(int=2**128 - 1)), str(uuid.UUID(int=0))


@pytest.mark.parametrize(
    ("name", "position", "reads_all"),
    [
        ("campaigns", [MAX_MOMENT, MAX_ID], True),  # newest first: after the end of time
        ("campaigns", [MIN_MOMENT, MIN_ID], False),
        ("calls", [0], True),
        ("calls", [2**31 - 1], False),  # the largest position the column holds
        ("dnc", [""], True),
        ("dnc", ["~" * 32], False),
        ("deliveries", [MAX_MOMENT, MAX_ID], True),
        ("deliveries", [MIN_MOMENT, MIN_ID], False),
        ("playbooks", [MAX_MOMENT, MAX_ID], True),
        ("playbooks", [MIN_MOMENT, MIN_ID], False),
        ("connections", [MAX_MOMENT, MAX_ID], True),
        ("connections", [MIN_MOMENT, MIN_ID], False),
    ],
)
def test_a_well_formed_position_at_either_end_reads_all_or_nothing(
    server: Server,
    lists: tuple[Tenant, dict[str, Listing]],
    name: str,
    position: list[object],
    reads_all: bool,
):
    """A client can write a position of the right shape itself: it is only a place to start,
    and any value the key's column can hold is one (the tags are the lists' names)."""
    account, listings = lists
    listing = listings[name]
    with server.client(account.token) as http:
        page = _get(http, listing.path, cursor=_encoded([name, *position]), limit=50)
    keys = [listing.key(item) for item in page[listing.items_field]]
    assert keys == (listing.expected if reads_all else [])
    assert page["next_cursor"] is None
