"""Documents added by URL: fetched through the tools' URL guard (http/https only, private
addresses refused unless the owner allow-listed the host, redirects re-checked, the documents' size
cap), then stored exactly like an attached file.

HTML is reduced to its main text the way the built-in page reader does; PDF is recognised by its
content type or its ``%PDF`` magic; other text is kept as is.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Optional
from urllib.parse import unquote, urlsplit

from ..i18n import _
from ..tools.backends.reader import read_html
from ..tools.guard import UrlGuard
from ..tools.registry import ToolError
from .documents import MAX_BYTES, DocumentRefused

HTML_TYPES = ("text/html", "application/xhtml+xml")
MARKDOWN_TYPES = ("text/markdown", "text/x-markdown")
MAX_NAME_CHARS = 100


@dataclass(frozen=True)
class WebDocument:
    name: str
    data: bytes
    kind: str  # text, markdown or pdf (see documents.parse_document)


def name_from_url(url: str) -> str:
    """The URL's last path segment (``guide.pdf``), or its host when the path is empty."""
    parts = urlsplit(url)
    segment = unquote(parts.path.rstrip("/").rpartition("/")[2]).strip()
    return (segment or parts.hostname or "document")[:MAX_NAME_CHARS]


async def fetch_document(guard: UrlGuard, url: str, max_bytes: int = MAX_BYTES) -> WebDocument:
    """Fetch ``url`` as a document, or raise a ``SkynetError`` saying why it can't be used."""
    try:
        page = await guard.fetch(url, accept_binary=True, max_bytes=max_bytes)
    except ToolError as exc:
        if exc.kind == "too_large":
            raise DocumentRefused(
                _(
                    "That document is larger than {limit} MB, the most I keep. Split it into smaller files."
                ).format(limit=max_bytes // 1048576)
            ) from None
        raise
    name, kind, body = name_from_url(page.url), page.content_type, page.body
    if kind == "application/pdf" or body[:5] == b"%PDF-":
        return WebDocument(name, body, "pdf")
    if kind.startswith(HTML_TYPES):
        text, title = await asyncio.to_thread(read_html, page.text, page.url)
        return WebDocument(_clean(title) or name, text.encode("utf-8"), "markdown")
    if kind.startswith(MARKDOWN_TYPES) or (
        kind.startswith("text/") and name.lower().endswith((".md", ".markdown"))
    ):
        return WebDocument(name, body, "markdown")
    if kind.startswith("text/") or not kind:
        return WebDocument(name, body, "text")  # binary data is refused when it is parsed
    raise DocumentRefused(
        _("That page is `{type}`, not a document. I can read text, markdown, HTML and PDF pages.").format(
            type=kind[:60]
        )
    )


def _clean(title: Optional[str]) -> str:
    return " ".join((title or "").replace("`", "'").split())[:MAX_NAME_CHARS]
