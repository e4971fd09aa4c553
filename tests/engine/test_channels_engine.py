"""The channel assistant's engine: summaries, schedules, auto-answer decisions, threads, the key vault."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from skynet.engine.channels.autoanswer import (
    Asked,
    AutoAnswerRules,
    Passage,
    RecentQuestions,
    candidate,
    decide,
    declined,
    looks_like_question,
)
from skynet.engine.channels.clock import ManualClock
from skynet.engine.channels.schedules import (
    CATCH_UP,
    REMINDER,
    ScheduleBook,
    next_slot,
    parse_moment,
    parse_rule,
)
from skynet.engine.channels.summaries import (
    ChannelCooldown,
    HistoryLine,
    Summarizer,
    bound,
    chunks,
    link_citations,
    parse_range,
)
from skynet.engine.channels.threads import ThreadTracker, thread_name
from skynet.engine.channels.vault import KeyVault, OwnKey, StoredKey, check_key_text, new_vault_key
from skynet.engine.errors import InvalidValue


def ts(text: str, tz: str = "UTC") -> float:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz)).timestamp()


def history(n: int, tokens: int = 10):
    return [
        HistoryLine(i, f"user{i % 3}", f"message number {i}", 1000.0 + i, f"https://discord.com/channels/1/2/{i}", tokens)
        for i in range(1, n + 1)
    ]


# -- summaries


def test_range_words():
    assert parse_range("150").count == 150
    assert parse_range("2h").seconds == 7200
    assert parse_range("1d").seconds == 86400
    assert parse_range("what") is None
    with pytest.raises(InvalidValue):
        parse_range("5000")
    with pytest.raises(InvalidValue):
        parse_range("30d")


def test_bound_keeps_the_newest_within_messages_and_tokens():
    lines = history(500)
    kept = bound(lines, max_messages=100)
    assert [line.message_id for line in kept] == list(range(401, 501))
    kept = bound(lines, max_messages=1000, max_tokens=250)
    assert len(kept) == 25 and kept[-1].message_id == 500


def test_chunks_fit_the_budget_and_keep_order():
    parts = chunks(history(300), chunk_tokens=1000)
    assert [len(p) for p in parts] == [100, 100, 100]
    assert [line.message_id for p in parts for line in p] == list(range(1, 301))


async def test_long_history_is_summarised_in_chunks_then_combined_with_real_links():
    calls = []

    async def complete(messages):
        calls.append(messages)
        body = messages[-1]["content"]
        if body.startswith("Part 1"):
            return "- everything [1] and [250] and [999]"
        first = body.split("]")[0].lstrip("[")
        return f"- part starting at [{first}]"

    summary = await Summarizer(complete, chunk_tokens=1000).summarize(history(250))
    assert summary.chunks == 3 and len(calls) == 4  # three chunks, one combination
    assert "[101]" in calls[1][-1]["content"].split("\n")[0]  # numbering is global across chunks
    assert "[#1](<https://discord.com/channels/1/2/1>)" in summary.text
    assert "[#250](<https://discord.com/channels/1/2/250>)" in summary.text
    assert "999" not in summary.text  # an invented citation is dropped, not linked


def test_link_citations_lists():
    links = {3: "u3", 4: "u4"}
    assert link_citations("a [3, 4] b [7]", links) == "a [#3](<u3>) [#4](<u4>) b "


def test_cooldown_per_channel():
    clock = ManualClock(0)
    cooldown = ChannelCooldown(clock, 60)
    cooldown.start(1)
    assert cooldown.retry_at(1) == 60 and cooldown.retry_at(2) is None
    clock.advance(60)
    assert cooldown.retry_at(1) is None


# -- schedules


def test_rules():
    assert parse_rule('"every 1d at 09:00"').text == "every 1d at 09:00"
    assert parse_rule("every 6h").every == 21600
    assert parse_rule("0 9 * * 1-5").cron == "0 9 * * 1-5"
    for bad in ("every 1m", "*/5 * * * *", "every 2h at 09:00", "tomorrow", "61 * * * *"):
        with pytest.raises(InvalidValue):
            parse_rule(bad)


def test_daily_slot_in_the_servers_time_zone_across_dst():
    rule = parse_rule("every 1d at 09:00")
    made = ts("2026-03-27 12:00", "Europe/Paris")
    first = next_slot(rule, made, "Europe/Paris", made)
    assert first == ts("2026-03-28 09:00", "Europe/Paris")  # 08:00 UTC
    after_dst = next_slot(rule, first, "Europe/Paris", made)
    assert after_dst == ts("2026-03-29 09:00", "Europe/Paris")  # 07:00 UTC: still 09:00 local
    assert after_dst - first == 23 * 3600
    assert next_slot(rule, made, "UTC", made) == ts("2026-03-28 09:00")


def test_every_two_days_and_cron_in_zone():
    rule = parse_rule("every 2d at 18:30")
    made = ts("2026-05-01 19:00", "America/New_York")
    assert next_slot(rule, made, "America/New_York", made) == ts("2026-05-02 18:30", "America/New_York")
    assert next_slot(rule, ts("2026-05-02 18:31", "America/New_York"), "America/New_York", made) == ts(
        "2026-05-04 18:30", "America/New_York"
    )
    cron = parse_rule("0 9 * * 1-5")  # weekdays at 09:00
    friday = ts("2026-05-01 10:00", "Asia/Tokyo")
    assert next_slot(cron, friday, "Asia/Tokyo", friday) == ts("2026-05-04 09:00", "Asia/Tokyo")


def book_with_daily(clock):
    book = ScheduleBook()
    made = book.add(guild_id=1, channel_id=2, author_id=3, rule=parse_rule("every 1d at 09:00"),
                    prompt="Fun fact", now=clock.now(), tz="UTC")
    return book, made


def test_a_slot_runs_once_and_survives_a_restart():
    clock = ManualClock(ts("2026-06-01 08:00"))
    book, made = book_with_daily(clock)
    assert book.due(clock.now(), lambda g: "UTC") == ([], [])
    clock.set(ts("2026-06-01 09:00"))
    run, _ = book.due(clock.now(), lambda g: "UTC")
    assert [d.schedule.id for d in run] == [made.id]
    restarted = ScheduleBook.load(book.dump(1))  # what the shell saved before running it
    assert restarted.due(clock.now() + 60, lambda g: "UTC") == ([], [])
    assert restarted.schedules[made.id].next_run == ts("2026-06-02 09:00")


def test_downtime_missed_slots_run_once_not_in_a_burst():
    clock = ManualClock(ts("2026-06-01 08:00"))
    book = ScheduleBook()
    made = book.add(guild_id=1, channel_id=2, author_id=3, rule=parse_rule("every 1h"), prompt="x",
                    now=clock.now(), tz="UTC")
    clock.advance(5 * 3600 + 1800)  # down for five and a half hours: five slots missed
    run, skipped = book.due(clock.now(), lambda g: "UTC")
    assert len(run) == 1 and run[0].late == 1800 and not skipped
    assert book.schedules[made.id].next_run == ts("2026-06-01 14:00")
    assert book.due(clock.now(), lambda g: "UTC") == ([], [])


def test_a_slot_missed_long_ago_is_skipped():
    clock = ManualClock(ts("2026-06-01 08:00"))
    book, made = book_with_daily(clock)
    clock.set(ts("2026-06-01 09:00") + CATCH_UP + 60)
    run, skipped = book.due(clock.now(), lambda g: "UTC")
    assert run == [] and [s.id for s in skipped] == [made.id]
    assert book.schedules[made.id].next_run == ts("2026-06-02 09:00")


def test_pause_resume_and_timezone_change():
    clock = ManualClock(ts("2026-06-01 08:00"))
    book, made = book_with_daily(clock)
    book.set_paused(made, True, clock.now(), "UTC")
    clock.set(ts("2026-06-01 10:00"))
    assert book.due(clock.now(), lambda g: "UTC") == ([], [])
    book.set_paused(book.schedules[made.id], False, clock.now(), "UTC")
    assert book.schedules[made.id].next_run == ts("2026-06-02 09:00")  # no run for the paused slot
    book.retime(1, "Asia/Kolkata", clock.now())
    assert book.schedules[made.id].next_run == ts("2026-06-02 09:00", "Asia/Kolkata")


def test_reminders_fire_once_even_late_and_belong_to_their_member():
    clock = ManualClock(ts("2026-06-01 08:00"))
    book = ScheduleBook()
    when = parse_moment("in 2h", clock.now(), "UTC")
    reminder = book.add_reminder(guild_id=1, channel_id=2, user_id=9, text="stretch", when=when, now=clock.now())
    assert parse_moment("tomorrow 09:00", clock.now(), "Europe/Paris") == ts("2026-06-02 09:00", "Europe/Paris")
    assert parse_moment("07:00", clock.now(), "UTC") == ts("2026-06-02 07:00")
    with pytest.raises(InvalidValue):
        parse_moment("yesterday", clock.now(), "UTC")
    clock.advance(30 * 3600)  # the bot was down: still delivered once
    run, _ = book.due(clock.now(), lambda g: "UTC")
    assert [(d.schedule.id, d.schedule.kind) for d in run] == [(reminder.id, REMINDER)]
    assert book.due(clock.now(), lambda g: "UTC") == ([], [])


def test_export_and_forget_user():
    clock = ManualClock(ts("2026-06-01 08:00"))
    book, made = book_with_daily(clock)
    book.add_reminder(guild_id=1, channel_id=2, user_id=9, text="stretch", when=clock.now() + 60, now=clock.now())
    exported = book.export_user(9)
    assert [r["prompt"] for r in exported["reminders"]] == ["stretch"] and exported["schedules"] == []
    assert book.forget_user(9) == [1]
    assert book.export_user(9) == {"schedules": [], "reminders": []}
    assert made.id in book.schedules
    assert book.forget_user(3, guild_id=2) == [] and book.forget_user(3, guild_id=1) == [1]


# -- auto-answer


def test_question_detection():
    assert looks_like_question("How do I reset my password?")
    assert looks_like_question("where is the parking")
    assert looks_like_question("Comment changer mon pseudo")
    assert not looks_like_question("lol")
    assert not looks_like_question("I reset my password yesterday.")


def test_candidates_and_threshold():
    rules = AutoAnswerRules(channels=frozenset({5}), threshold=0.5, ignored_roles=frozenset({7}))
    asked = Asked(1, 5, "How do I reset my password?")
    assert candidate(rules, asked) is None
    assert candidate(rules, Asked(1, 6, asked.text)) == "auto-answer is off in this channel"
    assert "ignored role" in candidate(rules, Asked(1, 5, asked.text, role_ids=(7,)))
    assert "addressed" in candidate(rules, Asked(1, 5, asked.text, addressed_to_bot=True))
    close = Passage("faq.md", "Passwords", "Reset it from settings.", 0.71)
    far = Passage("faq.md", "Parking", "Park behind.", 0.3)
    verdict = decide(rules, [far, close])
    assert verdict.action == "answer" and verdict.passages == (close,)
    assert decide(rules, [far]).action == "silent"
    dry = AutoAnswerRules(channels=frozenset({5}), threshold=0.5, dry_run_channel=9)
    assert decide(dry, [close]).action == "dry_run"
    assert declined("NO_ANSWER") and declined(" no_answer.") and not declined("Go to settings [faq.md › Passwords]")


def test_same_question_not_answered_twice_in_the_window():
    recent = RecentQuestions()
    recent.add(5, "How do I reset my password?", (1.0, 0.0), now=0)
    assert recent.seen(5, "how do i reset my password", (), now=100, window=3600)
    assert recent.seen(5, "Password reset, how?", (0.99, 0.05), now=100, window=3600)  # same meaning
    assert not recent.seen(6, "How do I reset my password?", (1.0, 0.0), now=100, window=3600)
    assert not recent.seen(5, "How do I reset my password?", (1.0, 0.0), now=3601, window=3600)


# -- threads


def test_thread_names():
    assert thread_name("<@123> how do I **reset** my password? https://x.y/z") == "How do I reset my password?"
    long = thread_name("word " * 40)
    assert len(long) <= 91 and long.endswith("…")
    assert thread_name("<@1>") == "Conversation"


def test_tracker_archives_idle_threads():
    tracker = ThreadTracker()
    tracker.opened(10, now=0, archive_after=600)
    tracker.opened(11, now=0, archive_after=600)
    tracker.touch(11, now=500)
    assert tracker.idle(600) == [10]
    tracker.closed([10])
    assert not tracker.owns(10) and tracker.owns(11)


# -- the key vault


def test_vault_round_trip_and_nothing_readable():
    vault = KeyVault(new_vault_key())
    secret = "sk-member-0123456789abcdef"
    token = vault.seal(secret)
    assert secret not in token and vault.open(token) == secret
    assert KeyVault(new_vault_key()).open(token) is None  # another vault key: unreadable
    stored = StoredKey("openai", token, 1.0)
    assert token not in repr(stored) and "token" not in stored.public()
    own = OwnKey("openai", secret)
    assert secret not in repr(own) and secret not in str(own) and secret not in f"{own}"
    with pytest.raises(InvalidValue):
        check_key_text("two words")


def test_passages_are_scored_by_their_closest_sentence():
    from skynet.engine.channels.autoanswer import rescore, units_of

    units = units_of("Guide › Economy", "Sell at spawn. Check money with /balance.")
    assert units == [
        "Economy: Sell at spawn.",
        "Economy: Check money with /balance.",
        "Economy: Sell at spawn. Check money with /balance.",
    ]
    scored = rescore(
        (1.0, 0.0),
        [("g.md", "A", "a"), ("g.md", "B", "b")],
        [[(0.0, 1.0), (0.6, 0.8)], [(1.0, 0.1)]],
    )
    assert [p.section for p in scored] == ["B", "A"] and round(scored[1].similarity, 2) == 0.6
