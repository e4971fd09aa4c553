"""The memory engine on plain data: pruning policies, write-behind persistence, compaction,
documents, policy parsing."""

from __future__ import annotations

import asyncio
import io
import json

import pytest

from skynet.engine.errors import InvalidValue, Redactor
from skynet.engine.memory import ASSISTANT, USER, ConversationMemory, WindowPolicy
from skynet.engine.memory.compaction import Compactor
from skynet.engine.memory.documents import (
    MAX_BYTES,
    DocumentRefused,
    check_document,
    parse_document,
    split_with_overlap,
)
from skynet.engine.memory.persistence import WindowStore
from skynet.engine.memory.policy import parse_value, resolve_policy
from skynet.engine.providers.base import Endpoint
from skynet.engine.providers.registry import ProviderRegistry
from skynet.engine.settings import ModelRef
from skynet_dev.mock_openai import MockOpenAI, Reply
from skynet_dev.samples import make_pdf


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def words(text: str) -> int:
    return len(text.split())


def exchange(memory: ConversationMemory, key: str, n: int, user: int = 1) -> None:
    memory.add(key, USER, f"question {n}", user_id=user, name=f"u{user}")
    memory.add(key, ASSISTANT, f"answer {n}", user_id=user, name="assistant")


def test_pruning_by_message_count_keeps_the_latest_turns():
    memory = ConversationMemory(words, WindowPolicy(max_turns=4))
    for n in range(5):
        exchange(memory, "c", n)
    assert [t.content for t in memory.history("c")] == ["question 3", "answer 3", "question 4", "answer 4"]


def test_pruning_by_tokens_keeps_what_fits():
    memory = ConversationMemory(words, WindowPolicy(max_tokens=5))
    memory.add("c", USER, "one two three", user_id=1, name="a")
    memory.add("c", ASSISTANT, "four five six", user_id=1, name="assistant")
    memory.add("c", USER, "seven", user_id=1, name="a")
    assert [t.content for t in memory.turns("c")] == ["four five six", "seven"]
    # The window sent to the model starts at a user turn.
    assert [t.content for t in memory.history("c")] == ["seven"]


def test_pruning_by_age_forgets_old_turns():
    clock = Clock()
    memory = ConversationMemory(words, WindowPolicy(max_age_seconds=3600), clock=clock)
    exchange(memory, "c", 1)
    clock.now += 1800
    exchange(memory, "c", 2)
    clock.now += 1801
    assert [t.content for t in memory.history("c")] == ["question 2", "answer 2"]


def test_policy_per_conversation():
    policies = {"a": WindowPolicy(max_turns=2), "b": WindowPolicy(max_turns=6)}
    memory = ConversationMemory(words, policy_for=lambda key: policies[key])
    for n in range(4):
        exchange(memory, "a", n)
        exchange(memory, "b", n)
    assert len(memory.turns("a")) == 2 and len(memory.turns("b")) == 6


def test_undo_removes_the_members_last_message_and_its_answer_only():
    memory = ConversationMemory(words)
    exchange(memory, "c", 1, user=1)
    exchange(memory, "c", 2, user=2)
    exchange(memory, "c", 3, user=1)
    removed = memory.undo("c", 1)
    assert [t.content for t in removed] == ["question 3", "answer 3"]
    assert [t.content for t in memory.turns("c")] == ["question 1", "answer 1", "question 2", "answer 2"]


def test_policy_values_are_parsed_and_bounded():
    assert parse_value("age", "12h") == 43200 and parse_value("age", "7d") == 604800
    assert parse_value("messages", "40") == 40
    for kind, bad in (("messages", "1"), ("messages", "many"), ("tokens", "99999"), ("age", "10s")):
        with pytest.raises(InvalidValue):
            parse_value(kind, bad)
    resolved = resolve_policy([{"messages": 8}, {"messages": 30, "age": 60}])
    assert (resolved.max_turns, resolved.max_age_seconds, resolved.max_tokens) == (
        8,
        60,
        WindowPolicy().max_tokens,
    )


async def test_write_behind_writes_at_most_once_per_interval_and_restores(tmp_path):
    memory = ConversationMemory(words)
    store = WindowStore(memory, tmp_path / "windows.sqlite3", interval=0.2)
    store.start()
    # 50 messages a second for a second.
    for n in range(50):
        memory.add(f"c{n % 5}", USER, f"message {n}", user_id=n, name="u")
        await asyncio.sleep(0.02)
    await store.stop()
    assert 1 <= store.writes <= 1 / 0.2 + 2  # never one write per message
    restored = ConversationMemory(words)
    await WindowStore(restored, tmp_path / "windows.sqlite3").load()
    assert [t.content for t in restored.turns("c0")] == [t.content for t in memory.turns("c0")]
    assert sum(len(restored.turns(f"c{i}")) for i in range(5)) == 50


