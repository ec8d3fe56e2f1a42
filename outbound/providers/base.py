"""The telephony interface: place a call now, hear how it ended later.

A provider is given ``report`` when it is built and calls it, on the dispatcher's event loop,
once for every attempt it placed, with how that attempt ended.
"""

import abc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from outbound.domain.records import AttemptResult

ReportResult = Callable[[AttemptResult], None]


@dataclass(frozen=True)
class CallRequest:
    call_id: UUID
    attempt_number: int
    to: str  # E.164
    from_: str | None  # the playbook's caller id
    playbook_id: UUID
    variables: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CallHandle:
    provider_call_id: str


class Provider(abc.ABC):
    @property
    @abc.abstractmethod
    def max_call_seconds(self) -> float:
        """The longest an attempt can last, ringing and talking, before it must have ended."""

    @abc.abstractmethod
    async def place_call(self, request: CallRequest) -> CallHandle:
        """Start dialing ``request.to``; return once the provider has accepted the call."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release the provider's resources."""
