"""``outbound campaign ...`` against a real server: in process, and once as a person runs it."""

import codecs
import csv
import json
import re
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from outbound.cli.export import export_rows
from outbound.client import AttemptOut, CallOut, Client, TooManyRequests
from outbound.domain.dispositions import DataField, DataType
from outbound.store.database import Database
from tests.commands import invoke
from tests.conftest import migrated_database
from tests.factories import Tenant, make_account, make_playbook, phone
from tests.servers import OUTBOUND, Server, outbound_env, start_server, wait_for

LATER = "2099-01-01T00:00:00Z"
# Slow enough that a campaign's first chunk cannot finish before the next chunk is sent.
SIMULATOR = {"OUTBOUND_SIMULATOR_RING_SECONDS": "0.3", "OUTBOUND_SIMULATOR_TALK_SECONDS": "0.3"}


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """SQLite: these commands speak only HTTP, and the API is tested on both databases."""
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'outbound.db'}"


@pytest.fixture(scope="module")
def server(
    database: Database, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    with start_server(database_url, tmp_path_factory.mktemp("server"), extra_env=SIMULATOR) as s:
        yield s


def campaign_cli(server: Server, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``outbound campaign ARGS``, run in process, the server and token in the environment."""
    return invoke("campaign", *args, env={"OUTBOUND_URL": server.url, "OUTBOUND_TOKEN": token})


def create(server: Server, account: Tenant, path: Path, *args: str) -> dict[str, object]:
    result = campaign_cli(
        server,
        account.token,
        "create",
        "--playbook",
        str(account.playbook_id),
        "--contacts",
        str(path),
        "--json",
        *args,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    return dict(json.loads(lines[0]))


def test_excel_csv_with_bom_and_semicolons(server: Server, account: Tenant, tmp_path: Path):
    ana, bob = phone(1), phone(2)
    path = tmp_path / "excel.csv"
    path.write_bytes(
        codecs.BOM_UTF8
        + (
            "Phone;First Name;company;Plan;Seats\r\n"
            f"{ana};Lucía;Acme, Inc.;pro;3\r\n"
            f'{bob};"Zoë; the second";;;\r\n'
        ).encode()
    )
    # As a person runs it: a process of its own, the server and token in its environment.
    env = outbound_env("sqlite:///unused.db", {"OUTBOUND_URL": server.url})
    env["OUTBOUND_TOKEN"] = account.token
    result = subprocess.run(
        [*OUTBOUND, "campaign", "create", "--playbook", str(account.playbook_id),
         "--contacts", str(path), "--launch-at", LATER, "--json"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert created["contacts"] == 2 and created["rejected"] == []
    with Client(server.url, account.token) as api:
        calls = list(api.iter_calls(str(created["campaign_id"])))
        assert [call.phone for call in calls] == [ana, bob]
        first = api.get_contact(calls[0].contact_id)
        second = api.get_contact(calls[1].contact_id)
    assert (first.first_name, first.company) == ("Lucía", "Acme, Inc.")
    assert first.custom_fields == {"Plan": "pro", "Seats": "3"}
    assert (second.first_name, second.company, second.custom_fields) == (
        "Zoë; the second",
        None,
        {},
    )


def test_cp1252_csv_is_read_too(server: Server, account: Tenant, tmp_path: Path):
    path = tmp_path / "legacy.csv"
    path.write_bytes(f"phone,last_name\n{phone(3)},Müller\u2013Straße\n".encode("cp1252"))
    created = create(server, account, path, "--launch-at", LATER)
    with Client(server.url, account.token) as api:
        call = next(api.iter_calls(str(created["campaign_id"])))
        assert api.get_contact(call.contact_id).last_name == "Müller\u2013Straße"


def test_a_bad_row_is_reported_with_its_line_and_the_others_are_created(
    server: Server, account: Tenant, tmp_path: Path
):
    good = [phone(4), phone(5), phone(6), phone(7)]
    path = tmp_path / "contacts.csv"
    path.write_text(
        "phone,first_name,address\n"
        f'{good[0]},Ada,"1 Main St\nSuite 2"\n'  # a quoted field over two lines: lines 2-3
        "12345,Bad,\n"  # line 4
        f"{good[1]},Grace,\n"
        "\n"
        f"{good[2]},Alan,,extra cell\n"  # line 7: more cells than columns
        f"{good[3]},Edsger,,\n",  # line 8: an empty extra cell is fine
        encoding="utf-8",
    )
    result = campaign_cli(
        server, account.token, "create", "--playbook", str(account.playbook_id),
        "--contacts", str(path), "--launch-at", LATER,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "line 4:" in result.stderr and "phone" in result.stderr
    assert "line 7:" in result.stderr and "cells" in result.stderr
    campaign_id = result.stdout.strip()
    with Client(server.url, account.token) as api:
        calls = list(api.iter_calls(campaign_id))
        assert [call.phone for call in calls] == [good[0], good[1], good[3]]
        assert api.get_contact(calls[0].contact_id).address == "1 Main St\nSuite 2"

    as_json = create(server, account, path, "--launch-at", LATER)
    rejected = as_json["rejected"]
    assert isinstance(rejected, list)
    assert [item["line"] for item in rejected] == [4, 7]
    assert "phone" in rejected[0]["reason"]
    assert as_json["contacts"] == 3


def test_large_files_go_in_chunks_into_one_campaign(
    server: Server, account: Tenant, tmp_path: Path
):
    phones = [phone(n) for n in range(10)]
    rows = [f"{p},Person {n}" for n, p in enumerate(phones)]
    rows.insert(5, "not-a-phone,Nobody")  # line 7, in the second chunk
    path = tmp_path / "big.csv"
    path.write_text("phone,first_name\n" + "\n".join(rows) + "\n")
    created = create(server, account, path, "--chunk-size", "3", "--recall", "0.001")
    assert created["contacts"] == 10
    assert created["rejected"] == [
        {"line": 7, "reason": "phone: phone has no +country code and the contact has no country"}
    ]
    campaign_id = str(created["campaign_id"])
    with Client(server.url, account.token) as api:
        assert [str(c.campaign_id) for c in api.iter_campaigns()] == [campaign_id]
        assert [call.phone for call in api.iter_calls(campaign_id)] == phones
        campaign = api.get_campaign(campaign_id)
        assert campaign.recall == [0.001]
        assert campaign.status in ("running", "completed")  # paused only while uploading
        wait_for(lambda: api.get_campaign(campaign_id).status == "completed", 60)
    appends = server.log().count(f'"method": "POST", "path": "/campaign/{campaign_id}/contacts"')
    assert appends == 4  # chunks 2, 3 and 4, and chunk 2 again without its bad row


def test_json_files_report_the_line_of_each_bad_contact(
    server: Server, account: Tenant, tmp_path: Path
):
    good = phone(8)
    wrapped = tmp_path / "contacts.json"
    wrapped.write_text(
        '{"source": "crm",\n "contacts": [\n'
        f'  {{"phone": "{good}", "first_name": "Ada", "custom_fields": {{"tier": 1}}}},\n'
        '  {"phone": "bad"},\n'
        '  "not an object"\n'
        "]}\n"
    )
    created = create(server, account, wrapped, "--launch-at", LATER)
    assert created["contacts"] == 1
    assert [item["line"] for item in created["rejected"]] == [4, 5]  # type: ignore[attr-defined]
    bare = tmp_path / "array.json"
    bare.write_text(json.dumps([{"phone": phone(9)}, {"phone": phone(10)}], indent=1))
    assert create(server, account, bare, "--launch-at", LATER)["contacts"] == 2


def test_export_writes_one_row_per_call_with_each_attempt(
    server: Server, account: Tenant, tmp_path: Path
):
    answered, unanswered = phone(0), phone(61)
    with Client(server.url, account.token) as api:
        created = api.create_campaign(
            account.playbook_id, [{"phone": answered}, {"phone": unanswered}], recall=[0.001]
        )
        campaign_id = str(created.campaign_id)
        wait_for(lambda: api.get_campaign(campaign_id).status == "completed", 60)
        calls = {call.phone: call for call in api.iter_calls(campaign_id)}
    out = tmp_path / "calls.csv"
    result = campaign_cli(
        server, account.token, "export", campaign_id, "--format", "csv", "--output", str(out)
    )
    assert result.returncode == 0, result.stderr
    with out.open(newline="") as file:
        rows = list(csv.DictReader(file))
        file.seek(0)
        header = next(csv.reader(file))
    assert header == [
        "phone", "status", "contact_id", "call_id", "attempts",
        "disposition", "summary", "cost",  # the account's playbook declares no data field
        "attempt_1_outcome", "attempt_1_started_at", "attempt_1_ended_at",
        "attempt_2_outcome", "attempt_2_started_at", "attempt_2_ended_at",
    ]  # fmt: skip
    by_phone = {row["phone"]: row for row in rows}
    assert by_phone[answered]["status"] == "completed"
    assert by_phone[answered]["attempts"] == "1"
    assert by_phone[answered]["attempt_1_outcome"] == "answered"
    assert by_phone[answered]["attempt_2_outcome"] == ""
    assert by_phone[answered]["summary"] == f"Simulated conversation with {answered}."
    assert by_phone[answered]["cost"] == "0.05"
    assert by_phone[answered]["call_id"] == str(calls[answered].call_id)
    assert by_phone[answered]["contact_id"] == str(calls[answered].contact_id)
    failed = by_phone[unanswered]
    assert (failed["status"], failed["attempts"]) == ("failed", "2")
    assert failed["attempt_2_outcome"] == "no_answer"
    first_started = calls[unanswered].attempts[0].started_at
    assert failed["attempt_1_started_at"] == first_started.isoformat().replace("+00:00", "Z")
    assert failed["attempt_2_ended_at"].endswith("Z")
    assert [failed[c] for c in ("disposition", "summary", "cost")] == ["", "", ""]

    to_stdout = campaign_cli(server, account.token, "export", campaign_id)
    assert to_stdout.returncode == 0, to_stdout.stderr
    assert to_stdout.stdout == out.read_text()


def test_export_has_each_calls_last_answered_result_and_the_playbooks_data_fields(
    server: Server, database: Database, tmp_path: Path
):
    tenant = make_account(database)
    fields = (
        DataField("budget", DataType.NUMBER),
        DataField("plan", DataType.STRING),
        DataField("decided", DataType.BOOLEAN),
        DataField("notes", DataType.STRING),
    )
    playbook_id = make_playbook(database, tenant.id, {"booked": "complete"}, data_fields=fields)
    booked, plain, unanswered = phone(11), phone(12), phone(70)
    data = {"budget": 1200.5, "plan": {"tier": "pro", "seats": 3}, "decided": True, "other": 1}
    booked_fields = {
        "sim_disposition": "booked",
        "sim_summary": 'Booked a demo, "Tuesday", at 10',
        "sim_data": data,
    }
    with Client(server.url, tenant.token) as api:
        created = api.create_campaign(
            playbook_id,
            [
                {"phone": booked, "custom_fields": booked_fields},
                {"phone": plain},
                {"phone": unanswered},
            ],
        )
        campaign_id = str(created.campaign_id)
        wait_for(lambda: api.get_campaign(campaign_id).status == "completed", 60)
    out = tmp_path / "results.csv"
    result = campaign_cli(server, tenant.token, "export", campaign_id, "--output", str(out))
    assert result.returncode == 0, result.stderr
    with out.open(newline="") as file:
        header = next(csv.reader(file))
        file.seek(0)
        rows = {row["phone"]: row for row in csv.DictReader(file)}
    assert header == [
        "phone", "status", "contact_id", "call_id", "attempts",
        "disposition", "summary", "cost",
        "data.budget", "data.plan", "data.decided", "data.notes",  # the playbook's order
        "attempt_1_outcome", "attempt_1_started_at", "attempt_1_ended_at",
    ]  # fmt: skip
    results = ["disposition", "summary", "cost", *header[8:12]]
    assert [rows[booked][c] for c in results] == [
        "booked",
        'Booked a demo, "Tuesday", at 10',
        "0.05",
        "1200.5",
        '{"tier":"pro","seats":3}',
        "true",
        "",  # a data field the result does not have
    ]
    assert [rows[plain][c] for c in results] == [
        "",
        f"Simulated conversation with {plain}.",
        "0.05",
        "", "", "", "",
    ]  # fmt: skip
    # no answered attempt: nothing to tell, although the attempt itself cost something
    assert rows[unanswered]["attempt_1_outcome"] == "no_answer"
    assert [rows[unanswered][c] for c in results] == [""] * 7


def test_the_exported_result_is_the_last_answered_attempts():
    def attempt(number: int, outcome: str, disposition: str) -> AttemptOut:
        result = {"disposition": disposition, "summary": None, "data": None, "cost": None}
        started = datetime(2026, 3, 2, 12, number, tzinfo=UTC)
        return AttemptOut(
            number=number, outcome=outcome, started_at=started, ended_at=started, result=result
        )

    call = CallOut(
        call_id=uuid.uuid4(),
        campaign_id=uuid.uuid4(),
        contact_id=uuid.uuid4(),
        phone=phone(1),
        status="failed",
        attempts=[
            attempt(1, "answered", "not_now"),
            attempt(2, "answered", "call_back"),
            attempt(3, "busy", "ignored"),  # an unanswered attempt's disposition decides nothing
        ],
        next_attempt_at=None,
        recall=[1, 2],
    )
    header, [row] = export_rows([call], ["budget"])
    assert row[header.index("disposition")] == "call_back"
    assert row[header.index("data.budget")] == ""
    assert row[header.index("attempt_3_outcome")] == "busy"


def test_watch_exits_by_itself_when_the_campaign_completes(server: Server, account: Tenant):
    phones = [phone(0), phone(1), phone(62)]
    with Client(server.url, account.token) as api:
        created = api.create_campaign(
            account.playbook_id, [{"phone": p} for p in phones], recall=[0.001]
        )
    result = campaign_cli(
        server, account.token, "watch", str(created.campaign_id), "--interval", "0.2"
    )
    assert result.returncode == 0, result.stderr
    assert "3/3 calls finished" in result.stdout
    assert (
        f"campaign {created.campaign_id} completed: total 3, pending 0, in_progress 0, "
        "completed 2, failed 1, cancelled 0, skipped 0"
    ) in result.stdout
    assert "answered" in result.stdout and "no_answer" in result.stdout


def test_watch_shows_the_dispositions_and_the_cost(server: Server, database: Database):
    tenant = make_account(database)
    playbook_id = make_playbook(database, tenant.id, {"booked": "complete", "opt_out": "dnc"})
    contacts = [
        {"phone": phone(1), "custom_fields": {"sim_disposition": "booked"}},
        {"phone": phone(2), "custom_fields": {"sim_disposition": "booked"}},
        {"phone": phone(3), "custom_fields": {"sim_disposition": "opt_out"}},
        {"phone": phone(64)},
    ]
    with Client(server.url, tenant.token) as api:
        created = api.create_campaign(playbook_id, contacts)
    result = campaign_cli(
        server, tenant.token, "watch", str(created.campaign_id), "--interval", "0.2"
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "calls by disposition" in result.stdout
    assert re.search(r"booked +2 ", result.stdout) and re.search(r"opt_out +1 ", result.stdout)
    # the live view's last frame, then the closing lines: three answered calls, one not
    assert "cost: 0.16 USD" in "\n".join(lines[:-2])
    assert lines[-1] == "dispositions: booked 2, opt_out 1; cost: 0.16 USD"


def test_pause_resume_and_cancel_commands(server: Server, account: Tenant):
    with Client(server.url, account.token) as api:
        created = api.create_campaign(account.playbook_id, [{"phone": phone(11)}], launch_at=LATER)
    campaign_id = str(created.campaign_id)
    paused = campaign_cli(server, account.token, "pause", campaign_id, "--json")
    assert paused.returncode == 0, paused.stderr
    assert json.loads(paused.stdout)["status"] == "paused"
    resumed = campaign_cli(server, account.token, "resume", campaign_id)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.strip() == f"campaign {campaign_id} is scheduled"
    assert campaign_cli(server, account.token, "cancel", campaign_id).returncode == 0
    again = campaign_cli(server, account.token, "cancel", campaign_id)
    assert again.returncode == 1 and "cancelled" in again.stderr


def test_mistakes_are_clear_errors(server: Server, account: Tenant, tmp_path: Path):
    path = tmp_path / "c.csv"
    path.write_text(f"phone\n{phone(12)}\n")
    base = ["create", "--playbook", str(account.playbook_id), "--contacts"]

    wrong_token = campaign_cli(server, "ob_wrong", *base, str(path))
    assert wrong_token.returncode == 1 and "token" in wrong_token.stderr

    missing = campaign_cli(server, account.token, *base, str(tmp_path / "nope.csv"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr

    no_phone = tmp_path / "no_phone.csv"
    no_phone.write_text("name,email\nAda,ada@example.com\n")
    result = campaign_cli(server, account.token, *base, str(no_phone))
    assert result.returncode == 2 and "phone" in result.stderr and result.stdout == ""

    bad_recall = campaign_cli(server, account.token, *base, str(path), "--recall", "30,soon")
    assert bad_recall.returncode == 2 and "--recall" in bad_recall.stderr

    descending = campaign_cli(server, account.token, *base, str(path), "--recall", "30,5")
    assert descending.returncode == 2 and "recall" in descending.stderr

    all_bad = tmp_path / "all_bad.csv"
    all_bad.write_text("phone\n123\n456\n")
    result = campaign_cli(server, account.token, *base, str(all_bad))
    assert result.returncode == 1 and "line 2:" in result.stderr and "line 3:" in result.stderr


def test_uploads_wait_out_the_write_rate_limit(tmp_path: Path):
    limited = {
        **SIMULATOR,
        "OUTBOUND_RATE_LIMIT_WRITES_PER_SECOND": "4",
        "OUTBOUND_RATE_LIMIT_BURST": "2",
    }
    database_url = f"sqlite:///{tmp_path / 'outbound.db'}"
    database = migrated_database(database_url)
    account = make_account(database)
    database.dispose()
    with start_server(database_url, tmp_path, extra_env=limited) as server:
        with Client(server.url, account.token) as api:
            for _ in range(2):
                api.add_dnc([phone(99)])
            with pytest.raises(TooManyRequests) as refused:
                api.add_dnc([phone(99)])
        assert refused.value.status == 429 and refused.value.retry_after is not None
        phones = [phone(n) for n in range(6)]
        path = tmp_path / "contacts.csv"
        path.write_text("phone\n" + "\n".join(phones) + "\n")
        created = create(server, account, path, "--chunk-size", "1", "--launch-at", LATER)
        assert created["contacts"] == 6
        with Client(server.url, account.token) as api:
            assert [c.phone for c in api.iter_calls(str(created["campaign_id"]))] == phones
        assert '"status": 429' in server.log()
