"""Encryption at rest for upstream secrets: AES-256-GCM under keys from `STUDIO_VAULT_KEYS`.

`STUDIO_VAULT_KEYS` is a comma-separated list of urlsafe-base64 32-byte keys, newest first
(`Fernet.generate_key()` makes one). It is not `SECRET_KEY`: rotating Django's secret key
must not lose the vault, and a leaked secret key alone must not open it. Debug and test runs
without the variable use a key derived from `SECRET_KEY` (see `studio/settings.py`);
production without keys raises `ImproperlyConfigured` on the first use of the vault.

A stored secret looks like ``v1:<kid>:<base64(nonce || ciphertext+tag)>``:

- ``v1`` names this format so a later one can be read alongside it;
- ``kid`` is a short hash of the key that encrypted it, so decryption picks the right key
  and rotation can tell which rows still need re-encrypting;
- the associated data is ``b"studio-vault:v1:" + <row uuid>``: a ciphertext copied into
  another row fails authentication there instead of lending that row someone else's key.

Every failure raises `VaultError`, whose message never contains the secret or the key.
Nothing ever falls back to using the stored text as if it were the secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model

VERSION = "v1"
NONCE_BYTES = 12
_AAD_PREFIX = b"studio-vault:v1:"
FIX = (
    "Set STUDIO_VAULT_KEYS to one or more comma-separated keys, newest first; make one with: "
    "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
)


class VaultError(Exception):
    """A secret could not be encrypted or decrypted. Never carries the secret itself."""


@dataclass(frozen=True)
class VaultKey:
    kid: str
    aead: AESGCM

    def __repr__(self) -> str:  # never print key material
        return f"VaultKey(kid={self.kid!r})"


def generate_key() -> str:
    """A new key in the format `STUDIO_VAULT_KEYS` expects."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def key_id(raw_key: bytes) -> str:
    """Eight hex characters identifying a key; a hash, so it reveals nothing useful."""
    return hashlib.sha256(b"studio-vault-kid:" + raw_key).hexdigest()[:8]


@lru_cache(maxsize=8)
def _parse_keys(encoded: tuple[str, ...]) -> tuple[VaultKey, ...]:
    keys = []
    for position, text in enumerate(encoded, start=1):
        try:
            raw = base64.urlsafe_b64decode(text.strip().encode("ascii"))
        except (binascii.Error, ValueError, UnicodeEncodeError):
            raw = b""
        if len(raw) != 32:
            raise ImproperlyConfigured(
                f"STUDIO_VAULT_KEYS entry {position} is not a urlsafe-base64 32-byte key. {FIX}"
            )
        keys.append(VaultKey(kid=key_id(raw), aead=AESGCM(raw)))
    if len({k.kid for k in keys}) != len(keys):
        raise ImproperlyConfigured("STUDIO_VAULT_KEYS lists the same key twice")
    return tuple(keys)


def vault_keys() -> tuple[VaultKey, ...]:
    """The configured keys, newest first; ImproperlyConfigured if there are none."""
    encoded = tuple(k for k in settings.STUDIO_VAULT_KEYS if k.strip())
    if not encoded:
        raise ImproperlyConfigured(f"The credential vault has no keys. {FIX}")
    return _parse_keys(encoded)


def current_key_id() -> str:
    return vault_keys()[0].kid


def associated_data(row: UUID | str) -> bytes:
    return _AAD_PREFIX + str(row).encode()


def encrypt(plaintext: str, *, row: UUID | str) -> str:
    """`plaintext` encrypted under the newest key and bound to the row `row`."""
    key = vault_keys()[0]
    nonce = os.urandom(NONCE_BYTES)
    sealed = key.aead.encrypt(nonce, plaintext.encode("utf-8"), associated_data(row))
    return f"{VERSION}:{key.kid}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"


def token_key_id(token: str) -> str:
    """The key id a stored token names (VaultError if it is not a vault token)."""
    return _split(token)[1]


def _split(token: str) -> tuple[str, str, bytes]:
    parts = (token or "").split(":")
    if len(parts) != 3 or parts[0] != VERSION:
        raise VaultError(
            "Stored secret is not in a format this vault reads (expected 'v1:<kid>:<data>')"
        )
    version, kid, data = parts
    try:
        blob = base64.urlsafe_b64decode(data.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise VaultError("Stored secret is corrupt (bad base64)") from None
    if len(blob) <= NONCE_BYTES + 16:
        raise VaultError("Stored secret is corrupt (too short)")
    return version, kid, blob


def decrypt(token: str, *, row: UUID | str) -> str:
    """The plaintext of `token`, which must have been encrypted for `row`; else VaultError."""
    _, kid, blob = _split(token)
    key = next((k for k in vault_keys() if k.kid == kid), None)
    if key is None:
        raise VaultError(
            f"Stored secret was encrypted with key {kid}, which is not in STUDIO_VAULT_KEYS "
            "(was it removed before `manage.py rotate_vault_keys` ran?)"
        )
    try:
        plain = key.aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], associated_data(row))
    except InvalidTag:
        raise VaultError(
            f"Stored secret failed authentication under key {kid}: it was altered or "
            "belongs to another row"
        ) from None
    return plain.decode("utf-8")


def reencrypt(token: str, *, row: UUID | str) -> str | None:
    """`token` re-encrypted under the newest key, or None when it already is."""
    if token_key_id(token) == current_key_id():
        return None
    return encrypt(decrypt(token, row=row), row=row)


# Columns of other apps that hold vault tokens bound to their row's `uuid` (webhook secrets,
# Meta access tokens): `rotate_vault_keys` re-encrypts them beside the provider credentials.
_sealed_columns: list[tuple[type[Model], str]] = []


def register_sealed_column(model: type[Model], field: str) -> None:
    if (model, field) not in _sealed_columns:
        _sealed_columns.append((model, field))


def sealed_columns() -> list[tuple[type[Model], str]]:
    return list(_sealed_columns)
