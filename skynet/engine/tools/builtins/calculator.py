"""A safe calculator: arithmetic parsed with ``ast`` and evaluated node by node (no ``eval``)."""

from __future__ import annotations

import ast
import math
import operator
from typing import Any, Callable, Dict

from ...i18n import _
from ..registry import ToolError

MAX_EXPRESSION = 200
MAX_POWER = 10000
MAX_MAGNITUDE = 10**100

_BINARY: Dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS = {
    "sqrt": math.sqrt,
    "abs": abs,
    "round": round,
    "log": math.log,
    "log10": math.log10,
    "exp": math.exp,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "floor": math.floor,
    "ceil": math.ceil,
    "min": min,
    "max": max,
}
_CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau}


def calculate(expression: str) -> float:
    expression = expression.strip().replace("^", "**").replace("×", "*").replace("÷", "/")
    if not expression or len(expression) > MAX_EXPRESSION:
        raise ToolError(_("Give an expression of 1-{limit} characters.").format(limit=MAX_EXPRESSION), "bad_arguments")
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError:
        raise ToolError(_("That isn't an arithmetic expression."), "bad_arguments") from None
    try:
        return _eval(tree.body)
    except ZeroDivisionError:
        raise ToolError(_("Division by zero."), "bad_arguments") from None
    except (OverflowError, ValueError, TypeError) as exc:
        raise ToolError(_("Can't compute that: {problem}.").format(problem=exc), "bad_arguments") from None


def _eval(node: ast.AST) -> Any:
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, (int, float))
        and not isinstance(node.value, bool)
    ):
        return node.value
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow) and (abs(right) > MAX_POWER or (abs(left) > 1 and abs(right) > 400)):
            raise OverflowError("the power is too large")
        result = _BINARY[type(node.op)](left, right)
        if isinstance(result, complex) or abs(result) > MAX_MAGNITUDE:
            raise OverflowError("the result is too large")
        return result
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand))
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
        and len(node.args) <= 5
    ):
        return _FUNCTIONS[node.func.id](*(_eval(arg) for arg in node.args))
    raise ToolError(
        _("Only numbers, + - * / // % ** and functions like sqrt, log, sin are allowed."), "bad_arguments"
    )


def format_number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.12g}"
    return str(value)
