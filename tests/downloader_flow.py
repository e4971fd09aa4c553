"""Driven by tests/test_install.py in its own process: a bot owner installs skynet with Red's
Downloader from a git repository, exactly as in the README, and asks it something.

(A separate process because under pytest Red's bundled cogs, Downloader included, cannot load:
pytest's assertion rewriting takes over the ``redbot`` package.)

Usage: python tests/downloader_flow.py <repo url> <data dir>
Prints every bot message, then the lines "ERRORS: <n>".
"""

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from skynet_dev.harness import RedHarness  # noqa: E402

# Only the copy Downloader installs may be found as `skynet`, not this checkout's.
sys.path.pop(0)


async def main(url: str, data_dir: Path) -> None:
    harness = RedHarness(data_dir)
    await harness.start()
    harness.listeners.append(lambda e: e.kind == "send" and print("BOT:", e.content, flush=True))

    async def owner(command: str, *, wait: bool = True) -> None:
        print(">>>", command, flush=True)
        await harness.say(command, author=harness.owner, wait=False)
        if wait:
            await harness.settle(timeout=900)

    try:
        await owner("!load downloader")
        await owner(f"!repo add skynet {url}", wait=False)
        await harness.wait_for(lambda e: e.kind == "send" and "I agree" in (e.content or ""), timeout=60)
        await owner("I agree")
        await owner("!cog install skynet skynet")
        await owner("!load skynet")
        await owner("!ai model show")
        await owner("!cog info skynet skynet")
    finally:
        print("ERRORS:", len(harness.errors), *map(repr, harness.errors), flush=True)
        await harness.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2])))
