"""Passive listening as members meet it: mentions, replies to the bot, keywords, every message,
context listening, reply chains, cooldowns, channel lists, and everything it must never answer."""

from __future__ import annotations

from dataclasses import replace
from typing import List, Optional

import discord
import pytest
from conftest import owner, say, text_of
from discord.ext.test import backend as dpy_backend
from discord.ext.test import factories as dpy_factories
from discord.ext.test import runner as dpy_runner

from skynet_dev.harness import BotMessage, RedHarness
from skynet_dev.mock_openai import Reply

# Admins configure and members post faster than people type: Discord's message rates are
# tested in test_streaming.py and test_discord_limits.py; here only message bodies are checked.
pytestmark = pytest.mark.discord_bursts


class Clock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def post(
    red: RedHarness,
    content: str,
    *,
    author: Optional[discord.abc.User] = None,
    channel: Optional[discord.TextChannel] = None,
    reply_to: Optional[int] = None,
    webhook: bool = False,
    message_id: int = -1,
) -> List[BotMessage]:
    """A message arrives from the gateway (optionally a reply, or from a webhook); returns the
    bot's new messages once everything it started has finished."""
    channel = channel or red.channel
    author = author or red.member
    before = {m.id for m in red.messages(channel)}
    extra = {"webhook_id": 1234567890123456789} if webhook else {}
    data = dpy_factories.make_message_dict(
        channel,
        author,
        id_num=message_id,
        content=content,
        mentions=[m for m in dpy_backend.find_user_mentions(content, channel.guild) if m],
        guild_id=channel.guild.id,
        **extra,
    )
    if reply_to is not None:
        data["message_reference"] = {
            "message_id": reply_to,
            "channel_id": channel.id,
            "guild_id": channel.guild.id,
        }
        parent = next(
            (d for d in dpy_backend._cur_config.messages[channel.id] if int(d["id"]) == reply_to), None
        )
        if parent is not None:
            data["referenced_message"] = parent
            data["type"] = 19  # a reply
    dpy_backend._cur_config.messages.setdefault(channel.id, []).append(data)
    dpy_backend.get_state().parse_message_create(data)
    await dpy_runner.run_all_events()
    await red.settle(timeout=20)
    return [m for m in red.messages(channel) if m.id not in before]


async def admin(red: RedHarness, content: str) -> str:
    return text_of(await say(red, content, author=red.admin))


def bot_mention(red: RedHarness) -> str:
    return f"<@{red.bot.user.id}>"


async def test_mode_off_by_default_answers_nothing(bot, provider):
    assert await post(bot, f"{bot_mention(bot)} hello?") == []
    assert await post(bot, "anyone there?") == []
    assert provider.chat_requests == []


async def test_mention_mode_answers_mentions_and_replies_to_the_bot(bot, provider):
    assert "set to `mention`" in await admin(bot, "!ai listen mode mention")
    assert await post(bot, "just chatting") == []
    [answer] = await post(bot, f"{bot_mention(bot)} what is 2+2?")
    assert answer.content == "echo: member: what is 2+2?"
    # Replying to the bot's message counts as a mention, and the chain is the context.
    provider.script(Reply.text("It is 4."))
    [follow_up] = await post(bot, "are you sure?", reply_to=answer.id)
    sent = provider.chat_requests[-1]["messages"]
    assert sent[-1] == {"role": "user", "content": "member: are you sure?"}
    assert {"role": "assistant", "content": "echo: member: what is 2+2?"} in sent
    assert follow_up.content == "It is 4."
    # A reply to another member's message is not a mention
    other = dpy_backend._cur_config.messages[bot.channel.id][0]
    assert await post(bot, "me too", reply_to=int(other["id"])) == []


async def test_keyword_mode_answers_whole_words_of_the_server_list(bot, provider):
    await admin(bot, "!ai listen mode keyword")
    assert "`robot`, `skynet`" in await admin(bot, "!ai listen keywords add robot Skynet")
    assert await post(bot, "robots are everywhere") == []
    [answer] = await post(bot, "hey SKYNET, how are you")
    assert answer.content.startswith("echo: member: hey SKYNET")
    assert "`robot`" in await admin(bot, "!ai listen keywords remove skynet")
    assert await post(bot, "skynet again") == []


