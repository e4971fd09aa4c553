"""The personas / prompts / attachments area in French: after the server's owner runs
``[p]set locale fr-FR``, persona commands, their refusals, built-in persona descriptions and the
image refusal of the chat path answer in French (and in English elsewhere, see test_personas)."""

from __future__ import annotations

from pathlib import Path
from typing import List

import pytest
from conftest import owner, text_of

from skynet_dev.harness import BotMessage, RedHarness
from skynet_dev.mock_openai import Reply

pytestmark = pytest.mark.discord_bursts  # the owner and admin type faster than people do


async def said(red: RedHarness, content: str, **kwargs) -> List[BotMessage]:
    before = {m.id for m in red.messages()}
    await red.say(content, **kwargs)
    await red.settle()
    return [m for m in red.messages() if m.id not in before]


@pytest.fixture
async def french(bot: RedHarness) -> RedHarness:
    await owner(bot, "!set locale fr-FR")  # this server's locale
    return bot


async def test_persona_list_and_refusals_answer_in_french(french: RedHarness):
    shown = text_of(await said(french, "!ai persona list"))
    assert "Personas disponibles ici (aucun actif : le prompt système configuré est utilisé) :" in shown, shown
    assert "- `concise` [intégré] Des réponses courtes et directes." in shown
    assert "Activez-en un avec `!ai persona use <name>`." in shown

    refused = text_of(await said(french, "!ai persona create teacher Hi.", author=french.admin))
    assert "`teacher` est le nom d'un persona intégré ; choisissez un autre nom." in refused, refused
    refused = text_of(await said(french, f"!ai persona create {'x' * 40} Hi.", author=french.admin))
    assert "Un nom de persona fait de 1 à 32 caractères" in refused, refused

    created = text_of(await said(french, "!ai persona create pirate Arr.", author=french.admin))
    assert created == "Persona `pirate` créé pour ce serveur. Activez-le avec `!ai persona use pirate`."
    used = text_of(await said(french, "!ai persona use pirate", author=french.admin))
    assert used == "Le persona `pirate` est maintenant actif pour ce serveur."
    shown = text_of(await said(french, "!ai persona list"))
    assert shown.startswith("Personas disponibles ici :") and "`pirate` [serveur]  ← actif" in shown, shown


async def test_an_unreadable_image_is_refused_in_french(french: RedHarness, provider, tmp_path: Path):
    broken = tmp_path / "chat.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)
    provider.script(Reply.text("never"))
    refused = text_of(await said(french, "!ai chat c'est quoi ?", attachments=[broken]))
    assert "`chat.png` n'est pas une image lisible" in refused, refused
    assert "votre message n'a donc pas été envoyé" in refused
    assert provider.chat_requests == []
