"""Counts for the metrics gauges."""

from datetime import datetime

from sqlalchemy import Connection, func, select

from outbound.domain.statuses import CallStatus, CampaignStatus
from outbound.store.tables import calls, campaigns


def queue_counts(conn: Connection, now: datetime) -> dict[str, int]:
    due = conn.execute(
        select(func.count())
        .select_from(calls)
        .join(campaigns, campaigns.c.id == calls.c.campaign_id)
        .where(
            calls.c.status == CallStatus.PENDING.value,
            calls.c.next_attempt_at <= now,
            campaigns.c.status == CampaignStatus.RUNNING.value,
        )
    ).scalar_one()
    in_progress = conn.execute(
        select(func.count()).where(calls.c.status == CallStatus.IN_PROGRESS.value)
    ).scalar_one()
    return {"due": int(due), "in_progress": int(in_progress)}
