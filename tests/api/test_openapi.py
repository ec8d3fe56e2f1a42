"""/openapi.json tells the truth: each operation documents exactly the codes it answers.

Every operation is driven into each of its answers against real servers (SQLite; PostgreSQL for
the database going away), and the codes seen are compared with the document both ways.
"""

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from twilio.request_validator import RequestValidator

from outbound.signing import SIGNATURE_HEADER, sign
from outbound.store.database import Database
from tests.conftest import (
    _create_postgres_database,
    _drop_postgres_database,
    migrated_database,
    postgres_url,
)
from tests.factories import (
    Tenant,
    archive_playbook,
    connection_body,
    ended_attempt,
    make_account,
    phone,
    playbook_using,
)
from tests.servers import Server, start_server

MAX_BODY = 64 * 1024
TOO_LARGE = b"x" * (MAX_BODY + 1)
RUNTIME_SECRET = "runtime-secret"
TWILIO_TOKEN = "twilio-auth-token"
PUBLIC_URL = "http://outbound.test"
PROVIDERS = {
    "OUTBOUND_WEBHOOK_PROVIDER_SECRET": RUNTIME_SECRET,
    "OUTBOUND_TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
    "OUTBOUND_PUBLIC_URL": PUBLIC_URL,
    "OUTBOUND_SECRET_KEY": "the key of provider credentials",
}
# Each write route must find its token's bucket empty after one write.
ONE_WRITE = {"OUTBOUND_RATE_LIMIT_WRITES_PER_SECOND": "0.001", "OUTBOUND_RATE_LIMIT_BURST": "1"}
# Answers no probe here gives, covered elsewhere: a runtime event is recorded (200) only for a
# call the webhook provider placed (tests/providers/test_webhook_provider.py).
NOT_PROBED = {("POST", "/provider/webhook/events"): {200}}

Operation = tuple[str, str]  # method, path template as in the document
PUBLIC = ("/healthz", "/readyz", "/metrics", "/provider/")  # no bearer token


