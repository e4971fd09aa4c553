"""A small second cog for the tests: adds a tool to skynet through its public API."""

from typing import Any, Dict, List, Tuple

from redbot.core import commands


class ToolEcho(commands.Cog):
    def __init__(self, bot) -> None:
        self.bot = bot
        self.calls: List[Tuple[Dict[str, Any], int]] = []
        self.tool_name = ""

    async def cog_load(self) -> None:
        skynet = self.bot.get_cog("Skynet")
        self.tool_name = skynet.register_tool(
            self,
            "weather",
            "The weather in a city.",
            {
                "type": "object",
                "properties": {"city": {"type": "string", "maxLength": 50}},
                "required": ["city"],
            },
            self.weather,
            enabled_by_default=True,
            status=lambda args: f"🌦️ Checking the weather in {args.get('city')}…",
        )

    async def cog_unload(self) -> None:
        skynet = self.bot.get_cog("Skynet")
        if skynet is not None:
            skynet.unregister_tool(self.tool_name)

    async def weather(self, arguments: Dict[str, Any], context: Any) -> str:
        self.calls.append((arguments, context.user_id))
        return f"Sunny and 21 °C in {arguments['city']}."


async def setup(bot) -> None:
    await bot.add_cog(ToolEcho(bot))
