"""``outbound campaign create``: a contact file uploaded in chunks, bad contacts named by line."""

import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from outbound.cli.contact_files import (
    FileContact,
    Rejected,
    UnreadableFile,
    parse_recall,
    read_contacts,
)
from outbound.cli.options import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_URL,
    RATE_LIMIT_RETRIES,
    RATE_LIMIT_WAIT,
    JsonFlag,
    TokenOption,
    UrlOption,
    connect,
    console,
    err_console,
    fail,
)
from outbound.client import (
    BadRequest,
    Client,
    ClientError,
    ErrorItem,
    TooManyRequests,
)
from outbound.domain.statuses import CampaignStatus


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
        raise fail("a token is needed: --token or OUTBOUND_TOKEN")
    try:
        offsets = parse_recall(recall) if recall is not None else None
        loaded = read_contacts(contacts)
    except (ValueError, UnreadableFile) as exc:
        raise fail(str(exc)) from exc
    for rejected in loaded.rejected:
        _print_rejected(rejected)
    if not loaded.contacts:
        raise fail(f"{contacts} has no contact to call")
    rows = loaded.contacts
    chunks = [rows[start : start + chunk_size] for start in range(0, len(rows), chunk_size)]
    upload = Upload(rejected=list(loaded.rejected))

    with connect(url, token) as client:

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
        raise fail("every contact was rejected: no campaign was created", code=1)
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
