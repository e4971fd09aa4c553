"""The built-in tools: web_search, scrape, crawl, autosearch, ping and calculator."""

from __future__ import annotations

import time
from typing import Any, Dict, List, Sequence

from ...i18n import _
from ..backends.base import Document, SearchHit
from ..registry import Tool, ToolContext, ToolError, object_schema
from ..service import MAX_QUERY_CHARS, ToolService
from .autosearch import autosearch
from .calculator import calculate, format_number

URL_SCHEMA = {
    "type": "string",
    "minLength": 1,
    "maxLength": 2000,
    "description": "An http:// or https:// URL",
}
QUERY_SCHEMA = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_QUERY_CHARS,
    "description": "What to search for",
}
PAGE_CHARS = 6000  # of one page's text in a tool result (the loop caps the whole result too)


# Tool results and descriptions are for the model: they stay English in every locale.


def format_hits(hits: Sequence[SearchHit]) -> str:
    if not hits:
        return "No results."
    return "\n".join(f"[{n}] {h.title}\n{h.url}\n{h.snippet}".rstrip() for n, h in enumerate(hits, 1))


def format_document(doc: Document, limit: int = PAGE_CHARS) -> str:
    text = doc.markdown.strip()
    if len(text) > limit:
        text = text[:limit] + "\n…(truncated)"
    return f"# {doc.title}\n{doc.url}\n\n{text}"


def format_documents(docs: List[Document], limit: int = PAGE_CHARS) -> str:
    if not docs:
        return "No pages were crawled."
    share = max(500, limit // len(docs))
    return "\n\n---\n\n".join(format_document(doc, share) for doc in docs)


def for_members(result: str) -> str:
    """A tool result shown by a direct command (``[p]ai search`` …): the fixed texts written for the
    model ("No results.") in the reader's locale; results with content are shown as they are."""
    if result == format_hits([]):
        return _("No results.")
    if result == format_documents([]):
        return _("No pages were crawled.")
    return result


def _quoted(text: Any, limit: int = 80) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def builtin_tools(service: ToolService) -> List[Tool]:
    """The tools skynet ships, bound to ``service``."""

    async def web_search(args: Dict[str, Any], ctx: ToolContext) -> str:
        return format_hits(await service.search(args["query"], args.get("max_results", 5)))

    async def scrape(args: Dict[str, Any], ctx: ToolContext) -> str:
        return format_document(await service.scrape(args["url"]))

    async def crawl(args: Dict[str, Any], ctx: ToolContext) -> str:
        return format_documents(
            await service.crawl(args["url"], args.get("max_pages", 5), args.get("max_depth", 2))
        )

    async def auto(args: Dict[str, Any], ctx: ToolContext) -> str:
        return (await autosearch(service, args["query"], args.get("mode", "auto"))).as_text()

    async def ping(args: Dict[str, Any], ctx: ToolContext) -> str:
        return f"pong (bot time {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())})"

    async def calculator(args: Dict[str, Any], ctx: ToolContext) -> str:
        return f"{args['expression']} = {format_number(calculate(args['expression']))}"

    def search_needs() -> str:
        options = _(" or ").join(b.needs for b in service.search_backends.values())
        return _("a search backend: {options}").format(options=options)

    def firecrawl_needs() -> str:
        return service.firecrawl.needs

    return [
        Tool(
            "web_search",
            "Search the web. Returns numbered results with title, URL and snippet. Use for current events and facts "
            "you don't know; cite results you use as [n] with their URL.",
            object_schema(
                {
                    "query": QUERY_SCHEMA,
                    "max_results": {"type": "integer", "minimum": 1, "maximum": 10, "default": 5},
                },
                ["query"],
            ),
            web_search,
            timeout=25,
            cooldown=2,
            needs=search_needs,
            available=lambda: service.search_backend() is not None,
            status=lambda a: _("🔎 Searching the web for “{query}”…").format(
                query=_quoted(a.get("query", ""))
            ),
            summary=lambda: _("Searches the web and cites the results it uses."),
        ),
        Tool(
            "scrape",
            "Read one web page and return its main text as markdown.",
            object_schema({"url": URL_SCHEMA}, ["url"]),
            scrape,
            timeout=30,
            cooldown=2,
            status=lambda a: _("📄 Reading <{url}>…").format(url=_quoted(a.get("url", ""), 120)),
            summary=lambda: _("Reads one web page."),
        ),
        Tool(
            "crawl",
            "Read several pages of one website, starting at a URL (bounded pages and depth).",
            object_schema(
                {
                    "url": URL_SCHEMA,
                    "max_pages": {"type": "integer", "minimum": 1, "maximum": 20, "default": 5},
                    "max_depth": {"type": "integer", "minimum": 1, "maximum": 3, "default": 2},
                },
                ["url"],
            ),
            crawl,
            timeout=120,
            cooldown=30,
            needs=firecrawl_needs,
            available=service.firecrawl.available,
            status=lambda a: _("🕸️ Crawling <{url}>…").format(url=_quoted(a.get("url", ""), 120)),
            summary=lambda: _("Reads several pages of one website."),
        ),
        Tool(
            "autosearch",
            "Research a question: decides between a web search, reading a page, crawling a site or deep research "
            "(search, read the best results, return numbered sources). Cite the sources in your answer as [n] "
            "and end with the list of sources used: [n] title — URL.",
            object_schema(
                {
                    "query": QUERY_SCHEMA,
                    "mode": {
                        "type": "string",
                        "enum": ["auto", "search", "scrape", "crawl", "deep"],
                        "default": "auto",
                    },
                },
                ["query"],
            ),
            auto,
            timeout=90,
            cooldown=10,
            needs=search_needs,
            available=lambda: service.search_backend() is not None,
            status=lambda a: _("🔎 Researching “{query}”…").format(query=_quoted(a.get("query", ""))),
            summary=lambda: _("Researches a question: searches, reads the best pages and cites its sources."),
        ),
        Tool(
            "ping",
            "Health check: answers pong with the bot's time.",
            object_schema({}),
            ping,
            timeout=5,
            status=lambda a: _("🏓 Pinging…"),
            summary=lambda: _("Checks that tools work: answers pong with the bot's time."),
        ),
        Tool(
            "calculator",
            "Evaluate an arithmetic expression exactly (+ - * / // % ** sqrt log sin cos tan pi e).",
            object_schema(
                {"expression": {"type": "string", "minLength": 1, "maxLength": 200}}, ["expression"]
            ),
            calculator,
            timeout=5,
            status=lambda a: _("🧮 Calculating `{expression}`…").format(
                expression=_quoted(a.get("expression", ""), 60)
            ),
            summary=lambda: _("Calculates arithmetic exactly (+ - * / % ** sqrt log sin cos tan pi e)."),
        ),
    ]


__all__ = ["builtin_tools", "for_members", "format_hits", "format_document", "format_documents", "ToolError"]
