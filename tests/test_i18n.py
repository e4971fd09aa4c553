"""Translations: the template is current, every shown text goes through ``_()``, and each shipped
language translates every text with the same placeholders."""

from __future__ import annotations

import ast
import re
import string
import sys
from pathlib import Path
from typing import Iterator, List, Set, Tuple

import polib
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import i18n as i18n_script  # noqa: E402  (scripts/i18n.py)

LOCALES = ROOT / "skynet" / "locales"
SHIPPED = sorted(LOCALES.glob("*.po"))

# Calls whose string arguments reach a member's screen.
SINKS = {
    "reply", "send", "edit", "followup", "send_message", "set_status", "Status", "Embed",
    "add_field", "set_footer", "set_author", "error_text", "refusal",
}
SHOWN_KEYWORDS = {"content", "title", "description", "name", "value", "text", "message", "reason"}


def template_ids() -> Set[str]:
    return {entry.msgid for entry in polib.pofile(str(i18n_script.TEMPLATE))}


def error_class_names() -> Set[str]:
    """Every SkynetError subclass: their messages are shown to members."""
    import skynet.cog  # noqa: F401  (imports every module that defines an error)
    from skynet.engine.errors import SkynetError

    names, pending = set(), [SkynetError]
    while pending:
        cls = pending.pop()
        names.add(cls.__name__)
        pending.extend(cls.__subclasses__())
    return names


def has_words(text: str) -> bool:
    """Prose, not an identifier, a format spec or punctuation."""
    return bool(re.search(r"[A-Za-z]{2,}\W+[A-Za-z]{2,}", text)) or bool(re.fullmatch(r"\W*[A-Z][a-z]+\W*", text))


def literal_text(node: ast.AST) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    if isinstance(node, ast.BinOp):  # "a" + "b", "a %s" % x
        return literal_text(node.left) + " " + literal_text(node.right)
    return ""


def call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


# Text for the model, not for members (tool results, prompts), stays in English: the line
# that starts the call carries this comment.
MODEL_FACING = "# i18n: model-facing"


def untranslated_literals() -> Iterator[Tuple[str, int, str]]:
    sinks = SINKS | error_class_names()
    for path in i18n_script.sources():
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.Call) or call_name(node) not in sinks:
                continue
            if MODEL_FACING in lines[node.lineno - 1]:
                continue
            arguments = list(node.args) + [k.value for k in node.keywords if k.arg in SHOWN_KEYWORDS]
            for argument in arguments:
                text = literal_text(argument)
                if text and has_words(text):
                    yield str(path.relative_to(ROOT)), node.lineno, text[:60]


def gettext_literals() -> Iterator[Tuple[str, int, str]]:
    """``_("...")`` calls: their argument must be a plain literal, or redgettext cannot see it."""
    for path in i18n_script.sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_":
                argument = node.args[0] if node.args else None
                yield str(path.relative_to(ROOT)), node.lineno, argument


def test_template_is_current(tmp_path: Path) -> None:
    fresh = {entry.msgid for entry in polib.pofile(str(i18n_script.extract(tmp_path)))}
    committed = template_ids()
    missing, stale = sorted(fresh - committed), sorted(committed - fresh)
    assert not missing and not stale, (
        "skynet/locales/messages.pot is out of date: run `.venv/bin/python scripts/i18n.py update`\n"
        f"missing: {missing[:10]}\nno longer used: {stale[:10]}"
    )


def test_every_gettext_call_is_a_literal_in_the_template() -> None:
    ids = template_ids()
    bad: List[str] = []
    for path, line, argument in gettext_literals():
        if not (isinstance(argument, ast.Constant) and isinstance(argument.value, str)):
            bad.append(f"{path}:{line}: _() needs a plain string literal (use .format(name=...) after it)")
        elif argument.value not in ids:
            bad.append(f"{path}:{line}: {argument.value[:60]!r} is not in the template")
    assert not bad, "\n".join(bad)


def test_every_command_help_is_in_the_template() -> None:
    import inspect

    from redbot.core import commands

    import skynet.cog

    ids = template_ids()
    missing = []
    for name in dir(skynet.cog.Skynet):
        attr = getattr(skynet.cog.Skynet, name)
        if isinstance(attr, commands.Command):
            for command in [attr, *getattr(attr, "walk_commands", lambda: [])()]:
                doc = command.callback.__doc__
                if doc and doc not in ids:
                    missing.append(command.qualified_name)
    assert not missing, f"command help not in the template: {sorted(set(missing))}"
    assert inspect.getdoc(skynet.cog.Skynet) in ids


def test_no_shown_text_bypasses_translation() -> None:
    found = [f"{path}:{line}: {text!r}" for path, line, text in untranslated_literals()]
    assert not found, "wrap these in _() (see skynet/engine/i18n.py):\n" + "\n".join(found)


def placeholders(text: str) -> Set[str]:
    try:
        return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}
    except ValueError:
        return {"<malformed>"}


@pytest.mark.parametrize("po_path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_language_is_complete_and_well_formed(po_path: Path) -> None:
    translations = {entry.msgid: entry.msgstr for entry in polib.pofile(str(po_path))}
    problems = []
    for msgid in sorted(template_ids()):
        msgstr = translations.get(msgid, "")
        if not msgstr:
            problems.append(f"untranslated: {msgid[:70]!r}")
        elif placeholders(msgid) != placeholders(msgstr):
            problems.append(f"placeholders differ: {msgid[:50]!r} -> {msgstr[:50]!r}")
        elif msgid.count("[p]") != msgstr.count("[p]") or msgid.count("`") != msgstr.count("`"):
            problems.append(f"commands or code marks differ: {msgid[:50]!r} -> {msgstr[:50]!r}")
    assert not problems, f"{po_path.name}: {len(problems)} problems\n" + "\n".join(problems[:40])


def test_nothing_is_translated_at_import_time() -> None:
    """A ``_()`` outside a function runs once, at import, in the load-time locale: every server
    would then see that text in the bot's default language whatever its own."""
    frozen = []
    for path in i18n_script.sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        inside_functions = set()
        for node in ast.walk(tree):
            # The body only: decorators and default values run at import.
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = node.body
            elif isinstance(node, ast.Lambda):
                body = [node.body]
            else:
                continue
            inside_functions.update(id(child) for statement in body for child in ast.walk(statement))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "_"
                and id(node) not in inside_functions
            ):
                frozen.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not frozen, "translated at import time (move into the function that shows it):\n" + "\n".join(frozen)
