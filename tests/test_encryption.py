"""The cipher of provider credentials: any secret gives a Fernet key, always the same one; what
it encrypts only it decrypts; without a secret nothing is encrypted or decrypted."""

import pytest
from cryptography.fernet import Fernet
from hypothesis import given
from hypothesis import strategies as st

from outbound.encryption import Cipher, NoSecretKey, UnreadableCredentials, derive_key

CREDENTIALS = {"api_key": "sk-live-ünïcode-0123", "webhook_secret": "whsec_abc"}


@given(secret=st.text(min_size=1), credentials=st.dictionaries(st.text(), st.text()))
def test_any_secret_round_trips_any_credentials(secret: str, credentials: dict[str, str]):
    assert Cipher(secret).decrypt(Cipher(secret).encrypt(credentials)) == credentials


def test_the_key_is_derived_the_same_way_every_time():
    key = derive_key("correct horse battery staple")
    assert key == derive_key("correct horse battery staple")
    assert key != derive_key("correct horse battery stapler")
    Fernet(key)  # a valid Fernet key
    fernet_key = Fernet.generate_key().decode()
    assert derive_key(fernet_key) != fernet_key.encode(), "a Fernet key is derived from too"


def test_the_ciphertext_shows_nothing_of_the_credentials():
    token = Cipher("k").encrypt(CREDENTIALS)
    assert token.isascii()
    assert not [text for pair in CREDENTIALS.items() for text in pair if text in token]
    assert Cipher("k").encrypt(CREDENTIALS) != token, "each encryption is fresh"


def test_another_secret_or_a_damaged_text_is_unreadable():
    token = Cipher("k").encrypt(CREDENTIALS)
    for cipher, text in [(Cipher("other"), token), (Cipher("k"), token[:-4] + "AAAA")]:
        with pytest.raises(UnreadableCredentials):
            cipher.decrypt(text)
    with pytest.raises(UnreadableCredentials):
        Cipher("k").decrypt("ñot ascii")


@pytest.mark.parametrize("secret", [None, ""])
def test_without_a_secret_nothing_is_encrypted_or_decrypted(secret: str | None):
    cipher = Cipher(secret)
    assert not cipher.configured
    with pytest.raises(NoSecretKey, match="OUTBOUND_SECRET_KEY"):
        cipher.encrypt(CREDENTIALS)
    with pytest.raises(NoSecretKey):
        cipher.decrypt(Cipher("k").encrypt(CREDENTIALS))


def test_the_cipher_never_shows_its_key():
    assert "hunter2" not in repr(Cipher("hunter2")) and "configured=True" in repr(Cipher("x"))
