"""``outbound campaign export``: every call and its attempts, as CSV or JSON.

The calls are read page after page from ``GET /campaign/{id}/calls``, whose attempts carry
their results (without transcripts): what a conversation achieved costs no request per call.
"""

import csv
import json
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TextIO

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
from outbound.domain.statuses import Outcome

RESULT_COLUMNS = ["disposition", "summary", "cost"]


def export_rows(
    calls: Sequence[CallOut], data_fields: Sequence[str]
) -> tuple[list[str], list[list[str]]]:
    """One row per call: who, how it ended, what its last answered conversation achieved
    (disposition, summary, cost, then one ``data.<name>`` column per data field of the
    playbook), and each attempt's outcome and times.

    The result's columns come before the attempts' so that they keep their place whatever the
    number of attempts."""
    width = max((len(call.attempts) for call in calls), default=0)
    header = ["phone", "status", "contact_id", "call_id", "attempts", *RESULT_COLUMNS]
    header += [f"data.{name}" for name in data_fields]
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
        row += _result_cells(last_answered_result(call), data_fields)
        for attempt in call.attempts:
            row += [
                attempt.outcome or "",
                _iso(attempt.started_at),
                _iso(attempt.ended_at),
            ]
        row += [""] * (len(header) - len(row))
        rows.append(row)
    return header, rows


def last_answered_result(call: CallOut) -> Mapping[str, Any] | None:
    """The result of the call's last answered attempt (None when no attempt was answered, or
    its result has not come): the conversation that decided the call."""
    answered = [a for a in call.attempts if a.outcome == Outcome.ANSWERED.value]
    return max(answered, key=lambda a: a.number).result if answered else None


def _result_cells(result: Mapping[str, Any] | None, data_fields: Sequence[str]) -> list[str]:
    if result is None:
        return [""] * (len(RESULT_COLUMNS) + len(data_fields))
    cost = result.get("cost") or {}
    data = result.get("data") or {}
    cells = [_text(result.get("disposition")), _text(result.get("summary"))]
    cells.append(_text(cost.get("amount")))
    return cells + [_text(data.get(name)) for name in data_fields]


def _text(value: Any) -> str:
    """A value as a cell: text as it is, nothing as empty, anything else as JSON (``1200``,
    ``true``, ``{"seats": 3}``), which a spreadsheet and a script both read back."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


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
    """Every call of a campaign with its attempts and results, one row per call."""
    if not token:
        raise fail("a token is needed: --token or OUTBOUND_TOKEN")
    data_fields: list[str] = []
    with connect(url, token) as client:
        if format is ExportFormat.CSV:
            playbook_id = client.get_campaign(campaign_id).playbook_id
            data_fields = [field.name for field in client.get_playbook(playbook_id).data_fields]
        calls = list(client.iter_calls(campaign_id))
    if output is None:
        _write_export(sys.stdout, format, calls, data_fields)
        return
    try:
        with output.open("w", encoding="utf-8", newline="") as sink:
            _write_export(sink, format, calls, data_fields)
    except OSError as exc:
        raise fail(f"cannot write {output}: {exc.strerror or exc}", code=1) from exc
    err_console.print(f"{len(calls)} calls written to {output}", highlight=False)


def _write_export(
    sink: TextIO, format: ExportFormat, calls: Sequence[CallOut], data_fields: Sequence[str]
) -> None:
    if format is ExportFormat.JSON:
        json.dump([call.model_dump(mode="json") for call in calls], sink, indent=1)
        sink.write("\n")
        return
    header, rows = export_rows(calls, data_fields)
    writer = csv.writer(sink, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
