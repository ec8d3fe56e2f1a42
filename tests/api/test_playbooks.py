"""Playbooks over HTTP: created, read, listed, changed and archived; each bad field is a 400
naming it; another account's playbook is a 404 on every route."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select

from outbound.store import tables
from outbound.store.database import Database
from tests.factories import Tenant, make_account, phone
from tests.servers import Server, wait_for

PLAYBOOK_KEYS = {
    "playbook_id",
    "name",
    "first_message",
    "instructions",
    "voice",
    "language",
    "caller_id",
    "dispositions",
    "data_fields",
    "voicemail",
    "provider",
    "created_at",
    "updated_at",
    "archived_at",
}
FULL = {
    "name": "Renewals",
    "first_message": "Hi {{first_name}}, this is Ada from Acme.",
    "instructions": "Ask about the {{custom.plan}} plan.",
    "voice": "ada",
    "language": "en-US",
    "caller_id": "+14155550123",
    "dispositions": [
        {"name": "renewed", "description": "Said yes", "action": "complete"},
        {"name": "call_back", "action": "callback"},
        {"name": "not_now", "action": "retry"},
        {"name": "do_not_call", "action": "dnc"},
    ],
    "data_fields": [
        {"name": "budget", "type": "number", "description": "Yearly budget"},
        {"name": "seats", "type": "integer"},
        {"name": "decision_maker", "type": "boolean"},
        {"name": "meeting_at", "type": "datetime"},
        {"name": "notes", "type": "string"},
    ],
    "voicemail": {"action": "leave_message", "message": "Hi {{first_name}}", "then": "complete"},
}


def _create(http: httpx.Client, **body: Any) -> dict[str, Any]:
    response = http.post("/playbook", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _live_ids(http: httpx.Client) -> list[str]:
    return [
        p["playbook_id"] for p in http.get("/playbook", params={"limit": 200}).json()["playbooks"]
    ]


def _connection(database: Database, account_id: uuid.UUID, kind: str, deleted: bool = False) -> str:
    """A provider connection of the account, written as its routes store one."""
    connection_id = uuid.uuid4()
    now = datetime.now(UTC)
    with database.transaction() as conn:
        conn.execute(
            insert(tables.provider_connections).values(
                id=connection_id,
                account_id=account_id,
                type=kind,
                name=f"{kind} connection",
                credentials="(encrypted)",
                settings={},
                created_at=now,
                deleted_at=now if deleted else None,
            )
        )
    return str(connection_id)


def test_a_playbook_is_created_and_read_in_the_contracts_shape(server: Server, account: Tenant):
    with server.client(account.token) as http:
        created = _create(http, **FULL)
        assert set(created) == PLAYBOOK_KEYS
        assert {k: created[k] for k in FULL if k not in ("dispositions", "data_fields")} == {
            k: v for k, v in FULL.items() if k not in ("dispositions", "data_fields")
        }
        assert created["dispositions"] == [
            {"description": None, **d} if "description" not in d else d
            for d in FULL["dispositions"]
        ]
        assert created["data_fields"] == [
            {"description": None, **f} if "description" not in f else f for f in FULL["data_fields"]
        ]
        assert created["provider"] is None and created["archived_at"] is None
        assert created["created_at"] == created["updated_at"]
        assert http.get(f"/playbook/{created['playbook_id']}").json() == created
        assert _live_ids(http)[0] == created["playbook_id"]


def test_a_playbook_of_a_name_alone_has_the_defaults(server: Server, account: Tenant):
    with server.client(account.token) as http:
        created = _create(http, name="  Minimal  ", caller_id="+1 415 555 0123")
    assert created["name"] == "Minimal"
    assert created["caller_id"] == "+14155550123"  # normalized to E.164
    assert created["dispositions"] == [] and created["data_fields"] == []
    assert created["voicemail"] == {"action": "hangup", "message": None, "then": "retry"}
    assert all(created[k] is None for k in ("first_message", "instructions", "voice", "language"))


def test_a_created_playbook_takes_campaigns(server: Server, account: Tenant):
    with server.client(account.token) as http:
        playbook = _create(http, name="Calls")
        answer = http.post(
            "/campaign",
            json={"playbook_id": playbook["playbook_id"], "contacts": [{"phone": phone(1)}]},
        )
        assert answer.status_code == 202, answer.text


def _many(item: dict[str, Any], count: int) -> list[dict[str, Any]]:
    return [{**item, "name": f"item_{n}"} for n in range(count)]


DISPOSITION = {"name": "done", "action": "complete"}
DATA_FIELD = {"name": "budget", "type": "number"}
INVALID = [
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"name": None}, "name"),
    ({"first_message": "Hi {{ first_name"}, "first_message"),
    ({"first_message": "x" * 10_001}, "first_message"),
    ({"instructions": "{% if %}"}, "instructions"),
    ({"caller_id": "4155550123"}, "caller_id"),
    ({"caller_id": "+1"}, "caller_id"),
    ({"caller_id": 14155550123}, "caller_id"),
    ({"voice": "v" * 101}, "voice"),
    ({"language": "l" * 36}, "language"),
    ({"dispositions": {"name": "done"}}, "dispositions"),
    ({"dispositions": _many(DISPOSITION, 51)}, "dispositions"),
    ({"dispositions": [DISPOSITION, DISPOSITION | {"name": "b"}, {"name": "c", "action": "x"}]},
     "dispositions[2].action"),
    ({"dispositions": [{"name": "c"}]}, "dispositions[0].action"),
    ({"dispositions": [{"name": "Done", "action": "complete"}]}, "dispositions[0].name"),
    ({"dispositions": [{"name": "9lives", "action": "complete"}]}, "dispositions[0].name"),
    ({"dispositions": [{"name": "a" * 65, "action": "complete"}]}, "dispositions[0].name"),
    ({"dispositions": [{"action": "complete"}]}, "dispositions[0].name"),
    ({"dispositions": [DISPOSITION, DISPOSITION]}, "dispositions[1].name"),
    ({"dispositions": [DISPOSITION | {"description": "d" * 1001}]}, "dispositions[0].description"),
    ({"data_fields": _many(DATA_FIELD, 51)}, "data_fields"),
    ({"data_fields": [DATA_FIELD | {"type": "text"}]}, "data_fields[0].type"),
    ({"data_fields": [{"type": "string"}]}, "data_fields[0].name"),
    ({"data_fields": [DATA_FIELD | {"name": "has space"}]}, "data_fields[0].name"),
    ({"data_fields": [DATA_FIELD, DATA_FIELD | {"type": "string"}]}, "data_fields[1].name"),
    ({"voicemail": {"action": "leave_message"}}, "voicemail.message"),
    ({"voicemail": {"action": "leave_message", "message": "Hi {{"}}, "voicemail.message"),
    ({"voicemail": {"action": "sing"}}, "voicemail.action"),
    ({"voicemail": {"message": "Hi"}}, "voicemail.action"),
    ({"voicemail": {"action": "hangup", "then": "later"}}, "voicemail.then"),
    ({"voicemail": "hangup"}, "voicemail"),
    ({"provider": {"assistant_id": "a"}}, "provider.connection_id"),
    ({"provider": {"connection_id": "not-a-uuid"}}, "provider.connection_id"),
    ({"provider": {"connection_id": str(uuid.uuid4())}}, "provider.connection_id"),
]  # fmt: skip


@pytest.mark.parametrize(("fields", "field"), INVALID, ids=[f for _, f in INVALID])
def test_each_invalid_field_is_a_400_naming_it(
    server: Server, account: Tenant, fields: dict[str, Any], field: str
):
    with server.client(account.token) as http:
        before = _live_ids(http)
        answer = http.post("/playbook", json={"name": "Valid", **fields})
        assert answer.status_code == 400, answer.text
        assert field in [e["field"] for e in answer.json()["errors"]], answer.text
        assert field in answer.json()["detail"]
        assert _live_ids(http) == before  # nothing stored
        # PATCH refuses the same field, and leaves the playbook as it was.
        url = f"/playbook/{account.playbook_id}"
        stored = http.get(url).json()
        patched = http.patch(url, json=fields)
        assert patched.status_code == 400, patched.text
        assert field in [e["field"] for e in patched.json()["errors"]], patched.text
        assert http.get(url).json() == stored


def test_a_playbook_without_a_name_is_a_400_naming_it(server: Server, account: Tenant):
    with server.client(account.token) as http:
        answer = http.post("/playbook", json={"first_message": "Hi"})
    assert answer.status_code == 400
    assert answer.json()["errors"] == [{"field": "name", "reason": "required"}]


def test_malformed_and_missing_bodies_are_400(server: Server, account: Tenant):
    with server.client(account.token) as http:
        for content in (b"", b"{", b"[]", b'"name"'):
            answer = http.post(
                "/playbook", content=content, headers={"Content-Type": "application/json"}
            )
            assert answer.status_code == 400, (content, answer.text)
            assert [e["field"] for e in answer.json()["errors"]] == ["body"]


def test_a_provider_names_a_live_connection_of_the_account_and_its_types_fields(
    server: Server, database: Database, account: Tenant
):
    vapi = _connection(database, account.id, "vapi")
    gone = _connection(database, account.id, "vapi", deleted=True)
    foreign = _connection(database, make_account(database, "Other").id, "vapi")
    bland = _connection(database, account.id, "bland")
    livekit = _connection(database, account.id, "livekit")
    webhook = _connection(database, account.id, "webhook")
    vapi_fields = {"assistant_id": "asst_1", "phone_number_id": "pn_1"}
    refused = [
        ({"connection_id": gone, **vapi_fields}, "provider.connection_id"),
        ({"connection_id": foreign, **vapi_fields}, "provider.connection_id"),
        ({"connection_id": vapi, "assistant_id": "asst_1"}, "provider.phone_number_id"),
        ({"connection_id": vapi, "assistant_id": "a", "phone_number_id": " "},
         "provider.phone_number_id"),
        ({"connection_id": vapi, **vapi_fields, "agent_id": "a"}, "provider.agent_id"),
        ({"connection_id": vapi, **vapi_fields, "assistant_id": 7}, "provider.assistant_id"),
        ({"connection_id": bland, "from_number": "+14155550123"}, "provider.pathway_id"),
        ({"connection_id": bland, "from_number": "+1415", "pathway_id": "p", "task": "t"},
         "provider.pathway_id"),
        ({"connection_id": bland, "task": "Sell"}, "provider.from_number"),
        ({"connection_id": livekit, "room_prefix": "r"}, "provider.sip_trunk_id"),
    ]  # fmt: skip
    accepted = [
        {"connection_id": vapi, **vapi_fields},
        {"connection_id": bland, "from_number": "+14155550123", "task": "Sell the plan."},
        {"connection_id": livekit, "sip_trunk_id": "ST_1"},
        {"connection_id": livekit, "sip_trunk_id": "ST_1", "room_prefix": "o-", "agent_name": "a"},
        {"connection_id": webhook},
    ]
    with server.client(account.token) as http:
        for provider, field in refused:
            answer = http.post("/playbook", json={"name": "P", "provider": provider})
            assert answer.status_code == 400, (provider, answer.text)
            assert field in [e["field"] for e in answer.json()["errors"]], (provider, answer.text)
        for provider in accepted:
            created = _create(http, name="P", provider=provider)
            assert created["provider"] == provider
            assert http.get(f"/playbook/{created['playbook_id']}").json()["provider"] == provider
        assert _stored_connection(database, created["playbook_id"]) == uuid.UUID(webhook)
        cleared = http.patch(f"/playbook/{created['playbook_id']}", json={"provider": None})
        assert cleared.status_code == 200 and cleared.json()["provider"] is None
        assert _stored_connection(database, created["playbook_id"]) is None
        moved = http.patch(
            f"/playbook/{created['playbook_id']}", json={"provider": accepted[0]}
        ).json()
        assert moved["provider"] == accepted[0]
        assert _stored_connection(database, created["playbook_id"]) == uuid.UUID(vapi)


def _stored_connection(database: Database, playbook_id: str) -> uuid.UUID | None:
    with database.reading() as conn:
        return conn.execute(
            select(tables.playbooks.c.connection_id).where(
                tables.playbooks.c.id == uuid.UUID(playbook_id)
            )
        ).scalar_one()


def test_patch_replaces_the_fields_given_and_lists_whole(server: Server, account: Tenant):
    with server.client(account.token) as http:
        created = _create(http, **FULL)
        url = f"/playbook/{created['playbook_id']}"
        one = [{"name": "interested", "description": None, "action": "callback"}]
        patched = http.patch(url, json={"dispositions": one, "voice": "grace"})
        assert patched.status_code == 200, patched.text
        changed = patched.json()
        assert changed["dispositions"] == one
        assert changed["voice"] == "grace"
        unchanged = set(PLAYBOOK_KEYS) - {"dispositions", "voice", "updated_at"}
        assert {k: changed[k] for k in unchanged} == {k: created[k] for k in unchanged}
        assert changed["updated_at"] > created["updated_at"]
        assert http.get(url).json() == changed

        cleared = http.patch(
            url,
            json={"first_message": None, "data_fields": None, "voicemail": None, "name": "New"},
        ).json()
        assert cleared["first_message"] is None and cleared["data_fields"] == []
        assert cleared["voicemail"] == {"action": "hangup", "message": None, "then": "retry"}
        assert cleared["name"] == "New" and cleared["dispositions"] == one
        assert cleared["updated_at"] > changed["updated_at"]
        assert http.get(url).json() == cleared

        assert http.patch(f"/playbook/{uuid.uuid4()}", json={"name": "x"}).status_code == 404
        assert http.patch("/playbook/not-a-uuid", json={"name": "x"}).status_code == 404


def test_the_list_is_newest_first_paged_and_leaves_out_archived(server: Server, database: Database):
    tenant = make_account(database)
    with server.client(tenant.token) as http:
        ids = [_create(http, name=f"P{n}")["playbook_id"] for n in range(5)]
        assert http.delete(f"/playbook/{ids[2]}").status_code == 204
        seen, cursor = [], None
        while True:
            params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = http.get("/playbook", params=params).json()
            assert len(page["playbooks"]) <= 2
            seen += [p["playbook_id"] for p in page["playbooks"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        expected = [ids[4], ids[3], ids[1], ids[0], str(tenant.playbook_id)]
        assert seen == expected
        assert http.get(f"/playbook/{ids[2]}").json()["archived_at"] is not None
        for params in ({"limit": 0}, {"limit": 201}, {"cursor": "garbage!"}):
            assert http.get("/playbook", params=params).status_code == 400, params
        campaigns_cursor = _a_campaigns_cursor(http, tenant)
        wrong = http.get("/playbook", params={"cursor": campaigns_cursor})
        assert wrong.status_code == 400 and wrong.json()["errors"][0]["field"] == "cursor"


def _a_campaigns_cursor(http: httpx.Client, tenant: Tenant) -> str:
    for n in range(2):
        http.post(
            "/campaign",
            json={
                "playbook_id": str(tenant.playbook_id),
                "contacts": [{"phone": phone(n)}],
                "launch_at": "2099-01-01T00:00:00Z",
            },
        )
    cursor = http.get("/campaign", params={"limit": 1}).json()["next_cursor"]
    assert cursor
    return str(cursor)


def test_an_archived_playbook_takes_no_new_campaign_but_running_ones_complete(
    server: Server, account: Tenant
):
    with server.client(account.token) as http:
        playbook = _create(http, name="Soon archived", first_message="Hi {{first_name}}")
        url = f"/playbook/{playbook['playbook_id']}"
        # Due in three seconds: every attempt is placed after the playbook is archived.
        launch_at = (datetime.now(UTC) + timedelta(seconds=3)).isoformat()
        answered, unanswered = phone(3), phone(62)
        campaign = http.post(
            "/campaign",
            json={
                "playbook_id": playbook["playbook_id"],
                "contacts": [{"phone": answered, "first_name": "Ada"}, {"phone": unanswered}],
                "launch_at": launch_at,
                "recall": [0.001],
            },
        ).json()
        assert campaign["status"] == "scheduled"

        assert http.delete(url).status_code == 204
        archived = http.get(url).json()
        assert archived["archived_at"] is not None
        assert http.delete(url).status_code == 204
        assert http.get(url).json()["archived_at"] == archived["archived_at"]
        assert playbook["playbook_id"] not in _live_ids(http)

        refused = http.post(
            "/campaign",
            json={"playbook_id": playbook["playbook_id"], "contacts": [{"phone": phone(4)}]},
        )
        assert refused.status_code == 403, refused.text
        assert http.patch(url, json={"name": "Back"}).status_code == 409
        late = phone(5)
        added = http.post(
            f"/campaign/{campaign['campaign_id']}/contacts", json={"contacts": [{"phone": late}]}
        )
        assert added.status_code == 202, added.text

        report_url = f"/campaign/{campaign['campaign_id']}"
        wait_for(lambda: http.get(report_url).json()["status"] == "completed", 30)
        calls = {c["phone"]: c for c in http.get(f"{report_url}/calls").json()["calls"]}
        assert calls[answered]["status"] == calls[late]["status"] == "completed"
        assert [a["outcome"] for a in calls[answered]["attempts"]] == ["answered"]
        first_started = calls[answered]["attempts"][0]["started_at"]
        assert first_started > archived["archived_at"]
        assert [a["outcome"] for a in calls[unanswered]["attempts"]] == ["no_answer"] * 2
        assert http.delete(f"/playbook/{uuid.uuid4()}").status_code == 404


def test_another_accounts_playbook_is_not_found_on_every_route(
    server: Server, database: Database, account: Tenant
):
    other = make_account(database, "Other")
    theirs = str(other.playbook_id)
    with server.client(account.token) as http, server.client(other.token) as owner:
        before = owner.get(f"/playbook/{theirs}").json()
        answers = [
            http.get(f"/playbook/{theirs}"),
            http.patch(f"/playbook/{theirs}", json={"name": "Mine now"}),
            http.delete(f"/playbook/{theirs}"),
        ]
        assert [a.status_code for a in answers] == [404, 404, 404]
        assert all(set(a.json()) == {"detail", "errors"} for a in answers)
        assert theirs not in http.get("/playbook").text
        assert owner.get(f"/playbook/{theirs}").json() == before
