"""Governance engine on plain data: tool policy precedence, token buckets, budgets with
reservations and daily resets, the listening decision, number parsing. Clocks are injected."""

from __future__ import annotations

import math

import pytest

from skynet.engine.errors import InvalidValue
from skynet.engine.events import Usage
from skynet.engine.governance.buckets import Buckets, Rate
from skynet.engine.governance.budgets import DAY, period_start
from skynet.engine.governance.errors import BudgetExhausted, RateLimited
from skynet.engine.governance.governor import Admission, Governor
from skynet.engine.governance.listening import Heard, Listener
from skynet.engine.governance.numbers import parse_number
from skynet.engine.governance.policy import (
    ToolPolicies,
    check_tool_name,
    decide_tool,
    with_rule,
)
from skynet.engine.governance.rules import parse_rules
from skynet.engine.usage.pricing import Price, PriceBook

TOOLS = ("web_search", "scrape", "crawl", "ping")  # the registry's names, as the shell passes them


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# --------------------------------------------------------------------------------------------
# tool policies: member > role > channel > server; deny beats allow at the same level
# --------------------------------------------------------------------------------------------

USER, ROLE_A, ROLE_B, CHAN = 1, 10, 11, 100

POLICY_TABLE = [
    # (rules as (level, target, action), expected allowed, expected level)
    ([], True, "default"),
    ([("server", None, "deny")], False, "server"),
    ([("server", None, "deny"), ("channel", CHAN, "allow")], True, "channel"),
    ([("channel", CHAN, "deny"), ("role", ROLE_A, "allow")], True, "role"),
    ([("role", ROLE_A, "allow"), ("role", ROLE_B, "deny")], False, "role"),  # deny wins at one level
    ([("role", ROLE_A, "deny"), ("member", USER, "allow")], True, "member"),
    ([("member", USER, "deny"), ("role", ROLE_A, "allow"), ("server", None, "allow")], False, "member"),
    ([("channel", 999, "deny")], True, "default"),  # another channel's rule does not apply
    ([("role", 12, "deny")], True, "default"),  # a role the member lacks does not apply
    ([("server", None, "allow"), ("channel", CHAN, "deny")], False, "channel"),
]


@pytest.mark.parametrize("rules, allowed, level", POLICY_TABLE)
def test_tool_policy_precedence(rules, allowed, level):
    data = {}
    for lvl, target, action in rules:
        data = with_rule(data, lvl, target, "web_search", action)
    decision = decide_tool(
        ToolPolicies.from_json(data), "web_search", user_id=USER, role_ids=(ROLE_A, ROLE_B), channel_id=CHAN
    )
    assert (decision.allowed, decision.level) == (allowed, level), decision
    assert decision.reason
    # Other tools are unaffected
    assert decide_tool(ToolPolicies.from_json(data), "calculator", user_id=USER, channel_id=CHAN).allowed


def test_inherit_removes_a_rule_and_unknown_tools_are_refused():
    data = with_rule({}, "member", USER, "scrape", "deny")
    data = with_rule(data, "member", USER, "scrape", "inherit")
    assert data["members"] == {}
    with pytest.raises(InvalidValue, match="Known tools: `web_search`"):
        check_tool_name("web_serch", TOOLS)
    assert check_tool_name(" Web_Search ", TOOLS) == "web_search"


# --------------------------------------------------------------------------------------------
# buckets
# --------------------------------------------------------------------------------------------


def test_bucket_allows_a_burst_then_refills_over_time():
    clock = Clock()
    buckets, rate = Buckets(clock), Rate(3, 60)
    for _ in range(3):
        assert buckets.retry_at("k", rate) is None
        buckets.take("k", rate)
    retry = buckets.retry_at("k", rate)
    assert retry == pytest.approx(clock.now + 20)
    clock.now += 19.9
    assert buckets.retry_at("k", rate) is not None
    clock.now += 0.2
    assert buckets.retry_at("k", rate) is None


# --------------------------------------------------------------------------------------------
# budgets and the governor
# --------------------------------------------------------------------------------------------


def governor(clock, prices=None):
    book = PriceBook(prices or {})
    return Governor(lambda: book, clock)


def admission(prompt=100, max_tokens=100, user=1, roles=(), model="m"):
    return Admission(
        guild_id=5, user_id=user, role_ids=roles, model=model, prompt_tokens=prompt, max_tokens=max_tokens
    )


def test_period_starts_at_the_reset_hour():
    t = 1_700_000_000  # 2023-11-14 22:13:20 UTC
    assert period_start(t, 0) == t - (22 * 3600 + 13 * 60 + 20)
    assert period_start(t, 22) == t - (13 * 60 + 20)
    assert period_start(t, 23) == t - (13 * 60 + 20) - 23 * 3600


