"""Dependencies, named once."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from outbound.config import Settings
from outbound.domain.records import Account
from outbound.encryption import Cipher
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


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_cipher(request: Request) -> Cipher:
    """The server's cipher of provider credentials, made once from ``OUTBOUND_SECRET_KEY``."""
    cipher: Cipher = request.app.state.cipher
    return cipher


CipherDep = Annotated[Cipher, Depends(get_cipher)]
