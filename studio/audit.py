"""The audit of admin actions: one row per changed value, written with the change itself."""

from __future__ import annotations

from typing import Any

from django.db import models

from studio.models import AdminAudit


def _shown(value: Any) -> str:
    if isinstance(value, models.Model):
        return str(value)
    return "" if value is None else str(value)


def record(
    actor: Any,
    target: models.Model,
    action: str,
    changes: dict[str, tuple[Any, Any]] | None = None,
    *,
    reason: str = "",
) -> list[AdminAudit]:
    """Write who did `action` to `target`; one row per changed field (old, new), or one row
    when nothing field-like changed (an action such as cancel and refund). Call it inside
    the transaction that makes the change."""
    base = {
        "actor": actor if getattr(actor, "pk", None) else None,
        "actor_email": getattr(actor, "email", "") or "",
        "action": action[:60],
        "target_type": target._meta.label_lower,
        "target_id": str(target.pk),
        "target_repr": str(target)[:200],
        "reason": reason[:255],
    }
    rows = [
        AdminAudit(**base, field=name, old_value=_shown(old), new_value=_shown(new))
        for name, (old, new) in (changes or {}).items()
    ] or [AdminAudit(**base)]
    return AdminAudit.objects.bulk_create(rows)


def changed_fields(form: Any) -> dict[str, tuple[Any, Any]]:
    """(old, new) of each field a bound ModelForm changed, for `record`."""
    return {
        name: (form.initial.get(name), form.cleaned_data.get(name))
        for name in form.changed_data
        if name in form.cleaned_data
    }
