"""A typed Python client for outbound's HTTP API, sync (``Client``) and async (``AsyncClient``).

    with Client("http://127.0.0.1:8000", token) as outbound:
        created = outbound.create_campaign(playbook_id, [{"phone": "+14155550100"}])
        for call in outbound.iter_calls(created.campaign_id):
            print(call.phone, call.status)

Answers are the API's own response models (``outbound.schemas``). An error answer is raised
as an exception carrying its status, ``detail`` and ``errors``:

ClientError                 anything this client raises
 ├── ConnectionFailed       the server could not be reached, or did not answer in time
 └── ApiError               the server answered with an error: status, detail, errors
      ├── BadRequest        400: invalid data; ``errors`` names each field (and contact index)
      ├── Unauthorized      401: missing or invalid token
      ├── Forbidden         403: the playbook is not your account's
      ├── NotFound          404: no such resource (or another account's)
      ├── Conflict          409: the resource's state does not allow this
      ├── TooManyRequests   429: over the token's write rate; wait ``retry_after`` seconds
      └── ServerError       5xx: the server failed, is not ready, or its database is away
"""

import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Generic, Self, TypedDict, TypeVar, Unpack
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from outbound import __version__
from outbound.schemas.accounts import AccountOut
from outbound.schemas.bodies import (
    AttemptOut,
    CallOut,
    CallsPage,
    CampaignCreatedOut,
    CampaignOut,
    CampaignsPage,
    ContactIn,
    ContactOut,
    ContactsAddedOut,
    ErrorItem,
    SuppressedOut,
    SuppressedPage,
    SuppressedPhone,
)
from outbound.schemas.connections import ProviderConnectionOut, ProviderConnectionsPage
from outbound.schemas.playbooks import PlaybookOut, PlaybooksPage
from outbound.schemas.results import ResultRecorded

__all__ = [
    "AccountChanges",
    "AccountOut",
    "ApiError",
    "AsyncClient",
    "AttemptOut",
    "BadRequest",
    "CallOut",
    "CallsPage",
    "CampaignCreatedOut",
    "CampaignOut",
    "CampaignsPage",
    "Client",
    "ClientError",
    "Conflict",
    "ConnectionFailed",
    "ContactIn",
    "ContactOut",
    "ContactsAddedOut",
    "ErrorItem",
    "Forbidden",
    "NotFound",
    "PlaybookChanges",
    "PlaybookFields",
    "PlaybookOut",
    "PlaybooksPage",
    "ProviderConnectionOut",
    "ProviderConnectionsPage",
    "ResultRecorded",
    "ServerError",
    "SuppressedOut",
    "SuppressedPage",
    "SuppressedPhone",
    "TooManyRequests",
    "Unauthorized",
]

DEFAULT_TIMEOUT = 30.0  # seconds, per request
CALLS_PAGE_SIZE = 1000  # the API's largest page of calls
CAMPAIGNS_PAGE_SIZE = 200  # the API's largest page of campaigns
DNC_PAGE_SIZE = 1000
PLAYBOOKS_PAGE_SIZE = 200  # the API's largest page of playbooks
CONNECTIONS_PAGE_SIZE = 200  # the API's largest page of provider connections

Id = uuid.UUID | str
Contact = ContactIn | Mapping[str, Any]
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class PlaybookFields(TypedDict, total=False):
    """A playbook's fields but its name, in their JSON form (``null`` clears one)."""

    first_message: str | None
    instructions: str | None
    voice: str | None
    language: str | None
    caller_id: str | None
    dispositions: Sequence[Mapping[str, Any]] | None  # {"name", "description"?, "action"}
    data_fields: Sequence[Mapping[str, Any]] | None  # {"name", "type", "description"?}
    voicemail: Mapping[str, Any] | None  # {"action", "message"?, "then"?}
    provider: Mapping[str, Any] | None  # {"connection_id", ...the fields of its type}


class PlaybookChanges(PlaybookFields, total=False):
    """The fields of a playbook to change; the others keep their values."""

    name: str


