"""Soak: mixed traffic for a long time on a real Red bot (dpytest) with skynet, the provider in its
own process. Does anything grow, does any answer go missing, is any error logged?

    .venv/bin/python bench/soak.py --minutes 30            # the real run
    .venv/bin/python bench/soak.py --minutes 3 --rate 20   # a short one

Traffic at ``--rate`` messages/s from 200 members over 90 channels, in a repeating mix:
50 % ``!ai chat`` (a 20-word echo streamed at 50 words/s), 20 % passive messages in channels
listening to everything, 15 % ``!ai chat`` asking to calculate (the model calls the calculator
tool, then answers), 15 % ``!ai remember`` (long-term memory: embeddings from the provider; each
member repeats one fact, so after the first round memory holds duplicates only, as it would).
Every message carries an id; at the end every chat, tool and passive message must have its
complete answer (the echo of its text), every remember its confirmation.

Sampled every ``--every`` seconds: RSS of the process, open files, asyncio tasks, the sizes of
skynet's SQLite files, loop lag p99 over the interval, errors logged (level ERROR or above, any
logger) and errors the harness saw. The fake Discord's and the harness's message histories are
pruned as the run goes (they are the simulator's, not the bot's). Growth is judged from the end
of the warm-up (``--warmup`` share of the run) to the end.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import glob
import logging
import os
import random
import re
import resource
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Dict, List, Set

from _streaming_common import KEY, LagMonitor, pct
from discord.ext.test import backend, runner

HERE = Path(__file__).resolve().parent


FAVOURITES = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa"]


class ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(f"{record.name}: {record.getMessage()[:300]}")


async def provider_process(delay: float):
    import subprocess

    proc = subprocess.Popen(
        [sys.executable, str(HERE / "_soak_provider.py"), "--delay", str(delay)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = await asyncio.get_running_loop().run_in_executor(None, proc.stdout.readline)
    match = re.search(r"serving at (\S+)", line)
    if not match:
        proc.kill()
        raise RuntimeError(f"soak provider did not start: {line!r}")
    return proc, match.group(1)


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def census() -> Counter:
    """How many live objects of each type the garbage collector tracks (what grows, if RSS does)."""
    gc.collect()
    return Counter(type(o).__qualname__ for o in gc.get_objects())


def holders(type_name: str, samples: int = 3) -> List[str]:
    """For a few live objects of ``type_name``: the chain of references from a module to it (what
    keeps it alive). Needs ``objgraph`` (``pip install objgraph``: a diagnostic, not a dependency)."""
    import objgraph

    found = objgraph.by_type(type_name)
    chains = []
    for obj in random.Random(1).sample(found, min(samples, len(found))):
        chain = objgraph.find_backref_chain(obj, objgraph.is_proper_module, max_depth=12)
        labels = []
        for link in chain:
            label = type(link).__qualname__
            if isinstance(link, dict):
                label += "{" + ",".join(map(str, list(link)[:3])) + "}"
            elif hasattr(link, "__name__"):
                label += f"({link.__name__})"
            labels.append(label)
        chains.append(" -> ".join(labels))
    del found
    return chains


def task_kinds() -> Counter:
    """The running tasks by what they run (a backlog shows as replies waiting, a leak as a kind
    that only grows)."""
    return Counter(getattr(t.get_coro(), "__qualname__", "?") for t in asyncio.all_tasks())


def sqlite_sizes(root: Path) -> Dict[str, int]:
    sizes = {}
    for path in glob.glob(str(root / "**" / "*.sqlite3*"), recursive=True):
        sizes[Path(path).name] = os.path.getsize(path)
    return sizes


async def setup(harness, base_url: str, passive: List) -> None:
    owner = harness.owner
    for command in (
        "!load skynet",
        f"!set api mock api_key,{KEY}",
        f"!ai provider add mock {base_url} mock",
        "!ai model set global mock:gpt-test",
        "!ai provider timeout mock 120",
        "!ai tools enable calculator",
        "!ai listen cooldown 0",
        "!ai listen usercooldown 0",
    ):
        await harness.say(command, author=owner)
        await harness.settle()
        await asyncio.sleep(1)  # each reply in "general": inside its 5 sends per 5 s (no 429 to retry)
    for channel in passive:
        await harness.say("!ai listen mode channel all", author=owner, channel=channel)
        await harness.settle()


def prune_simulator(harness, keep_ids: Set[int]) -> None:
    """Forget the fake Discord's history of finished messages (the simulator's memory)."""
    harness.events.clear()
    harness._mark = 0  # noqa: SLF001
    messages = harness._messages  # noqa: SLF001 - the harness's view of the bot's messages
    for message_id in [m for m in messages if m not in keep_ids]:
        del messages[message_id]
    payloads = harness._message_data  # noqa: SLF001 - the raw payloads the fake Discord keeps
    for message_id in [m for m in payloads if m not in keep_ids]:
        del payloads[message_id]
    for queue in (runner.sent_queue, runner.error_queue):  # dpytest's queue of everything the bot sent
        while not queue.empty():
            queue.get_nowait()
    state = backend._cur_config  # noqa: SLF001
    for history in state.messages.values():
        if len(history) > 60:
            del history[:-60]


async def main(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(HERE.parent))
    import tempfile

    from skynet_dev.harness import RedHarness

    errors = ErrorLog()
    logging.getLogger().addHandler(errors)
    proc, base_url = await provider_process(delay=0.02)
    root = Path(tempfile.mkdtemp()) / "red"
    harness = RedHarness(root, cog_paths=[HERE.parent])
    await harness.start()
    rng = random.Random(16)
    try:
        chat_channels = [backend.make_text_channel(f"soak-chat-{i}", harness.guild) for i in range(60)]
        passive = [backend.make_text_channel(f"soak-passive-{i}", harness.guild) for i in range(20)]
        # `ai remember` answers with one plain message, which the streaming pacer does not pace:
        # in its own channels, it never shares a channel's 5-per-5-s window with a streamed reply.
        memory_channels = [backend.make_text_channel(f"soak-memory-{i}", harness.guild) for i in range(10)]
        members = [
            backend.make_member(backend.make_user(f"member{i}", 1000 + i), harness.guild) for i in range(200)
        ]
        await setup(harness, base_url, passive)
        kinds = ["chat"] * 10 + ["passive"] * 4 + ["tool"] * 3 + ["remember"] * 3
        # One byte per message sent, by its number: its kind, and whether its answer was seen. (A
        # dict and a set of ids grew by ~150 bytes a message, ~5 MB in 30 minutes: the bench's own
        # memory would count as the bot's growth.)
        kind_codes = {kind: code for code, kind in enumerate(dict.fromkeys(kinds))}
        kinds_by_code = list(kind_codes)
        sent_kinds, answered = bytearray(), bytearray()
        duration = args.minutes * 60
        samples = []
        start = time.monotonic()
        next_sample = start + args.every
        sent = 0
        per_kind: Counter = Counter()
        pacer = harness.bot.get_cog("Skynet").pacer
        paced_before = 0
        id_re = re.compile(r"\bq(\d+)x\b")

        memory_ids = {c.id for c in memory_channels}
        # `ai remember` confirms without quoting the fact: its replies are counted by message id
        # (those still in the harness's history, so none twice)
        memory_replies: Set[int] = set()
        memory_count = 0

        def collect_answers() -> None:
            nonlocal memory_count
            for message in list(harness._messages.values()):  # noqa: SLF001
                content = message.content or ""
                if message.channel_id in memory_ids:
                    if content.strip() and message.id not in memory_replies:
                        memory_replies.add(message.id)
                        memory_count += 1
                    continue
                for found in id_re.findall(content):
                    index = int(found)
                    if index < len(sent_kinds) and content.rstrip().endswith(f"q{found}x end"):
                        answered[index] = 1

        with LagMonitor() as lag:
            lag_mark = 0
            while time.monotonic() - start < duration:
                kind = kinds[sent % len(kinds)]
                key = f"q{sent}x"
                author = members[sent % len(members)]
                words = " ".join(rng.choice(["alpha", "beta", "gamma", "delta", "omega"]) for _ in range(14))
                # Each kind goes round its own channels (by ``sent`` alone, the mix's period of 20
                # would alias: 4 passive channels of 20 at 1 message/s each, past what Discord's
                # 5 operations per 5 s can answer, and 3 memory channels of 10).
                nth = per_kind[kind]
                per_kind[kind] += 1
                if kind == "chat":
                    content, channel = f"!ai chat {words} {key} end", chat_channels[nth % len(chat_channels)]
                elif kind == "tool":
                    content = f"!ai chat calculate {words} {key} end"
                    channel = chat_channels[(nth + len(chat_channels) // 2) % len(chat_channels)]
                elif kind == "passive":
                    content, channel = f"{words} {key} end", passive[nth % len(passive)]
                else:
                    # Each member tells the same fact every time: the first is stored, the rest are
                    # duplicates (issue 21), so memory stays the size of the members' facts.
                    content = f"!ai remember I like {FAVOURITES[sent % len(members) % len(FAVOURITES)]}"
                    channel = memory_channels[nth % len(memory_channels)]
                sent_kinds.append(kind_codes[kind])
                answered.append(0)
                await harness.say(content, author=author, channel=channel, wait=False)
                sent += 1
                target = start + sent / args.rate
                delay = target - time.monotonic()
                await asyncio.sleep(max(0.0, delay))
                now = time.monotonic()
                if now >= next_sample:
                    collect_answers()
                    # messages still streaming (their id comes at the end); `ai remember`
                    # confirmations were counted by collect_answers() and need not be kept
                    keep = {
                        m.id
                        for m in harness._messages.values()  # noqa: SLF001
                        if m.channel_id not in memory_ids and not id_re.search(m.content or "")
                    }
                    # keep the messages still streaming (no id yet) and the last minute's
                    recent = {mid for mid in list(harness._messages)[-400:]}  # noqa: SLF001
                    prune_simulator(harness, keep | recent)
                    memory_replies.intersection_update(harness._messages)  # noqa: SLF001
                    lags = lag.samples[lag_mark:]
                    del lag.samples[:], lag.times[:]  # the bench's own memory: only this interval's
                    lag_mark = 0
                    sample = {
                        "t": round(now - start),
                        "sent": sent,
                        "rate": round(sent / (now - start), 1),
                        "answered": answered.count(1) + memory_count,
                        "rss_mb": round(rss_mb(), 1),
                        # memory blocks Python's allocator has handed out (str and bytes too, which
                        # the census can't see): growing with a flat RSS-less part = live data grows
                        "py_blocks_k": sys.getallocatedblocks() // 1000,
                        "files": open_files(),
                        "tasks": len(asyncio.all_tasks()),
                        "top_tasks": task_kinds().most_common(3),
                        # sent but not yet answered completely (a backlog, if it grows)
                        "in_flight": sent - answered.count(1) - memory_count,
                        "pacer_waiting": len(pacer._waiting),  # noqa: SLF001
                        "sqlite_kb": {k: v // 1024 for k, v in sorted(sqlite_sizes(root).items())},
                        "lag_p99_ms": round(pct(lags, 0.99) * 1000, 1),
                        "errors_logged": len(errors.records),
                        "harness_errors": len(harness.errors),
                    }
                    paced = sum(pacer.stats[k] for k in ("ops", "typing", "interactions"))
                    # the bot's requests through the pacer per second over the interval (Discord: 50)
                    sample["paced_per_s"] = round((paced - paced_before) / args.every, 1)
                    paced_before = paced
                    samples.append(sample)
                    print(sample, flush=True)
                    if args.census and len(samples) == max(1, int(duration / args.every * args.warmup)):
                        objects_at_warm, tasks_at_warm = census(), task_kinds()
                    next_sample += args.every
            if args.census:  # before the last answers settle: the same load as at the end of warm-up
                objects_at_end, tasks_at_end = census(), task_kinds()
            await harness.settle(timeout=300, ignore=lambda t: t.get_name() == "background:lag")
            await asyncio.sleep(1)
            collect_answers()
        remember = kind_codes["remember"]
        missing = [f"q{i}x" for i, code in enumerate(sent_kinds) if code != remember and not answered[i]]
        warm = samples[max(0, int(len(samples) * args.warmup) - 1)] if samples else None
        last = samples[-1] if samples else None
        print("\n| measure | end of warm-up | end | growth |")
        print("|---|---|---|---|")
        if warm and last:
            for key in ("rss_mb", "py_blocks_k", "files", "tasks"):
                growth = (last[key] - warm[key]) / warm[key] * 100 if warm[key] else 0.0
                print(f"| {key} | {warm[key]} | {last[key]} | {growth:+.1f} % |")
            for name in sorted(set(warm["sqlite_kb"]) | set(last["sqlite_kb"])):
                a, b = warm["sqlite_kb"].get(name, 0), last["sqlite_kb"].get(name, 0)
                print(f"| {name} (kB) | {a} | {b} | {((b - a) / a * 100) if a else 0:+.1f} % |")
            print(f"| loop lag p99 per interval, max after warm-up | | {max(s['lag_p99_ms'] for s in samples[samples.index(warm):])} ms | |")
        by_kind: Dict[str, List[int]] = {kind: [0, 0] for kind in kind_codes}
        for code, done in zip(sent_kinds, answered):
            by_kind[kinds_by_code[code]][0] += 1
            by_kind[kinds_by_code[code]][1] += done
        print(f"\nsent {sent} messages in {args.minutes:g} min ({sent / duration:.1f}/s offered):")
        by_kind["remember"][1] = memory_count
        for kind, (total, done) in sorted(by_kind.items()):
            print(f"  {kind}: {done}/{total} answered completely" + (" (confirmations)" if kind == "remember" else ""))
        print(f"  missing: {missing[:20]}{' …' if len(missing) > 20 else ''}")
        print(f"  errors logged: {len(errors.records)} {errors.records[:5]}")
        print(f"  errors seen by the harness: {len(harness.errors)} {[repr(e)[:200] for e in harness.errors[:5]]}")
        names = {c.id: c.name.rstrip("0123456789") for c in harness.guild.channels}
        hits = Counter(
            (h.kind, "bot-wide" if h.is_global else names.get(h.channel_id, "?")) for h in harness.limits.rate_limited
        )
        print(f"  429s the fake Discord answered (each retried as discord.py does): {dict(hits)}")
        print(f"  pacer: {dict(pacer.stats)}")
        print(f"  peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
        if args.census:
            for title, before, after in (
                ("objects", objects_at_warm, objects_at_end),
                ("tasks", tasks_at_warm, tasks_at_end),
            ):
                grown = sorted(((after[k] - before[k], k) for k in after), reverse=True)[:12]
                print(f"  {title} grown most since warm-up: " + ", ".join(f"{k} +{d}" for d, k in grown if d > 0))
            for name in ("Context", "Message"):
                try:
                    for chain in holders(name):
                        print("  held:", chain[:600], flush=True)
                except Exception as exc:  # a diagnostic: say why it could not tell
                    print(f"  held: {name}: {exc!r}", flush=True)
    finally:
        await harness.close()
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=20.0, help="messages per second offered")
    parser.add_argument("--every", type=float, default=15.0, help="seconds between samples")
    parser.add_argument("--warmup", type=float, default=0.2, help="share of the run counted as warm-up")
    parser.add_argument(
        "--census", action="store_true", help="count live objects and tasks by type at the end of warm-up and at the end"
    )
    sys.exit(asyncio.run(main(parser.parse_args())))
