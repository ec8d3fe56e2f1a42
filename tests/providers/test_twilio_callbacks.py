"""Twilio's callbacks as ``TwilioCallbacks`` reads them: signatures, then every status and verdict.

The forms are those Twilio documents for a call's ``StatusCallback`` and
``AsyncAmdStatusCallback`` (https://www.twilio.com/docs/voice/api/call-resource#statuscallback,
https://www.twilio.com/docs/voice/answering-machine-detection), signed as Twilio signs them.
"""

from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from outbound.domain.outcomes import resolve_outcome
from outbound.domain.statuses import Outcome
from outbound.providers.callbacks import CallbackRequest, ProviderEvent
from outbound.providers.errors import InvalidCallback, MalformedCallback
from outbound.providers.twilio import (
    FORM_SCHEMA,
    STATUS_CALLBACK_PATH,
    TwilioCallbacks,
    TwilioProvider,
)

AUTH_TOKEN = "twilio-auth-token"
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
CALL_SID = "CA" + "fedcba9876543210" * 2
URL = f"https://outbound.example.com{STATUS_CALLBACK_PATH}"
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
ANSWERED_BY = [
    "human",
    "machine_start",
    "machine_end_beep",
    "machine_end_silence",
    "machine_end_other",
    "fax",
    "unknown",
]


def status_form(status: str, **params: str) -> dict[str, str]:
    """A status callback's parameters, as Twilio posts them."""
    return {
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "CallSid": CALL_SID,
        "CallStatus": status,
        "Called": "+14155550142",
        "Caller": "+14155550123",
        "Direction": "outbound-api",
        "From": "+14155550123",
        "To": "+14155550142",
        "CallbackSource": "call-progress-events",
        "Timestamp": "Mon, 02 Mar 2026 09:30:00 +0000",
        "SequenceNumber": "0",
        **params,
    }


def amd_form(answered_by: str) -> dict[str, str]:
    """An asynchronous answering-machine detection callback's parameters."""
    return {
        "AccountSid": ACCOUNT_SID,
        "CallSid": CALL_SID,
        "AnsweredBy": answered_by,
        "MachineDetectionDuration": "2150",
    }


def callback(
    form: dict[str, str], url: str = URL, signature: str | None = None, token: str = AUTH_TOKEN
) -> CallbackRequest:
    signed = RequestValidator(token).compute_signature(url, form)
    headers = {"content-type": "application/x-www-form-urlencoded"}
    headers["x-twilio-signature"] = signature if signature is not None else signed
    return CallbackRequest("POST", url, "status", headers, urlencode(form).encode())


def events(form: dict[str, str]) -> list[ProviderEvent]:
    receiver = TwilioCallbacks(AUTH_TOKEN)
    request = callback(form)
    receiver.authenticate(request, NOW)
    return receiver.parse_callback(request)


# Signatures


def test_a_callback_signed_with_the_auth_token_is_accepted_again_and_again():
    receiver = TwilioCallbacks(AUTH_TOKEN)
    request = callback(status_form("ringing"))
    # No timestamp in Twilio's scheme, and Twilio retries a callback unchanged: no replay key.
    assert receiver.authenticate(request, NOW) is None
    assert receiver.authenticate(request, NOW) is None


def test_the_signature_covers_the_query_string_of_the_url_twilio_called():
    url = f"{URL}?attempt=2"
    assert TwilioCallbacks(AUTH_TOKEN).authenticate(callback(status_form("busy"), url), NOW) is None


def test_the_signature_header_is_found_whatever_its_case():
    form = status_form("ringing")
    signature = RequestValidator(AUTH_TOKEN).compute_signature(URL, form)
    request = CallbackRequest(
        "POST", URL, "status", {"x-twilio-signature": signature}, urlencode(form).encode()
    )
    assert request.header("X-Twilio-Signature") == signature
    assert TwilioCallbacks(AUTH_TOKEN).authenticate(request, NOW) is None


@pytest.mark.parametrize(
    "request_",
    [
        callback(status_form("completed"), token="another-token"),
        callback(status_form("completed"), signature=""),
        callback(status_form("completed"), signature="not base64 at all"),
        # Signed for the address outbound listens on, not the public one Twilio called.
        CallbackRequest(
            "POST",
            URL,
            "status",
            {
                "x-twilio-signature": RequestValidator(AUTH_TOKEN).compute_signature(
                    f"http://127.0.0.1:8000{STATUS_CALLBACK_PATH}", status_form("completed")
                )
            },
            urlencode(status_form("completed")).encode(),
        ),
    ],
    ids=["another token", "empty", "garbage", "another url"],
)
def test_a_callback_not_signed_by_twilio_is_invalid(request_):
    with pytest.raises(InvalidCallback, match="X-Twilio-Signature"):
        TwilioCallbacks(AUTH_TOKEN).authenticate(request_, NOW)


def test_a_callback_without_signature_is_invalid():
    form = status_form("completed")
    request = CallbackRequest("POST", URL, "status", {}, urlencode(form).encode())
    with pytest.raises(InvalidCallback):
        TwilioCallbacks(AUTH_TOKEN).authenticate(request, NOW)


