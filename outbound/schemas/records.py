"""How records are shown: the JSON of campaigns and calls, for the API and for events."""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from outbound.domain.recall import RETRIED_BY_DEFAULT
from outbound.domain.records import Call, Campaign
from outbound.domain.results import Cost
from outbound.domain.statuses import CallStatus


class CampaignCreatedOut(BaseModel):
    campaign_id: uuid.UUID
    status: Literal["running", "scheduled"]
    launch_at: datetime | None
    contacts: int = Field(description="Distinct contacts")


class ContactsAddedOut(BaseModel):
    campaign_id: uuid.UUID
    status: str
    added: int = Field(description="New calls")
    already_in_campaign: int = Field(description="Phones the campaign had: not called twice")


class CostOut(BaseModel):
    amount: float
    currency: str


class CampaignOut(BaseModel):
    campaign_id: uuid.UUID
    playbook_id: uuid.UUID
    status: str
    launch_at: datetime | None
    recall: list[float]
    recall_on: list[str]
    calling_window: dict[str, Any] | None
    max_concurrent_calls: int | None
    strict_variables: bool
    provider_error: str | None = Field(
        None, description="The telephony provider's last failure to take a call, if any"
    )
    provider_error_at: datetime | None = None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    counts: dict[str, int]
    max_callbacks: int = Field(
        description="Callbacks a call may take, outside the recall budget (default 3)"
    )
    dispositions: dict[str, int] = Field(
        default_factory=dict,
        description="Calls by the disposition of their last answered attempt",
    )
    cost: CostOut | None = Field(None, description="Every attempt's cost, summed")


class AttemptOut(BaseModel):
    number: int
    outcome: str | None
    started_at: datetime
    ended_at: datetime | None
    error: str | None = None
    caller_id: str | None = None
    result: dict[str, Any] | None = Field(
        None,
        description=(
            "What the conversation achieved, once the attempt ended: disposition, summary, "
            "data, transcript (left out of lists), recording_url, cost, ended_reason, "
            "callback_at, voicemail_left, success"
        ),
    )


class CallOut(BaseModel):
    call_id: uuid.UUID
    campaign_id: uuid.UUID
    contact_id: uuid.UUID
    phone: str
    status: str
    attempts: list[AttemptOut]
    next_attempt_at: datetime | None
    recall: list[float]
    skip_reason: str | None = None


def full_counts(counts: dict[str, int]) -> dict[str, int]:
    """Every call status, zeros included, and the total."""
    return {"total": sum(counts.values()), **{s.value: counts.get(s.value, 0) for s in CallStatus}}


def campaign_view(
    campaign: Campaign,
    counts: dict[str, int],
    dispositions: dict[str, int] | None = None,
    cost: Cost | None = None,
) -> CampaignOut:
    recall_on = campaign.recall_on if campaign.recall_on is not None else RETRIED_BY_DEFAULT
    return CampaignOut(
        campaign_id=campaign.id,
        playbook_id=campaign.playbook_id,
        status=campaign.status.value,
        launch_at=campaign.launch_at,
        recall=list(campaign.recall),
        recall_on=sorted(o.value for o in recall_on),
        calling_window=campaign.calling_window.to_json() if campaign.calling_window else None,
        max_concurrent_calls=campaign.max_concurrent_calls,
        strict_variables=campaign.strict_variables,
        provider_error=campaign.provider_error,
        provider_error_at=campaign.provider_error_at,
        created_at=campaign.created_at,
        started_at=campaign.started_at,
        finished_at=campaign.finished_at,
        counts=counts,
        max_callbacks=campaign.max_callbacks,
        dispositions=dispositions or {},
        cost=CostOut(amount=cost.amount, currency=cost.currency) if cost else None,
    )


def call_view(call: Call, transcripts: bool = True) -> CallOut:
    """A call with its attempts' results; a list leaves the transcripts out."""
    return CallOut(
        call_id=call.id,
        campaign_id=call.campaign_id,
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
                caller_id=a.caller_id,
                result=a.result.to_json(transcript=transcripts) if a.result else None,
            )
            for a in call.attempts
        ],
        next_attempt_at=call.next_attempt_at,
        recall=list(call.recall),
        skip_reason=call.skip_reason,
    )
