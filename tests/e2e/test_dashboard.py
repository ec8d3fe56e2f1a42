"""The dashboard at ``/``, end to end in headless Chromium (Debian's ``chromium``, driven by
Playwright): sign in with a token, watch a campaign complete, pause, resume and cancel another;
see what the calls achieved (dispositions, cost) and read one call's conversation.

``make test`` installs Chromium when it is missing; under ``CI=true`` these tests never skip.
"""

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from outbound.client import Client
from outbound.domain.dispositions import DataField, DataType
from outbound.store.database import Database
from tests.factories import Tenant, make_account, make_playbook, phone
from tests.servers import Server, start_server, wait_for

CHROMIUM = os.environ.get("OUTBOUND_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"  # at the top of the repository
SIMULATOR = {"OUTBOUND_SIMULATOR_RING_SECONDS": "0.2", "OUTBOUND_SIMULATOR_TALK_SECONDS": "0.2"}
LATER = "2099-01-01T00:00:00Z"
WAIT_MS = 30_000


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """SQLite: the page shows what the API answers, and the API is tested on both databases."""
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'outbound.db'}"


@pytest.fixture(scope="module")
def server(
    database: Database, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    with start_server(database_url, tmp_path_factory.mktemp("server"), extra_env=SIMULATOR) as s:
        yield s


def _unavailable() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (`make test` installs Debian's chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing (it is in the dev extras)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    reason = _unavailable()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the dashboard tests are mandatory under CI=true: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
            locale="en-US",  # amounts and times as the assertions write them
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    page = browser.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"console: {message.text}")
            if message.type == "error" and "Failed to load resource" not in message.text
            else None
        ),
    )
    yield page
    page.close()
    assert problems == []


def test_the_page_needs_no_token_and_the_data_does(server: Server):
    index = httpx.get(f"{server.url}/")
    assert index.status_code == 200
    assert index.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/static/dashboard.js">' in index.text
    assert "script-src 'self'" in index.headers["content-security-policy"]
    for name, kind in [
        ("dashboard.js", "text/javascript"),
        ("dashboard.css", "text/css"),
        ("favicon.svg", "image/svg+xml"),
    ]:
        response = httpx.get(f"{server.url}/static/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"].startswith(kind)
    for path in ("/static/nope.js", "/static/..%2Froutes%2Fdashboard.py", "/static/"):
        missing = httpx.get(f"{server.url}{path}")
        assert missing.status_code == 404, path
        assert "detail" in missing.json()
    assert httpx.get(f"{server.url}/campaign").status_code == 401
    assert "/" not in httpx.get(f"{server.url}/openapi.json").json()["paths"]


def _count(page: Any, name: str) -> Any:
    return page.locator(f"[data-count='{name}'] .n")


def test_dashboard_end_to_end(server: Server, account: Tenant, page: Any):
    from playwright.sync_api import expect

    api = Client(server.url, account.token)
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{server.url}/")

    # sign in: a wrong token is refused, the right one is kept in localStorage
    page.fill("#token", "ob_not_a_token")
    page.click("button[type=submit]")
    expect(page.locator("#signin-error")).to_contain_text("not accepted")
    page.fill("#token", account.token)
    page.click("button[type=submit]")
    expect(page.locator(".empty")).to_be_visible()
    assert page.evaluate("localStorage.getItem('outbound.token')") == account.token

    # a campaign created through the API appears without a reload, and completes on its page
    answered = [phone(0), phone(1)]
    unanswered = [phone(61), phone(85)]
    done = api.create_campaign(
        account.playbook_id, [{"phone": p} for p in answered + unanswered], recall=[0.002]
    )
    row = page.locator(f"tr[data-campaign-id='{done.campaign_id}']")
    expect(row).to_be_visible()
    row.locator("a").click()
    expect(page.locator("#campaign-status .badge")).to_have_text("completed", timeout=WAIT_MS)
    expect(_count(page, "total")).to_have_text("4")
    expect(_count(page, "completed")).to_have_text("2")
    expect(_count(page, "failed")).to_have_text("2")
    expect(page.locator("#progress-text")).to_contain_text("4 of 4 calls finished")
    expect(page.locator("#call-rows tr")).to_have_count(4)
    expect(page.locator("#call-rows [data-outcome='no_answer']")).to_have_count(2)
    expect(page.locator("#call-rows [data-outcome='voicemail']")).to_have_count(2)
    expect(page.locator("#outcome-chart rect[data-outcome='answered']")).to_have_attribute(
        "data-count", "2"
    )
    expect(page.locator("#outcome-chart rect[data-outcome='no_answer']")).to_have_attribute(
        "data-count", "2"
    )
    assert page.locator("#timeline-chart rect.attempt-bar").count() >= 1
    expect(page.locator("#attempt-rate")).to_contain_text("6 attempts in all")
    for verb in ("pause", "resume", "cancel"):
        expect(page.locator(f"button[data-action='{verb}']")).to_be_disabled()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    # back on the list, the campaign shows as completed with a full progress bar
    page.click("a.back")
    expect(row.locator(".badge")).to_have_text("completed")
    expect(row).to_contain_text("4/4")

    # a long-ringing campaign: no answer, and the next attempt is minutes away
    ringing = api.create_campaign(
        account.playbook_id, [{"phone": phone(62)}, {"phone": phone(63)}], recall=[10]
    )
    page.locator(f"tr[data-campaign-id='{ringing.campaign_id}'] a").click()
    status = page.locator("#campaign-status .badge")
    expect(status).to_have_text("running")
    page.click("button[data-action='pause']")
    expect(status).to_have_text("paused")
    expect(page.locator("button[data-action='pause']")).to_be_disabled()
    assert api.get_campaign(ringing.campaign_id).status == "paused"
    page.click("button[data-action='resume']")
    expect(status).to_have_text("running")
    assert api.get_campaign(ringing.campaign_id).status == "running"
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button[data-action='cancel']")
    expect(status).to_have_text("cancelled")
    assert api.get_campaign(ringing.campaign_id).status == "cancelled"
    expect(_count(page, "cancelled")).to_have_text("2")

    # signing out forgets the token
    page.click("#sign-out")
    expect(page.locator("#token")).to_be_visible()
    assert page.evaluate("localStorage.getItem('outbound.token')") is None
    api.close()


