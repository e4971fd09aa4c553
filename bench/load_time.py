"""How long ``[p]load skynet`` takes (import + cog_load) on a real Red bot, cold, each run in a
fresh process. Run by hand; results go in docs/performance.md.

    .venv/bin/python bench/load_time.py [--runs 5]

Reports, per run: the time from the owner's ``!load skynet`` to Red's "Loaded" reply (what the
owner waits for), the import of the cog's package alone, the background load of the price table
that follows, and which heavy optional libraries were imported by the load (none should be: they
are imported by the features that use them, on first use).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("chromadb", "pypdf", "fitz", "pdfminer", "trafilatura", "genai_prices", "torch", "numpy", "PIL")


async def measure_once() -> dict:
    sys.path.insert(0, str(REPO))
    from skynet_dev.harness import RedHarness

    with tempfile.TemporaryDirectory() as tmp:
        harness = RedHarness(Path(tmp), cog_paths=[REPO])
        await harness.start()
        try:
            before = set(sys.modules)
            start = time.monotonic()  # the clock of BotEvent.at
            await harness.say("!load skynet", author=harness.owner, wait=False)
            loaded = await harness.wait_for(
                lambda e: e.kind == "send" and "Loaded" in (e.content or ""), timeout=120
            )
            load_s = loaded.at - start
            heavy_at_load = sorted(
                m for m in set(sys.modules) - before if m.split(".")[0] in HEAVY and "." not in m
            )
            cog = harness.bot.get_cog("Skynet")
            table_start = time.perf_counter()
            task = getattr(cog, "_price_table_task", None)
            if task is not None:
                await task
            table_s = time.perf_counter() - table_start
            await harness.settle(timeout=60)
            return {"load_s": load_s, "heavy_at_load": heavy_at_load, "table_wait_s": table_s}
        finally:
            await harness.close()


def import_time() -> float:
    code = (
        "import sys, time; sys.path.insert(0, %r); import redbot.core.commands, discord, openai;"
        "t = time.perf_counter(); import skynet.cog; print(time.perf_counter() - t)" % str(REPO)
    )
    return float(
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(measure_once())))
        return
    runs = []
    for _ in range(args.runs):
        out = subprocess.run(
            [sys.executable, __file__, "--child"], capture_output=True, text=True, check=True, cwd=REPO
        ).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    loads = [r["load_s"] * 1000 for r in runs]
    tables = [r["table_wait_s"] * 1000 for r in runs]
    imports = [import_time() * 1000 for _ in range(args.runs)]
    print(
        f"[p]load skynet (import + cog_load), cold, {args.runs} runs: "
        f"median {statistics.median(loads):.0f} ms, min {min(loads):.0f}, max {max(loads):.0f}"
    )
    print(
        f"  of which importing skynet.cog (Red, discord.py, openai already imported): "
        f"median {statistics.median(imports):.0f} ms"
    )
    print(
        f"  then, in the background: price table ready after a further median {statistics.median(tables):.0f} ms"
    )
    heavy = sorted({m for r in runs for m in r["heavy_at_load"]})
    print(
        f"  heavy libraries imported before the 'Loaded' reply: {heavy or 'none'}"
        " (genai_prices is imported by the background thread that loads the price table)"
    )


if __name__ == "__main__":
    main()
