"""Prices from genai-prices' bundled table (offline), behind PriceBook's unchanged API."""

from __future__ import annotations

import sys

import pytest

from skynet.engine.usage.pricing import Price, PriceBook
from skynet.engine.usage.pricing_table import PriceTable, infer_provider

pytestmark = pytest.mark.skipif(sys.version_info < (3, 11), reason="genai-prices needs Python 3.11")


@pytest.fixture(scope="module")
def table() -> PriceTable:
    table = PriceTable()
    assert table.load(), table.error
    return table


@pytest.mark.parametrize(
    "url, provider",
    [
        ("https://api.openai.com/v1", "openai"),
        ("https://openrouter.ai/api/v1", "openrouter"),
        ("https://api.groq.com/openai/v1", "groq"),
        ("https://api.deepseek.com/v1", "deepseek"),
        ("https://eu.api.openai.com/v1", "openai"),
        ("http://localhost:11434/v1", None),
        ("http://127.0.0.1:8000/v1", None),
    ],
)
def test_the_provider_is_inferred_from_the_base_url(url, provider):
    assert infer_provider(url) == provider


def test_known_models_are_priced_from_the_table_offline(table):
    book = PriceBook(table=table, providers=["openai", "groq", "openrouter"])
    assert book.price_for("gpt-4o-2024-08-06") == Price(2.5, 10.0)
    assert book.source("gpt-4o-2024-08-06") == "genai-prices"
    groq = book.price_for("llama-3.3-70b-versatile")
    assert groq is not None and groq.input_per_million == pytest.approx(0.59)
    assert groq.output_per_million == pytest.approx(0.79)
    assert book.price_for("meta-llama/llama-3.1-8b-instruct") is not None
    assert book.cost("gpt-4o-2024-08-06", 1_000_000, 100_000) == pytest.approx(2.5 + 1.0)


def test_the_endpoints_provider_decides(table):
    assert PriceBook(table=table, providers=["groq"]).price_for("llama-3.3-70b-versatile") is not None
    # Not at any configured provider: the hand-written table (OpenAI only) does not know it either.
    assert PriceBook(table=table, providers=["openai"]).price_for("llama-3.3-70b-versatile") is None


def test_owner_overrides_win_over_the_table(table):
    book = PriceBook({"gpt-4o": Price(1, 2)}, table=table, providers=["openai"])
    assert book.price_for("gpt-4o-2024-08-06") == Price(1, 2)
    assert book.source("gpt-4o-2024-08-06") == "override"


def test_the_hand_written_table_is_the_last_fallback():
    not_loaded = PriceTable()  # e.g. Python < 3.11, or still loading
    book = PriceBook(table=not_loaded, providers=["openai"])
    assert book.price_for("gpt-4o-mini") == Price(0.15, 0.60)
    assert book.source("gpt-4o-mini") == "default"
    assert book.price_for("my-local-model") is None


def test_lookups_are_cached_per_model(table):
    book = PriceBook(table=table, providers=["openai"])
    first = book.price_for("gpt-4o-mini")
    table._cache.clear()
    assert book.price_for("gpt-4o-mini") is first  # answered by the book's cache, not the table
    assert not table._cache
    assert table.price("no-such-model-xyz", "openai") is None
    assert ("openai", "no-such-model-xyz") in table._cache  # misses are cached too


def test_unknown_provider_ids_are_recognised(table):
    assert table.has_provider("groq") and not table.has_provider("nope")
