"""Provider connections: the account's agent platforms, with credentials that go in and never
come out (CONTRACT §8)."""

from fastapi import APIRouter, Query, Response, status

from outbound.api.deps import CipherDep, CurrentAccount, DatabaseDep, SettingsDep
from outbound.api.errors import RESPONSES, parse_id
from outbound.schemas.connections import (
    ProviderConnectionIn,
    ProviderConnectionOut,
    ProviderConnectionsPage,
    connection_view,
)
from outbound.services import provider_connections

router = APIRouter(tags=["provider connections"])


@router.post(
    "/provider-connection",
    status_code=status.HTTP_201_CREATED,
    response_model=ProviderConnectionOut,
    responses=RESPONSES(400, 401),
)
def create_connection(
    body: ProviderConnectionIn,
    account: CurrentAccount,
    database: DatabaseDep,
    cipher: CipherDep,
    settings: SettingsDep,
) -> ProviderConnectionOut:
    """Connect an agent platform; its credentials are stored encrypted and never shown again.
    Give the platform `webhook_url` for its call webhooks. A server without
    `OUTBOUND_SECRET_KEY` answers 400."""
    connection = provider_connections.create_connection(
        database,
        cipher,
        account,
        body.type,
        body.name,
        body.credentials,
        body.settings,
    )
    return connection_view(connection, settings.public_url)


@router.get(
    "/provider-connection", response_model=ProviderConnectionsPage, responses=RESPONSES(400, 401)
)
def list_connections(
    account: CurrentAccount,
    database: DatabaseDep,
    settings: SettingsDep,
    limit: int = Query(50, ge=1, le=provider_connections.MAX_PAGE),
    cursor: str | None = None,
) -> ProviderConnectionsPage:
    """The account's connections, newest first; deleted ones are left out."""
    page = provider_connections.list_connections(database, account, cursor, limit)
    return ProviderConnectionsPage(
        connections=[connection_view(c, settings.public_url) for c in page.items],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/provider-connection/{connection_id}",
    response_model=ProviderConnectionOut,
    responses=RESPONSES(401, 404),
)
def get_connection(
    connection_id: str, account: CurrentAccount, database: DatabaseDep, settings: SettingsDep
) -> ProviderConnectionOut:
    connection = provider_connections.get_connection(database, account, parse_id(connection_id))
    return connection_view(connection, settings.public_url)


@router.delete(
    "/provider-connection/{connection_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=RESPONSES(401, 404, 409),
)
def delete_connection(
    connection_id: str, account: CurrentAccount, database: DatabaseDep
) -> Response:
    """Delete the connection (409 while a playbook that is not archived uses it). Calls under
    way through it end normally."""
    provider_connections.delete_connection(database, account, parse_id(connection_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
