"""MCP input schemas as OpenAI function parameters: repaired where a provider would reject them,
or refused with a reason the owner reads in ``[p]ai mcp tools``.

Repairs: a schema without ``type`` but with ``properties`` is an object; ``$schema``/``$id``/
``$comment`` are dropped; local ``$ref``s into ``$defs``/``definitions`` are inlined (cycles and
unknown references become an open schema); ``required`` keeps only declared properties; an array
without ``items`` gets ``{}``. Refused: a schema that is not an object, or too big to offer.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ...i18n import _

MAX_SCHEMA_CHARS = 12_000
MAX_DEPTH = 12
_DROP = ("$schema", "$id", "$comment")


def convert(schema: Any) -> Tuple[Optional[Dict[str, Any]], List[str], Optional[str]]:
    """``(parameters, repairs, None)`` or ``(None, [], reason)`` when the tool must be skipped."""
    repairs: List[str] = []
    if schema is None:
        schema = {}
        repairs.append("no schema: takes no arguments")
    if not isinstance(schema, Mapping):
        return None, [], _("its input schema is not a JSON object")
    kind = schema.get("type")
    if kind is None:
        if "properties" in schema or not schema:
            repairs.append("added type object")
        else:
            return None, [], _("its input schema has no type and no properties")
    elif kind != "object":
        return None, [], _("its input schema is of type `{type}`, not `object`").format(type=str(kind)[:20])
    definitions: Dict[str, Any] = {}
    for key in ("$defs", "definitions"):
        if isinstance(schema.get(key), Mapping):
            definitions.update({f"#/{key}/{name}": value for name, value in schema[key].items()})
    result = _repair(schema, definitions, repairs, depth=0, seen=())
    if not isinstance(result, dict):
        return None, [], _("its input schema could not be read")
    result["type"] = "object"
    result.pop("$defs", None)
    result.pop("definitions", None)
    if not isinstance(result.get("properties"), dict):
        result["properties"] = {}
    required = result.get("required")
    if required is not None:
        kept = (
            [r for r in required if isinstance(r, str) and r in result["properties"]]
            if isinstance(required, list)
            else []
        )
        if kept != required:
            repairs.append("required lists undeclared fields")
        result["required"] = kept
    try:
        size = len(json.dumps(result, ensure_ascii=False))
    except (TypeError, ValueError):
        return None, [], _("its input schema is not valid JSON")
    if size > MAX_SCHEMA_CHARS:
        return (
            None,
            [],
            _("its input schema is too big ({chars} characters; at most {limit})").format(
                chars=size, limit=MAX_SCHEMA_CHARS
            ),
        )
    return result, repairs, None


def _repair(node: Any, definitions: Mapping[str, Any], repairs: List[str], depth: int, seen: tuple) -> Any:
    if isinstance(node, list):
        return [_repair(item, definitions, repairs, depth + 1, seen) for item in node]
    if not isinstance(node, Mapping):
        return node
    if depth > MAX_DEPTH:
        repairs.append("cut a schema nested too deeply")
        return {}
    ref = node.get("$ref")
    if isinstance(ref, str):
        target = definitions.get(ref)
        if target is None or ref in seen:
            repairs.append(f"replaced the reference {ref[:60]}")
            return {k: v for k, v in node.items() if k in ("description", "title")}
        repairs.append(f"inlined {ref[:60]}")
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _repair(merged, definitions, repairs, depth + 1, seen + (ref,))
    result: Dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP:
            repairs.append(f"dropped {key}")
            continue
        if key in ("properties", "patternProperties", "$defs", "definitions") and isinstance(value, Mapping):
            result[key] = {
                name: _repair(v, definitions, repairs, depth + 1, seen) for name, v in value.items()
            }
        else:
            result[key] = _repair(value, definitions, repairs, depth + 1, seen)
    if result.get("type") == "array" and "items" not in result:
        result["items"] = {}
        repairs.append("added items to an array")
    return result
