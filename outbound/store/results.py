"""Conversation results of attempts, and what they change outside the queue's batches: a
result that arrives after its attempt ended, a do-not-call disposition's other calls, and the
sums a campaign shows (dispositions and cost)."""

import json
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, tuple_, update

from outbound.domain.dispositions import DEFAULT_MAX_CALLBACKS
from outbound.domain.results import ConversationResult, Cost, Turn
from outbound.domain.statuses import CallStatus, CampaignStatus, Outcome
from outbound.domain.windows import CallingWindow, parse_window
from outbound.store.calls import ResultRow
from outbound.store.tables import attempt_results, call_attempts, calls, campaigns

_IN_CHUNK = 500


def row_of(
    call_id: uuid.UUID,
    number: int,
    campaign_id: uuid.UUID,
    account_id: uuid.UUID,
    result: ConversationResult,
    now: datetime,
) -> ResultRow:
    """A result as the queue stores it."""
    return ResultRow(
        call_id,
        number,
        campaign_id,
        account_id,
        result.disposition,
        result.summary,
        None if result.data is None else json.dumps(result.data, separators=(",", ":")),
        _transcript_json(result.transcript) if result.transcript else None,
        result.recording_url,
        result.cost.amount if result.cost else None,
        result.cost.currency if result.cost else None,
        result.ended_reason,
        result.callback_at,
        result.voicemail_left,
        result.success,
        result.truncated,
        now,
    )


_transcripts: dict[int, tuple[tuple[Turn, ...], str]] = {}  # by id: the same tuple, often


def _transcript_json(turns: tuple[Turn, ...]) -> str:
    """A transcript as stored; the same tuple of turns (a simulator's) encoded once."""
    known = _transcripts.get(id(turns))
    if known is not None and known[0] is turns:
        return known[1]
    text = _encode_transcript(turns)
    if len(_transcripts) >= 1024:
        _transcripts.clear()
    _transcripts[id(turns)] = (turns, text)
    return text


def _encode_transcript(turns: tuple[Turn, ...]) -> str:
    return json.dumps([turn.to_json() for turn in turns], separators=(",", ":"))


def _result(row: Any, transcript: bool = True) -> ConversationResult:
    turns = row.transcript if transcript and row.transcript else ()
    return ConversationResult(
        disposition=row.disposition,
        summary=row.summary,
        data=row.data,
        transcript=tuple(Turn(t["role"], t["text"], t.get("at_s")) for t in turns),
        recording_url=row.recording_url,
        cost=Cost(row.cost_amount, row.cost_currency or "USD")
        if row.cost_amount is not None
        else None,
        ended_reason=row.ended_reason,
        callback_at=row.callback_at,
        voicemail_left=row.voicemail_left,
        success=row.success,
        truncated=bool(row.truncated),
    )


def _columns(transcript: bool) -> list[Any]:
    return [column for column in attempt_results.c if transcript or column.name != "transcript"]


def stored(
    conn: Connection, attempts: Collection[tuple[uuid.UUID, int]], transcript: bool = True
) -> dict[tuple[uuid.UUID, int], ConversationResult]:
    """The results stored for ``attempts`` (call id, number)."""
    found: dict[tuple[uuid.UUID, int], ConversationResult] = {}
    keys = list(attempts)
    for start in range(0, len(keys), _IN_CHUNK):
        rows = conn.execute(
            select(*_columns(transcript)).where(
                tuple_(attempt_results.c.call_id, attempt_results.c.number).in_(
                    keys[start : start + _IN_CHUNK]
                )
            )
        )
        found.update(((row.call_id, row.number), _result(row, transcript)) for row in rows)
    return found


def of_calls(
    conn: Connection, call_ids: Collection[uuid.UUID], transcript: bool = True
) -> dict[tuple[uuid.UUID, int], ConversationResult]:
    """Every result of the attempts of ``call_ids``."""
    found: dict[tuple[uuid.UUID, int], ConversationResult] = {}
    ids = list(call_ids)
    for start in range(0, len(ids), _IN_CHUNK):
        rows = conn.execute(
            select(*_columns(transcript)).where(
                attempt_results.c.call_id.in_(ids[start : start + _IN_CHUNK])
            )
        )
        found.update(((row.call_id, row.number), _result(row, transcript)) for row in rows)
    return found


@dataclass(frozen=True)
class EndedAttempt:
    """A call and one of its attempts, as a result posted for that attempt finds them."""

    call_id: uuid.UUID
    account_id: uuid.UUID
    campaign_id: uuid.UUID
    campaign_status: CampaignStatus
    playbook_id: uuid.UUID
    phone: str
    status: CallStatus
    attempt_count: int
    recall: tuple[float, ...]
    anchor_at: datetime | None
    recall_on: list[str] | None
    calling_window: CallingWindow | None
    timezone: str | None
    max_callbacks: int
    callback_count: int
    next_attempt_at: datetime | None
    number: int
    outcome: Outcome | None  # None: the attempt is still open
    ended_at: datetime | None
    has_result: bool
    result_applied: bool  # the stored result already had what decides the call


