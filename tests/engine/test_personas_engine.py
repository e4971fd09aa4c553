"""The Discord-free parts of personas: rendering, validation, character cards."""

from __future__ import annotations

import base64
import io
import json

import pytest
from PIL import Image

from skynet.engine.errors import InvalidValue
from skynet.engine.personas import BUILTIN_PERSONAS, Persona, compose_system_prompt, render
from skynet.engine.personas.cards import (
    CardError,
    card_to_persona,
    load_card,
    persona_to_card,
    png_with_card,
)
from skynet.engine.personas.personas import PersonaError, check_name, check_prompt, validate
from skynet.engine.personas.variables import LazyVariables
from skynet_dev.samples import png_chunk, tiny_png

VALUES = {"user": "Sam", "server": "Guild {user}", "date": "2026-11-27"}


@pytest.mark.parametrize(
    "template, expected",
    [
        ("Hi {user} in {server}", "Hi Sam in Guild {user}"),  # values are data: never expanded again
        ("{", "{"),
        ("}{", "}{"),
        ("{nope}", "{nope}"),
        ("{user.__class__}", "{user.__class__}"),
        ("{user[0]}", "{user[0]}"),
        ("{user!r}", "{user!r}"),
        ("{user:>10}", "{user:>10}"),
        ("{{user}}", "{Sam}"),
        ("{0} {} {USER}", "{0} {} {USER}"),
        ("no braces", "no braces"),
        ("%(user)s $user", "%(user)s $user"),
    ],
)
def test_render_only_replaces_known_identifiers(template, expected):
    assert render(template, VALUES) == expected


def test_render_never_raises_on_a_failing_lazy_value():
    def broken() -> str:
        raise RuntimeError("no guild")

    variables = LazyVariables({"user": lambda: "Sam", "server": broken})
    assert render("{user} {server}", variables) == "Sam {server}"


def test_lazy_variables_compute_only_what_is_used():
    calls = []
    variables = LazyVariables({"a": lambda: calls.append("a") or "A", "b": lambda: calls.append("b") or "B"})
    assert render("{a}{a}", variables) == "AA"
    assert calls == ["a"]


def test_builtins_and_name_rules():
    assert set(BUILTIN_PERSONAS) == {"assistant", "concise", "teacher"}
    assert check_name("pirate_2") == "pirate_2"
    for bad in ("", "x" * 33, "two words", "Teacher", "none", "emoji🙂"):
        with pytest.raises(PersonaError):
            check_name(bad)
    with pytest.raises(PersonaError, match="already exists"):
        check_name("Pirate", taken=["pirate"])
    assert check_prompt("p" * 4000)
    with pytest.raises(PersonaError, match="4000"):
        check_prompt("p" * 4001)


def test_validate_refuses_bad_presets():
    with pytest.raises(InvalidValue):
        validate(Persona("x", "Hi.", params={"temperature": 5}))
    with pytest.raises(InvalidValue):
        validate(Persona("x", "Hi.", params={"system_prompt": "sneaky"}))
    with pytest.raises(InvalidValue):
        validate(Persona("x", "Hi.", avatar_url="javascript:alert(1)"))


def test_persona_json_round_trip():
    persona = Persona(
        "p",
        "Prompt",
        "Desc",
        {"endpoint": "e", "name": "m"},
        {"temperature": 0.5},
        "P",
        "https://a/b.png",
        "Hi",
    )
    assert Persona.from_json(json.loads(json.dumps(persona.to_json()))) == persona


def test_compose_appends_own_instructions():
    assert compose_system_prompt("Base.", None) == "Base."
    composed = compose_system_prompt("Base.", "Call me Sam.")
    assert composed.startswith("Base.") and composed.endswith("Call me Sam.")


CARD = {
    "spec": "chara_card_v2",
    "spec_version": "2.0",
    "data": {"name": "Ada", "description": "{{char}} helps {{user}}."},
}


def test_card_from_json_and_png():
    persona = card_to_persona(load_card(json.dumps(CARD).encode()))
    assert persona.name == "Ada" and persona.display_name == "Ada"
    assert "Ada helps {user_display}." in persona.system_prompt
    png = png_with_card(CARD, tiny_png())
    with Image.open(io.BytesIO(png)) as written, Image.open(io.BytesIO(tiny_png())) as original:
        assert "chara" in written.text and list(written.getdata()) == list(original.getdata())
    assert card_to_persona(load_card(png)) == persona


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"x" * 1_000_001, "1 MB"),
        (b"\xff\xfe", "neither"),
        (b"[1, 2]", "Only V2"),
        (json.dumps({**CARD, "spec": "chara_card_v3"}).encode(), "Only V2"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "cut off"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\xffIHDR", "cut off"),
    ],
)
def test_bad_cards(raw, message):
    with pytest.raises(CardError, match=message):
        load_card(raw)


def test_png_with_bad_base64_or_without_a_card():
    payload = b"chara\x00***"
    png = tiny_png()
    broken = png[:-12] + png_chunk(b"tEXt", payload) + png[-12:]
    with pytest.raises(CardError, match="base64"):
        load_card(broken)
    with pytest.raises(CardError, match="no character card"):
        load_card(tiny_png())


def test_too_long_card_is_refused_and_examples_dropped_first():
    data = {**CARD["data"], "description": "d" * 3000, "mes_example": "e" * 2000}
    persona = card_to_persona({**CARD, "data": data})
    assert "Example messages" not in persona.system_prompt
    with pytest.raises(CardError, match="4000"):
        card_to_persona({**CARD, "data": {**data, "description": "d" * 4100}})


def test_export_round_trips_exactly():
    persona = Persona(
        "sage", "You are wise, {user}.", "Wise.", None, {"top_p": 0.9}, "The Sage", None, "Hello"
    )
    card = persona_to_card(persona)
    assert card["spec"] == "chara_card_v2"
    again = card_to_persona(load_card(base64.b64decode(base64.b64encode(json.dumps(card).encode()))))
    assert again == persona
