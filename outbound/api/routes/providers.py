"""Callbacks from telephony platforms: one handler, routed to the provider named in the path.

Each provider whose platform posts back declares its routes (``CallbackReceiver.routes``); they
are served at ``/provider/<name>/<path>`` and documented as the provider describes them. The
handler reads the raw request and hands it to the receiver of that name configured on this
server (``app.state.callback_receivers``; none: ``404``), which authenticates and parses it.
The events are recorded by ``services.provider_events``, and the answer is the receiver's
acknowledgement (``204`` without one).

| refused with | answer |
|---|---|
| ``InvalidCallback``: a missing, wrong or stale signature, a replay | ``401``, nothing recorded |
| ``MalformedCallback`` | ``400``, ``errors`` naming the fields |
| ``UnknownProviderCall``: a call id outbound never placed | ``404`` |

No bearer token: the platform signs its requests. Knows no platform.
"""

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from outbound.api.deps import CipherDep, DatabaseDep
from outbound.api.errors import RESPONSES, error, parse_id
from outbound.clock import utcnow
from outbound.config import Settings
from outbound.domain.connections import WEBHOOK_PATH
from outbound.encryption import Cipher
from outbound.exceptions import NotFound
from outbound.providers.callbacks import (
    CallbackReceiver,
    CallbackRequest,
    CallbackRoute,
    callback_path,
)
from outbound.providers.errors import InvalidCallback, MalformedCallback
from outbound.providers.platforms.base import PlatformAdapter
from outbound.providers.platforms.registry import ADAPTERS
from outbound.providers.registry import CALLBACK_RECEIVERS
from outbound.services import provider_connections, provider_events
from outbound.store.database import Database

Handler = Callable[[Request, Database], Awaitable[Response]]


def _receive(
    database: Database,
    receiver: CallbackReceiver | PlatformAdapter,
    callback: CallbackRequest,
    grace: timedelta,
    account_id: uuid.UUID | None = None,
) -> Response:
    """Authenticate, parse and record one callback; the answer the platform gets.

    ``account_id``: the account of the connection that received it, whose calls alone it may
    report."""
    now = utcnow()
    try:
        replay_key = receiver.authenticate(callback, now)
        if replay_key is not None and not provider_events.accept_signature(
            database, replay_key, now
        ):
            raise InvalidCallback("replayed request")
        events = receiver.parse_callback(callback)
    except InvalidCallback as exc:
        return error(401, exc.message)
    except MalformedCallback as exc:
        return error(400, exc.message, exc.errors)
    try:
        recorded = [
            provider_events.record_when_known(database, event, grace=grace, account_id=account_id)
            for event in events
        ]
    except NotFound:
        if replay_key is not None:  # nothing recorded: the platform may send it again
            provider_events.release_signature(database, replay_key)
        raise
    if isinstance(receiver, PlatformAdapter):
        return Response(status_code=204)
    return _answer(receiver.acknowledge(callback, recorded))


def _answer(body: BaseModel | None) -> Response:
    if body is None:
        return Response(status_code=204)
    return JSONResponse(body.model_dump(mode="json"))


def _public_url(request: Request) -> str:
    """The URL the platform called: outbound's public address, not the one it listens on."""
    settings: Settings = request.app.state.settings
    url = settings.public_url.rstrip("/") + request.url.path
    return f"{url}?{request.url.query}" if request.url.query else url


def _handler(provider: str, route: CallbackRoute) -> Handler:
    async def handle(request: Request, database: DatabaseDep) -> Response:
        receivers: Mapping[str, CallbackReceiver] = request.app.state.callback_receivers
        receiver = receivers.get(provider)
        if receiver is None:
            raise NotFound(f"the {provider} provider is not configured")
        callback = CallbackRequest(
            method=request.method,
            url=_public_url(request),
            path=route.path,
            headers=dict(request.headers),  # Starlette's names are in lower case
            body=await request.body(),
        )
        # Recording waits for a call id being stored (a blocking grace): off the event loop.
        settings: Settings = request.app.state.settings
        grace = timedelta(seconds=settings.result_grace_seconds)
        return await run_in_threadpool(_receive, database, receiver, callback, grace)

    return handle


def callback_router(receivers: Sequence[type[CallbackReceiver]]) -> APIRouter:
    """The routes of every receiver, each documented as its provider describes it."""
    router = APIRouter(tags=["providers"])
    for receiver in receivers:
        for route in receiver.routes:
            router.add_api_route(
                callback_path(receiver.name, route.path),
                _handler(receiver.name, route),
                methods=["POST"],
                name=route.name,
                description=route.description,
                status_code=200 if route.reply_model else 204,
                response_model=route.reply_model,
                response_class=JSONResponse if route.reply_model else Response,
                responses=RESPONSES(400, 401, 404),
                openapi_extra={
                    "requestBody": {
                        "required": True,
                        "content": {route.media_type: {"schema": dict(route.body_schema)}},
                    }
                },
            )
    return router


router = callback_router(CALLBACK_RECEIVERS)


@router.post(
    WEBHOOK_PATH,
    status_code=204,
    response_class=Response,
    responses=RESPONSES(400, 401, 404),
    name="connection_event",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def connection_event(
    connection_id: str, request: Request, database: DatabaseDep, cipher: CipherDep
) -> Response:
    """A call webhook of an agent platform, posted to the `webhook_url` of one of your provider
    connections: verified by the platform's own signature scheme (`401`, nothing recorded,
    otherwise); a call that is not of the connection's account is `404`."""
    adapter = await run_in_threadpool(_adapter, request, database, cipher, parse_id(connection_id))
    callback = CallbackRequest(
        method=request.method,
        url=_public_url(request),
        path="events",
        headers=dict(request.headers),
        body=await request.body(),
    )
    settings: Settings = request.app.state.settings
    grace = timedelta(seconds=settings.result_grace_seconds)
    account_id = adapter.connection.account_id
    return await run_in_threadpool(_receive, database, adapter, callback, grace, account_id)


def _adapter(
    request: Request, database: Database, cipher: Cipher, connection_id: uuid.UUID
) -> PlatformAdapter:
    """The adapter that verifies and parses the connection's webhooks, kept by the app."""
    adapters: dict[uuid.UUID, PlatformAdapter] = request.app.state.connection_adapters
    adapter = adapters.get(connection_id)
    if adapter is None:
        settings: Settings = request.app.state.settings
        connection = provider_connections.open_connection(
            database, cipher, settings.public_url, connection_id
        )
        if connection is None or connection.type not in ADAPTERS:
            raise NotFound("no such provider connection")
        adapter = adapters.setdefault(connection_id, ADAPTERS[connection.type](connection))
    return adapter
