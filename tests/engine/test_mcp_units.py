"""The MCP client's plain-data parts: the owner's ``add`` arguments, secrets as environment or
headers, tool names for OpenAI, schema repair, result conversion, and the bound on schemas."""

from __future__ import annotations

import base64

import pytest

from skynet.engine.errors import InvalidValue
from skynet.engine.tools.mcp import unavailable_reason
from skynet.engine.tools.mcp.bound import SchemaBound
from skynet.engine.tools.mcp.config import HTTP, STDIO, ServerConfig, environment, headers, parse_target
from skynet.engine.tools.mcp.naming import registry_names
from skynet.engine.tools.mcp.results import convert
from skynet.engine.tools.mcp.schema import convert as convert_schema
from skynet.engine.tools.registry import NAME_RE, Tool, ToolError


def test_add_arguments_choose_the_transport() -> None:
    http = parse_target("Docs", ["https://mcp.example.com/mcp?key=abc"])
    assert (http.name, http.transport) == ("docs", HTTP)
    assert http.target() == "https://mcp.example.com/mcp"  # a key pasted into the URL isn't shown
    stdio = parse_target("time", ["uvx", "mcp-server-time", "--local-timezone", "Europe/Paris"])
    assert stdio.transport == STDIO and stdio.command == "uvx" and stdio.args[-1] == "Europe/Paris"
    assert ServerConfig.from_json("time", stdio.to_json()) == stdio


@pytest.mark.parametrize(
    "name, words, problem",
    [
        ("bad name!", ["x"], "1-24 lower-case"),
        ("a__b", ["x"], "1-24 lower-case"),
        ("ok", [], "Give the server's URL"),
        ("ok", ["https://user:pw@example.com/mcp"], "Don't put credentials"),
        ("ok", ["https://example.com/mcp", "extra"], "only its URL"),
        ("ok", ["python", "-c", "x\ny"], "line breaks"),
    ],
)
def test_bad_add_arguments_are_refused_clearly(name: str, words: list, problem: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        parse_target(name, words)
    assert problem in refused.value.message


def test_secrets_become_environment_or_headers() -> None:
    tokens = {"GITHUB_TOKEN": "ghp_x", "bad key": "y", "bearer": "tok", "X-Api-Key": "k"}
    assert environment(tokens) == {"GITHUB_TOKEN": "ghp_x", "bearer": "tok"}
    assert headers(tokens) == {"Authorization": "Bearer tok", "X-Api-Key": "k"}  # header names: no `_`


def test_names_are_valid_for_openai_and_collisions_are_deterministic() -> None:
    tools = ["get.weather", "get weather", "get_weather", "ünïcode", "x" * 90, "x" * 91]
    names = registry_names("srv", tools)
    assert all(NAME_RE.match(n) for n in names.values())
    assert len(set(names.values())) == len(tools)
    assert names["get weather"] == "srv__get_weather"  # sorted originals: " " < "." < "_"
    assert names["get.weather"] == "srv__get_weather_2" and names["get_weather"] == "srv__get_weather_3"
    assert registry_names("srv", list(reversed(tools))) == names
    assert names["x" * 90] != names["x" * 91] and len(names["x" * 90]) == 64


def test_schemas_are_repaired_or_refused_with_a_reason() -> None:
    parameters, repairs, reason = convert_schema(
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "properties": {
                "tags": {"type": "array"},
                "node": {"$ref": "#/$defs/Node"},
            },
            "required": ["tags", "missing"],
            "$defs": {"Node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/Node"}}}},
        }
    )
    assert reason is None and parameters["type"] == "object"
    assert parameters["properties"]["tags"]["items"] == {}
    assert parameters["properties"]["node"]["properties"]["child"] == {}  # a cycle is cut, not followed
    assert parameters["required"] == ["tags"] and "$defs" not in parameters
    assert repairs
    assert convert_schema(None)[0] == {"type": "object", "properties": {}}
    assert "not `object`" in convert_schema({"type": "array"})[2]
    assert "not a JSON object" in convert_schema(["x"])[2]
    big = {
        "type": "object",
        "properties": {f"p{i}": {"type": "string", "description": "d" * 200} for i in range(100)},
    }
    assert "too big" in convert_schema(big)[2]


def test_results_become_text_images_and_errors() -> None:
    png = base64.b64encode(b"\x89PNG fake").decode()
    result = {
        "content": [
            {"type": "text", "text": "one"},
            {"type": "image", "data": png, "mimeType": "image/png"},
            {"type": "resource_link", "name": "doc", "uri": "https://example.com/doc"},
            {"type": "resource", "resource": {"uri": "file:///a.txt", "text": "inside"}},
            {"type": "audio", "data": "", "mimeType": "audio/wav"},
        ]
    }
    text = convert(result, 10_000)
    assert text.startswith("one\n[image 1: image/png")
    assert "[resource “doc”: https://example.com/doc]" in text and "inside" in text and "audio" in text
    assert text.images[0].data == b"\x89PNG fake"
    assert convert({"content": [], "structuredContent": {"a": 1}}, 100) == '{"a": 1}'
    assert "more characters cut" in convert({"content": [{"type": "text", "text": "x" * 500}]}, 100)
    with pytest.raises(ToolError) as failed:
        convert({"content": [{"type": "text", "text": "no such city"}], "isError": True}, 100)
    assert failed.value.kind == "mcp_error" and "no such city" in failed.value.message


def _tool(name: str, owner: str, description: str) -> Tool:
    async def handler(arguments, context):  # pragma: no cover - never called
        return ""

    schema = {"type": "object", "properties": {"value": {"type": "string", "description": "x" * 100}}}
    return Tool(name, description, schema, handler, owner=owner)


def test_the_bound_keeps_builtins_and_picks_relevant_mcp_tools() -> None:
    builtin = [_tool("web_search", "skynet", "Search the web."), _tool("calculator", "skynet", "Arithmetic.")]
    remote = [
        _tool(f"s{s}__tool_{t}", f"mcp:s{s}", f"Does thing {t} of server {s}.")
        for s in range(10)
        for t in range(50)
    ]
    remote[321] = _tool("s6__weather", "mcp:s6", "The weather forecast for a city.")
    bound = SchemaBound(max_tools=12, max_tokens=1200)
    chosen = bound.select(builtin + remote, "what's the weather forecast in Paris?")
    assert chosen[:2] == builtin and "s6__weather" in [t.name for t in chosen]
    assert len(chosen) <= 12
    assert sum(bound.cost(t) for t in chosen[2:]) <= 1200
    assert bound.select(builtin, "hi") == builtin
    again = bound.select(builtin + remote, "what's the weather forecast in Paris?")
    assert [t.name for t in again] == [t.name for t in chosen]  # deterministic


def test_mcp_is_available_here() -> None:
    assert unavailable_reason() is None
