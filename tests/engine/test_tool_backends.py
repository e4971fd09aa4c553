"""SerpAPI, SearXNG and Firecrawl faked at the HTTP level with their documented response shapes
(local servers reached through ``api_url``), and the built-in page reader (trafilatura)."""

from __future__ import annotations

import pytest

from skynet.engine.tools.builtins import builtin_tools
from skynet.engine.tools.builtins.autosearch import autosearch, classify
from skynet.engine.tools.builtins.calculator import calculate
from skynet.engine.tools.guard import UrlGuard
from skynet.engine.tools.registry import ToolContext, ToolError
from skynet.engine.tools.service import ToolService
from skynet_dev.fake_search import FakeBackends

KEY = "serp-key-0123456789abcdef"
FC_KEY = "fc-0123456789abcdef0123"


@pytest.fixture
async def fake():
    async with FakeBackends() as server:
        yield server


def dns(table):
    async def resolve(host):
        if host not in table:
            raise OSError("nx")
        return table[host], 300.0

    return resolve


@pytest.fixture
async def service(fake: FakeBackends):
    port = fake.url.rsplit(":", 1)[1]
    guard = UrlGuard(
        resolve=dns({"pages.test": ["127.0.0.1"], "docs.discord.red": ["93.184.216.34"]}),
        allow=[f"pages.test:{port}"],
    )
    svc = ToolService(guard)
    yield svc
    await svc.aclose()


async def test_serpapi_search_and_key_handling(service: ToolService, fake: FakeBackends) -> None:
    service.set_tokens("serpapi", {"api_key": KEY, "api_url": fake.url})
    hits = await service.search("red discord bot")
    assert [h.url for h in hits] == [
        "https://docs.discord.red/",
        "https://github.com/Cog-Creators/Red-DiscordBot",
    ]
    assert fake.requests[-1]["query"] == {
        "engine": "google",
        "q": "red discord bot",
        "num": "5",
        "api_key": KEY,
    }
    fake.mode = "error"
    with pytest.raises(ToolError) as error:
        await service.search("x")
    assert error.value.kind == "bad_key" and KEY not in error.value.message
    fake.mode = "malformed"
    with pytest.raises(ToolError, match="isn't valid JSON"):
        await service.search("x")


async def test_searxng_search(service: ToolService, fake: FakeBackends) -> None:
    service.set_tokens("searxng", {"api_url": fake.url + "/"})
    hits = await service.search("searx")
    assert [(h.title, h.url, h.snippet) for h in hits] == [("SearX A", "https://searx.example/a", "First.")]
    assert fake.requests[-1]["query"] == {"q": "searx", "format": "json"}
    fake.mode = "error"
    with pytest.raises(ToolError, match="error 500"):
        await service.search("searx")


async def test_backend_choice_and_missing_backend(service: ToolService, fake: FakeBackends) -> None:
    with pytest.raises(ToolError, match="No search backend"):
        await service.search("x")
    service.set_tokens("serpapi", {"api_key": KEY, "api_url": fake.url})
    service.set_tokens("firecrawl", {"api_key": FC_KEY, "api_url": fake.url})
    service.choice["search"] = "firecrawl"
    hits = await service.search("x")
    assert hits[0].title == "FC one"
    assert fake.requests[-1]["auth"] == f"Bearer {FC_KEY}"
    with pytest.raises(ToolError, match="too long"):
        await service.search("q" * 501)


async def test_firecrawl_scrape_and_crawl_check_the_url_first(
    service: ToolService, fake: FakeBackends
) -> None:
    service.set_tokens("firecrawl", {"api_key": FC_KEY, "api_url": fake.url})
    service.firecrawl.poll = 0.01
    doc = await service.scrape("https://docs.discord.red/page")
    assert (doc.title, doc.markdown) == ("Scraped title", "# Page\nContent of https://docs.discord.red/page")
    assert fake.requests[-1]["body"] == {
        "url": "https://docs.discord.red/page",
        "formats": ["markdown"],
        "onlyMainContent": True,
    }
    docs = await service.crawl("https://docs.discord.red/", max_pages=2)
    assert [d.title for d in docs] == ["P1", "P2"] and fake.crawl_polls == 2
    assert fake.requests[-3]["body"]["limit"] == 2
    before = len(fake.requests)
    for bad in ("http://169.254.169.254/", "http://127.0.0.1/", "file:///etc/passwd"):
        with pytest.raises(ToolError):
            await service.scrape(bad)
        with pytest.raises(ToolError):
            await service.crawl(bad)
    assert len(fake.requests) == before  # refused before Firecrawl was asked


async def test_builtin_reader_extracts_main_text(service: ToolService, fake: FakeBackends) -> None:
    port = fake.url.rsplit(":", 1)[1]
    doc = await service.scrape(f"http://pages.test:{port}/article")
    assert doc.title == "Cats and dogs"
    assert "Cats are independent" in doc.markdown and "Dogs are loyal" in doc.markdown
    assert "Menu Home About" not in doc.markdown


async def test_autosearch_deep_research_numbers_its_sources(service: ToolService, fake: FakeBackends) -> None:
    service.set_tokens("serpapi", {"api_key": KEY, "api_url": fake.url})
    service.set_tokens("firecrawl", {"api_key": FC_KEY, "api_url": fake.url})
    service.choice["search"] = "serpapi"
    result = await autosearch(service, "research the history of red discord bot in depth")
    assert result.mode == "deep"
    assert [(s.number, s.url) for s in result.sources] == [
        (1, "https://docs.discord.red/"),
        (2, "https://github.com/Cog-Creators/Red-DiscordBot"),
    ]
    assert "Content of https://docs.discord.red/" in result.sources[0].text
    text = result.as_text()
    assert "[1] Scraped title" in text and "Cite these sources" in text
    assert classify("what is on https://example.com/x?") == ("scrape", "https://example.com/x?")
    assert classify("crawl the whole site https://example.com") == ("crawl", "https://example.com")
    assert classify("weather in Paris")[0] == "search"


async def test_builtin_tools_ping_and_calculator(service: ToolService) -> None:
    tools = {t.name: t for t in builtin_tools(service)}
    assert set(tools) == {"web_search", "scrape", "crawl", "autosearch", "ping", "calculator"}
    assert (
        not tools["web_search"].available() and not tools["crawl"].available() and tools["scrape"].available()
    )
    assert (await tools["ping"].handler({}, ToolContext())).startswith("pong")
    assert (
        await tools["calculator"].handler({"expression": "2**10 + sqrt(16)"}, ToolContext())
        == "2**10 + sqrt(16) = 1028"
    )
    assert calculate("7 / 2") == 3.5
    for bad in ("__import__('os').system('id')", "9**9**9", "1/0", "a.b", "(lambda: 1)()", "[1]*10**9"):
        with pytest.raises(ToolError):
            calculate(bad)
