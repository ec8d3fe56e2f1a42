"""The claim's sort: every due call is skipped, deferred, started or held back, exactly once."""

import uuid
from datetime import UTC, datetime
from typing import NamedTuple

from hypothesis import given
from hypothesis import strategies as st

from outbound.domain.claims import sort_due_calls
from outbound.domain.pacing import AccountLimits, Pacer
from outbound.domain.windows import CallingWindow, is_open, parse_window, zone_of

NOW = datetime(2026, 12, 1, 21, 30, tzinfo=UTC)  # a Tuesday: 22:30 in Madrid, 16:30 in New York
DAYTIME = parse_window({"start": "09:00", "end": "20:00"})
ACCOUNT = uuid.UUID(int=1)


class Due(NamedTuple):
    id: uuid.UUID
    campaign_id: uuid.UUID
    account_id: uuid.UUID
    timezone: str | None
    suppressed: bool
    calling_window: CallingWindow | None = None


def _due(
    campaign: uuid.UUID,
    zone: str | None = "UTC",
    suppressed: bool = False,
    window: CallingWindow | None = None,
) -> Due:
    return Due(uuid.uuid4(), campaign, ACCOUNT, zone, suppressed, window)


def _unlimited() -> Pacer:
    return Pacer(accounts={}, campaign_limits={})


def test_a_suppressed_call_is_skipped_whatever_its_window_and_pacing():
    campaign = uuid.uuid4()
    call = _due(campaign, "Europe/Madrid", suppressed=True, window=DAYTIME)
    sort = sort_due_calls([call], _unlimited(), NOW)
    assert sort.skipped == [call] and not sort.deferred and not sort.starting and not sort.paced


def test_a_call_outside_its_window_is_deferred_to_the_next_opening_in_its_zone():
    campaign = uuid.uuid4()
    madrid = _due(campaign, "Europe/Madrid", window=DAYTIME)
    new_york = _due(campaign, "America/New_York", window=DAYTIME)
    sort = sort_due_calls([madrid, new_york], _unlimited(), NOW)
    assert sort.deferred == [(madrid.id, datetime(2026, 12, 2, 8, tzinfo=UTC))]
    assert sort.starting == [new_york]


def test_calls_beyond_the_pacing_budget_are_held_back_in_due_order():
    campaign = uuid.uuid4()
    pacer = Pacer(accounts={ACCOUNT: AccountLimits(2, 0)}, campaign_limits={})
    due = [_due(campaign) for _ in range(5)]
    sort = sort_due_calls(due, pacer, NOW)
    assert sort.starting == due[:2] and sort.held == due[2:] and sort.paced


def test_a_deferred_or_skipped_call_takes_no_pacing_budget():
    open_campaign, closed_campaign = uuid.uuid4(), uuid.uuid4()
    pacer = Pacer(accounts={}, campaign_limits={open_campaign: 1, closed_campaign: 1})
    skipped = _due(open_campaign, suppressed=True)
    deferred = _due(closed_campaign, "Europe/Madrid", window=DAYTIME)
    started = _due(open_campaign)
    sort = sort_due_calls([skipped, deferred, started], pacer, NOW)
    assert sort.starting == [started] and not sort.paced


campaigns = [uuid.UUID(int=n) for n in range(10, 14)]
zones = st.sampled_from(["UTC", "Europe/Madrid", "America/New_York", "Asia/Tokyo", None])
dues = st.lists(
    st.builds(
        Due,
        st.uuids(),
        st.sampled_from(campaigns),
        st.sampled_from([uuid.UUID(int=1), uuid.UUID(int=2)]),
        zones,
        st.booleans(),
    ),
    max_size=40,
    unique_by=lambda call: call.id,
)
window_choices = st.sampled_from(
    [None, DAYTIME, parse_window({"start": "00:00", "end": "24:00", "days": ["sat", "sun"]})]
)


@given(
    dues,
    st.fixed_dictionaries({campaign: window_choices for campaign in campaigns}),
    st.integers(0, 5),
    st.integers(0, 5),
    st.floats(min_value=0, max_value=10),
    st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
)
def test_every_due_call_lands_in_exactly_one_bucket(
    due: list[Due],
    windows: dict[uuid.UUID, CallingWindow | None],
    max_concurrent: int,
    campaign_limit: int,
    per_second: float,
    now: datetime,
):
    limits = AccountLimits(max_concurrent, per_second)
    pacer = Pacer(
        accounts={uuid.UUID(int=1): limits},
        campaign_limits={campaigns[0]: campaign_limit or None},
    )
    due = [call._replace(calling_window=windows[call.campaign_id]) for call in due]
    sort = sort_due_calls(due, pacer, now)

    buckets = (
        [call.id for call in sort.skipped],
        [call_id for call_id, _ in sort.deferred],
        [call.id for call in sort.starting],
        [call.id for call in sort.held],
    )
    landed = [call_id for bucket in buckets for call_id in bucket]
    assert sorted(landed) == sorted(call.id for call in due)
    order = {call.id: index for index, call in enumerate(due)}
    for bucket in buckets:
        assert [order[call_id] for call_id in bucket] == sorted(order[c] for c in bucket)

    assert {call.id for call in sort.skipped} == {call.id for call in due if call.suppressed}
    by_id = {call.id: call for call in due}
    for call_id, due_at in sort.deferred:
        call = by_id[call_id]
        zone = zone_of(call.timezone)
        assert not is_open(windows[call.campaign_id], zone, now)
        assert due_at > now and is_open(windows[call.campaign_id], zone, due_at)
    for call in sort.starting + sort.held:
        assert is_open(windows[call.campaign_id], zone_of(call.timezone), now)
    assert sort.paced == bool(sort.held)

    limited = [call for call in sort.starting if call.account_id == uuid.UUID(int=1)]
    if max_concurrent:
        assert len(limited) <= max_concurrent
    if per_second:
        assert len(limited) <= limits.per_window
    if campaign_limit:
        assert len([c for c in sort.starting if c.campaign_id == campaigns[0]]) <= campaign_limit
    for call in sort.held:  # held back only for want of room in a budget
        assert not pacer.can_start(call.account_id, call.campaign_id)
