"""Every provider outbound ships, and the callback receivers of those whose platform posts back.

The process assembly builds the provider ``OUTBOUND_TELEPHONY`` names, and the receivers whose
credentials are set, from the settings (``from_settings``); the API serves and documents the
routes of every receiver. Neither knows any platform: a new provider joins ``PROVIDERS``.
"""

from outbound.providers.base import Provider
from outbound.providers.callbacks import CallbackReceiver
from outbound.providers.simulator import SimulatorProvider
from outbound.providers.twilio import TwilioProvider
from outbound.providers.webhook import WebhookProvider

PROVIDERS: tuple[type[Provider], ...] = (SimulatorProvider, WebhookProvider, TwilioProvider)
BY_NAME: dict[str, type[Provider]] = {provider.name: provider for provider in PROVIDERS}
CALLBACK_RECEIVERS: tuple[type[CallbackReceiver], ...] = tuple(
    provider.callbacks for provider in PROVIDERS if provider.callbacks is not None
)
