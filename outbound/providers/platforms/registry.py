"""The adapter of each agent platform a provider connection may name.

An adapter's module is imported when a connection of its type is first used: a worker or an
API whose accounts use no platform loads none of them (nor their SDKs: ``livekit-api`` and
its protobuf modules alone weigh some 15 MiB).
"""

import importlib
from collections.abc import Iterator, Mapping

from outbound.domain.connections import ConnectionType
from outbound.providers.platforms.base import PlatformAdapter

_WHERE: dict[ConnectionType, tuple[str, str]] = {
    ConnectionType.VAPI: ("vapi", "VapiAdapter"),
    ConnectionType.RETELL: ("retell", "RetellAdapter"),
    ConnectionType.ELEVENLABS: ("elevenlabs", "ElevenLabsAdapter"),
    ConnectionType.BLAND: ("bland", "BlandAdapter"),
    ConnectionType.LIVEKIT: ("livekit", "LiveKitAdapter"),
    ConnectionType.TWILIO: ("twilio", "TwilioAdapter"),
    ConnectionType.WEBHOOK: ("webhook", "WebhookAdapter"),
}


class _Adapters(Mapping[ConnectionType, type[PlatformAdapter]]):
    """Each connection type's adapter class, its module imported on first use."""

    def __getitem__(self, type_: ConnectionType) -> type[PlatformAdapter]:
        module, name = _WHERE[type_]
        adapter: type[PlatformAdapter] = getattr(
            importlib.import_module(f"{__package__}.{module}"), name
        )
        return adapter

    def __iter__(self) -> Iterator[ConnectionType]:
        return iter(_WHERE)

    def __len__(self) -> int:
        return len(_WHERE)


ADAPTERS: Mapping[ConnectionType, type[PlatformAdapter]] = _Adapters()
