"""Campaigns: create them, add contacts, pause, resume, cancel, and read them back."""

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from outbound.clock import utcnow
from outbound.domain import paging
from outbound.domain.contacts import CONTACT_FIELDS
from outbound.domain.dispositions import DEFAULT_MAX_CALLBACKS
from outbound.domain.paging import Page
from outbound.domain.personalization import contact_variables, missing_variables
from outbound.domain.phones import normalize_phone, zone_of_number
from outbound.domain.records import Account, Call, Campaign, ContactInput, Playbook
from outbound.domain.results import Cost
from outbound.domain.schedule import InvalidMoment, parse_launch_at
from outbound.domain.statuses import CampaignStatus, Outcome
from outbound.domain.windows import CallingWindow, next_opening
from outbound.exceptions import Conflict, Forbidden, InvalidRequest, NotFound
from outbound.schemas.records import CampaignCreatedOut, ContactsAddedOut, full_counts
from outbound.services import events
from outbound.services import idempotency as idempotent
from outbound.services.contact_lists import (
    Contacts,
    PreparedChunk,
    RawContact,
    checked,
    chunk_of,
    prepare_contacts,
    prepared_chunks,
    raise_for,
)
from outbound.services.dispatch import DO_NOT_CALL_REASON
from outbound.services.events import Outbox
from outbound.services.idempotency import IdempotencyKey
from outbound.store import campaigns as store
from outbound.store import contacts as contact_store
from outbound.store import playbooks as playbook_store
from outbound.store import results as result_store
from outbound.store.contacts import NewCalls
from outbound.store.database import Database, Transaction

MAX_CALLS_PAGE = 1000

MAX_CAMPAIGNS_PAGE = 200


@dataclass(frozen=True)
class NewCampaign:
    playbook_id: uuid.UUID
    contacts: Contacts
    launch_at: str | None = None
    recall: tuple[float, ...] = ()
    calling_window: CallingWindow | None = None
    max_concurrent_calls: int | None = None
    recall_on: frozenset[Outcome] | None = None
    strict_variables: bool = False
    max_callbacks: int = DEFAULT_MAX_CALLBACKS


@dataclass(frozen=True)
class CampaignCreated:
    campaign: Campaign
    contact_count: int


@dataclass(frozen=True)
class CampaignReport:
    campaign: Campaign
    counts: dict[str, int]
    dispositions: dict[str, int] = field(default_factory=dict)
    cost: Cost | None = None


def _check_variables(
    conn: Transaction,
    account: Account,
    playbook: Playbook,
    raw: Sequence[RawContact],
    contacts: Sequence[ContactInput],
) -> None:
    """Reject the contacts that lack a variable the playbook's texts use.

    A contact's variables are what it will have once stored: the fields given now merged
    over those already known for its phone.
    """
    texts = [t for t in (playbook.first_message, playbook.instructions) if t]
    if not texts:
        return
    known = contact_store.get_by_phones(conn, account.id, [c.phone for c in contacts])
    merged: dict[str, dict[str, Any]] = {}
    for contact in contacts:
        stored = known.get(contact.phone, {})
        values = {**stored, **contact.fields, "phone": contact.phone}
        values["custom_fields"] = {**(stored.get("custom_fields") or {}), **contact.custom_fields}
        merged[contact.phone] = contact_variables(values)
    errors = []
    for index, item in enumerate(raw):
        phone = normalize_phone(item.phone, item.fields.get("country"))
        missing = set().union(*(missing_variables(t, merged[phone]) for t in texts))
        if missing:
            errors.append(
                {
                    "index": index,
                    "field": "variables",
                    "reason": "missing: " + ", ".join(sorted(missing)),
                }
            )
    if errors:
        raise InvalidRequest(
            f"{len(errors)} contact(s) lack variables the playbook uses", errors=errors
        )


def _skipped_events(outbox: Outbox, skipped: list[store.SkippedCall]) -> None:
    for call in skipped:
        outbox.call(events.CALL_SKIPPED, call.account_id, call.id)


def _contact_zone(
    account: Account, phone: str, own_zone: str | None, number_zone: str | None
) -> str:
    """The zone a contact's window is read in: its own, its number's, or the account's."""
    return own_zone or number_zone or zone_of_number(phone) or account.timezone


