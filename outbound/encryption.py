"""Provider credentials at rest: encrypted with Fernet (AES-128-CBC and HMAC-SHA256) under a key
derived from ``OUTBOUND_SECRET_KEY``.

The secret is any string: the Fernet key is derived from it with HKDF-SHA256 (a fixed salt and
context, so the same secret always gives the same key on every host). A Fernet key given as
the secret is a string like any other: it is derived from, not used as is. Changing the secret
makes the credentials stored under the old one unreadable (``UnreadableCredentials``): the
connections must then be created again.

Imports ``cryptography`` and ``outbound.exceptions`` only.
"""

import base64
import json
from collections.abc import Mapping

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from outbound.exceptions import OutboundError

# Fixed, public inputs of the derivation: they make the key outbound's own and this use's own.
_SALT = b"outbound"
_CONTEXT = b"outbound provider connection credentials v1"


class NoSecretKey(OutboundError):
    """The server has no OUTBOUND_SECRET_KEY: provider credentials cannot be stored or read."""


class UnreadableCredentials(OutboundError):
    """Stored credentials do not decrypt with this server's OUTBOUND_SECRET_KEY (was it
    changed?)."""


def derive_key(secret: str) -> bytes:
    """The Fernet key (urlsafe base64 of 32 bytes) of a secret."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_CONTEXT).derive(
        secret.encode()
    )
    return base64.urlsafe_b64encode(raw)


class Cipher:
    """Encrypts and decrypts credentials with one server's secret (``None``: the server has
    none, and both raise ``NoSecretKey``)."""

    def __init__(self, secret: str | None) -> None:
        self._fernet = Fernet(derive_key(secret)) if secret else None

    def __repr__(self) -> str:  # never the key
        return f"Cipher(configured={self.configured})"

    @property
    def configured(self) -> bool:
        return self._fernet is not None

    def encrypt(self, credentials: Mapping[str, str]) -> str:
        """The credentials as a Fernet token (ASCII text), to store."""
        document = json.dumps(dict(credentials), separators=(",", ":"), sort_keys=True)
        return self._key().encrypt(document.encode()).decode("ascii")

    def decrypt(self, token: str) -> dict[str, str]:
        """The credentials ``encrypt`` gave ``token`` for."""
        try:
            document = self._key().decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError) as exc:
            raise UnreadableCredentials() from exc
        credentials: dict[str, str] = json.loads(document)
        return credentials

    def _key(self) -> Fernet:
        if self._fernet is None:
            raise NoSecretKey()
        return self._fernet
