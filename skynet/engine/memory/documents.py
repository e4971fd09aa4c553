"""Documents for retrieval: text, markdown and PDF turned into overlapping, cited chunks.

Each chunk keeps the section it came from (a markdown heading, or a PDF page) so answers can cite
``[document › section]``. Parsing is CPU work: the service runs :func:`parse_document` in a thread.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import List, Optional, Tuple

from ..errors import InvalidValue
from ..i18n import _

MAX_BYTES = 5 * 1024 * 1024  # an attachment larger than this is refused before it is read
MAX_CHUNKS = 1500  # ~1 MB of text: a bigger document would crowd out everything else
CHUNK_CHARS = 900
OVERLAP_CHARS = 150
TEXT_TYPES = (".txt", ".md", ".markdown", ".rst", ".text")
PDF_TYPES = (".pdf",)
EXTENSIONS = {"text": ".txt", "markdown": ".md", "pdf": ".pdf"}
KIND_BY_EXTENSION = (("pdf", PDF_TYPES), ("markdown", (".md", ".markdown")))


class DocumentRefused(InvalidValue):
    kind = "document_refused"


@dataclass(frozen=True)
class Chunk:
    section: str
    text: str


def check_document(name: str, size: int) -> None:
    """Refuse unsupported types and oversized files before downloading them."""
    lower = name.lower()
    if not lower.endswith(TEXT_TYPES + PDF_TYPES):
        raise DocumentRefused(
            _(
                "`{name}` isn't a supported document. I can read text (.txt), markdown (.md) and PDF (.pdf) files."
            ).format(name=name)
        )
    if size > MAX_BYTES:
        raise DocumentRefused(
            _(
                "`{name}` is {size} MB; documents can be at most {limit} MB. Split it into smaller files."
            ).format(name=name, size=f"{size / 1048576:.1f}", limit=MAX_BYTES // 1048576)
        )


def parse_document(name: str, data: bytes, kind: Optional[str] = None) -> List[Chunk]:
    """The chunks of a document, or :class:`DocumentRefused` saying why it can't be used.
    ``kind`` (``text``, ``markdown`` or ``pdf``) overrides the type the name's extension implies:
    a document fetched from a URL is named by its title, which has no extension."""
    if kind is None:
        check_document(name, len(data))
        kind = next((k for k, ext in KIND_BY_EXTENSION if name.lower().endswith(ext)), "text")
    else:
        check_document(name + EXTENSIONS.get(kind, ".txt"), len(data))
    sections = _pdf_sections(name, data) if kind == "pdf" else _text_sections(name, data, kind == "markdown")
    chunks = [Chunk(section, piece) for section, text in sections for piece in split_with_overlap(text)]
    if not chunks:
        raise DocumentRefused(_("`{name}` has no text I can read.").format(name=name))
    if len(chunks) > MAX_CHUNKS:
        raise DocumentRefused(
            _(
                "`{name}` is too long ({parts} parts; the limit is {limit}). Split it into smaller files."
            ).format(name=name, parts=len(chunks), limit=MAX_CHUNKS)
        )
    return chunks


def _text_sections(name: str, data: bytes, markdown: bool) -> List[Tuple[str, str]]:
    if b"\x00" in data[:8192]:
        raise DocumentRefused(
            _(
                "`{name}` looks like a binary file, not text. I can read text (.txt), markdown (.md) and PDF (.pdf) "
                "files."
            ).format(name=name)
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DocumentRefused(
            _("`{name}` isn't UTF-8 text. Save it as UTF-8 and try again.").format(name=name)
        ) from None
    if markdown:
        return _markdown_sections(text)
    return [("text", text)]


def _markdown_sections(text: str) -> List[Tuple[str, str]]:
    """Split at headings; a section is named by its heading (nested headings joined with ›)."""
    sections: List[Tuple[str, str]] = []
    trail: List[str] = []
    current: List[str] = []

    def close() -> None:
        body = "\n".join(current).strip()
        if body:
            sections.append((" › ".join(trail) or "introduction", body))
        current.clear()

    for line in text.splitlines():
        heading = re.match(r"^(#{1,6})\s+(.+?)\s*#*\s*$", line)
        if heading:
            close()
            level = len(heading.group(1))
            trail[:] = trail[: level - 1] + [heading.group(2).strip()]
            continue
        current.append(line)
    close()
    return sections


def _pdf_sections(name: str, data: bytes) -> List[Tuple[str, str]]:
    from pypdf import PdfReader  # imported on use: only documents need it
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentRefused(
                _("`{name}` is password-protected. Upload an unprotected copy.").format(name=name)
            )
        return [(f"page {n}", page.extract_text() or "") for n, page in enumerate(reader.pages, 1)]
    except DocumentRefused:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        if "encrypt" in str(exc).lower() or "password" in str(exc).lower():
            raise DocumentRefused(
                _("`{name}` is password-protected. Upload an unprotected copy.").format(name=name)
            ) from None
        raise DocumentRefused(_("`{name}` isn't a readable PDF.").format(name=name)) from None


def split_with_overlap(text: str, size: int = CHUNK_CHARS, overlap: int = OVERLAP_CHARS) -> List[str]:
    """Pieces of at most ``size`` characters, cut at paragraph/sentence/word boundaries when
    possible, each starting ``overlap`` characters before the previous one ended."""
    text = re.sub(r"[ \t]+", " ", text).strip()
    if len(text) <= size:
        return [text] if text else []
    pieces: List[str] = []
    start = 0
    while start < len(text):
        end = min(len(text), start + size)
        if end < len(text):
            window = text[start:end]
            for boundary in ("\n\n", "\n", ". ", " "):
                cut = window.rfind(boundary)
                if cut > size // 2:
                    end = start + cut + len(boundary)
                    break
        pieces.append(text[start:end].strip())
        if end >= len(text):
            break
        start = max(end - overlap, start + 1)
        # start the overlap at a word boundary
        space = text.find(" ", start, end)
        if space != -1 and space - start < overlap:
            start = space + 1
    return [p for p in pieces if p]