def _sign_in(page: Any, server: Server, token: str) -> None:
    page.goto(f"{server.url}/")
    page.evaluate("localStorage.clear()")
    page.reload()
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.locator("#campaign-rows").wait_for(state="attached")


def test_dispositions_cost_and_a_calls_conversation(server: Server, database: Database, page: Any):
    from playwright.sync_api import expect

    tenant = make_account(database)
    fields = (DataField("budget", DataType.NUMBER), DataField("plan", DataType.STRING))
    playbook_id = make_playbook(
        database,
        tenant.id,
        {"booked": "complete", "not_interested": "complete"},
        data_fields=fields,
    )
    booked, unanswered = phone(11), phone(70)
    ana = {
        "sim_disposition": "booked",
        "sim_summary": "Booked a demo for Tuesday at ten.",
        "sim_data": {"budget": 1200, "plan": {"tier": "pro"}},
    }
    contacts = [
        {"phone": booked, "first_name": "Ana", "custom_fields": ana},
        {"phone": phone(12), "custom_fields": {"sim_disposition": "booked"}},
        {"phone": phone(13), "custom_fields": {"sim_disposition": "not_interested"}},
        {"phone": unanswered},
    ]
    with Client(server.url, tenant.token) as api:
        campaign_id = str(api.create_campaign(playbook_id, contacts).campaign_id)
        wait_for(lambda: api.get_campaign(campaign_id).status == "completed", WAIT_MS / 1000)
        call_ids = {call.phone: str(call.call_id) for call in api.iter_calls(campaign_id)}
    page.set_default_timeout(WAIT_MS)
    _sign_in(page, server, tenant.token)
    page.goto(f"{server.url}/#/campaign/{campaign_id}")

    # the chart: calls per disposition of their last answered attempt, the most frequent first
    bars = page.locator("#disposition-chart .hbar")
    expect(bars).to_have_count(2)
    expect(bars.nth(0)).to_have_attribute("data-disposition", "booked")
    expect(bars.nth(0)).to_have_attribute("data-count", "2")
    expect(bars.nth(0)).to_contain_text("booked")
    expect(bars.nth(0).locator(".value")).to_have_text("2 · 67%")
    expect(bars.nth(1)).to_have_attribute("data-disposition", "not_interested")
    expect(bars.nth(1).locator(".value")).to_have_text("1 · 33%")
    expect(page.locator("#campaign-cost")).to_have_text("$0.16")  # three answered, one not
    rows = page.locator("#call-rows")
    expect(rows.locator(f"tr[data-call-id='{call_ids[booked]}'] [data-disposition]")).to_have_text(
        "booked"
    )

    # a call: its attempt's disposition, summary, data and transcript, turn by turn
    rows.locator(f"tr[data-call-id='{call_ids[booked]}'] button.link").click()
    detail = page.locator("#call-detail")
    expect(detail).to_be_visible()
    expect(detail.locator(".phone.big")).to_have_text(booked)
    expect(detail.locator(".facts [data-disposition]")).to_have_text("booked")
    expect(detail.locator(".facts")).to_contain_text("$0.05")
    expect(detail.locator(".summary")).to_have_text("Booked a demo for Tuesday at ten.")
    expect(detail.locator("[data-field='budget']")).to_have_text("1200")
    expect(detail.locator("[data-field='plan']")).to_have_text('{"tier":"pro"}')
    turns = detail.locator(".transcript .turn")
    expect(turns).to_have_count(2)
    expect(turns.nth(0)).to_have_attribute("data-role", "agent")
    expect(turns.nth(0).locator("p")).to_have_text("Hi Ana")
    expect(turns.nth(1)).to_have_attribute("data-role", "contact")
    expect(turns.nth(1).locator("p")).to_have_text("Hello?")
    expect(rows.locator("tr.selected")).to_have_attribute("data-call-id", call_ids[booked])
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-call.png"), full_page=True)

    # another call replaces it: unanswered, a cost and no conversation
    rows.locator(f"tr[data-call-id='{call_ids[unanswered]}']").click()
    expect(detail.locator(".phone.big")).to_have_text(unanswered)
    expect(detail.locator(".attempt")).to_have_count(1)
    expect(detail.locator(".attempt-head")).to_contain_text("no answer")
    expect(detail.locator(".facts")).to_contain_text("$0.01")
    expect(detail.locator(".transcript")).to_have_count(0)
    page.keyboard.press("Escape")
    expect(detail).to_be_hidden()
    expect(rows.locator("tr.selected")).to_have_count(0)
