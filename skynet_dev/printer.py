"""How the console shows what a member sees: messages with their embeds and files, each streamed
edit as the text it adds, reactions and menus, typing, DMs and webhook (persona) names."""

from __future__ import annotations

from typing import Callable, Dict, List, Optional, TextIO, Tuple

from skynet_dev.harness import BotEvent
from skynet_dev.markup import NameLookup, render_markup

BOT_NAME = "Skynet"  # the console bot's name in help headers, {bot} and mentions
MENU_CONTROLS = {
    "<": "\N{LEFTWARDS BLACK ARROW}\N{VARIATION SELECTOR-16}",
    ">": "\N{BLACK RIGHTWARDS ARROW}\N{VARIATION SELECTOR-16}",
    "x": "\N{CROSS MARK}",
}
TEXT_PREVIEW = 300  # characters of a text file shown inline


def render_embed(embed: dict) -> str:
    """An embed as indented text: title, description, fields, footer (what Discord shows)."""
    lines: List[str] = []
    author = (embed.get("author") or {}).get("name")
    if author:
        lines.append(author)
    if embed.get("title"):
        lines.append(f"[{embed['title']}]" + (f" <{embed['url']}>" if embed.get("url") else ""))
    if embed.get("description"):
        lines.append(embed["description"])
    for field in embed.get("fields") or []:
        lines.append(f"▸ {field.get('name', '')}")
        lines.extend("  " + line for line in str(field.get("value", "")).splitlines())
    footer = (embed.get("footer") or {}).get("text")
    if footer:
        lines.append(f"— {footer}")
    body = "\n".join("  │ " + line for line in "\n".join(lines).splitlines())
    return "\n  ┌ embed\n" + body


def render_file(name: str, data: bytes) -> str:
    line = f"\n  📎 {name} ({len(data):,} bytes)"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return line
    preview = text[:TEXT_PREVIEW] + ("…" if len(text) > TEXT_PREVIEW else "")
    return line + "\n" + "\n".join("  ┆ " + part for part in preview.splitlines())


class StreamPrinter:
    """Prints what a member sees: messages (content, embeds, files), each streamed edit as the
    text it adds, reactions, and who sent it (a webhook's display name). Mentions and timestamps
    are shown as Discord shows them (``names`` finds the names)."""

    def __init__(
        self,
        out: TextIO,
        files: Optional[Dict[int, List[Tuple[str, bytes]]]] = None,
        names: Optional[NameLookup] = None,
        dm_channels: Optional[Callable[[int], bool]] = None,
    ) -> None:
        self._out = out
        self._is_dm = dm_channels or (lambda channel_id: False)
        self._typing_shown = False
        self._files = files if files is not None else {}
        self._names = names
        self._shown: Dict[int, str] = {}
        self._who: Dict[int, str] = {}  # who sent each message: edits of a webhook's carry no name
        self._current: Optional[int] = None
        self._reacted: Dict[int, List[str]] = {}
        self._embeds: Dict[int, List[dict]] = {}
        self.menu: Optional[Tuple[int, int]] = None  # (channel id, message id) of the last menu

    def render(self, event: BotEvent, embeds: List[dict]) -> str:
        text = event.content or ""
        for embed in embeds:
            text += render_embed(embed)
        text = render_markup(text, self._names)  # not in files: a file is shown as it is
        for name, data in self._files.get(event.message_id or 0, []):
            text += render_file(name, data)
        if event.ephemeral:
            text += "\n  (only you can see this)"
        return text

    def __call__(self, event: BotEvent) -> None:
        if event.kind == "reaction":
            self._reaction(event)
            return
        if event.kind in ("typing", "defer") and not self._typing_shown:
            self._typing_shown = True  # once per turn, as Discord's "Skynet is typing…" line
            self._write(f"\n{BOT_NAME} is typing…" if event.kind == "typing" else f"\n{BOT_NAME} is thinking…")
            self._current = None
            return
        if event.kind not in ("send", "edit") or event.message_id is None:
            return
        if "embeds" in event.payload or event.kind == "send":
            self._embeds[event.message_id] = list(event.payload.get("embeds") or [])
        # A content-only edit keeps the message's embeds (and files).
        text = self.render(event, self._embeds.get(event.message_id, []))
        before = self._shown.get(event.message_id)
        if event.payload.get("username"):  # a webhook message shows its own display name
            self._who[event.message_id] = f"{event.payload['username']} (webhook)"
        who = self._who.get(event.message_id, "skynet")
        if self._is_dm(event.channel_id):  # Red sends long help (and DMs' answers) there
            who += " (DM to you)"
        if before is None or event.message_id != self._current:
            prefix = f"\n{who} › " if before is None else f"\n{who} (edited) › "
            self._write(prefix + text)
        elif text.startswith(before):
            self._write(text[len(before) :])
        else:  # rewritten rather than extended (a note replaced the tail, a menu turned a page)
            self._write(f"\n{who} (edited) › " + text)
        self._shown[event.message_id] = text
        self._current = event.message_id

    def _reaction(self, event: BotEvent) -> None:
        emoji = event.content or ""
        seen = self._reacted.setdefault(event.message_id or 0, [])
        self._write((" " if seen else "\n  reactions: ") + emoji)
        seen.append(emoji)
        if emoji in MENU_CONTROLS.values() and self.menu != (event.channel_id, event.message_id):
            self.menu = (event.channel_id, event.message_id or 0)
        if set(MENU_CONTROLS.values()) <= set(seen) and len(seen) == 3:
            self._write("  (a menu: type `>` or `!next`, `<` or `!prev` to turn pages)")
        self._current = None

    def end_turn(self) -> None:
        if self._current is not None or self._typing_shown:
            self._write("\n")
        self._current = None
        self._typing_shown = False

    def _write(self, text: str) -> None:
        self._out.write(text)
        self._out.flush()


