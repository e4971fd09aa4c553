"""What ``scripts/start.sh`` runs: a real Red bot when ``DISCORD_TOKEN`` is set, else the console.

The real bot keeps everything under ``.skynet-data/`` in the working directory, Red's instance
registry included (``XDG_CONFIG_HOME``), and finds the cog through a link in Red's cog install
path, so the cog it loads is this checkout's ``skynet/``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List, Optional

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


USAGE = """\
usage: scripts/start.sh [--fresh]
  Without DISCORD_TOKEN: the offline console; its state lives in .skynet-data/console/.
  --fresh   start the console with a new, empty data folder (the old one is deleted).
  With DISCORD_TOKEN set: a real Red bot; its data lives in .skynet-data/ (red/ and config/)."""


def main(argv: Optional[List[str]] = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if any(a in ("-h", "--help") for a in args) or any(a != "--fresh" for a in args):
        print(USAGE)
        sys.exit(0 if any(a in ("-h", "--help") for a in args) else 2)
    token = os.environ.get("DISCORD_TOKEN", "").strip()
    if token:
        if "--fresh" in args:
            print("--fresh applies to the offline console only; the bot's data is kept.", flush=True)
        run_red(token, Path.cwd() / ".skynet-data")
    else:
        from skynet_dev.console import DATA_DIR
        from skynet_dev.console import main as console_main

        data_dir = Path.cwd() / DATA_DIR
        if "--fresh" in args and data_dir.exists():
            shutil.rmtree(data_dir)
            print(f"Starting fresh: removed {data_dir}.", flush=True)
        sys.exit(asyncio.run(console_main(data_dir=data_dir)))


if __name__ == "__main__":
    main()
