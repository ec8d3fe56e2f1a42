"""Dependencies, named once."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from outbound.domain.records import Account
from outbound.services import accounts


class Unauthorized(Exception):
    """Missing or invalid token."""


bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer TOKEN`")


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


EngineDep = Annotated[Engine, Depends(get_engine)]


def current_account(
    engine: EngineDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Account:
    if credentials is None or not credentials.credentials:
        raise Unauthorized("missing bearer token")
    account = accounts.authenticate(engine, credentials.credentials)
    if account is None:
        raise Unauthorized("invalid or revoked token")
    return account


CurrentAccount = Annotated[Account, Depends(current_account)]
