"""Versions of the cog and the libraries it rests on, read from package metadata.

Never imports the packages themselves (importing chromadb takes seconds).
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path
from typing import Dict, Optional

from ..i18n import _

# (label, distribution name)
LIBRARIES = (
    ("Red", "Red-DiscordBot"),
    ("discord.py", "discord.py"),
    ("openai", "openai"),
    ("chromadb", "chromadb"),
    ("tiktoken", "tiktoken"),
)
_PYPROJECT_VERSION = re.compile(r'^version\s*=\s*"([^"]+)"', re.MULTILINE)
COG_ROOT = Path(__file__).resolve().parents[3]  # the folder holding skynet/ (and pyproject.toml)


def distribution_version(name: str) -> Optional[str]:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def cog_version(root: Path = COG_ROOT) -> str:
    """From the checkout's pyproject.toml (Downloader installs have none), else package metadata."""
    try:
        found = _PYPROJECT_VERSION.search((root / "pyproject.toml").read_text(encoding="utf-8"))
        if found:
            return found.group(1)
    except OSError:
        pass
    return distribution_version("skynet-cog") or _("unknown")


def versions() -> Dict[str, str]:
    """``{"skynet": "0.1.0", "Red": "3.5.24", ...}``; ``"not installed"`` for a missing library."""
    found = {"skynet": cog_version()}
    for label, dist in LIBRARIES:
        found[label] = distribution_version(dist) or _("not installed")
    return found
