"""The Twilio provider: each attempt is one call created through Twilio's REST API.

``place_call`` creates the call (``POST /2010-04-01/Accounts/{sid}/Calls.json``) with the
official SDK and returns its ``CallSid``. When the callee picks up, Twilio fetches the TwiML
that connects the call to your agent from ``OUTBOUND_TWILIO_TWIML_URL`` (POST), with
``?call_id=<call id>&attempt=<n>`` appended to it and Twilio's own parameters in the body
(``CallSid``, ``To``, ``From``...). Neither the rendered playbook nor the contact's variables
travel through Twilio: the TwiML endpoint identifies the call by ``call_id`` and loads what the
agent needs itself, so no personal data sits in Twilio's request logs.

Twilio reports the call's progress and the verdict of answering-machine detection (async AMD)
to ``<OUTBOUND_PUBLIC_URL>/provider/twilio/status``: form-encoded parameters, signed with the
auth token in ``X-Twilio-Signature`` (``TwilioCallbacks``). Each callback becomes events:

| Twilio sends | recorded |
|---|---|
| ``CallStatus=queued`` or ``initiated`` | nothing |
| ``CallStatus=ringing`` | ``ringing`` |
| ``CallStatus=in-progress`` | ``answered`` |
| ``AnsweredBy`` without a final ``CallStatus`` (async AMD) | ``machine_detection`` |
| ``CallStatus=completed`` | ``ended``: answered; voicemail if ``AnsweredBy`` is machine_*, fax |
| ``CallStatus=busy`` / ``no-answer`` / ``failed`` | ``ended``: busy / no_answer / failed |
| ``CallStatus=canceled`` | ``ended``: failed, error ``canceled`` |

The answer is ``204`` (Twilio ignores bodies). Twilio retries a callback as it was: the same
callback twice is accepted, and its events recorded once.

Errors are translated here: Twilio's 5xx and 429 and a Twilio that cannot be reached are
``ProviderUnavailable`` (the attempt is not spent); any other refusal (4xx, e.g. an invalid
number) is ``CallRejected``.

What creates and looks up calls (``TwilioAccount``), verifies and parses the callbacks
(``TwilioCallbacks``) is shared with the adapter of a ``twilio`` provider connection
(``outbound.providers.platforms.twilio``), which differs only in where each setting comes from.
"""

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import Self
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from outbound.config import Settings
from outbound.domain.statuses import Outcome
from outbound.providers.base import CallHandle, CallRequest, Provider, ReportResult
from outbound.providers.callbacks import (
    CallbackReceiver,
    CallbackRequest,
    CallbackRoute,
    EventKind,
    ProviderEvent,
    callback_path,
)
from outbound.providers.errors import (
    CallRejected,
    InvalidCallback,
    MalformedCallback,
    ProviderUnavailable,
)

NAME = "twilio"
STATUS_ROUTE = "status"
STATUS_CALLBACK_PATH = callback_path(NAME, STATUS_ROUTE)
STATUS_CALLBACK_EVENTS = ["initiated", "ringing", "answered", "completed"]
API_TIMEOUT_SECONDS = 10.0  # one REST request to Twilio
SIGNATURE_HEADER = "X-Twilio-Signature"

# CallStatus values, https://www.twilio.com/docs/voice/api/call-resource#call-status-values
ENDED: dict[str, tuple[Outcome, str | None]] = {
    "completed": (Outcome.ANSWERED, None),  # resolve_outcome turns a machine into voicemail
    "busy": (Outcome.BUSY, None),
    "no-answer": (Outcome.NO_ANSWER, None),
    "failed": (Outcome.FAILED, None),
    "canceled": (Outcome.FAILED, "canceled"),
}
PROGRESS: dict[str, EventKind] = {"ringing": "ringing", "in-progress": "answered"}
NOT_RECORDED = frozenset({"queued", "initiated"})

FORM_SCHEMA = {
    "type": "object",
    "required": ["CallSid"],
    "properties": {
        "CallSid": {"type": "string"},
        "AccountSid": {"type": "string"},
        "CallStatus": {
            "type": "string",
            "enum": sorted([*NOT_RECORDED, *PROGRESS, *ENDED]),
        },
        "CallDuration": {"type": "string", "description": "seconds, with a final status"},
        "AnsweredBy": {"type": "string", "description": "human, machine_start, fax, unknown..."},
    },
    "additionalProperties": {"type": "string"},
}