@dataclass
class Probes:
    """Requests that record, per operation, the status they expected and the one they got."""

    seen: list[tuple[Operation, int, int]] = field(default_factory=list)
    document: dict[str, Any] = field(default_factory=dict)

    def __call__(
        self,
        server: Server,
        expected: int,
        method: str,
        template: str,
        token: str | None = None,
        path: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        url = template.format(**{k: quote(v, safe="") for k, v in (path or {}).items()})
        with server.client(token) as http:
            response = http.request(method, url, **kwargs)
        self.seen.append(((method, template), expected, response.status_code))
        return response

    def everywhere(self, server: Server, expected: int, operations: list[Operation], **kw: Any):
        for method, template in operations:
            self(server, expected, method, template, **kw)


def _operations(document: dict[str, Any]) -> list[Operation]:
    return [(m.upper(), p) for p, ops in document["paths"].items() for m in ops]


def _ids() -> dict[str, str]:
    """Path parameters that name nothing: the routes answer 404 (or 503 before looking)."""
    unknown = str(uuid.uuid4())
    return {
        "campaign_id": unknown,
        "contact_id": unknown,
        "endpoint_id": unknown,
        "playbook_id": unknown,
        "connection_id": unknown,
        "call_id": unknown,
        "number": "1",
        "phone": "+14155550199",
    }


def _campaign(tenant: Tenant, *numbers: str) -> dict[str, Any]:
    return {
        "playbook_id": str(tenant.playbook_id),
        "contacts": [{"phone": n} for n in numbers],
        "launch_at": "2099-01-01T00:00:00Z",
    }


def _runtime_event(event: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps(event).encode()
    signature = sign(RUNTIME_SECRET, int(time.time()), body)
    return {"content": body, "headers": {SIGNATURE_HEADER: signature}}


def _twilio_callback(form: dict[str, str]) -> dict[str, Any]:
    url = f"{PUBLIC_URL}/provider/twilio/status"
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, form)
    return {"data": form, "headers": {"X-Twilio-Signature": signature}}


def _twilio_connection_callback(url: str, token: str, form: dict[str, str]) -> dict[str, Any]:
    """A status callback Twilio posts to a twilio connection's webhook URL."""
    signature = RequestValidator(token).compute_signature(url, form)
    return {"data": form, "headers": {"X-Twilio-Signature": signature}}


def _probe_answers(probe: Probes, server: Server, database: Database, tenant: Tenant) -> None:
    """Every answer but 429 and 503, on a server with the providers configured."""
    t = tenant.token
    probe.document = server.client().get("/openapi.json").json()
    ops = _operations(probe.document)
    probe.everywhere(server, 413, ops, token=t, path=_ids(), content=TOO_LARGE)
    authenticated = [op for op in ops if not op[1].startswith(PUBLIC)]
    probe.everywhere(server, 401, authenticated, path=_ids())

    probe(server, 200, "GET", "/healthz")
    probe(server, 200, "GET", "/readyz")
    probe(server, 200, "GET", "/metrics")

    created = probe(server, 202, "POST", "/campaign", t, json=_campaign(tenant, phone(1)))
    campaign = {"campaign_id": created.json()["campaign_id"]}
    probe(server, 400, "POST", "/campaign", t, json={"contacts": []})
    probe(
        server,
        403,
        "POST",
        "/campaign",
        t,
        json={**_campaign(tenant, phone(10)), "playbook_id": str(uuid.uuid4())},
    )
    keyed = {"Idempotency-Key": f"key-{uuid.uuid4()}"}
    probe(server, 202, "POST", "/campaign", t, json=_campaign(tenant, phone(2)), headers=keyed)
    probe(server, 422, "POST", "/campaign", t, json=_campaign(tenant, phone(3)), headers=keyed)

    probe(server, 200, "GET", "/campaign", t)
    probe(server, 400, "GET", "/campaign", t, params={"limit": 0})
    probe(server, 200, "GET", "/campaign/{campaign_id}", t, campaign)
    probe(server, 404, "GET", "/campaign/{campaign_id}", t, _ids())

    contacts = "/campaign/{campaign_id}/contacts"
    probe(server, 202, "POST", contacts, t, campaign, json={"contacts": [{"phone": phone(4)}]})
    probe(server, 400, "POST", contacts, t, campaign, json={"contacts": []})
    probe(server, 404, "POST", contacts, t, _ids(), json={"contacts": [{"phone": phone(4)}]})
    keyed = {"Idempotency-Key": f"key-{uuid.uuid4()}"}
    more = [{"contacts": [{"phone": phone(n)}]} for n in (5, 6)]
    probe(server, 202, "POST", contacts, t, campaign, json=more[0], headers=keyed)
    probe(server, 422, "POST", contacts, t, campaign, json=more[1], headers=keyed)

    calls = "/campaign/{campaign_id}/calls"
    listed = probe(server, 200, "GET", calls, t, campaign)
    probe(server, 400, "GET", calls, t, campaign, params={"cursor": "not-a-cursor"})
    probe(server, 404, "GET", calls, t, _ids())
    call = {"call_id": listed.json()["calls"][0]["call_id"], "number": "1"}
    ended_attempt(database, tenant.id, call["call_id"])
    probe(server, 200, "GET", "/call/{call_id}", t, call)
    probe(server, 404, "GET", "/call/{call_id}", t, _ids())
    result = "/call/{call_id}/attempts/{number}/result"
    probe(server, 400, "POST", result, t, call, json={"summary": "x" * 10_001})
    probe(server, 200, "POST", result, t, call, json={"disposition": "booked"})
    probe(server, 409, "POST", result, t, call, json={"disposition": "booked"})
    probe(server, 404, "POST", result, t, _ids(), json={"disposition": "booked"})
    contact = {"contact_id": listed.json()["calls"][0]["contact_id"]}
    probe(server, 200, "GET", "/contact/{contact_id}", t, contact)
    probe(server, 404, "GET", "/contact/{contact_id}", t, _ids())

    for verb, ok, refused in [("pause", 200, 409), ("resume", 200, 409), ("cancel", 200, 409)]:
        template = f"/campaign/{{campaign_id}}/{verb}"
        probe(server, ok, "POST", template, t, campaign)
        probe(server, refused, "POST", template, t, campaign)  # paused, running, cancelled
        probe(server, 404, "POST", template, t, _ids())
    probe(server, 409, "POST", contacts, t, campaign, json={"contacts": [{"phone": phone(7)}]})

    suppressed = phone(8)
    probe(server, 200, "POST", "/dnc", t, json={"phones": [suppressed]})
    probe(server, 400, "POST", "/dnc", t, json={"phones": []})
    probe(server, 200, "GET", "/dnc", t)
    probe(server, 400, "GET", "/dnc", t, params={"limit": 0})
    probe(server, 204, "DELETE", "/dnc/{phone}", t, {"phone": suppressed})
    probe(server, 404, "DELETE", "/dnc/{phone}", t, {"phone": suppressed})

    hooks = "/webhook-endpoint"
    endpoint = probe(server, 201, "POST", hooks, t, json={"url": "http://127.0.0.1:9/hook"})
    endpoint_id = {"endpoint_id": endpoint.json()["id"]}
    probe(server, 400, "POST", hooks, t, json={"url": "not a url"})
    probe(server, 200, "GET", hooks, t)
    deliveries = "/webhook-endpoint/{endpoint_id}/deliveries"
    probe(server, 200, "GET", deliveries, t, endpoint_id)
    probe(server, 400, "GET", deliveries, t, endpoint_id, params={"limit": 0})
    probe(server, 404, "GET", deliveries, t, _ids())
    probe(server, 204, "DELETE", "/webhook-endpoint/{endpoint_id}", t, endpoint_id)
    probe(server, 404, "DELETE", "/webhook-endpoint/{endpoint_id}", t, endpoint_id)

    playbooks, playbook = "/playbook", "/playbook/{playbook_id}"
    created_playbook = probe(server, 201, "POST", playbooks, t, json={"name": "Probed"})
    playbook_id = {"playbook_id": created_playbook.json()["playbook_id"]}
    probe(server, 400, "POST", playbooks, t, json={"name": ""})
    probe(server, 200, "GET", playbooks, t)
    probe(server, 400, "GET", playbooks, t, params={"limit": 0})
    probe(server, 200, "GET", playbook, t, playbook_id)
    probe(server, 404, "GET", playbook, t, _ids())
    probe(server, 200, "PATCH", playbook, t, playbook_id, json={"voice": "ada"})
    probe(server, 400, "PATCH", playbook, t, playbook_id, json={"name": None})
    probe(server, 404, "PATCH", playbook, t, _ids(), json={"voice": "ada"})
    probe(server, 204, "DELETE", playbook, t, playbook_id)
    probe(server, 404, "DELETE", playbook, t, _ids())
    probe(server, 409, "PATCH", playbook, t, playbook_id, json={"voice": "ada"})  # archived
    probe(server, 200, "GET", "/account", t)
    probe(server, 200, "PATCH", "/account", t, json={"calls_per_second": 5})
    probe(server, 400, "PATCH", "/account", t, json={"timezone": "Mars/Base"})
    connections = "/provider-connection"
    created = probe(server, 201, "POST", connections, t, json=connection_body())
    connection = {"connection_id": created.json()["connection_id"]}
    probe(server, 400, "POST", connections, t, json={**connection_body(), "credentials": {}})
    probe(server, 200, "GET", connections, t)
    probe(server, 400, "GET", connections, t, params={"cursor": "not-a-cursor"})
    one = "/provider-connection/{connection_id}"
    probe(server, 200, "GET", one, t, connection)
    probe(server, 404, "GET", one, t, _ids())
    playbook_id = playbook_using(database, tenant, connection["connection_id"])
    probe(server, 409, "DELETE", one, t, connection)
    archive_playbook(database, playbook_id)
    probe(server, 204, "DELETE", one, t, connection)
    probe(server, 404, "DELETE", one, t, connection)

    # A platform's webhook to a connection: Vapi's, verified with the connection's secret.
    vapi = connection_body()
    hooked = probe(server, 201, "POST", connections, t, json=vapi)
    hook = {"connection_id": hooked.json()["connection_id"]}
    secret = {"X-Vapi-Secret": vapi["credentials"]["webhook_secret"]}
    webhook = "/provider/connection/{connection_id}/events"
    speech = {"message": {"type": "speech-update", "status": "started", "role": "user"}}
    probe(server, 204, "POST", webhook, None, hook, json=speech, headers=secret)
    probe(server, 401, "POST", webhook, None, hook, json=speech)
    probe(server, 400, "POST", webhook, None, hook, json={"not": "a message"}, headers=secret)
    probe(server, 404, "POST", webhook, None, _ids(), json=speech, headers=secret)

    events = "/provider/webhook/events"
    probe(server, 401, "POST", events, content=b'{"provider_call_id": "rt-1", "event": "ringing"}')
    probe(server, 400, "POST", events, **_runtime_event({"provider_call_id": "rt-1", "event": "?"}))
    twilio = "/provider/twilio/status"
    probe(
        server, 204, "POST", twilio, **_twilio_callback({"CallSid": "CA1", "CallStatus": "queued"})
    )
    probe(server, 400, "POST", twilio, **_twilio_callback({"CallSid": "CA1", "CallStatus": "?"}))
    probe(server, 401, "POST", twilio, data={"CallSid": "CA1", "CallStatus": "queued"})

    body = connection_body("twilio")
    created = probe(server, 201, "POST", connections, t, json=body)
    url, token = created.json()["webhook_url"], body["credentials"]["auth_token"]
    connection = {"connection_id": created.json()["connection_id"]}
    connection_events = "/provider/connection/{connection_id}/events"
    queued = {"CallSid": "CA1", "CallStatus": "queued"}
    signed = _twilio_connection_callback(url, token, queued)
    probe(server, 204, "POST", connection_events, path=connection, **signed)
    unknown = _twilio_connection_callback(url, token, {"CallSid": "CA1", "CallStatus": "?"})
    probe(server, 400, "POST", connection_events, path=connection, **unknown)
    probe(server, 401, "POST", connection_events, path=connection, data=queued)
    probe(server, 404, "POST", connection_events, path=_ids(), **signed)


def _probe_unconfigured_and_limited(probe: Probes, server: Server) -> None:
    """404 from the provider routes of a server without providers; 429 from every write route."""
    probe(server, 404, "POST", "/provider/webhook/events", content=b"{}")
    probe(server, 404, "POST", "/provider/twilio/status", data={"CallSid": "CA1"})
    ops = _operations(server.client().get("/openapi.json").json())
    writes = [op for op in ops if op[0] != "GET" and not op[1].startswith("/provider/")]
    token = f"ob_{uuid.uuid4().hex}"  # the limit counts before the token is checked
    with server.client(token) as http:
        http.post("/dnc", json={"phones": [phone(9)]})  # the one write of the burst
    probe.everywhere(server, 429, writes, token=token, path=_ids(), json={})


def _probe_database_away(probe: Probes, server: Server, tenant: Tenant) -> None:
    """503 from every operation that needs the database, once it is gone."""
    ops = _operations(server.client().get("/openapi.json").json())
    for method, template in ops:
        if template in ("/healthz", "/metrics"):
            probe(server, 200, method, template)
            continue
        kwargs: dict[str, Any] = {"json": {}}
        if template == "/provider/webhook/events":
            kwargs = _runtime_event({"provider_call_id": "rt-1", "event": "ringing"})
        elif template == "/provider/twilio/status":
            kwargs = _twilio_callback({"CallSid": "CA1", "CallStatus": "ringing"})
        probe(server, 503, method, template, tenant.token, _ids(), **kwargs)


@pytest.fixture(scope="module")
def sqlite_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Database]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('openapi') / 'outbound.db'}"
    database = migrated_database(url)
    yield url, database
    database.dispose()


