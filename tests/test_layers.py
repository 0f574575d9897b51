"""The folders are the architecture: lower layers never import higher ones, and the pure layers import no I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SENTINEL = Path(__file__).resolve().parent.parent / "sentinel"
# What a pure layer may use of the standard library: values and arithmetic, no files, sockets, processes or
# clocks. Logging is allowed: a warning is a diagnostic, not an effect anyone relies on.
PURE_STDLIB = {
    "__future__", "array", "bisect", "collections", "dataclasses", "datetime", "enum", "functools", "heapq",
    "itertools", "json", "logging", "math", "re", "statistics", "typing",
}  # fmt: skip
ALLOWED = {
    "core": PURE_STDLIB | {"sentinel.core"},
    "detect": PURE_STDLIB | {"numpy", "sentinel.core", "sentinel.detect"},
}
# detect/__init__.py pins numpy's BLAS threads to one before numpy is first imported (an environment
# variable read by numpy's loader: a setting of the process, not I/O).
EXCEPTIONS = {("detect/__init__.py", "os")}
PROGRAMS = ("sentinel.agent", "sentinel.notifier", "sentinel.demo", "sentinel.backtest")
NEVER = {  # (importer, imported): the two programs share the lower layers, never each other
    ("agent", "sentinel.notifier"),
    ("notifier", "sentinel.agent"),
    ("core", "sentinel.detect"),
    *((layer, "sentinel.demo") for layer in ("core", "detect", "agent", "notifier", "mqtt", "config", "backtest")),
    *((layer, "sentinel.backtest") for layer in ("core", "detect", "agent", "notifier", "mqtt", "config")),
    # The settings and the MQTT link are beneath both programs and the detector.
    *((layer, banned) for layer in ("config", "mqtt") for banned in (*PROGRAMS, "sentinel.detect")),
}


def imports(path: Path) -> list[str]:
    """Every module ``path`` imports at run time (not those imported only for type checking)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
        for n in ast.walk(node)
    }
    found = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            # A relative import would slip past the rules below: every import names its module in full.
            assert node.level == 0, f"{path}: relative import of {node.module}"
            found.append(node.module or "")
    return found


def within(module: str, allowed: set[str]) -> bool:
    return any(module == a or module.startswith(a + ".") for a in allowed)


def modules() -> list[Path]:
    return sorted(SENTINEL.rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_the_pure_layers_import_no_io(layer: str) -> None:
    wrong = [
        f"{path.relative_to(SENTINEL)} imports {module}"
        for path in (SENTINEL / layer).rglob("*.py")
        for module in imports(path)
        if not within(module, ALLOWED[layer]) and (str(path.relative_to(SENTINEL)), module) not in EXCEPTIONS
    ]
    assert wrong == []


def test_no_layer_imports_one_above_it_and_the_programs_not_each_other() -> None:
    wrong = [
        f"{path.relative_to(SENTINEL)} imports {module}"
        for path in modules()
        for module in imports(path)
        for layer, banned in NEVER
        if path.relative_to(SENTINEL).parts[0] == layer and within(module, {banned})
    ]
    assert wrong == []


def test_no_module_is_longer_than_a_reader_can_hold() -> None:
    """300 lines at most: past that a module is doing two things, and one of them wants a name of its own."""
    long = {str(p.relative_to(SENTINEL)): n for p in modules() if (n := len(p.read_text().splitlines())) > 300}
    assert long == {}
