"""The core commands in French: an owner sets the server's locale with Red's own
``[p]set locale fr-FR``, and replies, refusals, the streamer's notes and ``[p]help ai`` follow."""

from __future__ import annotations

import pytest
from conftest import owner, say, text_of
from redbot.core import i18n as red_i18n

from skynet_dev.harness import RedHarness
from skynet_dev.mock_openai import Reply


async def help_pages(red: RedHarness, command: str) -> str:
    """Red's help for ``command``, text and embeds, wherever Red sends it (over two pages: by DM)."""
    before = set(red._messages)
    await owner(red, command)
    parts = []
    for message in [m for i, m in red._messages.items() if i not in before]:
        parts.append(message.content)
        for embed in message.embeds:
            parts += [embed.get("title", ""), embed.get("description", "")]
            parts += [f"{f.get('name', '')}\n{f.get('value', '')}" for f in embed.get("fields", [])]
    return "\n".join(parts)


async def in_french(red: RedHarness) -> None:
    reply = text_of(await owner(red, "!set locale fr-FR"))
    assert reply, red.last_error  # Red confirms (in French itself)
    assert await red_i18n.get_locale_from_guild(red.bot, red.guild) == "fr-FR"


@pytest.mark.discord_bursts  # the script types commands faster than people do
async def test_replies_refusals_and_notes_in_french(bot, provider):
    await in_french(bot)

    shown = text_of(await owner(bot, "!ai model show"))
    assert "Modèle ici : `mock:gpt-test` (réglage : global)." in shown, shown
    assert "- Ce salon : non défini" in shown, shown

    refusal = text_of(await owner(bot, "!ai pricing reset nosuchmodel"))
    assert refusal == "⚠️ Il n'y a pas de prix personnalisé pour `nosuchmodel`.", refusal

    refusal = text_of(await owner(bot, "!ai model fallbacks nowhere:model"))
    assert refusal.startswith("⚠️ Il n'y a pas de point d'accès `nowhere`."), refusal
    assert "voir `!ai provider list`" in refusal, refusal

    # The streamer's own note, in the locale of the server the answer is written in.
    provider.script(Reply.text("La réponse est longue et elle continue", finish_reason="length"))
    await say(bot, "!ai chat écris un essai")
    await bot.settle(timeout=20)
    answer = bot.messages()[-1].content
    assert answer == (
        "La réponse est longue et elle continue\n\n"
        "*(La réponse s'est arrêtée à la limite `max_tokens`.)*"
    ), answer

    forgot = text_of(await say(bot, "!ai forget"))
    assert forgot == "2 messages de la conversation ont été oubliés ici.", forgot
    assert text_of(await say(bot, "!ai forget")) == "Il n'y avait rien à oublier ici."

    stats = text_of(await say(bot, "!ai stats"))
    assert "**Vous, sur ce serveur :** 1 requête · " in stats, stats
    assert "jetons (" in stats and "en entrée /" in stats, stats

    # The locale is the server's, set in the command's context: the test's own context (and so
    # the next bot in this process) is still in English.
    assert red_i18n.get_locale() == "en-US"


@pytest.mark.discord_bursts  # Red sends its help pages back to back (discord.py waits out a 429 there)
async def test_help_of_the_ai_group_in_french(bot):
    await in_french(bot)

    shown = await help_pages(bot, "!help ai")
    assert "Parler à l'assistant IA et le configurer." in shown, shown  # the group's own help
    assert "**chat** Interroger l'assistant IA ; la réponse" in shown, shown  # a subcommand, shortened
    assert "**stats** Afficher votre utilisation de l'IA" in shown, shown

    shown = await help_pages(bot, "!help ai model set")
    assert "Choisir le modèle pour ce serveur, ce salon (`channel`) ou partout (`global`, propriétaire)." in shown
    assert "par ex. `ollama:llama3.1`" in shown, shown


async def test_a_new_bot_speaks_english_again(bot):
    """Run after the French tests in the same process: nothing of their locale is left."""
    shown = text_of(await owner(bot, "!ai model show"))
    assert "Model here: `mock:gpt-test` (from global)." in shown, shown
    assert text_of(await say(bot, "!ai forget")) == "There was nothing to forget here."
