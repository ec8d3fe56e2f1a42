"""``outbound campaign ...``: campaigns for people, through a running server's API.

These commands talk HTTP (``outbound.client``), never to the database: point them at a server
with ``--url``/``--token`` or ``OUTBOUND_URL``/``OUTBOUND_TOKEN``.
"""

import codecs
import csv
import io
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from outbound.client import (
    ApiError,
    BadRequest,
    CallOut,
    CampaignOut,
    Client,
    ClientError,
    ErrorItem,
    TooManyRequests,
)
from outbound.domain.contacts import CONTACT_FIELDS
from outbound.domain.statuses import CallStatus, CampaignStatus, Outcome

campaign_app = typer.Typer(
    help="Campaigns through a running server: create from a file, watch, export.",
    no_args_is_help=True,
)

console = Console()
err_console = Console(stderr=True)

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_CHUNK_SIZE = 5000  # contacts per request
CSV_DELIMITERS = ",;\t|"
SNIFF_SAMPLE = 64 * 1024  # characters the delimiter is guessed from
RATE_LIMIT_RETRIES = 10  # times one request is retried after a 429
RATE_LIMIT_WAIT = 1.0  # seconds to wait after a 429 without Retry-After
CALLS_SCAN_BUDGET = 2000  # calls re-read per watch refresh on average; bigger campaigns less often
FINISHED = frozenset({CampaignStatus.COMPLETED.value, CampaignStatus.CANCELLED.value})
KNOWN_COLUMNS = frozenset(("phone", *CONTACT_FIELDS))

UrlOption = Annotated[
    str, typer.Option("--url", envvar="OUTBOUND_URL", help="The server's base URL.")
]
TokenOption = Annotated[
    str,
    typer.Option("--token", envvar="OUTBOUND_TOKEN", help="An API token.", show_default=False),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
CampaignArg = Annotated[str, typer.Argument(help="Campaign id.", show_default=False)]


class ExportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


def _fail(message: str, code: int = 2) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code=code)


@contextmanager
def _api(url: str, token: str) -> Iterator[Client]:
    """A client whose failures end the command: bad input exits 2, anything else 1."""
    try:
        with Client(url, token) as client:
            yield client
    except BadRequest as exc:
        raise _fail(_describe(exc)) from exc
    except ApiError as exc:
        raise _fail(_describe(exc), code=1) from exc
    except ClientError as exc:
        raise _fail(exc.message, code=1) from exc


def _describe(exc: ApiError) -> str:
    reasons = "; ".join(f"{e.field}: {e.reason}" for e in exc.errors if e.index is None)
    return f"{exc.detail} ({reasons})" if reasons and reasons not in exc.detail else exc.detail


# ---------------------------------------------------------------------------------------------
# Contact files


class UnreadableFile(Exception):
    """The contacts file cannot be read."""


@dataclass(frozen=True)
class FileContact:
    """A contact as the file gave it, and the line it starts on."""

    line: int
    contact: dict[str, Any]


@dataclass(frozen=True)
class Rejected:
    line: int
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "reason": self.reason}


@dataclass
class ContactFile:
    contacts: list[FileContact] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


