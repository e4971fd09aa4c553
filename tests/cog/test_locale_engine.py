"""The engine's texts in French: an owner sets the locale with Red's own `[p]set locale fr-FR`, then
provider failures, parameter refusals, parameter help and the diagnostics report come out in French.
A fresh harness (every test gets one) is back in English."""

from __future__ import annotations

import asyncio

import pytest
from conftest import owner, text_of
from test_chat import ask, unused_port

from skynet.delivery.pacing import Pacer
from skynet.engine.reliability import RetryPolicy
from skynet_dev.harness import RedHarness
from skynet_dev.mock_openai import Reply


async def french(red: RedHarness) -> None:
    # Red answers in the new language already (its own French translation).
    assert text_of(await owner(red, "!set locale fr-FR")) == "Le langage a été défini."


async def chat(red: RedHarness, text: str = "bonjour") -> str:
    return text_of(await owner(red, f"!ai chat {text}"))


async def test_a_rejected_key_is_explained_in_french(bot, provider):
    await french(bot)
    await owner(bot, "!set api mock api_key,sk-wrong-key-123456")  # the local provider answers 401

    text = await chat(bot)

    assert text == (
        "⚠️ **mock** a refusé la clé API. Le propriétaire du bot peut en définir une valide avec "
        "`!set api mock api_key,<key>`."
    ), text


async def test_a_missing_key_and_an_unknown_model_are_explained_in_french(bot, provider):
    await french(bot)
    provider.models.remove("gpt-test")  # the local provider answers 404 for it

    unknown_model = await chat(bot)
    assert (
        "Le modèle `gpt-test` n'est pas disponible sur **mock**. Consultez `!ai model list`" in unknown_model
    )

    await owner(bot, "!set api remove mock")
    provider.requests.clear()
    assert await chat(bot) == (
        "⚠️ Aucune clé API n'est définie pour **mock**. Le propriétaire du bot peut en définir une avec "
        "`!set api mock api_key,<key>`."
    )
    assert provider.chat_requests == []  # refused before any call


async def test_parameter_refusals_and_help_are_in_french(bot):
    await french(bot)

    refused = text_of(await owner(bot, "!ai params set temperature 5"))
    assert "`temperature` doit être un nombre de 0 à 2 ; valeur reçue : `5`." in refused, refused
    unknown = text_of(await owner(bot, "!ai params set warmth 1"))
    assert "Il n'existe aucun paramètre `warmth`. Choisissez parmi : temperature, top_p" in unknown, unknown

    shown = text_of(await owner(bot, "!ai params show"))
    assert (
        "- `max_tokens`: un nombre entier de 1 à 128000. Longueur maximale d'une réponse, en jetons." in shown
    )


@pytest.mark.discord_bursts  # the script types commands faster than people do
async def test_retry_status_and_failover_note_are_in_french(bot, provider, cog):
    async def short_sleep(seconds: float) -> None:  # the wait is announced, not really waited
        await asyncio.sleep(0.01)

    cog.engine.reliability.policy = RetryPolicy(max_attempts=2, retry_after_cap=5, status_after=3)
    cog.engine.reliability.sleep = short_sleep
    cog.pacer = Pacer(channel_interval=0.0)
    await french(bot)
    provider.script(Reply.error(429, retry_after=4), Reply.text("Salut !"))

    chat = await ask(bot, "bonjour")

    shown = [event.content or "" for event in chat.shown]
    assert any("Le fournisseur est occupé, nouvel essai dans 4 s…" in text for text in shown), shown
    assert chat.text == "Salut !"

    await owner(bot, f"!ai provider add dead http://127.0.0.1:{unused_port()}/v1")
    await owner(bot, "!ai model set global dead:x")
    await owner(bot, "!ai model fallbacks global mock:gpt-test")
    chat = await ask(bot, "bonjour")
    assert "réponse de mock:gpt-test, car dead était indisponible" in chat.text, chat.text


async def test_the_diagnostics_report_is_in_french(bot):
    await french(bot)

    text = text_of(await owner(bot, "!ai diag"))

    assert text.startswith("## Diagnostic de skynet"), text
    assert "**Modèle ici :** `mock:gpt-test` (source : global)" in text, text
    assert "**mock**" in text and "clé définie (`mock`)" in text and "✅ joignable" in text, text
    assert "**Erreurs récentes (partout) :** aucune depuis le chargement du cog" in text, text


async def test_a_new_bot_speaks_english(bot, provider):
    """Each test has its own Red (conftest): the French locale of another test does not leak."""
    await owner(bot, "!set api mock api_key,sk-wrong-key-123456")

    assert await chat(bot) == (
        "⚠️ **mock** rejected the API key. The bot owner can set a valid one with `!set api mock api_key,<key>`."
    )
