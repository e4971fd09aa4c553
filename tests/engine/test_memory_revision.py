"""Memory that stays true, on plain data: who a fact is about, new / update / duplicate by rules and
by the model (one bounded call through a real local provider), which memories a prompt carries and
how they are dated, and a fact's versions."""

from __future__ import annotations

import json

import pytest

from skynet.engine.errors import Redactor
from skynet.engine.memory import facts
from skynet.engine.memory.facts import DUPLICATE, NEW, UPDATE, decide, holder
from skynet.engine.memory.history import histories, ids_to_forget
from skynet.engine.memory.revision import Candidate, FactJudge, parse_verdict, revise
from skynet.engine.memory.selection import (
    about_the_past,
    ago,
    render_memories,
    select,
)
from skynet.engine.memory.vector import Record
from skynet.engine.providers.base import Endpoint
from skynet.engine.providers.registry import ProviderRegistry
from skynet.engine.settings import ModelRef
from skynet_dev.mock_openai import MockOpenAI, Reply

DAY = 86400.0


async def _none():
    return None


# -- who a fact is about ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, who",
    [
        ("I live in Glasgow", "self"),
        ("My sister lives in Valencia", "sister"),
        ("My sister is called Ana", "self"),  # the member's sister's name: the member's fact
        ("My car is a red Fiat", "self"),
        ("My daughter's shoe size is 36", "daughter"),
        ("My son's name is Oliver", "self"),
        ("My best friend is Priya", "self"),
        ("Priya moved away; my closest friend now is Ben", "self"),
        ("I broke up with my partner", "self"),
        ("My kids' favourite food is pizza", "kid"),
        ("My brother works as a barista", "brother"),
    ],
)
def test_holder(text, who):
    assert holder(text) == who


# -- the rules --------------------------------------------------------------------------------


def test_a_move_updates_where_i_live_but_my_sister_moving_does_not():
    verdict = decide("I moved to Valencia last month", ["I live in Glasgow"], [0.35])
    assert (verdict.action, verdict.target) == (UPDATE, 0)
    assert decide("My sister lives in Valencia", ["I live in Glasgow"], [0.74]).action == NEW


def test_rewordings_are_duplicates_and_changed_values_are_not():
    assert decide("I'm allergic to cashews", ["I am allergic to cashews"], [0.97]).action == DUPLICATE
    assert decide("My home town is Cork", ["My hometown is Cork"], [0.93]).action == DUPLICATE
    assert (
        decide(
            "My favorite author is Terry Pratchett", ["My favourite author is Terry Pratchett"], [0.95]
        ).action
        == DUPLICATE
    )
    # One number differs: the same subject, a new value.
    verdict = decide("My shoe size is actually 43", ["My shoe size is 42"], [0.93])
    assert verdict.action == UPDATE
    # A negation is not a repeat.
    assert (
        decide("I'm not allergic to penicillin after all", ["I'm allergic to penicillin"], [0.8]).action
        == UPDATE
    )


def test_additions_and_memories_of_the_past_replace_nothing():
    assert decide("I also play the piano", ["I play the violin"], [0.7]).action == NEW
    assert (
        decide("I used to live in Utrecht as a student", ["I live in a flat in Rotterdam"], [0.6]).action
        == NEW
    )
    assert decide("I like my coffee black", ["My car is blue"], [0.1]).action == NEW


def test_the_update_goes_to_the_fact_on_the_same_subject():
    candidates = ["My rent is 900 euros a month", "I live in Glasgow", "I work as a barista"]
    verdict = decide("I moved to Valencia last month", candidates, [0.4, 0.35, 0.2])
    assert verdict.target == 1


# -- the model judge ----------------------------------------------------------------------------


def test_parse_verdict():
    assert parse_verdict('{"action": "update", "fact": 2}', 3).target == 1
    assert parse_verdict('Sure!\n```json\n{"action":"duplicate","fact":1}\n```', 1).action == DUPLICATE
    assert parse_verdict('{"action": "new", "fact": null}', 2).action == NEW
    assert parse_verdict('{"action": "update", "fact": 7}', 2) is None  # no such fact
    assert parse_verdict("I think it is an update", 2) is None
    assert parse_verdict('{"action": "merge"}', 2) is None


