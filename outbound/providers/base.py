"""The telephony interface: place a call now, hear how it ended later.

A provider turns a ``CallRequest`` into a call and returns the provider's id for it. How the
call ends arrives later as an event: in-process providers (the simulator) call the ``report``
callback they were built with; a provider whose platform posts HTTP callbacks (webhook,
Twilio) declares their ``CallbackReceiver`` (``Provider.callbacks``, see
``outbound.providers.callbacks``): the API hands it each request and records the events it
parses through ``services.provider_events``. Either way the outcome is recorded by the same
rule (``services.dispatch``).

Errors are translated at the edge into ``outbound.providers.errors``.
"""

import abc
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Self
from uuid import UUID

from outbound.config import Settings
from outbound.domain.dispositions import DataField, Disposition
from outbound.domain.records import AttemptResult
from outbound.providers.callbacks import CallbackReceiver

ReportResult = Callable[[AttemptResult], None]


@dataclass(frozen=True)
class PlaybookSnapshot:
    """The playbook as the agent should run it for one call, its texts already rendered."""

    id: UUID
    name: str
    first_message: str | None = None
    instructions: str | None = None
    voice: str | None = None
    language: str | None = None
    voicemail_message: str | None = None  # rendered; None: hang up on a voicemail
    dispositions: tuple[Disposition, ...] = ()
    data_fields: tuple[DataField, ...] = ()
    # The playbook's ``provider``: its connection and the fields of the connection's type
    # (assistant_id, agent_id, from_number...). None: the server's OUTBOUND_TELEPHONY.
    provider: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["id"] = str(self.id)
        data["dispositions"] = [d.to_json() for d in self.dispositions]
        data["data_fields"] = [f.to_json() for f in self.data_fields]
        data.pop("provider")
        return data


@dataclass(frozen=True)
class CallRequest:
    call_id: UUID
    attempt_number: int
    to: str  # E.164
    from_: str | None  # the caller id, the same for every attempt of a call
    playbook: PlaybookSnapshot
    variables: Mapping[str, Any] = field(default_factory=dict)  # the contact's raw values

    @property
    def idempotency_key(self) -> str:
        """Stable across retries of the same attempt, so a provider can drop repeats."""
        return f"{self.call_id}:{self.attempt_number}"


@dataclass(frozen=True)
class CallHandle:
    provider_call_id: str
    # The outcome comes back through ``report`` in this process (the simulator): the provider
    # call id is stored as the attempt closes, not at once.
    in_process: bool = False


class Provider(abc.ABC):
    name: str = "provider"
    # True when outcomes come back through ``report`` in this process; False when they are
    # posted to the API, possibly in another process.
    reports_in_process: bool = False
    # False when the provider ignores the playbook and variables (no need to render them).
    needs_call_content: bool = True
    # What verifies and parses the callbacks its platform posts to the API; None: it posts none.
    callbacks: ClassVar[type[CallbackReceiver] | None] = None

    @classmethod
    def from_settings(cls, settings: Settings, report: ReportResult) -> Self:
        """The provider as the server's settings configure it, when ``OUTBOUND_TELEPHONY`` names
        it; ``report`` takes the outcomes of an in-process provider."""
        raise NotImplementedError(f"{cls.name} cannot be configured by the server's settings")

    @property
    @abc.abstractmethod
    def max_call_seconds(self) -> float:
        """The longest an attempt can last, ringing and talking, before it must have ended."""

    @abc.abstractmethod
    async def place_call(self, request: CallRequest) -> CallHandle:
        """Start dialing ``request.to``; return once the provider has accepted the call.

        Raises ``ProviderUnavailable`` when the provider cannot be reached or fails (the
        attempt is not spent) and ``CallRejected`` when it refuses this call.
        """

    def places_at_once(self, request: CallRequest) -> bool:
        """Whether ``place_call(request)`` returns without waiting on anything (no I/O): the
        dispatcher then places such calls one after another instead of one task each (a task
        costs more than the simulator's whole placing)."""
        return False

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release the provider's resources."""
