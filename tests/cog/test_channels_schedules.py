"""Scheduled prompts and reminders through a real Red bot, on a clock the test moves: slots in
the server's time zone, one run per slot across restarts, missed slots after downtime, the
server's budget, personas, and members' reminders through the ``remind_me`` tool."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from skynet.engine.channels.clock import ManualClock
from skynet_dev import fake_channels
from skynet_dev.mock_openai import Reply
from tests.conftest import owner, say, text_of

START = datetime(2027, 1, 15, 8, 0, tzinfo=ZoneInfo("UTC")).timestamp()  # a Friday


def at(text: str, tz: str = "UTC") -> float:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz)).timestamp()


@pytest.fixture
def sched(bot, cog, monkeypatch):
    fake_channels.install(monkeypatch)
    cog.set_channels_clock(ManualClock(START))
    return bot


async def tick(red, cog, when: float):
    cog.channels_clock.set(when)
    await cog.channels_tick()
    # The clock jumps hours while real time stands still: a post may wait for the channel's
    # window (5 per 5 s) that the test's last commands filled a moment ago.
    await red.settle(timeout=15)


def posted(red, text):
    return [m for m in red.messages() if text in m.content]


@pytest.mark.discord_bursts
async def test_daily_schedule_runs_once_per_slot_and_survives_a_restart(sched, cog, provider):
    reply = text_of(await owner(sched, f'!ai schedule add <#{sched.channel.id}> "every 1d at 09:00" Share a fun fact'))
    assert "Scheduled" in reply and f"<t:{int(at('2027-01-15 09:00'))}:F>" in reply
    await tick(sched, cog, at("2027-01-15 08:59"))
    assert provider.chat_requests == []
    await tick(sched, cog, at("2027-01-15 09:00"))
    assert len(posted(sched, "echo: FakeApp_nick: Share a fun fact")) == 1
    await tick(sched, cog, at("2027-01-15 09:05"))
    assert len(provider.chat_requests) == 1

    await owner(sched, "!reload skynet")  # a restart: the schedule and its next slot come back
    cog = sched.bot.get_cog("Skynet")
    cog.set_channels_clock(ManualClock(at("2027-01-15 09:10")))
    await tick(sched, cog, at("2027-01-15 09:10"))
    assert len(provider.chat_requests) == 1  # the 09:00 slot already ran
    listed = text_of(await owner(sched, "!ai schedule list"))
    assert "every 1d at 09:00" in listed and f"<t:{int(at('2027-01-16 09:00'))}:R>" in listed
    await tick(sched, cog, at("2027-01-16 09:00"))
    assert len(provider.chat_requests) == 2


async def test_downtime_runs_a_missed_slot_once_not_a_burst(sched, cog, provider):
    await owner(sched, f'!ai schedule add <#{sched.channel.id}> "every 1h" Status report')
    await tick(sched, cog, START + 5 * 3600 + 600)  # five slots passed while the bot was down
    assert len(provider.chat_requests) == 1
    await tick(sched, cog, START + 5 * 3600 + 900)
    assert len(provider.chat_requests) == 1
    await tick(sched, cog, START + 6 * 3600)
    assert len(provider.chat_requests) == 2


async def test_slots_follow_the_servers_time_zone(sched, cog, provider):
    await owner(sched, "!ai timezone Asia/Tokyo")
    reply = text_of(await owner(sched, f'!ai schedule add <#{sched.channel.id}> "0 9 * * 1-5" Weekday briefing'))
    monday = at("2027-01-18 09:00", "Asia/Tokyo")  # Friday 17:00 in Tokyo now: next is Monday 09:00
    assert f"<t:{int(monday)}:F>" in reply and "Asia/Tokyo" in reply
    await tick(sched, cog, monday - 60)
    assert provider.chat_requests == []
    await tick(sched, cog, monday)
    assert len(provider.chat_requests) == 1


@pytest.mark.discord_bursts
async def test_pause_run_remove_and_refusals(sched, cog, provider):
    await owner(sched, f'!ai schedule add <#{sched.channel.id}> "every 1d at 09:00" Good morning')
    [schedule] = cog.channels.book.in_guild(sched.guild.id)
    await owner(sched, f"!ai schedule pause {schedule.id}")
    await tick(sched, cog, at("2027-01-15 09:00"))
    assert provider.chat_requests == []
    await owner(sched, f"!ai schedule run {schedule.id}")  # run by hand, even paused
    assert len(posted(sched, "echo: FakeApp_nick: Good morning")) == 1
    await owner(sched, f"!ai schedule pause {schedule.id} off")
    await tick(sched, cog, at("2027-01-15 10:00"))
    assert len(provider.chat_requests) == 1  # the slot missed while paused is not made up
    assert "removed" in text_of(await owner(sched, f"!ai schedule remove {schedule.id}"))
    assert "No schedules" in text_of(await owner(sched, "!ai schedule list"))
    assert "at most every 10 minutes" in text_of(await owner(sched, f'!ai schedule add <#{sched.channel.id}> "*/5 * * * *" spam'))
    assert "Only server admins" in text_of(await say(sched, f'!ai schedule add <#{sched.channel.id}> "every 1d" hi'))
    assert "no schedule" in text_of(await owner(sched, "!ai schedule remove abc123")).lower()


async def test_schedules_count_against_the_servers_budget(sched, cog, provider):
    await owner(sched, "!ai budget set server 50")
    await owner(sched, f'!ai schedule add <#{sched.channel.id}> "every 1h" Tell a long story')
    provider.script(Reply.text("word " * 200))
    await tick(sched, cog, START + 3600)
    assert len(provider.chat_requests) == 1
    server = cog.governor.server_remaining(cog.governance.rules(sched.guild.id).budgets, sched.guild.id)
    assert server.spent > 50
    member = cog.remaining_for(sched.member, sched.guild)
    assert member.spent == 0  # nobody's own budget
    await tick(sched, cog, START + 7200)
    assert len(provider.chat_requests) == 1  # the server's budget is used up: not run


async def test_a_schedule_can_answer_as_a_persona(sched, cog, provider):
    await owner(sched, '!ai persona create pirate You are a pirate. Speak like one.')
    await owner(sched, f'!ai schedule add <#{sched.channel.id}> "every 1h" persona:pirate Morning news')
    await tick(sched, cog, START + 3600)
    [request] = provider.chat_requests
    assert "pirate" in request["messages"][0]["content"]
    assert request["messages"][-1]["content"].endswith("Morning news")


@pytest.mark.discord_bursts  # the clock jumps 2 hours in no real time: Discord's 5-s window can't follow
async def test_reminders_through_the_tool_are_off_until_enabled(sched, cog, provider):
    await say(sched, "!ai chat remind me in 2 hours to stretch")
    assert "tools" not in provider.chat_requests[0] or all(
        t["function"]["name"] != "remind_me" for t in provider.chat_requests[0].get("tools", [])
    )
    provider.requests.clear()
    await owner(sched, "!ai tools enable remind_me")
    provider.script(Reply.call("remind_me", {"when": "in 2h", "text": "stretch your legs"}), Reply.text("Done!"))
    await say(sched, "!ai chat remind me in 2 hours to stretch")
    assert any(t["function"]["name"] == "remind_me" for t in provider.chat_requests[0]["tools"])
    assert cog.channels.export_user(sched.member.id)["reminders"][0]["prompt"] == "stretch your legs"
    await tick(sched, cog, START + 2 * 3600)
    [reminder] = posted(sched, "stretch your legs")
    assert f"<@{sched.member.id}>" in reminder.content
    sends = [e for e in sched.events if e.kind == "send" and e.content and "stretch your legs" in e.content]
    assert sends[-1].allowed_mentions.get("users") == [str(sched.member.id)] or sends[-1].allowed_mentions.get("users") == [sched.member.id]
    assert not sends[-1].allowed_mentions.get("parse")
    await tick(sched, cog, START + 3 * 3600)
    assert len(posted(sched, "stretch your legs")) == 1


async def test_no_reminder_is_stored_for_an_incognito_member(sched, cog, provider):
    await owner(sched, "!ai tools enable remind_me")
    await say(sched, "!ai incognito on")
    provider.script(Reply.call("remind_me", {"when": "in 2h", "text": "secret plan"}), Reply.text("Sorry."))
    await say(sched, "!ai chat remind me in 2 hours about my secret plan")
    tool_result = [m for m in provider.chat_requests[-1]["messages"] if m.get("role") == "tool"]
    assert tool_result and "Not set" in tool_result[-1]["content"]
    assert cog.channels.export_user(sched.member.id) == {}