async def test_the_model_decides_when_a_fact_is_in_doubt_and_its_tokens_are_counted():
    async with MockOpenAI(models=["gpt-test"]) as server:
        registry = ProviderRegistry(lambda service: _none(), Redactor())
        registry.set_endpoints({"mock": Endpoint("mock", server.base_url)})
        spent = []
        judge = FactJudge(
            registry, lambda: ModelRef("mock", "gpt-test"), on_usage=lambda *args: spent.append(args)
        )
        old = [Candidate("m1", "My partner is called Alex", 0.42)]
        # The rules see a fact about a partner and one about the member: the model knows better.
        server.script(Reply.text('{"action": "update", "fact": 1}'))
        revision = await revise("I broke up with Alex and I'm now dating Jordan", old, judge, (5, 7))
        assert (revision.action, revision.target.id, revision.decided_by) == (UPDATE, "m1", "model")
        request = server.chat_requests[-1]
        assert request["max_tokens"] == 120
        assert "1. My partner is called Alex" in json.dumps(request["messages"])
        assert (
            len(spent) == 1
            and spent[0][0] == ModelRef("mock", "gpt-test")
            and spent[0][1] > 0
            and spent[0][4] == (5, 7)
        )
        # An unusable answer (or a failure): the rules decide.
        server.script(Reply.text("no idea"))
        revision = await revise("I moved to Valencia", [Candidate("m2", "I live in Glasgow", 0.35)], judge)
        assert (revision.action, revision.decided_by) == (UPDATE, "rules")
        server.script(Reply.error(400))
        revision = await revise(
            "My sister lives in Valencia", [Candidate("m2", "I live in Glasgow", 0.7)], judge
        )
        assert (revision.action, revision.decided_by) == (NEW, "rules")
        assert (judge.calls, judge.unusable) == (3, 2)
        # Nothing close: no call at all. The same words again: no call either.
        await revise("I keep bees", [Candidate("m3", "My car is blue", 0.1)], judge)
        await revise("I live in Glasgow.", [Candidate("m2", "I live in Glasgow", 0.99)], judge)
        assert judge.calls == 3
        await registry.aclose()


async def test_the_judge_has_an_hourly_cap_and_no_model_means_rules():
    now = [0.0]
    judge = FactJudge(ProviderRegistry(lambda s: _none(), Redactor()), lambda: None)
    assert not judge.available()
    async with MockOpenAI(models=["gpt-test"]) as server:
        registry = ProviderRegistry(lambda service: _none(), Redactor())
        registry.set_endpoints({"mock": Endpoint("mock", server.base_url)})
        judge = FactJudge(
            registry, lambda: ModelRef("mock", "gpt-test"), calls_per_hour=1, clock=lambda: now[0]
        )
        server.script(Reply.text('{"action": "new"}'), Reply.text('{"action": "new"}'))
        close = [Candidate("m1", "I live in Glasgow", 0.7)]
        assert (await revise("My sister lives in Glasgow", close, judge)).decided_by == "model"
        assert (await revise("My brother lives in Glasgow", close, judge)).decided_by == "rules"
        now[0] = 3601.0
        assert (await revise("My aunt lives in Glasgow", close, judge)).decided_by == "model"
        await registry.aclose()


# -- what a prompt carries -----------------------------------------------------------------------


def record(id_, text, distance, at=0.0, **meta):
    return Record(id_, text, {"at": at, "scope": "member", **meta}, distance)


def test_cut_off_keeps_only_facts_close_to_the_best():
    records = [
        record("a", "I live in Valencia", 0.3),
        record("b", "My rent is 1050 euros", 0.45),
        record("e", "I moved here for work", 0.68),  # plainly related (similarity 0.32)
        record("c", "I like jazz", 0.75),  # far from the best
        record("d", "My car is blue", 0.95),
    ]
    kept = select(records, "where do I live?")
    assert [r.id for r in kept] == ["a", "b", "e"]