def lock_attempt(conn: Connection, call_id: uuid.UUID, number: int) -> EndedAttempt | None:
    """The call (locked until the transaction ends) and its attempt ``number``."""
    query = (
        select(
            calls.c.id,
            calls.c.account_id,
            calls.c.campaign_id,
            campaigns.c.status.label("campaign_status"),
            campaigns.c.playbook_id,
            calls.c.phone,
            calls.c.status,
            calls.c.attempt_count,
            calls.c.recall,
            calls.c.anchor_at,
            campaigns.c.recall_on,
            campaigns.c.calling_window,
            calls.c.timezone,
            campaigns.c.max_callbacks,
            calls.c.callback_count,
            calls.c.next_attempt_at,
            call_attempts.c.number,
            call_attempts.c.outcome,
            call_attempts.c.ended_at,
            attempt_results.c.call_id.label("result_call_id"),
            attempt_results.c.disposition,
            attempt_results.c.voicemail_left,
        )
        .join(campaigns, campaigns.c.id == calls.c.campaign_id)
        .join(
            call_attempts,
            and_(call_attempts.c.call_id == calls.c.id, call_attempts.c.number == number),
        )
        .outerjoin(
            attempt_results,
            and_(attempt_results.c.call_id == calls.c.id, attempt_results.c.number == number),
        )
        .where(calls.c.id == call_id)
        .with_for_update(of=calls)
    )
    row = conn.execute(query).first()
    if row is None:
        return None
    return EndedAttempt(
        call_id=row.id,
        account_id=row.account_id,
        campaign_id=row.campaign_id,
        campaign_status=CampaignStatus(row.campaign_status),
        playbook_id=row.playbook_id,
        phone=row.phone,
        status=CallStatus(row.status),
        attempt_count=row.attempt_count,
        recall=tuple(row.recall),
        anchor_at=row.anchor_at,
        recall_on=row.recall_on,
        calling_window=parse_window(row.calling_window),
        timezone=row.timezone,
        max_callbacks=DEFAULT_MAX_CALLBACKS if row.max_callbacks is None else row.max_callbacks,
        callback_count=row.callback_count,
        next_attempt_at=row.next_attempt_at,
        number=row.number,
        outcome=Outcome(row.outcome) if row.outcome else None,
        ended_at=row.ended_at,
        has_result=row.result_call_id is not None,
        result_applied=bool(row.disposition or row.voicemail_left),
    )


def move_call(
    conn: Connection,
    call_id: uuid.UUID,
    status: CallStatus,
    next_attempt_at: datetime | None,
    callback: bool,
    now: datetime,
) -> None:
    """A call's new state once a late result decided it again."""
    conn.execute(
        update(calls)
        .where(calls.c.id == call_id)
        .values(
            status=status.value,
            next_attempt_at=next_attempt_at,
            callback_count=calls.c.callback_count + int(callback),
            updated_at=now,
        )
    )


def reopen_campaigns(conn: Connection, campaign_ids: Collection[uuid.UUID]) -> None:
    """Completed campaigns that have a call to place again (a late callback) run again."""
    if campaign_ids:
        conn.execute(
            update(campaigns)
            .where(
                campaigns.c.id.in_(list(campaign_ids)),
                campaigns.c.status == CampaignStatus.COMPLETED.value,
            )
            .values(status=CampaignStatus.RUNNING.value, finished_at=None)
        )


@dataclass(frozen=True)
class SkippedCall:
    id: uuid.UUID
    account_id: uuid.UUID
    campaign_id: uuid.UUID


def skip_pending_calls_of(
    conn: Connection, phones: Iterable[tuple[uuid.UUID, str]], reason: str, now: datetime
) -> list[SkippedCall]:
    """The pending calls of these (account, phone) pairs become skipped; returns them."""
    pairs = list(set(phones))
    if not pairs:
        return []
    rows = conn.execute(
        update(calls)
        .where(
            calls.c.status == CallStatus.PENDING.value,
            or_(*(and_(calls.c.account_id == a, calls.c.phone == p) for a, p in pairs)),
        )
        .values(
            status=CallStatus.SKIPPED.value,
            skip_reason=reason,
            next_attempt_at=None,
            updated_at=now,
        )
        .returning(calls.c.id, calls.c.account_id, calls.c.campaign_id)
    )
    return [SkippedCall(row.id, row.account_id, row.campaign_id) for row in rows]


def disposition_counts(conn: Connection, campaign_id: uuid.UUID) -> dict[str, int]:
    """Calls by the disposition of their last answered attempt."""
    last_answered = (
        select(
            call_attempts.c.call_id,
            func.max(call_attempts.c.number).label("number"),
        )
        .join(calls, calls.c.id == call_attempts.c.call_id)
        .where(
            calls.c.campaign_id == campaign_id,
            call_attempts.c.outcome == Outcome.ANSWERED.value,
        )
        .group_by(call_attempts.c.call_id)
        .subquery()
    )
    rows = conn.execute(
        select(attempt_results.c.disposition, func.count())
        .join(
            last_answered,
            and_(
                attempt_results.c.call_id == last_answered.c.call_id,
                attempt_results.c.number == last_answered.c.number,
            ),
        )
        .where(attempt_results.c.disposition.is_not(None))
        .group_by(attempt_results.c.disposition)
    )
    return {disposition: count for disposition, count in rows}


def total_cost(conn: Connection, campaign_id: uuid.UUID) -> Cost | None:
    """Every attempt's cost summed (in the currency of the first; results in one currency)."""
    row = conn.execute(
        select(func.sum(attempt_results.c.cost_amount), func.min(attempt_results.c.cost_currency))
        .join(calls, calls.c.id == attempt_results.c.call_id)  # by the calls' campaign index
        .where(calls.c.campaign_id == campaign_id, attempt_results.c.cost_amount.is_not(None))
    ).first()
    if row is None or row[0] is None:
        return None
    return Cost(round(float(row[0]), 6), row[1] or "USD")