def test_budget_reserves_settles_refunds_and_resets_on_time():
    clock = Clock()
    gov = governor(clock)
    rules = parse_rules({"budget": {"member": 1000}})
    ticket = gov.admit(rules, admission(prompt=100, max_tokens=400))
    assert gov.remaining(rules.budgets, 5, 1, ()).spent == 500  # reserved
    ticket.settle(Usage(100, 50))
    assert gov.remaining(rules.budgets, 5, 1, ()).spent == 150  # refunded the rest
    ticket.settle(Usage(100, 900))  # settling twice does nothing
    assert gov.remaining(rules.budgets, 5, 1, ()).spent == 150
    gov.admit(rules, admission(prompt=100, max_tokens=800)).settle(Usage(100, 800))
    assert gov.remaining(rules.budgets, 5, 1, ()).left == 0
    with pytest.raises(BudgetExhausted) as refused:
        gov.admit(rules, admission())
    resets = gov.resets_at(rules.budgets)
    assert "0 tokens of 1,000 tokens left" in refused.value.message
    assert f"<t:{int(resets)}:R>" in refused.value.message
    clock.now = resets + 1
    gov.admit(rules, admission())  # a new day
    assert gov.remaining(rules.budgets, 5, 1, ()).spent == 200


def test_failed_request_refunds_its_whole_reservation():
    gov = governor(Clock())
    rules = parse_rules({"budget": {"member": 1000}})
    gov.admit(rules, admission(prompt=100, max_tokens=400)).settle(None)
    assert gov.remaining(rules.budgets, 5, 1, ()).spent == 0


def test_concurrent_requests_overspend_by_at_most_one_reservation():
    gov = governor(Clock())
    rules = parse_rules({"budget": {"member": 1000}})
    tickets = []
    for _ in range(50):
        try:
            tickets.append(gov.admit(rules, admission(prompt=30, max_tokens=50)))
        except BudgetExhausted:
            pass
    assert len(tickets) == 13  # 12 * 80 = 960 < 1000, the 13th crosses, then all refused
    for t in tickets:
        t.settle(Usage(30, 50))
    assert gov.remaining(rules.budgets, 5, 1, ()).spent <= 1000 + 80


def test_role_budget_highest_wins_member_override_beats_it_and_bypass_skips():
    gov = governor(Clock())
    rules = parse_rules(
        {"budget": {"member": 100, "roles": {"10": 500, "11": 300}, "members": {"2": 50}, "bypass": [12]}}
    )
    assert rules.budgets.member_limit(1, (10, 11)) == (500, "role <@&10>")
    assert rules.budgets.member_limit(2, (10, 11)) == (50, "member override")
    assert rules.budgets.member_limit(3, ()) == (100, "server default")
    for _ in range(5):
        gov.admit(rules, admission(prompt=200, max_tokens=200, roles=(12,)))  # bypass: never refused
    assert gov.remaining(rules.budgets, 5, 1, (12,)).spent == 0


def test_usd_budget_uses_the_pricing_book_and_refuses_unpriced_models():
    gov = governor(Clock(), {"m": Price(1000.0, 1000.0)})  # $0.001 per token
    rules = parse_rules({"budget": {"member": 0.5, "unit": "usd"}})
    ticket = gov.admit(rules, admission(prompt=100, max_tokens=100))
    assert gov.remaining(rules.budgets, 5, 1, ()).spent == pytest.approx(0.2)
    ticket.settle(Usage(100, 50, cost_usd=0.15))
    assert gov.remaining(rules.budgets, 5, 1, ()).spent == pytest.approx(0.15)
    with pytest.raises(BudgetExhausted, match="no known price"):
        gov.admit(rules, admission(model="unpriced-model"))


def test_server_total_and_rate_limits_refuse_with_the_limit_and_retry_time():
    clock = Clock()
    gov = governor(clock)
    rules = parse_rules({"budget": {"server": 300}, "ratelimit": {"user": [2, 60]}})
    gov.admit(rules, admission(prompt=100, max_tokens=100, user=1)).settle(Usage(100, 100))
    gov.admit(rules, admission(prompt=100, max_tokens=100, user=2)).settle(Usage(100, 100))
    with pytest.raises(BudgetExhausted, match="This server's daily AI budget is used up"):
        gov.admit(rules, admission(user=3))
    rules = parse_rules({"ratelimit": {"user": [2, 60]}})
    gov.admit(rules, admission(user=7))
    gov.admit(rules, admission(user=7))
    with pytest.raises(RateLimited) as refused:
        gov.admit(rules, admission(user=7))
    assert "2 requests per 60 s for each member" in refused.value.message
    assert refused.value.resets_at == pytest.approx(clock.now + 30)
    gov.admit(rules, admission(user=8))  # another member has their own bucket
    clock.now += 30
    gov.admit(rules, admission(user=7))