def decode(data: bytes) -> str:
    """Text of a file from Excel or anywhere: UTF-8 (BOM or not), UTF-16 with BOM, cp1252,
    and latin-1 as the last resort (it decodes any byte)."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def read_contacts(path: Path) -> ContactFile:
    """Contacts from a CSV file (with a header row) or a JSON file."""
    try:
        text = decode(path.read_bytes())
    except OSError as exc:
        raise UnreadableFile(f"cannot read {path}: {exc.strerror or exc}") from exc
    stripped = text.lstrip()
    if path.suffix.lower() == ".json" or stripped.startswith(("[", "{")):
        return _read_json(text)
    return _read_csv(text)


def _column_key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def _dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    """The sniffed dialect, unless splitting the header another way is what finds ``phone``."""
    first_line = text.split("\n", 1)[0]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text[:SNIFF_SAMPLE], delimiters=CSV_DELIMITERS
        )
    except csv.Error:
        dialect = csv.excel

    def header_has_phone(candidate: type[csv.Dialect] | csv.Dialect) -> bool:
        header = next(csv.reader([first_line], candidate), [])
        return "phone" in {_column_key(name) for name in header}

    if header_has_phone(dialect):
        return dialect
    for delimiter in CSV_DELIMITERS:
        candidate = type("Guessed", (csv.excel,), {"delimiter": delimiter})
        if header_has_phone(candidate):
            return candidate
    return dialect


def _read_csv(text: str) -> ContactFile:
    reader = csv.reader(io.StringIO(text, newline=""), _dialect(text))
    try:
        header = next(reader)
    except StopIteration:
        raise UnreadableFile("the file is empty") from None
    except csv.Error as exc:
        raise UnreadableFile(f"line 1: {exc}") from exc
    keys = [_column_key(name) for name in header]
    if "phone" not in keys:
        raise UnreadableFile(
            f"the header row has no `phone` column (columns: {', '.join(header) or 'none'})"
        )
    result = ContactFile()
    line = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise UnreadableFile(f"line {line}: {exc}") from exc
        if any(cell.strip() for cell in cells):
            if any(cell.strip() for cell in cells[len(header) :]):
                reason = f"{len(cells)} cells but {len(header)} columns in the header"
                result.rejected.append(Rejected(line, reason))
            else:
                result.contacts.append(FileContact(line, _contact_of_row(header, keys, cells)))
        line = reader.line_num + 1
    return result


def _contact_of_row(header: list[str], keys: list[str], cells: list[str]) -> dict[str, Any]:
    contact: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for name, key, cell in zip(header, keys, cells, strict=False):
        value = cell.strip()
        if not value or not key:
            continue
        if key in KNOWN_COLUMNS:
            contact[key] = value
        else:
            custom[name.strip()] = value
    if custom:
        contact["custom_fields"] = custom
    return contact


def _read_json(text: str) -> ContactFile:
    """An array of contacts, or ``{"contacts": [...]}``, each item with the line it starts on."""
    try:
        items = _JsonScanner(text).contacts()
    except ValueError as exc:
        raise UnreadableFile(f"not valid JSON: {exc}") from exc
    result = ContactFile()
    for line, item in items:
        if isinstance(item, dict):
            result.contacts.append(FileContact(line, item))
        else:
            result.rejected.append(Rejected(line, "a contact must be a JSON object"))
    return result


class _JsonScanner:
    """Reads a JSON document's contacts one by one, to know the line each starts on."""

    _space = re.compile(r"\s*")
    _decoder = json.JSONDecoder()

    def __init__(self, text: str) -> None:
        self.text = text

    def skip(self, pos: int) -> int:
        match = self._space.match(self.text, pos)
        return match.end() if match else pos

    def line_of(self, pos: int) -> int:
        return self.text.count("\n", 0, pos) + 1

    def value(self, pos: int) -> tuple[Any, int]:
        return self._decoder.raw_decode(self.text, pos)

    def expect(self, pos: int, char: str) -> int:
        if not self.text.startswith(char, pos):
            raise ValueError(f"expected {char!r} on line {self.line_of(pos)}")
        return self.skip(pos + 1)

    def array(self, pos: int) -> tuple[list[tuple[int, Any]], int]:
        items: list[tuple[int, Any]] = []
        pos = self.skip(self.expect(pos, "["))
        if self.text.startswith("]", pos):
            return items, pos + 1
        while True:
            item, end = self.value(pos)
            items.append((self.line_of(pos), item))
            pos = self.skip(end)
            if self.text.startswith("]", pos):
                return items, pos + 1
            pos = self.expect(pos, ",")

    def contacts_of_object(self, pos: int) -> tuple[list[tuple[int, Any]] | None, int]:
        """The ``contacts`` array of an object (the last one, as ``json`` reads it)."""
        found: list[tuple[int, Any]] | None = None
        pos = self.expect(pos, "{")
        while not self.text.startswith("}", pos):
            key, pos = self.value(pos)
            pos = self.expect(self.skip(pos), ":")
            if key == "contacts" and self.text.startswith("[", pos):
                found, pos = self.array(pos)
            else:
                _, pos = self.value(pos)
            pos = self.skip(pos)
            if not self.text.startswith("}", pos):
                pos = self.expect(pos, ",")
        return found, pos + 1

    def contacts(self) -> list[tuple[int, Any]]:
        pos = self.skip(0)
        found: list[tuple[int, Any]] | None = None
        if self.text.startswith("[", pos):
            found, pos = self.array(pos)
        elif self.text.startswith("{", pos):
            found, pos = self.contacts_of_object(pos)
        if found is None:
            raise ValueError('expected an array of contacts or {"contacts": [...]}')
        if self.skip(pos) != len(self.text):
            raise ValueError(f"extra data on line {self.line_of(self.skip(pos))}")
        return found