@pytest.fixture(scope="module")
def document(probes: Probes) -> dict[str, Any]:
    """/openapi.json as the probed server served it."""
    return probes.document


@pytest.fixture(scope="module")
def database_away_probed(postgres_available: bool) -> bool:
    return postgres_available


@pytest.fixture(scope="module")
def probes(
    sqlite_database: tuple[str, Database],
    postgres_available: bool,
    tmp_path_factory: pytest.TempPathFactory,
) -> Probes:
    url, database = sqlite_database
    probe = Probes()
    work = tmp_path_factory.mktemp("probes")
    env = {**PROVIDERS, "OUTBOUND_MAX_BODY_BYTES": str(MAX_BODY)}
    with start_server(url, work, extra_env=env) as server:
        _probe_answers(probe, server, database, make_account(database))
    with start_server(url, work, extra_env=ONE_WRITE) as server:
        _probe_unconfigured_and_limited(probe, server)
    if postgres_available:
        name = _create_postgres_database()
        try:
            gone = postgres_url(name)
            pg_engine = migrated_database(gone)
            tenant = make_account(pg_engine)
            pg_engine.dispose()
            with start_server(gone, work, extra_env=PROVIDERS) as server:
                _drop_postgres_database(name)
                _probe_database_away(probe, server, tenant)
        finally:
            _drop_postgres_database(name)
    return probe


