"""Property-based tests (hypothesis) for the splitter and every command argument parser: whatever
a member types or a model writes, the parser answers with a value inside its rules or a friendly
``InvalidValue``, never another exception; every chunk fits Discord."""

from __future__ import annotations

import math
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from skynet.commands.models.fallbacks import MAX_FALLBACKS, parse_fallbacks
from skynet.delivery.split import split_message
from skynet.engine.errors import InvalidValue
from skynet.engine.params import PARAMS, spec_for
from skynet.engine.providers.base import MAX_URL_LENGTH, check_base_url, check_endpoint_name, check_timeout
from skynet.engine.settings import parse_model_ref

# Timing varies on a loaded CI machine; the properties do not depend on it.
settings.register_profile("skynet", deadline=None)
settings.load_profile("skynet")

MARKDOWN = st.lists(
    st.sampled_from(
        list("ab c\n`*_~>#-.!?[]()") + ["```", "```py\n", "\n\n", "👍🏽", "\u200d", "é", "word " * 30]
    ),
    max_size=600,
)


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.text(max_size=5000), MARKDOWN.map("".join)), st.integers(20, 2000))
def test_every_chunk_fits_and_no_visible_text_is_lost(text, limit):
    chunks = split_message(text, limit)
    assert all(0 < len(chunk) <= limit for chunk in chunks)
    # Fences may be closed and reopened (with their info string, e.g. "```py") across chunks: the
    # visible characters of the text appear in order, and anything added is a reopened info string.
    squash = lambda s: "".join(s.replace("`", "").replace("~", "").split())  # noqa: E731
    shown, typed = squash("".join(chunks)), squash(text)
    remaining = iter(shown)
    assert all(char in remaining for char in typed), "visible text was lost or reordered"
    reopened = [re.match(r"(`{3,}|~{3,})([^\n]*)\n", chunk) for chunk in chunks[1:]]
    assert len(shown) - len(typed) <= sum(len(squash(m.group(2))) for m in reopened if m)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=3000), st.text(min_size=1, max_size=200))
def test_splitting_is_prefix_stable_while_the_answer_grows(text, more):
    before, after = split_message(text, 500), split_message(text + more, 500)
    assert after[: max(0, len(before) - 1)] == before[: max(0, len(before) - 1)]


@given(st.sampled_from(list(PARAMS)), st.text(max_size=300))
def test_param_values_are_parsed_within_bounds_or_refused(name, text):
    spec = spec_for(name)
    try:
        value = spec.parse(text)
    except InvalidValue as exc:
        assert exc.message and len(exc.message) < 400
        return
    if spec.kind is str:
        assert value and value == value.strip()
    else:
        assert math.isfinite(value) and spec.minimum <= value <= spec.maximum


@given(st.text(max_size=80))
def test_unknown_param_names_are_refused_politely(name):
    try:
        spec_for(name)
    except InvalidValue as exc:
        assert len(exc.message) < 400


@given(st.text(max_size=60))
def test_endpoint_names_are_short_and_plain_or_refused(name):
    try:
        checked = check_endpoint_name(name)
    except InvalidValue:
        return
    assert 1 <= len(checked) <= 32 and all(ch.isalnum() or ch in "-_" for ch in checked)


@given(
    st.one_of(
        st.text(max_size=400),
        st.from_regex(r"https?://[a-z0-9.]{1,40}(:[0-9]{2,5})?(/[a-z0-9]{0,400})?", fullmatch=True),
    )
)
def test_base_urls_are_http_and_bounded_or_refused(url):
    try:
        checked = check_base_url(url)
    except (InvalidValue, ValueError) as exc:
        assert isinstance(exc, InvalidValue) or "port" in str(exc).lower(), exc
        return
    assert checked.startswith(("http://", "https://")) and len(checked) <= MAX_URL_LENGTH


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_timeouts_are_in_range_or_refused(seconds):
    try:
        assert 1 <= check_timeout(seconds) <= 600
    except InvalidValue:
        pass


ENDPOINTS = ["openai", "ollama", "groq"]


@given(st.text(max_size=250))
def test_model_refs_name_a_known_endpoint_and_one_word(text):
    try:
        ref = parse_model_ref(text, ENDPOINTS, "openai")
    except InvalidValue:
        return
    assert ref.endpoint in ENDPOINTS and ref.name and not any(ch.isspace() for ch in ref.name)
    assert str(ref) == text.strip() or str(ref) == f"openai:{text.strip()}"


@given(
    st.lists(
        st.one_of(
            st.sampled_from(["none", "groq:llama", "ollama:llama3:8b", "x:y", "gpt"]), st.text(max_size=30)
        ),
        max_size=8,
    ).map(" ".join)
)
def test_fallback_chains_are_known_models_in_order_or_refused(text):
    try:
        chain = parse_fallbacks(text, ENDPOINTS, "openai")
    except InvalidValue:
        return
    if chain is None:
        assert text.split() and text.split()[0].lower() == "none"
        return
    assert 1 <= len(chain) <= MAX_FALLBACKS and len(set(chain)) == len(chain)
    assert all(ref.endpoint in ENDPOINTS for ref in chain)
