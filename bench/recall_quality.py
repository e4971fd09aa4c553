"""Recall quality through the cog's whole path, with a real sentence embedder.

    bash ../shared/tools/minilm/setup.sh .venv         # once (or a copy of the tool elsewhere)
    .venv/bin/python bench/recall_quality.py --minilm ../shared/tools/minilm

Round 1 (recall):
A member tells the bot the facts of bench/recall_set.py with ``!ai remember`` (near-miss
distractors too; another member stores similar facts), then asks each question, worded
differently, with ``!ai chat``. For each question we read the prompt the provider received and
check that the right fact is in it, count the memories included, and check that none of the
other member's facts leaked in. Embeddings: all-MiniLM-L6-v2 served locally (OpenAI-compatible
``/v1/embeddings``); chat: the local mock provider.

Round 2 (memory that stays true, bench/update_set.py): a second member tells the bot a first fact
for each of 60 subjects, 20 facts to be repeated later, a look-alike fact about someone else for
each subject ("my sister lives in Valencia"), then the 60 changes in other words ("I moved to
Valencia last month") and the 20 repeats. Then they ask about now. Measured: the newer fact in the
prompt, the older absent or marked as no longer true, repeats stored once, the look-alikes left
current, and nothing of one member or server in another's prompt. The chat model is the mock, so
updates are decided by the rules (skynet/engine/memory/facts.py), not by a model.
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
from update_set import DUPLICATES, UPDATES  # noqa: E402

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


# Another server's facts (same member): never in the first server's prompts.
OTHER_SERVER = ["I live in Marseille", "My car is a white Peugeot 208", "I work as a chef"]


def memory_lines(messages) -> list:
    block = "\n".join(m["content"] for m in messages[1:] if m["role"] == "system")
    return [line for line in block.splitlines() if line.startswith("- (")]


async def main(tool: Path) -> None:
    process, port = start_minilm(tool)
    try:
        async with MockOpenAI(api_key=KEY) as chat_server:
            workdir = Path(tempfile.mkdtemp())
            harness = RedHarness(workdir / "red", cog_paths=[REPO], background=MockOpenAI.owns_task)
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

                # The same member in another server stores other facts: they must not come here.
                from discord.ext.test import backend as dpy_backend

                other_guild = dpy_backend.make_guild("Other Guild")
                other_channel = dpy_backend.make_text_channel("lobby", other_guild)
                dpy_backend._cur_config.messages.setdefault(other_channel.id, [])
                dpy_backend.make_member(harness.bot.user, other_guild)
                elsewhere = dpy_backend.make_member(harness.member._user, other_guild)
                for text in OTHER_SERVER:
                    await harness.say(f"!ai remember {text}", author=elsewhere, channel=other_channel)
                await harness.settle()

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
                    leaks += sum(1 for other in OTHER_MEMBER + OTHER_SERVER if other in prompt)
                rate = hits / len(FACTS)
                print(f"questions: {len(FACTS)}; right memory in the prompt: {hits} ({rate:.1%})")
                for k in (1, 3, 5):
                    print(
                        f"  right memory ranked in the top {k}: {sum(r <= k for r in ranks) / len(FACTS):.1%}"
                    )
                print(f"memories per prompt: max {max(sizes)}, mean {sum(sizes) / len(sizes):.1f}")
                print(f"other member's or server's memories leaked into prompts: {leaks}")
                for question, fact in misses:
                    print(f"  missed: {question!r} -> {fact!r}")
                await updates_round(harness, cog, chat_server, leaked_texts=[f for f, _ in FACTS])
            finally:
                await harness.close()
                shutil.rmtree(workdir, ignore_errors=True)
    finally:
        process.terminate()
        process.wait()


async def updates_round(harness, cog, chat_server, *, leaked_texts) -> None:
    """Round 2: updates, look-alikes and repeats told by another member; questions about now."""
    from discord.ext.test import backend as dpy_backend

    user = dpy_backend.make_user("member2", "0002", id_num=harness.member.id + 7)
    member2 = dpy_backend.make_member(user, harness.guild)
    replies = {}

    async def tell(text: str) -> None:
        before = {m.id for m in harness.messages()}
        await harness.say(f"!ai remember {text}", author=member2)
        await harness.settle()
        replies[text] = "\n".join(m.content for m in harness.messages() if m.id not in before)

    start = time.perf_counter()
    for old, _, _, _ in UPDATES:
        await tell(old)
    for first, _ in DUPLICATES:
        await tell(first)
    for _, _, lookalike, _ in UPDATES:
        await tell(lookalike)
    for _, new, _, _ in UPDATES:
        await tell(new)
    for _, again in DUPLICATES:
        await tell(again)
    told = len(UPDATES) * 3 + len(DUPLICATES) * 2
    print(f"\nround 2: {told} facts told by another member in {time.perf_counter() - start:.1f} s")

    records = await cog.memory_service.list_memories(harness.guild.id, member2.id)
    status = {r.text: r.meta.get("status", "current") for r in records}
    superseded = sum(status.get(old) == "superseded" for old, _, _, _ in UPDATES)
    lookalikes_current = sum(status.get(look) == "current" for _, _, look, _ in UPDATES)
    once = sum(sum(1 for r in records if r.text in (first, again)) == 1 for first, again in DUPLICATES)
    said_updated = sum("Updated" in replies[new] for _, new, _, _ in UPDATES)
    said_known = sum("already" in replies[again] for _, again in DUPLICATES)
    print(f"  older facts superseded by their update: {superseded}/{len(UPDATES)}")
    print(f"  look-alike facts about other people left current: {lookalikes_current}/{len(UPDATES)}")
    print(f"  repeats stored once: {once}/{len(DUPLICATES)} ({once / len(DUPLICATES):.1%})")
    print(
        f"  member told 'Updated': {said_updated}/{len(UPDATES)}; told 'already remember': {said_known}/{len(DUPLICATES)}"
    )

    newer, older_ok, sizes, leaks = 0, 0, [], 0
    for old, new, _, question in UPDATES:
        cog.memory.clear(f"channel:{harness.channel.id}")
        await harness.say(f"!ai chat {question}", author=member2)
        await harness.settle()
        messages = chat_server.chat_requests[-1]["messages"]
        lines = memory_lines(messages)
        sizes.append(len(lines))
        found_new = any(line.endswith(new) and "NO LONGER TRUE" not in line for line in lines)
        newer += found_new
        if not found_new:
            print(f"    newer fact missing for {question!r}: {new!r}")
        old_lines = [line for line in lines if line.endswith(old)]
        marked = all("NO LONGER TRUE" in line for line in old_lines)
        older_ok += marked
        if not marked:
            print(f"    older fact sent as current for {question!r}: {old!r}")
        prompt = json.dumps(messages)
        leaks += sum(1 for text in leaked_texts + OTHER_SERVER if text in prompt)
    n = len(UPDATES)
    print(f"  questions about now: {n}; newer fact in the prompt: {newer} ({newer / n:.1%})")
    print(f"  older fact absent or marked no longer true: {older_ok} ({older_ok / n:.1%})")
    print(f"  memories per prompt: max {max(sizes)}, mean {sum(sizes) / len(sizes):.1f}")
    print(f"  the first member's or the other server's memories leaked into prompts: {leaks}")
    judge = getattr(cog.memory_service, "judge", None)
    if judge is not None:
        print(f"  model judge calls: {judge.calls} (unusable answers, rules decided: {judge.unusable})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--minilm", type=Path, default=REPO.parent / "shared" / "tools" / "minilm")
    asyncio.run(main(parser.parse_args().minilm))