class CallsAdded(NamedTuple):
    added: int  # calls the campaign did not have
    already_in_campaign: int  # contacts the campaign had a call for
    skipped: list[store.SkippedCall]  # added calls whose phone is on the do-not-call list

    @property
    def contacts(self) -> int:
        return self.added + self.already_in_campaign


def _write_chunks(
    conn: Transaction,
    account: Account,
    campaign: Campaign,
    chunks: Iterable[PreparedChunk],
    caller_id: str | None,
    first_due: datetime,
    now: datetime,
) -> CallsAdded:
    """Upsert the contacts and give the campaign one call per contact it does not have yet,
    chunk by chunk as they are prepared, each one handed to the database's writer.

    A phone repeated in a later chunk updates the contact an earlier one wrote; the calls come
    in the order each phone first appears. After a chunk with errors nothing more is written;
    the errors of every chunk are raised after the last one.
    """
    writer = conn.contact_writer
    writer.lock(account.id)
    start = after = store.last_position(conn, campaign.id)
    window = campaign.calling_window
    written: dict[str, str] = {}  # each phone of the list written so far: its contact's id
    rezoned: dict[str, str] = {}  # phones whose timezone a later chunk changed
    dues: dict[str, datetime] = {}  # the first due time in each zone
    invalid: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for chunk, stored in writer.with_stored(account.id, chunks, _phones_to_look_up):
        invalid += chunk.invalid
        errors += chunk.errors
        if invalid or errors:
            continue
        fresh = [i for i, phone in enumerate(chunk.phones) if phone not in written]
        known = {
            chunk.phones[i]: stored[chunk.phones[i]] for i in fresh if chunk.phones[i] in stored
        }
        again = [i for i, phone in enumerate(chunk.phones) if phone in written or phone in known]
        if window is not None:  # a timezone given again: the call an earlier chunk added
            rezoned.update(
                (phone, zone)
                for phone, zone in zip(chunk.phones, chunk.timezones, strict=True)
                if zone and phone in written
            )
        zones: list[str | None] = []
        for i in fresh:
            phone = chunk.phones[i]
            contact = known.get(phone)
            written[phone] = contact.id if contact else chunk.ids[i]
            if window is not None:
                own_zone = chunk.timezones[i] or (contact.timezone if contact else None)
                zones.append(_contact_zone(account, phone, own_zone, chunk.number_zones[i]))
        after += writer.write_chunk(
            [chunk.rows[i] for i in fresh if chunk.phones[i] not in known],
            [chunk.rows[i] for i in again],
            NewCalls(
                campaign=campaign,
                ids=[chunk.call_ids[i] for i in fresh],
                contact_ids=[written[chunk.phones[i]] for i in fresh],
                phones=[chunk.phones[i] for i in fresh],
                zones=zones if window else None,
                dues=[_first_due(window, zone, first_due, dues) for zone in zones]
                if window
                else None,
                after=after,
                caller_id=caller_id,
                first_due=first_due,
                now=now,
                skip_existing=start > 0,
            ),
        )
    if invalid:
        raise InvalidRequest.naming(invalid)
    raise_for(errors)
    if window is not None and rezoned:
        writer.rezone_calls(
            campaign.id,
            start,
            list(rezoned),
            list(rezoned.values()),
            [_first_due(window, zone, first_due, dues) for zone in rezoned.values()],
        )
    skipped = (
        store.skip_suppressed_calls(
            conn, account.id, campaign.id, DO_NOT_CALL_REASON, now, after_position=start
        )
        if after > start
        else []
    )
    return CallsAdded(after - start, len(written) - (after - start), skipped)


def _phones_to_look_up(chunk: PreparedChunk) -> list[str]:
    """The phones whose stored contacts a chunk needs: none when it will not be written."""
    return [] if chunk.invalid or chunk.errors else chunk.phones


def _first_due(
    window: CallingWindow, zone: str | None, first_due: datetime, dues: dict[str, datetime]
) -> datetime | None:
    """When the window first opens in ``zone`` (remembered in ``dues``)."""
    if zone is None:
        return None
    if zone not in dues:
        dues[zone] = next_opening(window, ZoneInfo(zone), first_due)
    return dues[zone]


@dataclass(frozen=True)
class Prepared:
    """A list validated and merged before the transaction starts."""

    raw: list[RawContact]
    contacts: list[ContactInput]