class TwilioCallbacks(CallbackReceiver):
    """Twilio's status and answering-machine callbacks, signed with the account's auth token."""

    name = NAME
    routes = (
        CallbackRoute(
            path=STATUS_ROUTE,
            name="twilio_status",
            description=(
                "A status or answering-machine callback from Twilio; "
                "`X-Twilio-Signature` is required."
            ),
            media_type="application/x-www-form-urlencoded",
            body_schema=FORM_SCHEMA,
        ),
    )

    def __init__(self, auth_token: str) -> None:
        self._validator = RequestValidator(auth_token)  # type: ignore[no-untyped-call]

    @classmethod
    def from_settings(cls, settings: Settings) -> Self | None:
        token = settings.twilio_auth_token
        return cls(token) if token else None

    def authenticate(self, request: CallbackRequest, now: datetime) -> None:
        # Twilio signs the URL it called (outbound's public address) and the form's parameters
        # (HMAC-SHA1); the signature has no timestamp, and Twilio retries a callback unchanged.
        signature = request.header(SIGNATURE_HEADER)
        params = _form(request.body)
        if not signature or not self._validator.validate(  # type: ignore[no-untyped-call]
            request.url, params, signature
        ):
            raise InvalidCallback(f"missing or invalid {SIGNATURE_HEADER}")

    def parse_callback(self, request: CallbackRequest) -> list[ProviderEvent]:
        return status_events(_form(request.body))


def _form(body: bytes) -> dict[str, str]:
    return dict(parse_qsl(body.decode(errors="replace"), keep_blank_values=True))


def status_events(params: Mapping[str, str]) -> list[ProviderEvent]:
    """The provider events a status or AMD callback reports (none for queued and initiated)."""
    call_sid = params.get("CallSid")
    if not call_sid:
        raise MalformedCallback("missing CallSid", [{"field": "CallSid", "reason": "required"}])
    status = params.get("CallStatus", "")
    answered_by = params.get("AnsweredBy") or None
    ended = end_event(call_sid, status, params.get("CallDuration"), answered_by)
    if ended is not None:
        return [ended]
    events = []
    if status in PROGRESS:
        events.append(ProviderEvent(NAME, call_sid, PROGRESS[status]))
    if answered_by:
        events.append(ProviderEvent(NAME, call_sid, "machine_detection", answered_by=answered_by))
    if not events and status not in NOT_RECORDED:
        raise MalformedCallback(
            f"unknown CallStatus {status!r}", [{"field": "CallStatus", "reason": "unknown"}]
        )
    return events


def end_event(
    call_sid: str, status: str, duration: str | None, answered_by: str | None
) -> ProviderEvent | None:
    """The ``ended`` event of a call in a final ``status`` (None while it goes on), as a status
    callback and the Call resource both tell it."""
    if status not in ENDED:
        return None
    outcome, reason = ENDED[status]
    return ProviderEvent(
        provider=NAME,
        provider_call_id=call_sid,
        kind="ended",
        outcome=outcome,
        duration_s=_seconds(duration),
        answered_by=answered_by,
        error=reason,
    )


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


class RedirectingHttpClient(TwilioHttpClient):
    """The SDK's HTTP client, sending every request to ``base_url`` instead of Twilio's hosts.

    Only for a stand-in of Twilio's API (tests, local development); the path, query, body and
    credentials of each request are left as the SDK built them.
    """

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self._base = urlsplit(base_url)

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        parts = urlsplit(url)
        redirected = parts._replace(
            scheme=self._base.scheme,
            netloc=self._base.netloc,
            path=self._base.path.rstrip("/") + parts.path,
        )
        return super().request(
            method,
            urlunsplit(redirected),
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )


def with_query(url: str, **params: str) -> str:
    """``url`` with ``params`` added to its query string (existing parameters are kept)."""
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


