"""Events out to customers: collected during a use case, published at its end.

Each event is written to the outbox (``events``) in the same transaction as the change it
describes, with the account's next ``sequence``. Publishing takes the account's counter lock,
so it must be the transaction's last step; events of an account commit in sequence order.
An account without webhook endpoints publishes nothing.
"""

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from outbound.schemas.records import call_view, campaign_view, full_counts
from outbound.store import campaigns as campaign_store
from outbound.store import events as store
from outbound.store.database import Transaction

CAMPAIGN_STARTED = "campaign.started"
CAMPAIGN_COMPLETED = "campaign.completed"
CAMPAIGN_CANCELLED = "campaign.cancelled"
CALL_ATTEMPTED = "call.attempted"
CALL_COMPLETED = "call.completed"
CALL_FAILED = "call.failed"
CALL_SKIPPED = "call.skipped"
CALL_CALLBACK_SCHEDULED = "call.callback_scheduled"
EVENT_TYPES = (
    CAMPAIGN_STARTED,
    CAMPAIGN_COMPLETED,
    CAMPAIGN_CANCELLED,
    CALL_ATTEMPTED,
    CALL_COMPLETED,
    CALL_FAILED,
    CALL_SKIPPED,
    CALL_CALLBACK_SCHEDULED,
)


@dataclass(frozen=True)
class _Pending:
    type: str
    account_id: uuid.UUID
    subject_id: uuid.UUID  # a campaign or a call
    attempt_number: int | None = None
    at: datetime | None = None  # a callback's time


@dataclass
class Outbox:
    """The events of one transaction."""

    conn: Transaction
    pending: list[_Pending] = field(default_factory=list)
    # Each account's endpoints' event types, once read (``expect`` or ``publish``).
    endpoints: dict[uuid.UUID, list[set[str] | None]] = field(default_factory=dict)

    def expect(self, account_ids: Collection[uuid.UUID]) -> None:
        """Read now which events the endpoints of ``account_ids`` want: the events no endpoint
        wants are then dropped as they come (a use case that makes one per call of a batch)."""
        unread = [a for a in account_ids if a not in self.endpoints]
        if unread:
            found = store.subscriptions(self.conn, unread)
            for account_id in unread:
                self.endpoints[account_id] = found.get(account_id, [])

    def campaign(self, type_: str, account_id: uuid.UUID, campaign_id: uuid.UUID) -> None:
        if self._wanted(type_, account_id):
            self.pending.append(_Pending(type_, account_id, campaign_id))

    def call(
        self,
        type_: str,
        account_id: uuid.UUID,
        call_id: uuid.UUID,
        attempt_number: int | None = None,
        at: datetime | None = None,
    ) -> None:
        if self._wanted(type_, account_id):
            self.pending.append(_Pending(type_, account_id, call_id, attempt_number, at))

    def completed_campaigns(self, refs: list[campaign_store.Owned]) -> None:
        for ref in refs:
            self.campaign(CAMPAIGN_COMPLETED, ref.account_id, ref.id)

    def publish(self, now: datetime) -> int:
        """Write the events that some endpoint wants; the transaction's last step."""
        if not self.pending:
            return 0
        self.expect({p.account_id for p in self.pending})
        wanted = [p for p in self.pending if self._wanted(p.type, p.account_id)]
        self.pending = []
        if not wanted:
            return 0
        data = self._data(wanted)
        by_account: dict[uuid.UUID, list[_Pending]] = {}
        for item in wanted:
            by_account.setdefault(item.account_id, []).append(item)
        rows: list[dict[str, Any]] = []
        for account_id in sorted(by_account):
            items = by_account[account_id]
            last = store.reserve_sequences(self.conn, account_id, len(items))
            for sequence, item in enumerate(items, start=last - len(items) + 1):
                rows.append(
                    {
                        "id": uuid.uuid4(),
                        "account_id": account_id,
                        "sequence": sequence,
                        "type": item.type,
                        "created_at": now,
                        "data": data[item],
                    }
                )
        store.insert_events(self.conn, rows)
        return len(rows)

    def _wanted(self, type_: str, account_id: uuid.UUID) -> bool:
        """False when the account's endpoints, read, want no such event; True when they are
        not read yet (``publish`` decides)."""
        endpoints = self.endpoints.get(account_id)
        return endpoints is None or any(types is None or type_ in types for types in endpoints)

    def _data(self, items: list[_Pending]) -> dict[_Pending, dict[str, Any]]:
        call_ids = {i.subject_id for i in items if i.type.startswith("call.")}
        campaign_ids = {i.subject_id for i in items if i.type.startswith("campaign.")}
        calls = campaign_store.get_calls(self.conn, call_ids) if call_ids else {}
        campaigns = campaign_store.get_campaigns(self.conn, campaign_ids) if campaign_ids else {}
        data: dict[_Pending, dict[str, Any]] = {}
        for item in items:
            if item.type.startswith("call."):
                call = calls[item.subject_id]
                view = call_view(call).model_dump(mode="json")
                entry: dict[str, Any] = {"call": view}
                if item.attempt_number is not None:
                    entry["attempt"] = next(
                        a for a in view["attempts"] if a["number"] == item.attempt_number
                    )
                if item.at is not None:
                    entry["callback_at"] = item.at.isoformat().replace("+00:00", "Z")
                data[item] = entry
            else:
                campaign = campaigns[item.subject_id]
                counts = full_counts(campaign_store.count_calls_by_status(self.conn, campaign.id))
                data[item] = {"campaign": campaign_view(campaign, counts).model_dump(mode="json")}
        return data
