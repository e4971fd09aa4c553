from __future__ import annotations

import discord
import openai
from redbot.core import commands

BASE_URL_TOKEN = "askref"  # `[p]set api askref base_url,<url> api_key,<key>`


class AskRef(commands.Cog):
    def __init__(self, bot) -> None:
        self.bot = bot
        self.client = None

    async def _client(self) -> openai.AsyncOpenAI:
        if self.client is None:
            tokens = await self.bot.get_shared_api_tokens(BASE_URL_TOKEN)
            self.client = openai.AsyncOpenAI(base_url=tokens["base_url"], api_key=tokens["api_key"])
        return self.client

    @commands.command()
    async def askref(self, ctx: commands.Context, *, text: str) -> None:
        """Ask the model; the whole answer is sent when it is complete."""
        client = await self._client()
        async with ctx.typing():
            completion = await client.chat.completions.create(
                model="gpt-test",
                messages=[
                    {"role": "system", "content": "You are a helpful assistant."},
                    {"role": "user", "content": f"{ctx.author.display_name}: {text}"},
                ],
            )
        answer = completion.choices[0].message.content or ""
        for start in range(0, len(answer), 2000):
            await ctx.send(answer[start : start + 2000], allowed_mentions=discord.AllowedMentions.none())

    async def cog_unload(self) -> None:
        if self.client is not None:
            await self.client.close()
