"""What the agent platforms' end-to-end tests (``test_platform_*.py``) do alike, through the
API of ``platform_server``: an account, a connection, a playbook and a campaign, the campaign's
calls, the connection's webhook URL on this server, and the waits for a call to come. What
differs from one platform to the next (the connection's type, credentials and settings, the
playbook's provider fields) is passed in; the platform's own stand-in stays in its module.

Imports only the test helpers (``tests.factories``, ``tests.servers``) and the store's
``Database`` type."""

from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from outbound.store.database import Database
from tests.factories import Tenant, make_account
from tests.servers import Server, wait_for

T = TypeVar("T")

RENEWALS: dict[str, Any] = {
    "first_message": "Hi {{first_name}}",
    "dispositions": [
        {"name": "renewed", "action": "complete"},
        {"name": "call_back", "action": "callback"},
    ],
}
"""The playbook fields most platforms' tests share: a greeting by name, two dispositions."""


def tenant(database: Database, team: str) -> Tenant:
    return make_account(database, name=team)


def connect(
    http: httpx.Client,
    connection_type: str,
    name: str,
    credentials: dict[str, Any],
    settings: dict[str, Any],
) -> dict[str, Any]:
    """A connection created through the API, as the API returns it (its webhook URL too)."""
    created = http.post(
        "/provider-connection",
        json={
            "type": connection_type,
            "name": name,
            "credentials": credentials,
            "settings": settings,
        },
    )
    assert created.status_code == 201, created.text
    return dict(created.json())


def playbook(http: httpx.Client, name: str, provider: dict[str, Any], **fields: Any) -> str:
    """The id of a playbook placing its calls as ``provider`` says (a ``connection_id`` and the
    platform's own fields)."""
    created = http.post("/playbook", json={"name": name, **fields, "provider": provider})
    assert created.status_code == 201, created.text
    return str(created.json()["playbook_id"])


def campaign(
    http: httpx.Client, playbook_id: str, contacts: list[dict[str, Any]], **body: Any
) -> str:
    created = http.post(
        "/campaign", json={"playbook_id": playbook_id, "contacts": contacts, **body}
    )
    assert created.status_code == 202, created.text
    return str(created.json()["campaign_id"])


def calls(http: httpx.Client, campaign_id: str) -> dict[str, dict[str, Any]]:
    """The campaign's calls, by phone number."""
    return {c["phone"]: c for c in http.get(f"/campaign/{campaign_id}/calls").json()["calls"]}


def webhook(server: Server, connection: dict[str, Any]) -> str:
    """The connection's webhook URL on this server (the URL names the public address)."""
    return server.url + urlsplit(connection["webhook_url"]).path


def accepted(response: httpx.Response) -> bool:
    return response.status_code in (200, 204)


def nth(found: Callable[[], Sequence[T]], attempt: int) -> T:
    """The ``attempt``-th of what ``found`` lists (the calls a stand-in took to one number, in
    order), once it lists that many."""
    wait_for(lambda: len(found()) >= attempt, 20)
    return found()[attempt - 1]


def wait_for_call(
    http: httpx.Client, campaign_id: str, number: str, status: str, timeout: float
) -> None:
    wait_for(lambda: calls(http, campaign_id)[number]["status"] == status, timeout)


def wait_for_campaign(http: httpx.Client, campaign_id: str, status: str, timeout: float) -> None:
    wait_for(lambda: http.get(f"/campaign/{campaign_id}").json()["status"] == status, timeout)
