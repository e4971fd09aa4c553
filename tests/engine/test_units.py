"""Engine pieces on plain data: settings resolution, model refs, parameters, memory, ledger,
provider registry, pacing."""

from __future__ import annotations

import pytest

from skynet.engine.errors import InvalidValue, MissingKey, Redactor, UnknownEndpoint
from skynet.engine.events import Usage
from skynet.engine.memory import ASSISTANT, USER, ConversationMemory, WindowPolicy
from skynet.engine.params import PARAMS, provider_kwargs, spec_for
from skynet.engine.providers.base import ChatProvider, Endpoint
from skynet.engine.providers.registry import ProviderRegistry
from skynet.engine.settings import Layer, ModelRef, parse_model_ref, resolve
from skynet.engine.usage.accounting import Counters, UsageLedger

DEFAULT = ModelRef("openai", "gpt-4o-mini")


# -- settings ---------------------------------------------------------------------------------


def test_most_specific_layer_wins_and_sources_are_kept():
    resolved = resolve(
        [
            Layer("channel", None, {"temperature": 0.2}),
            Layer("guild", ModelRef("groq", "llama"), {"temperature": 0.9, "top_p": 0.5}),
            Layer("global", ModelRef("openai", "gpt-4o"), {"max_tokens": 100}),
        ],
        DEFAULT,
    )
    assert resolved.model == ModelRef("groq", "llama") and resolved.model_source == "guild"
    assert resolved.params == {"temperature": 0.2, "top_p": 0.5, "max_tokens": 100}
    assert resolved.sources == {"temperature": "channel", "top_p": "guild", "max_tokens": "global"}


def test_defaults_apply_when_nothing_is_set():
    resolved = resolve([Layer("guild"), Layer("global")], DEFAULT)
    assert (resolved.model, resolved.model_source, resolved.params) == (DEFAULT, "default", {})
    assert "Discord" in resolved.system_prompt


@pytest.mark.parametrize(
    "typed,expected",
    [
        ("gpt-4o", ModelRef("openai", "gpt-4o")),
        ("ollama:llama3:8b", ModelRef("ollama", "llama3:8b")),
        ("llama3:8b", ModelRef("openai", "llama3:8b")),  # "llama3" is no endpoint
        ("openrouter:openai/gpt-4o", ModelRef("openrouter", "openai/gpt-4o")),
    ],
)
def test_model_refs_take_an_endpoint_prefix_only_when_it_exists(typed, expected):
    assert parse_model_ref(typed, ["openai", "ollama", "openrouter"], "openai") == expected


@pytest.mark.parametrize("typed", ["", "two words", "x" * 201])
def test_malformed_model_names_are_refused(typed):
    with pytest.raises(InvalidValue):
        parse_model_ref(typed, ["openai"], "openai")


# -- parameters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,text,value",
    [
        ("temperature", "0.7", 0.7),
        ("max_tokens", "256", 256),
        ("top_p", "1", 1.0),
        ("presence_penalty", "-2", -2.0),
    ],
)
def test_parameters_parse_valid_values(name, text, value):
    assert spec_for(name).parse(text) == value


@pytest.mark.parametrize(
    "name,text,words",
    [
        ("temperature", "2.5", "from 0 to 2"),
        ("temperature", "warm", "from 0 to 2"),
        ("temperature", "nan", "from 0 to 2"),
        ("max_tokens", "1.5", "whole number"),
        ("max_tokens", "0", "from 1 to 128000"),
        ("system_prompt", "   ", "can't be empty"),
        ("system_prompt", "x" * 4001, "4000"),
    ],
)
def test_invalid_values_name_the_allowed_range(name, text, words):
    with pytest.raises(InvalidValue) as error:
        spec_for(name).parse(text)
    assert words in error.value.message


def test_unknown_parameter_lists_the_known_ones():
    with pytest.raises(InvalidValue) as error:
        spec_for("temprature")
    assert all(name in error.value.message for name in PARAMS)


def test_provider_kwargs_leave_out_the_system_prompt_and_rename_max_tokens_for_openai():
    params = {"temperature": 0.5, "max_tokens": 9, "system_prompt": "x"}
    assert provider_kwargs(params) == {"temperature": 0.5, "max_tokens": 9}
    assert provider_kwargs(params, max_tokens_field="max_completion_tokens") == {
        "temperature": 0.5,
        "max_completion_tokens": 9,
    }


# -- memory -----------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def words(text: str) -> int:
    return len(text.split())


