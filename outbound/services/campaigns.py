"""Creating campaigns and reading them back."""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Engine

from outbound.clock import utcnow
from outbound.domain.contacts import CONTACT_FIELDS
from outbound.domain.phones import InvalidPhone, normalize_phone
from outbound.domain.records import Account, Call, Campaign, ContactInput
from outbound.domain.schedule import InvalidMoment, parse_launch_at
from outbound.domain.statuses import CallStatus, CampaignStatus
from outbound.exceptions import Forbidden, InvalidRequest, NotFound
from outbound.store import accounts as account_store
from outbound.store import campaigns as store
from outbound.store import contacts as contact_store

MAX_CALLS_PAGE = 1000


@dataclass(frozen=True)
class RawContact:
    """One contact as the request gave it, before its phone is checked."""

    phone: Any
    fields: dict[str, str] = field(default_factory=dict)
    custom_fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NewCampaign:
    playbook_id: uuid.UUID
    contacts: Sequence[RawContact]
    launch_at: str | None = None
    recall: tuple[float, ...] = ()


@dataclass(frozen=True)
class CampaignCreated:
    campaign: Campaign
    contact_count: int


@dataclass(frozen=True)
class CampaignReport:
    campaign: Campaign
    counts: dict[str, int]


@cache
def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def prepare_contacts(raw: Sequence[RawContact]) -> list[ContactInput]:
    """Normalize every phone and merge repeats; raise one error listing every bad contact."""
    errors: list[dict[str, Any]] = []
    merged: dict[str, ContactInput] = {}
    for index, contact in enumerate(raw):
        try:
            phone = normalize_phone(contact.phone, contact.fields.get("country"))
        except InvalidPhone as exc:
            errors.append({"index": index, "field": "phone", "reason": str(exc)})
            continue
        zone = contact.fields.get("timezone")
        if zone is not None and not _known_zone(zone):
            errors.append(
                {"index": index, "field": "timezone", "reason": f"unknown timezone {zone!r}"}
            )
            continue
        earlier = merged.get(phone)
        if earlier is None:
            merged[phone] = ContactInput(phone, dict(contact.fields), dict(contact.custom_fields))
        else:
            earlier.fields.update(contact.fields)
            earlier.custom_fields.update(contact.custom_fields)
    if errors:
        raise InvalidRequest(f"{len(errors)} contact(s) are invalid", errors=errors)
    return list(merged.values())


def create_campaign(
    engine: Engine,
    account: Account,
    request: NewCampaign,
    clock: Callable[[], datetime] = utcnow,
) -> CampaignCreated:
    """Store the campaign, its contacts and its calls in one transaction."""
    contacts = prepare_contacts(request.contacts)
    launch_at: datetime | None = None
    if request.launch_at is not None:
        try:
            launch_at = parse_launch_at(request.launch_at, account.timezone)
        except InvalidMoment as exc:
            raise InvalidRequest(
                str(exc), errors=[{"field": "launch_at", "reason": str(exc)}]
            ) from exc
    now = clock()
    scheduled = launch_at is not None and launch_at > now
    campaign = Campaign(
        id=uuid.uuid4(),
        account_id=account.id,
        playbook_id=request.playbook_id,
        status=CampaignStatus.SCHEDULED if scheduled else CampaignStatus.RUNNING,
        launch_at=launch_at,
        recall=request.recall,
        created_at=now,
        started_at=None if scheduled else now,
    )
    first_due = launch_at if scheduled else now
    with engine.begin() as conn:
        playbook = account_store.get_playbook(conn, request.playbook_id)
        if playbook is None or playbook.account_id != account.id:
            raise Forbidden("playbook not found or not owned by your account")
        contact_ids = contact_store.upsert_contacts(conn, account.id, contacts, now)
        store.insert_campaign(conn, campaign)
        store.insert_calls(
            conn,
            [
                {
                    "id": uuid.uuid4(),
                    "campaign_id": campaign.id,
                    "account_id": account.id,
                    "contact_id": contact_ids[contact.phone],
                    "position": position,
                    "phone": contact.phone,
                    "status": CallStatus.PENDING.value,
                    "attempt_count": 0,
                    "recall": list(request.recall),
                    "next_attempt_at": first_due,
                    "created_at": now,
                    "updated_at": now,
                }
                for position, contact in enumerate(contacts, start=1)
            ],
        )
    return CampaignCreated(campaign=campaign, contact_count=len(contacts))


def get_campaign(engine: Engine, account: Account, campaign_id: uuid.UUID) -> CampaignReport:
    with engine.connect() as conn:
        campaign = store.get_campaign(conn, account.id, campaign_id)
        if campaign is None:
            raise NotFound("campaign not found")
        counts = store.count_calls_by_status(conn, campaign_id)
    full = {status.value: counts.get(status.value, 0) for status in CallStatus}
    return CampaignReport(campaign=campaign, counts={"total": sum(counts.values()), **full})


def list_calls(
    engine: Engine, account: Account, campaign_id: uuid.UUID, after: int, limit: int
) -> tuple[list[Call], int | None]:
    """A page of calls and the position to continue after, if there may be more."""
    limit = max(1, min(limit, MAX_CALLS_PAGE))
    with engine.connect() as conn:
        if store.get_campaign(conn, account.id, campaign_id) is None:
            raise NotFound("campaign not found")
        page = store.list_calls(conn, campaign_id, after, limit)
    next_after = page[-1][0] if len(page) == limit else None
    return [call for _, call in page], next_after


def get_contact(engine: Engine, account: Account, contact_id: uuid.UUID) -> dict[str, Any]:
    with engine.connect() as conn:
        contact = contact_store.get_contact(conn, account.id, contact_id)
    if contact is None:
        raise NotFound("contact not found")
    return {
        "contact_id": contact["id"],
        "phone": contact["phone"],
        **{name: contact[name] for name in CONTACT_FIELDS},
        "custom_fields": contact["custom_fields"],
        "created_at": contact["created_at"],
        "updated_at": contact["updated_at"],
    }
