"""Settings come from the environment and fail loudly on bad values; deploy checks pass."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from studio.env import env_bool, env_float, env_int, env_list, env_str

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("true", True),
        ("Yes", True),
        (" on ", True),
        ("0", False),
        ("off", False),
        ("", False),
    ],
)
def test_env_bool_reads_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("STUDIO_X", raw)
    assert env_bool("STUDIO_X") is expected


def test_env_bool_rejects_anything_else_and_names_the_variable(monkeypatch):
    monkeypatch.setenv("STUDIO_X", "maybe")
    with pytest.raises(ImproperlyConfigured, match="STUDIO_X must be a boolean"):
        env_bool("STUDIO_X")


def test_unset_variables_take_their_defaults(monkeypatch):
    monkeypatch.delenv("STUDIO_X", raising=False)
    assert env_bool("STUDIO_X", True) is True
    assert env_int("STUDIO_X", 7) == 7
    assert env_float("STUDIO_X", 0.5) == 0.5
    assert env_str("STUDIO_X", "d") == "d"
    assert env_list("STUDIO_X", ["a"]) == ["a"]


def test_env_int_rejects_text_and_values_below_the_minimum(monkeypatch):
    monkeypatch.setenv("STUDIO_X", "ten")
    with pytest.raises(ImproperlyConfigured, match="STUDIO_X must be an integer"):
        env_int("STUDIO_X", 1)
    monkeypatch.setenv("STUDIO_X", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int("STUDIO_X", 1, minimum=1)
    monkeypatch.setenv("STUDIO_X", "12")
    assert env_int("STUDIO_X", 1, minimum=1) == 12


def test_env_float_rejects_text_and_values_below_the_minimum(monkeypatch):
    monkeypatch.setenv("STUDIO_X", "fast")
    with pytest.raises(ImproperlyConfigured, match="must be a number"):
        env_float("STUDIO_X", 1.0)
    monkeypatch.setenv("STUDIO_X", "0.01")
    with pytest.raises(ImproperlyConfigured, match=r"at least 0\.05"):
        env_float("STUDIO_X", 1.0, minimum=0.05)


def test_env_list_splits_on_commas_and_drops_blanks(monkeypatch):
    monkeypatch.setenv("STUDIO_X", " a.example , b.example,,")
    assert env_list("STUDIO_X") == ["a.example", "b.example"]


def _manage(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("STUDIO_", "DATABASE_"))}
    clean.pop("REDIS_URL", None)
    clean.pop("PYTEST_XDIST_WORKER", None)
    clean.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests in this process
    # Production settings, as an operator's `manage.py` loads them, not the suite's.
    clean.update(
        {"DJANGO_SETTINGS_MODULE": "studio.settings", "STUDIO_VAR_DIR": str(tmp_path), **env}
    )
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "STUDIO_DEBUG": "0",
    "STUDIO_SECRET_KEY": "k3y-" + "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ" * 2,
    "STUDIO_BASE_URL": "https://studio.example.com",
    "STUDIO_ALLOWED_HOSTS": "studio.example.com",
    # Other secrets production requires (the vault's); harmless where not read.
    "STUDIO_API_KEY_PEPPER": "pepper-" + "0123456789abcdefghijklmnopqrstuvwxyz",
}


@pytest.mark.slow
def test_check_deploy_is_clean_with_debug_off_a_secret_key_and_an_https_base_url(tmp_path):
    result = _manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.slow
def test_debug_off_without_a_secret_key_refuses_to_start(tmp_path):
    env = {**PRODUCTION, "STUDIO_SECRET_KEY": ""}
    result = _manage(tmp_path, "check", **env)
    assert result.returncode != 0
    assert "STUDIO_SECRET_KEY is required" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("STUDIO_DEBUG", "sometimes", "STUDIO_DEBUG must be a boolean"),
        ("STUDIO_CLUSTER_WORKERS", "many", "STUDIO_CLUSTER_WORKERS must be an integer"),
        ("DATABASE_URL", "nonsense://x", "DATABASE_URL is not a usable database URL"),
        ("STUDIO_LOG_FORMAT", "xml", "STUDIO_LOG_FORMAT must be plain or json"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(tmp_path, name, value, message):
    result = _manage(tmp_path, "check", **{**PRODUCTION, name: value})
    assert result.returncode != 0
    assert message in result.stderr


@pytest.mark.slow
def test_production_settings_keep_their_safe_defaults_when_pytest_is_imported(tmp_path):
    code = (
        "import pytest; from django.conf import settings; "
        "print(settings.STUDIO_ALLOW_PRIVATE_UPSTREAMS, settings.Q_CLUSTER.get('sync', False), "
        "settings.PASSWORD_HASHERS[0], settings.MEDIA_ROOT.name)"
    )
    result = _manage(tmp_path, "shell", "-c", code, **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == [
        "False",
        "False",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "media",
    ]


def test_every_setting_the_code_reads_is_declared_in_studio_settings():
    import re

    from django.conf import global_settings

    import studio.settings as declared

    reads: dict[str, str] = {}
    for folder in ("studio", "generations", "catalog"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            source = path.read_text()
            assert "getattr(settings" not in source, f"{path}: declare the setting instead"
            for name in re.findall(r"\bsettings\.([A-Z][A-Z0-9_]*)", source):
                reads.setdefault(name, str(path.relative_to(ROOT)))
    undeclared = {
        name: where
        for name, where in reads.items()
        if not hasattr(declared, name) and not hasattr(global_settings, name)
    }
    assert not undeclared
    # Production settings never guess whether a test imported them.
    assert "sys.modules" not in (ROOT / "studio" / "settings.py").read_text()
