"""A campaign placed through a ``twilio`` connection, end to end: outbound serves the API and
the dispatcher, the Twilio stand-in takes the create-call and fetch-call requests, and the test
posts Twilio's status callbacks to the connection's webhook URL, signed as Twilio signs them
(the URL it called and the form, with the connection's auth token)."""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from twilio.request_validator import RequestValidator

from outbound.store.database import Database
from tests.e2e import platforms
from tests.factories import phone
from tests.providers.twilio_api import ApiRequest, TwilioApi, running, twilio_error
from tests.servers import Server

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "twilio-connection-token-e2e"
TWIML_URL = "https://agent.example.com/twiml?agent=renewals"
CALLER_ID = "+14155550123"
TEAM = "Twilio team"


@pytest.fixture  # one per test: its calls are looked up by phone number
def twilio() -> Iterator[TwilioApi]:
    with running(TwilioApi(ACCOUNT_SID, AUTH_TOKEN)) as stand_in:
        yield stand_in


class Connection:
    """A twilio connection of one account, and the callbacks Twilio posts to it."""

    def __init__(self, server: Server, created: dict[str, Any]) -> None:
        self.id = str(created["connection_id"])
        self.webhook_url = str(created["webhook_url"])  # what Twilio calls, and signs
        self._address = platforms.webhook(server, created)  # where this server listens

    def callback(self, call: ApiRequest, status: str, token: str = AUTH_TOKEN, **params: str):
        form = {
            "AccountSid": ACCOUNT_SID,
            "CallSid": str(call.sid),
            "CallStatus": status,
            "To": call.field("To"),
            "From": call.field("From"),
            "Direction": "outbound-api",
            **params,
        }
        signature = RequestValidator(token).compute_signature(self.webhook_url, form)
        return httpx.post(
            self._address, data=form, headers={"X-Twilio-Signature": signature}, timeout=30
        )


def _connect(
    http: httpx.Client, server: Server, twilio: TwilioApi, max_call_seconds: float = 600
) -> Connection:
    created = platforms.connect(
        http,
        "twilio",
        "Our Twilio",
        {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN},
        {"api_base_url": twilio.url, "max_call_seconds": max_call_seconds},
    )
    return Connection(server, created)


def _playbook(http: httpx.Client, connection: Connection) -> str:
    provider = {"connection_id": connection.id, "twiml_url": TWIML_URL}
    return platforms.playbook(http, "Twilio renewals", provider, caller_id=CALLER_ID)


def _campaign(http: httpx.Client, playbook_id: str, phones: list[str], **body: Any) -> str:
    return platforms.campaign(http, playbook_id, [{"phone": number} for number in phones], **body)


def _created(twilio: TwilioApi, number: str, attempt: int) -> ApiRequest:
    """The ``attempt``-th call Twilio created to ``number``."""
    return platforms.nth(lambda: twilio.calls_to(number), attempt)


def test_calls_are_created_on_twilio_retried_and_ended_by_its_callbacks(
    platform_server: Server, database: Database, twilio: TwilioApi
):
    tenant = platforms.tenant(database, TEAM)
    answered, unanswered = phone(1), phone(2)
    with platform_server.client(tenant.token) as http:
        connection = _connect(http, platform_server, twilio)
        playbook_id = _playbook(http, connection)
        campaign_id = _campaign(http, playbook_id, [answered, unanswered], recall=[0.01])
        call_ids = {
            number: call["call_id"] for number, call in platforms.calls(http, campaign_id).items()
        }

        first = _created(twilio, answered, 1)
        assert first.field("Url") == f"{TWIML_URL}&call_id={call_ids[answered]}&attempt=1"
        assert first.field("From") == CALLER_ID
        assert first.field("StatusCallback") == connection.webhook_url
        assert first.field("AsyncAmdStatusCallback") == connection.webhook_url
        assert connection.callback(first, "ringing").status_code == 204
        assert connection.callback(first, "in-progress").status_code == 204
        done = connection.callback(first, "completed", CallDuration="42", AnsweredBy="human")
        assert done.status_code == 204, done.text
        assert connection.callback(first, "completed", CallDuration="42").status_code == 204

        # The unanswered one is placed again after its recall offset, then answered.
        missed = _created(twilio, unanswered, 1)
        assert connection.callback(missed, "no-answer", CallDuration="0").status_code == 204
        second = _created(twilio, unanswered, 2)
        assert second.field("Url").endswith(f"call_id={call_ids[unanswered]}&attempt=2")
        assert connection.callback(second, "completed", CallDuration="7").status_code == 204
        platforms.wait_for_campaign(http, campaign_id, "completed", 20)
        calls = platforms.calls(http, campaign_id)
    assert [a["outcome"] for a in calls[answered]["attempts"]] == ["answered"]
    assert [a["outcome"] for a in calls[unanswered]["attempts"]] == ["no_answer", "answered"]
    assert calls[answered]["status"] == calls[unanswered]["status"] == "completed"


