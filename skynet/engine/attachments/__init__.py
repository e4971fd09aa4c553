"""Files members attach to a chat message: which are read, and how they are put in the question.

Text-like files (up to 200 kB) are inlined after the message with their filename, in a code block.
PNG, JPEG, GIF and WebP images (up to 20 MB) go to vision models as data URLs, downscaled to the
vision limits (see :mod:`.images` and :mod:`.vision`); every other type is refused with a clear
message. The message's own token limit still applies to
the inlined text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Optional

from ..errors import SkynetError
from ..i18n import _
from .vision import IMAGE_SUFFIXES as VISION_SUFFIXES
from .vision import IMAGE_TYPES, MAX_IMAGE_BYTES

MAX_TEXT_BYTES = 200 * 1024
MAX_FILES = 4
TEXT_SUFFIXES = frozenset(
    ".txt .md .markdown .rst .py .js .ts .tsx .jsx .json .jsonl .csv .tsv .yaml .yml .toml .ini .cfg "
    ".conf .log .xml .html .htm .css .scss .sql .sh .bash .ps1 .bat .c .h .cpp .hpp .cs .java .kt .go "
    ".rs .rb .php .lua .r .swift .dart .scala .pl .tex .env .gitignore .dockerfile".split()
)
IMAGE_SUFFIXES = frozenset(".png .jpg .jpeg .gif .webp .bmp".split())


class AttachmentRefused(SkynetError):
    kind = "attachment_refused"


@dataclass(frozen=True)
class AttachmentInfo:
    filename: str
    size: int
    content_type: Optional[str] = None

    @property
    def suffix(self) -> str:
        name = self.filename.lower()
        return PurePosixPath(name).suffix or (f".{name}" if name in ("dockerfile", ".env") else "")

    @property
    def is_text(self) -> bool:
        kind = (self.content_type or "").split(";")[0].strip().lower()
        return self.suffix in TEXT_SUFFIXES or kind.startswith("text/") or kind == "application/json"

    @property
    def is_image(self) -> bool:
        return self.suffix in IMAGE_SUFFIXES or (self.content_type or "").startswith("image/")

    @property
    def is_vision_image(self) -> bool:
        """An image a vision model takes (PNG, JPEG, GIF, WebP), by content type or else by name."""
        kind = (self.content_type or "").split(";")[0].strip().lower()
        return kind in IMAGE_TYPES if kind else self.suffix in VISION_SUFFIXES


def check(info: AttachmentInfo) -> None:
    """Refuse (with what to do) a file that will not be read; nothing is downloaded before this."""
    name = info.filename[:60]
    if info.is_image and not info.is_text:
        if not info.is_vision_image:
            raise AttachmentRefused(
                _("I can look at PNG, JPEG, GIF and WebP images; `{name}` isn't one.").format(name=name)
            )
        if info.size > MAX_IMAGE_BYTES:
            raise AttachmentRefused(
                _("`{name}` is {size} MB; images are sent up to 20 MB.").format(
                    name=name, size=info.size // (1024 * 1024)
                )
            )
        return
    if not info.is_text:
        raise AttachmentRefused(
            _("I can only read text files (.txt, .md, .py, .json, .csv…); `{name}` isn't one.").format(
                name=name
            )
        )
    if info.size > MAX_TEXT_BYTES:
        raise AttachmentRefused(
            _("`{name}` is {size} kB; text files are read up to 200 kB.").format(
                name=name, size=info.size // 1024
            )
        )


def inline(text: str, info: AttachmentInfo, raw: bytes) -> str:
    """``text`` followed by the file's content, fenced, with its filename."""
    try:
        body = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise AttachmentRefused(
            _("`{name}` is not UTF-8 text, so I can't read it.").format(name=info.filename[:60])
        ) from None
    fence = "````" if "```" in body else "```"
    language = info.suffix.lstrip(".")
    return f"{text}\n\nAttached file `{info.filename}`:\n{fence}{language}\n{body.rstrip()}\n{fence}"