async def test_all_mode_and_channel_override(bot, provider):
    await admin(bot, "!ai listen mode all")
    [answer] = await post(bot, "good morning")
    assert answer.content == "echo: member: good morning"
    assert "this channel set to `off`" in await admin(bot, "!ai listen mode channel off")
    assert await post(bot, "good evening") == []
    other = dpy_backend.make_text_channel("other", bot.guild)
    assert len(await post(bot, "hello other", channel=other)) == 1


async def test_context_listening_remembers_without_calling_the_provider(bot, provider):
    await admin(bot, "!ai listen mode mention")
    assert "is on" in await admin(bot, "!ai listen context on")
    assert await post(bot, "the password is swordfish", author=bot.admin) == []
    assert provider.chat_requests == []
    await post(bot, f"{bot_mention(bot)} what did admin just say?")
    contents = [m["content"] for m in provider.chat_requests[-1]["messages"]]
    assert "admin: the password is swordfish" in contents


async def test_reply_chains_are_context_and_fetched_messages_are_cached(bot, provider):
    await admin(bot, "!ai listen mode mention")
    first = dpy_backend.make_message("We should paint the shed blue.", bot.admin, bot.channel)
    second = await post(bot, "I'd say green.", author=bot.owner, reply_to=first.id)
    assert second == []
    owner_reply = dpy_backend._cur_config.messages[bot.channel.id][-1]
    [answer] = await post(bot, f"{bot_mention(bot)} which is better?", reply_to=int(owner_reply["id"]))
    contents = [m["content"] for m in provider.chat_requests[-1]["messages"]]
    assert contents[1:] == [
        "admin: We should paint the shed blue.",
        "owner: I'd say green.",
        "member: which is better?",
    ]


async def test_cooldowns_per_channel_and_member(bot, provider, cog):
    clock = Clock()
    cog.listener.clock = clock
    await admin(bot, "!ai listen mode all")
    assert "set to 60 s" in await admin(bot, "!ai listen cooldown 60")
    assert len(await post(bot, "one")) == 1
    assert await post(bot, "two", author=bot.admin) == []  # channel cooling down
    clock.now += 61
    assert len(await post(bot, "three", author=bot.admin)) == 1
    await admin(bot, "!ai listen cooldown 0")
    assert "Member cooldown set to 30 s" in await admin(bot, "!ai listen usercooldown 30")
    clock.now += 100
    assert len(await post(bot, "four")) == 1
    assert await post(bot, "five") == []  # this member is cooling down
    assert len(await post(bot, "six", author=bot.admin)) == 1  # another member is not
    clock.now += 31
    assert len(await post(bot, "seven")) == 1


async def test_allow_and_deny_lists(bot, provider):
    await admin(bot, "!ai listen mode all")
    other = dpy_backend.make_text_channel("other", bot.guild)
    assert "never answers passively" in await admin(bot, f"!ai listen channels deny {other.mention}")
    assert await post(bot, "hi", channel=other) == []
    assert len(await post(bot, "hi")) == 1
    assert "only allowed channels" in await admin(bot, f"!ai listen channels allow {other.mention}")
    assert await post(bot, "hi again") == []  # not on the allow list
    assert len(await post(bot, "hi there", channel=other)) == 1
    assert "listening everywhere" in await admin(bot, "!ai listen channels clear")
    assert len(await post(bot, "back")) == 1


async def test_never_answers_bots_webhooks_itself_commands_or_ignored_members(bot, provider):
    await admin(bot, "!ai listen mode all")
    state = dpy_backend.get_state()
    robot = dpy_backend.make_member(
        state.store_user(dpy_factories.make_user_dict("robot", "0002", None, bot=True)), bot.guild
    )
    assert len(await post(bot, "a member is answered")) == 1  # the control
    assert await post(bot, "beep", author=robot) == []
    assert await post(bot, "from a webhook", webhook=True) == []
    assert await post(bot, "myself", author=bot.bot.user) == []
    assert await post(bot, "!notacommand hello") == []  # any prefix: never answered passively
    assert all(not m.content.startswith("echo") for m in await post(bot, "!ai nonsense"))
    assert "added" in text_of(await owner(bot, f"!blocklist add {bot.member.id}")).lower()
    assert await post(bot, "am I ignored?") == []
    await owner(bot, f"!blocklist remove {bot.member.id}")
    assert "added to ignore list" in text_of(await owner(bot, "!ignore channel"))
    assert await post(bot, "and now?") == []
    assert len(provider.chat_requests) == 1


