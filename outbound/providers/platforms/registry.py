"""The adapter of each agent platform a provider connection may name."""

from outbound.domain.connections import ConnectionType
from outbound.providers.platforms.base import PlatformAdapter
from outbound.providers.platforms.bland import BlandAdapter
from outbound.providers.platforms.elevenlabs import ElevenLabsAdapter
from outbound.providers.platforms.livekit import LiveKitAdapter
from outbound.providers.platforms.retell import RetellAdapter
from outbound.providers.platforms.twilio import TwilioAdapter
from outbound.providers.platforms.vapi import VapiAdapter
from outbound.providers.platforms.webhook import WebhookAdapter

ADAPTERS: dict[ConnectionType, type[PlatformAdapter]] = {
    adapter.type: adapter
    for adapter in (
        VapiAdapter,
        RetellAdapter,
        ElevenLabsAdapter,
        BlandAdapter,
        LiveKitAdapter,
        TwilioAdapter,
        WebhookAdapter,
    )
}
