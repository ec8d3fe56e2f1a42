"""Assembly: settings in, engine, provider and dispatcher out."""

import asyncio
import logging
from functools import partial

from sqlalchemy import Engine

from outbound.config import Settings
from outbound.dispatcher import Dispatcher, ProviderFactory
from outbound.providers.base import Provider, ReportResult
from outbound.providers.simulator import SimulatorProvider
from outbound.store.database import create_database_engine

log = logging.getLogger(__name__)


def build_engine(settings: Settings) -> Engine:
    return create_database_engine(settings.database_url)


def _simulator(settings: Settings, report: ReportResult) -> Provider:
    return SimulatorProvider(
        report,
        ring_seconds=settings.simulator_ring_seconds,
        talk_seconds=settings.simulator_talk_seconds,
        log_path=settings.simulator_log,
    )


def provider_factory(settings: Settings) -> ProviderFactory:
    if settings.telephony == "simulator":
        return partial(_simulator, settings)
    raise ValueError(f"unknown telephony provider: {settings.telephony}")


def build_dispatcher(settings: Settings, engine: Engine) -> Dispatcher:
    return Dispatcher(engine, provider_factory(settings), settings)


async def run_worker(settings: Settings, stopping: asyncio.Event) -> None:
    engine = build_engine(settings)
    try:
        await build_dispatcher(settings, engine).run(stopping)
    finally:
        engine.dispose()