def test_at_most_five_and_no_near_copies():
    records = [record(str(n), f"fact number {n} about cats", 0.2 + n * 0.01) for n in range(9)]
    assert len(select(records, "cats?")) == 5
    copies = [
        record("x", "My cat is grey", 0.2),
        record("y", "my cat is grey", 0.21),
        record("z", "My dog is black", 0.3),
    ]
    assert [r.id for r in select(copies, "pets?")] == ["x", "z"]
    # With vectors: MMR on them.
    vectors = [[1.0, 0.0], [0.999, 0.01], [0.0, 1.0]]
    assert [r.id for r in select(copies, "pets?", vectors=vectors)] == ["x", "z"]


def test_superseded_facts_only_for_questions_about_the_past_and_marked():
    now = 400 * DAY
    records = [
        record(
            "old",
            "I live in Glasgow",
            0.2,
            at=100 * DAY,
            fact="old",
            status="superseded",
            superseded_at=379 * DAY,
        ),
        record("new", "I moved to Valencia last month", 0.5, at=379 * DAY, fact="old", status="current"),
    ]
    assert [r.id for r in select(records, "Where do I live now?")] == ["new"]
    assert about_the_past("Where did I live before?")
    kept = select(records, "Where did I live before?")
    assert [r.id for r in kept] == ["new", "old"]  # current first although less similar
    lines = render_memories(kept, now)
    assert "today is" in lines[0]
    assert lines[1].endswith("I moved to Valencia last month") and "told 3 weeks ago" in lines[1]
    assert "NO LONGER TRUE" in lines[2] and "told 9 months ago" in lines[2]


@pytest.mark.parametrize(
    "seconds, text",
    [
        (30, "just now"),
        (600, "10 minutes ago"),
        (3 * 3600, "3 hours ago"),
        (DAY * 1.5, "yesterday"),
        (DAY * 5, "5 days ago"),
        (DAY * 21, "3 weeks ago"),
        (DAY * 100, "3 months ago"),
        (DAY * 800, "2 years ago"),
    ],
)
def test_ago(seconds, text):
    assert ago(seconds) == text


# -- versions ---------------------------------------------------------------------------------------


def test_histories_and_what_forget_removes():
    records = [
        record("m1", "I live in Glasgow", None, at=1, fact="m1", status="superseded", replaced_by="m2"),
        record("m2", "I live in Leeds", None, at=2, fact="m1", status="superseded", replaced_by="m3"),
        record("m3", "I moved to Valencia", None, at=3, fact="m1", status="current"),
        record("m4", "I like jazz", None, at=4),  # stored before versions existed
    ]
    found = histories(records)
    assert [h.current.id for h in found] == ["m3", "m4"]
    assert [r.id for r in found[0].earlier] == ["m2", "m1"]
    assert ids_to_forget(records, ["m3"]) == ["m1", "m2", "m3"]
    assert ids_to_forget(records, ["m1"]) == ["m1"]
    assert ids_to_forget(records, ["m4", "nope"]) == ["m4"]


def test_squashed_and_markers():
    assert facts.squashed("I like my steak medium-rare") == facts.squashed("i like my steak medium rare")
    assert facts.markers("My email is sam.k@example.com") == {"sam.k@example.com"}
    assert facts.markers("My shoe size is 42") != facts.markers("My shoe size is 43")


def test_a_question_about_me_ranks_my_facts_above_look_alikes_about_others():
    records = [
        record("sister", "My sister lives in Valencia", 0.55),
        record("mine", "I moved to Valencia last month", 0.64),
        record("x1", "My brother lives in Leeds", 0.58),
        record("x2", "My dad lives in Porto", 0.59),
        record("x3", "My aunt lives in Rome", 0.6),
        record("x4", "My son lives in Oslo", 0.61),
        record("x5", "My niece lives in Bern", 0.62),
    ]
    kept = select(records, "Where do I live now?")
    assert kept[0].id == "mine" and len(kept) == 5
