"""The tools area in French: a server owner runs Red's ``[p]set locale fr-FR`` and the assistant's
tool commands, their refusals (from the cog and from deep in the engine) and the status line shown
while the model searches all read in French; a fresh bot answers in English again."""

from __future__ import annotations

from typing import AsyncIterator

import pytest
from aiohttp import web
from conftest import owner, say, text_of

from skynet_dev.fake_search import FakeBackends
from skynet_dev.harness import RedHarness
from skynet_dev.mock_openai import MockOpenAI, Reply


@pytest.fixture
async def search() -> AsyncIterator[FakeBackends]:
    async with FakeBackends() as server:
        yield server


@pytest.fixture
async def empty_searxng() -> AsyncIterator[str]:
    """A SearXNG that finds nothing."""
    app = web.Application()
    app.router.add_get("/search", lambda request: web.json_response({"query": "", "results": []}))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture
async def french(bot: RedHarness) -> RedHarness:
    # Red itself confirms in the new language.
    assert text_of(await owner(bot, "!set locale fr-FR")) == "Le langage a été défini."
    return bot


async def test_tool_switches_and_refusals_in_french(french: RedHarness) -> None:
    reply = text_of(await owner(french, "!ai tools enable web_search"))
    assert reply.startswith("`web_search` est désormais activé pour ce serveur. ")
    assert "Il sera proposé dès que le propriétaire aura configuré un moteur de recherche : " in reply
    assert "`!set api serpapi api_key,<key>` ou `!set api searxng" in reply  # commands stay as typed

    listing = text_of(await say(french, "!ai tools list"))
    assert "**web_search** ✅ activé (ce serveur) : non proposé tant que le propriétaire" in listing
    assert "**calculator** ⛔ désactivé (par défaut)" in listing
    # What each tool does is in French too (the model's own description stays English).
    assert "  Calcule exactement une expression arithmétique" in listing
    assert "Evaluate an arithmetic" not in listing and "Search the web" not in listing
    assert "Activez un outil avec `!ai tools enable [scope] <tool>` (`all` pour tous les outils)." in listing

    refused = text_of(await say(french, "!ai tools info nope"))
    assert refused.startswith("⚠️ Il n'existe pas d'outil `nope`. Outils : autosearch, calculator")
    # The tool-policy refusal from the cog's gate, on a direct command.
    refused = text_of(await say(french, "!ai scrape https://example.com"))
    assert (
        "L'outil `scrape` est désactivé ici ; un administrateur peut l'activer avec `!ai tools enable scrape`."
        in refused
    )


@pytest.mark.discord_bursts  # the script types commands faster than people do
async def test_engine_refusals_and_status_line_in_french(
    french: RedHarness, provider: MockOpenAI, search: FakeBackends
) -> None:
    await owner(french, "!ai tools enable all")
    refused = text_of(await say(french, "!ai search searx"))
    assert (
        "`web_search` n'est pas configuré : le propriétaire du bot doit configurer un moteur de recherche"
        in refused
    )
    await owner(french, f"!set api searxng api_url,{search.url}")
    # Raised by the URL guard in the Discord-free engine, shown through the translation hook.
    refused = text_of(await say(french, "!ai scrape http://169.254.169.254/latest/meta-data/"))
    assert "Cette adresse est sur un réseau privé ; je ne peux pas la récupérer." in refused
    refused = text_of(await say(french, "!ai search " + "q" * 600))
    assert "`query` doit comporter au plus 500 caractères." in refused

    provider.script(
        Reply.call("web_search", {"query": "searx"}),
        Reply.text("SearX A le dit en premier [1]."),
    )
    start = len(french.events)
    await french.say("!ai chat que dit searx ?")
    await french.settle(timeout=20)
    shown = [e.content for e in french.events[start:] if e.kind in ("send", "edit")]
    assert "*🔎 Recherche sur le web de « searx »…*" in shown  # the status line, then replaced
    assert shown[-1].startswith("SearX A le dit en premier [1].")
    # What the model reads stays English: the tool descriptions it was offered.
    offered = {
        t["function"]["name"]: t["function"]["description"] for t in provider.chat_requests[0]["tools"]
    }
    assert offered["web_search"].startswith("Search the web.")


@pytest.mark.discord_bursts  # the script types commands faster than people do
async def test_search_backend_answers_in_french(
    french: RedHarness, search: FakeBackends, empty_searxng: str
) -> None:
    await owner(french, "!ai tools enable web_search")
    await owner(french, f"!set api searxng api_url,{search.url}")
    search.mode = "error"
    refused = text_of(await say(french, "!ai search searx"))
    assert refused == "⚠️ Le service searxng a répondu avec l'erreur 500."
    await owner(french, f"!set api searxng api_url,{empty_searxng}")
    # Another user than the one above (whose cooldown may still run).
    assert text_of(await owner(french, "!ai search nothing at all")) == "Aucun résultat."


async def test_a_fresh_bot_answers_in_english_again(bot: RedHarness) -> None:
    """The French of the tests above does not leak into the next harness (other modules' tests)."""
    refused = text_of(await say(bot, "!ai tools info nope"))
    assert refused.startswith("⚠️ There is no tool `nope`. Tools: autosearch, calculator")
    reply = text_of(await owner(bot, "!ai tools enable web_search"))
    assert reply.startswith("`web_search` is now on for this server. It is offered once the owner sets up")
