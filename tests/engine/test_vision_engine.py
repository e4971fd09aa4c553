"""The vision table, the user turn's content parts and the fixed image token estimate."""

from __future__ import annotations

import pytest

from skynet.engine.attachments.vision import image_marker, supports_vision, user_content
from skynet.engine.usage.tokens import IMAGE_INPUT_TOKENS, TokenCounter


@pytest.mark.parametrize(
    "model, expected",
    [
        ("gpt-4o-mini", True),
        ("gpt-4.1-nano", True),
        ("gpt-5", True),
        ("o3", True),
        ("o4-mini", True),
        ("o1-mini", False),
        ("o3-mini", False),
        ("claude-3-5-sonnet-latest", True),
        ("claude-sonnet-4-5", True),
        ("gemini-2.5-flash", True),
        ("google/gemma-3-27b-it", True),
        ("llava:13b", True),
        ("llama3.2-vision:11b", True),
        ("pixtral-12b", True),
        ("qwen2.5-vl-7b", True),
        ("minicpm-v:8b", True),
        ("gpt-3.5-turbo", False),
        ("gpt-4", False),
        ("llama3.1:8b", False),
        ("gpt-test", None),
        ("mistral-small", None),
    ],
)
def test_vision_table(model, expected):
    assert supports_vision("any", model) is expected


def test_content_parts_only_with_images():
    assert user_content("hi", ()) == "hi"
    parts = user_content("hi", tuple(f"https://cdn/{i}.png" for i in range(6)))
    assert parts[0] == {"type": "text", "text": "hi"}
    assert [p["image_url"]["url"] for p in parts[1:]] == [f"https://cdn/{i}.png" for i in range(4)]
    assert image_marker("hi", ("a",)) == "hi [1 image]"
    assert image_marker("hi", ()) == "hi"


def test_an_image_counts_a_fixed_cost():
    counter = TokenCounter()
    text_only = counter.count_messages([{"role": "user", "content": "hi"}])
    with_image = counter.count_messages([{"role": "user", "content": user_content("hi", ("https://x/a.png",))}])
    assert with_image - text_only == IMAGE_INPUT_TOKENS