def test_a_budget_refusal_gives_back_the_rate_limit_token():
    gov = governor(Clock())
    rules = parse_rules({"budget": {"member": 0}, "ratelimit": {"user": [1, 60]}})
    for _ in range(3):
        with pytest.raises(BudgetExhausted):
            gov.admit(rules, admission())


# --------------------------------------------------------------------------------------------
# listening
# --------------------------------------------------------------------------------------------


def heard(content="hello", *, mid=1, channel=100, author=1, mention=False, reply=False):
    return Heard(mid, 5, channel, author, content, mention, reply)


@pytest.mark.parametrize(
    "mode, message, answered",
    [
        ("off", heard(mention=True), False),
        ("mention", heard(), False),
        ("mention", heard(mention=True), True),
        ("mention", heard(reply=True), True),
        ("keyword", heard("Hey ROBOT, help"), True),
        ("keyword", heard("robots are cool"), False),  # whole words only
        ("keyword", heard("nothing here"), False),
        ("all", heard("anything"), True),
    ],
)
def test_modes(mode, message, answered):
    rules = parse_rules({"listen": {"mode": mode, "keywords": ["robot", "c++"]}}).listen
    assert Listener(Clock()).decide(rules, message).answer is answered


def test_channel_override_lists_cooldowns_context_and_duplicates():
    clock = Clock(0)
    listener = Listener(clock)
    rules = parse_rules(
        {
            "listen": {
                "mode": "all",
                "cooldown": 10,
                "user_cooldown": 30,
                "deny": [200],
                "channels": {"300": {"mode": "off", "context": True}},
            }
        }
    ).listen
    assert not listener.decide(rules, heard(channel=200)).answer
    off_here = listener.decide(rules, heard(channel=300))
    assert not off_here.answer and off_here.remember
    first = heard(mid=1)
    assert listener.decide(rules, first).answer
    listener.mark_answered(first)
    assert listener.decide(rules, first).reason == "already answered"
    assert listener.decide(rules, heard(mid=2, author=2)).reason == "channel cooldown"
    clock.now = 11
    assert listener.decide(rules, heard(mid=3, author=2)).answer
    assert listener.decide(rules, heard(mid=4, author=1, channel=101)).reason == "member cooldown"
    clock.now = 31
    assert listener.decide(rules, heard(mid=5, author=1, channel=101)).answer
    allow_only = parse_rules({"listen": {"mode": "all", "allow": [101]}}).listen
    assert not Listener(clock).decide(allow_only, heard(channel=100)).answer
    assert Listener(clock).decide(allow_only, heard(channel=101)).answer


# --------------------------------------------------------------------------------------------
# numbers typed by admins
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["-5", "nan", "inf", "1e12", "1\u200b000", "", "12abc", "1_000", "٣"])
def test_bad_numbers_are_refused_with_the_range(text):
    with pytest.raises(InvalidValue, match="from 0 to 1,000,000"):
        parse_number(text, what="A budget", minimum=0, maximum=1_000_000, integer=True)


def test_good_numbers():
    assert parse_number(" 2500 ", what="x", minimum=0, maximum=10_000, integer=True) == 2500
    assert math.isclose(parse_number("$2.5", what="x", minimum=0, maximum=10), 2.5)
    with pytest.raises(InvalidValue, match="without decimals"):
        parse_number("2.5", what="x", minimum=0, maximum=10, integer=True)


def test_budget_spend_survives_a_restart_and_data_deletion_forgets_it():
    clock = Clock()
    gov = governor(clock)
    rules = parse_rules({"budget": {"member": 1000, "server": 5000}})
    gov.admit(rules, admission(user=1)).settle(Usage(100, 50))
    gov.admit(rules, admission(user=2)).settle(Usage(10, 5))
    assert gov.ledger.dirty == {5}
    stored = gov.ledger.dump(5)
    again = governor(clock)
    again.ledger.load(5, stored)
    assert again.remaining(rules.budgets, 5, 1, ()).spent == 150
    assert again.server_remaining(rules.budgets, 5).spent == 165
    again.ledger.forget_user(1)
    assert again.remaining(rules.budgets, 5, 1, ()).spent == 0
    assert "1" not in again.ledger.dump(5)["members"]
    clock.now += DAY  # stored spend from an earlier day counts for nothing
    assert again.remaining(rules.budgets, 5, 2, ()).spent == 0
