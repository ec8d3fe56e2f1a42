"""What every platform adapter does the same way (``conventions``): a platform's refusals in
outbound's words, the disposition and callback convention, end reasons into events, and the
checks of a webhook."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
from pydantic import BaseModel

from outbound.domain.results import TRANSCRIPT_MAX_TURNS, ConversationResult, Turn
from outbound.domain.statuses import Outcome
from outbound.providers.base import CallRequest, PlaybookSnapshot
from outbound.providers.errors import (
    CallRejected,
    InvalidCallback,
    MalformedCallback,
    ProviderUnavailable,
)
from outbound.providers.platforms import conventions
from outbound.signing import TOLERANCE_SECONDS

TABLE: dict[str, Outcome | None] = {
    "busy": Outcome.BUSY,
    "capacity": None,  # the platform was too busy to place the call
}
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def _no_message(response: httpx.Response) -> str | None:
    return None


# Refusals


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_a_rate_limit_or_a_platform_failure_is_unavailable(status):
    with pytest.raises(ProviderUnavailable, match=f"P answered {status}: slow down"):
        raise conventions.refusal("P", status, "slow down")


@pytest.mark.parametrize(
    "message", ["Over Concurrency Limit.", "Concurrent call limit reached", "CONCURRENCY"]
)
def test_a_refusal_naming_concurrency_is_unavailable_whatever_its_status(message):
    with pytest.raises(ProviderUnavailable, match=f"P answered 400: {message}"):
        raise conventions.refusal("P", 400, message)


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_api_key_is_unavailable_so_no_attempt_is_spent(status):
    with pytest.raises(ProviderUnavailable, match=f"P refused the api_key: {status}: bad key"):
        raise conventions.refusal("P", status, "bad key")


def test_a_platform_that_says_it_is_busy_in_its_own_words_is_unavailable():
    with pytest.raises(ProviderUnavailable, match="P answered 408: deadline_exceeded"):
        raise conventions.refusal("P", 408, "deadline_exceeded: slow", busy=True)


@pytest.mark.parametrize("status", [200, 400, 402, 404, 422])
def test_any_other_refusal_rejects_the_call_with_the_platforms_message(status):
    with pytest.raises(CallRejected, match=f"P refused the call: {status}: no such agent"):
        raise conventions.refusal("P", status, "no such agent")


def test_a_long_message_is_cut():
    error = conventions.refusal("P", 400, "x" * 2000)
    assert len(str(error)) == len("P refused the call: 400: ") + conventions.MESSAGE_MAX_CHARS


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (httpx.Response(404, text="<html>Gone</html>"), "404: <html>Gone</html>"),  # its text
        (httpx.Response(404), "404: Not Found"),  # nothing: the status's reason
    ],
)
def test_a_refusal_without_the_platforms_error_text_quotes_the_answer(response, message):
    with pytest.raises(CallRejected, match=message):
        conventions.refuse("P", response, _no_message)


def test_the_platforms_error_text_comes_first_and_a_success_passes():
    with pytest.raises(CallRejected, match="400: its words"):
        conventions.refuse("P", httpx.Response(400, text="raw"), lambda response: "its words")
    conventions.refuse("P", httpx.Response(201), _no_message)


def test_a_platform_out_of_reach_is_unavailable():
    async def send() -> None:
        async with httpx.AsyncClient() as http:
            await conventions.send(http, "P", "GET", "http://127.0.0.1:9/", {}, _no_message)

    with pytest.raises(ProviderUnavailable, match="P unreachable"):
        asyncio.run(send())


class _Call(BaseModel):
    id: str


def test_a_success_that_is_not_the_documented_answer_is_unavailable():
    assert conventions.read_answer(_Call, httpx.Response(201, json={"id": "c1"}), "P").id == "c1"
    with pytest.raises(ProviderUnavailable, match="P answered an unreadable _Call"):
        conventions.read_answer(_Call, httpx.Response(201, text="<html>"), "P")


# What travels with a call


@pytest.mark.parametrize(
    ("message", "given"), [("Call us back.", True), ("", False), (None, False)]
)
def test_the_metadata_names_the_attempt_and_whether_a_message_is_left(message, given):
    request = CallRequest(
        call_id=uuid.uuid4(),
        attempt_number=2,
        to="+14155550142",
        from_=None,
        playbook=PlaybookSnapshot(id=uuid.uuid4(), name="P", voicemail_message=message),
    )
    metadata = conventions.call_metadata(request)
    assert metadata == {
        "outbound_call_id": str(request.call_id),
        "outbound_attempt": 2,
        "outbound_idempotency_key": f"{request.call_id}:2",
        "outbound_voicemail_message": given,
    }
    assert conventions.leaves_voicemail(metadata) is given


def test_a_playbook_without_the_platforms_fields_is_rejected():
    request = CallRequest(
        call_id=uuid.uuid4(),
        attempt_number=1,
        to="+14155550142",
        from_=None,
        playbook=PlaybookSnapshot(id=uuid.uuid4(), name="P", provider={"agent_id": "a"}),
    )
    assert conventions.provider_fields(request, "P", "agent_id") == {"agent_id": "a"}
    with pytest.raises(CallRejected, match="no from_number, trunk for P"):
        conventions.provider_fields(request, "P", "agent_id", "from_number", "trunk")


# The result convention


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
    assert conventions.disposition_of(data) == disposition


@pytest.mark.parametrize(
    ("value", "moment"),
    [
        ("2026-03-03T10:00:00Z", datetime(2026, 3, 3, 10, tzinfo=UTC)),
        ("2026-03-03T10:00:00-05:00", datetime(2026, 3, 3, 15, tzinfo=UTC)),
        ("2026-03-03 10:00:00", datetime(2026, 3, 3, 10, tzinfo=UTC)),  # no offset: UTC
        ("tomorrow at ten", None),
        (1772532000, None),
    ],
)
def test_the_callback_hour_is_an_iso_time_of_the_data_in_utc(value, moment):
    found = conventions.callback_at_of({"callback_at": value})
    assert found == moment
    assert found is None or found.tzinfo is UTC


def test_a_callback_hour_keeps_its_instant_from_any_offset():
    found = conventions.callback_at_of({"callback_at": "2026-03-03T10:00:00+01:00"})
    assert found == datetime(2026, 3, 3, 10, tzinfo=timezone(timedelta(hours=1)))


# End reasons into events


def test_a_reason_of_the_table_ends_the_call_with_its_outcome():
    result = ConversationResult(summary="Busy line.")
    event = conventions.end_event(
        "p", "id-1", Outcome.BUSY, "busy", duration_s=3.0, error="486", result=result
    )
    assert (event.kind, event.outcome, event.duration_s, event.error, event.result) == (
        "ended",
        Outcome.BUSY,
        3.0,
        "486",
        result,
    )


def test_a_reason_the_table_maps_to_none_leaves_the_call_unplaced():
    outcome = conventions.outcome_of("capacity", TABLE, connected=False)
    event = conventions.end_event("p", "id-1", outcome, "capacity")
    assert (event.kind, event.outcome, event.error) == ("unplaced", None, "capacity")


@pytest.mark.parametrize(
    ("connected", "outcome"), [(True, Outcome.ANSWERED), (False, Outcome.FAILED)]
)
def test_a_reason_outside_the_table_is_answered_if_the_call_connected(connected, outcome):
    assert conventions.outcome_of("something new", TABLE, connected) is outcome
    assert conventions.outcome_of(None, TABLE, connected) is outcome
    assert conventions.outcome_of("busy", TABLE, connected) is Outcome.BUSY


@pytest.mark.parametrize(
    ("outcome", "error"), [(Outcome.FAILED, "sip-503"), (Outcome.NO_ANSWER, None)]
)
def test_a_failed_call_names_its_reason_as_the_error(outcome, error):
    assert conventions.end_event("p", "id-1", outcome, "sip-503").error == error


def test_every_result_of_a_platform_is_cut_to_the_limits():
    turns = tuple(Turn("contact", f"turn {n}") for n in range(TRANSCRIPT_MAX_TURNS + 1))
    result = ConversationResult(transcript=turns)
    ended = conventions.end_event("p", "id-1", Outcome.ANSWERED, "hangup", result=result)
    later = conventions.result_event("p", "id-1", result)
    for event in (ended, later):
        assert event.result is not None and event.result.truncated is True
        assert len(event.result.transcript) == TRANSCRIPT_MAX_TURNS
    assert later.kind == "result"


def test_a_call_the_platform_no_longer_knows_has_failed():
    event = conventions.lost_event("p", "id-1", "P knows no call id-1")
    assert (event.kind, event.outcome, event.error) == (
        "ended",
        Outcome.FAILED,
        "P knows no call id-1",
    )


# Webhooks


class _Webhook(BaseModel):
    event: str
    call: _Call


def test_a_webhook_that_is_not_the_platforms_names_the_fields_at_fault():
    assert conventions.read_webhook(_Webhook, b'{"event": "e", "call": {"id": "c"}}', "P").event
    with pytest.raises(MalformedCallback, match="not a P webhook") as refused:
        conventions.read_webhook(_Webhook, b'{"event": "e", "call": {}}', "P")
    assert [error["field"] for error in refused.value.errors] == ["call.id"]


def test_a_digest_is_compared_whatever_the_header_holds():
    digest = conventions.hmac_sha256_hex("secret", b"body")
    assert conventions.constant_time_equal(digest, digest)
    assert not conventions.constant_time_equal(digest, "é" * 64)  # not ASCII: refused, no error


@pytest.mark.parametrize("seconds", [-TOLERANCE_SECONDS, 0, TOLERANCE_SECONDS])
def test_a_signature_within_the_tolerance_is_fresh(seconds):
    conventions.check_fresh(NOW.timestamp() + seconds, NOW, "X-Sig")


@pytest.mark.parametrize("seconds", [-TOLERANCE_SECONDS - 1, TOLERANCE_SECONDS + 1])
def test_a_signature_beyond_the_tolerance_is_stale(seconds):
    with pytest.raises(InvalidCallback, match="stale X-Sig"):
        conventions.check_fresh(NOW.timestamp() + seconds, NOW, "X-Sig")
