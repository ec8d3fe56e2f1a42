"""The only code that speaks to telephony. Each provider plugs in behind ``base.Provider``.

A provider module owns everything about its platform: placing a call, and verifying and parsing
the callbacks its platform posts back (``callbacks.CallbackReceiver``) into ``ProviderEvent``
records. ``registry`` lists them all. May import ``outbound.domain``, ``outbound.clock``,
``outbound.signing`` and the platforms' SDKs; nothing of the API, the services or the store.
"""

from outbound.providers.base import CallHandle, CallRequest, Provider, ReportResult
from outbound.providers.callbacks import (
    CallbackReceiver,
    CallbackRequest,
    CallbackRoute,
    ProviderEvent,
)
from outbound.providers.simulator import SimulatorProvider

__all__ = [
    "CallHandle",
    "CallRequest",
    "CallbackReceiver",
    "CallbackRequest",
    "CallbackRoute",
    "Provider",
    "ProviderEvent",
    "ReportResult",
    "SimulatorProvider",
]
