"""The admin commands of ``outbound``: JSON output, clear errors, the demo set-up of ``serve``.

(Graceful shutdown of ``serve`` is in ``tests/e2e/test_shutdown.py``.)
"""

import json
import re
import subprocess
import uuid
from pathlib import Path

import httpx

from tests.commands import run_cli
from tests.conftest import migrated_database
from tests.servers import OUTBOUND, free_port, outbound_env, stop, wait_until_healthy


def _one_json_object(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    return dict(json.loads(lines[0]))


def test_account_token_and_playbook_commands_print_one_json_object(private_database_url: str):
    migrated_database(private_database_url).dispose()
    account = _one_json_object(
        run_cli(
            private_database_url, "account", "create", "--name", "Acme",
            "--timezone", "Europe/Madrid", "--json",
        )
    )  # fmt: skip
    assert set(account) == {"account_id", "token"}
    token = _one_json_object(
        run_cli(
            private_database_url, "token", "create", "--account", account["account_id"], "--json"
        )
    )
    assert set(token) == {"token"} and token["token"] != account["token"]
    playbook = _one_json_object(
        run_cli(
            private_database_url, "playbook", "create", "--account", account["account_id"],
            "--name", "Sales", "--first-message", "Hello {{first_name}}", "--json",
        )
    )  # fmt: skip
    assert set(playbook) == {"playbook_id"}


def test_account_update_sets_pacing_and_window(private_database_url: str):
    migrated_database(private_database_url).dispose()
    account = _one_json_object(
        run_cli(private_database_url, "account", "create", "--name", "Acme", "--json")
    )
    window = '{"start": "09:00", "end": "18:00", "days": ["mon", "fri"]}'
    updated = _one_json_object(
        run_cli(
            private_database_url, "account", "update", "--account", account["account_id"],
            "--max-concurrent-calls", "7", "--calls-per-second", "2.5",
            "--calling-window", window, "--json",
        )
    )  # fmt: skip
    assert updated["max_concurrent_calls"] == 7 and updated["calls_per_second"] == 2.5
    assert updated["calling_window"] == {
        "start": "09:00", "end": "18:00", "days": ["mon", "fri"], "exclude_dates": [],
    }  # fmt: skip
    bad = run_cli(
        private_database_url, "account", "update", "--account", account["account_id"],
        "--calling-window", '{"start": "late"}',
    )  # fmt: skip
    assert bad.returncode == 2 and "calling_window.start" in bad.stderr


def test_bad_cli_input_is_a_clear_error(private_database_url: str):
    migrated_database(private_database_url).dispose()
    result = run_cli(
        private_database_url, "account", "create", "--name", "X", "--timezone", "Mars/Base"
    )
    assert result.returncode == 2
    assert "timezone" in result.stderr
    result = run_cli(private_database_url, "token", "create", "--account", "nope", "--json")
    assert result.returncode == 2 and result.stdout == ""


def test_db_upgrade_is_idempotent(private_database_url: str):
    for _ in range(2):
        result = run_cli(private_database_url, "db", "upgrade")
        assert result.returncode == 0, result.stderr


def test_serve_on_an_empty_database_prints_a_working_curl_line(tmp_path: Path):
    port = free_port()
    url = f"sqlite:///{tmp_path / 'outbound.db'}"
    out = tmp_path / "serve.out"
    with open(out, "w") as stdout:
        process = subprocess.Popen(
            [*OUTBOUND, "serve", "--port", str(port)],
            env=outbound_env(url),
            stdout=stdout,
            stderr=subprocess.DEVNULL,
            cwd=tmp_path,
        )
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", process)
        printed = out.read_text()
        token = re.search(r"token:\s+(\S+)", printed)
        assert token, printed
        curl = next(line for line in printed.splitlines() if line.startswith("curl "))
        result = subprocess.run(curl, shell=True, capture_output=True, text=True, timeout=30)
        created = json.loads(result.stdout)
        assert created["status"] == "running" and created["contacts"] == 3
        headers = {"Authorization": f"Bearer {token.group(1)}"}
        report = httpx.get(
            f"http://127.0.0.1:{port}/campaign/{created['campaign_id']}", headers=headers
        ).json()
        assert report["counts"]["total"] == 3
    finally:
        assert stop(process) == 0
    # A second start on the same database creates nothing new and prints no token.
    with open(out, "w") as stdout:
        process = subprocess.Popen(
            [*OUTBOUND, "serve", "--port", str(port)],
            env=outbound_env(url), stdout=stdout, stderr=subprocess.DEVNULL, cwd=tmp_path,
        )  # fmt: skip
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", process)
        assert "token:" not in out.read_text()
    finally:
        stop(process)


def test_playbook_create_takes_dispositions_data_fields_and_voicemail(private_database_url: str):
    migrated_database(private_database_url).dispose()
    account = _one_json_object(
        run_cli(private_database_url, "account", "create", "--name", "Acme", "--json")
    )["account_id"]
    dispositions = '[{"name": "renewed", "action": "complete"}, {"name": "later", "action": "callback", "description": "Call back"}]'  # noqa: E501
    first = _one_json_object(
        run_cli(
            private_database_url, "playbook", "create", "--account", account, "--name", "Renewals",
            "--dispositions", dispositions,
            "--data-fields", '[{"name": "budget", "type": "number"}]',
            "--voicemail", '{"action": "leave_message", "message": "Hi {{first_name}}"}',
            "--caller-id", "+14155550123", "--json",
        )
    )["playbook_id"]  # fmt: skip
    second = _one_json_object(
        run_cli(private_database_url, "playbook", "create", "--account", account, "--name", "B",
                "--json")
    )["playbook_id"]  # fmt: skip
    listed = run_cli(private_database_url, "playbook", "list", "--account", account, "--json")
    playbooks = _one_json_object(listed)["playbooks"]
    assert [p["playbook_id"] for p in playbooks] == [second, first]  # newest first
    renewals = playbooks[1]
    assert [(d["name"], d["action"], d["description"]) for d in renewals["dispositions"]] == [
        ("renewed", "complete", None),
        ("later", "callback", "Call back"),
    ]
    assert renewals["data_fields"] == [{"name": "budget", "type": "number", "description": None}]
    assert renewals["voicemail"] == {
        "action": "leave_message", "message": "Hi {{first_name}}", "then": "retry",
    }  # fmt: skip
    assert (
        renewals["caller_id"] == "+14155550123" and playbooks[0]["voicemail"]["action"] == "hangup"
    )
    human = run_cli(private_database_url, "playbook", "list", "--account", account)
    assert human.returncode == 0 and first in human.stdout and "Renewals" in human.stdout


def test_playbook_commands_refuse_bad_input_clearly(private_database_url: str):
    migrated_database(private_database_url).dispose()
    account = _one_json_object(
        run_cli(private_database_url, "account", "create", "--name", "Acme", "--json")
    )["account_id"]
    create = ("playbook", "create", "--account", account, "--name", "P", "--json")
    refused = [
        (("--dispositions", "[{"), "--dispositions is not JSON"),
        (("--data-fields", "nope"), "--data-fields is not JSON"),
        (("--dispositions", '[{"name": "a", "action": "sing"}]'), "dispositions[0].action"),
        (("--dispositions", '[{"name": "a", "action": "dnc"}, {"name": "a", "action": "retry"}]'),
         "dispositions[1].name"),
        (("--data-fields", '[{"name": "Budget", "type": "number"}]'), "data_fields[0].name"),
        (("--voicemail", '{"action": "leave_message"}'), "voicemail.message"),
        (("--first-message", "Hi {{"), "first_message"),
        (("--caller-id", "555-0123"), "caller_id"),
    ]  # fmt: skip
    for options, message in refused:
        result = run_cli(private_database_url, *create, *options)
        assert result.returncode == 2, (options, result.stderr)
        assert message in result.stderr.replace("\n", " ") and result.stdout == "", options
    listed = run_cli(private_database_url, "playbook", "list", "--account", account, "--json")
    assert _one_json_object(listed) == {"playbooks": []}  # nothing was stored
    unknown = run_cli(private_database_url, "playbook", "list", "--account", str(uuid.uuid4()))
    assert unknown.returncode == 2 and "no account" in unknown.stderr
    assert run_cli(private_database_url, "playbook", "list", "--account", "x").returncode == 2
