"""An MCP ``CallToolResult`` as the model reads it.

Text parts are joined; images are kept aside as image parts (for a vision model and the reply)
and named in the text; resource links and embedded resources are named with their URI; audio is
named, not passed on. ``isError`` becomes a :class:`ToolError` the model reads as an error. The
text is capped (characters) before it reaches the model. Works on the result's fields by name,
so the ``mcp`` package isn't imported here.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, List, Tuple

from ...i18n import _
from ..registry import ToolError

MAX_IMAGES = 4
MAX_IMAGE_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class ToolImage:
    """An image a tool returned: its bytes and MIME type."""

    mime: str
    data: bytes

    def data_url(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"


class ToolText(str):
    """A tool's text result; ``images`` holds the images that came with it (may be empty)."""

    images: Tuple[ToolImage, ...] = ()

    @classmethod
    def with_images(cls, text: str, images: List[ToolImage]) -> "ToolText":
        value = cls(text)
        value.images = tuple(images)
        return value


def _field(item: Any, *names: str) -> Any:
    for name in names:
        value = item.get(name) if isinstance(item, dict) else getattr(item, name, None)
        if value is not None:
            return value
    return None


def cap(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return (
        text[:limit]
        + "\n"
        + _("…({count} more characters cut: the result was too long)").format(count=len(text) - limit)
    )


def convert(result: Any, limit: int) -> ToolText:
    """The result's text (capped at ``limit`` characters) with its images; raises ``ToolError``
    with the server's text when the result is flagged as an error."""
    parts: List[str] = []
    images: List[ToolImage] = []
    for item in _field(result, "content") or ():
        kind = _field(item, "type")
        if kind == "text":
            parts.append(str(_field(item, "text") or ""))
        elif kind == "image":
            image = _image(item)
            if image is None:
                parts.append(_("[an image that could not be read]"))
            elif len(images) >= MAX_IMAGES:
                parts.append(_("[another image, not passed on]"))
            else:
                images.append(image)
                parts.append(
                    _("[image {number}: {mime}, {size} KB]").format(
                        number=len(images), mime=image.mime, size=max(1, len(image.data) // 1024)
                    )
                )
        elif kind == "audio":
            parts.append(_("[an audio clip, not passed on]"))
        elif kind == "resource_link":
            name = _field(item, "title", "name") or ""
            parts.append(_("[resource “{name}”: {uri}]").format(name=name, uri=_field(item, "uri") or ""))
        elif kind == "resource":
            resource = _field(item, "resource") or {}
            text = _field(resource, "text")
            uri = _field(resource, "uri") or ""
            parts.append(
                _("[resource {uri}]").format(uri=uri) + ("\n" + str(text) if text is not None else "")
            )
    if not parts:
        structured = _field(result, "structuredContent", "structured_content")
        if structured is not None:
            parts.append(json.dumps(structured, ensure_ascii=False, default=str))
    text = "\n".join(p for p in parts if p) or _("(the tool returned nothing)")
    if _field(result, "isError", "is_error"):
        raise ToolError(cap(text, min(limit, 2000)), "mcp_error")
    return ToolText.with_images(cap(text, limit), images)


def _image(item: Any) -> "ToolImage | None":
    mime = str(_field(item, "mimeType", "mime_type") or "image/png")
    if not mime.startswith("image/"):
        return None
    try:
        data = base64.b64decode(_field(item, "data") or "", validate=True)
    except (binascii.Error, ValueError):
        return None
    if not data or len(data) > MAX_IMAGE_BYTES:
        return None
    return ToolImage(mime, data)
