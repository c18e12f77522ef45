"""Re-create the rows data migrations seed (plans, registry, schedules).

Transactional tests flush every table afterwards, data-migration rows included; later
tests that need a plan or the offline models call `ensure_seed_data()` first.
"""

from __future__ import annotations

import importlib

from django.apps import apps

SEED_MIGRATIONS = [
    "studio.accounts.migrations.0002_seed_plans_and_schedules",
    "generations.migrations.0002_seed_registry",
    "generations.migrations.0004_schedule_dispatcher_and_sweeper",
    # Token prices of the chat models (and the upstream chat models, shown only with a credential).
    "generations.migrations.0009_chat",
    # The image edit models (the offline editor; upstream ones shown only with a credential).
    "generations.migrations.0015_image_edit",
    # The offline ad maker (priced per ad image).
    "generations.migrations.0014_ads",
    # Style presets, preset moodboards and global Visual DNAs (idempotent).
    "catalog.migrations.0002_seed_presets_moodboards_and_global_dna",
]


def ensure_seed_data() -> None:
    from studio.accounts.models import Plan

    if Plan.objects.exists():
        return
    for name in SEED_MIGRATIONS:
        importlib.import_module(name).seed(apps, None)