def test_a_tampered_parameter_breaks_the_signature():
    signed = callback(status_form("completed", AnsweredBy="machine_start"))
    tampered = urlencode(status_form("completed", AnsweredBy="human")).encode()
    request = CallbackRequest(signed.method, signed.url, signed.path, signed.headers, tampered)
    with pytest.raises(InvalidCallback):
        TwilioCallbacks(AUTH_TOKEN).authenticate(request, NOW)


# Every CallStatus


@pytest.mark.parametrize("status", ["queued", "initiated"])
def test_a_call_not_yet_ringing_reports_nothing(status):
    assert events(status_form(status)) == []


@pytest.mark.parametrize(("status", "kind"), [("ringing", "ringing"), ("in-progress", "answered")])
def test_progress(status, kind):
    assert events(status_form(status)) == [ProviderEvent("twilio", CALL_SID, kind)]


@pytest.mark.parametrize(
    ("status", "outcome", "error"),
    [
        ("completed", Outcome.ANSWERED, None),
        ("busy", Outcome.BUSY, None),
        ("no-answer", Outcome.NO_ANSWER, None),
        ("failed", Outcome.FAILED, None),
        ("canceled", Outcome.FAILED, "canceled"),
    ],
)
def test_final_statuses_end_the_call(status, outcome, error):
    [event] = events(status_form(status, CallDuration="42"))
    assert event == ProviderEvent(
        "twilio", CALL_SID, "ended", outcome=outcome, duration_s=42.0, error=error
    )


def test_every_documented_status_is_in_the_api_document():
    statuses = {"queued", "initiated", "ringing", "in-progress", "completed", "busy"}
    statuses |= {"no-answer", "failed", "canceled"}
    assert set(FORM_SCHEMA["properties"]["CallStatus"]["enum"]) == statuses  # type: ignore[index]
    for status in statuses:
        events(status_form(status))  # none is refused


def test_a_duration_that_is_not_a_number_is_left_out():
    [event] = events(status_form("completed", CallDuration="soon"))
    assert event.outcome is Outcome.ANSWERED and event.duration_s is None


# Every AnsweredBy


@pytest.mark.parametrize("answered_by", ANSWERED_BY)
def test_the_machine_detection_verdict(answered_by):
    assert events(amd_form(answered_by)) == [
        ProviderEvent("twilio", CALL_SID, "machine_detection", answered_by=answered_by)
    ]


def test_a_verdict_with_the_answer():
    assert events(status_form("in-progress", AnsweredBy="human")) == [
        ProviderEvent("twilio", CALL_SID, "answered"),
        ProviderEvent("twilio", CALL_SID, "machine_detection", answered_by="human"),
    ]


@pytest.mark.parametrize(
    ("answered_by", "outcome"),
    [
        ("human", Outcome.ANSWERED),
        ("unknown", Outcome.ANSWERED),
        ("machine_start", Outcome.VOICEMAIL),
        ("machine_end_beep", Outcome.VOICEMAIL),
        ("machine_end_silence", Outcome.VOICEMAIL),
        ("machine_end_other", Outcome.VOICEMAIL),
        ("fax", Outcome.VOICEMAIL),
    ],
)
def test_a_completed_call_that_a_machine_answered_is_a_voicemail(answered_by, outcome):
    [event] = events(status_form("completed", CallDuration="20", AnsweredBy=answered_by))
    assert event.kind == "ended" and event.answered_by == answered_by
    assert resolve_outcome(event.outcome or Outcome.FAILED, event.answered_by) is outcome


@pytest.mark.parametrize("answered_by", ANSWERED_BY)
def test_an_unanswered_call_stays_unanswered_whatever_the_verdict(answered_by):
    [event] = events(status_form("no-answer", AnsweredBy=answered_by))
    assert resolve_outcome(event.outcome or Outcome.FAILED, event.answered_by) is Outcome.NO_ANSWER


# Malformed


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({k: v for k, v in status_form("ringing").items() if k != "CallSid"}, "CallSid"),
        (status_form("ringing", CallSid=""), "CallSid"),
        (status_form("ringing-again"), "CallStatus"),
        ({"AccountSid": ACCOUNT_SID, "CallSid": CALL_SID}, "CallStatus"),
    ],
)
def test_a_callback_without_call_sid_or_known_status_is_malformed(form, field):
    with pytest.raises(MalformedCallback) as raised:
        events(form)
    assert [error["field"] for error in raised.value.errors] == [field]


# The provider declares its receiver


def test_the_provider_receives_its_callbacks_where_it_asks_twilio_to_send_them():
    assert TwilioProvider.callbacks is TwilioCallbacks
    [route] = TwilioCallbacks.routes
    assert f"/provider/{TwilioCallbacks.name}/{route.path}" == STATUS_CALLBACK_PATH
    assert route.reply_model is None  # 204: Twilio ignores the body
    assert route.media_type == "application/x-www-form-urlencoded"
    request = callback(status_form("completed"))
    assert TwilioCallbacks(AUTH_TOKEN).acknowledge(request, [True]) is None