def _documented(document: dict[str, Any]) -> dict[Operation, set[int]]:
    return {
        (method.upper(), path): {int(code) for code in operation["responses"]}
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    }


def test_every_probe_got_the_answer_it_was_written_for(probes: Probes):
    wrong = [(op, expected, got) for op, expected, got in probes.seen if got != expected]
    assert wrong == []


def test_every_operation_documents_every_code_it_answered(document: dict[str, Any], probes: Probes):
    documented = _documented(document)
    undocumented = {(op, got) for op, _, got in probes.seen if got not in documented.get(op, set())}
    assert undocumented == set()


def test_every_documented_code_was_answered(
    document: dict[str, Any], probes: Probes, database_away_probed: bool
):
    answered: dict[Operation, set[int]] = {}
    for op, _, got in probes.seen:
        answered.setdefault(op, set()).add(got)
    never = {}
    for op, codes in _documented(document).items():
        missing = codes - answered.get(op, set()) - NOT_PROBED.get(op, set())
        if not database_away_probed:
            missing.discard(503)
        if missing:
            never[op] = missing
    assert never == {}


def test_no_fastapi_validation_error_is_documented(document: dict[str, Any]):
    text = json.dumps(document)
    assert "HTTPValidationError" not in text
    assert "ValidationError" not in document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            response = operation["responses"].get("422")
            if response is not None:
                assert response["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/ErrorOut"
                }, (method, path)


def test_errors_share_one_body_and_tokens_one_scheme(document: dict[str, Any]):
    error_out = document["components"]["schemas"]["ErrorOut"]
    assert error_out["required"] == ["detail"]
    assert set(error_out["properties"]) == {"detail", "errors"}
    assert document["components"]["securitySchemes"] == {
        "HTTPBearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token: `Authorization: Bearer TOKEN`",
        }
    }
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            public = path.startswith(PUBLIC)
            assert bool(operation.get("security")) != public, (method, path)
            for code, response in operation["responses"].items():
                if code.startswith(("4", "5")) and path != "/readyz":
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorOut"}, (method, path)


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _references(item)


def test_every_reference_resolves(document: dict[str, Any]):
    references = set(_references(document))
    assert references
    for reference in references:
        assert reference.startswith("#/components/schemas/"), reference
        assert reference.rsplit("/", 1)[1] in document["components"]["schemas"], reference
