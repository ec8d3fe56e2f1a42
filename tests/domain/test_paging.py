"""The cursors of every list: each position round-trips, nothing else is accepted."""

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from itertools import permutations
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outbound.domain import paging
from outbound.domain.paging import (
    CALLS,
    CAMPAIGNS,
    CONNECTIONS,
    DELIVERIES,
    DO_NOT_CALL,
    KEYSETS,
    MAX_CURSOR_LENGTH,
    MAX_POSITION,
    PLAYBOOKS,
    InvalidCursor,
    Keyset,
    Page,
)
from outbound.exceptions import InvalidRequest

ZONES = [UTC, timezone(timedelta(hours=-5)), ZoneInfo("Europe/Madrid"), ZoneInfo("Asia/Kolkata")]
moments = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2999, 1, 1), timezones=st.sampled_from(ZONES)
)
ids = st.uuids()
positions = st.integers(min_value=0, max_value=MAX_POSITION)
phones = st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True)
KEYS: dict[str, st.SearchStrategy[tuple[Any, ...]]] = {
    CAMPAIGNS.tag: st.tuples(moments, ids),
    CALLS.tag: st.tuples(positions),
    DO_NOT_CALL.tag: st.tuples(phones),
    DELIVERIES.tag: st.tuples(moments, ids),
    PLAYBOOKS.tag: st.tuples(moments, ids),
    CONNECTIONS.tag: st.tuples(moments, ids),
}
T0 = datetime(2026, 3, 1, 10, 0, 0, 123456, tzinfo=UTC)
ID = uuid.UUID("6f1c2a4e-8d2b-4c1a-9e3f-0a1b2c3d4e5f")
SAMPLES: dict[str, tuple[Any, ...]] = {
    CAMPAIGNS.tag: (T0, ID),
    CALLS.tag: (42,),
    DO_NOT_CALL.tag: ("+14155550142",),
    DELIVERIES.tag: (T0, ID),
    PLAYBOOKS.tag: (T0, ID),
    CONNECTIONS.tag: (T0, ID),
}