async def test_a_corrupt_window_file_is_set_aside(tmp_path):
    path = tmp_path / "windows.sqlite3"
    path.write_text("this is not a database" * 200)
    memory = ConversationMemory(words)
    await WindowStore(memory, path).load()
    assert memory.conversations() == [] and (tmp_path / "windows.corrupt").exists()


async def test_compaction_folds_overflow_into_a_summary():
    async with MockOpenAI(models=["gpt-test"]) as server:
        registry = ProviderRegistry(lambda service: _none(), Redactor())
        registry.set_endpoints({"mock": Endpoint("mock", server.base_url)})
        memory = ConversationMemory(words, WindowPolicy(max_turns=4))
        memory.keep_overflow = True
        compactor = Compactor(registry, memory, threshold=4)
        for n in range(4):
            exchange(memory, "c", n)
        assert compactor.due("c")
        server.script(Reply.text("They asked questions 0 and 1."))
        assert await compactor.compact("c", ModelRef("mock", "gpt-test"))
        assert memory.summary("c") == "They asked questions 0 and 1."
        prompt = json.dumps(server.chat_requests[-1]["messages"])
        assert "question 0" in prompt and "answer 1" in prompt and "question 3" not in prompt
        assert not compactor.due("c")
        # A provider failure keeps the turns for the next try.
        for n in range(4, 6):
            exchange(memory, "c", n)
        server.script(Reply.error(400))  # not retried by the SDK
        assert not await compactor.compact("c", ModelRef("mock", "gpt-test"))
        assert len(memory.overflow["c"]) == 4
        # Forgetting a member drops the summaries their words went into.
        memory.forget_user(1)
        assert memory.summary("c") == ""
        await registry.aclose()


async def test_a_summary_past_twice_the_length_asked_for_is_cut():
    """A model that ignores "at most N words" must not make every later request longer."""
    async with MockOpenAI(models=["gpt-test"]) as server:
        registry = ProviderRegistry(lambda service: _none(), Redactor())
        registry.set_endpoints({"mock": Endpoint("mock", server.base_url)})
        memory = ConversationMemory(words, WindowPolicy(max_turns=4))
        memory.keep_overflow = True
        compactor = Compactor(registry, memory, threshold=4, words=20)
        for n in range(4):
            exchange(memory, "c", n)
        server.script(Reply.text(" ".join(f"word{i}" for i in range(500)), chunk_size=12))
        assert await compactor.compact("c", ModelRef("mock", "gpt-test"))
        summary = memory.summary("c").split()
        assert summary[:40] == [f"word{i}" for i in range(40)] and summary[40:] == ["…"]
        await registry.aclose()


async def _none():
    return None


def test_markdown_is_chunked_by_heading_with_overlap():
    body = " ".join(f"Sentence {n} about holidays." for n in range(120))
    doc = f"# Handbook\nIntro text.\n## Vacation\n{body}\n## Expenses\nKeep receipts.\n".encode()
    chunks = parse_document("handbook.md", doc)
    sections = [c.section for c in chunks]
    assert (
        sections[0] == "Handbook"
        and "Handbook › Vacation" in sections
        and sections[-1] == "Handbook › Expenses"
    )
    vacation = [c.text for c in chunks if c.section == "Handbook › Vacation"]
    assert len(vacation) >= 3 and all(len(c) <= 900 for c in vacation)
    # consecutive chunks overlap
    assert vacation[1][:40] in vacation[0]


def test_split_with_overlap_covers_everything():
    text = " ".join(f"w{n}" for n in range(2000))
    pieces = split_with_overlap(text, size=300, overlap=50)
    assert all(len(p) <= 300 for p in pieces)
    assert set(" ".join(pieces).split()) == set(text.split())


def test_bad_documents_are_refused_clearly():
    with pytest.raises(DocumentRefused, match="binary"):
        parse_document("data.txt", b"\x00\x01\x02" * 100)
    with pytest.raises(DocumentRefused, match="supported"):
        check_document("image.png", 100)
    with pytest.raises(DocumentRefused, match="at most 5 MB"):
        check_document("huge.pdf", 50 * 1024 * 1024)
    with pytest.raises(DocumentRefused, match="readable PDF"):
        parse_document("broken.pdf", b"%PDF-1.4 garbage")
    assert MAX_BYTES == 5 * 1024 * 1024


def test_pdf_text_and_encrypted_pdf():
    pypdf = pytest.importorskip("pypdf")
    writer = pypdf.PdfWriter()
    writer.add_blank_page(200, 200)
    buffer = io.BytesIO()
    writer.encrypt("secret")
    writer.write(buffer)
    with pytest.raises(DocumentRefused, match="password"):
        parse_document("locked.pdf", buffer.getvalue())
    chunks = parse_document(
        "notes.pdf", make_pdf(["Page one talks about llamas.", "Page two about alpacas."])
    )
    assert [(c.section, c.text) for c in chunks] == [
        ("page 1", "Page one talks about llamas."),
        ("page 2", "Page two about alpacas."),
    ]
