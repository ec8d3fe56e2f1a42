"""The ``outbound`` command."""

import asyncio
import contextlib
import json
import signal
import sys
import uuid
from collections.abc import Iterator
from typing import Annotated, Any

import typer
import uvicorn
from rich.console import Console

from outbound import logs
from outbound.cli.campaigns import campaign_app
from outbound.config import Settings
from outbound.domain.records import Playbook
from outbound.exceptions import OutboundError
from outbound.schemas.playbooks import playbook_view
from outbound.services import accounts, playbooks
from outbound.store.database import Database
from outbound.workers import gc_tuning
from outbound.workers.assembly import open_database, run_worker

app = typer.Typer(help="Outbound phone-call campaigns for AI voice agents.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
account_app = typer.Typer(help="Accounts.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
playbook_app = typer.Typer(help="Playbooks (the assistants that talk).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(account_app, name="account")
app.add_typer(token_app, name="token")
app.add_typer(playbook_app, name="playbook")
app.add_typer(campaign_app, name="campaign")

console = Console()
err_console = Console(stderr=True)

HostOption = Annotated[str, typer.Option(help="Interface to listen on.")]
PortOption = Annotated[int, typer.Option(help="Port to listen on.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]


class _ExitCleanlyServer(uvicorn.Server):
    """uvicorn re-raises SIGTERM/SIGINT after its graceful shutdown, so the process would end
    "killed by signal"; a shutdown we completed is a success, so we exit 0 instead."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            self._captured_signals.clear()


def fail(message: str) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=2)


def _emit(as_json: bool, data: dict[str, Any], human: str) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data) + "\n")
    else:
        console.print(human)


def _require_concurrent_writers(database: Database, command: str) -> None:
    """``api`` and ``worker`` run as several processes that write at once: not on SQLite."""
    if not database.concurrent_writers:
        raise fail(f"`outbound {command}` needs PostgreSQL; on SQLite run `outbound serve`")


@app.command()
def serve(host: HostOption = "127.0.0.1", port: PortOption = 8000) -> None:
    """API and dispatcher in one process (the embedded mode)."""
    from outbound.api.app import create_app

    logs.setup()
    settings = Settings()
    database = open_database(settings)
    database.upgrade()
    demo = accounts.ensure_demo(database)
    if demo is not None:
        base = f"http://{host}:{port}"
        body = json.dumps(
            {
                "playbook_id": str(demo.playbook.id),
                "contacts": [
                    {"phone": "+14155550100", "first_name": "Ada", "company": "Acme"},
                    {"phone": "+14155550161", "first_name": "Grace"},
                    {"phone": "+14155550185", "first_name": "Alan"},
                ],
                "recall": [0.1, 0.2],
            }
        )
        console.print("[bold]Demo account created[/bold] (shown once)")
        console.print(f"  token:       {demo.token}")
        console.print(f"  playbook_id: {demo.playbook.id}")
        console.print("Start a campaign:")
        console.print(
            f"curl -s -X POST {base}/campaign -H 'Authorization: Bearer {demo.token}' "
            f"-H 'Content-Type: application/json' -d '{body}'",
            soft_wrap=True,
            highlight=False,
        )
    config = uvicorn.Config(
        create_app(settings, database, dispatch=True),
        host=host,
        port=port,
        log_config=logs.config(),
    )
    _ExitCleanlyServer(config).run()


@app.command()
def api(
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Server processes.")] = 1,
) -> None:
    """API only (PostgreSQL); run `outbound worker` to dial."""
    logs.setup()
    settings = Settings()
    database = open_database(settings)
    _require_concurrent_writers(database, "api")
    database.upgrade()
    database.dispose()
    uvicorn.run(
        "outbound.api.app:create_api_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=logs.config(),
    )


@app.command()
def worker() -> None:
    """Dispatcher only (PostgreSQL); run as many as you like."""
    logs.setup()
    settings = Settings()
    database = open_database(settings)
    _require_concurrent_writers(database, "worker")
    database.dispose()

    async def main() -> None:
        gc_tuning.tune()
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        await run_worker(settings, stopping)

    asyncio.run(main())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply migrations (idempotent)."""
    open_database(Settings()).upgrade()
    err_console.print("database is up to date")


@account_app.command("create")
def account_create(
    name: Annotated[str, typer.Option(help="Account name.")],
    timezone: Annotated[str, typer.Option(help="IANA zone for times without offset.")] = "UTC",
    as_json: JsonFlag = False,
) -> None:
    """Create an account and its first API token."""
    try:
        account, token = accounts.create_account(open_database(Settings()), name, timezone)
    except OutboundError as exc:
        raise fail(exc.message) from exc
    _emit(
        as_json,
        {"account_id": str(account.id), "token": token},
        f"account {account.id}\ntoken   {token}  (shown once)",
    )


@account_app.command("update")
def account_update(
    account: Annotated[str, typer.Option("--account", help="Account id.")],
    timezone: Annotated[str | None, typer.Option(help="IANA zone.")] = None,
    max_concurrent_calls: Annotated[
        int | None, typer.Option(help="Calls in progress at once (0: no limit).")
    ] = None,
    calls_per_second: Annotated[
        float | None, typer.Option(help="Attempts started per second (0: no limit).")
    ] = None,
    calling_window: Annotated[
        str | None,
        typer.Option(
            help='Default window as JSON, e.g. \'{"start":"09:00","end":"20:00"}\'; '
            '"none" clears it.'
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Change an account's timezone, pacing limits or default calling window."""
    window: object = accounts.UNCHANGED
    if calling_window is not None:
        try:
            window = None if calling_window == "none" else json.loads(calling_window)
        except json.JSONDecodeError as exc:
            raise fail(f"--calling-window is not JSON: {exc}") from exc
    try:
        updated = accounts.update_account(
            open_database(Settings()),
            _uuid(account, "--account"),
            timezone=timezone,
            max_concurrent_calls=max_concurrent_calls,
            calls_per_second=calls_per_second,
            calling_window=window,
        )
    except OutboundError as exc:
        raise fail(_described(exc)) from exc
    data = {
        "account_id": str(updated.id),
        "timezone": updated.timezone,
        "max_concurrent_calls": updated.max_concurrent_calls,
        "calls_per_second": updated.calls_per_second,
        "calling_window": updated.calling_window.to_json() if updated.calling_window else None,
    }
    _emit(as_json, data, "\n".join(f"{k}: {v}" for k, v in data.items()))


@token_app.command("create")
def token_create(
    account: Annotated[str, typer.Option("--account", help="Account id.")],
    as_json: JsonFlag = False,
) -> None:
    """Create another API token for an account."""
    try:
        token = accounts.create_token(open_database(Settings()), _uuid(account, "--account"))
    except OutboundError as exc:
        raise fail(exc.message) from exc
    _emit(as_json, {"token": token}, f"token {token}  (shown once)")


@token_app.command("revoke")
def token_revoke(
    token: Annotated[str, typer.Option("--token", help="The token to revoke.")],
    as_json: JsonFlag = False,
) -> None:
    """Revoke an API token: it is refused at once."""
    if not accounts.revoke_token(open_database(Settings()), token):
        raise fail("no such live token")
    _emit(as_json, {"revoked": True}, "token revoked")


@playbook_app.command("create")
def playbook_create(
    account: Annotated[str, typer.Option("--account", help="Account id.")],
    name: Annotated[str, typer.Option(help="Playbook name.")],
    first_message: Annotated[str | None, typer.Option(help="What the agent says first.")] = None,
    instructions: Annotated[str | None, typer.Option(help="The agent's instructions.")] = None,
    voice: Annotated[str | None, typer.Option(help="Voice name.")] = None,
    language: Annotated[str | None, typer.Option(help="Language tag, e.g. en-US.")] = None,
    caller_id: Annotated[
        str | None, typer.Option(help="Number the calls come from (E.164).")
    ] = None,
    dispositions: Annotated[
        str | None,
        typer.Option(help='JSON array, e.g. \'[{"name": "interested", "action": "complete"}]\'.'),
    ] = None,
    data_fields: Annotated[
        str | None,
        typer.Option(help='JSON array, e.g. \'[{"name": "budget", "type": "number"}]\'.'),
    ] = None,
    voicemail: Annotated[
        str | None,
        typer.Option(help='JSON object, e.g. \'{"action": "leave_message", "message": "Hi"}\'.'),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a playbook (an assistant) for an account."""
    documents = {
        "dispositions": _json_option(dispositions, "--dispositions"),
        "data_fields": _json_option(data_fields, "--data-fields"),
        "voicemail": _json_option(voicemail, "--voicemail"),
    }
    try:
        playbook = accounts.create_playbook(
            open_database(Settings()),
            _uuid(account, "--account"),
            name,
            first_message=first_message,
            instructions=instructions,
            voice=voice,
            language=language,
            caller_id=caller_id,
            **documents,
        )
    except OutboundError as exc:
        raise fail(_described(exc)) from exc
    _emit(as_json, {"playbook_id": str(playbook.id)}, f"playbook {playbook.id}")


@playbook_app.command("list")
def playbook_list(
    account: Annotated[str, typer.Option("--account", help="Account id.")],
    as_json: JsonFlag = False,
) -> None:
    """The account's playbooks that are not archived, newest first."""
    database = open_database(Settings())
    account_id = _uuid(account, "--account")
    found: list[Playbook] = []
    cursor: str | None = None
    try:
        while True:
            page = playbooks.list_playbooks(database, account_id, cursor, playbooks.MAX_PAGE)
            found += page.items
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    except OutboundError as exc:
        raise fail(exc.message) from exc
    views = [playbook_view(p).model_dump(mode="json") for p in found]
    lines = [f"{v['playbook_id']}  {v['created_at']}  {v['name']}" for v in views]
    _emit(as_json, {"playbooks": views}, "\n".join(lines) or "no playbooks")


def _json_option(value: str | None, option: str) -> Any:
    """The JSON value of an option (None when it is not given)."""
    if value is None:
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise fail(f"{option} is not JSON: {exc}") from exc


def _described(exc: OutboundError) -> str:
    """The error's message, and each field at fault with its reason."""
    errors = getattr(exc, "errors", None) or []
    return "\n".join([exc.message, *(f"  {e['field']}: {e['reason']}" for e in errors)])


def _uuid(value: str, option: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise fail(f"{option} must be a UUID, got {value!r}") from exc


def main() -> None:
    app()
