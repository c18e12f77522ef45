"""No module reaches into another's private names (the one import rule `lint-imports` cannot
check; its contracts are in pyproject.toml).

A leading underscore says "only this module uses it": `from x import _name`, `x._name` on an
imported project module, or importing a private module (`a._b`) from outside its package
would tie one module to another's internals, which then cannot change without breaking it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("studio", "generations", "catalog")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_module(name: str) -> bool:
    base = ROOT.joinpath(*name.split("."))
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def is_project(name: str) -> bool:
    return name.split(".")[0] in PACKAGES


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def absolute(importer: str, is_package: bool, module: str | None, level: int) -> str:
    """The absolute module name of `from <level dots><module> import …` in `importer`."""
    if not level:
        return module or ""
    package = importer.split(".") if is_package else importer.split(".")[:-1]
    base = package[: len(package) - (level - 1)]
    return ".".join([*base, *([module] if module else [])])


def private_module_outside_its_package(importer: str, target: str) -> str | None:
    """The private component of `target` (`a._b.c` -> `_b`) when `importer` is not inside
    the package that owns it."""
    parts = target.split(".")
    for index, part in enumerate(parts):
        if is_private(part):
            owner = ".".join(parts[:index])
            if importer != owner and not importer.startswith(owner + "."):
                return part
    return None


def dotted(node: ast.expr) -> list[str] | None:
    """`a.b.c` as ["a", "b", "c"]; None for anything that is not a plain dotted name."""
    names: list[str] = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    names.append(node.id)
    return names[::-1]


def violations(path: Path, importer: str | None = None) -> list[str]:
    """Every reach into another module's private names in the file at `path` (the module
    `importer`, by default named after its place in the project)."""
    importer = importer or module_name(path)
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[str] = []
    modules: dict[str, str] = {}  # local name -> the project module it is bound to

    def where(node: ast.AST) -> str:
        return f"{importer}:{getattr(node, 'lineno', 0)}"

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if not is_project(alias.name):
                    continue
                part = private_module_outside_its_package(importer, alias.name)
                if part:
                    found.append(f"{where(node)} imports private module {alias.name}")
                if alias.asname:
                    modules[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    modules[top] = top
        elif isinstance(node, ast.ImportFrom):
            source = absolute(importer, is_package, node.module, node.level)
            if not is_project(source):
                continue
            part = private_module_outside_its_package(importer, source)
            if part:
                found.append(f"{where(node)} imports from private module {source}")
            for alias in node.names:
                if is_private(alias.name):
                    found.append(f"{where(node)} imports {source}.{alias.name}")
                elif is_module(f"{source}.{alias.name}"):
                    modules[alias.asname or alias.name] = f"{source}.{alias.name}"

    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or not is_private(node.attr):
            continue
        names = dotted(node.value)
        if not names or names[0] not in modules:
            continue
        target = ".".join([modules[names[0]], *names[1:]])
        if is_module(target) and target != importer:
            found.append(f"{where(node)} uses {target}.{node.attr}")
    return found


def project_files() -> list[Path]:
    files = []
    for package in PACKAGES:
        files.extend(p for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts)
    return sorted(files)


def test_the_checker_sees_each_kind_of_reach_into_private_names(tmp_path):
    module = tmp_path / "probe.py"
    module.write_text(
        "from generations import engine\n"
        "from generations.engine import _private\n"
        "import studio.accounts.management.teams as teams\n"
        "engine._hidden()\n"
        "teams._helper\n"
        "from studio.accounts.management.commands._teams import find_team\n"
    )
    found = violations(module, "catalog.probe")
    assert any("imports generations.engine._private" in v for v in found)
    assert any("uses generations.engine._hidden" in v for v in found)
    assert any("uses studio.accounts.management.teams._helper" in v for v in found)
    assert any("from private module studio.accounts.management.commands._teams" in v for v in found)
    assert len(found) == 4


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_uses_another_modules_private_names(package):
    found = [v for path in project_files() if path.is_relative_to(ROOT / package)
             for v in violations(path)]  # fmt: skip
    assert found == [], "\n".join(found)
