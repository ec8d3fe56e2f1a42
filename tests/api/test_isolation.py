"""One account never reaches another's data, through any route; dead tokens are refused at once.

Every route of the app is covered as it is declared, so a new route is tested without being
listed here: a route that names a resource answers 404 to another account's token (exactly
like a missing one, and without touching the resource); a list shows none of it.
"""

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import fastapi.routing
import httpx
import pytest
from fastapi.routing import APIRoute

from outbound.api.app import create_app
from outbound.services import accounts
from outbound.store.database import Database
from tests.commands import run_cli
from tests.factories import Tenant, connection_body, ended_attempt, make_account
from tests.servers import Server

# Routes that need no token: health, aggregate metrics, the OpenAPI document and its viewers,
# the dashboard's files, and the providers' callbacks (signed by the provider instead).
PUBLIC = ("/healthz", "/readyz", "/metrics", "/openapi.json", "/redoc", "/")
PUBLIC_PREFIXES = ("/docs", "/static/", "/provider/")
# A valid body for each route that takes one, so that only ownership can refuse the request.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/campaign/{campaign_id}/contacts"): {"contacts": [{"phone": "+14155550177"}]},
    ("PATCH", "/playbook/{playbook_id}"): {"name": "Renamed"},
    ("PATCH", "/account"): {"max_concurrent_calls": 7},
    ("POST", "/call/{call_id}/attempts/{number}/result"): {"disposition": "booked"},
}
PATH_PARAMETER = re.compile(r"{(\w+)(?::[^}]*)?}")
FAR_FUTURE = "2099-01-01T09:00:00Z"  # A's campaign stays scheduled: every transition is valid


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    takes_body: bool

    @property
    def parameters(self) -> list[str]:
        return PATH_PARAMETER.findall(self.path)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _declared_routes() -> Iterator[tuple[str, set[str], Any]]:
    """``(path, methods, route)`` of every route the app serves, as declared."""
    app = create_app(database=Database("sqlite://"))  # never connected
    # FastAPI versions that include routers lazily list them flat through iter_route_contexts.
    flatten = getattr(fastapi.routing, "iter_route_contexts", None)
    for route in flatten(app.routes) if flatten is not None else app.routes:
        yield str(route.path), set(route.methods or ()), getattr(route, "original_route", route)


def _is_public(path: str) -> bool:
    return path in PUBLIC or path.startswith(PUBLIC_PREFIXES)


def _guarded_endpoints() -> list[Endpoint]:
    """Every route that takes a token, each method apart."""
    endpoints = []
    for path, methods, route in _declared_routes():
        if isinstance(route, APIRoute) and not _is_public(path):
            takes_body = route.body_field is not None
            endpoints.extend(Endpoint(m, path, takes_body) for m in sorted(methods - {"HEAD"}))
    return endpoints


GUARDED = _guarded_endpoints()
# Routes that name a resource, and lists; the others create the caller's own resources.
ENDPOINTS = [e for e in GUARDED if e.parameters or e.method == "GET"]
PUBLIC_READS = sorted(
    path
    for path, methods, _ in _declared_routes()
    if _is_public(path) and "GET" in methods and not PATH_PARAMETER.search(path)
)


@dataclass(frozen=True)
class Owned:
    """What account A created, by path parameter, and everything that must not leak."""

    tenant: Tenant
    ids: dict[str, str]  # path parameter -> A's value
    markers: list[str]  # strings of A's data that must not appear in B's answers


def _create_a_campaign(http: httpx.Client, tenant: Tenant, phones: list[str]) -> str:
    response = http.post(
        "/campaign",
        json={
            "playbook_id": str(tenant.playbook_id),
            "contacts": [{"phone": p, "first_name": "Owner"} for p in phones],
            "launch_at": FAR_FUTURE,
            "recall": [1],
        },
    )
    assert response.status_code == 202, response.text
    return str(response.json()["campaign_id"])


def _unique_phones(prefix: str, count: int) -> list[str]:
    """Valid Spanish numbers, new for each database the module runs on."""
    base = uuid.uuid4().int % 100
    return [f"{prefix}{base:02d}{n:02d}" for n in range(count)]


