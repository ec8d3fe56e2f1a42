"""``outbound.client`` against a real server: typed answers, paging, errors as exceptions."""

import asyncio
import inspect
import uuid

import pytest

import outbound.client
from outbound.client import (
    AccountOut,
    ApiError,
    AsyncClient,
    BadRequest,
    CallOut,
    CampaignOut,
    Client,
    ClientError,
    Conflict,
    ConnectionFailed,
    ContactIn,
    Forbidden,
    NotFound,
    PlaybookOut,
    ServerError,
    Unauthorized,
)
from outbound.store.database import Database
from tests import shared_server
from tests.factories import (
    Tenant,
    connection_credentials,
    ended_attempt,
    make_account,
    phone,
    playbook_using,
)
from tests.servers import Server, free_port, wait_for

LATER = "2099-01-01T00:00:00Z"


# The session's shared server, one per database (tests/shared_server.py).
database_url, server = shared_server.database_url, shared_server.server


def test_all_lists_the_public_names_and_nothing_else():
    public = {
        name
        for name, value in vars(outbound.client).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and value.__module__ == "outbound.client"
    }
    assert public <= set(outbound.client.__all__)
    assert all(hasattr(outbound.client, name) for name in outbound.client.__all__)
    assert sorted(outbound.client.__all__) == outbound.client.__all__
    for kind in (BadRequest, Unauthorized, Forbidden, NotFound, Conflict, ServerError):
        assert issubclass(kind, ApiError) and issubclass(kind, ClientError)
    assert issubclass(ConnectionFailed, ClientError) and not issubclass(ConnectionFailed, ApiError)


def test_create_read_and_page_through_calls(server: Server, account: Tenant):
    phones = [f"+3491234{n:04d}" for n in range(25)]
    with Client(server.url, account.token) as api:
        created = api.create_campaign(
            account.playbook_id,
            [{"phone": p} for p in phones[:24]] + [ContactIn(phone=phones[24], first_name="Z")],
            launch_at=LATER,
            recall=[30, 120],
        )
        assert (created.status, created.contacts) == ("scheduled", 25)
        assert created.launch_at is not None and created.launch_at.year == 2099

        campaign = api.get_campaign(created.campaign_id)
        assert isinstance(campaign, CampaignOut)
        assert campaign.recall == [30, 120]
        assert campaign.counts["total"] == campaign.counts["pending"] == 25

        first = api.list_calls(created.campaign_id, limit=10)
        assert [c.phone for c in first.calls] == phones[:10]
        assert first.next_cursor is not None
        second = api.list_calls(str(created.campaign_id), limit=10, cursor=first.next_cursor)
        assert [c.phone for c in second.calls] == phones[10:20]

        every = list(api.iter_calls(created.campaign_id, page_size=10))
        assert all(isinstance(call, CallOut) for call in every)
        assert [call.phone for call in every] == phones

        contact = api.get_contact(every[24].contact_id)
        assert (contact.phone, contact.first_name) == (phones[24], "Z")

        listed = [c.campaign_id for c in api.iter_campaigns(status="scheduled", page_size=1)]
        assert created.campaign_id in listed
        assert api.list_campaigns(status="cancelled").campaigns == []


def test_a_campaign_runs_to_completion_with_its_attempts(server: Server, account: Tenant):
    answered, unanswered = phone(0), phone(61)
    with Client(server.url, account.token) as api:
        created = api.create_campaign(
            account.playbook_id, [{"phone": answered}, {"phone": unanswered}], recall=[0.001]
        )
        assert created.status == "running" and created.launch_at is None
        wait_for(lambda: api.get_campaign(created.campaign_id).status == "completed", 30)
        calls = {call.phone: call for call in api.iter_calls(created.campaign_id)}
    assert calls[answered].status == "completed"
    assert [a.outcome for a in calls[answered].attempts] == ["answered"]
    assert calls[unanswered].status == "failed"
    assert [a.outcome for a in calls[unanswered].attempts] == ["no_answer", "no_answer"]
    assert all(a.ended_at is not None for a in calls[unanswered].attempts)


