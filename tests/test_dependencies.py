"""The dependency lists say what the code needs, and the lock files hold exactly those pins."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRST_PARTY = {"studio", "generations", "catalog", "tests"}
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lines: list[str]) -> dict[str, str]:
    found = {}
    for line in lines:
        match = _PIN.match(line.strip())
        if match:
            found[canonical(match[1])] = match[2]
    return found


def declared() -> tuple[dict[str, str], dict[str, str]]:
    """Runtime pins (with the optional runtime extra, the offline language model) and dev pins."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    runtime = {**pins(project["dependencies"]), **pins(extras["local-llm"])}
    return runtime, pins(extras["dev"])


def test_every_dependency_is_pinned_exactly():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"] + [
        *project["optional-dependencies"]["dev"],
        *project["optional-dependencies"]["local-llm"],
    ]:
        assert _PIN.match(requirement), f"{requirement} is not pinned with =="


def test_the_lock_files_hold_the_pins_of_pyproject_toml():
    _, dev = declared()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base, llm = pins(project["dependencies"]), pins(project["optional-dependencies"]["local-llm"])
    runtime_lock = pins((ROOT / "requirements.lock").read_text().splitlines())
    dev_lock = pins((ROOT / "requirements-dev.lock").read_text().splitlines())
    llm_lock = pins((ROOT / "requirements-llm.lock").read_text().splitlines())
    stale = "re-run `make lock` after changing pyproject.toml"
    for name, version in base.items():
        assert runtime_lock.get(name) == version, f"{name}=={version}: {stale}"
    for name, version in {**base, **dev}.items():
        assert dev_lock.get(name) == version, f"{name}=={version}: {stale}"
    for name, version in {**base, **llm}.items():
        assert llm_lock.get(name) == version, f"{name}=={version}: {stale}"
    # The extra installs over the runtime set without moving any of its pins.
    for name, version in runtime_lock.items():
        assert llm_lock.get(name) == version, f"{name}: requirements-llm.lock disagrees; {stale}"
    for lock in (
        "requirements-dev.lock",
        "requirements-llm.lock",
        "requirements-llm-weights.lock",
        "requirements-models.lock",
    ):
        assert "--hash=sha256:" in (ROOT / lock).read_text(), lock


def imported_modules() -> dict[str, list[str]]:
    """Third-party top-level modules imported by the apps and the tests, with their importers."""
    local_scripts = {path.stem for path in (ROOT / "bench").glob("*.py")}
    found: dict[str, list[str]] = {}
    for folder in sorted(FIRST_PARTY):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top in sys.stdlib_module_names or top in FIRST_PARTY | local_scripts:
                        continue
                    found.setdefault(top, []).append(str(path.relative_to(ROOT)))
    return found


def test_every_module_the_code_and_tests_import_is_declared():
    runtime, dev = declared()
    distributions = packages_distributions()
    undeclared = []
    for module, importers in imported_modules().items():
        names = {canonical(name) for name in distributions.get(module, [module])}
        if not names & (set(runtime) | set(dev)):
            undeclared.append(f"{module} (imported by {importers[0]})")
    assert not undeclared, f"declare in pyproject.toml: {undeclared}"


def test_runtime_code_needs_no_test_only_dependency():
    runtime, _ = declared()
    distributions = packages_distributions()
    for module, importers in imported_modules().items():
        in_code = [path for path in importers if not path.startswith("tests/")]
        names = {canonical(name) for name in distributions.get(module, [module])}
        assert not in_code or names & set(runtime), f"{module} ({in_code[0]}) is test-only"