@pytest.fixture(scope="module")
def owned(server: Server, database: Database) -> Owned:
    tenant = make_account(database, name="Account A")
    phones = _unique_phones("+3491231", 3)
    with server.client(tenant.token) as http:
        campaign_id = _create_a_campaign(http, tenant, phones[:2])
        calls = http.get(f"/campaign/{campaign_id}/calls").json()["calls"]
        assert http.post("/dnc", json={"phones": [phones[2]]}).status_code == 200
        hook_url = f"http://127.0.0.1:9/hooks/{uuid.uuid4().hex}"
        hook = http.post("/webhook-endpoint", json={"url": hook_url})
        assert hook.status_code == 201, hook.text
        playbook = http.post("/playbook", json={"name": "A's own", "voice": "owner-voice"})
        assert playbook.status_code == 201, playbook.text
        connection_name = f"A's agents {uuid.uuid4().hex}"
        connecting = connection_body(name=connection_name)
        connection = http.post("/provider-connection", json=connecting)
        assert connection.status_code == 201, connection.text
    ended_attempt(database, tenant.id, calls[0]["call_id"])  # for a result to be posted to
    ids = {
        "campaign_id": campaign_id,
        "call_id": calls[0]["call_id"],
        "number": "1",
        "contact_id": calls[0]["contact_id"],
        "phone": phones[2],
        "endpoint_id": str(hook.json()["id"]),
        "playbook_id": str(playbook.json()["playbook_id"]),
        "connection_id": connection.json()["connection_id"],
    }
    markers = [
        campaign_id,
        str(tenant.id),
        str(tenant.playbook_id),
        str(playbook.json()["playbook_id"]),
        "owner-voice",
        hook_url,
        hook.json()["secret"],
        connection.json()["connection_id"],
        connection_name,
        *connecting["credentials"].values(),  # shown to no one, A included
        *(c["call_id"] for c in calls),
        *(c["contact_id"] for c in calls),
        *phones,
        *(p.removeprefix("+") for p in phones),
    ]
    return Owned(tenant=tenant, ids=ids, markers=markers)


@pytest.fixture(scope="module")
def other(server: Server, database: Database) -> Tenant:
    """Account B, with data of its own so that its lists are not trivially empty."""
    tenant = make_account(database, name="Account B")
    with server.client(tenant.token) as http:
        phones = _unique_phones("+3491232", 3)
        _create_a_campaign(http, tenant, phones[:2])
        http.post("/dnc", json={"phones": phones[2:]})
        http.post("/webhook-endpoint", json={"url": "http://127.0.0.1:9/b"})
        http.post("/playbook", json={"name": "B's own"})
        http.post("/provider-connection", json=connection_body(name="B's agents"))
    return tenant


