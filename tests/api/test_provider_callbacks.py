"""The one route shape for providers' callbacks, in process: it hands the raw request to the
provider named in the path, maps its refusals, and renders its answer, knowing no platform."""

import asyncio
import json
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel
from twilio.request_validator import RequestValidator

from outbound.api.app import create_app
from outbound.api.routes.providers import callback_router
from outbound.config import Settings
from outbound.providers.callbacks import (
    CallbackReceiver,
    CallbackRequest,
    CallbackRoute,
    ProviderEvent,
)
from outbound.providers.errors import InvalidCallback, MalformedCallback
from outbound.services import provider_events
from outbound.signing import SIGNATURE_HEADER, sign
from outbound.store.database import Database
from tests.conftest import migrated_database

PUBLIC_URL = "https://outbound.example.com/"
TWILIO_TOKEN = "twilio-auth-token"
RUNTIME_SECRET = "runtime-secret"


class Seen(BaseModel):
    events: int


class FakeCallbacks(CallbackReceiver):
    """A platform of the test's own: a token header, an optional nonce, a JSON list of calls."""

    name = "fake"
    routes = (
        CallbackRoute(
            path="hook",
            name="fake_hook",
            description="A fake platform's hook.",
            media_type="application/json",
            body_schema={"type": "object"},
            reply_model=Seen,
        ),
    )

    def __init__(self) -> None:
        self.parsed: list[CallbackRequest] = []

    @classmethod
    def from_settings(cls, settings: Settings) -> None:
        return None  # the test configures it itself

    def authenticate(self, request: CallbackRequest, now: datetime) -> str | None:
        if request.header("X-Token") != "good":
            raise InvalidCallback("bad token")
        return request.header("X-Nonce")

    def parse_callback(self, request: CallbackRequest) -> list[ProviderEvent]:
        self.parsed.append(request)
        try:
            calls = json.loads(request.body)["calls"]
        except (ValueError, KeyError) as exc:
            raise MalformedCallback("no calls", [{"field": "calls", "reason": "required"}]) from exc
        return [ProviderEvent(self.name, call, "ringing") for call in calls]

    def acknowledge(self, request: CallbackRequest, recorded: Sequence[bool]) -> Seen:
        return Seen(events=len(recorded))


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Database]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('callbacks') / 'outbound.db'}"
    database = migrated_database(url)
    yield url, database
    database.dispose()


