"""Governance in French: a server whose owner ran ``[p]set locale fr-FR`` gets budgets, listening
settings and refusals in French; English stays the default everywhere else."""

from __future__ import annotations

import pytest
from conftest import owner, say, text_of
from redbot.core.i18n import get_locale

from skynet_dev.harness import RedHarness
from skynet_dev.mock_openai import Reply

# The owner and the admin configure faster than people type: only message bodies are checked here.
pytestmark = pytest.mark.discord_bursts


async def french(red: RedHarness) -> None:
    """The owner switches this server to French, with Red's own command."""
    await owner(red, "!set locale fr-FR")
    assert await red.bot._i18n_cache.get_locale(red.guild) == "fr-FR"


async def test_budgets_and_their_refusals_in_french(bot, provider, cog):
    await french(bot)
    assert text_of(await say(bot, "!ai budget set user 100", author=bot.admin)) == (
        "Budget quotidien de chaque membre fixé à 100 jetons."
    )
    # A number that isn't one: the sentence is built from French pieces, placeholders kept, and
    # numbers grouped the French way (narrow no-break spaces).
    assert text_of(await say(bot, "!ai budget set user beaucoup", author=bot.admin)) == (
        "⚠️ Un budget en jetons doit être un nombre entier de 0 à 1\u202f000\u202f000\u202f000 ; "
        "`beaucoup` n'en est pas un."
    )
    # A member spends the budget; the next question is refused in French, with when it resets.
    await say(bot, "!ai params set max_tokens 20", author=bot.admin)
    provider.script(Reply.text("ok", prompt_tokens=60, completion_tokens=50))
    assert text_of(await say(bot, "!ai chat bonjour")) == "ok"
    refused = text_of(await say(bot, "!ai chat encore"))
    assert refused.startswith(
        "⚠️ Votre budget IA quotidien est épuisé ici : il reste 0 jetons sur 100 jetons. "
        "Il sera remis à zéro <t:"
    ), refused
    assert len(provider.chat_requests) == 1
    shown = text_of(await say(bot, "!ai budget show"))
    assert shown.startswith(f"**Budget de {bot.member.display_name} :** il reste 0 jetons sur 100 jetons"), (
        shown
    )
    assert "(valeur par défaut du serveur)" in shown


async def test_listening_settings_and_permission_refusal_in_french(bot):
    await french(bot)
    assert text_of(await say(bot, "!ai listen mode channel keyword", author=bot.admin)) == (
        "Mode d'écoute pour ce salon réglé sur `keyword`."
    )
    shown = text_of(await say(bot, "!ai listen show"))
    assert shown.splitlines()[:2] == [
        "**Mode ici :** `keyword` (salon) · par défaut du serveur `off`",
        "**Mode contexte ici :** désactivé (serveur)",
    ]
    # A member trying an owner-only command is told who may use it (permissions.py), in French.
    assert text_of(await say(bot, "!ai pricing show", author=bot.member)) == (
        "⚠️ Seul le propriétaire du bot peut utiliser `ai pricing show`."
    )
    # The locale is the server's, set inside Red's command handling: nothing leaked into the
    # process's default locale that the next tests (a fresh harness each) run in.
    assert get_locale() == "en-US"


async def test_other_servers_and_tests_stay_in_english(bot):
    """Runs after the French tests in the same worker (``--dist loadfile``): a new harness, English."""
    assert await bot.bot._i18n_cache.get_locale(bot.guild) == "en-US"
    assert text_of(await say(bot, "!ai budget set user 100", author=bot.admin)) == (
        "Daily budget of each member set to 100 tokens."
    )
    assert text_of(await say(bot, "!ai pricing show", author=bot.member)) == (
        "⚠️ Only the bot owner can use `ai pricing show`."
    )
