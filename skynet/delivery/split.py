"""Split a Markdown reply into Discord-sized messages, stably while the reply streams in.

``split_message(text, limit)`` returns non-empty chunks of at most ``limit`` characters (Python
``len``: code points, as Discord counts). Empty or whitespace-only text gives ``[]``. Blank lines
and trailing whitespace around the reply and at each cut are dropped (spaces too at a mid-line
cut); the indentation of the line a chunk starts on is kept.

Cuts, best class first, the latest cut of a class winning: blank line > line break > sentence end
> whitespace (all outside fenced code, inline code spans and links) > whitespace inside a span or
link > line break inside a code block (the fence is closed at the end of the chunk and reopened
with its info string in the next one) > hard cut (never just before a combining mark, ZWJ or skin
tone when avoidable). A class only wins if it fills half the chunk, see ``_find_cut``.

Prefix stability: the streamer re-splits the whole, growing text on every refresh. The cut ending
a chunk is a pure function of ``text[start : start + room + 1]`` (``room`` = ``limit`` minus a
reopened fence), and a chunk only stops being the last one once the text is that long. So no
lookahead margin is needed (``LOOKAHEAD == 0``): once a chunk is followed by another one it never
changes again, whatever is appended.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Dict, List, NamedTuple, Optional, Tuple

DISCORD_LIMIT = 2000
LOOKAHEAD = 0  # characters a non-final chunk must be followed by before it is frozen (see above)

# Boundary classes, best first; the first five are outside fenced code.
PARA, LINE, SENTENCE, SPACE, SPAN, CODE_LINE = range(6)

_FENCE_RE = re.compile(r"[ \t]*(`{3,}|~{3,})(.*)")
_SPECIAL_RE = re.compile(r"`+|\]\(?|[\[)]")
# A sentence end is cut at the space after it; CJK full stops need no space: cut right after them.
_SENTENCE_RE = re.compile(r"[.!?][\"')*_]?(?=[ \t])|[。！？]")
_NONWS_RE = re.compile(r"\S")
_ZWJ = "\u200d"


class _Fence(NamedTuple):
    opener: str  # the opening line as written, e.g. "```python"
    closer: str  # the run that closes it, e.g. "```"


Cut = Tuple[int, Optional[_Fence]]  # (index where the chunk's text ends, fence open there)


def _after_line(line: str, fence: Optional[_Fence]) -> Optional[_Fence]:
    """Fence state after a complete line. Any indentation is accepted: LLMs indent code in lists."""
    m = _FENCE_RE.match(line)
    if not m:
        return fence
    run, info = m.groups()
    if fence is None:
        # A backtick "fence" whose info string holds a backtick is inline code: ```x``` on a line.
        return None if run[0] == "`" and "`" in info else _Fence(line.strip(), run)
    closes = run[0] == fence.closer[0] and len(run) >= len(fence.closer) and not info.strip()
    return None if closes else fence


def _wrap(fence: Optional[_Fence], limit: int) -> Tuple[str, str]:
    """The (reopen, close) strings added to a chunk that starts/ends inside ``fence``."""
    if fence is None:
        return "", ""
    reopen, close = fence.opener + "\n", "\n" + fence.closer
    # A huge info string (or a tiny limit) would leave no room for content: split without fences.
    return (reopen, close) if len(reopen) + len(close) <= limit // 2 else ("", "")


def _joins(ch: str) -> bool:
    """Whether ``ch`` continues the previous character's grapheme: no hard cut right before it."""
    skin_tone = "\U0001f3fb" <= ch <= "\U0001f3ff"
    return ch == _ZWJ or skin_tone or unicodedata.category(ch) in ("Mn", "Mc", "Me")


def _next_start(text: str, cut: int) -> Tuple[int, bool]:
    """Skip the whitespace after a cut but keep the indentation of the line we land on.

    Returns the start and whether it is at the start of a line (where fences are recognised).
    """
    m = _NONWS_RE.search(text, cut)
    q = m.start() if m else len(text)
    nl = text.rfind("\n", max(cut - 1, 0), q)
    at_ls = cut == 0 or nl >= 0
    return (nl + 1 if at_ls else q), at_ls