class AccountChanges(TypedDict, total=False):
    """The account's settings to change; ``calling_window=None`` clears the window."""

    timezone: str
    max_concurrent_calls: int
    calls_per_second: float
    calling_window: Mapping[str, Any] | None


class ClientError(Exception):
    """The request to outbound failed."""

    def __init__(self, message: str | None = None) -> None:
        self.message = message or (self.__doc__ or "").strip()
        super().__init__(self.message)


class ConnectionFailed(ClientError):
    """outbound could not be reached, or did not answer in time."""


class ApiError(ClientError):
    """outbound answered with an error."""

    def __init__(
        self,
        status: int,
        detail: str,
        errors: Sequence[ErrorItem] = (),
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail
        self.errors = list(errors)
        self.retry_after = retry_after  # seconds, from a Retry-After header (429, 503)


class BadRequest(ApiError):
    """400: the request's data is invalid; ``errors`` names each field at fault."""


class Unauthorized(ApiError):
    """401: the token is missing, invalid or revoked."""


class Forbidden(ApiError):
    """403: the playbook is not found or not owned by your account."""


class NotFound(ApiError):
    """404: no such resource for this account."""


class Conflict(ApiError):
    """409: the resource's state does not allow this."""


class TooManyRequests(ApiError):
    """429: too many write requests for this token; wait ``retry_after`` seconds."""


class ServerError(ApiError):
    """5xx: outbound failed to answer the request."""


_ERRORS_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    429: TooManyRequests,
}


def _error_for(response: httpx.Response) -> ApiError:
    """The exception for an error answer, with the API's ``detail`` and ``errors``."""
    detail = response.reason_phrase or f"HTTP {response.status_code}"
    errors: list[ErrorItem] = []
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        detail = str(body.get("detail") or detail)
        for item in body.get("errors") or []:
            if isinstance(item, dict):
                errors.append(ErrorItem.model_validate(item))
    kind = _ERRORS_BY_STATUS.get(response.status_code)
    if kind is None:
        kind = ServerError if response.status_code >= 500 else ApiError
    return kind(response.status_code, detail, errors, _retry_after(response))


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait from a ``Retry-After`` header given in seconds (dates are ignored)."""
    try:
        return max(0.0, float(response.headers["retry-after"]))
    except (KeyError, ValueError):
        return None


@dataclass(frozen=True)
class _Request(Generic[T]):
    """One API call: what to send, and how to read a successful answer."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: dict[str, str | int] = field(default_factory=dict)
    body: Any = None


def _model(model: type[M]) -> Callable[[httpx.Response], M]:
    return lambda response: model.model_validate_json(response.content)


