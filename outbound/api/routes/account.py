"""The caller's own account: its timezone, pacing limits and default calling window."""

from fastapi import APIRouter

from outbound.api.deps import CurrentAccount, DatabaseDep
from outbound.api.errors import RESPONSES
from outbound.schemas.accounts import AccountOut, AccountPatch, account_view
from outbound.services import accounts

router = APIRouter(tags=["account"])


@router.get("/account", response_model=AccountOut, responses=RESPONSES(401))
def get_account(account: CurrentAccount) -> AccountOut:
    """The account of the token."""
    return account_view(account)


@router.patch("/account", response_model=AccountOut, responses=RESPONSES(400, 401))
def update_account(
    body: AccountPatch, account: CurrentAccount, database: DatabaseDep
) -> AccountOut:
    """Change the settings given, with the checks of `outbound account update`;
    `"calling_window": null` clears the window."""
    given = body.model_fields_set
    updated = accounts.update_account(
        database,
        account.id,
        timezone=body.timezone,
        max_concurrent_calls=body.max_concurrent_calls,
        calls_per_second=body.calls_per_second,
        calling_window=body.calling_window if "calling_window" in given else accounts.UNCHANGED,
    )
    return account_view(updated)
