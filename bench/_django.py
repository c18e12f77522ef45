"""Set up Django on a throwaway SQLite database (or $BENCH_DATABASE_URL) for a benchmark."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup() -> Path:
    sys.path.insert(0, str(ROOT))
    workdir = Path(tempfile.mkdtemp(prefix="studio-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    os.environ.setdefault("STUDIO_DEBUG", "1")
    os.environ["STUDIO_TASKS_SYNC"] = "1"
    os.environ.setdefault("STUDIO_LOG_LEVEL", "WARNING")
    os.environ["STUDIO_MEDIA_ROOT"] = str(workdir / "media")
    os.environ["DATABASE_URL"] = os.environ.get(
        "BENCH_DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}"
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    return workdir


def team_with_credits(name: str = "Bench", amount: int = 10_000_000):
    from studio.accounts import credits, services
    from studio.accounts.models import Bucket, User

    user = User.objects.create_user(f"{name.lower()}@bench.local", "bench-password-123")
    team = services.create_team(name, user)
    credits.grant(team, amount, bucket=Bucket.PACK)
    team.refresh_from_db()
    return team, user
