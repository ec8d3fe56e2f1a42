"""The account's do-not-call list: suppressed phones are never dialed."""

from collections.abc import Callable, Sequence
from datetime import datetime

from outbound.clock import utcnow
from outbound.domain import paging
from outbound.domain.paging import Page
from outbound.domain.phones import InvalidPhone, normalize_phone
from outbound.domain.records import Account
from outbound.exceptions import InvalidRequest, NotFound
from outbound.services import events
from outbound.services.dispatch import DO_NOT_CALL_REASON
from outbound.services.events import Outbox
from outbound.store import campaigns as campaign_store
from outbound.store import do_not_call as store
from outbound.store.database import Database

MAX_PAGE = 1000


def _normalize_all(phones: Sequence[object]) -> list[str]:
    normalized: list[str] = []
    errors = []
    for index, phone in enumerate(phones):
        try:
            normalized.append(normalize_phone(phone))
        except InvalidPhone as exc:
            errors.append({"index": index, "field": "phones", "reason": str(exc)})
    if errors:
        raise InvalidRequest(f"{len(errors)} phone(s) are invalid", errors=errors)
    return sorted(set(normalized))


def suppress(
    database: Database,
    account: Account,
    phones: Sequence[object],
    clock: Callable[[], datetime] = utcnow,
) -> list[str]:
    """Add phones to the list; their pending calls become skipped before any further attempt."""
    normalized = _normalize_all(phones)
    now = clock()
    with database.transaction() as conn:
        store.add(conn, account.id, normalized, now)
        skipped = campaign_store.skip_suppressed_calls(
            conn, account.id, None, DO_NOT_CALL_REASON, now
        )
        outbox = Outbox(conn)
        for call in skipped:
            outbox.call(events.CALL_SKIPPED, call.account_id, call.id)
        outbox.completed_campaigns(
            campaign_store.complete_finished_campaigns(conn, {c.campaign_id for c in skipped}, now)
        )
        outbox.publish(now)
    return normalized


def unsuppress(database: Database, account: Account, phone: str) -> None:
    try:
        normalized = normalize_phone(phone)
    except InvalidPhone as exc:
        raise NotFound("phone not on the do-not-call list") from exc
    with database.transaction() as conn:
        if not store.remove(conn, account.id, normalized):
            raise NotFound("phone not on the do-not-call list")


def list_suppressed(
    database: Database, account: Account, cursor: str | None, limit: int
) -> Page[tuple[str, datetime, str | None]]:
    """A page of the list's phones, when and why each was added (``disposition:<name>`` when
    a conversation's ``dnc`` disposition added it), in the phones' text order."""
    limit = paging.page_size(limit, MAX_PAGE)
    after = paging.DO_NOT_CALL.decode(cursor)
    with database.reading() as conn:
        rows = store.page(conn, account.id, after[0] if after else None, limit + 1)
    return paging.DO_NOT_CALL.page(rows, limit, lambda row: (row[0],))
