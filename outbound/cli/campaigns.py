"""``outbound campaign ...``: campaigns for people, through a running server's API.

These commands talk HTTP (``outbound.client``), never to the database: point them at a server
with ``--url``/``--token`` or ``OUTBOUND_URL``/``OUTBOUND_TOKEN``.
"""

import sys

import typer

from outbound.cli import export, upload, watch
from outbound.cli.options import (
    DEFAULT_URL,
    CampaignArg,
    JsonFlag,
    TokenOption,
    UrlOption,
    connect,
    console,
)

campaign_app = typer.Typer(
    help="Campaigns through a running server: create from a file, watch, export.",
    no_args_is_help=True,
)

campaign_app.command("create")(upload.create)
campaign_app.command("watch")(watch.watch)
campaign_app.command("export")(export.export)


def _transition(url: str, token: str, campaign_id: str, verb: str, as_json: bool) -> None:
    with connect(url, token) as client:
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
