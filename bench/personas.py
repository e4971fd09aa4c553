"""What personas add to the message path (no I/O): resolving the active persona, rendering its
prompt's variables from Discord objects, appending the member's instructions. Run by hand:

    .venv/bin/python bench/personas.py

A server with 100 personas and 100 global ones; the active persona's prompt has 51 placeholders (17 variables).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from skynet.engine.personas import Persona  # noqa: E402
from skynet.stores.settings import GUILD, Scope  # noqa: E402
from skynet_dev.harness import RedHarness  # noqa: E402

PROMPT = (
    "You are {persona}, on {server} ({member_count} members), channel #{channel} ({channel_topic}). "
    "You talk to {user_display} ({user_roles}, top role {user_top_role}, joined {user_joined}). "
    "It is {weekday} {date} {time} ({timezone}); model {model} on {endpoint}; bot {bot}, prefix {prefix}. "
) * 3


def per_call_us(func, number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        func()
    return (time.perf_counter() - start) / number * 1e6


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        harness = RedHarness(Path(tmp) / "red", cog_paths=[REPO])
        await harness.start()
        try:
            await harness.say("!load skynet", author=harness.owner)
            await harness.settle()
            cog = harness.bot.get_cog("Skynet")
            guild, channel, member = harness.guild, harness.channel, harness.member
            for i in range(100):
                await cog.personas.save(guild.id, Persona(f"server{i}", PROMPT), new=True)
                await cog.personas.save(None, Persona(f"global{i}", PROMPT), new=True)
            settings = cog.settings.resolve(guild.id, channel.id)
            baseline = per_call_us(lambda: cog.chat_request(member, channel, "hi"), 2000)
            await cog.personas.choose(Scope(GUILD, guild.id), "server99")
            await cog.personas.set_myprompt(member.id, "Call me Sam and keep it short.")
            with_persona = per_call_us(lambda: cog.apply_persona(member, channel, settings), 2000)
            full = per_call_us(lambda: cog.chat_request(member, channel, "hi"), 2000)
            prompt = cog.chat_request(member, channel, "hi").settings.system_prompt
            print(f"rendered prompt: {len(prompt)} characters, {PROMPT.count('{')} placeholders")
            print(f"apply_persona alone: {with_persona:.1f} µs per message")
            print(
                f"chat_request, no persona active: {baseline:.1f} µs; with persona + variables + myprompt: {full:.1f} µs"
            )
        finally:
            await harness.close()


if __name__ == "__main__":
    asyncio.run(main())
