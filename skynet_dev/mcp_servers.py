"""Start the MCP servers the tests and the benchmark use: the fake server (``fake_mcp.py``) over
stdio or streamable HTTP on 127.0.0.1, and the published ``mcp-server-time`` (offline).

``children(pid)`` lists the live descendants of a process, to prove nothing outlives the cog.
"""

from __future__ import annotations

import asyncio  # noqa: F401 (annotations)
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional, Sequence

FAKE = Path(__file__).with_name("fake_mcp.py")


def fake_command(*extra: str) -> List[str]:
    """The command line of the fake server over stdio (``extra``: ``--odd``, ``--pid-file P``…)."""
    return [sys.executable, str(FAKE), *extra]


def time_command() -> List[str]:
    """The published ``mcp-server-time`` server, with a fixed zone (works offline)."""
    return [sys.executable, "-m", "mcp_server_time", "--local-timezone", "UTC"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class HttpFakeServer:
    """The fake server over streamable HTTP in a child process; ``url`` is its MCP endpoint."""

    def __init__(self, *extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self.process = subprocess.Popen(
            fake_command("--http", str(self.port), *extra),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the fake MCP server exited at start")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the fake MCP server did not start")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> "HttpFakeServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def children(pid: Optional[int] = None) -> List[int]:
    """Live (not zombie) descendant processes of ``pid`` (default: this process)."""
    import psutil

    try:
        parent = psutil.Process(pid or os.getpid())
        found = parent.children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    alive = []
    for child in found:
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                alive.append(child.pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def read_pid(path: Path, timeout: float = 20.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return int(path.read_text())
        except (OSError, ValueError):
            time.sleep(0.05)
    raise RuntimeError(f"no pid in {path}")


def commands_of(pids: Sequence[int]) -> List[str]:
    import psutil

    result = []
    for pid in pids:
        try:
            result.append(" ".join(psutil.Process(pid).cmdline()))
        except psutil.NoSuchProcess:
            pass
    return result


def mcp_task(task: "asyncio.Task") -> bool:
    """Tasks of a live MCP session (the cog's per-server task and the SDK's readers/writers):
    long-lived by design, so a harness's ``settle()`` must not wait for them."""
    name = task.get_name()
    if name.startswith("background:mcp-") or name.startswith("mcp."):
        return True
    code = getattr(task.get_coro(), "cr_code", None)
    return code is not None and f"{os.sep}mcp{os.sep}" in code.co_filename
