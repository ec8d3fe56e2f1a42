"""Every provider outbound ships, and the callback receivers of those whose platform posts back.

The API serves and documents the routes of each receiver listed here without knowing any
platform; a new provider that receives callbacks joins ``PROVIDERS`` and nothing else changes.
"""

from outbound.providers.base import Provider
from outbound.providers.callbacks import CallbackReceiver
from outbound.providers.simulator import SimulatorProvider
from outbound.providers.twilio import TwilioProvider
from outbound.providers.webhook import WebhookProvider

PROVIDERS: tuple[type[Provider], ...] = (SimulatorProvider, WebhookProvider, TwilioProvider)
CALLBACK_RECEIVERS: tuple[type[CallbackReceiver], ...] = tuple(
    provider.callbacks for provider in PROVIDERS if provider.callbacks is not None
)