def _add_contacts(
    conn: Transaction,
    account: Account,
    campaign: Campaign,
    source: Contacts,
    prepared: Prepared | None,
    caller_id: str | None,
    first_due: datetime,
    now: datetime,
) -> CallsAdded:
    """The contacts prepared before the transaction, or (``prepared`` None) as the pool
    prepares them, chunk by chunk, while the earlier chunks are written."""
    account_id, stamp = str(account.id), now.isoformat()
    encode = conn.contact_writer.encode_contacts
    chunks = (
        [chunk_of(prepared.contacts, account_id, stamp, encode)]
        if prepared is not None
        else prepared_chunks(source, account_id, stamp, campaign.calling_window is not None, encode)
    )
    return _write_chunks(conn, account, campaign, chunks, caller_id, first_due, now)


def _prepared_first(contacts: Contacts, strict: bool) -> Prepared | None:
    """The list prepared before the transaction starts when its variables are to be checked
    first; else it is prepared as it is written."""
    if not strict:
        return None
    raw = checked(contacts)
    return Prepared(raw, prepare_contacts(raw))


@dataclass(frozen=True)
class Accepted:
    """A write taken in, as its result's JSON form (``schemas.records``): the one stored with
    its Idempotency-Key, given again (``replayed``) when the key comes back."""

    result: dict[str, Any]
    replayed: bool = False


def create_campaign(
    database: Database,
    account: Account,
    request: NewCampaign,
    clock: Callable[[], datetime] = utcnow,
) -> CampaignCreated:
    """Store the campaign, its contacts and its calls in one transaction."""
    launch_at = _launch_at(account, request)
    contacts = _prepared_first(request.contacts, request.strict_variables)
    with database.transaction() as conn:
        created = _store_campaign(conn, account, request, contacts, launch_at, clock())
    database.refresh_statistics_after(created.contact_count)
    return created


def create_campaign_once(
    database: Database,
    account: Account,
    request: NewCampaign,
    idempotency: IdempotencyKey | None,
    clock: Callable[[], datetime] = utcnow,
) -> Accepted:
    """``create_campaign`` for a request that may come again: its result, stored with the
    Idempotency-Key, or the one stored before."""
    launch_at = _launch_at(account, request)
    contacts = _prepared_first(request.contacts, request.strict_variables)
    with database.transaction() as conn:
        now = clock()
        if idempotency is not None:
            replay = idempotent.begin(conn, account.id, idempotency, now)
            if replay is not None:
                return Accepted(replay.result, replayed=True)
        created = _store_campaign(conn, account, request, contacts, launch_at, now)
        result = CampaignCreatedOut(
            campaign_id=created.campaign.id,
            status=created.campaign.status.value,
            launch_at=created.campaign.launch_at,
            contacts=created.contact_count,
        ).model_dump(mode="json")
        if idempotency is not None:
            idempotent.finish(conn, account.id, idempotency, result)
    database.refresh_statistics_after(created.contact_count)
    return Accepted(result)


def _launch_at(account: Account, request: NewCampaign) -> datetime | None:
    if request.launch_at is None:
        return None
    try:
        return parse_launch_at(request.launch_at, account.timezone)
    except InvalidMoment as exc:
        raise InvalidRequest(str(exc), errors=[{"field": "launch_at", "reason": str(exc)}]) from exc


def _store_campaign(
    conn: Transaction,
    account: Account,
    request: NewCampaign,
    contacts: Prepared | None,
    launch_at: datetime | None,
    now: datetime,
) -> CampaignCreated:
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
        calling_window=request.calling_window or account.calling_window,
        max_concurrent_calls=request.max_concurrent_calls,
        recall_on=request.recall_on,
        strict_variables=request.strict_variables,
        max_callbacks=request.max_callbacks,
    )
    first_due = launch_at if launch_at is not None and scheduled else now
    playbook = playbook_store.find_playbook(conn, account.id, request.playbook_id)
    if playbook is None:
        raise Forbidden("playbook not found or not owned by your account")
    if playbook.archived_at is not None:  # campaigns already running with it go on
        raise Forbidden("playbook is archived")
    if request.strict_variables:
        assert contacts is not None  # prepared first: see ``_prepared_first``
        _check_variables(conn, account, playbook, contacts.raw, contacts.contacts)
    store.insert_campaign(conn, campaign)
    added = _add_contacts(
        conn, account, campaign, request.contacts, contacts, playbook.caller_id, first_due, now
    )
    outbox = Outbox(conn)
    if not scheduled:
        outbox.campaign(events.CAMPAIGN_STARTED, account.id, campaign.id)
    _skipped_events(outbox, added.skipped)
    outbox.completed_campaigns(store.complete_finished_campaigns(conn, [campaign.id], now))
    outbox.publish(now)
    conn.announce_new_work()
    return CampaignCreated(campaign=campaign, contact_count=added.contacts)


