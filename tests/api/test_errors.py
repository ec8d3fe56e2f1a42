"""Each error code of the seed's table, with a request that causes it."""

import uuid

import pytest
from sqlalchemy import func, select, text

from outbound.services import accounts
from outbound.store import tables
from outbound.store.database import Database
from tests.factories import Tenant, make_account
from tests.servers import Server


def _post(server: Server, token: str | None, body: object, raw: bytes | None = None):
    with server.client(token) as http:
        if raw is not None:
            return http.post("/campaign", content=raw, headers={"Content-Type": "application/json"})
        return http.post("/campaign", json=body)


def _valid(account: Tenant, **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "playbook_id": str(account.playbook_id),
        "contacts": [{"phone": "+14155550100"}],
    }
    body.update(changes)
    return body


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"playbook_id": None}, "playbook_id"),
        ({"playbook_id": "not-a-uuid"}, "playbook_id"),
        ({"contacts": []}, "contacts"),
        ({"contacts": None}, "contacts"),
        ({"launch_at": "next tuesday"}, "launch_at"),
        ({"recall": "[120, 30]"}, "recall"),
        ({"recall": [-5]}, "recall"),
        ({"recall": "soon"}, "recall"),
    ],
)
def test_400_names_the_field(
    server: Server, account: Tenant, change: dict[str, object], field: str
):
    body = _valid(account, **change)
    body = {k: v for k, v in body.items() if v is not None}
    response = _post(server, account.token, body)
    assert response.status_code == 400, response.text
    payload = response.json()
    assert field in payload["detail"] or any(
        e["field"].startswith(field) for e in payload["errors"]
    )


def test_400_lists_every_bad_contact_by_index(server: Server, account: Tenant):
    contacts = [
        {"phone": "+14155550100"},
        {"phone": "not a phone"},
        {"first_name": "No phone"},
        {"phone": "600000000"},
        {"phone": "600000000", "country": "ES"},
        {"phone": "+1555"},
    ]
    response = _post(server, account.token, _valid(account, contacts=contacts))
    assert response.status_code == 400, response.text
    errors = response.json()["errors"]
    assert sorted(e["index"] for e in errors) == [1, 2, 3, 5]
    assert all(e["field"] == "phone" and e["reason"] for e in errors)


def test_a_large_list_names_its_bad_contacts_from_every_chunk(
    server: Server, account: Tenant, database: Database
):
    """Above 2,000 contacts the list is validated by the pool, chunk by chunk."""
    contacts: list[dict[str, object]] = [
        {"phone": f"+1415555{n:04d}", "first_name": "Ada"} for n in range(2500)
    ]
    contacts[10] = {"phone": "not a phone"}
    contacts[2400] = {"phone": "+1555"}  # too short to be a number
    response = _post(server, account.token, _valid(account, contacts=contacts))
    assert response.status_code == 400, response.text
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [
        (10, "phone"),
        (2400, "phone"),
    ]
    contacts[2499] = {"phone": "+14155550000", "email": "x" * 400}  # breaks the schema
    response = _post(server, account.token, _valid(account, contacts=contacts))
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]  # schema errors come first, alone
    assert (error["field"], error["index"]) == ("contacts[2499].email", 2499)
    assert "320" in error["reason"]
    with database.engine.connect() as conn:
        stored = conn.execute(
            select(func.count())
            .select_from(tables.contacts)
            .where(tables.contacts.c.account_id == account.id)
        ).scalar_one()
    assert stored == 0


def test_400_for_malformed_json(server: Server, account: Tenant):
    response = _post(server, account.token, None, raw=b'{"playbook_id": ')
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_400_for_numbers_json_does_not_have(server: Server, account: Tenant, constant: str):
    """Python's JSON parser reads them; JSON and PostgreSQL's jsonb do not."""
    raw = (
        f'{{"playbook_id": "{account.playbook_id}", '
        f'"contacts": [{{"phone": "+14155550100", "custom_fields": {{"score": {constant}}}}}]}}'
    )
    response = _post(server, account.token, None, raw=raw.encode())
    assert response.status_code == 400, response.text
    assert response.json()["detail"] == "malformed JSON body"


def test_400_for_an_empty_body(server: Server, account: Tenant):
    response = _post(server, account.token, None, raw=b"")
    assert response.status_code == 400, response.text
    assert response.json()["errors"] == [{"field": "body", "reason": "required"}]


def test_400_for_a_body_that_is_not_an_object(server: Server, account: Tenant):
    response = _post(server, account.token, ["not", "an", "object"])
    assert response.status_code == 400


def test_a_rejected_request_stores_nothing(server: Server, account: Tenant, database: Database):
    contacts = [{"phone": "+14155550177"}, {"phone": "bad"}]
    assert _post(server, account.token, _valid(account, contacts=contacts)).status_code == 400
    with database.engine.connect() as conn:
        for table in (tables.contacts, tables.campaigns, tables.calls):
            count = conn.execute(
                select(func.count()).select_from(table).where(table.c.account_id == account.id)
            )
            assert count.scalar_one() == 0, table.name


@pytest.mark.parametrize("token", [None, "", "ob_not-a-real-token"])
def test_401_without_a_valid_token(server: Server, account: Tenant, token: str | None):
    response = _post(server, token, _valid(account))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["detail"]


def test_401_with_a_revoked_token(server: Server, account: Tenant, database: Database):
    assert accounts.revoke_token(database, account.token)
    assert _post(server, account.token, _valid(account)).status_code == 401


def test_403_for_a_playbook_of_another_account(server: Server, account: Tenant, database: Database):
    other = make_account(database, "Globex")
    response = _post(server, account.token, _valid(account, playbook_id=str(other.playbook_id)))
    assert response.status_code == 403
    assert "playbook" in response.json()["detail"]


def test_403_for_an_unknown_playbook(server: Server, account: Tenant):
    response = _post(server, account.token, _valid(account, playbook_id=str(uuid.uuid4())))
    assert response.status_code == 403


def test_500_has_no_trace_in_the_body(server: Server, account: Tenant, database: Database):
    with server.client(account.token) as http:
        created = http.post("/campaign", json=_valid(account, launch_at="2099-01-01T00:00:00"))
        assert created.status_code == 202
        with database.engine.begin() as conn:
            conn.execute(text("ALTER TABLE call_attempts RENAME TO call_attempts_gone"))
        try:
            response = http.get(f"/campaign/{created.json()['campaign_id']}/calls")
        finally:
            with database.engine.begin() as conn:
                conn.execute(text("ALTER TABLE call_attempts_gone RENAME TO call_attempts"))
    assert response.status_code == 500
    assert response.json() == {"detail": "internal server error", "errors": []}
    assert "Traceback" not in response.text
