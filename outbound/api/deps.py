"""Dependencies, named once."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from outbound.domain.records import Account
from outbound.services import accounts
from outbound.store.database import Database


class Unauthorized(Exception):
    """Missing or invalid token."""


bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer TOKEN`")


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


DatabaseDep = Annotated[Database, Depends(get_database)]


def current_account(
    database: DatabaseDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Account:
    if credentials is None or not credentials.credentials:
        raise Unauthorized("missing bearer token")
    account = accounts.authenticate(database, credentials.credentials)
    if account is None:
        raise Unauthorized("invalid or revoked token")
    return account


CurrentAccount = Annotated[Account, Depends(current_account)]