def add_contacts(
    database: Database,
    account: Account,
    campaign_id: uuid.UUID,
    raw: Contacts,
    clock: Callable[[], datetime] = utcnow,
    idempotency: IdempotencyKey | None = None,
) -> Accepted:
    """Append contacts to a campaign that is still to run; known phones are not called twice.

    The result is stored with the Idempotency-Key when there is one.
    """
    contacts: Prepared | None = None  # prepared as written, unless the campaign is strict
    with database.transaction() as conn:
        now = clock()
        if idempotency is not None:
            replay = idempotent.begin(conn, account.id, idempotency, now)
            if replay is not None:
                return Accepted(replay.result, replayed=True)
        campaign = store.get_campaign(conn, account.id, campaign_id, lock=True)
        if campaign is None:
            raise NotFound("campaign not found")
        if campaign.status not in _OPEN_FOR_CONTACTS:
            raise Conflict(f"campaign is {campaign.status.value}: contacts can no longer be added")
        playbook = playbook_store.get_playbook(conn, campaign.playbook_id)
        if campaign.strict_variables and playbook is not None:
            valid = checked(raw)  # the campaign's rule, not known before the transaction
            contacts = Prepared(valid, prepare_contacts(valid))
            _check_variables(conn, account, playbook, contacts.raw, contacts.contacts)
        first_due = max(campaign.launch_at or now, now)
        added = _add_contacts(
            conn,
            account,
            campaign,
            raw,
            contacts,
            playbook.caller_id if playbook else None,
            first_due,
            now,
        )
        outbox = Outbox(conn)
        _skipped_events(outbox, added.skipped)
        outbox.publish(now)
        if added.added:
            conn.announce_new_work()
        result = ContactsAddedOut(
            campaign_id=campaign.id,
            status=campaign.status.value,
            added=added.added,
            already_in_campaign=added.already_in_campaign,
        ).model_dump(mode="json")
        if idempotency is not None:
            idempotent.finish(conn, account.id, idempotency, result)
    database.refresh_statistics_after(added.added)
    return Accepted(result)


_OPEN_FOR_CONTACTS = (CampaignStatus.SCHEDULED, CampaignStatus.RUNNING, CampaignStatus.PAUSED)
_PAUSABLE = (CampaignStatus.SCHEDULED, CampaignStatus.RUNNING)
_CANCELLABLE = (CampaignStatus.SCHEDULED, CampaignStatus.RUNNING, CampaignStatus.PAUSED)


def _transition(
    database: Database,
    account: Account,
    campaign_id: uuid.UUID,
    verb: str,
    allowed: Sequence[CampaignStatus],
    change: Callable[[Transaction, Campaign, datetime], bool],
    clock: Callable[[], datetime],
) -> CampaignReport:
    """Apply ``change`` if the campaign's status allows it, else 409.

    ``change`` takes locks in the dispatcher's order (calls, then the campaign) and returns
    False when the campaign moved on meanwhile.
    """
    with database.transaction() as conn:
        campaign = store.get_campaign(conn, account.id, campaign_id)
        if campaign is None:
            raise NotFound("campaign not found")
        if campaign.status not in allowed or not change(conn, campaign, clock()):
            names = " or ".join(s.value for s in allowed)
            raise Conflict(f"cannot {verb} a {campaign.status.value} campaign (only a {names} one)")
    return get_campaign(database, account, campaign_id)


def pause_campaign(
    database: Database,
    account: Account,
    campaign_id: uuid.UUID,
    clock: Callable[[], datetime] = utcnow,
) -> CampaignReport:
    """No new attempt starts until resumed; attempts in progress finish."""

    def pause(conn: Transaction, campaign: Campaign, now: datetime) -> bool:
        return store.set_status(conn, campaign.id, _PAUSABLE, CampaignStatus.PAUSED, now)

    return _transition(database, account, campaign_id, "pause", _PAUSABLE, pause, clock)


