"""A safe calculator on ``simpleeval`` (the maintained library for evaluating expressions without
``eval``), restricted to arithmetic: numbers, + - * / // % **, a few math functions and constants.
Powers and results are bounded so a model can't make the bot compute for minutes."""

from __future__ import annotations

import ast
import math
import operator
from typing import Any, Callable, Dict

import simpleeval

from ...i18n import _
from ..registry import ToolError

MAX_EXPRESSION = 200
MAX_POWER = 10000
MAX_MAGNITUDE = 10**100


def _bounded(op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def apply(left: Any, right: Any) -> Any:
        for value in (left, right):
            if not _is_number(value):
                raise TypeError("only numbers can be combined")
        result = op(left, right)
        if isinstance(result, complex) or abs(result) > MAX_MAGNITUDE:
            raise OverflowError("the result is too large")
        return result

    return apply


def _power(base: Any, exponent: Any) -> Any:
    if _is_number(base) and _is_number(exponent) and (
        abs(exponent) > MAX_POWER or (abs(base) > 1 and abs(exponent) > 400)
    ):
        raise OverflowError("the power is too large")
    return operator.pow(base, exponent)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_OPERATORS: Dict[type, Callable[..., Any]] = {
    ast.Add: _bounded(operator.add),
    ast.Sub: _bounded(operator.sub),
    ast.Mult: _bounded(operator.mul),
    ast.Div: _bounded(operator.truediv),
    ast.FloorDiv: _bounded(operator.floordiv),
    ast.Mod: _bounded(operator.mod),
    ast.Pow: _bounded(_power),
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}
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
# Anything outside arithmetic: names, attributes, subscripts, lambdas, collections, strings...
_NOT_ARITHMETIC = (
    simpleeval.InvalidExpression,  # names, functions, attributes, features simpleeval refuses
    SyntaxError,
    KeyError,
    AttributeError,
    IndexError,
)


def calculate(expression: str) -> float:
    expression = expression.strip().replace("^", "**").replace("×", "*").replace("÷", "/")
    if not expression or len(expression) > MAX_EXPRESSION:
        raise ToolError(_("Give an expression of 1-{limit} characters.").format(limit=MAX_EXPRESSION), "bad_arguments")
    try:
        ast.parse(expression, mode="eval")
    except SyntaxError:
        raise ToolError(_("That isn't an arithmetic expression."), "bad_arguments") from None
    evaluator = simpleeval.SimpleEval(operators=_OPERATORS, functions=_FUNCTIONS, names=_CONSTANTS)
    try:
        result = evaluator.eval(expression)
    except ZeroDivisionError:
        raise ToolError(_("Division by zero."), "bad_arguments") from None
    except _NOT_ARITHMETIC:
        result = None
    except (OverflowError, ValueError, TypeError) as exc:
        raise ToolError(_("Can't compute that: {problem}.").format(problem=exc), "bad_arguments") from None
    if not _is_number(result):
        raise ToolError(
            _("Only numbers, + - * / // % ** and functions like sqrt, log, sin are allowed."), "bad_arguments"
        )
    return result


def format_number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.12g}"
    return str(value)
