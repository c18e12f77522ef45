"""Operating commands work right after `make run`: manage.py reads the settings it wrote."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from studio.env import load_env_file

ROOT = Path(__file__).resolve().parents[1]


def _command_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("STUDIO_", "DJANGO_", "DATABASE_URL", "REDIS_URL"))
    }
    return {**env, "STUDIO_VAR_DIR": str(tmp_path), **extra}


def test_make_run_writes_the_development_settings_to_env_local():
    dry_run = subprocess.run(
        ["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "STUDIO_DEBUG=1" in dry_run and "> .env.local" in dry_run
    assert ".env.local" in (ROOT / ".gitignore").read_text().splitlines()


def test_a_command_without_the_env_file_explains_what_is_missing(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=_command_env(tmp_path, STUDIO_ENV_FILE=str(tmp_path / "absent")),
    )
    assert result.returncode != 0 and "STUDIO_SECRET_KEY is required" in result.stderr


def test_a_command_reads_the_settings_make_run_wrote(tmp_path):
    env_file = tmp_path / ".env.local"
    env_file.write_text("# Written by `make run`\nSTUDIO_DEBUG=1\n")
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=_command_env(tmp_path, STUDIO_ENV_FILE=str(env_file)),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "no issues" in result.stdout


def test_the_environment_wins_over_the_file_and_quotes_are_stripped(tmp_path, monkeypatch):
    env_file = tmp_path / ".env.local"
    env_file.write_text("export STUDIO_T_A='one two'\nSTUDIO_T_B=from-file\n\n# note\n")
    monkeypatch.setenv("STUDIO_T_B", "from-env")
    monkeypatch.delenv("STUDIO_T_A", raising=False)
    assert load_env_file(env_file) == ["STUDIO_T_A"]
    assert os.environ["STUDIO_T_A"] == "one two" and os.environ["STUDIO_T_B"] == "from-env"
    monkeypatch.delenv("STUDIO_T_A")


def test_a_malformed_line_names_the_file_and_line(tmp_path):
    env_file = tmp_path / ".env.local"
    env_file.write_text("STUDIO_DEBUG=1\nnot a setting\n")
    with pytest.raises(ImproperlyConfigured, match=r"line 2: expected NAME=value"):
        load_env_file(env_file)
