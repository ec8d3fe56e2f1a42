"""Limits on a request: body size (413), contacts per request, field lengths, custom fields (400).

The limits are checked before the database is touched, so one SQLite server covers them; it
runs with a 1 MiB body limit to keep the oversized bodies small.
"""

import contextlib
import json
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from outbound.config import Settings
from outbound.domain.contacts import CONTACT_FIELDS
from outbound.schemas.limits import (
    MAX_CONTACTS,
    MAX_CUSTOM_BYTES,
    MAX_CUSTOM_DEPTH,
    MAX_CUSTOM_FIELDS,
    MAX_CUSTOM_KEY_LENGTH,
    MAX_DNC_PHONES,
    MAX_EMAIL_LENGTH,
    MAX_FIELD_LENGTH,
    MAX_PHONE_LENGTH,
    MAX_RECALL,
)
from outbound.store.database import Database
from tests.conftest import migrated_database
from tests.factories import Tenant, make_account, phone
from tests.servers import Server, start_server

MAX_BODY = 1024 * 1024  # the test server's OUTBOUND_MAX_BODY_BYTES
NOTES_FRAME = '{"notes":""}'  # custom_fields with one key, as compact JSON, less the value


@pytest.fixture(scope="module")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Database]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('limits') / 'outbound.db'}"
    database = migrated_database(url)
    yield url, database
    database.dispose()