def test_lifecycle_and_conflicts(server: Server, account: Tenant):
    with Client(server.url, account.token) as api:
        created = api.create_campaign(account.playbook_id, [{"phone": phone(1)}], launch_at=LATER)
        assert api.pause_campaign(created.campaign_id).status == "paused"
        added = api.add_contacts(created.campaign_id, [{"phone": phone(2)}, {"phone": phone(3)}])
        assert (added.status, added.added, added.already_in_campaign) == ("paused", 2, 0)
        assert api.resume_campaign(created.campaign_id).status == "scheduled"
        cancelled = api.cancel_campaign(created.campaign_id)
        assert cancelled.status == "cancelled"
        assert cancelled.counts["cancelled"] == 3
        with pytest.raises(Conflict) as conflict:
            api.cancel_campaign(created.campaign_id)
        assert conflict.value.status == 409 and "cancelled" in conflict.value.detail
        with pytest.raises(Conflict):
            api.add_contacts(created.campaign_id, [{"phone": phone(4)}])


def test_error_answers_are_typed_exceptions(server: Server, account: Tenant, database: Database):
    with Client(server.url, account.token) as api:
        with pytest.raises(BadRequest) as bad:
            api.create_campaign(
                account.playbook_id,
                [{"phone": phone(5)}, {"phone": "nope"}, {"phone": phone(6), "timezone": "Mars/X"}],
            )
        assert bad.value.status == 400
        assert [(e.index, e.field) for e in bad.value.errors] == [(1, "phone"), (2, "timezone")]
        with pytest.raises(BadRequest) as bad_recall:
            api.create_campaign(account.playbook_id, [{"phone": phone(5)}], recall=[5, 1])
        assert bad_recall.value.errors[0].field == "recall"
        with pytest.raises(NotFound) as missing:
            api.get_campaign(uuid.uuid4())
        assert missing.value.status == 404
        with pytest.raises(NotFound):
            api.get_contact("not-a-uuid")
        other = make_account(database, "Other")
        with pytest.raises(Forbidden) as forbidden:
            api.create_campaign(other.playbook_id, [{"phone": phone(5)}])
        assert forbidden.value.status == 403 and "playbook" in forbidden.value.detail
    with Client(server.url, "ob_wrong") as api, pytest.raises(Unauthorized) as unauthorized:
        api.list_campaigns()
    assert unauthorized.value.status == 401
    with Client(server.url) as api, pytest.raises(Unauthorized):
        api.list_dnc()


def test_do_not_call_list(server: Server, account: Tenant):
    national = "612345678"
    with Client(server.url, account.token) as api:
        added = api.add_dnc(["+34 612 345 677", "+34612345678"])
        assert added.phones == ["+34612345677", "+34612345678"]
        listed = [entry.phone for entry in api.iter_dnc(page_size=1)]
        assert sorted(listed) == added.phones
        api.remove_dnc("+34612345678")
        assert [entry.phone for entry in api.list_dnc().phones] == ["+34612345677"]
        with pytest.raises(NotFound):
            api.remove_dnc("+34612345678")
        with pytest.raises(BadRequest) as bad:
            api.add_dnc([national])
        assert bad.value.errors[0].index == 0