def _masked(text: str, ls: int, hi: int, le: int, partial: bool) -> List[Tuple[int, int]]:
    """The inline code spans and links in ``text[ls:hi]`` as (start, end); open ones end at hi."""
    spans: List[Tuple[int, int]] = []
    code_run, opened, link = "", 0, 0  # open span's backtick run; link: 1 in [text], 2 in (url)
    for m in _SPECIAL_RE.finditer(text, ls, hi):
        tok, i = m.group(), m.start()
        if tok[0] == "`":
            # Only a run with a matching closer opens a span (CommonMark); if the line runs past the
            # window the closer may still come, so assume it does.
            if not code_run and (partial or text.find(tok, m.end(), le) >= 0):
                code_run, opened = tok, i
            elif tok == code_run:
                code_run = ""
                spans.append((opened, m.end()))
        elif code_run:
            continue
        elif tok == "[" and (partial or text.find("](", i, le) >= 0):
            link, opened = 1, i
        elif tok == "](" and link == 1:
            link = 2
        elif (tok == "]" and link == 1) or (tok == ")" and link == 2):
            link = 0
            spans.append((opened, m.end()))
    if code_run or link:
        spans.append((opened, hi))
    return spans


def _scan_inline(text: str, ls: int, le: int, partial: bool, lo: int, top: int, best: Dict[int, Cut]) -> None:
    """Record the latest mid-line cuts ``lo <= p <= top`` of the prose line ``text[ls:le]``.

    ``partial``: the line runs past the window, so its end is unknown.
    """
    hi = min(le, top + 1)
    spans = _masked(text, ls, hi, le, partial)

    def masked(p: int) -> bool:
        return any(a < p < b for a, b in spans)

    for m in _SENTENCE_RE.finditer(text, ls, hi):
        if lo <= m.end() <= top and not masked(m.end()):
            best[SENTENCE] = (m.end(), None)
    p, span_seen = hi, False
    while True:  # the latest whitespace, then keep going back past the ones in spans/links
        p = max(text.rfind(" ", ls, p), text.rfind("\t", ls, p))
        if p < lo:
            break
        if not masked(p):
            best[SPACE] = (p, None)
            break
        if not span_seen:
            best[SPAN], span_seen = (p, None), True


def _cumulative(best: Dict[int, Cut]) -> List[Optional[Cut]]:
    """For each outside-code class, the latest recorded cut of that class or a better one."""
    out: List[Optional[Cut]] = []
    latest: Optional[Cut] = None
    for cls in range(SPAN + 1):
        cut = best.get(cls)
        if cut and (latest is None or cut[0] > latest[0]):
            latest = cut
        out.append(latest)
    return out


def _find_cut(
    text: str, start: int, first: int, room: int, limit: int, fence: Optional[_Fence], at_ls: bool
) -> Cut:
    """Choose where the chunk starting at ``start`` (inside ``fence``) ends."""
    w_end = start + room + 1  # never read past this: it is what makes the split prefix-stable
    best: Dict[int, Cut] = {}
    prose: List[Tuple[int, int, bool]] = []  # lines outside code, for mid-line cuts if needed
    hard: Cut = (first + 1, fence)
    ls, state = start, fence
    last = start + room - len(_wrap(fence, limit)[1])  # furthest cut that fits inside ``state``
    while True:
        le = text.find("\n", ls, w_end)
        complete = le >= 0
        le = le if complete else w_end
        is_fence_line = at_ls and _FENCE_RE.match(text, ls, le) is not None
        # Hard cut: as far as fits; mid-line the fence state is that of the line's start. (At the
        # newline itself a line-end cut below is always available, except after an opening fence.)
        p = min(le - 1 if complete else le, last)
        if p > max(ls, first):
            hard = (p, state)
        if state is None and not is_fence_line:
            prose.append((ls, le, not complete))
        if not complete:
            break
        after = _after_line(text[ls:le], state) if is_fence_line else state
        if after is not state:
            last = start + room - len(_wrap(after, limit)[1])
        if first < le <= last:
            if after is None:
                nl = text.find("\n", le + 1, w_end)
                best[PARA if nl >= 0 and not text[le + 1 : nl].strip() else LINE] = (le, None)
            elif state is None:  # right after an opening fence: only good as a hard cut
                hard = (le, after)
            elif text[ls:le].strip():  # a code line (blank ones add nothing)
                best[CODE_LINE] = (le, after)
        ls, state, at_ls = le + 1, after, True

    # Anti-tiny-chunk rule: a class wins only if its latest cut (of that class or better) fills at
    # least half the room, else we try the next class (a line break at 1990 beats a blank line at
    # 50). If no outside-code class reaches half, the best class wins anyway: a short chunk beats
    # splitting a code block, an inline span or a word. Mid-line cuts rank below line cuts, so the
    # prose lines are only scanned for them when the line cuts did not settle it.
    half = start + room // 2
    for scan in (False, True):
        if scan:
            for ls, le, partial in prose:
                _scan_inline(text, ls, le, partial, first + 1, start + room, best)
        cumulative = _cumulative(best)
        for cut in cumulative[:SPAN]:
            if cut and cut[0] >= half:
                return cut
    for cut in (*cumulative, best.get(CODE_LINE)):
        if cut:
            return cut
    p, state = hard
    lo = max(first + 1, p - 32)
    while p > lo and (_joins(text[p]) or text[p - 1] == _ZWJ):
        p -= 1
    return p, state


