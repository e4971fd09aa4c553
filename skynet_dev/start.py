"""What ``scripts/start.sh`` runs: a real Red bot when ``DISCORD_TOKEN`` is set, else the console.

The real bot keeps everything under ``.skynet-data/`` in the working directory, Red's instance
registry included (``XDG_CONFIG_HOME``), and finds the cog through a link in Red's cog install
path, so the cog it loads is this checkout's ``skynet/``.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
INSTANCE = "skynet"


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def run_red(token: str, data_root: Path) -> None:
    """Create the Red instance on first use, link the cog in, and replace this process with Red."""
    env = {**os.environ, "XDG_CONFIG_HOME": str(data_root / "config"), "RED_TOKEN": token}
    data_path = data_root / "red"
    if not (data_root / "config" / "Red-DiscordBot" / "config.json").exists():
        subprocess.run(
            [
                _bin("redbot-setup"),
                "--no-prompt",
                "--instance-name",
                INSTANCE,
                "--data-path",
                str(data_path),
                "--backend",
                "json",
            ],
            env=env,
            check=True,
        )
    install_path = data_path / "cogs" / "CogManager" / "cogs"  # Red's default cog install path
    install_path.mkdir(parents=True, exist_ok=True)
    link = install_path / "skynet"
    if not link.exists():
        link.symlink_to(REPO / "skynet", target_is_directory=True)
    prefix = os.environ.get("SKYNET_PREFIX", "!")
    print(f"Starting Red with skynet (data in {data_root}, prefix {prefix}).", flush=True)
    os.execve(
        _bin("redbot"),
        [_bin("redbot"), INSTANCE, "--no-prompt", "--prefix", prefix, "--load-cogs", "skynet"],
        env,
    )


def main() -> None:
    token = os.environ.get("DISCORD_TOKEN", "").strip()
    if token:
        run_red(token, Path.cwd() / ".skynet-data")
    else:
        from .console import main as console_main

        sys.exit(asyncio.run(console_main()))


if __name__ == "__main__":
    main()
