"""Callbacks: what a platform posts back to outbound about its calls, and the events they carry.

A provider whose platform reports calls over HTTP declares a ``CallbackReceiver``
(``Provider.callbacks``). The receiver owns everything about those requests: the addresses the
platform posts to (``routes``, served under ``/provider/<name>/``), the platform's signature
scheme (``authenticate``), its payloads (``parse_callback``) and the answer it expects
(``acknowledge``). The API hands it the raw request and records the events it returns
(``ProviderEvent``) through ``services.provider_events``; it never looks inside a platform's
request.

May import ``outbound.domain``, ``outbound.config`` and pydantic (for the documented schemas);
nothing of the API, the services or the store.
"""

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel

from outbound.config import Settings
from outbound.domain.results import ConversationResult
from outbound.domain.statuses import Outcome

CALLBACK_PREFIX = "/provider"  # a platform's callbacks arrive under /provider/<name>/

# "result": the conversation's result, after the event that ended the call (a platform that
# analyses the call later, e.g. Retell's call_analyzed); "unplaced": the platform did not place
# the call because it was busy (a concurrency limit): the attempt is not spent.
EventKind = Literal["ringing", "answered", "machine_detection", "ended", "result", "unplaced"]


@dataclass(frozen=True)
class ProviderEvent:
    """One thing a provider reports about a call it placed, in outbound's words."""

    provider: str  # the provider's name: "webhook", "twilio"
    provider_call_id: str
    kind: EventKind
    outcome: Outcome | None = None  # with "ended"
    duration_s: float | None = None
    answered_by: str | None = None  # answering-machine detection: "human", "machine_start"...
    error: str | None = None
    result: ConversationResult | None = None  # with "ended" or "result"


@dataclass(frozen=True)
class CallbackRequest:
    """One HTTP request a platform made to outbound, as received: nothing in it is trusted yet."""

    method: str
    url: str  # as the platform called it: outbound's public address, the path and the query
    path: str  # the route under the provider's prefix, e.g. "status"
    headers: Mapping[str, str]  # names in lower case
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class CallbackRoute:
    """One address a platform posts to, as the API serves and documents it."""

    path: str  # under /provider/<name>/, e.g. "status"
    name: str  # the operation's name in the API document
    description: str
    media_type: str  # of the request body
    body_schema: Mapping[str, Any]  # JSON schema of the request body
    reply_model: type[BaseModel] | None = None  # the body of a 200; None: 204 without a body


def callback_path(provider: str, path: str) -> str:
    """The path of a provider's callback route, e.g. ``/provider/twilio/status``."""
    return f"{CALLBACK_PREFIX}/{provider}/{path}"


class CallbackReceiver(abc.ABC):
    """Verifies and parses what one platform posts back, with one set of credentials."""

    name: ClassVar[str]  # the provider's name: its callbacks arrive under /provider/<name>/
    routes: ClassVar[tuple[CallbackRoute, ...]]

    @classmethod
    @abc.abstractmethod
    def from_settings(cls, settings: Settings) -> Self | None:
        """The receiver with the credentials in the server's settings; None when they are unset
        (the provider's callbacks are then refused as not configured)."""

    @abc.abstractmethod
    def authenticate(self, request: CallbackRequest, now: datetime) -> str | None:
        """Check that the platform sent ``request``, by its own scheme (a signature, a token).

        Returns what makes the request single-use (the signature of a timestamped scheme),
        which outbound then accepts only once, or None when the platform may legitimately send
        the same request again. Raises ``InvalidCallback`` when the check fails.
        """

    @abc.abstractmethod
    def parse_callback(self, request: CallbackRequest) -> list[ProviderEvent]:
        """The events an authenticated request reports, possibly none.

        Raises ``MalformedCallback`` when the request is not a callback this provider knows.
        """

    def acknowledge(self, request: CallbackRequest, recorded: Sequence[bool]) -> BaseModel | None:
        """The answer's body once the events are recorded (``recorded``: False for an event
        recorded before), of the route's ``reply_model``; None for a ``204`` without one."""
        return None