def test_playbooks(server: Server, account: Tenant):
    with Client(server.url, account.token) as api:
        created = api.create_playbook(
            "Renewals",
            first_message="Hi {{first_name}}",
            dispositions=[{"name": "renewed", "action": "complete"}],
            data_fields=({"name": "budget", "type": "number"},),
            voicemail={"action": "leave_message", "message": "Hi"},
        )
        assert isinstance(created, PlaybookOut)
        assert [(d.name, d.action) for d in created.dispositions] == [("renewed", "complete")]
        assert created.voicemail.message == "Hi" and created.archived_at is None
        assert api.get_playbook(str(created.playbook_id)) == created

        changed = api.update_playbook(created.playbook_id, dispositions=[], first_message=None)
        assert changed.dispositions == [] and changed.first_message is None
        assert changed.data_fields == created.data_fields and changed.name == "Renewals"

        newest = api.list_playbooks(limit=1)
        assert [p.playbook_id for p in newest.playbooks] == [created.playbook_id]
        assert newest.next_cursor is not None
        every = [p.playbook_id for p in api.iter_playbooks(page_size=1)]
        assert every == [created.playbook_id, account.playbook_id]

        api.archive_playbook(created.playbook_id)
        assert api.get_playbook(created.playbook_id).archived_at is not None
        assert [p.playbook_id for p in api.iter_playbooks()] == [account.playbook_id]
        with pytest.raises(Forbidden):
            api.create_campaign(created.playbook_id, [{"phone": phone(11)}])
        with pytest.raises(Conflict):
            api.update_playbook(created.playbook_id, name="Again")
        with pytest.raises(BadRequest) as bad:
            api.create_playbook("P", dispositions=[{"name": "x", "action": "sing"}])
        assert [e.field for e in bad.value.errors] == ["dispositions[0].action"]
        with pytest.raises(NotFound):
            api.get_playbook(uuid.uuid4())
        with pytest.raises(NotFound):
            api.archive_playbook(uuid.uuid4())


def test_the_account(server: Server, account: Tenant):
    with Client(server.url, account.token) as api:
        mine = api.get_account()
        assert isinstance(mine, AccountOut) and mine.account_id == account.id
        window = {"start": "09:00", "end": "17:00"}
        changed = api.update_account(max_concurrent_calls=4, calling_window=window)
        assert changed.max_concurrent_calls == 4 and changed.calling_window is not None
        assert changed.calling_window["start"] == "09:00"
        assert changed.timezone == mine.timezone
        cleared = api.update_account(calling_window=None)
        assert cleared.calling_window is None and cleared.max_concurrent_calls == 4
        with pytest.raises(BadRequest) as bad:
            api.update_account(timezone="Mars/Base")
        assert [e.field for e in bad.value.errors] == ["timezone"]


def test_provider_connections(server: Server, database: Database, account: Tenant):
    credentials = connection_credentials("retell")
    with Client(server.url, account.token) as api:
        made = [
            api.create_provider_connection(
                "retell", f"Retell {n}", credentials, settings={"max_call_seconds": 60}
            )
            for n in range(3)
        ]
        assert made[0].type == "retell" and made[0].settings == {"max_call_seconds": 60}
        assert made[0].webhook_url.endswith(f"/provider/connection/{made[0].connection_id}/events")
        assert api.get_provider_connection(made[1].connection_id) == made[1]
        listed = [c.connection_id for c in api.iter_provider_connections(page_size=2)]
        assert listed == [c.connection_id for c in reversed(made)]
        page = api.list_provider_connections(limit=1)
        assert len(page.connections) == 1 and page.next_cursor
        playbook_using(database, account, str(made[0].connection_id))
        with pytest.raises(Conflict):
            api.delete_provider_connection(made[0].connection_id)
        api.delete_provider_connection(made[1].connection_id)
        with pytest.raises(NotFound):
            api.get_provider_connection(made[1].connection_id)
        with pytest.raises(BadRequest) as bad:
            api.create_provider_connection("retell", "No key", {})
        assert [e.field for e in bad.value.errors] == ["credentials.api_key"]


def test_health_and_readiness(server: Server):
    with Client(server.url) as api:
        assert api.health() == {"status": "ok"}
        assert api.ready() == {"status": "ready"}


def test_an_unreachable_server_is_connection_failed():
    unreachable = Client(f"http://127.0.0.1:{free_port()}", "t", timeout=2)
    with unreachable as api, pytest.raises(ConnectionFailed) as failed:
        api.health()
    assert "cannot reach" in failed.value.message


