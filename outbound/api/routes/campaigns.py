"""Campaigns: create one from a contact list, read its state and its calls."""

import uuid
from typing import Annotated

import structlog
from fastapi import APIRouter, Header, Query, Request, status
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from outbound.api.bodies import CampaignHead, ContactsHead, read_head, request_body, unchecked
from outbound.api.deps import CurrentAccount, DatabaseDep
from outbound.api.errors import RESPONSES, parse_id
from outbound.domain.records import Account
from outbound.domain.statuses import CampaignStatus, Outcome
from outbound.domain.windows import parse_window
from outbound.schemas.bodies import (
    CallsPage,
    CampaignCreatedOut,
    CampaignIn,
    CampaignOut,
    CampaignsPage,
    ContactsAddedOut,
    ContactsIn,
)
from outbound.schemas.records import call_view, campaign_view
from outbound.services import campaigns
from outbound.services.campaigns import Accepted, CampaignReport, NewCampaign
from outbound.services.idempotency import MAX_KEY_LENGTH, IdempotencyKey
from outbound.store.database import Database

router = APIRouter(tags=["campaigns"])
log = structlog.get_logger(__name__)


IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=MAX_KEY_LENGTH,
        description="Retries with the same key and body within 24 h get the first answer",
    ),
]


def _accepted(accepted: Accepted) -> JSONResponse:
    """202, the first time and for a repeated Idempotency-Key alike."""
    headers = {"Idempotent-Replayed": "true"} if accepted.replayed else None
    return JSONResponse(accepted.result, status_code=status.HTTP_202_ACCEPTED, headers=headers)


def _campaign_out(report: CampaignReport) -> CampaignOut:
    return campaign_view(report.campaign, report.counts, report.dispositions, report.cost)


@router.post(
    "/campaign",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=CampaignCreatedOut,
    responses=RESPONSES(400, 401, 403),
    summary="Create a campaign from a contact list (immediate or scheduled)",
    openapi_extra=request_body(CampaignIn),
)
async def create_campaign(
    account: CurrentAccount,
    database: DatabaseDep,
    request: Request,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    body = await request.body()  # read here, not by FastAPI: see ``outbound.api.bodies``
    accepted = await run_in_threadpool(_create_campaign, database, account, body, idempotency_key)
    request.app.state.notify_new_work()
    if not accepted.replayed:
        log.info(
            "campaign created",
            campaign_id=accepted.result["campaign_id"],
            contacts=accepted.result["contacts"],
        )
    return _accepted(accepted)


def _create_campaign(
    database: Database, account: Account, body: bytes, idempotency_key: str | None
) -> Accepted:
    head = read_head(body, CampaignHead)
    return campaigns.create_campaign_once(
        database,
        account,
        NewCampaign(
            playbook_id=head.playbook_id,
            contacts=unchecked(head.contacts),
            launch_at=head.launch_at,
            recall=tuple(head.recall) if isinstance(head.recall, list) else (),
            calling_window=parse_window(head.calling_window),
            max_concurrent_calls=head.max_concurrent_calls,
            recall_on=(
                frozenset(Outcome(o) for o in head.recall_on)
                if head.recall_on is not None
                else None
            ),
            strict_variables=head.strict_variables,
            max_callbacks=head.max_callbacks,
        ),
        _idempotency(idempotency_key, "POST /campaign", body),
    )


def _idempotency(key: str | None, route: str, body: bytes) -> IdempotencyKey | None:
    return IdempotencyKey.of(key, route, body) if key is not None else None


@router.get("/campaign", response_model=CampaignsPage, responses=RESPONSES(400, 401))
def list_campaigns(
    account: CurrentAccount,
    database: DatabaseDep,
    status: CampaignStatus | None = None,
    limit: int = Query(50, ge=1, le=campaigns.MAX_CAMPAIGNS_PAGE),
    cursor: str | None = None,
) -> CampaignsPage:
    """The account's campaigns, newest first."""
    page = campaigns.list_campaigns(database, account, status, cursor, limit)
    return CampaignsPage(
        campaigns=[_campaign_out(r) for r in page.items], next_cursor=page.next_cursor
    )


@router.get("/campaign/{campaign_id}", response_model=CampaignOut, responses=RESPONSES(401, 404))
def get_campaign(campaign_id: str, account: CurrentAccount, database: DatabaseDep) -> CampaignOut:
    return _campaign_out(campaigns.get_campaign(database, account, parse_id(campaign_id)))


@router.post(
    "/campaign/{campaign_id}/pause", response_model=CampaignOut, responses=RESPONSES(401, 404, 409)
)
def pause_campaign(campaign_id: str, account: CurrentAccount, database: DatabaseDep) -> CampaignOut:
    """Stop new attempts at once; attempts in progress finish."""
    return _campaign_out(campaigns.pause_campaign(database, account, parse_id(campaign_id)))


@router.post(
    "/campaign/{campaign_id}/resume", response_model=CampaignOut, responses=RESPONSES(401, 404, 409)
)
def resume_campaign(
    campaign_id: str, account: CurrentAccount, database: DatabaseDep, request: Request
) -> CampaignOut:
    """Continue a paused campaign; each call keeps its due time."""
    report = campaigns.resume_campaign(database, account, parse_id(campaign_id))
    request.app.state.notify_new_work()
    return _campaign_out(report)


@router.post(
    "/campaign/{campaign_id}/cancel", response_model=CampaignOut, responses=RESPONSES(401, 404, 409)
)
def cancel_campaign(
    campaign_id: str, account: CurrentAccount, database: DatabaseDep
) -> CampaignOut:
    """Cancel every call not yet finished, and the campaign."""
    return _campaign_out(campaigns.cancel_campaign(database, account, parse_id(campaign_id)))


@router.post(
    "/campaign/{campaign_id}/contacts",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ContactsAddedOut,
    responses=RESPONSES(400, 401, 404, 409),
    openapi_extra=request_body(ContactsIn),
)
async def add_contacts(
    campaign_id: str,
    account: CurrentAccount,
    database: DatabaseDep,
    request: Request,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Append contacts to a scheduled, running or paused campaign."""
    key = parse_id(campaign_id)
    body = await request.body()
    accepted = await run_in_threadpool(_add_contacts, database, account, key, body, idempotency_key)
    request.app.state.notify_new_work()
    return _accepted(accepted)


def _add_contacts(
    database: Database,
    account: Account,
    campaign_id: uuid.UUID,
    body: bytes,
    idempotency_key: str | None,
) -> Accepted:
    head = read_head(body, ContactsHead)
    return campaigns.add_contacts(
        database,
        account,
        campaign_id,
        unchecked(head.contacts),
        idempotency=_idempotency(idempotency_key, f"POST /campaign/{campaign_id}/contacts", body),
    )


@router.get(
    "/campaign/{campaign_id}/calls", response_model=CallsPage, responses=RESPONSES(400, 401, 404)
)
def list_calls(
    campaign_id: str,
    account: CurrentAccount,
    database: DatabaseDep,
    limit: int = Query(100, ge=1, le=campaigns.MAX_CALLS_PAGE),
    cursor: str | None = None,
) -> CallsPage:
    """The campaign's calls, in the order the contacts were given."""
    page = campaigns.list_calls(database, account, parse_id(campaign_id), cursor, limit)
    return CallsPage(
        calls=[call_view(call, transcripts=False) for call in page.items],
        next_cursor=page.next_cursor,
    )
