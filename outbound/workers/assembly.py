"""Assembly: settings in, database, provider, callback receivers and dispatcher out."""

import asyncio
import contextlib
import logging
import uuid

from prometheus_client import start_http_server

from outbound import metrics
from outbound.clock import utcnow
from outbound.config import Settings
from outbound.encryption import Cipher
from outbound.providers import registry
from outbound.providers.base import Provider, ReportResult
from outbound.providers.callbacks import CallbackReceiver
from outbound.providers.platforms.base import Connection
from outbound.providers.router import ProviderRouter
from outbound.services import dispatch, provider_connections
from outbound.store.database import Database, Sessions
from outbound.workers.delivery import Deliverer
from outbound.workers.dispatcher import Dispatcher, ProviderFactory

log = logging.getLogger(__name__)


def open_database(settings: Settings, sessions: Sessions = "api") -> Database:
    return Database(settings.database_url, sessions)


def provider_factory(settings: Settings, database: Database) -> ProviderFactory:
    """Builds, in the dispatcher that uses it, the provider ``OUTBOUND_TELEPHONY`` names and
    the router that sends the calls of playbooks with a provider connection to its platform."""
    provider = registry.BY_NAME.get(settings.telephony)
    if provider is None:
        raise ValueError(f"unknown telephony provider: {settings.telephony}")
    cipher = Cipher(settings.secret_key)

    async def load(connection_id: uuid.UUID) -> Connection | None:
        return await asyncio.to_thread(
            provider_connections.open_connection,
            database,
            cipher,
            settings.public_url,
            connection_id,
        )

    def build(report: ReportResult) -> Provider:
        return ProviderRouter(
            provider.from_settings(settings, report),
            load,
            settings.provider_retry_seconds,
            settings.provider_retry_max_seconds,
        )

    return build


def callback_receivers(settings: Settings) -> dict[str, CallbackReceiver]:
    """The receivers of the providers whose callbacks this server checks, by provider name.

    A provider's callbacks are taken wherever its credentials are set, whichever provider
    places this process's calls: an API process places none.
    """
    receivers = (receiver.from_settings(settings) for receiver in registry.CALLBACK_RECEIVERS)
    return {receiver.name: receiver for receiver in receivers if receiver is not None}


def build_dispatcher(settings: Settings, database: Database) -> Dispatcher:
    return Dispatcher(database, provider_factory(settings, database), settings)


async def run_background(
    settings: Settings, database: Database, dispatcher: Dispatcher, stopping: asyncio.Event
) -> None:
    """What a worker does: dial due calls and deliver events, until ``stopping`` is set.

    New work announced by any process (PostgreSQL) wakes the dispatcher at once.
    """
    listener = asyncio.create_task(database.listen_for_new_work(dispatcher.wake))
    try:
        await asyncio.gather(dispatcher.run(stopping), Deliverer(database, settings).run(stopping))
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener


async def run_worker(settings: Settings, stopping: asyncio.Event) -> None:
    database = open_database(settings, "worker")
    if settings.metrics_port:
        start_http_server(
            settings.metrics_port,
            registry=metrics.registry(lambda: dispatch.queue_counts(database, utcnow())),
        )
    try:
        await run_background(settings, database, build_dispatcher(settings, database), stopping)
    finally:
        database.dispose()
