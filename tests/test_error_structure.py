"""Views and forms tell errors apart by their type and `field`, never by their wording.

A reworded message must not move an error to another field or lose the storage-full link,
so no module of the apps reads an error's text to decide anything: no `"x" in exc.message`,
no `exc.message == "…"`, no `re.search(…, exc.message)`, no `exc.message.startswith(…)`.
Showing a message (passing it on, formatting it into a sentence) is fine.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("studio", "generations", "catalog")
TEXT_TESTS = {"startswith", "endswith", "find", "rfind", "index", "count", "partition"}


def _reads_message(node: ast.AST) -> bool:
    """`node` is or holds `<something>.message`, the text of a Studio error (or of a
    provider `Failure`, whose category already says what kind of failure it is)."""
    return any(isinstance(n, ast.Attribute) and n.attr == "message" for n in ast.walk(node))


def _matches_on_text(node: ast.AST) -> bool:
    if isinstance(node, ast.Compare):
        return _reads_message(node)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        func = node.func
        if isinstance(func.value, ast.Name) and func.value.id == "re":
            return any(_reads_message(arg) for arg in node.args)
        if func.attr in TEXT_TESTS:
            return _reads_message(func.value)
    return False


def text_matches(source: str) -> list[int]:
    return [n.lineno for n in ast.walk(ast.parse(source)) if _matches_on_text(n)]


def test_no_module_of_the_apps_decides_anything_from_an_errors_message():
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            found += [f"{path.relative_to(ROOT)}:{line}" for line in text_matches(path.read_text())]
    assert found == []


def test_the_check_catches_the_ways_text_was_matched_before():
    assert text_matches('ok = isinstance(exc, Forbidden) and "storage" in exc.message.lower()')
    assert text_matches('m = re.search(rf"\\b{name}\\b", exc.message)')
    assert text_matches('done = exc.message.startswith("Missing required field")')
    assert text_matches('same = error.message == "Model not found"')
    assert not text_matches('messages.error(request, exc.message + " — try again.")')
    assert not text_matches("form.add_error(form_field(exc, form.fields), exc.message)")