def _json(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    return body


def _nothing(_: httpx.Response) -> None:
    return None


def _contact(contact: Contact) -> dict[str, Any]:
    return {name: value for name, value in contact.items() if value is not None}


def _plain(value: Any) -> Any:
    """A JSON value from mappings and sequences of any type (tuples, read-only mappings)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_plain(item) for item in value]
    return value


def _page_params(
    limit: int | None, cursor: str | None, **extra: str | None
) -> dict[str, str | int]:
    params: dict[str, str | int] = {k: v for k, v in extra.items() if v is not None}
    if limit is not None:
        params["limit"] = limit
    if cursor is not None:
        params["cursor"] = cursor
    return params


class _Routes:
    """The API's routes as requests; ``Client`` and ``AsyncClient`` only send them."""

    @staticmethod
    def create_campaign(
        playbook_id: Id,
        contacts: Sequence[Contact],
        launch_at: datetime | str | None,
        recall: Sequence[float] | None,
        calling_window: Mapping[str, Any] | None,
        max_concurrent_calls: int | None,
        recall_on: Sequence[str] | None,
    ) -> _Request[CampaignCreatedOut]:
        body: dict[str, Any] = {
            "playbook_id": str(playbook_id),
            "contacts": [_contact(c) for c in contacts],
        }
        if launch_at is not None:
            body["launch_at"] = (
                launch_at.isoformat() if isinstance(launch_at, datetime) else launch_at
            )
        if recall is not None:
            body["recall"] = list(recall)
        if calling_window is not None:
            body["calling_window"] = dict(calling_window)
        if max_concurrent_calls is not None:
            body["max_concurrent_calls"] = max_concurrent_calls
        if recall_on is not None:
            body["recall_on"] = list(recall_on)
        return _Request("POST", "/campaign", _model(CampaignCreatedOut), body=body)

    @staticmethod
    def list_campaigns(
        status: str | None, limit: int | None, cursor: str | None
    ) -> _Request[CampaignsPage]:
        params = _page_params(limit, cursor, status=status)
        return _Request("GET", "/campaign", _model(CampaignsPage), params=params)

    @staticmethod
    def get_campaign(campaign_id: Id) -> _Request[CampaignOut]:
        return _Request("GET", f"/campaign/{_segment(campaign_id)}", _model(CampaignOut))

    @staticmethod
    def transition(campaign_id: Id, verb: str) -> _Request[CampaignOut]:
        return _Request("POST", f"/campaign/{_segment(campaign_id)}/{verb}", _model(CampaignOut))

    @staticmethod
    def add_contacts(campaign_id: Id, contacts: Sequence[Contact]) -> _Request[ContactsAddedOut]:
        return _Request(
            "POST",
            f"/campaign/{_segment(campaign_id)}/contacts",
            _model(ContactsAddedOut),
            body={"contacts": [_contact(c) for c in contacts]},
        )

    @staticmethod
    def list_calls(campaign_id: Id, limit: int | None, cursor: str | None) -> _Request[CallsPage]:
        return _Request(
            "GET",
            f"/campaign/{_segment(campaign_id)}/calls",
            _model(CallsPage),
            params=_page_params(limit, cursor),
        )

    @staticmethod
    def get_contact(contact_id: Id) -> _Request[ContactOut]:
        return _Request("GET", f"/contact/{_segment(contact_id)}", _model(ContactOut))

    @staticmethod
    def get_call(call_id: Id) -> _Request[CallOut]:
        return _Request("GET", f"/call/{_segment(call_id)}", _model(CallOut))

    @staticmethod
    def post_result(
        call_id: Id, attempt: int, result: Mapping[str, Any]
    ) -> _Request[ResultRecorded]:
        path = f"/call/{_segment(call_id)}/attempts/{int(attempt)}/result"
        return _Request("POST", path, _model(ResultRecorded), body=dict(result))

    @staticmethod
    def add_dnc(phones: Sequence[str]) -> _Request[SuppressedOut]:
        return _Request("POST", "/dnc", _model(SuppressedOut), body={"phones": list(phones)})

    @staticmethod
    def remove_dnc(phone: str) -> _Request[None]:
        return _Request("DELETE", f"/dnc/{_segment(phone)}", _nothing)

    @staticmethod
    def list_dnc(limit: int | None, cursor: str | None) -> _Request[SuppressedPage]:
        return _Request("GET", "/dnc", _model(SuppressedPage), params=_page_params(limit, cursor))

    @staticmethod
    def create_playbook(name: str, fields: PlaybookFields) -> _Request[PlaybookOut]:
        body = _plain({"name": name, **fields})
        return _Request("POST", "/playbook", _model(PlaybookOut), body=body)

    @staticmethod
    def list_playbooks(limit: int | None, cursor: str | None) -> _Request[PlaybooksPage]:
        params = _page_params(limit, cursor)
        return _Request("GET", "/playbook", _model(PlaybooksPage), params=params)

    @staticmethod
    def get_playbook(playbook_id: Id) -> _Request[PlaybookOut]:
        return _Request("GET", f"/playbook/{_segment(playbook_id)}", _model(PlaybookOut))

    @staticmethod
    def update_playbook(playbook_id: Id, changes: PlaybookChanges) -> _Request[PlaybookOut]:
        path = f"/playbook/{_segment(playbook_id)}"
        return _Request("PATCH", path, _model(PlaybookOut), body=_plain(changes))

    @staticmethod
    def archive_playbook(playbook_id: Id) -> _Request[None]:
        return _Request("DELETE", f"/playbook/{_segment(playbook_id)}", _nothing)

    @staticmethod
    def get_account() -> _Request[AccountOut]:
        return _Request("GET", "/account", _model(AccountOut))

    @staticmethod
    def update_account(changes: AccountChanges) -> _Request[AccountOut]:
        return _Request("PATCH", "/account", _model(AccountOut), body=_plain(changes))

    @staticmethod
    def create_provider_connection(
        type_: str,
        name: str,
        credentials: Mapping[str, str],
        settings: Mapping[str, Any] | None,
    ) -> _Request[ProviderConnectionOut]:
        body = {
            "type": type_,
            "name": name,
            "credentials": dict(credentials),
            "settings": dict(settings or {}),
        }
        return _Request("POST", "/provider-connection", _model(ProviderConnectionOut), body=body)

    @staticmethod
    def list_provider_connections(
        limit: int | None, cursor: str | None
    ) -> _Request[ProviderConnectionsPage]:
        return _Request(
            "GET",
            "/provider-connection",
            _model(ProviderConnectionsPage),
            params=_page_params(limit, cursor),
        )

    @staticmethod
    def get_provider_connection(connection_id: Id) -> _Request[ProviderConnectionOut]:
        return _Request(
            "GET",
            f"/provider-connection/{_segment(connection_id)}",
            _model(ProviderConnectionOut),
        )

    @staticmethod
    def delete_provider_connection(connection_id: Id) -> _Request[None]:
        return _Request("DELETE", f"/provider-connection/{_segment(connection_id)}", _nothing)

    @staticmethod
    def health() -> _Request[dict[str, Any]]:
        return _Request("GET", "/healthz", _json)

    @staticmethod
    def ready() -> _Request[dict[str, Any]]:
        return _Request("GET", "/readyz", _json)


def _segment(value: Id) -> str:
    """A path segment, every reserved character escaped (``+`` of a phone included)."""
    return quote(str(value), safe="")


def _headers(token: str | None) -> dict[str, str]:
    headers = {"User-Agent": f"outbound-client/{__version__}", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def _result(request: _Request[T], response: httpx.Response) -> T:
    if response.is_error:
        raise _error_for(response)
    return request.parse(response)


class Client:
    """outbound's API over HTTP, blocking. Use it as a context manager, or ``close()`` it.

    ``transport`` (an ``httpx.BaseTransport``) replaces the network, e.g. in tests.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers=_headers(token),
            timeout=timeout,
            transport=transport,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _send(self, request: _Request[T]) -> T:
        try:
            response = self._http.request(
                request.method,
                request.path,
                params=request.params or None,
                json=request.body,
            )
        except httpx.TransportError as exc:
            raise ConnectionFailed(f"cannot reach {self._http.base_url}: {exc}") from exc
        return _result(request, response)

    def create_campaign(
        self,
        playbook_id: Id,
        contacts: Sequence[Contact],
        *,
        launch_at: datetime | str | None = None,
        recall: Sequence[float] | None = None,
        calling_window: Mapping[str, Any] | None = None,
        max_concurrent_calls: int | None = None,
        recall_on: Sequence[str] | None = None,
    ) -> CampaignCreatedOut:
        """POST /campaign: a campaign of these contacts, running now or at ``launch_at``."""
        return self._send(
            _Routes.create_campaign(
                playbook_id,
                contacts,
                launch_at,
                recall,
                calling_window,
                max_concurrent_calls,
                recall_on,
            )
        )

    def list_campaigns(
        self, *, status: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> CampaignsPage:
        """GET /campaign: one page of the account's campaigns, newest first."""
        return self._send(_Routes.list_campaigns(status, limit, cursor))

    def iter_campaigns(
        self, *, status: str | None = None, page_size: int = CAMPAIGNS_PAGE_SIZE
    ) -> Iterator[CampaignOut]:
        """Every campaign of the account, newest first, page after page."""
        cursor: str | None = None
        while True:
            page = self.list_campaigns(status=status, limit=page_size, cursor=cursor)
            yield from page.campaigns
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def get_campaign(self, campaign_id: Id) -> CampaignOut:
        """GET /campaign/{id}: the campaign and its calls counted by status."""
        return self._send(_Routes.get_campaign(campaign_id))

    def list_calls(
        self, campaign_id: Id, *, limit: int | None = None, cursor: str | None = None
    ) -> CallsPage:
        """GET /campaign/{id}/calls: one page of calls, in the order the contacts were given."""
        return self._send(_Routes.list_calls(campaign_id, limit, cursor))

    def iter_calls(self, campaign_id: Id, *, page_size: int = CALLS_PAGE_SIZE) -> Iterator[CallOut]:
        """Every call of the campaign, page after page."""
        cursor: str | None = None
        while True:
            page = self.list_calls(campaign_id, limit=page_size, cursor=cursor)
            yield from page.calls
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def pause_campaign(self, campaign_id: Id) -> CampaignOut:
        """No new attempt starts until resumed (``Conflict`` unless scheduled or running)."""
        return self._send(_Routes.transition(campaign_id, "pause"))

    def resume_campaign(self, campaign_id: Id) -> CampaignOut:
        """Continue a paused campaign (``Conflict`` unless paused)."""
        return self._send(_Routes.transition(campaign_id, "resume"))

    def cancel_campaign(self, campaign_id: Id) -> CampaignOut:
        """Cancel every unfinished call and the campaign (``Conflict`` once it has ended)."""
        return self._send(_Routes.transition(campaign_id, "cancel"))

    def add_contacts(self, campaign_id: Id, contacts: Sequence[Contact]) -> ContactsAddedOut:
        """POST /campaign/{id}/contacts: append contacts; phones it has are not called twice."""
        return self._send(_Routes.add_contacts(campaign_id, contacts))

    def get_contact(self, contact_id: Id) -> ContactOut:
        """GET /contact/{id}: the contact with every stored field."""
        return self._send(_Routes.get_contact(contact_id))

    def get_call(self, call_id: Id) -> CallOut:
        """GET /call/{id}: the call with every attempt's full result, transcript included."""
        return self._send(_Routes.get_call(call_id))

    def post_result(self, call_id: Id, attempt: int, result: Mapping[str, Any]) -> ResultRecorded:
        """POST /call/{id}/attempts/{n}/result: an agent runtime's result of one attempt
        (CONTRACT §7); ``Conflict`` when it already has one or ended too long ago."""
        return self._send(_Routes.post_result(call_id, attempt, result))

    def add_dnc(self, phones: Sequence[str]) -> SuppressedOut:
        """POST /dnc: never call these phones again; answers them normalized."""
        return self._send(_Routes.add_dnc(phones))

    def remove_dnc(self, phone: str) -> None:
        """DELETE /dnc/{phone}: allow calls to this phone again."""
        self._send(_Routes.remove_dnc(phone))

    def list_dnc(self, *, limit: int | None = None, cursor: str | None = None) -> SuppressedPage:
        """GET /dnc: one page of the do-not-call list."""
        return self._send(_Routes.list_dnc(limit, cursor))

    def iter_dnc(self, *, page_size: int = DNC_PAGE_SIZE) -> Iterator[SuppressedPhone]:
        """The whole do-not-call list, page after page."""
        cursor: str | None = None
        while True:
            page = self.list_dnc(limit=page_size, cursor=cursor)
            yield from page.phones
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def create_playbook(self, name: str, **fields: Unpack[PlaybookFields]) -> PlaybookOut:
        """POST /playbook: a playbook of the account (``BadRequest`` names each bad field)."""
        return self._send(_Routes.create_playbook(name, fields))

    def list_playbooks(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> PlaybooksPage:
        """GET /playbook: one page of the account's live playbooks, newest first."""
        return self._send(_Routes.list_playbooks(limit, cursor))

    def iter_playbooks(self, *, page_size: int = PLAYBOOKS_PAGE_SIZE) -> Iterator[PlaybookOut]:
        """Every live playbook of the account, newest first, page after page."""
        cursor: str | None = None
        while True:
            page = self.list_playbooks(limit=page_size, cursor=cursor)
            yield from page.playbooks
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def create_provider_connection(
        self,
        type: str,
        name: str,
        credentials: Mapping[str, str],
        *,
        settings: Mapping[str, Any] | None = None,
    ) -> ProviderConnectionOut:
        """POST /provider-connection: connect an agent platform (``vapi``, ``retell``...); the
        credentials are stored encrypted and never returned."""
        return self._send(_Routes.create_provider_connection(type, name, credentials, settings))

    def list_provider_connections(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> ProviderConnectionsPage:
        """GET /provider-connection: one page of the account's connections, newest first."""
        return self._send(_Routes.list_provider_connections(limit, cursor))

    def iter_provider_connections(
        self, *, page_size: int = CONNECTIONS_PAGE_SIZE
    ) -> Iterator[ProviderConnectionOut]:
        """Every connection of the account, newest first, page after page."""
        cursor: str | None = None
        while True:
            page = self.list_provider_connections(limit=page_size, cursor=cursor)
            yield from page.connections
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def get_playbook(self, playbook_id: Id) -> PlaybookOut:
        """GET /playbook/{id}: the playbook, archived or not."""
        return self._send(_Routes.get_playbook(playbook_id))

    def update_playbook(self, playbook_id: Id, **changes: Unpack[PlaybookChanges]) -> PlaybookOut:
        """PATCH /playbook/{id}: the fields given replace the stored ones (a list whole)."""
        return self._send(_Routes.update_playbook(playbook_id, changes))

    def archive_playbook(self, playbook_id: Id) -> None:
        """DELETE /playbook/{id}: no new campaign may use it; running ones go on."""
        self._send(_Routes.archive_playbook(playbook_id))

    def get_account(self) -> AccountOut:
        """GET /account: the token's account and its settings."""
        return self._send(_Routes.get_account())

    def update_account(self, **changes: Unpack[AccountChanges]) -> AccountOut:
        """PATCH /account: change the settings given."""
        return self._send(_Routes.update_account(changes))

    def get_provider_connection(self, connection_id: Id) -> ProviderConnectionOut:
        """GET /provider-connection/{id}: the connection, without its credentials."""
        return self._send(_Routes.get_provider_connection(connection_id))

    def delete_provider_connection(self, connection_id: Id) -> None:
        """DELETE /provider-connection/{id} (``Conflict`` while a live playbook uses it)."""
        self._send(_Routes.delete_provider_connection(connection_id))

    def health(self) -> dict[str, Any]:
        """GET /healthz: ``{"status": "ok"}`` while the process serves."""
        return self._send(_Routes.health())

    def ready(self) -> dict[str, Any]:
        """GET /readyz: ``{"status": "ready"}``; ``ServerError`` (503) says why not."""
        return self._send(_Routes.ready())


class AsyncClient:
    """outbound's API over HTTP, for asyncio: the same methods as ``Client``, awaited.

    Use it as an async context manager, or ``await aclose()``.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=_headers(token),
            timeout=timeout,
            transport=transport,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(self, request: _Request[T]) -> T:
        try:
            response = await self._http.request(
                request.method,
                request.path,
                params=request.params or None,
                json=request.body,
            )
        except httpx.TransportError as exc:
            raise ConnectionFailed(f"cannot reach {self._http.base_url}: {exc}") from exc
        return _result(request, response)

    async def create_campaign(
        self,
        playbook_id: Id,
        contacts: Sequence[Contact],
        *,
        launch_at: datetime | str | None = None,
        recall: Sequence[float] | None = None,
        calling_window: Mapping[str, Any] | None = None,
        max_concurrent_calls: int | None = None,
        recall_on: Sequence[str] | None = None,
    ) -> CampaignCreatedOut:
        """POST /campaign: a campaign of these contacts, running now or at ``launch_at``."""
        return await self._send(
            _Routes.create_campaign(
                playbook_id,
                contacts,
                launch_at,
                recall,
                calling_window,
                max_concurrent_calls,
                recall_on,
            )
        )

    async def list_campaigns(
        self, *, status: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> CampaignsPage:
        """GET /campaign: one page of the account's campaigns, newest first."""
        return await self._send(_Routes.list_campaigns(status, limit, cursor))

    async def iter_campaigns(
        self, *, status: str | None = None, page_size: int = CAMPAIGNS_PAGE_SIZE
    ) -> AsyncIterator[CampaignOut]:
        """Every campaign of the account, newest first, page after page."""
        cursor: str | None = None
        while True:
            page = await self.list_campaigns(status=status, limit=page_size, cursor=cursor)
            for campaign in page.campaigns:
                yield campaign
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def get_campaign(self, campaign_id: Id) -> CampaignOut:
        """GET /campaign/{id}: the campaign and its calls counted by status."""
        return await self._send(_Routes.get_campaign(campaign_id))

    async def list_calls(
        self, campaign_id: Id, *, limit: int | None = None, cursor: str | None = None
    ) -> CallsPage:
        """GET /campaign/{id}/calls: one page of calls, in the order the contacts were given."""
        return await self._send(_Routes.list_calls(campaign_id, limit, cursor))

    async def iter_calls(
        self, campaign_id: Id, *, page_size: int = CALLS_PAGE_SIZE
    ) -> AsyncIterator[CallOut]:
        """Every call of the campaign, page after page."""
        cursor: str | None = None
        while True:
            page = await self.list_calls(campaign_id, limit=page_size, cursor=cursor)
            for call in page.calls:
                yield call
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def pause_campaign(self, campaign_id: Id) -> CampaignOut:
        """No new attempt starts until resumed (``Conflict`` unless scheduled or running)."""
        return await self._send(_Routes.transition(campaign_id, "pause"))

    async def resume_campaign(self, campaign_id: Id) -> CampaignOut:
        """Continue a paused campaign (``Conflict`` unless paused)."""
        return await self._send(_Routes.transition(campaign_id, "resume"))

    async def cancel_campaign(self, campaign_id: Id) -> CampaignOut:
        """Cancel every unfinished call and the campaign (``Conflict`` once it has ended)."""
        return await self._send(_Routes.transition(campaign_id, "cancel"))

    async def add_contacts(self, campaign_id: Id, contacts: Sequence[Contact]) -> ContactsAddedOut:
        """POST /campaign/{id}/contacts: append contacts; phones it has are not called twice."""
        return await self._send(_Routes.add_contacts(campaign_id, contacts))

    async def get_contact(self, contact_id: Id) -> ContactOut:
        """GET /contact/{id}: the contact with every stored field."""
        return await self._send(_Routes.get_contact(contact_id))

    async def get_call(self, call_id: Id) -> CallOut:
        """GET /call/{id}: the call with every attempt's full result, transcript included."""
        return await self._send(_Routes.get_call(call_id))

    async def post_result(
        self, call_id: Id, attempt: int, result: Mapping[str, Any]
    ) -> ResultRecorded:
        """POST /call/{id}/attempts/{n}/result: an agent runtime's result of one attempt."""
        return await self._send(_Routes.post_result(call_id, attempt, result))

    async def add_dnc(self, phones: Sequence[str]) -> SuppressedOut:
        """POST /dnc: never call these phones again; answers them normalized."""
        return await self._send(_Routes.add_dnc(phones))

    async def remove_dnc(self, phone: str) -> None:
        """DELETE /dnc/{phone}: allow calls to this phone again."""
        await self._send(_Routes.remove_dnc(phone))

    async def list_dnc(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> SuppressedPage:
        """GET /dnc: one page of the do-not-call list."""
        return await self._send(_Routes.list_dnc(limit, cursor))

    async def iter_dnc(self, *, page_size: int = DNC_PAGE_SIZE) -> AsyncIterator[SuppressedPhone]:
        """The whole do-not-call list, page after page."""
        cursor: str | None = None
        while True:
            page = await self.list_dnc(limit=page_size, cursor=cursor)
            for phone in page.phones:
                yield phone
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def create_playbook(self, name: str, **fields: Unpack[PlaybookFields]) -> PlaybookOut:
        """POST /playbook: a playbook of the account (``BadRequest`` names each bad field)."""
        return await self._send(_Routes.create_playbook(name, fields))

    async def list_playbooks(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> PlaybooksPage:
        """GET /playbook: one page of the account's live playbooks, newest first."""
        return await self._send(_Routes.list_playbooks(limit, cursor))

    async def iter_playbooks(
        self, *, page_size: int = PLAYBOOKS_PAGE_SIZE
    ) -> AsyncIterator[PlaybookOut]:
        """Every live playbook of the account, newest first, page after page."""
        cursor: str | None = None
        while True:
            page = await self.list_playbooks(limit=page_size, cursor=cursor)
            for playbook in page.playbooks:
                yield playbook
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def create_provider_connection(
        self,
        type: str,
        name: str,
        credentials: Mapping[str, str],
        *,
        settings: Mapping[str, Any] | None = None,
    ) -> ProviderConnectionOut:
        """POST /provider-connection: connect an agent platform (``vapi``, ``retell``...); the
        credentials are stored encrypted and never returned."""
        return await self._send(
            _Routes.create_provider_connection(type, name, credentials, settings)
        )

    async def list_provider_connections(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> ProviderConnectionsPage:
        """GET /provider-connection: one page of the account's connections, newest first."""
        return await self._send(_Routes.list_provider_connections(limit, cursor))

    async def iter_provider_connections(
        self, *, page_size: int = CONNECTIONS_PAGE_SIZE
    ) -> AsyncIterator[ProviderConnectionOut]:
        """Every connection of the account, newest first, page after page."""
        cursor: str | None = None
        while True:
            page = await self.list_provider_connections(limit=page_size, cursor=cursor)
            for connection in page.connections:
                yield connection
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def get_playbook(self, playbook_id: Id) -> PlaybookOut:
        """GET /playbook/{id}: the playbook, archived or not."""
        return await self._send(_Routes.get_playbook(playbook_id))

    async def update_playbook(
        self, playbook_id: Id, **changes: Unpack[PlaybookChanges]
    ) -> PlaybookOut:
        """PATCH /playbook/{id}: the fields given replace the stored ones (a list whole)."""
        return await self._send(_Routes.update_playbook(playbook_id, changes))

    async def archive_playbook(self, playbook_id: Id) -> None:
        """DELETE /playbook/{id}: no new campaign may use it; running ones go on."""
        await self._send(_Routes.archive_playbook(playbook_id))

    async def get_account(self) -> AccountOut:
        """GET /account: the token's account and its settings."""
        return await self._send(_Routes.get_account())

    async def update_account(self, **changes: Unpack[AccountChanges]) -> AccountOut:
        """PATCH /account: change the settings given."""
        return await self._send(_Routes.update_account(changes))

    async def get_provider_connection(self, connection_id: Id) -> ProviderConnectionOut:
        """GET /provider-connection/{id}: the connection, without its credentials."""
        return await self._send(_Routes.get_provider_connection(connection_id))

    async def delete_provider_connection(self, connection_id: Id) -> None:
        """DELETE /provider-connection/{id} (``Conflict`` while a live playbook uses it)."""
        await self._send(_Routes.delete_provider_connection(connection_id))

    async def health(self) -> dict[str, Any]:
        """GET /healthz: ``{"status": "ok"}`` while the process serves."""
        return await self._send(_Routes.health())

    async def ready(self) -> dict[str, Any]:
        """GET /readyz: ``{"status": "ready"}``; ``ServerError`` (503) says why not."""
        return await self._send(_Routes.ready())
