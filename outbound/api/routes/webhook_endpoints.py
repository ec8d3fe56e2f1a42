"""Webhook endpoints: the account's events, delivered to your URLs."""

import uuid
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Query, Response, status
from pydantic import AnyHttpUrl, BaseModel, Field

from outbound.api.deps import CurrentAccount, DatabaseDep
from outbound.api.errors import RESPONSES, parse_id
from outbound.services import webhooks
from outbound.store.webhooks import Endpoint

router = APIRouter(tags=["webhooks"])

EventType = Literal[
    "campaign.started",
    "campaign.completed",
    "campaign.cancelled",
    "call.attempted",
    "call.completed",
    "call.failed",
    "call.skipped",
]


class EndpointIn(BaseModel):
    url: AnyHttpUrl = Field(description="Where events are POSTed")
    event_types: list[EventType] | None = Field(
        None, min_length=1, description="Which events to send (default: all)"
    )


class EndpointOut(BaseModel):
    id: uuid.UUID
    url: str
    event_types: list[str] | None
    created_at: datetime


class EndpointCreatedOut(EndpointOut):
    secret: str = Field(description="Signs every delivery; shown only once")


class EndpointsOut(BaseModel):
    endpoints: list[EndpointOut]


class DeliveryOut(BaseModel):
    event_id: uuid.UUID
    type: str
    sequence: int
    attempt: int
    status_code: int | None
    error: str | None
    succeeded: bool
    attempted_at: datetime


class DeliveriesPage(BaseModel):
    deliveries: list[DeliveryOut]
    next_cursor: str | None


def _out(endpoint: Endpoint) -> EndpointOut:
    types = sorted(endpoint.event_types) if endpoint.event_types is not None else None
    return EndpointOut(
        id=endpoint.id, url=endpoint.url, event_types=types, created_at=endpoint.created_at
    )


@router.post(
    "/webhook-endpoint",
    status_code=status.HTTP_201_CREATED,
    response_model=EndpointCreatedOut,
    responses=RESPONSES(400, 401),
)
def create_endpoint(
    body: EndpointIn, account: CurrentAccount, database: DatabaseDep
) -> EndpointCreatedOut:
    """Send the account's events to a URL; the signing secret is shown once."""
    endpoint = webhooks.create_endpoint(database, account, str(body.url), body.event_types)
    return EndpointCreatedOut(**_out(endpoint).model_dump(), secret=endpoint.secret)


@router.get("/webhook-endpoint", response_model=EndpointsOut, responses=RESPONSES(401))
def list_endpoints(account: CurrentAccount, database: DatabaseDep) -> EndpointsOut:
    return EndpointsOut(endpoints=[_out(e) for e in webhooks.list_endpoints(database, account)])


@router.delete(
    "/webhook-endpoint/{endpoint_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=RESPONSES(401, 404),
)
def delete_endpoint(endpoint_id: str, account: CurrentAccount, database: DatabaseDep) -> Response:
    webhooks.delete_endpoint(database, account, parse_id(endpoint_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/webhook-endpoint/{endpoint_id}/deliveries",
    response_model=DeliveriesPage,
    responses=RESPONSES(400, 401, 404),
)
def list_deliveries(
    endpoint_id: str,
    account: CurrentAccount,
    database: DatabaseDep,
    limit: int = Query(100, ge=1, le=webhooks.MAX_DELIVERIES_PAGE),
    cursor: str | None = None,
) -> DeliveriesPage:
    """Every delivery attempt to this endpoint, newest first."""
    page = webhooks.list_deliveries(database, account, parse_id(endpoint_id), cursor, limit)
    return DeliveriesPage(
        deliveries=[DeliveryOut.model_validate(row) for row in page.items],
        next_cursor=page.next_cursor,
    )
