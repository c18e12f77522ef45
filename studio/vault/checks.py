"""`manage.py check --deploy`: the vault's keys are usable before the first credential is.

No keys at all is not an error: a Studio on the offline engine needs no provider credential
(the vault says how to add keys when one is first stored)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register
from django.core.exceptions import ImproperlyConfigured

from studio.vault import crypto


def keys_problem() -> str | None:
    """What is wrong with STUDIO_VAULT_KEYS (None when every entry is a usable key)."""
    if not any(k.strip() for k in settings.STUDIO_VAULT_KEYS):
        return None
    try:
        crypto.vault_keys()
    except ImproperlyConfigured as exc:
        return str(exc)
    return None


@register(Tags.security, deploy=True)
def vault_keys_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    problem = keys_problem()
    if problem:
        return [Error(problem, id="studio.E001")]
    return []
