"""What the demo echo adds after its text: what the model was given that shapes an answer (the
system prompt, so a persona shows; other system blocks with their items, so recalled memories
show; the tools offered). ``skynet_dev.mock_openai``'s demo server turns it on."""

from __future__ import annotations

from typing import Any


def content_text(content: Any) -> str:
    """Flatten a message ``content`` (a string or a list of parts) to text."""
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content if isinstance(content, str) else ""


def _short(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def what_the_model_was_given(body: dict[str, Any]) -> str:
    """Small-print lines after an echo: the system prompt (a persona's, if one is active), the
    first line and items of every other system block (recalled memories, documents), the tools."""
    systems = [content_text(m.get("content")) for m in body.get("messages", []) if m.get("role") == "system"]
    lines = []
    if systems:
        lines.append(f"system prompt: {_short(systems[0])}")
    for block in systems[1:]:
        rows = [row.strip() for row in block.splitlines() if row.strip()]
        if rows:
            items = [_short(row[2:], 70) for row in rows[1:] if row.startswith("- ")][:3]
            lines.append(_short(rows[0], 60) + (f" {'; '.join(items)}" if items else ""))
    tools = [t.get("function", {}).get("name", "?") for t in body.get("tools") or []]
    if tools:
        lines.append("tools offered: " + ", ".join(tools))
    return "".join(f"\n-# {line}" for line in lines)