async def test_no_answer_without_send_messages(bot, provider):
    await admin(bot, "!ai listen mode all")
    data = dpy_factories.dict_from_channel(bot.channel)
    deny = discord.Permissions(send_messages=True).value
    data["permission_overwrites"] = [{"id": bot.guild.me.id, "type": 1, "allow": "0", "deny": str(deny)}]
    dpy_backend.get_state().parse_channel_update(data)
    assert not bot.channel.permissions_for(bot.guild.me).send_messages
    assert await post(bot, f"{bot_mention(bot)} can you talk?") == []
    assert provider.chat_requests == []


async def test_the_same_message_delivered_twice_is_answered_once(bot, provider):
    await admin(bot, "!ai listen mode all")
    message_id = dpy_factories.make_id()
    assert len(await post(bot, "only once", message_id=message_id)) == 1
    assert await post(bot, "only once", message_id=message_id) == []
    assert len(provider.chat_requests) == 1


async def test_the_same_message_delivered_twice_at_once_is_answered_once(bot, provider):
    await admin(bot, "!ai listen mode all")
    data = dpy_factories.make_message_dict(bot.channel, bot.member, content="racing", guild_id=bot.guild.id)
    dpy_backend._cur_config.messages[bot.channel.id].append(data)
    before = len(bot.messages())
    state = dpy_backend.get_state()
    state.parse_message_create(dict(data))
    state.parse_message_create(dict(data))  # both events dispatched before either is handled
    await dpy_runner.run_all_events()
    await bot.settle(timeout=20)
    assert len(bot.messages()) - before == 1
    assert len(provider.chat_requests) == 1


async def test_listen_show_and_bad_input(bot, provider):
    assert "only" in text_of(await say(bot, "!ai listen mode all")).lower()  # members may not change it
    out = await admin(bot, "!ai listen show")
    assert "Mode here:** `off`" in out
    for bad, needle in [
        ("!ai listen cooldown -5", "from 0 to 86,400"),
        ("!ai listen cooldown nan", "from 0 to 86,400"),
        ("!ai listen cooldown 1e9", "from 0 to 86,400"),
        ("!ai listen usercooldown 1\u200b0", "from 0 to 86,400"),
        ("!ai listen keywords add " + "x" * 65, "at most 64"),
        ("!ai listen keywords add " + " ".join(f"w{i}" for i in range(51)), "at most 50 keywords"),
        ("!ai listen channels deny 123456789012345678", "isn't a channel of this server"),
    ]:
        assert needle in await admin(bot, bad), bad
    out = await admin(bot, "!ai listen show")
    assert "Keywords:** none" in out and "Denied channels:** none" in out and "Cooldown here:** 0 s" in out


async def test_a_channel_busier_than_discord_allows_is_not_answered_without_end(bot, provider):
    """Every message of a channel can't be answered once they come faster than Discord shows
    replies (5 sends or edits per 5 s): at most three passive replies are under way in a channel;
    the messages beyond them are treated like those in a cooldown (kept as context)."""
    await admin(bot, "!ai listen mode all")
    await admin(bot, "!ai listen context on")
    provider.default_reply = replace(provider.default_reply, first_delay=0.5)
    state = dpy_backend.get_state()
    texts = [f"rush message {n}" for n in range(6)]
    before = len(bot.messages())
    for text in texts:  # all six arrive before the first answer has begun to show
        data = dpy_factories.make_message_dict(bot.channel, bot.member, content=text, guild_id=bot.guild.id)
        dpy_backend._cur_config.messages[bot.channel.id].append(data)
        state.parse_message_create(data)
    await dpy_runner.run_all_events()
    await bot.settle(timeout=20)
    answers = [m.content for m in bot.messages()[before:]]
    answered = {t for t in texts if f"echo: member: {t}" in answers}
    assert len(answers) == len(answered) == 3
    assert len(provider.chat_requests) == 3
    # Once the channel is quiet again, the next message is answered, with the others as context.
    provider.default_reply = replace(provider.default_reply, first_delay=None)
    [answer] = await post(bot, "and now?")
    assert answer.content == "echo: member: and now?"
    context = [m["content"] for m in provider.chat_requests[-1]["messages"]]
    for text in set(texts) - answered:
        assert f"member: {text}" in context
    # another channel has its own three
    other = dpy_backend.make_text_channel("other", bot.guild)
    assert len(await post(bot, "hello other", channel=other)) == 1