@pytest.fixture(scope="module")
def small_server(
    sqlite_engine: tuple[str, Database], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    env = {"OUTBOUND_MAX_BODY_BYTES": str(MAX_BODY)}
    with start_server(sqlite_engine[0], tmp_path_factory.mktemp("server"), extra_env=env) as up:
        yield up


@pytest.fixture
def tenant(sqlite_engine: tuple[str, Database]) -> Tenant:
    return make_account(sqlite_engine[1])


def _campaign(tenant: Tenant, contacts: list[Any], **more: Any) -> dict[str, Any]:
    return {
        "playbook_id": str(tenant.playbook_id),
        "contacts": contacts,
        "launch_at": "2099-01-01T00:00:00Z",
        **more,
    }


def _raw_exchange(server: Server, request: bytes, then: bytes = b"") -> bytes:
    """Send bytes on a fresh connection; return what the server answers before it closes."""
    address = urlsplit(server.url)
    answer = b""
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(request)
        # The server closes without reading the rest, which the kernel reports as a reset.
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            sock.sendall(then)
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                answer += chunk
    return answer


def _status_and_body(answer: bytes) -> tuple[int, dict[str, Any]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body)


def _assert_413(status: int, body: dict[str, Any]) -> None:
    assert status == 413
    assert body == {"detail": f"request body too large: at most {MAX_BODY} bytes", "errors": []}


# --- body size -------------------------------------------------------------------------------


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_sent(
    small_server: Server, tenant: Tenant
):
    # Content-Length announces 1 TB and nothing follows: only a server that never reads the
    # body can answer at all.
    request = (
        b"POST /campaign HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {tenant.token}\r\nContent-Length: {10**12}\r\n\r\n".encode()
    )
    _assert_413(*_status_and_body(_raw_exchange(small_server, request)))


def test_a_body_over_the_limit_is_413_with_the_error_body(small_server: Server, tenant: Tenant):
    padding = "x" * MAX_BODY
    with small_server.client(tenant.token) as http:
        response = http.post("/campaign", json=_campaign(tenant, [{"phone": padding}]))
    _assert_413(response.status_code, response.json())


def test_a_chunked_body_is_counted_as_it_streams(small_server: Server, tenant: Tenant):
    # No Content-Length: the body arrives in chunks, and the last chunk never comes. The
    # server answers once the bytes received pass the limit.
    chunk = b"x" * 65536
    head = (
        b"POST /dnc HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {tenant.token}\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
    )
    chunks = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    count = MAX_BODY // len(chunk) + 1
    _assert_413(*_status_and_body(_raw_exchange(small_server, head, chunks * count)))


def test_a_chunked_body_over_the_limit_through_a_client(small_server: Server, tenant: Tenant):
    def body() -> Iterator[bytes]:
        yield b'{"phones": ["'
        for _ in range(MAX_BODY // 4096 + 1):
            yield b"1" * 4096
        yield b'"]}'

    with small_server.client(tenant.token) as http:
        response = http.post("/dnc", content=body(), headers={"Content-Type": "application/json"})
    _assert_413(response.status_code, response.json())


def test_a_chunked_body_within_the_limit_is_read(small_server: Server, tenant: Tenant):
    def body() -> Iterator[bytes]:
        yield b'{"phones": ['
        yield b", ".join(json.dumps(phone(n)).encode() for n in range(3))
        yield b"]}"

    with small_server.client(tenant.token) as http:
        response = http.post("/dnc", content=body(), headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert len(response.json()["phones"]) == 3


def test_a_body_of_exactly_the_limit_is_accepted(small_server: Server, tenant: Tenant):
    payload = json.dumps({"phones": [phone(7)]}).encode()
    body = payload + b" " * (MAX_BODY - len(payload))
    assert len(body) == MAX_BODY
    with small_server.client(tenant.token) as http:
        response = http.post("/dnc", content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 200, response.text
        response = http.post(
            "/dnc", content=body + b" ", headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 413


def test_the_default_limit_fits_the_most_contacts_with_every_field():
    contact: dict[str, Any] = {name: f"{name} of a contact, typical" for name in CONTACT_FIELDS}
    contact |= {
        "phone": "+34 912 345 678",
        "email": "firstname.lastname@a-company-name.example.com",
        "custom_fields": {f"field_{n}": f"a custom value number {n}" for n in range(20)},
    }
    one = len(json.dumps(contact, ensure_ascii=False).encode()) + 2  # ", " between contacts
    assert one * MAX_CONTACTS < Settings().max_body_bytes


# --- contacts per request --------------------------------------------------------------------


def test_more_contacts_than_the_maximum_is_400_naming_contacts(
    small_server: Server, tenant: Tenant
):
    too_many = [{}] * (MAX_CONTACTS + 1)
    with small_server.client(tenant.token) as http:
        created = http.post("/campaign", json=_campaign(tenant, [{"phone": phone(1)}]))
        assert created.status_code == 202, created.text
        answers = [
            http.post("/campaign", json=_campaign(tenant, too_many)),
            http.post(
                f"/campaign/{created.json()['campaign_id']}/contacts",
                json={"contacts": too_many},
            ),
        ]
    for response in answers:
        assert response.status_code == 400, response.text
        body = response.json()
        assert body["detail"] == "invalid request: contacts"
        assert body["errors"] == [
            {
                "field": "contacts",
                "reason": f"List should have at most {MAX_CONTACTS} items after validation, "
                f"not {MAX_CONTACTS + 1}",
            }
        ]


def test_the_maximum_number_of_contacts_passes_the_count_limit(
    small_server: Server, tenant: Tenant
):
    # Contacts without a phone: the count is accepted and each contact is refused on its own.
    with small_server.client(tenant.token) as http:
        response = http.post("/campaign", json=_campaign(tenant, [{}] * MAX_CONTACTS))
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert len(errors) == MAX_CONTACTS
    assert errors[-1] == {
        "index": MAX_CONTACTS - 1,
        "field": "phone",
        "reason": errors[-1]["reason"],
    }


# --- string fields ---------------------------------------------------------------------------


def _longest(field: str) -> int:
    return {"phone": MAX_PHONE_LENGTH, "email": MAX_EMAIL_LENGTH}.get(field, MAX_FIELD_LENGTH)


def test_every_contact_text_field_has_a_maximum_length(small_server: Server, tenant: Tenant):
    fields = ["phone", *CONTACT_FIELDS]
    contacts = [
        {"phone": phone(n), field: "7" * (_longest(field) + 1)} for n, field in enumerate(fields)
    ]
    with small_server.client(tenant.token) as http:
        response = http.post("/campaign", json=_campaign(tenant, contacts))
    assert response.status_code == 400, response.text
    errors = response.json()["errors"]
    assert [(e["index"], e["field"]) for e in errors] == [
        (n, f"contacts[{n}].{field}") for n, field in enumerate(fields)
    ]
    assert all(
        f"at most {_longest(f)} characters" in e["reason"]
        for e, f in zip(errors, fields, strict=True)
    )


def test_fields_at_their_maximum_length_are_accepted(small_server: Server, tenant: Tenant):
    contact = {name: "a" * MAX_FIELD_LENGTH for name in CONTACT_FIELDS if name != "timezone"}
    contact |= {"phone": phone(8), "email": "e" * MAX_EMAIL_LENGTH, "country": "US"}
    with small_server.client(tenant.token) as http:
        response = http.post("/campaign", json=_campaign(tenant, [contact]))
        assert response.status_code == 202, response.text


# --- custom fields ---------------------------------------------------------------------------


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"level": value}
    return value


@pytest.mark.parametrize(
    ("custom_fields", "reason"),
    [
        (
            {f"k{n}": n for n in range(MAX_CUSTOM_FIELDS + 1)},
            f"custom_fields has {MAX_CUSTOM_FIELDS + 1} keys; at most {MAX_CUSTOM_FIELDS}",
        ),
        (
            {"k" * (MAX_CUSTOM_KEY_LENGTH + 1): 1},
            f"custom_fields has a key of {MAX_CUSTOM_KEY_LENGTH + 1} characters; "
            f"at most {MAX_CUSTOM_KEY_LENGTH}",
        ),
        (
            {"outer": {"k" * (MAX_CUSTOM_KEY_LENGTH + 1): 1}},
            f"custom_fields has a key of {MAX_CUSTOM_KEY_LENGTH + 1} characters; "
            f"at most {MAX_CUSTOM_KEY_LENGTH}",
        ),
        (
            _nested(MAX_CUSTOM_DEPTH + 1),
            f"custom_fields is nested more than {MAX_CUSTOM_DEPTH} levels deep",
        ),
        (
            {"list": [[[[[1]]]]]},
            f"custom_fields is nested more than {MAX_CUSTOM_DEPTH} levels deep",
        ),
        (
            {"notes": "n" * MAX_CUSTOM_BYTES},
            f"custom_fields is {MAX_CUSTOM_BYTES + len(NOTES_FRAME)} bytes as JSON; "
            f"at most {MAX_CUSTOM_BYTES}",
        ),
    ],
    ids=["keys", "key-length", "nested-key-length", "depth", "depth-of-lists", "size"],
)
def test_custom_fields_over_a_limit_are_400(
    small_server: Server, tenant: Tenant, custom_fields: dict[str, Any], reason: str
):
    contacts = [{"phone": phone(1)}, {"phone": phone(2), "custom_fields": custom_fields}]
    with small_server.client(tenant.token) as http:
        response = http.post("/campaign", json=_campaign(tenant, contacts))
    assert response.status_code == 400, response.text
    assert response.json() == {
        "detail": "invalid request: contacts[1].custom_fields",
        "errors": [{"field": "contacts[1].custom_fields", "reason": reason, "index": 1}],
    }


def test_custom_fields_at_their_limits_are_accepted(small_server: Server, tenant: Tenant):
    at_limits: dict[str, Any] = {f"k{n}": n for n in range(MAX_CUSTOM_FIELDS - 2)}
    at_limits["k" * MAX_CUSTOM_KEY_LENGTH] = _nested(MAX_CUSTOM_DEPTH - 1)
    size = len(json.dumps(at_limits, separators=(",", ":")).encode())
    at_limits["notes"] = "n" * (MAX_CUSTOM_BYTES - size - len(',"notes":""'))
    assert len(json.dumps(at_limits, separators=(",", ":")).encode()) == MAX_CUSTOM_BYTES
    contacts = [{"phone": phone(3), "custom_fields": at_limits}]
    with small_server.client(tenant.token) as http:
        response = http.post("/campaign", json=_campaign(tenant, contacts))
        assert response.status_code == 202, response.text
        contact_id = http.get(f"/campaign/{response.json()['campaign_id']}/calls").json()["calls"][
            0
        ]["contact_id"]
        stored = http.get(f"/contact/{contact_id}").json()["custom_fields"]
    assert stored == at_limits


# --- recall and do-not-call ------------------------------------------------------------------


def test_recall_has_at_most_its_maximum_of_offsets(small_server: Server, tenant: Tenant):
    contacts = [{"phone": phone(4)}]
    with small_server.client(tenant.token) as http:
        longest = list(range(MAX_RECALL))
        ok = http.post("/campaign", json=_campaign(tenant, contacts, recall=longest))
        assert ok.status_code == 202, ok.text
        for too_many in (list(range(MAX_RECALL + 1)), json.dumps(list(range(MAX_RECALL + 1)))):
            response = http.post("/campaign", json=_campaign(tenant, contacts, recall=too_many))
            assert response.status_code == 400, response.text
            assert response.json()["errors"] == [
                {
                    "field": "recall",
                    "reason": f"recall has {MAX_RECALL + 1} offsets; at most {MAX_RECALL}",
                }
            ]


def test_do_not_call_takes_at_most_its_maximum_of_phones(small_server: Server, tenant: Tenant):
    with small_server.client(tenant.token) as http:
        response = http.post("/dnc", json={"phones": ["1"] * (MAX_DNC_PHONES + 1)})
        assert response.status_code == 400, response.text
        assert [e["field"] for e in response.json()["errors"]] == ["phones"]
        assert f"at most {MAX_DNC_PHONES} items" in response.json()["errors"][0]["reason"]

        long_phone = "1" * (MAX_PHONE_LENGTH + 1)
        response = http.post("/dnc", json={"phones": [phone(5), long_phone]})
        assert response.status_code == 400, response.text
        assert response.json()["errors"] == [
            {
                "field": "phones[1]",
                "reason": f"String should have at most {MAX_PHONE_LENGTH} characters",
                "index": 1,
            }
        ]


def test_no_limit_answers_fastapis_422(small_server: Server, tenant: Tenant):
    bodies: list[Any] = [
        _campaign(tenant, [{"phone": 5 * [1]}]),
        _campaign(tenant, [{"phone": phone(6), "custom_fields": "not an object"}]),
        _campaign(tenant, [{"phone": phone(6), "custom_fields": {"k": 1} | _nested(40)}]),
        _campaign(tenant, "not a list"),
    ]
    with small_server.client(tenant.token) as http:
        for body in bodies:
            response = http.post("/campaign", json=body)
            assert response.status_code == 400, response.text
            assert set(response.json()) == {"detail", "errors"}


def test_a_deeply_nested_body_is_400_not_a_crash(small_server: Server, tenant: Tenant):
    deep = '{"a":' * 100_000 + "1" + "}" * 100_000
    with small_server.client(tenant.token) as http:
        response = http.post(
            "/campaign", content=deep.encode(), headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"detail", "errors"}


def test_the_limits_server_is_healthy_after_all(small_server: Server):
    assert httpx.get(f"{small_server.url}/healthz").status_code == 200
    assert "Traceback" not in small_server.log()
