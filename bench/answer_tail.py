"""One streamed answer on an idle channel, through a real Red bot (dpytest) and a local provider in
its own process: what it costs and how its end is shown.

    .venv/bin/python bench/answer_tail.py                      # 1,600 and 2,500 characters over 8 s
    .venv/bin/python bench/answer_tail.py --runs 5 --seconds 5 8 10 --chars 1600 2500
    .venv/bin/python bench/answer_tail.py --reference --chars 1600   # side by side with bench/reference_cog
    .venv-peers/bin/python bench/answer_tail.py --reference --peer aiuser=/work/peer_cogs/bz-cogs/aiuser \
        --peer assistant=/work/peer_cogs/vrt-cogs/assistant   # and the peer cogs (see bench/_peers.py)

For each answer length (``--chars``, streamed in 4-5 character chunks evenly over ``--seconds``),
``--runs`` answers one after the other, each in a fresh channel. Reported (median, and max where
it matters): CPU of the bot's process per answer; Discord requests per answer (sends + edits, and
typing); the time from the provider's last token (written, in its process) to the complete answer
visible, and the same from the last text the streamer received; smoothness while
streaming: the longest gap between two visible updates and the mean age of the text shown (how far
the visible text lags behind the generated one, averaged over the answer). The reference cog and
the peers (``--peer``, loaded in the same bot, asked the same question) answer whole: CPU and
requests only.
"""

from __future__ import annotations

import argparse
import asyncio
import operator
import os
import sys
import tempfile
import time
from typing import Dict, List, Optional

import _peers
from _streaming_common import KEY, median, provider_process, start_bot
from discord.ext.test import backend

ENDS = os.path.join(tempfile.mkdtemp(), "stream-ends")  # see bench/_echo_provider.py --ends


def reply_module():
    for name in ("skynet.delivery.reply", "skynet.discord.reply"):  # after / before issue 23
        if name in sys.modules:
            return sys.modules[name]
    raise RuntimeError("skynet's reply module is not loaded")


