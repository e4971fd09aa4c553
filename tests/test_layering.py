"""The engine/shell boundary, enforced: a lower layer never imports a higher one.

Layers, lowest first: ``skynet.engine`` (plain Python) < ``skynet.discord`` (rendering, may use
discord.py) < stores (``config``, ``settings_store``, ``usage_store``: Red's Config) < ``abc`` and
``mixins`` (commands) < ``cog``.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator, Tuple

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "skynet"

LAYERS = {
    "skynet.engine": 0,
    "skynet.discord": 1,
    "skynet.config": 2,
    "skynet.settings_store": 2,
    "skynet.usage_store": 2,
    "skynet.governance_store": 2,
    "skynet.personas_store": 2,
    "skynet.i18n": 2,
    "skynet.abc": 3,
    "skynet.mixins": 3,
    "skynet.cog": 4,
    "skynet": 5,  # the package __init__ (setup)
}
# Third-party frameworks a layer may not use.
FORBIDDEN = {
    "skynet.engine": ("discord", "redbot"),
    "skynet.discord": ("redbot",),
    "skynet.config": ("discord",),
    "skynet.settings_store": ("discord",),
    "skynet.usage_store": ("discord",),
    "skynet.governance_store": ("discord",),
    "skynet.personas_store": ("discord",),
    "skynet.i18n": ("discord",),
}


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
            if own == "skynet.mixins" and target == "skynet.cog":
                pytest.fail(f"{module} imports the cog")


def test_the_checker_catches_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import discord\nfrom ..mixins import chat\n")
    found = list(imports("skynet.engine.bad", bad))
    assert "discord" in found and "skynet.mixins" in found
