"""Images for vision models, made ready to send: decoded, downscaled, re-encoded, as data URLs.

Why data URLs and not the attachment's URL: local providers (Ollama, LM Studio, vLLM) cannot fetch
URLs, Discord's attachment URLs are signed and expire, and a 12-megapixel photo costs far more
image tokens than the model can use. So every image is read here, decoded with Pillow and:

- only the first frame of an animation (GIF, animated WebP) is kept;
- it is scaled down (never up, aspect kept) to fit in 2048 x 2048, then until its shorter side is
  at most 768 px: the largest size OpenAI's vision models look at ("high" detail) — a larger
  image is scaled to this by the provider anyway, so only the upload shrinks;
- it is re-encoded, which also drops the photo's metadata (EXIF, GPS position): PNG when it has
  transparency, or when it was a PNG that stays small (screenshots keep their sharp text),
  else JPEG at quality 85; the photo's EXIF orientation is applied first.

A file that claims to be an image but does not decode is refused with :class:`ImageUnreadable`.
Decoding is CPU work: the cog runs :func:`prepare_image` in a thread (:func:`prepare_image_async`).
"""

from __future__ import annotations

import asyncio
import base64
import io
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Tuple

from ..errors import SkynetError
from ..i18n import _

if TYPE_CHECKING:
    from PIL import Image

MAX_SIDE = 2048  # fit in MAX_SIDE x MAX_SIDE...
MAX_SHORT_SIDE = 768  # ...then the shorter side at most this
MAX_PIXELS = 64_000_000  # larger images are refused before decoding (a "decompression bomb" guard)
JPEG_QUALITY = 85
SMALL_PNG_BYTES = 300 * 1024  # an opaque PNG stays PNG if it encodes to at most this
# The first bytes of each image type a vision model takes, by MIME type.
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


class ImageUnreadable(SkynetError):
    kind = "attachment_refused"


@dataclass(frozen=True)
class PreparedImage:
    """An image ready to send: its encoded bytes, their MIME type, and its size before and after."""

    data: bytes
    mime: str
    size: Tuple[int, int]
    original_size: Tuple[int, int]

    @property
    def data_url(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"


def sniff_image(head: bytes) -> Optional[str]:
    """The MIME type the first bytes of a file announce (PNG, JPEG, GIF, WebP), or None."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return next((mime for magic, mime in _MAGIC if head.startswith(magic)), None)


def target_size(
    width: int, height: int, max_side: int = MAX_SIDE, max_short_side: int = MAX_SHORT_SIDE
) -> Tuple[int, int]:
    """The size an image of ``width`` x ``height`` is sent at: scaled down (never up), aspect kept,
    to fit in ``max_side`` squared, then until its shorter side is at most ``max_short_side``."""
    scale = min(1.0, max_side / max(width, height), max_short_side / min(width, height))
    if scale >= 1.0:
        return width, height
    return max(1, round(width * scale)), max(1, round(height * scale))


def _unreadable(name: str) -> ImageUnreadable:
    return ImageUnreadable(
        _(
            "`{name}` is not a readable image (it could not be decoded), so your message was not "
            "sent. Upload it again as a PNG, JPEG, GIF or WebP file, or send your message without it."
        ).format(name=name[:60])
    )


def _has_alpha(image: "Image.Image") -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)


def prepare_image(raw: bytes, name: str) -> PreparedImage:
    """Decode ``raw`` (the file ``name``), keep its first frame, downscale it to the vision limits
    and re-encode it. Raises :class:`ImageUnreadable` if it is not a decodable image."""
    # Pillow is imported on first use (in the worker thread): it would add to every `[p]load skynet`.
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # refused below
            image = Image.open(io.BytesIO(raw))
            source_format = image.format
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise ImageUnreadable(
                    _(
                        "`{name}` is {width}×{height} pixels; images can have at most {limit} "
                        "megapixels. Send a smaller version, or your message without it."
                    ).format(name=name[:60], width=width, height=height, limit=MAX_PIXELS // 1_000_000)
                )
            image.seek(0)  # the first frame of an animation
            size = target_size(width, height)
            if source_format == "JPEG":
                image.draft("RGB", size)  # decode a large JPEG at a reduced scale directly
            image.load()
            image = ImageOps.exif_transpose(image)
            size = target_size(*image.size)  # the orientation may have swapped the sides
            alpha = _has_alpha(image)
            image = image.convert("RGBA" if alpha else "RGB")
            if size != image.size:
                image = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    except ImageUnreadable:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError):
        raise _unreadable(name) from None
    if alpha or source_format == "PNG":
        buffer = io.BytesIO()
        image.save(buffer, "PNG", optimize=False)
        if alpha or buffer.tell() <= SMALL_PNG_BYTES:
            return PreparedImage(buffer.getvalue(), "image/png", image.size, (width, height))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return PreparedImage(buffer.getvalue(), "image/jpeg", image.size, (width, height))


async def prepare_image_async(raw: bytes, name: str) -> PreparedImage:
    """:func:`prepare_image` in a worker thread, so decoding never blocks the event loop."""
    return await asyncio.to_thread(prepare_image, raw, name)
