"""The tool registry: what a tool is, argument validation, and namespaced registration."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Sequence, Union

from ..errors import InvalidValue, SkynetError
from ..i18n import _


class ToolError(SkynetError):
    """A tool failed in a way the model (and the user) may read: the message is safe to show."""

    kind = "tool_error"

    def __init__(self, message: str, kind: str = "tool_error") -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class ToolContext:
    """What a handler may know about the call: who asked, where. No settings, no secrets."""

    user_id: int = 0
    guild_id: Optional[int] = None
    channel_id: Optional[int] = None
    conversation: str = ""


Handler = Callable[[Dict[str, Any], ToolContext], Awaitable[str]]
StatusText = Callable[[Dict[str, Any]], str]

NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


@dataclass(frozen=True)
class Tool:
    """One tool the model can call.

    ``parameters`` is the JSON schema of its arguments (an object). ``needs`` names what must be
    configured before the tool is offered (e.g. ``"a search backend"``), as text or as a function
    returning it in the current locale; ``available`` says whether it is, and is evaluated from
    in-memory state only (no I/O on the hot path). ``description`` is for the model (English);
    ``summary``, if given, is what members read in ``[p]ai tools list`` (text or a translating
    function).
    """

    name: str
    description: str
    parameters: Mapping[str, Any]
    handler: Handler
    timeout: float = 30.0
    cooldown: float = 0.0  # seconds between two calls by the same user
    needs: Union[str, Callable[[], str], None] = None
    available: Callable[[], bool] = lambda: True
    status: Optional[StatusText] = None
    owner: str = "skynet"  # the cog that registered it
    default_enabled: bool = False
    summary: Union[str, Callable[[], str], None] = None

    def openai_schema(self) -> Dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": dict(self.parameters),
            },
        }

    def status_text(self, arguments: Dict[str, Any]) -> str:
        if self.status is not None:
            try:
                return self.status(arguments)
            except Exception:  # a status line must never break a call
                pass
        return _("🛠️ Using `{name}`…").format(name=self.name)

    def summary_text(self) -> str:
        """What the tool does, for members, in the locale of the reader (else the model's text)."""
        summary = self.summary() if callable(self.summary) else self.summary
        return summary or self.description

    def needs_text(self) -> Optional[str]:
        """What must be set up before the tool is offered, in the locale of the reader."""
        return self.needs() if callable(self.needs) else self.needs


class ToolRegistry:
    """All tools by name. Tools of other cogs are namespaced ``<cog>__<name>``."""

    def __init__(self) -> None:
        self._tools: Dict[str, Tool] = {}

    def add(self, tool: Tool, *, replace: bool = False) -> Tool:
        if not NAME_RE.match(tool.name):
            raise InvalidValue(_("A tool name is 1-64 letters, digits, `_` or `-`."))
        if tool.parameters.get("type") != "object":
            raise InvalidValue(_("A tool's parameters must be a JSON schema of type `object`."))
        if tool.name in self._tools and not replace:
            raise InvalidValue(_("A tool named `{name}` is already registered.").format(name=tool.name))
        self._tools[tool.name] = tool
        return tool

    def remove(self, name: str) -> bool:
        return self._tools.pop(name, None) is not None

    def get(self, name: str) -> Optional[Tool]:
        return self._tools.get(name)

    def __contains__(self, name: str) -> bool:
        return name in self._tools

    def all(self) -> List[Tool]:
        return sorted(self._tools.values(), key=lambda tool: (tool.owner != "skynet", tool.name))

    def names(self) -> List[str]:
        return [tool.name for tool in self.all()]


def namespaced(owner: str, name: str) -> str:
    """The registered name of ``name`` from the cog ``owner`` (``weather`` → ``mycog__weather``)."""
    prefix = re.sub(r"[^a-z0-9_-]", "", owner.lower())[:24] or "cog"
    return f"{prefix}__{name}"


# -- argument validation: the subset of JSON schema tools use ------------------------------------------


def parse_arguments(raw: str) -> Dict[str, Any]:
    """The model's raw argument string as a dict, or ``ToolError`` (the model gets to retry)."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ToolError(
            _("The arguments are not valid JSON ({problem}). Send a JSON object.").format(problem=exc.msg),
            "bad_arguments",
        ) from None
    except RecursionError:
        raise ToolError(_("The arguments are nested too deeply."), "bad_arguments") from None
    if not isinstance(value, dict):
        raise ToolError(_("The arguments must be a JSON object."), "bad_arguments")
    return value


_TYPES = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
}


def validate(value: Any, schema: Mapping[str, Any], path: str = "arguments") -> None:
    """Check ``value`` against ``schema`` (type, required, properties, additionalProperties, enum,
    min/max length, minimum/maximum, items, min/maxItems); raise ``ToolError`` naming the problem."""

    def fail(problem: str, **values: Any) -> None:
        """``problem`` is a whole sentence about the field ``{field}`` (translated by the caller)."""
        raise ToolError(problem.format(field=path, **values), "bad_arguments")

    kind = schema.get("type")
    if kind is not None:
        kinds = kind if isinstance(kind, list) else [kind]
        ok = False
        for k in kinds:
            types = _TYPES.get(k, ())
            if isinstance(value, types) and not (k in ("integer", "number") and isinstance(value, bool)):
                ok = True
                break
            if k == "integer" and isinstance(value, float) and value.is_integer():
                ok = True
                break
        if not ok:
            fail(_("`{field}` must be of type {types}."), types=_(" or ").join(kinds))
    if "enum" in schema and value not in schema["enum"]:
        fail(_("`{field}` must be one of {values}."), values=", ".join(map(str, schema["enum"])))
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            fail(_("`{field}` must be at least {count} characters."), count=schema["minLength"])
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            fail(_("`{field}` must be at most {count} characters."), count=schema["maxLength"])
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            fail(_("`{field}` must be at least {minimum}."), minimum=schema["minimum"])
        if "maximum" in schema and value > schema["maximum"]:
            fail(_("`{field}` must be at most {maximum}."), maximum=schema["maximum"])
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            fail(_("`{field}` needs at least {count} items."), count=schema["minItems"])
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            fail(_("`{field}` allows at most {count} items."), count=schema["maxItems"])
        if isinstance(schema.get("items"), Mapping):
            for index, item in enumerate(value):
                validate(item, schema["items"], f"{path}[{index}]")
    if isinstance(value, dict):
        properties: Mapping[str, Any] = schema.get("properties", {})
        for name in schema.get("required", ()):
            if name not in value:
                fail(_("`{field}` is missing the required field `{name}`."), name=name)
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            if name in properties:
                validate(item, properties[name], f"{name}" if path == "arguments" else f"{path}.{name}")
            elif extra is False:
                fail(_("`{field}` has an unknown field `{name}`."), name=str(name)[:40])


def apply_defaults(value: Dict[str, Any], schema: Mapping[str, Any]) -> Dict[str, Any]:
    result = dict(value)
    for name, prop in schema.get("properties", {}).items():
        if name not in result and isinstance(prop, Mapping) and "default" in prop:
            result[name] = prop["default"]
    return result


def object_schema(properties: Mapping[str, Any], required: Sequence[str] = ()) -> Dict[str, Any]:
    """A JSON schema for an object with ``properties`` (no other fields allowed)."""
    return {
        "type": "object",
        "properties": dict(properties),
        "required": list(required),
        "additionalProperties": False,
    }


@dataclass
class ToolResult:
    """The outcome of one tool call as the model will see it."""

    call_id: str
    name: str
    content: str
    ok: bool = True
    error_kind: Optional[str] = None
