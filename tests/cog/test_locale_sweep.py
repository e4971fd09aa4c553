"""A server in French sees no English sentence of skynet's: a sweep over the commands members,
admins and owners use most (settings shown, refusals, help pages) finds none of the template's
English sentences in anything the bot sends."""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import List, Set

import polib
import pytest
from conftest import owner, say, text_of

from skynet_dev.harness import RedHarness
from skynet_dev.mock_openai import Reply

FRENCH = Path(__file__).resolve().parents[2] / "skynet" / "locales" / "fr-FR.po"

SWEEP = """!ai model show
!ai model list
!ai model fallbacks
!ai model set nope:nope
!ai params show
!ai params set temperature 9
!ai params set nope 1
!ai provider list
!ai provider timeout mock 0
!ai stats
!ai diag
!ai pricing show
!ai persona list
!ai persona show concise
!ai persona use nope
!ai myprompt show
!ai dm show
!ai timezone
!ai timezone Nowhere/Land
!ai tools enable nope
!ai listen show
!ai listen mode bogus
!ai budget show
!ai ratelimit show
!ai policy show
!ai memory show
!ai memories list
!ai history show
!ai docs list
!ai forget
!help ai""".splitlines()


def english_sentences() -> Set[str]:
    """Pieces of the template's texts (between placeholders) long enough to be prose, that the
    French translation does not also contain (commands and code stay the same in both)."""
    pieces = set()
    for entry in polib.pofile(str(FRENCH)):
        for literal, *_ in string.Formatter().parse(entry.msgid):
            for piece in re.split(r"`[^`]*`|\n", literal):
                piece = piece.strip(" .,:;()*-—#>")
                if len(piece) >= 18 and " " in piece and piece not in entry.msgstr:
                    pieces.add(piece)
    return pieces


def shown_text(red: RedHarness, since: Set[int]) -> List[str]:
    shown = []
    for message_id, message in red._messages.items():
        if message_id in since:
            continue
        shown.append(message.content)
        for embed in message.embeds:
            shown += [embed.get("title", ""), embed.get("description", ""), embed.get("footer", {}).get("text", "")]
            shown += [f"{f.get('name', '')}\n{f.get('value', '')}" for f in embed.get("fields", [])]
    return shown


@pytest.mark.discord_bursts  # the sweep types faster than people do
async def test_a_french_server_sees_no_english_sentence_of_skynets(bot):
    assert text_of(await owner(bot, "!set locale fr-FR"))
    before = set(bot._messages)
    for command in SWEEP:
        await owner(bot, command)
    await say(bot, "!ai pricing show")  # a member: told who may use it
    shown = "\n".join(shown_text(bot, before))
    assert "Modèle ici" in shown and "Seul le propriétaire du bot" in shown, shown[:500]
    assert "**Ce serveur :** 0 requête · " in shown, shown  # French counts 0 as singular
    english = sorted(piece for piece in english_sentences() if piece in shown)
    assert not english, f"English shown in a French server: {english}"


@pytest.mark.discord_bursts
async def test_a_passive_reply_fails_in_french_too(bot, provider):
    """Passive replies start from Red's message event, not a command: the locale must follow."""
    assert text_of(await owner(bot, "!set locale fr-FR"))
    await owner(bot, "!ai listen mode all")
    provider.script(Reply.error(401))
    shown = text_of(await say(bot, "bonjour tout le monde"))
    assert shown.startswith("⚠️ **mock** a refusé la clé API."), shown
