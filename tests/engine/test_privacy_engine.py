"""Privacy engine on plain data: the data map, the storing gate, consent, blocked words, the
audit log and webhook names."""

from __future__ import annotations

import json

import pytest

from skynet.engine.errors import InvalidValue
from skynet.engine.personas.personas import PersonaError, check_webhook_name
from skynet.engine.personas.webhook_names import refusal
from skynet.engine.privacy.audit import HIDDEN, AuditEntry, AuditLog, diff, safe_value, to_json_lines
from skynet.engine.privacy.consent import OFF, REQUIRED, ConsentState, parse_mode
from skynet.engine.privacy.datamap import DataMap, ForgetIncomplete
from skynet.engine.privacy.gate import BOT, CHANNEL_EXCLUDED, INCOGNITO, NO_CONSENT, StoringGate
from skynet.engine.privacy.wordlist import BlockedWords, check_pattern


class DictStore:
    """A store keyed by (guild, user) with the two data-map methods."""

    def __init__(self) -> None:
        self.rows = {}

    async def export_user(self, user_id):
        return {str(g): v for (g, u), v in self.rows.items() if u == user_id}

    async def forget_user(self, user_id, guild_id=None):
        for key in [k for k in self.rows if k[1] == user_id and (guild_id is None or k[0] == guild_id)]:
            del self.rows[key]


# -- data map


async def test_export_and_forget_reach_every_registered_store():
    a, b = DictStore(), DictStore()
    a.rows = {(1, 7): "a-7-in-1", (2, 7): "a-7-in-2", (1, 8): "a-8"}
    b.rows = {(1, 7): "b-7"}
    data_map = DataMap()
    data_map.register("first", a)
    data_map.register("second", b)
    assert await data_map.export(7) == {"first": {"1": "a-7-in-1", "2": "a-7-in-2"}, "second": {"1": "b-7"}}
    await data_map.forget(7, 1)  # one server only
    assert a.rows == {(2, 7): "a-7-in-2", (1, 8): "a-8"} and b.rows == {}
    await data_map.forget(7)
    assert a.rows == {(1, 8): "a-8"}
    assert await data_map.export(7) == {}


async def test_a_failing_store_does_not_stop_the_others_and_is_named():
    good = DictStore()
    good.rows = {(1, 7): "x"}

    def broken(user_id, guild_id=None):
        raise OSError("disk full")

    data_map = DataMap()
    data_map.register("broken", forget=broken)
    data_map.register("good", good)
    with pytest.raises(ForgetIncomplete) as caught:
        await data_map.forget(7)
    assert caught.value.failed == ["broken"]
    assert good.rows == {}


def test_registration_needs_forget_and_a_unique_name():
    data_map = DataMap()
    with pytest.raises(TypeError):
        data_map.register("nothing", object())
    data_map.register("x", DictStore())
    with pytest.raises(ValueError):
        data_map.register("x", DictStore())


def test_coverage_lists_what_no_store_declared():
    data_map = DataMap()
    data_map.register("members", DictStore(), config=["MEMBER.*", "USER.incognito"], files=["windows.sqlite3*"])
    data_map.not_personal("the model", config=["GLOBAL.model"])
    existing = [("MEMBER", "usage"), ("USER", "incognito"), ("GLOBAL", "model"), ("GUILD", "secret_notes")]
    files = ["windows.sqlite3", "windows.sqlite3-journal", "notes.db"]
    assert data_map.uncovered(existing, files) == ["Config GUILD.secret_notes", "file notes.db"]


# -- gate and consent


def test_the_gate_refuses_bots_incognito_non_consenting_and_excluded_channels():
    gate = StoringGate()
    assert gate.may_store(1, guild_id=10, channel_id=100)
    assert gate.may_store(1, guild_id=10, is_bot=True).reason == BOT
    gate.incognito.add(1)
    assert gate.may_store(1, guild_id=10).reason == INCOGNITO
    assert gate.may_answer(1, guild_id=10)  # incognito members are answered, not remembered
    gate.consent.modes[10] = REQUIRED
    assert gate.may_store(2, guild_id=10).reason == NO_CONSENT
    assert gate.may_answer(2, guild_id=10).reason == NO_CONSENT
    assert gate.may_store(2, guild_id=11)  # another server without consent mode
    gate.consent.give(2, 10)
    assert gate.may_store(2, guild_id=10)
    gate.excluded_channels.add(100)
    assert gate.may_store(2, guild_id=10, channel_id=100).reason == CHANNEL_EXCLUDED
    assert gate.may_store(2, guild_id=10, channel_id=555, parent_id=100).reason == CHANNEL_EXCLUDED
    assert not gate.may_store_all([2, 1], guild_id=10)


def test_consent_owner_default_and_data_rights():
    consent = ConsentState()
    assert consent.mode(5) == OFF and consent.allows(1, 5)
    consent.owner_default = REQUIRED
    assert not consent.allows(1, 5) and not consent.allows(1, None)  # DMs follow the owner
    consent.modes[5] = OFF
    assert consent.allows(1, 5)
    consent.give(1, 6, at=100.0)
    consent.give(1, None, at=200.0)
    assert consent.export_user(1) == {"dms": 200.0, "6": 100.0}
    consent.forget_user(1, 6)
    assert consent.export_user(1) == {"dms": 200.0}
    consent.forget_user(1)
    assert consent.export_user(1) == {}
    assert parse_mode(" Required ") == REQUIRED
    with pytest.raises(InvalidValue):
        parse_mode("maybe")


# -- blocked words


