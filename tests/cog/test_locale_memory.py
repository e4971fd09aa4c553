"""The memory commands in French: the owner sets the server's language with Red's own
`[p]set locale fr-FR`, and replies, refusals (from the commands and from the memory engine, even
when it parses a document in a worker thread) come back in French. The next test's bot, a fresh
one, answers in English again."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import owner, text_of

# The owner and the admin type faster than people do: only message bodies are checked here.
pytestmark = pytest.mark.discord_bursts


async def say(red, content: str, **kwargs) -> str:
    before = {m.id for m in red.messages()}
    await red.say(content, **kwargs)
    await red.settle()
    return text_of([m for m in red.messages() if m.id not in before])


async def test_memory_commands_answer_in_the_servers_language(mem, tmp_path: Path):
    # Red's own reply is already in French ("Le langage a été défini.").
    assert "langage" in text_of(await owner(mem, "!set locale fr-FR"))

    # A normal reply, with the scope label translated too.
    assert await say(mem, "!ai memory policy channel messages 40", author=mem.admin) == (
        "Mémoire `messages` pour ce salon réglée sur `40`."
    )
    assert await say(mem, "!ai memory policy", author=mem.admin) == (
        "Dans ce salon : **40** messages, **3000** jetons, oubliés après **6h**."
    )
    assert await say(mem, "!ai history view") == "Je ne me souviens de rien de ce que vous avez dit ici."

    # Refusals (⚠️): a command's own, and ones raised by the memory engine.
    assert await say(mem, "!ai memory show") == (
        "⚠️ Seuls les admins du serveur (ou les membres ayant la permission Gérer le serveur) peuvent faire cela."
    )
    assert await say(mem, "!ai memory policy messages 1", author=mem.admin) == (
        "⚠️ `messages` doit être un nombre entier de 2 à 200."
    )
    assert await say(mem, "!ai incognito on") == (
        "🕶️ Mode incognito activé : rien de ce que vous dites n'est conservé tant que vous ne le désactivez pas."
    )
    assert await say(mem, "!ai remember I like tea") == (
        "⚠️ Vous êtes en mode incognito : je ne conserve rien. `!ai incognito off` le désactive."
    )
    # Parsed in a worker thread: the server's language goes along.
    binary = tmp_path / "notes.txt"
    binary.write_bytes(bytes(range(256)) * 10)
    assert await say(mem, "!ai docs add", author=mem.admin, attachments=[binary]) == (
        "⚠️ `notes.txt` semble être un fichier binaire, pas du texte. "
        "Je lis les fichiers texte (.txt), markdown (.md) et PDF (.pdf)."
    )


async def test_a_new_bot_answers_in_english(mem):
    """Red keeps the language per bot (its Config): the French of the test above does not leak."""
    assert await say(mem, "!ai history view") == "I don't remember anything you said here."
    assert await say(mem, "!ai memory policy messages 1", author=mem.admin) == (
        "⚠️ `messages` must be a whole number from 2 to 200."
    )
