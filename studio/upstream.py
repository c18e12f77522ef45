"""What the vault and the provider adapters share: the decrypted credential an adapter takes,
and the connection test the vault runs through whichever app provides adapters.

The vault stores and decrypts credentials but knows no provider; generations registers the
check (`register_credential_check`) from its AppConfig.ready(), so neither imports the other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


class CredentialCheckFailed(Exception):
    """A credential test failed; the message is safe to show (it never contains the secret)."""


@dataclass(frozen=True)
class UpstreamCredential:
    """A decrypted credential, built in the worker right before a call; never logged."""

    id: int
    provider: str
    base_url: str
    secret: str = field(repr=False)


# One cheap authenticated upstream call; raises CredentialCheckFailed if the upstream refuses
# the credential, LookupError if no adapter is installed for its provider.
CredentialCheck = Callable[[UpstreamCredential], None]

_check: CredentialCheck | None = None


def register_credential_check(check: CredentialCheck) -> None:
    global _check
    _check = check


def check_credential(credential: UpstreamCredential) -> None:
    if _check is None:
        raise LookupError(f"No adapter is installed for {credential.provider}")
    _check(credential)