class TwilioAccount:
    """Twilio's Call API for one account, through the official SDK (which blocks: each request
    runs in a thread), its errors translated."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        api_base_url: str | None = None,
        timeout_seconds: float = API_TIMEOUT_SECONDS,
    ) -> None:
        self._http_client = (
            RedirectingHttpClient(api_base_url, timeout_seconds)
            if api_base_url
            else TwilioHttpClient(timeout=timeout_seconds)
        )
        # The SDK annotates everything we use but Client.__init__.
        self._client = Client(  # type: ignore[no-untyped-call]
            account_sid, auth_token, http_client=self._http_client
        )

    async def create_call(
        self,
        request: CallRequest,
        twiml_url: str,
        status_callback: str,
        ring_timeout_seconds: int,
        time_limit_seconds: int,
    ) -> CallHandle:
        """Create the call (``POST /Calls.json``): Twilio fetches ``twiml_url``, with the
        attempt in its query, once the callee picks up, and reports the call's progress and the
        verdict of answering-machine detection to ``status_callback``."""
        if not request.from_:
            raise CallRejected("Twilio needs a caller id: set the playbook's caller_id")
        url = with_query(
            twiml_url, call_id=str(request.call_id), attempt=str(request.attempt_number)
        )
        try:
            call = await asyncio.to_thread(
                self._client.calls.create,
                to=request.to,
                from_=request.from_,
                url=url,
                method="POST",
                status_callback=status_callback,
                status_callback_event=STATUS_CALLBACK_EVENTS,
                status_callback_method="POST",
                machine_detection="Enable",
                async_amd="true",  # the API's spelling; the SDK sends the string as given
                async_amd_status_callback=status_callback,
                async_amd_status_callback_method="POST",
                timeout=ring_timeout_seconds,
                time_limit=time_limit_seconds,
            )
        except (TwilioRestException, TwilioServiceException) as exc:
            detail = _detail(exc)
            if exc.status >= 500 or exc.status == 429:
                raise ProviderUnavailable(f"Twilio answered {detail}") from exc
            raise CallRejected(f"Twilio refused the call: {detail}") from exc
        except requests.RequestException as exc:  # connection refused, timeout, reset...
            raise ProviderUnavailable(f"Twilio unreachable: {exc!r}") from exc
        if not call.sid:
            raise CallRejected("Twilio answered without a call sid")
        return CallHandle(str(call.sid))

    async def fetch_call(self, call_sid: str) -> list[ProviderEvent]:
        """The call's end as its Call resource shows it (``GET /Calls/{CallSid}.json``), mapped
        as its status callback is; nothing while it is queued, ringing or in progress. A call
        Twilio does not know (404) ended failed; Twilio failing to answer raises
        ``ProviderUnavailable``."""
        try:
            call = await asyncio.to_thread(self._client.calls(call_sid).fetch)
        except (TwilioRestException, TwilioServiceException) as exc:
            if exc.status == 404:
                return [
                    ProviderEvent(
                        NAME,
                        call_sid,
                        "ended",
                        outcome=Outcome.FAILED,
                        error=f"Twilio knows no call {call_sid}",
                    )
                ]
            raise ProviderUnavailable(f"Twilio answered {_detail(exc)}") from exc
        except requests.RequestException as exc:
            raise ProviderUnavailable(f"Twilio unreachable: {exc!r}") from exc
        ended = end_event(call_sid, str(call.status or ""), call.duration, call.answered_by)
        return [ended] if ended is not None else []

    def close(self) -> None:
        if self._http_client.session is not None:
            self._http_client.session.close()


class TwilioProvider(Provider):
    name = NAME
    callbacks = TwilioCallbacks

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        twiml_url: str,
        public_url: str,
        ring_timeout_seconds: int,
        time_limit_seconds: float,
        api_base_url: str | None = None,
        api_timeout_seconds: float = API_TIMEOUT_SECONDS,
    ) -> None:
        self._twiml_url = twiml_url
        self._status_callback = public_url.rstrip("/") + STATUS_CALLBACK_PATH
        self._ring_timeout_seconds = ring_timeout_seconds
        self._time_limit_seconds = time_limit_seconds
        self._account = TwilioAccount(account_sid, auth_token, api_base_url, api_timeout_seconds)

    @classmethod
    def from_settings(cls, settings: Settings, report: ReportResult) -> Self:
        assert (  # checked at start
            settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_twiml_url
        )
        return cls(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            twiml_url=settings.twilio_twiml_url,
            public_url=settings.public_url,
            ring_timeout_seconds=settings.ring_timeout_seconds,
            time_limit_seconds=settings.max_call_seconds,
            api_base_url=settings.twilio_api_base_url,
        )

    @property
    def max_call_seconds(self) -> float:
        # Twilio rings for up to ``Timeout`` before the call starts; ``TimeLimit`` bounds the rest.
        return self._ring_timeout_seconds + self._time_limit_seconds

    async def place_call(self, request: CallRequest) -> CallHandle:
        return await self._account.create_call(
            request,
            self._twiml_url,
            self._status_callback,
            self._ring_timeout_seconds,
            int(self._time_limit_seconds),
        )

    async def aclose(self) -> None:
        self._account.close()


def _detail(exc: TwilioRestException | TwilioServiceException) -> str:
    """Twilio's status, error code and message, e.g. ``400 (code 21211): Invalid 'To'...``."""
    if isinstance(exc, TwilioServiceException):
        message = str(exc.detail or exc.title)
    else:
        message = str(exc.msg)
    return f"{exc.status} (code {exc.code}): {message}"
