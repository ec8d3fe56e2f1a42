"""What the platform adapters share: end reasons into events, the disposition and callback
convention, and the reading of a platform's refusal."""

from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from outbound.domain.results import ConversationResult
from outbound.domain.statuses import Outcome
from outbound.providers.errors import CallRejected, ProviderUnavailable
from outbound.providers.platforms.shared import (
    callback_at_of,
    disposition_of,
    end_event,
    refuse,
)

TABLE: dict[str, Outcome | None] = {
    "busy": Outcome.BUSY,
    "capacity": None,  # the platform was too busy to place the call
}


def test_a_reason_of_the_table_ends_the_call_with_its_outcome():
    result = ConversationResult(summary="Busy line.")
    event = end_event("p", "id-1", "busy", TABLE, duration_s=3.0, error="486", result=result)
    assert (event.kind, event.outcome, event.duration_s, event.error, event.result) == (
        "ended",
        Outcome.BUSY,
        3.0,
        "486",
        result,
    )


def test_a_reason_the_table_maps_to_none_leaves_the_call_unplaced():
    event = end_event("p", "id-1", "capacity", TABLE)
    assert (event.kind, event.outcome, event.error) == ("unplaced", None, "capacity")


def test_a_reason_outside_the_table_is_a_failure():
    event = end_event("p", "id-1", "something new", TABLE)
    assert (event.kind, event.outcome) == ("ended", Outcome.FAILED)


@pytest.mark.parametrize(
    ("data", "disposition"),
    [
        ({"disposition": "call_back"}, "call_back"),
        ({"disposition": ""}, None),
        ({"disposition": 3}, None),
        ({}, None),
        (None, None),
    ],
)
def test_the_disposition_is_a_non_empty_string_of_the_data(data, disposition):
    assert disposition_of(data) == disposition


@pytest.mark.parametrize(
    ("value", "moment"),
    [
        ("2026-03-03T10:00:00Z", datetime(2026, 3, 3, 10, tzinfo=UTC)),
        (
            "2026-03-03T10:00:00-05:00",
            datetime(2026, 3, 3, 10, tzinfo=timezone(timedelta(hours=-5))),
        ),
        ("2026-03-03 10:00:00", datetime(2026, 3, 3, 10, tzinfo=UTC)),  # no offset: UTC
        ("tomorrow at ten", None),
        (1772532000, None),
    ],
)
def test_the_callback_hour_is_an_iso_instant_of_the_data(value, moment):
    assert callback_at_of({"callback_at": value}) == moment


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_a_rate_limit_or_a_platform_failure_is_unavailable(status):
    with pytest.raises(ProviderUnavailable, match=f"P answered {status}: slow down"):
        refuse(httpx.Response(status), "P", "slow down")


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_any_other_refusal_rejects_the_call_with_the_platforms_message(status):
    with pytest.raises(CallRejected, match=f"P refused the call: {status}: no such agent"):
        refuse(httpx.Response(status), "P", "no such agent")


def test_a_refusal_without_a_message_names_the_status():
    with pytest.raises(CallRejected, match="404: Not Found"):
        refuse(httpx.Response(404), "P", None)
    refuse(httpx.Response(201), "P", None)  # a success passes
