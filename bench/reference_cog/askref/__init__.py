"""A minimal non-streaming AI cog, the reference skynet's cost per answer is measured against.

What the peer cogs do for an answer, and nothing more: one ``chat.completions.create`` through the
``openai`` SDK (not streamed), typing while it waits, the answer sent in messages of at most 2,000
characters. ``bench/answer_tail.py --reference`` runs the same answer through it and through skynet
in one session. Not a product: no settings, no errors handled.
"""

from .askref import AskRef


async def setup(bot):
    await bot.add_cog(AskRef(bot))