def test_window_keeps_the_latest_turns_within_count_tokens_and_age():
    clock = Clock()
    memory = ConversationMemory(words, WindowPolicy(max_turns=4, max_tokens=10, max_age_seconds=60), clock)
    for i in range(6):
        memory.add("c", USER if i % 2 == 0 else ASSISTANT, f"turn {i}", user_id=1, name="a")
    assert [t.content for t in memory.history("c")] == ["turn 2", "turn 3", "turn 4", "turn 5"]
    memory.add("c", USER, "one two three four five six seven eight", user_id=1, name="a")
    assert [t.content for t in memory.history("c")] == ["one two three four five six seven eight"]
    clock.now += 61
    assert memory.history("c") == []


def test_history_starts_at_a_user_turn_and_respects_a_tighter_budget():
    memory = ConversationMemory(words)
    memory.add("c", USER, "a b c d", user_id=1, name="a")
    memory.add("c", ASSISTANT, "e f g h", user_id=1, name="x")
    memory.add("c", USER, "i j", user_id=2, name="b")
    assert [t.content for t in memory.history("c", max_tokens=6)] == ["i j"]  # not the orphaned answer


def test_conversations_are_bounded_least_recently_used_first():
    memory = ConversationMemory(words, WindowPolicy(max_conversations=2))
    for key in ("a", "b", "c"):
        memory.add(key, USER, "hi", user_id=1, name="u")
    assert memory.history("a") == [] and memory.history("c")


def test_forget_user_drops_their_turns_and_the_answers_to_them():
    memory = ConversationMemory(words)
    memory.add("c", USER, "mine", user_id=1, name="a")
    memory.add("c", ASSISTANT, "answer to 1", user_id=1, name="x")
    memory.add("c", USER, "theirs", user_id=2, name="b")
    assert memory.forget_user(1) == 2
    assert [t.content for t in memory.history("c")] == ["theirs"]
    assert memory.turns_of(1) == {}


# -- accounting -------------------------------------------------------------------------------


def test_ledger_accumulates_drains_and_restores():
    ledger = UsageLedger()
    ledger.record([("global",), ("user", 5)], Usage(10, 5, estimated=True, cost_usd=None))
    ledger.record([("global",)], Usage(1, 1, cost_usd=0.5))
    assert ledger.pending(("global",)) == Counters(2, 11, 6, 0.5, 1, 1)
    drained = ledger.drain()
    assert ledger.pending(("global",)) == Counters()
    ledger.restore(drained)
    assert ledger.pending(("user", 5)).total_tokens == 15
    ledger.discard_user(5)
    assert ledger.pending(("user", 5)) == Counters() and ledger.pending(("global",)).requests == 2


# -- provider registry ------------------------------------------------------------------------


class FakeProvider(ChatProvider):
    """A provider that records how it was built; the registry is under test, not the provider."""

    def __init__(self, endpoint, api_key, *, http_client=None):
        self.endpoint, self.api_key = endpoint, api_key

    async def stream_chat(self, model, messages, params):  # pragma: no cover - not used
        yield None

    async def list_models(self):  # pragma: no cover - not used
        return []

    async def embed(self, model, texts):  # pragma: no cover - not used
        return []


async def test_registry_builds_clients_lazily_with_the_current_key():
    keys = {"svc": "sk-first-key-123"}

    async def lookup(service):
        return keys.get(service)

    redactor = Redactor()
    registry = ProviderRegistry(lookup, redactor, factory=FakeProvider)
    try:
        changed = registry.set_endpoints(
            {"a": Endpoint("a", "http://a/v1", "svc"), "b": Endpoint("b", "http://b/v1")}
        )
        assert changed == {"a", "b"}
        first = await registry.provider("a")
        assert first.api_key == "sk-first-key-123" and await registry.provider("a") is first
        assert redactor.redact("key sk-first-key-123 leaked") == "key [redacted] leaked"
        assert (await registry.provider("b")).api_key is None  # keyless endpoint
        keys["svc"] = "sk-second-key-456"
        registry.forget_service("svc")
        assert (await registry.provider("a")).api_key == "sk-second-key-456"
        assert registry.set_endpoints({"a": Endpoint("a", "http://a/v1", "svc")}) == {"b"}
        with pytest.raises(UnknownEndpoint):
            await registry.provider("b")
        del keys["svc"]
        registry.forget_service("svc")
        with pytest.raises(MissingKey) as error:
            await registry.provider("a")
        assert "[p]set api svc api_key," in error.value.message
    finally:
        await registry.aclose()


# -- pacing: see test_pacing.py (the slot-reserving Pacer.reserve was replaced) ----------------
