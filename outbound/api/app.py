"""The FastAPI application, with or without a dispatcher in the same process."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from outbound import __version__, logs, metrics
from outbound.api import errors, openapi
from outbound.api.limits import BodySizeLimit
from outbound.api.ratelimit import WriteRateLimit
from outbound.api.request_log import RequestLog
from outbound.api.routes import (
    account,
    calls,
    campaigns,
    contacts,
    dashboard,
    do_not_call,
    health,
    playbooks,
    provider_connections,
    providers,
    webhook_endpoints,
)
from outbound.api.routes import metrics as metrics_routes
from outbound.api.timing import RequestTiming
from outbound.clock import utcnow
from outbound.config import Settings
from outbound.encryption import Cipher
from outbound.services import dispatch as dispatch_services
from outbound.store.database import Database
from outbound.workers import gc_tuning
from outbound.workers import ingest_pool as phones
from outbound.workers.assembly import (
    build_dispatcher,
    callback_receivers,
    open_database,
    run_background,
)

DESCRIPTION = """Outbound phone-call campaigns for AI voice agents.

Every data route takes `Authorization: Bearer TOKEN`; `/healthz`, `/readyz` and the
dashboard at `/` do not."""


def create_app(
    settings: Settings | None = None,
    database: Database | None = None,
    dispatch: bool = False,
    warm_up: bool = False,
) -> FastAPI:
    """The API; with ``dispatch`` it also runs the dispatcher (``outbound serve``)."""
    settings = settings or Settings()
    database = database or open_database(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        gc_tuning.tune()
        phones.preload("outbound.api.bodies")  # the pool validates the contacts of large lists
        if warm_up:  # the pool's processes are up before the first request, not during it
            await asyncio.get_running_loop().run_in_executor(None, phones.warm_up)
        try:
            async with _serving(app):
                yield
        finally:
            phones.shutdown()

    @contextlib.asynccontextmanager
    async def _serving(app: FastAPI) -> AsyncIterator[None]:
        if not dispatch:
            yield
            database.dispose()
            return
        # The dispatcher's sessions are a worker's (a frozen process's claim is ended within
        # seconds), apart from the API's; SQLite has one writer and one set of connections.
        background = open_database(settings, "worker") if database.concurrent_writers else database
        dispatcher = build_dispatcher(settings, background)
        stopping = asyncio.Event()
        task = asyncio.create_task(run_background(settings, background, dispatcher, stopping))
        app.state.notify_new_work = dispatcher.wake
        try:
            yield
        finally:
            stopping.set()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, settings.shutdown_timeout_seconds + 5)
            background.dispose()
            database.dispose()

    app = FastAPI(title="outbound", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.database = database
    app.state.settings = settings
    app.state.cipher = Cipher(settings.secret_key)
    app.state.connection_adapters = {}  # by connection id: what verifies its platform's webhooks
    app.state.callback_receivers = callback_receivers(settings)
    app.state.notify_new_work = lambda: None
    app.state.metrics = metrics.registry(lambda: dispatch_services.queue_counts(database, utcnow()))
    errors.install(app)
    app.add_middleware(RequestTiming)
    app.add_middleware(
        WriteRateLimit,
        rate=settings.rate_limit_writes_per_second,
        burst=settings.rate_limit_burst,
    )
    # Outermost: an oversized body is refused before anything else reads or counts it.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestLog)  # outermost: every answer is logged with its request id
    openapi.install(app)
    app.include_router(health.router)
    app.include_router(metrics_routes.router)
    app.include_router(campaigns.router)
    app.include_router(calls.router)
    app.include_router(contacts.router)
    app.include_router(do_not_call.router)
    app.include_router(playbooks.router)
    app.include_router(account.router)
    app.include_router(webhook_endpoints.router)
    app.include_router(provider_connections.router)
    app.include_router(providers.router)
    app.include_router(dashboard.router)
    return app


def create_api_app() -> FastAPI:
    """Factory for ``outbound api`` (uvicorn workers build their own app)."""
    logs.configure_structlog()  # in each --workers process
    return create_app(Settings(), dispatch=False, warm_up=True)
