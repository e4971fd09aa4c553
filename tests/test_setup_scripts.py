"""``scripts/_venv.sh`` (sourced by start.sh and test.sh) installs only when pyproject.toml changed,
and stays silent unless something fails.

The script runs for real in bash, in a copy of the repository whose ``.venv/bin/python`` is a stub
that logs how it was called: no pip, no network, a few milliseconds per run.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

FAKE_PYTHON = """#!/usr/bin/env bash
echo "$*" >> "$(dirname "$0")/../calls.log"
echo "a page of setuptools warnings nobody needs to read"
[ -f "$(dirname "$0")/../pip-fails" ] && { echo "ERROR: no matching distribution"; exit 1; }
exit 0
"""


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of the set-up script and pyproject.toml with an existing (stub) .venv."""
    (tmp_path / "scripts").mkdir()
    shutil.copy2(REPO / "scripts" / "_venv.sh", tmp_path / "scripts" / "_venv.sh")
    shutil.copy2(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    return tmp_path


def set_up(checkout: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", "source scripts/_venv.sh"],
        cwd=checkout,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHON": ""},
    )


def pip_runs(checkout: Path) -> int:
    log = checkout / ".venv" / "calls.log"
    return log.read_text().count("-m pip install") if log.exists() else 0


def test_second_run_does_not_reinstall_and_prints_nothing(checkout):
    first = set_up(checkout)
    assert first.returncode == 0, first.stderr
    assert pip_runs(checkout) == 1
    assert "setuptools warnings" not in first.stdout + first.stderr  # pip's chatter is hidden
    assert first.stderr.strip() == "Installing skynet into .venv..."

    second = set_up(checkout)
    assert (second.returncode, second.stdout, second.stderr) == (0, "", "")
    assert pip_runs(checkout) == 1


def test_a_changed_pyproject_reinstalls_once(checkout):
    set_up(checkout)
    with (checkout / "pyproject.toml").open("a") as f:
        f.write("\n# a new dependency\n")
    changed = set_up(checkout)
    assert changed.returncode == 0
    assert "pyproject.toml changed: reinstalling" in changed.stderr
    assert pip_runs(checkout) == 2
    assert set_up(checkout).stderr == "" and pip_runs(checkout) == 2


def test_a_failed_install_shows_pips_output_and_is_retried_next_time(checkout):
    (checkout / ".venv" / "pip-fails").touch()
    failed = set_up(checkout)
    assert failed.returncode != 0
    assert "ERROR: no matching distribution" in failed.stderr
    (checkout / ".venv" / "pip-fails").unlink()
    assert set_up(checkout).returncode == 0 and pip_runs(checkout) == 2
    assert set_up(checkout).stderr == "" and pip_runs(checkout) == 2


def test_this_checkouts_venv_is_up_to_date_after_the_test_command_ran_it():
    """test.sh ran _venv.sh before pytest: running it again here changes nothing and says nothing."""
    stamp = REPO / ".venv" / ".skynet-installed"
    current = hashlib.sha256((REPO / "pyproject.toml").read_bytes()).hexdigest()
    if not stamp.exists() or not stamp.read_text().startswith(current):
        pytest.skip("the suite was not started through scripts/test.sh (it would install now)")
    again = subprocess.run(
        ["bash", "-c", "source scripts/_venv.sh"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")