def resume_campaign(
    database: Database,
    account: Account,
    campaign_id: uuid.UUID,
    clock: Callable[[], datetime] = utcnow,
) -> CampaignReport:
    """Continue where it stopped; every call keeps its due time."""

    def resume(conn: Transaction, campaign: Campaign, now: datetime) -> bool:
        waiting = campaign.launch_at is not None and campaign.launch_at > now
        status = CampaignStatus.SCHEDULED if waiting else CampaignStatus.RUNNING
        if not store.set_status(conn, campaign.id, (CampaignStatus.PAUSED,), status, now):
            return False
        outbox = Outbox(conn)
        outbox.completed_campaigns(store.complete_finished_campaigns(conn, [campaign.id], now))
        outbox.publish(now)
        conn.announce_new_work()
        return True

    return _transition(
        database, account, campaign_id, "resume", (CampaignStatus.PAUSED,), resume, clock
    )


def cancel_campaign(
    database: Database,
    account: Account,
    campaign_id: uuid.UUID,
    clock: Callable[[], datetime] = utcnow,
) -> CampaignReport:
    """Every call not yet terminal is cancelled, and so is the campaign."""

    def cancel(conn: Transaction, campaign: Campaign, now: datetime) -> bool:
        store.cancel_calls(conn, campaign.id, now)
        if not store.set_status(conn, campaign.id, _CANCELLABLE, CampaignStatus.CANCELLED, now):
            return False
        outbox = Outbox(conn)
        outbox.campaign(events.CAMPAIGN_CANCELLED, account.id, campaign.id)
        outbox.publish(now)
        return True

    return _transition(database, account, campaign_id, "cancel", _CANCELLABLE, cancel, clock)


def _report(conn: Transaction, campaign: Campaign) -> CampaignReport:
    return CampaignReport(
        campaign,
        full_counts(store.count_calls_by_status(conn, campaign.id)),
        result_store.disposition_counts(conn, campaign.id),
        result_store.total_cost(conn, campaign.id),
    )


def get_campaign(database: Database, account: Account, campaign_id: uuid.UUID) -> CampaignReport:
    with database.reading() as conn:
        campaign = store.get_campaign(conn, account.id, campaign_id)
        if campaign is None:
            raise NotFound("campaign not found")
        return _report(conn, campaign)


def list_campaigns(
    database: Database,
    account: Account,
    status: CampaignStatus | None,
    cursor: str | None,
    limit: int,
) -> Page[CampaignReport]:
    """A page of the account's campaigns, newest first."""
    limit = paging.page_size(limit, MAX_CAMPAIGNS_PAGE)
    before = paging.CAMPAIGNS.decode(cursor)
    with database.reading() as conn:
        rows = store.list_campaigns(
            conn, account.id, status.value if status else None, before, limit + 1
        )
        page = paging.CAMPAIGNS.page(rows, limit, lambda c: (c.created_at, c.id))
        return page.map(lambda campaign: _report(conn, campaign))


def list_calls(
    database: Database, account: Account, campaign_id: uuid.UUID, cursor: str | None, limit: int
) -> Page[Call]:
    """A page of the campaign's calls, in the order the contacts were given."""
    limit = paging.page_size(limit, MAX_CALLS_PAGE)
    after = paging.CALLS.decode(cursor)
    with database.reading() as conn:
        if store.get_campaign(conn, account.id, campaign_id) is None:
            raise NotFound("campaign not found")
        rows = store.list_calls(conn, campaign_id, after[0] if after else 0, limit + 1)
    return paging.CALLS.page(rows, limit, lambda row: (row[0],)).map(lambda row: row[1])


def get_contact(database: Database, account: Account, contact_id: uuid.UUID) -> dict[str, Any]:
    with database.reading() as conn:
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


def get_call(database: Database, account: Account, call_id: uuid.UUID) -> Call:
    """One of the account's calls, with every attempt's full result."""
    with database.reading() as conn:
        call = store.get_calls(conn, [call_id]).get(call_id)
        if call is None or store.account_of_call(conn, call_id) != account.id:
            raise NotFound("call not found")
        return call