def parse_recall(value: str) -> list[float]:
    """``30,120`` or ``[30, 120]``: minutes after the first attempt."""
    items = [item.strip() for item in value.strip().strip("[]").split(",") if item.strip()]
    try:
        return [float(item) for item in items]
    except ValueError as exc:
        raise ValueError(f"--recall must be minutes separated by commas, got {value!r}") from exc


# ---------------------------------------------------------------------------------------------
# Upload in chunks


@dataclass
class Upload:
    campaign_id: str | None = None
    contacts: int = 0  # distinct contacts in the campaign
    rejected: list[Rejected] = field(default_factory=list)
    paused_for_upload: bool = False


def _reasons_by_index(errors: Sequence[ErrorItem], size: int) -> dict[int, str]:
    reasons: dict[int, list[str]] = {}
    for error in errors:
        if error.index is not None and 0 <= error.index < size:
            reasons.setdefault(error.index, []).append(f"{error.field}: {error.reason}")
    return {index: "; ".join(items) for index, items in reasons.items()}


def upload_contacts(
    client: Client,
    chunks: Sequence[Sequence[FileContact]],
    create: Callable[[list[dict[str, Any]]], tuple[str, str, int]],
    on_chunk: Callable[[int], None],
    on_rejected: Callable[[Rejected], None],
    upload: Upload,
) -> None:
    """The first chunk creates the campaign, the others are added to it. Rows the server
    rejects are set aside and the rest of their chunk is sent again, so none is lost.

    A campaign that starts at once is paused while the other chunks arrive (otherwise its first
    chunk could finish and complete it before the rest is added), then resumed."""
    for number, chunk in enumerate(chunks):
        pending = list(chunk)
        retries = 0
        while pending:
            contacts = [row.contact for row in pending]
            try:
                if upload.campaign_id is None:
                    campaign_id, status, count = create(contacts)
                    upload.campaign_id, upload.contacts = campaign_id, count
                    if number + 1 < len(chunks) and status == CampaignStatus.RUNNING:
                        client.pause_campaign(campaign_id)
                        upload.paused_for_upload = True
                else:
                    added = client.add_contacts(upload.campaign_id, contacts)
                    upload.contacts += added.added
                break
            except TooManyRequests as exc:
                # refused before any work was done: the same request can be sent again
                retries += 1
                if retries > RATE_LIMIT_RETRIES:
                    raise
                time.sleep(exc.retry_after if exc.retry_after is not None else RATE_LIMIT_WAIT)
            except BadRequest as exc:
                reasons = _reasons_by_index(exc.errors, len(pending))
                if not reasons:
                    raise
                for index in sorted(reasons):
                    rejected = Rejected(pending[index].line, reasons[index])
                    upload.rejected.append(rejected)
                    on_rejected(rejected)
                pending = [row for index, row in enumerate(pending) if index not in reasons]
        on_chunk(len(chunk))
    if upload.paused_for_upload and upload.campaign_id is not None:
        client.resume_campaign(upload.campaign_id)
        upload.paused_for_upload = False