def test_blocked_words_match_whole_words_with_safe_wildcards():
    words = BlockedWords(["spam*", "f*ck", "bad phrase", "Grüße"])
    assert words.find("you SPAMMER") == "spam*"
    assert words.find("what the fuck") == "f*ck"
    assert words.find("a bad   phrase here") == "bad phrase"
    assert words.find("GRÜSSE aus Berlin") == "grüsse"  # casefold: ß and SS are the same letters
    assert words.find("grüße") == "grüsse"
    assert words.find("antispam") is None  # whole words: a pattern does not match inside a word
    assert words.find("a badphrase") is None
    assert words.find("nothing here") is None


def test_blocked_words_are_literal_not_regular_expressions():
    words = BlockedWords(["a+b", "(x)"])
    assert words.patterns == ("a b", "x")  # punctuation separates words, as in messages
    assert words.find("a+b") == "a b" and words.find("so: a, b!") == "a b"
    assert words.find("aab") is None and words.find("a.*b") == "a b"
    assert words.find("(x)") == "x" and words.find("xx") is None
    evil = BlockedWords(["(a+)+$", "a*a*a*"])  # regex syntax is not regex here
    assert evil.find("a" * 5000 + "!") == "a*a*a*"  # and one long word costs one linear match
    assert BlockedWords(["a*a*a*b"]).find("a" * 5000) is None  # no catastrophic backtracking
    assert BlockedWords(["a*a*a*b"]).find("a" * 40) is None


@pytest.mark.parametrize(
    "pattern, text, expected",
    [("spam*", "spammer", True), ("f*ck", "fck", True), ("f*ck", "f ck", False), ("a*b", "ab", True),
     ("a*b", "axxbxb", True), ("a*b", "axxbx", False), ("*ing", "blessing", True), ("x", "xy", False)],
)
def test_glob_match(pattern, text, expected):
    from skynet.engine.privacy.wordlist import glob_match

    assert glob_match(pattern, text) is expected


@pytest.mark.parametrize("bad", ["*", "  ", "*a", "a*b*c*d*e", "x" * 61, ".", "(+)"])
def test_blocked_word_refusals(bad):
    with pytest.raises(InvalidValue):
        check_pattern(bad)


def test_blocked_words_add_and_remove():
    words = BlockedWords(["one"]).with_added(["Two", "one"])
    assert words.patterns == ("one", "two")
    words, removed = words.without(["TWO", "three"])
    assert words.patterns == ("one",) and removed == ["two"]


# -- audit


def test_diff_lists_leaf_changes():
    old = {"budget": {"member": 100, "members": {"7": 5}}, "listen": {"mode": "off"}}
    new = {"budget": {"member": 200, "members": {}}, "listen": {"mode": "off"}, "tools": {"x": "deny"}}
    assert diff(old, new) == [
        ("budget.member", 100, 200),
        ("budget.members.7", 5, None),
        ("tools.x", None, "deny"),
    ]
    assert diff(None, "gpt-4o", ("model",)) == [("model", None, "gpt-4o")]


def test_safe_value_hides_secrets_and_shortens():
    assert safe_value("endpoints.x.api_key", "sk-abc") == HIDDEN
    assert safe_value("tool_config.token", "abc") == HIDDEN
    assert safe_value("model", "gpt") == "gpt"
    assert safe_value("prompt", "x" * 1000).endswith("…")
    assert safe_value("base_url", "https://h/?k=SECRET", redact=lambda t: t.replace("SECRET", "***")) == "https://h/?k=***"


async def test_audit_log_records_queries_exports_prunes_and_forgets(tmp_path):
    now = [1_000_000.0]
    log = AuditLog(tmp_path / "audit.sqlite3", clock=lambda: now[0])
    def entry(**kw):
        return AuditEntry(**{"at": now[0], "guild_id": 1, "actor_id": 7, "command": "ai model set",
                                            "scope": "server 1", "setting": "model", "old": None, "new": "a", **kw})
    await log.record([entry(), entry(setting="governance.budget.members.99", actor_id=8, old="5", new=None)])
    now[0] += 86400 * 2
    await log.record([entry(guild_id=2, new="b")])
    assert [e.setting for e in await log.query(guild_id=1)] == ["governance.budget.members.99", "model"]
    assert [e.new for e in await log.query(guild_id=1, actor_id=7)] == ["a"]
    assert [e.setting for e in await log.query(guild_id=1, setting="budget")] == ["governance.budget.members.99"]
    assert await log.query(guild_id=1, days=1) == []
    assert len(await log.query(all_guilds=True)) == 3
    lines = to_json_lines(await log.query(guild_id=2)).splitlines()
    assert json.loads(lines[0])["new"] == "b"
    # member 99 is named in a path: forgetting them removes that entry; 7's entries go with 7
    assert (await log.export_user(99))["settings_changes"][0]["setting"] == "governance.budget.members.99"
    await log.forget_user(99)
    assert await log.export_user(99) == {}
    await log.forget_user(7, 1)
    assert [e.guild_id for e in await log.query(all_guilds=True)] == [2]
    log.retention_days = 1
    now[0] += 86400 * 2
    assert await log.prune() == 1
    assert await log.query(all_guilds=True) == []
    log.close()
    raw = (tmp_path / "audit.sqlite3").read_bytes()
    assert b"members.99" not in raw  # secure_delete: forgotten text is not left in free pages


# -- webhook names


@pytest.mark.parametrize("name", ["Discord Helper", "my clyde", "ClYdE", "DISCORD", "dis\u200bcord", "everyone", "a@b", "x" * 81, " "])
def test_names_discord_refuses(name):
    assert refusal(name) is not None
    with pytest.raises(PersonaError):
        check_webhook_name(name)


@pytest.mark.parametrize("name", ["Captain", "Clive", "Disco Cord", None, "Élodie 🌸"])
def test_names_discord_accepts(name):
    assert check_webhook_name(name) == name
