"""`[p]load skynet` stays fast: the heavy libraries are imported by the features that use them,
on first use, not when the owner loads the cog (measured by hand in bench/load_time.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# genai_prices may come in meanwhile: a background thread loads the price table after cog_load.
ALLOWED = {"genai_prices"}


def test_loading_the_cog_imports_no_heavy_library():
    run = subprocess.run(
        [sys.executable, str(REPO / "bench" / "load_time.py"), "--child"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=240,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert set(result["heavy_at_load"]) <= ALLOWED, result["heavy_at_load"]
