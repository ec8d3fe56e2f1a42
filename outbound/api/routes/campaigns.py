"""Campaigns: create one from a contact list, read its state and its calls."""

from typing import Any

from fastapi import APIRouter, Query, Request, status

from outbound.api.deps import CurrentAccount, EngineDep
from outbound.api.errors import RESPONSES, parse_id
from outbound.api.schemas import (
    AttemptOut,
    CallOut,
    CallsPage,
    CampaignCreatedOut,
    CampaignIn,
    CampaignOut,
)
from outbound.domain.contacts import CONTACT_FIELDS
from outbound.exceptions import InvalidRequest
from outbound.services import campaigns
from outbound.services.campaigns import CampaignReport, NewCampaign, RawContact

router = APIRouter(tags=["campaigns"])


def _campaign_out(report: CampaignReport) -> CampaignOut:
    campaign = report.campaign
    return CampaignOut(
        campaign_id=campaign.id,
        playbook_id=campaign.playbook_id,
        status=campaign.status.value,
        launch_at=campaign.launch_at,
        recall=list(campaign.recall),
        created_at=campaign.created_at,
        started_at=campaign.started_at,
        finished_at=campaign.finished_at,
        counts=report.counts,
    )


@router.post(
    "/campaign",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=CampaignCreatedOut,
    responses=RESPONSES(400, 401, 403),
    summary="Create a campaign from a contact list (immediate or scheduled)",
)
def create_campaign(
    body: CampaignIn, account: CurrentAccount, engine: EngineDep, request: Request
) -> CampaignCreatedOut:
    contacts: list[RawContact] = []
    for item in body.contacts:
        given: dict[str, Any] = item.model_dump(exclude_none=True)
        contacts.append(
            RawContact(
                phone=given.get("phone"),
                fields={name: given[name] for name in CONTACT_FIELDS if name in given},
                custom_fields=given.get("custom_fields") or {},
            )
        )
    created = campaigns.create_campaign(
        engine,
        account,
        NewCampaign(
            playbook_id=body.playbook_id,
            contacts=contacts,
            launch_at=body.launch_at,
            recall=tuple(body.recall) if isinstance(body.recall, list) else (),
        ),
    )
    request.app.state.notify_new_work()
    return CampaignCreatedOut(
        campaign_id=created.campaign.id,
        status=created.campaign.status.value,
        launch_at=created.campaign.launch_at,
        contacts=created.contact_count,
    )


@router.get("/campaign/{campaign_id}", response_model=CampaignOut, responses=RESPONSES(401, 404))
def get_campaign(campaign_id: str, account: CurrentAccount, engine: EngineDep) -> CampaignOut:
    return _campaign_out(campaigns.get_campaign(engine, account, parse_id(campaign_id)))


@router.get(
    "/campaign/{campaign_id}/calls", response_model=CallsPage, responses=RESPONSES(400, 401, 404)
)
def list_calls(
    campaign_id: str,
    account: CurrentAccount,
    engine: EngineDep,
    limit: int = Query(100, ge=1, le=campaigns.MAX_CALLS_PAGE),
    cursor: str | None = None,
) -> CallsPage:
    after = 0
    if cursor:
        if not cursor.isdigit():
            raise InvalidRequest(
                "invalid cursor", errors=[{"field": "cursor", "reason": "invalid"}]
            )
        after = int(cursor)
    calls, next_after = campaigns.list_calls(engine, account, parse_id(campaign_id), after, limit)
    return CallsPage(
        calls=[
            CallOut(
                call_id=call.id,
                contact_id=call.contact_id,
                phone=call.phone,
                status=call.status.value,
                attempts=[
                    AttemptOut(
                        number=a.number,
                        outcome=a.outcome.value if a.outcome else None,
                        started_at=a.started_at,
                        ended_at=a.ended_at,
                        error=a.error,
                    )
                    for a in call.attempts
                ],
                next_attempt_at=call.next_attempt_at,
                recall=list(call.recall),
                skip_reason=call.skip_reason,
            )
            for call in calls
        ],
        next_cursor=str(next_after) if next_after is not None else None,
    )