def test_a_bad_signature_records_nothing_and_a_foreign_call_is_not_found(
    platform_server: Server, database: Database, twilio: TwilioApi
):
    owner, stranger = platforms.tenant(database, TEAM), platforms.tenant(database, TEAM)
    number = phone(3)
    with (
        platform_server.client(owner.token) as http,
        platform_server.client(stranger.token) as other,
    ):
        connection = _connect(http, platform_server, twilio)
        campaign_id = _campaign(http, _playbook(http, connection), [number])
        call = _created(twilio, number, 1)
        forged = connection.callback(call, "completed", token="not-the-token", CallDuration="3")
        assert forged.status_code == 401
        theirs = _connect(other, platform_server, twilio)  # the same Twilio account, signed right
        assert theirs.callback(call, "completed", CallDuration="3").status_code == 404
        assert platforms.calls(http, campaign_id)[number]["status"] == "in_progress"
        assert connection.callback(call, "completed", CallDuration="3").status_code == 204
        platforms.wait_for_call(http, campaign_id, number, "completed", 10)


def test_a_missing_final_callback_is_looked_up_with_twilios_fetch_call(
    platform_server: Server, database: Database, twilio: TwilioApi
):
    tenant = platforms.tenant(database, TEAM)
    number = phone(4)
    with platform_server.client(tenant.token) as http:
        connection = _connect(http, platform_server, twilio, max_call_seconds=1)
        campaign_id = _campaign(http, _playbook(http, connection), [number])
        call = _created(twilio, number, 1)
        twilio.set_status(str(call.sid), "completed", duration_seconds=1, answered_by="human")
        # ...and Twilio's completed callback never arrives.
        platforms.wait_for_call(http, campaign_id, number, "completed", 20)
        [attempt] = platforms.calls(http, campaign_id)[number]["attempts"]
    assert attempt["outcome"] == "answered" and attempt["error"] is None
    assert any(fetch.path.endswith(f"/Calls/{call.sid}.json") for fetch in twilio.fetches)


def test_a_throttled_call_spends_no_attempt_and_an_invalid_number_fails_with_twilios_message(
    platform_server: Server, database: Database, twilio: TwilioApi
):
    tenant = platforms.tenant(database, TEAM)
    busy, invalid = phone(5), phone(6)
    with platform_server.client(tenant.token) as http:
        connection = _connect(http, platform_server, twilio)
        playbook_id = _playbook(http, connection)
        twilio.answers.append((429, twilio_error(429, 20429, "Too Many Requests")))
        busy_campaign = _campaign(http, playbook_id, [busy])
        placed = _created(twilio, busy, 1)  # refused once, then placed
        with twilio.lock:
            asked = [r for r in twilio.requests if r.form.get("To") == [busy]]
        assert [r.sid is not None for r in asked] == [False, True]
        assert placed.field("Url").endswith("&attempt=1")
        assert connection.callback(placed, "completed", CallDuration="2").status_code == 204
        platforms.wait_for_call(http, busy_campaign, busy, "completed", 10)
        assert [a["number"] for a in platforms.calls(http, busy_campaign)[busy]["attempts"]] == [1]

        twilio.answers.append((400, twilio_error(400, 21211, "Invalid 'To' Phone Number")))
        invalid_campaign = _campaign(http, playbook_id, [invalid])
        platforms.wait_for_call(http, invalid_campaign, invalid, "failed", 10)
        [attempt] = platforms.calls(http, invalid_campaign)[invalid]["attempts"]
    assert attempt["outcome"] == "failed"
    assert "21211" in attempt["error"] and "Invalid 'To' Phone Number" in attempt["error"]
    assert twilio.calls_to(invalid) == []
