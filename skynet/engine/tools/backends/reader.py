"""The built-in page reader (no Firecrawl): fetch through the URL guard, extract the main text
with trafilatura (imported on first use, run off the event loop)."""

from __future__ import annotations

import asyncio
import html
import re
from typing import Optional, Tuple

from ...i18n import _
from ..guard import UrlGuard
from ..registry import ToolError
from .base import Document

_trafilatura = None


def _extract(page_html: str, url: str) -> tuple:
    global _trafilatura
    if _trafilatura is None:
        import trafilatura  # heavy import: only when the first page is read

        _trafilatura = trafilatura
    text = _trafilatura.extract(page_html, url=url, output_format="markdown", include_links=False) or ""
    title: Optional[str] = None
    try:
        meta = _trafilatura.extract_metadata(page_html)
        title = meta.title if meta is not None else None
    except Exception:
        title = None
    return text, title


def _fallback_title(page_html: str) -> Optional[str]:
    match = re.search(r"<title[^>]*>(.*?)</title>", page_html, re.I | re.S)
    return html.unescape(" ".join(match.group(1).split())) if match else None


def read_html(page_html: str, url: str) -> Tuple[str, Optional[str]]:
    """The main text of an HTML page (markdown) and its title: CPU work, run it in a thread."""
    text, title = _extract(page_html, url)
    return text, title or _fallback_title(page_html)


class PageReader:
    name = "builtin"
    needs = None

    def __init__(self, guard: UrlGuard) -> None:
        self._guard = guard

    def available(self) -> bool:
        return True

    async def scrape(self, url: str) -> Document:
        page = await self._guard.fetch(url)
        if page.content_type.startswith("text/html") or page.content_type.startswith("application/xhtml"):
            text, title = await asyncio.to_thread(read_html, page.text, page.url)
        else:
            text, title = page.text, None
        if not text.strip():
            raise ToolError(_("I couldn't find any readable text on that page."), "empty")
        return Document(page.url, title or page.url, text)
