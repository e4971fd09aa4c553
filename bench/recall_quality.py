"""Recall quality through the cog's whole path, with a real sentence embedder.

    bash ../shared/tools/minilm/setup.sh .venv         # once (or a copy of the tool elsewhere)
    .venv/bin/python bench/recall_quality.py --minilm ../shared/tools/minilm

A member tells the bot the facts of bench/recall_set.py with ``!ai remember`` (near-miss
distractors too; another member stores similar facts), then asks each question, worded
differently, with ``!ai chat``. For each question we read the prompt the provider received and
check that the right fact is in it, count the memories included, and check that none of the
other member's facts leaked in. Embeddings: all-MiniLM-L6-v2 served locally (OpenAI-compatible
``/v1/embeddings``); chat: the local mock provider.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from recall_set import DISTRACTORS, FACTS, OTHER_MEMBER  # noqa: E402

from skynet.delivery.pacing import Pacer  # noqa: E402
from skynet_dev.harness import RedHarness  # noqa: E402
from skynet_dev.mock_openai import MockOpenAI  # noqa: E402

KEY = "sk-bench-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_minilm(tool: Path) -> tuple:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(tool / "serve_embeddings.py"), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).read()
            return process, port
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the MiniLM server did not start")


def memory_lines(messages) -> list:
    block = "\n".join(m["content"] for m in messages[1:] if m["role"] == "system")
    return [line for line in block.splitlines() if line.startswith("- (")]


async def main(tool: Path) -> None:
    process, port = start_minilm(tool)
    try:
        async with MockOpenAI(api_key=KEY) as chat_server:
            workdir = Path(tempfile.mkdtemp())
            harness = RedHarness(
                workdir / "red", cog_paths=[REPO], background=MockOpenAI.owns_task
            )
            await harness.start()
            try:
                for command in (
                    "!load skynet",
                    f"!set api mock api_key,{KEY}",
                    f"!ai provider add mock {chat_server.base_url} mock",
                    "!ai model set global mock:gpt-test",
                    f"!ai provider add minilm http://127.0.0.1:{port}/v1",
                    "!ai memory embeddings minilm:all-MiniLM-L6-v2",
                ):
                    await harness.say(command, author=harness.owner)
                    await harness.settle()
                cog = harness.bot.get_cog("Skynet")
                cog.pacer = Pacer(channel_interval=0.0)
                print("embeddings:", cog.memory_service.embedding_model())

                start = time.perf_counter()
                for text in [fact for fact, _ in FACTS] + DISTRACTORS:
                    await harness.say(f"!ai remember {text}", author=harness.member)
                for text in OTHER_MEMBER:
                    await harness.say(f"!ai remember {text}", author=harness.admin)
                await harness.settle()
                stored = len(FACTS) + len(DISTRACTORS) + len(OTHER_MEMBER)
                print(
                    f"stored {stored} memories through `ai remember` in {time.perf_counter() - start:.1f} s"
                )

                hits, sizes, leaks, misses, ranks = 0, [], 0, [], []
                for fact, question in FACTS:
                    cog.memory.clear(f"channel:{harness.channel.id}")  # judge recall, not the window
                    await harness.say(f"!ai chat {question}", author=harness.member)
                    await harness.settle()
                    messages = chat_server.chat_requests[-1]["messages"]
                    lines = memory_lines(messages)
                    sizes.append(len(lines))
                    found = [n for n, line in enumerate(lines, 1) if line.endswith(fact)]
                    if found:
                        hits += 1
                        ranks.append(found[0])
                    else:
                        misses.append((question, fact))
                    prompt = json.dumps(messages)
                    leaks += sum(1 for other in OTHER_MEMBER if other in prompt)
                rate = hits / len(FACTS)
                print(f"questions: {len(FACTS)}; right memory in the prompt: {hits} ({rate:.1%})")
                for k in (1, 3, 5):
                    print(
                        f"  right memory ranked in the top {k}: {sum(r <= k for r in ranks) / len(FACTS):.1%}"
                    )
                print(f"memories per prompt: max {max(sizes)}, mean {sum(sizes) / len(sizes):.1f}")
                print(f"other member's memories leaked into prompts: {leaks}")
                for question, fact in misses:
                    print(f"  missed: {question!r} -> {fact!r}")
            finally:
                await harness.close()
                shutil.rmtree(workdir, ignore_errors=True)
    finally:
        process.terminate()
        process.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--minilm", type=Path, default=REPO.parent / "shared" / "tools" / "minilm")
    asyncio.run(main(parser.parse_args().minilm))
