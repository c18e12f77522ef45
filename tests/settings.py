"""The test suite's settings: Studio's own, plus what a test run needs and production must not.

pytest-django loads this module (`DJANGO_SETTINGS_MODULE` in pyproject.toml) and every process
a test starts (a task cluster, a second web server) is given it explicitly, so
`studio/settings.py` never has to guess whether it runs under a test.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

# studio.settings reads these while it is imported (and refuses to start without secrets when
# debug is off), so they go into the environment first. Processes a test starts inherit
# them: an API key or a vault secret made in the test process works in theirs.
os.environ.setdefault("STUDIO_SECRET_KEY", "studio-insecure-test-key-0123456789abcdefghijklmnop")
os.environ.setdefault(
    "STUDIO_API_KEY_PEPPER", "studio-insecure-test-pepper-0123456789abcdefghijklmnop"
)
# Tasks run inline, in the test, unless a test starts a real cluster (which sets 0).
os.environ.setdefault("STUDIO_TASKS_SYNC", "1")
# The fake upstreams listen on loopback, behind team credentials too.
os.environ.setdefault("STUDIO_ALLOW_PRIVATE_UPSTREAMS", "1")
# Apart from the development media, which a test run must never touch or delete.
_VAR_DIR = Path(os.environ.get("STUDIO_VAR_DIR") or Path(__file__).resolve().parent.parent / "var")
os.environ.setdefault("STUDIO_MEDIA_ROOT", str(_VAR_DIR / "test-media"))

from studio.env import env_list  # noqa: E402
from studio.settings import *  # noqa: E402, F403
from studio.settings import SECRET_KEY, STORAGES  # noqa: E402

STUDIO_VAULT_KEYS = env_list("STUDIO_VAULT_KEYS") or [
    base64.urlsafe_b64encode(
        hashlib.sha256(b"studio-test-vault-key:" + SECRET_KEY.encode()).digest()
    ).decode()
]

# Fast password hashing: hundreds of users are made per run.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Static files straight from the source folders: no collectstatic before a run.
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
