"""Provider connections over HTTP (CONTRACT §8), on SQLite and PostgreSQL: what is answered (never
the credentials), what is refused and naming which field, the list's pages, and a deletion
refused while a playbook that is not archived uses the connection."""

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from outbound.domain.connections import FIELDS, ConnectionType
from outbound.store import tables
from outbound.store.database import Database
from tests.factories import (
    Tenant,
    archive_playbook,
    connection_body,
    connection_credentials,
    make_account,
    playbook_using,
)
from tests.servers import Server, serving_api

SHARED_PUBLIC_URL = "http://127.0.0.1:8000"  # the shared server's OUTBOUND_PUBLIC_URL (default)
ANSWER_FIELDS = {"connection_id", "type", "name", "settings", "webhook_url", "created_at"}


def _create(http: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    created = http.post("/provider-connection", json=body)
    assert created.status_code == 201, created.text
    return dict(created.json())


def _listed(http: httpx.Client) -> list[str]:
    answer = http.get("/provider-connection", params={"limit": 200})
    assert answer.status_code == 200, answer.text
    return [c["connection_id"] for c in answer.json()["connections"]]


@pytest.mark.parametrize("type_", [t.value for t in ConnectionType])
def test_a_connection_of_each_type_is_created_read_listed_and_deleted(
    server: Server, account: Tenant, type_: str
):
    credentials = connection_credentials(type_)
    settings = {"api_base_url": "http://127.0.0.1:9/api", "max_call_seconds": 600}
    body = {"type": type_, "name": f"My {type_}", "credentials": credentials, "settings": settings}
    with server.client(account.token) as http:
        created = _create(http, body)
        connection_id = created["connection_id"]
        assert set(created) == ANSWER_FIELDS
        assert created["type"] == type_ and created["name"] == f"My {type_}"
        assert created["settings"] == settings
        assert created["webhook_url"] == (
            f"{SHARED_PUBLIC_URL}/provider/connection/{connection_id}/events"
        )
        read = http.get(f"/provider-connection/{connection_id}")
        assert read.status_code == 200 and read.json() == created
        assert connection_id in _listed(http)
        answers = created, read.json(), http.get("/provider-connection").json()
        shown = [v for v in credentials.values() for a in answers if v in str(a)]
        assert shown == [], "a credential was answered"

        assert http.delete(f"/provider-connection/{connection_id}").status_code == 204
        assert http.get(f"/provider-connection/{connection_id}").status_code == 404
        assert http.delete(f"/provider-connection/{connection_id}").status_code == 404
        assert connection_id not in _listed(http)


def test_settings_default_to_an_empty_object(server: Server, account: Tenant):
    body = connection_body("retell")
    with server.client(account.token) as http:
        assert _create(http, body)["settings"] == {}


def _without(body: dict[str, Any], *path: str) -> dict[str, Any]:
    if len(path) == 1:
        return {k: v for k, v in body.items() if k != path[0]}
    return {**body, path[0]: _without(body[path[0]], *path[1:])}


def _with(body: dict[str, Any], value: Any, *path: str) -> dict[str, Any]:
    if len(path) == 1:
        return {**body, path[0]: value}
    return {**body, path[0]: _with(body.get(path[0], {}), value, *path[1:])}


VAPI = connection_body("vapi")
LIVEKIT = connection_body("livekit")
WEBHOOK = connection_body("webhook")
INVALID = {
    "no type": (_without(VAPI, "type"), ["type"]),
    "unknown type": (_with(VAPI, "plivo", "type"), ["type"]),
    "no name": (_without(VAPI, "name"), ["name"]),
    "empty name": (_with(VAPI, "", "name"), ["name"]),
    "long name": (_with(VAPI, "n" * 201, "name"), ["name"]),
    "a NUL in the name": (_with(VAPI, "Vapi\x00", "name"), ["name"]),
    "a line break in the name": (_with(VAPI, "Vapi\nprod", "name"), ["name"]),
    "no credentials": (_without(VAPI, "credentials"), ["credentials"]),
    "credentials not an object": (_with(VAPI, "key", "credentials"), ["credentials"]),
    "a credential missing": (
        _without(VAPI, "credentials", "api_key"),
        ["credentials.api_key"],
    ),
    "every credential missing": (
        _with(VAPI, {}, "credentials"),
        ["credentials.api_key", "credentials.webhook_secret"],
    ),
    "an empty credential": (_with(VAPI, "", "credentials", "api_key"), ["credentials.api_key"]),
    "a blank credential": (
        _with(VAPI, "  ", "credentials", "webhook_secret"),
        ["credentials.webhook_secret"],
    ),
    "a line break in a credential": (
        _with(VAPI, "key\r\nX-Injected: 1", "credentials", "api_key"),
        ["credentials.api_key"],
    ),
    "a number": (_with(VAPI, 42, "credentials", "api_key"), ["credentials.api_key"]),
    "a null": (_with(VAPI, None, "credentials", "api_key"), ["credentials.api_key"]),
    "a credential of another type": (
        _with(VAPI, "sid", "credentials", "account_sid"),
        ["credentials.account_sid"],
    ),
    "a huge credential": (
        _with(VAPI, "k" * 4097, "credentials", "api_key"),
        ["credentials.api_key"],
    ),
    "a webhook url that is not http": (
        _with(WEBHOOK, "ftp://runtime.example.com", "credentials", "url"),
        ["credentials.url"],
    ),
    "a livekit url without a host": (
        _with(LIVEKIT, "wss://", "credentials", "url"),
        ["credentials.url"],
    ),
    "settings not an object": (_with(VAPI, ["x"], "settings"), ["settings"]),
    "an api_base_url that is not a URL": (
        _with(VAPI, "api.vapi.ai", "settings", "api_base_url"),
        ["settings.api_base_url"],
    ),
    "an api_base_url of another scheme": (
        _with(VAPI, "file:///etc/passwd", "settings", "api_base_url"),
        ["settings.api_base_url"],
    ),
    "an api_base_url with a space": (
        _with(VAPI, "http://api vapi.ai", "settings", "api_base_url"),
        ["settings.api_base_url"],
    ),
    "an api_base_url not a string": (
        _with(VAPI, 8080, "settings", "api_base_url"),
        ["settings.api_base_url"],
    ),
    "a max_call_seconds of zero": (
        _with(VAPI, 0, "settings", "max_call_seconds"),
        ["settings.max_call_seconds"],
    ),
    "a max_call_seconds as text": (
        _with(VAPI, "600", "settings", "max_call_seconds"),
        ["settings.max_call_seconds"],
    ),
    "a NUL in a setting": (_with(VAPI, {"region": "eu\x00"}, "settings"), ["settings"]),
    "a NUL in a setting's name": (_with(VAPI, {"region\x00": "eu"}, "settings"), ["settings"]),
    "settings too large": (
        _with(VAPI, {f"k{n}": n for n in range(101)}, "settings"),
        ["settings"],
    ),
}


@pytest.mark.parametrize(("body", "fields"), INVALID.values(), ids=INVALID.keys())
def test_an_invalid_connection_is_400_naming_each_field(
    server: Server, account: Tenant, body: dict[str, Any], fields: list[str]
):
    with server.client(account.token) as http:
        answer = http.post("/provider-connection", json=body)
        assert answer.status_code == 400, answer.text
        named = sorted(item["field"] for item in answer.json()["errors"])
        assert named == fields
        assert all(field in answer.json()["detail"] for field in fields)
        assert _listed(http) == [], "nothing is stored"
        given = body.get("credentials")
        secrets = (
            [v for v in given.values() if isinstance(v, str)] if isinstance(given, dict) else []
        )
        assert not [s for s in secrets if len(s) > 3 and s in answer.text], "a credential answered"


def test_a_body_that_is_not_json_is_400(server: Server, account: Tenant):
    with server.client(account.token) as http:
        answer = http.post(
            "/provider-connection",
            content=b'{"type": ',
            headers={"Content-Type": "application/json"},
        )
    assert answer.status_code == 400
    assert answer.json()["errors"] == [{"field": "body", "reason": "invalid JSON"}]


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity"])
def test_settings_that_json_cannot_store_are_400(server: Server, account: Tenant, number: bytes):
    body = b'{"type": "retell", "name": "R", "credentials": {"api_key": "k"}, "settings": '
    with server.client(account.token) as http:
        answer = http.post(
            "/provider-connection",
            content=body + b'{"nested": {"x": [%s]}}}' % number,
            headers={"Content-Type": "application/json"},
        )
        assert answer.status_code == 400, answer.text
        assert [item["field"] for item in answer.json()["errors"]] == ["settings"]
        assert _listed(http) == []


def test_every_type_names_the_credentials_it_lacks(server: Server, account: Tenant):
    with server.client(account.token) as http:
        for type_ in ConnectionType:
            answer = http.post(
                "/provider-connection", json={"type": type_.value, "name": "x", "credentials": {}}
            )
            assert answer.status_code == 400, answer.text
            named = {item["field"] for item in answer.json()["errors"]}
            assert named == {f"credentials.{c}" for c in FIELDS[type_].credentials}


def test_the_list_pages_newest_first_without_the_deleted_ones(server: Server, account: Tenant):
    with server.client(account.token) as http:
        made = [_create(http, connection_body(name=f"c{n}"))["connection_id"] for n in range(5)]
        assert http.delete(f"/provider-connection/{made[2]}").status_code == 204
        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = http.get("/provider-connection", params=params).json()
            assert len(page["connections"]) <= 2
            seen += [c["connection_id"] for c in page["connections"]]
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == [made[4], made[3], made[1], made[0]]
        assert pages == 2
        for cursor in ("not-a-cursor", "W10"):
            refused = http.get("/provider-connection", params={"cursor": cursor})
            assert refused.status_code == 400
            assert refused.json()["errors"][0]["field"] == "cursor"
        assert http.get("/provider-connection", params={"limit": 0}).status_code == 400
        assert http.get("/provider-connection", params={"limit": 201}).status_code == 400


def test_deleting_a_connection_a_live_playbook_uses_is_409(
    server: Server, database: Database, account: Tenant
):
    with server.client(account.token) as http:
        connection_id = _create(http, connection_body())["connection_id"]
        playbook_using(database, account, connection_id, archived=True)
        live = playbook_using(database, account, connection_id)

        refused = http.delete(f"/provider-connection/{connection_id}")
        assert refused.status_code == 409, refused.text
        assert str(live) in refused.json()["detail"]
        assert http.get(f"/provider-connection/{connection_id}").status_code == 200
        assert connection_id in _listed(http)

        archive_playbook(database, live)
        assert http.delete(f"/provider-connection/{connection_id}").status_code == 204
        assert connection_id not in _listed(http)


def test_another_accounts_connection_is_404(server: Server, database: Database, account: Tenant):
    other = make_account(database, name="Other")
    with server.client(account.token) as mine, server.client(other.token) as theirs:
        connection_id = _create(mine, connection_body())["connection_id"]
        for method in ("GET", "DELETE"):
            answer = theirs.request(method, f"/provider-connection/{connection_id}")
            assert answer.status_code == 404, answer.text
        assert _listed(theirs) == []
        assert mine.get(f"/provider-connection/{connection_id}").status_code == 200
        assert mine.get(f"/provider-connection/{uuid.uuid4()}").status_code == 404
        assert mine.get("/provider-connection/not-an-id").status_code == 404


def test_a_server_without_a_secret_key_refuses_to_store_credentials(
    database_url: str, database: Database, account: Tenant
):
    with serving_api(database_url, secret_key=None) as url:
        answer = httpx.post(
            f"{url}/provider-connection", json=connection_body(), headers=account.headers
        )
        assert answer.status_code == 400, answer.text
        assert "OUTBOUND_SECRET_KEY" in answer.json()["detail"]
        listed = httpx.get(f"{url}/provider-connection", headers=account.headers)
        assert listed.json() == {"connections": [], "next_cursor": None}
    with database.engine.connect() as conn:
        rows = conn.execute(
            select(tables.provider_connections.c.id).where(
                tables.provider_connections.c.account_id == account.id
            )
        ).all()
    assert rows == []


def test_the_webhook_url_is_under_the_public_url(database_url: str, account: Tenant):
    public = "https://outbound.example.com/"  # its trailing slash is not doubled
    with serving_api(database_url, secret_key="another key", public_url=public) as url:
        answer = httpx.post(
            f"{url}/provider-connection", json=connection_body("twilio"), headers=account.headers
        )
    assert answer.status_code == 201, answer.text
    connection_id = answer.json()["connection_id"]
    assert answer.json()["webhook_url"] == (
        f"https://outbound.example.com/provider/connection/{connection_id}/events"
    )
