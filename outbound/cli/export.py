"""``outbound campaign export``: every call and its attempts, as CSV or JSON."""

import csv
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Annotated, TextIO

import typer

from outbound.cli.options import (
    DEFAULT_URL,
    CampaignArg,
    ExportFormat,
    TokenOption,
    UrlOption,
    connect,
    err_console,
    fail,
)
from outbound.client import (
    CallOut,
)


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
        raise fail("a token is needed: --token or OUTBOUND_TOKEN")
    with connect(url, token) as client:
        calls = list(client.iter_calls(campaign_id))
    if output is None:
        _write_export(sys.stdout, format, calls)
        return
    try:
        with output.open("w", encoding="utf-8", newline="") as sink:
            _write_export(sink, format, calls)
    except OSError as exc:
        raise fail(f"cannot write {output}: {exc.strerror or exc}", code=1) from exc
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
