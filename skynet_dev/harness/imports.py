"""The bot's own import of a cog, kept for the next harness in this process.

Red's ``[p]load`` re-executes every already imported module of the package it loads
(``CoreLogic._cleanup_and_refresh_modules``), so edits on disk take effect. Between two harnesses of
one test process nothing on disk changes, and re-executing skynet's ~230 modules was most of a cog
test's CPU (about 0.4 s of 0.6 s, measured with cProfile). While a harness runs, a package whose
files are unchanged since the bot first imported it in this process gets that import back instead;
a changed (or deleted) file means Red's full refresh, as in production. ``[p]unload`` and
``[p]reload`` behave as in Red: the cog object, its Config and tasks are new every time; only the
module objects are reused.

The bot's import is never the test process's own import of the same package (``RedHarness`` keeps
them apart), so classes a test imported are never swapped under its feet.
"""

from __future__ import annotations

import os
import sys
from types import ModuleType
from typing import Callable, Dict, Iterable, Optional, Tuple

from redbot.core.core_commands import CoreLogic

# package -> (its modules as the bot imported them, each module file's mtime at that time)
_kept: Dict[str, Tuple[Dict[str, ModuleType], Dict[str, int]]] = {}
_original: Optional[Callable[[str], None]] = None


def _modules_of(package: str) -> Dict[str, ModuleType]:
    return {n: m for n, m in sys.modules.items() if n == package or n.startswith(package + ".")}


def _mtimes(modules: Iterable[ModuleType]) -> Dict[str, int]:
    files = (getattr(m, "__file__", None) for m in modules)
    return {f: os.stat(f).st_mtime_ns for f in files if f and os.path.exists(f)}


def _unchanged(mtimes: Dict[str, int]) -> bool:
    try:
        return all(os.stat(path).st_mtime_ns == when for path, when in mtimes.items())
    except OSError:
        return False


def _refresh(module_name: str) -> None:
    """Red's refresh, unless this process already has the bot's import of unchanged files."""
    package = module_name.split(".")[0]
    kept = _kept.get(package)
    if kept is not None and package not in sys.modules and _unchanged(kept[1]):
        sys.modules.update(kept[0])  # [p]load then runs only the package's __init__ and setup()
        return
    _kept.pop(package, None)
    assert _original is not None
    _original(module_name)


def install() -> None:
    """Route Red's module refresh through :func:`_refresh` (while a harness runs)."""
    global _original
    if _original is None:
        _original = CoreLogic._cleanup_and_refresh_modules
        CoreLogic._cleanup_and_refresh_modules = staticmethod(_refresh)  # type: ignore[assignment]


def uninstall() -> None:
    global _original
    if _original is not None:
        CoreLogic._cleanup_and_refresh_modules = staticmethod(_original)  # type: ignore[assignment]
        _original = None


def keep(packages: Iterable[str]) -> None:
    """Remember the bot's import of each loaded ``package`` (call before the bot unloads it)."""
    for package in packages:
        if package in _kept or package not in sys.modules:
            continue
        modules = _modules_of(package)
        _kept[package] = (modules, _mtimes(modules.values()))


def forget() -> None:
    """Drop every kept import: the next load of each package imports it afresh."""
    _kept.clear()
