"""Faults at the edges, measured as an owner meets them (issue 22). Run by hand; figures go in
docs/performance.md.

    .venv/bin/python bench/edges.py [--reference PATH]

``--reference PATH``: a tree of the cog before the change (e.g. ``git archive`` of an older
commit), measured first in a child process, then this tree, side by side in the same run.

1. **Reload with queued answers**: 20 members ask ``!ai chat`` in one channel, the owner runs
   ``!reload skynet`` (in another channel) 0.3 s later. Counted: sends and edits the *old* instance
   made after the new one had loaded (by the task that made them: tasks that existed before the
   reload command), the time of its last one after the reload, members left without any reply,
   the time until every member had one, 429s Discord would have answered.
2. **A 1 MB stream**: a provider streams 1,000,000 characters; counted: messages posted, and the
   time until the answer was complete, or how many were posted in the first ``--window`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict

REPO = Path(__file__).resolve().parents[1]


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reference", type=Path, help="a tree of the cog before the change")
    parser.add_argument("--repo", type=Path, default=REPO, help=argparse.SUPPRESS)
    parser.add_argument("--window", type=float, default=60.0, help="seconds to watch the 1 MB stream")
    parser.add_argument("--label", default="this tree")
    return parser.parse_args()


async def reload_with_queued_answers(repo: Path) -> Dict[str, object]:
    from discord.ext.test import backend

    from skynet_dev.harness import RedHarness
    from skynet_dev.mock_openai import MockOpenAI

    async with MockOpenAI() as server:
        harness = RedHarness(
            Path(tempfile.mkdtemp()) / "red", cog_paths=[repo], background=MockOpenAI.owns_task
        )
        await harness.start()
        try:
            for command in (
                "!load skynet",
                f"!ai provider add mock {server.base_url}",
                "!ai model set global mock:gpt-test",
            ):
                await harness.say(command, author=harness.owner)
                await harness.settle()
            ops = backend.make_text_channel("ops", harness.guild)
            backend._cur_config.messages.setdefault(ops.id, [])
            askers = [
                backend.make_member(
                    backend.make_user(f"asker{n:02d}", "0001", id_num=1200000000000000000 + n), harness.guild
                )
                for n in range(20)
            ]
            harness.limits.reset_windows()
            made_by: Dict[int, asyncio.Task] = {}
            harness.listeners.append(lambda event: made_by.__setitem__(id(event), asyncio.current_task()))
            start = len(harness.events)
            asked_at = time.monotonic()
            questions = [
                await harness.say(f"!ai chat question {n}", author=member, wait=False)
                for n, member in enumerate(askers)
            ]
            await asyncio.sleep(0.3)
            old_tasks = set(asyncio.all_tasks())
            reload_at = time.monotonic()
            await harness.say("!reload skynet", author=harness.owner, channel=ops, wait=False)
            reloaded = await harness.wait_for(
                lambda e: e.channel_id == ops.id and "Reloaded" in (e.content or ""), timeout=60, since=start
            )
            try:
                await harness.settle(timeout=180)
            except TimeoutError:
                pass
            events = harness.events[start:]
            late = [
                e
                for e in events
                if e.kind in ("send", "edit") and e.at > reloaded.at and made_by.get(id(e)) in old_tasks
            ]
            replied: Dict[int, float] = {}
            for e in events:
                ref = (
                    int((e.payload.get("message_reference") or {}).get("message_id", 0))
                    if e.kind == "send"
                    else 0
                )
                if ref and ref not in replied:
                    replied[ref] = e.at
            unanswered = [q for q in questions if q.id not in replied]
            last_old = max((e.at for e in late), default=None)
            return {
                "old sends after load": sum(e.kind == "send" for e in late),
                "old edits after load": sum(e.kind == "edit" for e in late),
                "last old post": f"{last_old - reload_at:.1f} s after !reload" if last_old else "none",
                "members without a reply": len(unanswered),
                "all replied after": f"{max(replied.values()) - asked_at:.1f} s"
                if not unanswered
                else "never",
                "429s": len(harness.limits.rate_limited),
            }
        finally:
            await harness.close()


async def megabyte_stream(repo: Path, window: float) -> Dict[str, object]:
    from skynet_dev.harness import RedHarness
    from skynet_dev.mock_openai import MockOpenAI, Reply

    words = "The quick brown fox jumps over the lazy dog. "
    huge = (words * (1_000_000 // len(words) + 1))[:1_000_000]
    async with MockOpenAI() as server:
        harness = RedHarness(
            Path(tempfile.mkdtemp()) / "red", cog_paths=[repo], background=MockOpenAI.owns_task
        )
        await harness.start()
        try:
            for command in (
                "!load skynet",
                f"!ai provider add mock {server.base_url}",
                "!ai model set global mock:gpt-test",
            ):
                await harness.say(command, author=harness.owner)
                await harness.settle()
            harness.limits.reset_windows()
            server.script(Reply.text(huge, chunk_size=2000))
            start = len(harness.events)
            asked = time.monotonic()
            await harness.say("!ai chat tell me everything", wait=False)
            done = True
            try:
                await harness.settle(timeout=window)
            except TimeoutError:
                done = False
            sends = [e for e in harness.events[start:] if e.kind == "send"]
            files = sum(1 for e in sends if e.message_id in harness.sent_files)
            return {
                "messages": len(sends),
                "of which files": files,
                "complete after": f"{harness.events[-1].at - asked:.1f} s"
                if done
                else f"not within {window:.0f} s",
            }
        finally:
            await harness.close()


async def main(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(args.repo))
    first = await reload_with_queued_answers(args.repo)
    second = await megabyte_stream(args.repo, args.window)
    print(f"{args.label}: reload with 20 queued answers: {first}")
    print(f"{args.label}: a 1 MB stream: {second}", flush=True)


if __name__ == "__main__":
    arguments = parse()
    if arguments.reference is not None:
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--repo",
                str(arguments.reference),
                "--window",
                str(arguments.window),
                "--label",
                f"reference ({arguments.reference})",
            ],
            check=False,
            cwd=str(arguments.reference),
        )
    asyncio.run(main(arguments))