def encoded(document: object) -> str:
    """Any JSON document, encoded the way the server encodes a cursor."""
    text = json.dumps(document, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def forged(*values: object) -> str:
    """A cursor written the way the server writes one, with values of the forger's choice."""
    return encoded(list(values))


def assert_refused(keyset: Keyset[Any], cursor: str) -> None:
    with pytest.raises(InvalidCursor) as refused:
        keyset.decode(cursor)
    assert refused.value.errors[0]["field"] == "cursor"


@pytest.mark.parametrize("keyset", KEYSETS, ids=lambda k: k.tag)
@given(data=st.data())
def test_every_position_round_trips(keyset: Keyset[Any], data: st.DataObject):
    position = data.draw(KEYS[keyset.tag])
    cursor = keyset.encode(position)
    # The same instant in UTC: a local time in a DST fold compares unequal across zones.
    instant = tuple(v.astimezone(UTC) if isinstance(v, datetime) else v for v in position)
    assert keyset.decode(cursor) == instant
    assert len(cursor) <= MAX_CURSOR_LENGTH
    assert cursor.isascii() and cursor.replace("-", "").replace("_", "").isalnum()


@pytest.mark.parametrize("keyset", KEYSETS, ids=lambda k: k.tag)
@given(text=st.text(max_size=MAX_CURSOR_LENGTH + 10))
def test_any_text_is_refused_unless_it_is_the_cursor_of_a_position(keyset: Keyset[Any], text: str):
    try:
        position = keyset.decode(text)
    except InvalidCursor:
        return
    if text == "":
        assert position is None
    else:
        assert position is not None and keyset.encode(position) == text


@pytest.mark.parametrize("keyset", KEYSETS, ids=lambda k: k.tag)
@given(garbage=st.binary(max_size=150))
def test_base64_of_garbage_is_refused(keyset: Keyset[Any], garbage: bytes):
    cursor = base64.urlsafe_b64encode(garbage).decode().rstrip("=")
    if cursor:
        assert_refused(keyset, cursor)


@pytest.mark.parametrize(
    ("given_to", "made_by"), list(permutations(KEYSETS, 2)), ids=lambda k: k.tag
)
def test_a_cursor_of_another_list_is_refused(given_to: Keyset[Any], made_by: Keyset[Any]):
    assert_refused(given_to, made_by.encode(SAMPLES[made_by.tag]))


def test_the_lists_have_distinct_tags():
    assert len({keyset.tag for keyset in KEYSETS}) == len(KEYSETS)


def test_no_cursor_is_the_first_page():
    for keyset in KEYSETS:
        assert keyset.decode(None) is None
        assert keyset.decode("") is None


@pytest.mark.parametrize(
    "cursor",
    [
        "x",
        "\x00abc",
        "not-a-cursor",
        "garbage!",
        "12",
        CALLS.encode((42,)) + "=",  # padding is never written
        CALLS.encode((42,)) + "\x00",
        " " + CALLS.encode((42,)),
        CALLS.encode((42,)) + "A",
        "A" * (MAX_CURSOR_LENGTH + 1),
        forged("calls", 42)[:-1],
    ],
)
def test_malformed_text_is_refused(cursor: str):
    assert_refused(CALLS, cursor)
    assert_refused(DO_NOT_CALL, cursor)


@pytest.mark.parametrize(
    "document",
    [
        ["calls"],
        ["calls", 1, 2],
        ["calls", True],
        ["calls", 1.0],
        ["calls", "42"],
        ["calls", -1],
        ["calls", MAX_POSITION + 1],
        ["calls", None],
        {"calls": 42},
        "calls",
        42,
        ["Calls", 42],
    ],
)
def test_a_position_of_the_wrong_shape_is_refused(document: object):
    assert_refused(CALLS, encoded(document))


@pytest.mark.parametrize(
    "phone",
    ["+1415\x00555", "\x00", "+1415\n5550142", "+1415\u200b555", "+1" + "4" * 40, 14155550142],
)
def test_a_phone_with_control_characters_or_too_long_is_refused(phone: object):
    assert_refused(DO_NOT_CALL, forged("dnc", phone))


@pytest.mark.parametrize(
    ("moment", "key"),
    [
        ("2026-03-01T10:00:00", str(ID)),  # naive
        ("2026-03-01T05:00:00-05:00", str(ID)),  # not UTC
        ("9999-12-31T23:59:59-05:00", str(ID)),  # would overflow in UTC
        ("2026-03-01T10:00:00Z", str(ID)),  # not the way the server writes UTC
        ("2026-03-01 10:00:00+00:00", str(ID)),
        ("yesterday", str(ID)),
        (1772359200, str(ID)),
        ("2026-03-01T10:00:00+00:00", str(ID).upper()),
        ("2026-03-01T10:00:00+00:00", ID.hex),
        ("2026-03-01T10:00:00+00:00", "{" + str(ID)[1:-1] + "}"),
        ("2026-03-01T10:00:00+00:00", "not-a-uuid-at-all-but-36-characters!"),
    ],
)
def test_a_moment_or_id_in_another_form_is_refused(moment: object, key: object):
    assert_refused(CAMPAIGNS, forged("campaigns", moment, key))
    assert_refused(DELIVERIES, forged("deliveries", moment, key))


def test_the_same_values_spelled_otherwise_are_refused():
    spaced = json.dumps(["calls", 42])  # '["calls", 42]': a space the server never writes
    assert_refused(CALLS, base64.urlsafe_b64encode(spaced.encode()).decode().rstrip("="))
    assert CALLS.decode(forged("calls", 42)) == (42,)


def test_a_naive_moment_cannot_be_written():
    with pytest.raises(ValueError):
        CAMPAIGNS.encode((datetime(2026, 3, 1), ID))


def test_the_refusal_is_a_bad_request_naming_cursor():
    with pytest.raises(InvalidRequest) as refused:
        CALLS.decode("x")
    assert refused.value.message == "invalid cursor"
    assert [item["field"] for item in refused.value.errors] == ["cursor"]


def test_a_page_read_with_one_more_row_has_a_cursor_to_the_next():
    rows = [(position, f"call {position}") for position in (3, 5, 8)]
    page = CALLS.page(rows, 2, lambda row: (row[0],))
    assert page.items == rows[:2]
    assert page.next_cursor is not None and CALLS.decode(page.next_cursor) == (5,)
    last = CALLS.page(rows, 3, lambda row: (row[0],))
    assert last == Page(rows, None)
    assert CALLS.page([], 3, lambda row: (row[0],)) == Page([], None)
    assert page.map(lambda row: row[1]) == Page(["call 3", "call 5"], page.next_cursor)


@given(
    phones=st.sets(phones, max_size=40),
    limit=st.integers(min_value=1, max_value=12),
)
def test_paging_through_a_list_reads_every_item_once_in_order(phones: set[str], limit: int):
    ordered = sorted(phones)

    def read(cursor: str | None) -> Page[str]:
        """What a store does: the rows after the position, one more than the page."""
        after = DO_NOT_CALL.decode(cursor)
        rows = [phone for phone in ordered if after is None or phone > after[0]][: limit + 1]
        return DO_NOT_CALL.page(rows, limit, lambda phone: (phone,))

    seen: list[str] = []
    page = read(None)
    while True:
        seen += page.items
        assert len(page.items) <= limit
        if page.next_cursor is None:
            break
        page = read(page.next_cursor)
    assert seen == ordered


def test_page_size_is_within_one_and_the_maximum():
    assert [paging.page_size(n, 100) for n in (-5, 0, 1, 50, 100, 101)] == [1, 1, 1, 50, 100, 100]