def test_async_client(server: Server, account: Tenant):
    async def scenario() -> None:
        async with AsyncClient(server.url, account.token) as api:
            created = await api.create_campaign(
                account.playbook_id, [{"phone": phone(n)} for n in (7, 8, 9)], launch_at=LATER
            )
            assert (await api.get_campaign(created.campaign_id)).counts["total"] == 3
            calls = [call async for call in api.iter_calls(created.campaign_id, page_size=2)]
            assert len(calls) == 3
            page = await api.list_calls(created.campaign_id, limit=2)
            assert len(page.calls) == 2 and page.next_cursor
            added = await api.add_contacts(created.campaign_id, [{"phone": calls[0].phone}])
            assert (added.added, added.already_in_campaign) == (0, 1)
            assert (await api.pause_campaign(created.campaign_id)).status == "paused"
            assert (await api.resume_campaign(created.campaign_id)).status == "scheduled"
            assert (await api.cancel_campaign(created.campaign_id)).status == "cancelled"
            contact = await api.get_contact(calls[0].contact_id)
            assert contact.phone == calls[0].phone
            campaigns = [c.campaign_id async for c in api.iter_campaigns(status="cancelled")]
            assert created.campaign_id in campaigns
            assert (await api.health())["status"] == "ok"
            assert (await api.ready())["status"] == "ready"
            suppressed = await api.add_dnc([phone(50)])
            assert [p.phone async for p in api.iter_dnc()].count(suppressed.phones[0]) == 1
            await api.remove_dnc(suppressed.phones[0])
            connection = await api.create_provider_connection(
                "webhook", "Runtime", connection_credentials("webhook")
            )
            assert await api.get_provider_connection(connection.connection_id) == connection
            assert [c async for c in api.iter_provider_connections()] == [connection]
            assert (await api.list_provider_connections(limit=1)).next_cursor is None
            await api.delete_provider_connection(connection.connection_id)
            with pytest.raises(NotFound):
                await api.delete_provider_connection(connection.connection_id)
            with pytest.raises(Conflict):
                await api.resume_campaign(created.campaign_id)
            with pytest.raises(NotFound):
                await api.get_campaign(uuid.uuid4())
            playbook = await api.create_playbook("Async", voicemail={"action": "hangup"})
            renamed = await api.update_playbook(playbook.playbook_id, name="Renamed")
            assert (await api.get_playbook(playbook.playbook_id)) == renamed
            assert (await api.list_playbooks(limit=1)).playbooks == [renamed]
            listed = [p.playbook_id async for p in api.iter_playbooks(page_size=1)]
            assert listed[0] == playbook.playbook_id and len(listed) >= 2
            await api.archive_playbook(playbook.playbook_id)
            assert (await api.get_playbook(playbook.playbook_id)).archived_at is not None
            paced = await api.update_account(calls_per_second=2.5)
            assert paced.calls_per_second == 2.5
            assert (await api.get_account()) == paced
        async with AsyncClient(server.url, "ob_wrong") as intruder:
            with pytest.raises(Unauthorized):
                await intruder.list_campaigns()

    asyncio.run(scenario())


def test_a_call_and_a_posted_result(server: Server, database: Database, account: Tenant):
    with Client(server.url, account.token) as api:
        created = api.create_campaign(account.playbook_id, [{"phone": phone(12)}], launch_at=LATER)
        [call] = api.list_calls(created.campaign_id).calls
        ended_attempt(database, account.id, str(call.call_id))
        recorded = api.post_result(call.call_id, 1, {"disposition": "booked", "summary": "Yes."})
        assert recorded.recorded is True
        [attempt] = api.get_call(call.call_id).attempts
        assert attempt.result is not None and attempt.result["disposition"] == "booked"
        with pytest.raises(Conflict):
            api.post_result(call.call_id, 1, {"disposition": "booked"})
        with pytest.raises(NotFound):
            api.get_call(uuid.uuid4())
