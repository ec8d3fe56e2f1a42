"""What the campaign commands share: options, consoles, limits of the upload, and a client
whose failures end the command."""

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console

from outbound.client import (
    ApiError,
    BadRequest,
    Client,
    ClientError,
)
from outbound.domain.contacts import CONTACT_FIELDS
from outbound.domain.statuses import CampaignStatus

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


def fail(message: str, code: int = 2) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code=code)


@contextmanager
def connect(url: str, token: str) -> Iterator[Client]:
    """A client whose failures end the command: bad input exits 2, anything else 1."""
    try:
        with Client(url, token) as client:
            yield client
    except BadRequest as exc:
        raise fail(describe(exc)) from exc
    except ApiError as exc:
        raise fail(describe(exc), code=1) from exc
    except ClientError as exc:
        raise fail(exc.message, code=1) from exc


def describe(exc: ApiError) -> str:
    reasons = "; ".join(f"{e.field}: {e.reason}" for e in exc.errors if e.index is None)
    return f"{exc.detail} ({reasons})" if reasons and reasons not in exc.detail else exc.detail
