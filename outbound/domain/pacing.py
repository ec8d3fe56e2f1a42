"""Pacing: how many more attempts each account and campaign may start right now.

Limits: an account's concurrent calls and attempts started in any one-second window, and a
campaign's concurrent calls. A limit of 0 (or None for a campaign) means no limit.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from uuid import UUID

RATE_WINDOW_SECONDS = 1.0  # attempts are counted over this sliding window


@dataclass(frozen=True)
class AccountLimits:
    max_concurrent_calls: int
    calls_per_second: float

    @property
    def is_limited(self) -> bool:
        return bool(self.max_concurrent_calls or self.calls_per_second)

    @property
    def per_window(self) -> int:
        """Attempts allowed to start in one rate window (at least one when limited)."""
        return max(1, int(self.calls_per_second * RATE_WINDOW_SECONDS))


@dataclass
class Pacer:
    """Budgets taken one attempt at a time, in due order."""

    accounts: Mapping[UUID, AccountLimits]
    campaign_limits: Mapping[UUID, int | None]
    in_progress_by_account: dict[UUID, int] = field(default_factory=dict)
    in_progress_by_campaign: dict[UUID, int] = field(default_factory=dict)
    started_by_account: dict[UUID, int] = field(default_factory=dict)

    def can_start(self, account_id: UUID, campaign_id: UUID) -> bool:
        limits = self.accounts.get(account_id)
        if limits is not None:
            if (
                limits.max_concurrent_calls
                and self.in_progress_by_account.get(account_id, 0) >= limits.max_concurrent_calls
            ):
                return False
            if (
                limits.calls_per_second
                and self.started_by_account.get(account_id, 0) >= limits.per_window
            ):
                return False
        campaign_limit = self.campaign_limits.get(campaign_id)
        return not (
            campaign_limit and self.in_progress_by_campaign.get(campaign_id, 0) >= campaign_limit
        )

    def take(self, account_id: UUID, campaign_id: UUID) -> bool:
        """Count one attempt against the budgets if they allow it."""
        if not self.can_start(account_id, campaign_id):
            return False
        for counts, key in (
            (self.in_progress_by_account, account_id),
            (self.in_progress_by_campaign, campaign_id),
            (self.started_by_account, account_id),
        ):
            counts[key] = counts.get(key, 0) + 1
        return True

    def saturated(self) -> tuple[set[UUID], set[UUID]]:
        """Accounts and campaigns that cannot start any attempt now."""
        accounts = {
            account_id
            for account_id in self.accounts
            if not self.can_start(account_id, _NO_CAMPAIGN)
        }
        campaigns = {
            campaign_id
            for campaign_id, limit in self.campaign_limits.items()
            if limit and self.in_progress_by_campaign.get(campaign_id, 0) >= limit
        }
        return accounts, campaigns


_NO_CAMPAIGN = UUID(int=0)
