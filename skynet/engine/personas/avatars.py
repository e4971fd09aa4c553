"""Checking a persona's avatar before it is saved: the link must lead to a real image of at most
8 MB, fetched through the URL guard (:class:`~..tools.guard.UrlGuard`: public addresses only, also
after redirects; the owner's allow-list aside), and an attached file must really be an image.

The image is checked by its first bytes (PNG, JPEG, GIF, WebP) and then decoded by Pillow in a worker
thread, so a renamed text file or a damaged image is refused with a clear message. The link itself
is what is stored: Discord fetches the avatar when the webhook posts.
"""

from __future__ import annotations

import asyncio
import io

from ..attachments.images import sniff_image
from ..i18n import _
from ..tools.guard import Refused, UrlGuard
from ..tools.registry import ToolError
from .personas import PersonaError, check_avatar_url

MAX_AVATAR_BYTES = 8 * 1024 * 1024


def _decodes(data: bytes) -> bool:
    from PIL import Image  # imported on first use: it would add to every `[p]load skynet`

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()  # reads the whole file's structure without keeping the pixels
        return True
    except Exception:  # Pillow raises many kinds for broken files
        return False


async def check_avatar_bytes(data: bytes) -> None:
    """Refuse ``data`` unless it is a PNG, JPEG, GIF or WebP image that decodes, of at most 8 MB."""
    if len(data) > MAX_AVATAR_BYTES:
        raise PersonaError(_("That image is over 8 MB; choose a smaller one."))
    if sniff_image(data[:16]) is None or not await asyncio.to_thread(_decodes, data):
        raise PersonaError(_("An avatar must be an image (PNG, JPEG, GIF or WebP)."))


async def check_avatar_link(guard: UrlGuard, url: str) -> str:
    """``url`` (stripped) once it is known to lead to an image of at most 8 MB; otherwise a
    :class:`PersonaError` saying what is wrong with the link."""
    url = check_avatar_url(url.strip().strip("<>")) or ""
    try:
        page = await guard.fetch(url, accept_binary=True, max_bytes=MAX_AVATAR_BYTES)
    except Refused as exc:
        raise PersonaError(_("I can't use that avatar link: {reason}").format(reason=str(exc))) from None
    except ToolError as exc:
        if exc.kind == "too_large":
            raise PersonaError(_("The image at that link is over 8 MB; choose a smaller one.")) from None
        raise PersonaError(
            _(
                "I couldn't download the avatar from that link ({reason}). Check that it opens in a browser."
            ).format(reason=str(exc).rstrip("."))
        ) from None
    try:
        await check_avatar_bytes(page.body)
    except PersonaError:
        raise PersonaError(
            _("That link isn't an image (PNG, JPEG, GIF or WebP); link to the image file itself.")
        ) from None
    return url