def split_message(text: str, limit: int = DISCORD_LIMIT) -> List[str]:
    """Split ``text`` into non-empty chunks of at most ``limit`` characters (see module doc)."""
    if limit < 1:
        raise ValueError("limit must be positive")
    start, at_ls = _next_start(text, 0)
    return _split(text, start, at_ls, None, limit)[0]


_State = Tuple[int, bool, Optional[_Fence]]  # where a chunk starts: (index, at line start, fence)


def _split(
    text: str, start: int, at_ls: bool, fence: Optional[_Fence], limit: int
) -> Tuple[List[str], _State]:
    """The chunks of ``text`` from ``start`` on, and the state where the last one starts."""
    chunks: List[str] = []
    end = len(text.rstrip())
    last: _State = (start, at_ls, fence)
    while start < end:
        last = (start, at_ls, fence)
        reopen = _wrap(fence, limit)[0]
        room = limit - len(reopen)
        first = _NONWS_RE.search(text, start).start()  # type: ignore[union-attr]  # start < end
        if first - start > room // 2:  # absurd indentation: drop it so a cut always makes progress
            start = first
        if end - start <= room:
            chunks.append(reopen + text[start:end])
            break
        cut, fence = _find_cut(text, start, first, room, limit, fence, at_ls)
        chunks.append(reopen + text[start:cut].rstrip() + _wrap(fence, limit)[1])
        start, at_ls = _next_start(text, cut)
    return chunks, last


class IncrementalSplitter:
    """``split_message`` of a growing text, in time linear in its length.

    Thanks to prefix stability (module doc), a chunk followed by another one is final: it is
    moved to ``frozen`` and the text before the last chunk is dropped. Each ``chunks()`` call
    only re-splits the last chunk plus what was appended since, never the finished ones.
    """

    def __init__(self, limit: int = DISCORD_LIMIT) -> None:
        if limit < 1:
            raise ValueError("limit must be positive")
        self.limit = limit
        self.frozen: List[str] = []
        self._tail = ""  # the text from where the last (unfinished) chunk starts
        self._pending: List[str] = []
        self._state: Optional[Tuple[bool, Optional[_Fence]]] = None  # at _tail[0]; None: text start
        self._tail_chunks: List[str] = []

    def append(self, text: str) -> None:
        if text:
            self._pending.append(text)

    def chunks(self) -> List[str]:
        """The same list ``split_message(whole text, limit)`` gives."""
        if self._pending:
            self._tail += "".join(self._pending)
            self._pending.clear()
            self._resplit()
        return self.frozen + self._tail_chunks

    def _resplit(self) -> None:
        if self._state is None:
            start, at_ls = _next_start(self._tail, 0)
            fence: Optional[_Fence] = None
        else:
            start, (at_ls, fence) = 0, self._state
        chunks, (last_start, last_at_ls, last_fence) = _split(self._tail, start, at_ls, fence, self.limit)
        if len(chunks) > 1:
            self.frozen.extend(chunks[:-1])
            self._tail = self._tail[last_start:]
            self._state = (last_at_ls, last_fence)
            chunks = chunks[-1:]
        self._tail_chunks = chunks
