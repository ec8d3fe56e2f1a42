"""The only code that speaks to telephony. Each provider plugs in behind ``base.Provider``."""

from outbound.providers.base import CallHandle, CallRequest, Provider, ReportResult
from outbound.providers.simulator import SimulatorProvider

__all__ = ["CallHandle", "CallRequest", "Provider", "ReportResult", "SimulatorProvider"]
