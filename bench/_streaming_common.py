"""Shared pieces of the streaming benchmarks: a local provider in its own process, a real Red bot
with skynet pointed at it, an event-loop lag monitor and window counts."""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from skynet_dev.discord_limits import max_in_window  # noqa: E402,F401 - the benches use it from here
from skynet_dev.harness import RedHarness  # noqa: E402

KEY = "sk-bench-0123456789abcdef"


async def provider_process(delay: float, ends: str = "") -> Tuple[subprocess.Popen, str]:
    """``bench/_echo_provider.py`` (the demo echo server streaming word by word, ``delay``
    seconds apart, without its small print) in its own process, on a free port of 127.0.0.1;
    ``ends``: a file where it writes when each stream's last token went out."""
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve().parent / "_echo_provider.py"), "--delay", str(delay)]
        + (["--ends", ends] if ends else []),
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.stdout is not None
    line = await asyncio.get_running_loop().run_in_executor(None, proc.stdout.readline)
    match = re.search(r"serving at (\S+)", line)
    if not match:
        proc.kill()
        raise RuntimeError(f"mock provider did not start: {line!r}")
    return proc, match.group(1)


async def start_bot(
    base_url: str,
    *,
    reference: bool = False,
    cog_paths: Sequence[Path] = (),
    background: Optional[Callable[[asyncio.Task], bool]] = None,
) -> RedHarness:
    """A Red bot with skynet on the provider at ``base_url``; with ``reference``, also the minimal
    non-streaming cog (``bench/reference_cog``: ``!askref``) on the same provider. ``cog_paths``:
    more cog folders (not loaded); ``background``: tasks ``settle()`` never waits for."""
    cog_paths = [REPO, *([REPO / "bench" / "reference_cog"] if reference else []), *cog_paths]
    harness = RedHarness(Path(tempfile.mkdtemp()) / "red", cog_paths=cog_paths, background=background)
    await harness.start()
    for command in (
        "!load skynet",
        f"!set api mock api_key,{KEY}",
        f"!ai provider add mock {base_url} mock",
        "!ai model set global mock:gpt-test",
        "!ai provider timeout mock 600",
        *((f"!set api askref base_url,{base_url} api_key,{KEY}", "!load askref") if reference else ()),
    ):
        await harness.say(command, author=harness.owner)
        await harness.settle()
    return harness


class LagMonitor:
    """How late a 10 ms sleep wakes up: the event loop's responsiveness."""

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.samples: List[float] = []
        self.times: List[float] = []  # time.monotonic() of each sample
        self._task: Optional[asyncio.Task] = None

    async def _run(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(self.interval)
            self.samples.append(time.perf_counter() - start - self.interval)
            self.times.append(time.monotonic())

    def after(self, moment: float) -> List[float]:
        """The samples taken after ``moment`` (time.monotonic())."""
        return [lag for at, lag in zip(self.times, self.samples) if at > moment]

    def __enter__(self) -> "LagMonitor":
        self._task = asyncio.get_running_loop().create_task(self._run(), name="background:lag")
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


def pct(samples: List[float], q: float) -> float:
    if not samples:
        return float("nan")
    samples = sorted(samples)
    return samples[min(len(samples) - 1, int(round(q * (len(samples) - 1))))]


def median(samples: List[float]) -> float:
    return statistics.median(samples) if samples else float("nan")
