"""The engine/shell boundary, enforced: a lower layer never imports a higher one.

Layers, lowest first: ``skynet.engine`` (plain Python) < ``skynet.delivery`` (showing answers on
Discord: streaming, pacing, splitting, webhooks; may use discord.py) < ``skynet.stores`` and
``skynet.i18n`` (Red's Config and Translator) < ``skynet.abc``, ``skynet.commands`` and
``skynet.panel`` (the shell) < ``skynet.cog``. Inside the shell, an area's package never imports
another area's package: shared pieces live in ``skynet.commands``' own modules (``common``,
``group``, ``permissions``...).
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator, Tuple

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "skynet"

LAYERS = {
    "skynet.engine": 0,
    "skynet.delivery": 1,
    "skynet.stores": 2,
    "skynet.i18n": 2,
    "skynet.abc": 3,
    "skynet.commands": 3,
    "skynet.panel": 3,
    "skynet.cog": 4,
    "skynet": 5,  # the package __init__ (setup)
}
# Third-party frameworks a layer may not use.
FORBIDDEN = {
    "skynet.engine": ("discord", "redbot"),
    "skynet.delivery": ("redbot",),
    "skynet.stores": ("discord",),
    "skynet.i18n": ("discord",),
}
# The rooms the package may have at its top: a new one needs a layer above.
ROOMS = {"engine", "delivery", "stores", "commands", "panel", "locales", "__pycache__"}


def layer_of(module: str) -> str:
    """The most specific layer name that ``module`` belongs to."""
    candidates = [name for name in LAYERS if module == name or module.startswith(name + ".")]
    return max(candidates, key=len)


def modules() -> Iterator[Tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


def imports(module: str, path: Path) -> Iterator[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                # `from . import x` may import submodule x
                yield from ([f"{target}.{a.name}" for a in node.names] if not node.module else [target])
            else:
                yield node.module


ALL = list(modules())


def test_every_module_has_a_layer() -> None:
    assert ALL, "no modules found"
    for module, _ in ALL:
        assert layer_of(module) in LAYERS


@pytest.mark.parametrize("module,path", ALL, ids=[m for m, _ in ALL])
def test_no_upward_or_forbidden_imports(module: str, path: Path) -> None:
    own = layer_of(module)
    for imported in imports(module, path):
        top = imported.split(".")[0]
        assert top not in FORBIDDEN.get(own, ()), f"{module} ({own}) must not import {imported}"
        if top == "skynet":
            target = layer_of(imported)
            assert LAYERS[target] <= LAYERS[own], f"{module} ({own}) imports higher layer {imported}"
            if own == "skynet.commands" and target == "skynet.cog":
                pytest.fail(f"{module} imports the cog")


def test_the_checker_catches_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import discord\nfrom ..commands import chat\n")
    found = list(imports("skynet.engine.bad", bad))
    assert "discord" in found and "skynet.commands" in found


def area_of(module: str) -> str:
    """``skynet.commands.memory.admin`` -> ``memory``; shared command modules -> ''."""
    parts = module.split(".")
    if parts[:2] != ["skynet", "commands"] or len(parts) < 3:
        return ""
    return parts[2] if (PACKAGE / "commands" / parts[2]).is_dir() else ""


@pytest.mark.parametrize("module,path", [(m, p) for m, p in ALL if area_of(m)], ids=[m for m, _ in ALL if area_of(m)])
def test_command_areas_do_not_import_each_other(module: str, path: Path) -> None:
    own = area_of(module)
    for imported in imports(module, path):
        other = area_of(imported)
        assert other in ("", own), f"{module} (area {own}) imports area {other}: {imported}"


def test_the_package_root_holds_only_its_rooms() -> None:
    loose = {p.name for p in PACKAGE.iterdir() if p.is_dir()} - ROOMS
    assert not loose, f"unexpected folders at skynet/: {loose} (give each a layer in LAYERS)"
    modules_at_root = {p.stem for p in PACKAGE.glob("*.py")}
    assert modules_at_root == {"__init__", "abc", "cog", "i18n"}, modules_at_root


def test_no_import_circles() -> None:
    """No import circle, deferred or typing-only imports included: a circle makes import order
    matter and hides which module depends on which."""
    names = {m for m, _ in ALL}
    graph = {}
    for module, path in ALL:
        deps = set()
        for imported in imports(module, path):
            while imported and imported not in names:
                imported = imported.rpartition(".")[0]
            if imported and imported != module:
                deps.add(imported)
        graph[module] = deps
    done, on_stack, stack = set(), set(), []

    def visit(node: str) -> None:
        stack.append(node)
        on_stack.add(node)
        for dep in sorted(graph.get(node, ())):
            if dep in on_stack:
                pytest.fail("import circle: " + " -> ".join(stack[stack.index(dep):] + [dep]))
            if dep not in done:
                visit(dep)
        stack.pop()
        on_stack.discard(node)
        done.add(node)

    for module in sorted(graph):
        if module not in done:
            visit(module)
