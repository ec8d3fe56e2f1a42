"""``outbound campaign watch``: a campaign's progress and what its calls achieved (dispositions,
cost), live in the terminal."""

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

import typer
from rich.console import Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from outbound.cli.options import (
    CALLS_SCAN_BUDGET,
    DEFAULT_URL,
    FINISHED,
    CampaignArg,
    TokenOption,
    UrlOption,
    connect,
    console,
    fail,
)
from outbound.client import (
    CallOut,
    CampaignOut,
)
from outbound.clock import utcnow
from outbound.domain.statuses import CallStatus, CampaignStatus, Outcome
from outbound.schemas.records import CostOut

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
DISPOSITION_STYLE = "cyan"
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

    dispositions = render_dispositions(campaign.dispositions)
    cost = Text(f"cost: {money(campaign.cost)}")
    parts: list[RenderableType] = [overall, Text(), statuses, Text(), dispositions, Text(), cost]
    parts.append(Text())
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


def render_dispositions(dispositions: dict[str, int]) -> RenderableType:
    """Calls by the disposition of their last answered attempt, the most frequent first."""
    if not dispositions:
        return Text("calls by disposition: none yet", "bright_black")
    table = Table(title="calls by disposition", title_justify="left", box=None, padding=(0, 2))
    table.add_column("disposition")
    table.add_column("calls", justify="right")
    table.add_column("")
    most = max(dispositions.values())
    for name, count in ranked(dispositions):
        table.add_row(
            Text(name, DISPOSITION_STYLE),
            str(count),
            ProgressBar(total=most, completed=count, width=30, complete_style=DISPOSITION_STYLE),
        )
    return table


def ranked(dispositions: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(dispositions.items(), key=lambda item: (-item[1], item[0]))


def money(cost: CostOut | None) -> str:
    """An amount with its cents, and more digits only when it has them (``0.0125 USD``)."""
    if cost is None:
        return "none yet"
    digits = 2 if round(cost.amount, 2) == cost.amount else 4
    return f"{cost.amount:,.{digits}f} {cost.currency}"


def summary_line(campaign: CampaignOut) -> str:
    counts = ", ".join(
        f"{status.value} {campaign.counts.get(status.value, 0)}" for status in CallStatus
    )
    return (
        f"campaign {campaign.campaign_id} {campaign.status}: "
        f"total {campaign.counts.get('total', 0)}, {counts}"
    )


def results_line(campaign: CampaignOut) -> str:
    dispositions = ", ".join(f"{name} {count}" for name, count in ranked(campaign.dispositions))
    return f"dispositions: {dispositions or 'none'}; cost: {money(campaign.cost)}"


def watch(
    campaign_id: CampaignArg,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = "",
    interval: Annotated[float, typer.Option(min=0.1, help="Seconds between refreshes.")] = 1.0,
) -> None:
    """A live view of a campaign until it is completed or cancelled (or Ctrl-C)."""
    if not token:
        raise fail("a token is needed: --token or OUTBOUND_TOKEN")
    with connect(url, token) as client:
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
                        stats = AttemptStats.of(calls, utcnow())
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
    console.print(results_line(campaign), highlight=False, soft_wrap=True)