def body_for(chars: int) -> tuple:
    """Words whose echo ("echo: member: " + body) is about ``chars`` long; (body, chunk count)."""
    word = "abcd" if chars >= 2000 else "abc"
    count = max(1, (chars - len("echo: member: ")) // (len(word) + 1))
    return " ".join([word] * count), count + 3


def text_of(event) -> str:
    """What a send or edit shows: its content, or the text displays of a components-v2 message."""

    def displays(components) -> str:
        return "".join((c.get("content") or "") + displays(c.get("components")) for c in components or ())

    return event.content or displays(event.payload.get("components"))


async def run_command(harness, text: str) -> None:
    """``text`` said by the owner and done, or an error naming it."""
    errors = len(harness.errors)
    await harness.say(text, author=harness.owner)
    await harness.settle(timeout=30)
    if len(harness.errors) > errors:
        raise RuntimeError(f"{text!r} failed: {harness.errors[errors]!r}")


async def load_peers(harness, peers: List[_peers.Peer], base_url: str) -> None:
    """Each peer loaded and pointed at the provider, after skynet has loaded its tiktoken encoding."""
    if not peers:
        return
    _peers.offline_tiktoken(peers)
    for peer in peers:
        await run_command(harness, f"!load {peer.name}")
        cog = next((c for c in harness.bot.cogs.values() if type(c).__module__.split(".")[0] == peer.name), None)
        if cog is None:
            raise RuntimeError(f"{peer.name} did not load (see the log)")
        deadline = time.monotonic() + 60
        while peer.loaded and not operator.attrgetter(peer.loaded)(cog):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{peer.name} did not finish loading")
            await asyncio.sleep(0.05)
        for text in peer.setup(base_url, KEY):
            await run_command(harness, text)


async def one_answer(
    harness, index: int, body: str, command: str = "!ai chat", peer: Optional[_peers.Peer] = None
) -> Dict[str, float]:
    streamer_cls = reply_module().ReplyStreamer
    arrivals: List[float] = []  # time of each text delta
    sizes: List[int] = []  # answer length after it
    original_append = streamer_cls.append

    def append(self, text: str) -> None:
        if text and not text.startswith("\n\n"):  # not a closing note
            arrivals.append(time.monotonic())
            sizes.append((sizes[-1] if sizes else 0) + len(text))
        original_append(self, text)

    streamer_cls.append = append
    channel = backend.make_text_channel(f"tail-{index}-{len(body)}", harness.guild)
    if peer is not None:
        for text in peer.channel_setup(channel.id):
            await run_command(harness, text)
        command = peer.ask(harness.bot.user.id)
    since = len(harness.events)
    try:
        c0, asked = time.process_time(), time.monotonic()
        await harness.say(f"{command} {body}", channel=channel, wait=False)
        await harness.settle(timeout=120)
        cpu = time.process_time() - c0
    finally:
        streamer_cls.append = original_append
    events = [e for e in harness.events[since:] if e.channel_id == channel.id]
    shown = [e for e in events if e.kind in ("send", "edit")]
    if peer is not None:  # its own wording around the question; maybe components, not content
        assert not arrivals, "skynet answered the peer's question"
        latest = {e.message_id: text_of(e) for e in shown}
        assert "".join(body.split()) in "".join("".join(latest.values()).split()), f"{peer.name}: incomplete answer"
        return {"cpu": cpu, "requests": len(shown), "typing": sum(1 for e in events if e.kind == "typing")}
    expected = "".join(f"echo: member: {body}".split())
    got = "".join("".join(m.content for m in harness.messages(channel)).split())
    assert got == expected, "incomplete answer"
    if not arrivals:  # the reference cog: no stream, its answer arrives whole
        return {"cpu": cpu, "requests": len(shown), "typing": sum(1 for e in events if e.kind == "typing")}
    last_token = arrivals[-1]
    with open(ENDS) as ends:  # when the provider wrote this answer's last token (its own process)
        provider_end = float(ends.read().split()[-1])
    # Visible characters over time: the sum of the current content of every message.
    visible_at: List[tuple] = []
    contents: Dict[int, int] = {}
    for e in shown:
        contents[e.message_id or 0] = len(e.content or "")
        visible_at.append((e.at, sum(contents.values())))
    # Mean age of the visible text while streaming: integrate (generated - visible) / rate.
    start, end = arrivals[0], last_token
    rate = sizes[-1] / max(end - start, 1e-6)
    lag_area, step, t = 0.0, 0.01, start
    vi, ai, visible, generated = 0, 0, 0, 0
    while t < end:
        while vi < len(visible_at) and visible_at[vi][0] <= t:
            visible = visible_at[vi][1]
            vi += 1
        while ai < len(arrivals) and arrivals[ai] <= t:
            generated = sizes[ai]
            ai += 1
        lag_area += max(0, generated - visible) / rate * step
        t += step
    update_times = [e.at for e in shown if start <= e.at <= end] + [end]
    gaps = [b - a for a, b in zip([start] + update_times, update_times)]
    return {
        "cpu": cpu,
        "requests": len(shown),
        "typing": sum(1 for e in events if e.kind == "typing"),
        "tail": shown[-1].at - last_token,
        "provider_tail": shown[-1].at - provider_end,
        "max_gap": max(gaps),
        "mean_age": lag_area / max(end - start, 1e-6),
        "first": shown[0].at - asked,
        "stream": end - start,  # first to last token, as the provider really served it
    }


def whole_row(label: str, results: List[Dict[str, float]]) -> tuple:
    """A row for answers sent whole (reference cog, peers): CPU and requests only."""
    return (
        label,
        f"{median([r['cpu'] for r in results]) * 1000:.0f} ms",
        f"{median([r['requests'] for r in results]):.0f} + {median([r['typing'] for r in results]):.0f} typing",
        "", "", "", "", "",
    )


async def main(args: argparse.Namespace) -> None:
    rows = []
    peers = [_peers.parse(spec) for spec in args.peer]
    if peers:
        _peers.members_with_join_dates()
    for chars, seconds in [(c, s) for c in args.chars for s in args.seconds]:
        body, chunks = body_for(chars)
        proc, base_url = await provider_process(delay=seconds / chunks, ends=ENDS)
        harness = await start_bot(
            base_url,
            reference=args.reference,
            cog_paths=[path for _, path in peers],
            background=_peers.long_lived([peer for peer, _ in peers]),
        )
        try:
            await load_peers(harness, [peer for peer, _ in peers], base_url)
            await one_answer(harness, -1, "warm up")  # the first answer after load is another bench
            results, reference = [], []
            by_peer: Dict[str, List[Dict[str, float]]] = {peer.name: [] for peer, _ in peers}
            if args.reference:
                await one_answer(harness, -2, "warm up", "!askref")
            for k, (peer, _) in enumerate(peers):
                await one_answer(harness, -3 - k, "warm up", peer=peer)
            for i in range(args.runs):  # alternately, so all see the same machine
                results.append(await one_answer(harness, i, body))
                if args.reference:
                    reference.append(await one_answer(harness, 1000 + i, body, "!askref"))
                for k, (peer, _) in enumerate(peers):
                    by_peer[peer.name].append(await one_answer(harness, 2000 + 1000 * k + i, body, peer=peer))
        finally:
            await harness.close()
            proc.terminate()
            proc.wait()
        pick = lambda key, results=results: [r[key] for r in results]  # noqa: E731
        rows.append(
            (
                f"{len(body) + 14:,} chars, {chunks} chunks over {seconds:g} s"
                f" (served in {median(pick('stream')):.1f} s)",
                f"{median(pick('cpu')) * 1000:.0f} ms",
                f"{median(pick('requests')):.0f} + {median(pick('typing')):.0f} typing",
                f"{median(pick('provider_tail')):.2f} / {max(pick('provider_tail')):.2f} s",
                f"{median(pick('tail')):.2f} / {max(pick('tail')):.2f} s",
                f"{median(pick('max_gap')):.2f} s",
                f"{median(pick('mean_age')):.2f} s",
                f"{median(pick('first')):.2f} s",
            )
        )
        print(rows[-1], flush=True)
        if reference:
            rows.append(whole_row("… the same through the reference cog (not streamed)", reference))
            print(rows[-1], flush=True)
        for name, answers in by_peer.items():
            rows.append(whole_row(f"… the same through the peer {name} (not streamed)", answers))
            print(rows[-1], flush=True)
    print(f"\nidle channel, median of {args.runs} answers:")
    print(
        "| answer | CPU per answer | Discord requests (sends+edits + typing)"
        " | provider's last token → complete, median / max | the same from the streamer's last text"
        " | longest gap between updates | mean age of the visible text | first text |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chars", type=int, nargs="+", default=[1600, 2500])
    parser.add_argument("--seconds", type=float, nargs="+", default=[8.0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--reference", action="store_true",
        help="also answer through bench/reference_cog (a minimal non-streaming cog, as the peers answer)",
    )
    parser.add_argument(
        "--peer", action="append", default=[], metavar="NAME=PATH",
        help=f"also answer through a peer cog, from its folder ({', '.join(_peers.PEERS)}; see bench/_peers.py)",
    )
    sys.exit(asyncio.run(main(parser.parse_args())))