def _url(endpoint: Endpoint, ids: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in ids:
            pytest.fail(f"{endpoint}: no resource of account A for {{{name}}}; add one to `owned`")
        return quote(ids[name], safe="")

    return PATH_PARAMETER.sub(value, endpoint.path)


def _send(http: httpx.Client, endpoint: Endpoint, ids: dict[str, str]) -> httpx.Response:
    body = BODIES.get((endpoint.method, endpoint.path))
    if endpoint.takes_body and body is None:
        pytest.fail(f"{endpoint}: add a valid body for it to BODIES")
    return http.request(endpoint.method, _url(endpoint, ids), json=body)


def _snapshot(http: httpx.Client, owned: Owned) -> dict[str, Any]:
    """A's resources as A sees them."""
    campaign = http.get(f"/campaign/{owned.ids['campaign_id']}").json()
    return {
        "campaign": {k: campaign[k] for k in ("status", "counts")},
        "calls": http.get(f"/campaign/{owned.ids['campaign_id']}/calls").json(),
        "dnc": http.get("/dnc").json(),
        "endpoints": http.get("/webhook-endpoint").json(),
        "playbook": http.get(f"/playbook/{owned.ids['playbook_id']}").json(),
        "playbooks": http.get("/playbook").json(),
        "account": http.get("/account").json(),
        "connections": http.get("/provider-connection").json(),
    }


def test_every_route_is_covered():
    assert {str(e) for e in ENDPOINTS} >= {
        "GET /campaign",
        "GET /campaign/{campaign_id}",
        "GET /campaign/{campaign_id}/calls",
        "GET /call/{call_id}",
        "POST /call/{call_id}/attempts/{number}/result",
        "POST /campaign/{campaign_id}/pause",
        "POST /campaign/{campaign_id}/resume",
        "POST /campaign/{campaign_id}/cancel",
        "POST /campaign/{campaign_id}/contacts",
        "GET /contact/{contact_id}",
        "GET /dnc",
        "DELETE /dnc/{phone}",
        "GET /webhook-endpoint",
        "DELETE /webhook-endpoint/{endpoint_id}",
        "GET /webhook-endpoint/{endpoint_id}/deliveries",
        "GET /playbook",
        "GET /playbook/{playbook_id}",
        "PATCH /playbook/{playbook_id}",
        "DELETE /playbook/{playbook_id}",
        "GET /account",
        "GET /provider-connection",
        "GET /provider-connection/{connection_id}",
        "DELETE /provider-connection/{connection_id}",
    }


def test_another_accounts_token_reaches_none_of_its_data(
    server: Server, owned: Owned, other: Tenant
):
    with server.client(owned.tenant.token) as mine, server.client(other.token) as theirs:
        before = _snapshot(mine, owned)
        leaks = []
        for endpoint in ENDPOINTS:
            answer = _send(theirs, endpoint, owned.ids)
            if endpoint.parameters:
                if answer.status_code != 404 or set(answer.json()) != {"detail", "errors"}:
                    leaks.append(f"{endpoint}: {answer.status_code} {answer.text[:200]}")
            elif endpoint.method == "GET":
                assert answer.status_code == 200, f"{endpoint}: {answer.text}"
                seen = [m for m in owned.markers if m in answer.text]
                if seen:
                    leaks.append(f"{endpoint} shows A's {seen}")
        assert not leaks, "\n".join(leaks)
        assert _snapshot(mine, owned) == before, "B's requests changed A's data"


def test_the_owner_reaches_the_same_routes(server: Server, owned: Owned):
    """The control: the ids B was refused are real, and A's lists show A's data."""
    order = {"GET": 0, "DELETE": 2}  # reads first, deletions last
    with server.client(owned.tenant.token) as mine:
        for endpoint in sorted(ENDPOINTS, key=lambda e: order.get(e.method, 1)):
            answer = _send(mine, endpoint, owned.ids)
            assert answer.status_code < 300 or answer.status_code == 409, (
                f"{endpoint}: {answer.status_code} {answer.text[:200]}"
            )
            if endpoint.method == "GET" and not endpoint.parameters:
                assert any(m in answer.text for m in owned.markers), (
                    f"{endpoint} lists none of A's data: give A such a resource in `owned`"
                )


def test_the_routes_without_a_token_show_none_of_an_accounts_data(server: Server, owned: Owned):
    assert "/metrics" in PUBLIC_READS and "/healthz" in PUBLIC_READS
    for path in PUBLIC_READS:
        answer = httpx.get(f"{server.url}{path}", timeout=30)
        assert answer.status_code < 500, f"{path}: {answer.status_code}"
        seen = [m for m in owned.markers if m in answer.text]
        assert not seen, f"{path} shows A's {seen}"


def test_every_other_route_needs_a_token(server: Server, owned: Owned):
    with httpx.Client(base_url=server.url, timeout=30) as anonymous:
        for endpoint in GUARDED:
            body = BODIES.get((endpoint.method, endpoint.path), {})
            _refused(anonymous.request(endpoint.method, _url(endpoint, owned.ids), json=body))


def test_a_playbook_of_another_account_is_forbidden(server: Server, owned: Owned, other: Tenant):
    with server.client(other.token) as theirs:
        before = theirs.get("/campaign").json()
        answer = theirs.post(
            "/campaign",
            json={
                "playbook_id": str(owned.tenant.playbook_id),
                "contacts": [{"phone": "+14155550178"}],
            },
        )
        assert answer.status_code == 403, answer.text
        assert theirs.get("/campaign").json() == before


def _refused(answer: httpx.Response) -> None:
    assert answer.status_code == 401, answer.text
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert set(answer.json()) == {"detail", "errors"}


def test_a_revoked_token_is_refused_on_its_next_request(
    server: Server, database: Database, database_url: str, owned: Owned
):
    doomed = accounts.create_token(database, owned.tenant.id)
    with server.client(doomed) as http:
        assert http.get("/campaign").status_code == 200
        revoked = run_cli(database_url, "token", "revoke", "--token", doomed, "--json")
        assert revoked.returncode == 0, revoked.stderr
        _refused(http.get("/campaign"))
        _refused(http.get(f"/campaign/{owned.ids['campaign_id']}"))
    again = run_cli(database_url, "token", "revoke", "--token", doomed)
    assert again.returncode == 2
    with server.client(owned.tenant.token) as http:  # the account's other tokens still work
        assert http.get("/campaign").status_code == 200


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer",
        "Bearer ob_" + "x" * 43,  # the shape of a token, never issued
        "Bearer not-a-token",
        "Bearer " + "ob_" + "y" * 5000,
        "Basic dXNlcjpwYXNz",
    ],
    ids=["missing", "empty", "unknown", "foreign-format", "huge", "basic"],
)
def test_an_unknown_token_is_refused(server: Server, owned: Owned, authorization: str | None):
    headers = {"Authorization": authorization} if authorization is not None else {}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
        _refused(http.get("/campaign"))
        _refused(http.get(f"/campaign/{owned.ids['campaign_id']}"))
        _refused(http.post(f"/campaign/{owned.ids['campaign_id']}/cancel"))
