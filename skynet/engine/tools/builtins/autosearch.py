"""Autosearch: classify a request (search, scrape, crawl, deep research) and run it.

Deep research = search, read the best results concurrently through the scrape backend, and return
numbered sources (title + URL) the answer cites as ``[n]``.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import List, Tuple

from ..backends.base import Document, SearchHit
from ..registry import ToolError
from ..service import ToolService

URL_RE = re.compile(r"https?://[^\s<>\"']+", re.I)
CRAWL_WORDS = re.compile(r"\b(crawl|whole site|entire site|all pages|every page|site-wide)\b", re.I)
DEEP_WORDS = re.compile(
    r"\b(research|in[- ]depth|deep dive|compare|comparison|pros and cons|summari[sz]e .* sources|explain why|thorough|detailed)\b",
    re.I,
)
DEEP_SOURCES = 3
SOURCE_CHARS = 2500


@dataclass
class Source:
    number: int
    title: str
    url: str
    text: str


@dataclass
class AutosearchResult:
    mode: str
    query: str
    sources: List[Source] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    def as_text(self) -> str:
        if not self.sources:
            return f"({self.mode}) No results." + ("\n" + "\n".join(self.notes) if self.notes else "")
        body = "\n\n".join(f"[{s.number}] {s.title}\n{s.url}\n{s.text}".rstrip() for s in self.sources)
        cite = "Cite these sources in the answer as [n] and list them at the end as [n] title — URL."
        notes = ("\n" + "\n".join(self.notes)) if self.notes else ""
        return f"({self.mode}) {cite}\n\n{body}{notes}"

    def citations(self) -> str:
        return "\n".join(f"[{s.number}] {s.title} — <{s.url}>" for s in self.sources)


def classify(query: str) -> Tuple[str, str]:
    """The mode for ``query`` and the URL in it, if any."""
    match = URL_RE.search(query)
    url = match.group(0).rstrip(").,;") if match else ""
    if url:
        return ("crawl" if CRAWL_WORDS.search(query) else "scrape"), url
    if DEEP_WORDS.search(query) or len(query.split()) >= 14:
        return "deep", ""
    return "search", ""


async def autosearch(service: ToolService, query: str, mode: str = "auto") -> AutosearchResult:
    detected, url = classify(query)
    mode = detected if mode == "auto" else mode
    if mode in ("scrape", "crawl") and not url:
        mode = "search"
    result = AutosearchResult(mode, query)
    if mode == "scrape":
        doc = await service.scrape(url)
        result.sources.append(Source(1, doc.title, doc.url, _clip(doc.markdown, SOURCE_CHARS * 2)))
    elif mode == "crawl":
        docs = await service.crawl(url, 5, 2)
        result.sources += [
            Source(n, d.title, d.url, _clip(d.markdown, SOURCE_CHARS)) for n, d in enumerate(docs, 1)
        ]
    elif mode == "search":
        hits = await service.search(query, 5)
        result.sources += [Source(n, h.title, h.url, h.snippet) for n, h in enumerate(hits, 1)]
    else:
        await _deep(service, query, result)
    return result


async def _deep(service: ToolService, query: str, result: AutosearchResult) -> None:
    hits: List[SearchHit] = await service.search(query, 6)
    best = hits[:DEEP_SOURCES]
    pages = await asyncio.gather(*(service.scrape(hit.url) for hit in best), return_exceptions=True)
    number = 0
    for hit, page in zip(best, pages):
        number += 1
        if isinstance(page, Document) and page.markdown.strip():
            result.sources.append(
                Source(number, page.title or hit.title, hit.url, _clip(page.markdown, SOURCE_CHARS))
            )
        else:
            reason = page.message if isinstance(page, ToolError) else "couldn't be read"
            result.sources.append(Source(number, hit.title, hit.url, hit.snippet))
            result.notes.append(f"(Source [{number}] {reason}; only its snippet is included.)")
    for hit in hits[DEEP_SOURCES:]:
        number += 1
        result.sources.append(Source(number, hit.title, hit.url, hit.snippet))


def _clip(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + "…"
