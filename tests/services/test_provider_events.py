"""Provider events find their attempt among the reporting connection's account's calls: two
accounts' platforms may hand out the same call ids."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from outbound.api.bodies import unchecked
from outbound.clock import utcnow
from outbound.domain.records import Account
from outbound.domain.statuses import Outcome
from outbound.providers.callbacks import ProviderEvent
from outbound.services import accounts, campaigns, dispatch, provider_events
from outbound.services.campaigns import NewCampaign
from outbound.store.database import Database
from tests.factories import make_account, phone

SHARED_ID = "rt-1"  # what both accounts' runtimes called their call


def _placed_call(database: Database, name: str) -> tuple[Account, uuid.UUID]:
    """An account with one call, claimed and placed as ``SHARED_ID``: the account, the call."""
    tenant = make_account(database, name=name)
    account = accounts.authenticate(database, tenant.token)
    assert account is not None
    campaigns.create_campaign(
        database, account, NewCampaign(tenant.playbook_id, unchecked([{"phone": phone(3)}]))
    )
    claimed = []
    while not claimed:  # the other account's claim may have taken it first: our own call
        found = dispatch.claim(database, name, 50, utcnow, timedelta(minutes=5)).claimed
        claimed = [item for item in found if item.account_id == tenant.id]
        for item in found:
            dispatch.record_placed(database, [(item.call_id, item.attempt_number, SHARED_ID)])
    return account, claimed[0].call_id


def _status(database: Database, account: Account, call_id: uuid.UUID) -> str:
    return campaigns.get_call(database, account, call_id).status.value


def test_the_same_call_id_of_two_accounts_closes_each_ones_own_attempt(database: Database):
    first_account, first_call = _placed_call(database, "First")
    second_account, second_call = _placed_call(database, "Second")
    ended = ProviderEvent("webhook", SHARED_ID, "ended", outcome=Outcome.ANSWERED)
    now = datetime.now(UTC)

    assert provider_events.record_event(database, ended, now, account_id=second_account.id)
    assert _status(database, second_account, second_call) == "completed"
    assert _status(database, first_account, first_call) == "in_progress"
    assert provider_events.record_event(database, ended, now, account_id=first_account.id)
    assert _status(database, first_account, first_call) == "completed"
    # The same event again is recorded once, for each account.
    assert not provider_events.record_event(database, ended, now, account_id=first_account.id)


def test_an_event_naming_only_another_accounts_call_is_not_found_at_once(database: Database):
    _placed_call(database, "Owner")
    stranger = make_account(database, name="Stranger")
    ended = ProviderEvent("webhook", SHARED_ID, "ended", outcome=Outcome.ANSWERED)
    with pytest.raises(provider_events.ForeignProviderCall):
        provider_events.record_when_known(database, ended, account_id=stranger.id)