class Client:
    """Requests to the app in this process (its lifespan is not run: no dispatcher)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                return await c.request(method, path, **kwargs)

        return asyncio.run(send())

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)


def _app(database: tuple[str, Database], **settings: str) -> FastAPI:
    url, database = database
    return create_app(Settings(database_url=url, public_url=PUBLIC_URL, **settings), database)


@pytest.fixture
def fake(database: tuple[str, Database]) -> tuple[Client, FakeCallbacks]:
    app = _app(database)
    app.include_router(callback_router([FakeCallbacks]))
    receiver = FakeCallbacks()
    app.state.callback_receivers = {"fake": receiver}
    return Client(app), receiver


def test_the_provider_gets_the_request_as_the_platform_made_it(fake):
    client, receiver = fake
    answer = client.post(
        "/provider/fake/hook?attempt=2", content=b'{"calls": []}', headers={"X-Token": "good"}
    )
    assert answer.status_code == 200 and answer.json() == {"events": 0}
    [request] = receiver.parsed
    assert request.method == "POST" and request.path == "hook"
    assert request.url == "https://outbound.example.com/provider/fake/hook?attempt=2"
    assert request.headers["x-token"] == "good" and request.body == b'{"calls": []}'


def test_refusals_are_401_and_400_with_the_error_body(fake):
    client, receiver = fake
    refused = client.post("/provider/fake/hook", content=b'{"calls": []}')
    assert refused.status_code == 401
    assert refused.json() == {"detail": "bad token", "errors": []}
    assert receiver.parsed == []  # not parsed before it is authenticated
    malformed = client.post("/provider/fake/hook", content=b"{}", headers={"X-Token": "good"})
    assert malformed.status_code == 400
    assert malformed.json() == {
        "detail": "no calls",
        "errors": [{"field": "calls", "reason": "required"}],
    }


def test_a_single_use_request_is_refused_the_second_time_before_it_is_read(fake):
    client, receiver = fake
    headers = {"X-Token": "good", "X-Nonce": "nonce-1"}
    assert client.post("/provider/fake/hook", content=b"{}", headers=headers).status_code == 400
    replayed = client.post("/provider/fake/hook", content=b"{}", headers=headers)
    assert replayed.status_code == 401 and replayed.json()["detail"] == "replayed request"
    assert len(receiver.parsed) == 1
    again = client.post(
        "/provider/fake/hook", content=b'{"calls": []}', headers={"X-Token": "good"}
    )
    assert again.status_code == 200  # without a nonce, a request may come again


def test_an_event_for_a_call_outbound_never_placed_is_404(fake, monkeypatch):
    monkeypatch.setattr(provider_events, "UNKNOWN_CALL_GRACE_SECONDS", 0.0)
    client, _ = fake
    body = json.dumps({"calls": ["never-placed"]}).encode()
    answer = client.post("/provider/fake/hook", content=body, headers={"X-Token": "good"})
    assert answer.status_code == 404
    assert set(answer.json()) == {"detail", "errors"}


def test_a_provider_that_is_not_configured_is_404(fake):
    client, _ = fake
    client.app.state.callback_receivers = {}
    answer = client.post("/provider/fake/hook", content=b"{}", headers={"X-Token": "good"})
    assert answer.status_code == 404
    assert answer.json()["detail"] == "the fake provider is not configured"
    assert client.post("/provider/nobody/hook", content=b"{}").status_code == 404


def test_each_route_is_documented_as_its_provider_describes_it(fake):
    client, _ = fake
    operation = client.get("/openapi.json").json()["paths"]["/provider/fake/hook"]["post"]
    assert operation["description"] == "A fake platform's hook."
    assert operation["requestBody"]["content"] == {
        "application/json": {"schema": {"type": "object"}}
    }
    assert {"200", "400", "401", "404"} <= set(operation["responses"])
    assert "security" not in operation


def test_the_shipped_providers_without_credentials_are_404(database):
    client = Client(_app(database))
    assert client.post("/provider/webhook/events", content=b"{}").status_code == 404
    assert client.post("/provider/twilio/status", data={"CallSid": "CA1"}).status_code == 404
    assert client.get("/provider/twilio/status").status_code == 405


def test_twilio_signs_the_public_url_it_called(database):
    client = Client(_app(database, twilio_auth_token=TWILIO_TOKEN))
    form = {"CallSid": "CA1", "CallStatus": "queued"}
    public = RequestValidator(TWILIO_TOKEN).compute_signature(
        "https://outbound.example.com/provider/twilio/status", form
    )
    local = RequestValidator(TWILIO_TOKEN).compute_signature(
        "http://testserver/provider/twilio/status", form
    )
    signed = client.post(
        "/provider/twilio/status", data=form, headers={"X-Twilio-Signature": public}
    )
    assert signed.status_code == 204 and signed.content == b""
    wrong = client.post("/provider/twilio/status", data=form, headers={"X-Twilio-Signature": local})
    assert wrong.status_code == 401
    assert wrong.json() == {"detail": "missing or invalid X-Twilio-Signature", "errors": []}


def test_the_runtime_signature_is_spent_even_by_an_invalid_event(database):
    client = Client(_app(database, webhook_provider_secret=RUNTIME_SECRET))
    body = json.dumps({"provider_call_id": "rt-1", "event": "ended"}).encode()
    headers = {SIGNATURE_HEADER: sign(RUNTIME_SECRET, int(time.time()), body)}
    first = client.post("/provider/webhook/events", content=body, headers=headers)
    assert first.status_code == 400 and first.json()["errors"] == [
        {"field": "outcome", "reason": "required"}
    ]
    assert client.post("/provider/webhook/events", content=body, headers=headers).status_code == 401
