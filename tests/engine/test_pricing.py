"""Tests for skynet.engine.usage.pricing: lookups, cost arithmetic, formatting, owner input."""

from __future__ import annotations

import math

import pytest

from skynet.engine.usage.pricing import DEFAULT_PRICES, Price, PriceBook, format_cost, parse_price

REQUIRED_MODELS = [
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-4.1-nano",
    "gpt-4-turbo",
    "gpt-3.5-turbo",
    "o1",
    "o1-mini",
    "o3",
    "o3-mini",
    "o4-mini",
    "gpt-5",
    "gpt-5-mini",
    "gpt-5-nano",
]


@pytest.mark.parametrize("model", REQUIRED_MODELS)
def test_defaults_cover_required_models(model: str) -> None:
    price = DEFAULT_PRICES[model]
    assert 0 < price.input_per_million <= price.output_per_million


def test_exact_match() -> None:
    assert PriceBook().price_for("gpt-4o") == Price(2.50, 10.00)
    assert PriceBook().price_for("GPT-4o ") == Price(2.50, 10.00)


def test_prefix_match_for_dated_snapshot() -> None:
    assert PriceBook().price_for("gpt-4.1-2025-04-14") == DEFAULT_PRICES["gpt-4.1"]


def test_longest_prefix_wins() -> None:
    book = PriceBook()
    assert book.price_for("gpt-4o-mini-2024-07-18") == DEFAULT_PRICES["gpt-4o-mini"]
    assert book.price_for("o3-mini-2025-01-31") == DEFAULT_PRICES["o3-mini"]
    assert book.price_for("gpt-4.1-nano-2025-04-14") == DEFAULT_PRICES["gpt-4.1-nano"]


def test_prefix_requires_a_boundary() -> None:
    # "gpt-4o" must not price an unrelated name that merely starts with the same characters.
    assert PriceBook().price_for("gpt-4ox") is None
    assert PriceBook().price_for("o1x") is None


@pytest.mark.parametrize("model", ["openai/gpt-4o", "openai/gpt-4o-mini", "openai/gpt-4o:online"])
def test_provider_prefixed_names(model: str) -> None:
    expected = DEFAULT_PRICES["gpt-4o-mini" if "mini" in model else "gpt-4o"]
    assert PriceBook().price_for(model) == expected


def test_provider_prefixed_override_is_exact() -> None:
    book = PriceBook(overrides={"openrouter/gpt-4o": Price(3, 12)})
    assert book.price_for("openrouter/gpt-4o") == Price(3, 12)
    assert book.price_for("gpt-4o") == DEFAULT_PRICES["gpt-4o"]


def test_override_beats_default() -> None:
    book = PriceBook(overrides={"gpt-4o": Price(1, 2)})
    assert book.price_for("gpt-4o") == Price(1, 2)
    assert book.source("gpt-4o") == "override"
    assert book.price_for("gpt-4o-2024-08-06") == Price(1, 2)
    # A longer default prefix is still more specific than the override.
    assert book.price_for("gpt-4o-mini") == DEFAULT_PRICES["gpt-4o-mini"]
    assert book.source("gpt-4o-mini") == "default"


def test_override_adds_unknown_model() -> None:
    book = PriceBook(overrides={"my-local-model": Price(0, 0)})
    assert book.price_for("my-local-model") == Price(0, 0)
    assert book.cost("my-local-model", 1000, 1000) == 0.0


def test_unknown_model() -> None:
    book = PriceBook()
    assert book.price_for("llama-3-70b") is None
    assert book.price_for("") is None
    assert book.cost("llama-3-70b", 10, 10) is None
    assert book.source("llama-3-70b") == "unknown"
    assert book.source("gpt-4o") == "default"


def test_cost_arithmetic() -> None:
    price = Price(2.50, 10.00)
    assert price.cost(1_000_000, 0) == pytest.approx(2.50)
    assert price.cost(0, 1_000_000) == pytest.approx(10.00)
    assert price.cost(1000, 500) == pytest.approx(0.0025 + 0.005)
    assert price.cost(-5, 0) == 0.0
    assert PriceBook().cost("gpt-4o-mini", 2_000_000, 1_000_000) == pytest.approx(0.30 + 0.60)


def test_price_rejects_invalid_values() -> None:
    with pytest.raises(ValueError):
        Price(-1, 1)
    with pytest.raises(ValueError):
        Price(1, math.inf)


@pytest.mark.parametrize(
    "usd, text",
    [
        (None, "unknown"),
        (math.nan, "unknown"),
        (0, "$0.00"),
        (0.00004, "<$0.0001"),
        (0.0012, "$0.0012"),
        (0.00123456, "$0.0012"),
        (0.5, "$0.50"),
        (0.1234, "$0.1234"),
        (12.3456, "$12.35"),
        (1234.5, "$1,234.50"),
    ],
)
def test_format_cost(usd: object, text: str) -> None:
    assert format_cost(usd) == text  # type: ignore[arg-type]


@pytest.mark.parametrize("text, value", [("2.5", 2.5), (" $0.15 ", 0.15), ("0", 0.0), ("1000", 1000.0)])
def test_parse_price_accepts(text: str, value: float) -> None:
    assert parse_price(text) == value


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("abc", "not a number"),
        ("", "not a number"),
        ("2_5", "not a number"),
        ("nan", "infinity or NaN"),
        ("inf", "infinity or NaN"),
        ("-1", "negative"),
        ("1000.01", "per million"),
    ],
)
def test_parse_price_rejects(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        parse_price(text)
