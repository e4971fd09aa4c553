"""`[p]repo add` + `[p]cog install skynet skynet` + `[p]load skynet` work with Red's real Downloader.

Downloader clones the repository with git and pip-installs the requirements from
skynet/info.json into its own lib folder (from the package registry; pip's cache makes it quick
after the first run).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def snapshot_repository(destination: Path) -> Path:
    """A git repository holding the files of this checkout as they are now (committed or not)."""
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    for name in files:
        if (REPO / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, destination / name)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    subprocess.run(git + ["init", "-q"], cwd=destination, check=True)
    subprocess.run(git + ["add", "-A"], cwd=destination, check=True)
    subprocess.run(git + ["commit", "-qm", "snapshot"], cwd=destination, check=True)
    return destination


def test_owner_installs_and_loads_skynet_with_downloader(tmp_path):
    repo = snapshot_repository(tmp_path / "repo")
    result = subprocess.run(
        [sys.executable, str(REPO / "tests" / "downloader_flow.py"), repo.as_uri(), str(tmp_path / "red")],
        capture_output=True,
        text=True,
        timeout=900,
        # pip byte-compiles every file it installs (chromadb, onnxruntime...): nothing the test
        # looks at, and 9 of its 70 s of CPU (measured); the installed cog still imports.
        env={**os.environ, "PIP_NO_COMPILE": "1"},
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "Repo `skynet` successfully added." in out, out
    assert "Successfully installed the cog: `skynet`" in out, out
    assert "Thanks for installing skynet!" in out  # the cog's install_msg
    assert "Loaded `skynet`." in out, out
    assert "Model here: `openai:gpt-4o-mini`" in out  # the installed copy answers commands
    assert "This cog stores how many AI requests" in out  # end user data statement shown by cog info
    assert "ERRORS: 0" in out, out
    installed = tmp_path / "red" / "cogs" / "CogManager" / "cogs" / "skynet" / "info.json"
    assert installed.is_file()