@campaign_app.command("create")
def create(
    playbook: Annotated[str, typer.Option("--playbook", help="Playbook id.", show_default=False)],
    contacts: Annotated[
        Path,
        typer.Option(
            "--contacts",
            help="CSV with a header row (phone, first_name, ...; other columns become "
            'custom fields) or JSON (an array of contacts or {"contacts": [...]}).',
            show_default=False,
        ),
    ],
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = "",
    launch_at: Annotated[
        str | None,
        typer.Option(help="ISO 8601; without an offset, in the account's timezone."),
    ] = None,
    recall: Annotated[
        str | None, typer.Option(help="Retry offsets in minutes, e.g. 30,120.")
    ] = None,
    chunk_size: Annotated[
        int, typer.Option(min=1, help="Contacts per request for large files.")
    ] = DEFAULT_CHUNK_SIZE,
    as_json: JsonFlag = False,
) -> None:
    """Create a campaign from a contacts file; print its id."""
    if not token:
        raise _fail("a token is needed: --token or OUTBOUND_TOKEN")
    try:
        offsets = parse_recall(recall) if recall is not None else None
        loaded = read_contacts(contacts)
    except (ValueError, UnreadableFile) as exc:
        raise _fail(str(exc)) from exc
    for rejected in loaded.rejected:
        _print_rejected(rejected)
    if not loaded.contacts:
        raise _fail(f"{contacts} has no contact to call")
    rows = loaded.contacts
    chunks = [rows[start : start + chunk_size] for start in range(0, len(rows), chunk_size)]
    upload = Upload(rejected=list(loaded.rejected))

    with _api(url, token) as client:

        def create_with(batch: list[dict[str, Any]]) -> tuple[str, str, int]:
            created = client.create_campaign(playbook, batch, launch_at=launch_at, recall=offsets)
            return str(created.campaign_id), created.status, created.contacts

        progress = Progress(
            TextColumn("uploading"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("contacts"),
            TimeElapsedColumn(),
            console=err_console,
        )
        task = progress.add_task("upload", total=len(rows))
        try:
            with progress:
                upload_contacts(
                    client,
                    chunks,
                    create_with,
                    lambda size: progress.advance(task, size),
                    _print_rejected,
                    upload,
                )
        except (ClientError, KeyboardInterrupt):
            if upload.paused_for_upload:
                err_console.print(
                    f"campaign {upload.campaign_id} is paused with {upload.contacts} contacts "
                    "uploaded: `outbound campaign resume` or `outbound campaign cancel` it",
                    highlight=False,
                )
            raise
    if upload.campaign_id is None:
        raise _fail("every contact was rejected: no campaign was created", code=1)
    if as_json:
        data = {
            "campaign_id": upload.campaign_id,
            "contacts": upload.contacts,
            "rejected": [r.to_json() for r in sorted(upload.rejected, key=lambda r: r.line)],
        }
        sys.stdout.write(json.dumps(data) + "\n")
        return
    err_console.print(
        f"campaign created: {_plural(upload.contacts, 'contact')}, "
        f"{_plural(len(upload.rejected), 'row')} rejected",
        highlight=False,
    )
    console.print(upload.campaign_id, highlight=False)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _print_rejected(rejected: Rejected) -> None:
    err_console.print(f"[yellow]line {rejected.line}:[/yellow] {rejected.reason}", highlight=False)


# ---------------------------------------------------------------------------------------------
# Lifecycle


def _transition(url: str, token: str, campaign_id: str, verb: str, as_json: bool) -> None:
    with _api(url, token) as client:
        action = {
            "pause": client.pause_campaign,
            "resume": client.resume_campaign,
            "cancel": client.cancel_campaign,
        }[verb]
        campaign = action(campaign_id)
    if as_json:
        sys.stdout.write(campaign.model_dump_json() + "\n")
    else:
        console.print(f"campaign {campaign.campaign_id} is {campaign.status}", highlight=False)


@campaign_app.command("pause")
def pause(
    campaign_id: CampaignArg, url: UrlOption = DEFAULT_URL, token: TokenOption = "",
    as_json: JsonFlag = False,
) -> None:  # fmt: skip
    """Stop new attempts; attempts in progress finish."""
    _transition(url, token, campaign_id, "pause", as_json)


@campaign_app.command("resume")
def resume(
    campaign_id: CampaignArg, url: UrlOption = DEFAULT_URL, token: TokenOption = "",
    as_json: JsonFlag = False,
) -> None:  # fmt: skip
    """Continue a paused campaign."""
    _transition(url, token, campaign_id, "resume", as_json)


@campaign_app.command("cancel")
def cancel(
    campaign_id: CampaignArg, url: UrlOption = DEFAULT_URL, token: TokenOption = "",
    as_json: JsonFlag = False,
) -> None:  # fmt: skip
    """Cancel every call not yet finished, and the campaign."""
    _transition(url, token, campaign_id, "cancel", as_json)


# ---------------------------------------------------------------------------------------------
# Watch

STATUS_STYLES = {
    CallStatus.PENDING.value: "cyan",
    CallStatus.IN_PROGRESS.value: "yellow",
    CallStatus.COMPLETED.value: "green",
    CallStatus.FAILED.value: "red",
    CallStatus.CANCELLED.value: "magenta",
    CallStatus.SKIPPED.value: "bright_black",
}
OUTCOME_STYLES = {
    Outcome.ANSWERED.value: "green",
    Outcome.NO_ANSWER.value: "yellow",
    Outcome.BUSY.value: "magenta",
    Outcome.VOICEMAIL.value: "blue",
    Outcome.FAILED.value: "red",
}
CAMPAIGN_STYLES = {
    CampaignStatus.SCHEDULED.value: "cyan",
    CampaignStatus.RUNNING.value: "yellow",
    CampaignStatus.PAUSED.value: "magenta",
    CampaignStatus.COMPLETED.value: "green",
    CampaignStatus.CANCELLED.value: "red",
}


@dataclass(frozen=True)
class AttemptStats:
    """What the calls' attempts say: outcomes so far, and how many started lately."""

    outcomes: Counter[str]
    attempts: int
    last_minute: int

    @classmethod
    def of(cls, calls: Sequence[CallOut], now: datetime) -> "AttemptStats":
        outcomes: Counter[str] = Counter()
        attempts = last_minute = 0
        since = now - timedelta(minutes=1)
        for call in calls:
            for attempt in call.attempts:
                attempts += 1
                if attempt.outcome:
                    outcomes[attempt.outcome] += 1
                if attempt.started_at >= since:
                    last_minute += 1
        return cls(outcomes, attempts, last_minute)


def render_campaign(campaign: CampaignOut, stats: AttemptStats | None) -> RenderableType:
    counts = campaign.counts
    total = counts.get("total", 0)
    done = sum(counts.get(status.value, 0) for status in CallStatus if status.is_terminal)
    style = CAMPAIGN_STYLES.get(campaign.status, "white")
    title = Text.assemble(
        ("campaign ", "bold"), (str(campaign.campaign_id), "bold"), "  ", (campaign.status, style)
    )
    overall = Table.grid(padding=(0, 1))
    overall.add_row(
        ProgressBar(total=max(total, 1), completed=done, width=40),
        Text(f"{done}/{total} calls finished"),
    )

    statuses = Table(title="calls by status", title_justify="left", box=None, padding=(0, 2))
    statuses.add_column("status")
    statuses.add_column("calls", justify="right")
    for status in CallStatus:
        statuses.add_row(
            Text(status.value, STATUS_STYLES[status.value]), str(counts.get(status.value, 0))
        )

    parts: list[RenderableType] = [overall, Text(), statuses, Text()]
    if stats is not None:
        outcomes = Table(title="attempt outcomes", title_justify="left", box=None, padding=(0, 2))
        outcomes.add_column("outcome")
        outcomes.add_column("attempts", justify="right")
        outcomes.add_column("")
        most = max(stats.outcomes.values(), default=0)
        for outcome in Outcome:
            count = stats.outcomes.get(outcome.value, 0)
            color = OUTCOME_STYLES[outcome.value]
            outcomes.add_row(
                Text(outcome.value, color),
                str(count),
                ProgressBar(total=max(most, 1), completed=count, width=30, complete_style=color),
            )
        parts += [
            outcomes,
            Text(),
            Text(f"attempts per minute: {stats.last_minute}   attempts: {stats.attempts}"),
        ]
    return Panel(Group(*parts), title=title, title_align="left", expand=False)


def summary_line(campaign: CampaignOut) -> str:
    counts = ", ".join(
        f"{status.value} {campaign.counts.get(status.value, 0)}" for status in CallStatus
    )
    return (
        f"campaign {campaign.campaign_id} {campaign.status}: "
        f"total {campaign.counts.get('total', 0)}, {counts}"
    )


@campaign_app.command("watch")
def watch(
    campaign_id: CampaignArg,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = "",
    interval: Annotated[float, typer.Option(min=0.1, help="Seconds between refreshes.")] = 1.0,
) -> None:
    """A live view of a campaign until it is completed or cancelled (or Ctrl-C)."""
    if not token:
        raise _fail("a token is needed: --token or OUTBOUND_TOKEN")
    with _api(url, token) as client:
        campaign = client.get_campaign(campaign_id)
        stats: AttemptStats | None = None
        tick = 0
        try:
            with Live(
                render_campaign(campaign, stats), console=console, auto_refresh=False
            ) as live:
                while True:
                    # a large campaign's calls are re-read less often than its counts
                    every = max(1, campaign.counts.get("total", 0) // CALLS_SCAN_BUDGET)
                    finished = campaign.status in FINISHED
                    if stats is None or tick % every == 0 or finished:
                        calls = list(client.iter_calls(campaign_id))
                        stats = AttemptStats.of(calls, datetime.now(UTC))
                    live.update(render_campaign(campaign, stats), refresh=True)
                    if finished:
                        break
                    time.sleep(interval)
                    tick += 1
                    campaign = client.get_campaign(campaign_id)
        except KeyboardInterrupt:
            raise typer.Exit(code=130) from None
    if not console.is_terminal:
        console.line()  # Live ends its last frame with a newline only on a terminal
    console.print(summary_line(campaign), highlight=False, soft_wrap=True)


# ---------------------------------------------------------------------------------------------
# Export


def export_rows(calls: Sequence[CallOut]) -> tuple[list[str], list[list[str]]]:
    """One row per call: who, how it ended, and each attempt's outcome and times."""
    width = max((len(call.attempts) for call in calls), default=0)
    header = ["phone", "status", "contact_id", "call_id", "attempts"]
    for number in range(1, width + 1):
        header += [
            f"attempt_{number}_outcome",
            f"attempt_{number}_started_at",
            f"attempt_{number}_ended_at",
        ]
    rows: list[list[str]] = []
    for call in calls:
        row = [call.phone, call.status, str(call.contact_id), str(call.call_id)]
        row.append(str(len(call.attempts)))
        for attempt in call.attempts:
            row += [
                attempt.outcome or "",
                _iso(attempt.started_at),
                _iso(attempt.ended_at),
            ]
        row += [""] * (len(header) - len(row))
        rows.append(row)
    return header, rows


def _iso(moment: datetime | None) -> str:
    return moment.isoformat().replace("+00:00", "Z") if moment else ""


@campaign_app.command("export")
def export(
    campaign_id: CampaignArg,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = "",
    format: Annotated[ExportFormat, typer.Option("--format", help="File format.")] = (
        ExportFormat.CSV
    ),
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
) -> None:
    """Every call of a campaign with its attempts, one row per call."""
    if not token:
        raise _fail("a token is needed: --token or OUTBOUND_TOKEN")
    with _api(url, token) as client:
        calls = list(client.iter_calls(campaign_id))
    if output is None:
        _write_export(sys.stdout, format, calls)
        return
    try:
        with output.open("w", encoding="utf-8", newline="") as sink:
            _write_export(sink, format, calls)
    except OSError as exc:
        raise _fail(f"cannot write {output}: {exc.strerror or exc}", code=1) from exc
    err_console.print(f"{len(calls)} calls written to {output}", highlight=False)


def _write_export(sink: TextIO, format: ExportFormat, calls: Sequence[CallOut]) -> None:
    if format is ExportFormat.JSON:
        json.dump([call.model_dump(mode="json") for call in calls], sink, indent=1)
        sink.write("\n")
        return
    header, rows = export_rows(calls)
    writer = csv.writer(sink, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
