"""Assembly: settings in, database, provider and dispatcher out."""

import asyncio
import logging
from functools import partial

from prometheus_client import start_http_server

from outbound import metrics
from outbound.clock import utcnow
from outbound.config import Settings
from outbound.providers.base import Provider, ReportResult
from outbound.providers.simulator import SimulatorProvider
from outbound.providers.twilio import TwilioProvider
from outbound.providers.webhook import WebhookProvider
from outbound.services import dispatch
from outbound.store.database import Database
from outbound.workers.delivery import Deliverer
from outbound.workers.dispatcher import Dispatcher, ProviderFactory

log = logging.getLogger(__name__)


def open_database(settings: Settings) -> Database:
    return Database(settings.database_url)


def _simulator(settings: Settings, report: ReportResult) -> Provider:
    return SimulatorProvider(
        report,
        ring_seconds=settings.simulator_ring_seconds,
        talk_seconds=settings.simulator_talk_seconds,
        log_path=settings.simulator_log,
    )


def _webhook(settings: Settings, _report: ReportResult) -> Provider:
    assert settings.webhook_provider_url and settings.webhook_provider_secret  # checked at start
    return WebhookProvider(
        settings.webhook_provider_url,
        settings.webhook_provider_secret,
        max_call_seconds=settings.max_call_seconds,
        timeout_seconds=settings.webhook_provider_timeout_seconds,
    )


def _twilio(settings: Settings, _report: ReportResult) -> Provider:
    assert (  # checked at start
        settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_twiml_url
    )
    return TwilioProvider(
        settings.twilio_account_sid,
        settings.twilio_auth_token,
        twiml_url=settings.twilio_twiml_url,
        public_url=settings.public_url,
        ring_timeout_seconds=settings.ring_timeout_seconds,
        time_limit_seconds=settings.max_call_seconds,
        api_base_url=settings.twilio_api_base_url,
    )


def provider_factory(settings: Settings) -> ProviderFactory:
    if settings.telephony == "simulator":
        return partial(_simulator, settings)
    if settings.telephony == "webhook":
        return partial(_webhook, settings)
    if settings.telephony == "twilio":
        return partial(_twilio, settings)
    raise ValueError(f"unknown telephony provider: {settings.telephony}")


def build_dispatcher(settings: Settings, database: Database) -> Dispatcher:
    return Dispatcher(database, provider_factory(settings), settings)


async def run_background(
    settings: Settings, database: Database, dispatcher: Dispatcher, stopping: asyncio.Event
) -> None:
    """What a worker does: dial due calls and deliver events, until ``stopping`` is set."""
    await asyncio.gather(dispatcher.run(stopping), Deliverer(database, settings).run(stopping))


async def run_worker(settings: Settings, stopping: asyncio.Event) -> None:
    database = open_database(settings)
    if settings.metrics_port:
        start_http_server(
            settings.metrics_port,
            registry=metrics.registry(lambda: dispatch.queue_counts(database, utcnow())),
        )
    try:
        await run_background(settings, database, build_dispatcher(settings, database), stopping)
    finally:
        database.dispose()
