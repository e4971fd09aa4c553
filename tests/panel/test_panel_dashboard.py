"""The Red-Web-Dashboard third-party pages: registered without the dashboard installed, shown
to a server's admins only, and no template code from members' data."""

from __future__ import annotations

import pytest
from conftest import say
from panel_world import cog_module, make_other_guild, panel_server

pytestmark = pytest.mark.discord_bursts


class FakeThirdParties:
    def __init__(self) -> None:
        self.added = []

    def add_third_party(self, cog) -> None:
        self.added.append(cog)


class FakeDashboardCog:
    """What the dashboard cog exposes to third parties (``rpc.third_parties_handler``)."""

    def __init__(self) -> None:
        self.rpc = type("RPC", (), {"third_parties_handler": FakeThirdParties()})()


async def test_pages_are_marked_and_the_cog_registers_itself(cog) -> None:
    for name in ("dashboard_usage", "dashboard_settings"):
        args, kwargs = getattr(cog, name).__dashboard_decorator_params__
        assert kwargs["name"] in ("usage", "settings") and kwargs["methods"] == ("GET",)
    fake = FakeDashboardCog()
    cog.bot.dispatch("dashboard_cog_add", fake)
    await cog.bot.wait_until_ready()
    for _ in range(20):
        if fake.rpc.third_parties_handler.added:
            break
        import asyncio

        await asyncio.sleep(0.05)
    assert fake.rpc.third_parties_handler.added == [cog]


async def test_usage_and_settings_pages_for_admins_only(bot, cog) -> None:
    other_guild, other_admin = make_other_guild(bot)
    await bot.bot.get_cog("Skynet").usage.flush()
    await say(bot, "!ai chat hello", author=bot.member)
    await cog.usage.flush()
    server = panel_server(cog)
    dashboard = cog_module("panel.dashboard")
    try:
        page = await dashboard.usage_page(cog, bot.admin.id, bot.guild.id, server.panel.usage_data)
        assert page["status"] == 0 and "gpt-test" in page["web_content"]["source"]
        refused = await dashboard.usage_page(cog, other_admin.id, bot.guild.id, server.panel.usage_data)
        assert refused["status"] == 1 and "web_content" not in refused
        assert (await dashboard.settings_page(cog, bot.member.id, bot.guild.id))["status"] == 1
        await say(bot, "!ai listen keywords add {{config}}", author=bot.admin)
        settings = await dashboard.settings_page(cog, bot.admin.id, bot.guild.id)
        source = settings["web_content"]["source"]
        assert "{{" not in source and "&#123;&#123;config&#125;&#125;" in source
    finally:
        await server.close()
