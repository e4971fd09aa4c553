"""Personas, prompt variables, members' own instructions, character cards and DMs, driven through a
real Red bot (dpytest) against the local OpenAI-compatible server: each test checks the system
prompt the provider actually received, or what the member sees."""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from pathlib import Path
from typing import List, Optional

import discord
import pytest
from conftest import owner, text_of
from discord.ext.test import backend as dpy_backend
from discord.ext.test import runner as dpy_runner

from skynet.engine.personas.cards import png_with_card
from skynet.engine.personas.variables import PLACEHOLDER
from skynet_dev.fake_images import FakeImages
from skynet_dev.harness import BotMessage, RedHarness
from skynet_dev.mock_openai import Reply
from skynet_dev.samples import tiny_png

# Members and admins here type faster than people do: Discord's message rates are tested in
# test_streaming.py and test_discord_limits.py; here only message bodies are checked.
pytestmark = pytest.mark.discord_bursts

# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


async def say(
    red: RedHarness,
    content: str,
    *,
    author: Optional[discord.abc.User] = None,
    channel: Optional[discord.abc.Messageable] = None,
) -> List[BotMessage]:
    """``author`` (default: the member) sends ``content`` in ``channel`` (default: #general)."""
    before = {m.id for m in red.messages(channel)}
    await red.say(content, author=author, channel=channel)
    await red.settle()
    return [m for m in red.messages(channel) if m.id not in before]


async def admin(red: RedHarness, content: str) -> List[BotMessage]:
    return await say(red, content, author=red.admin)


async def system_prompt_for(red: RedHarness, provider, text: str = "hi", **kwargs) -> str:
    """A member chats; returns the system prompt the provider received for it."""
    provider.script(Reply.text("ok"))
    before = len(provider.chat_requests)
    await say(red, f"!ai chat {text}", **kwargs)
    requests = provider.chat_requests
    assert len(requests) == before + 1, red.last_error
    messages = requests[-1]["messages"]
    assert messages[0]["role"] == "system"
    return messages[0]["content"]


async def with_attachment(
    red: RedHarness, content: str, path: Path, *, author: Optional[discord.Member] = None
) -> List[BotMessage]:
    """``author`` sends ``content`` with the file at ``path`` attached."""
    before = {m.id for m in red.messages()}
    attachment = dpy_backend.make_attachment(path)
    dpy_backend.make_message(content, author or red.admin, red.channel, attachments=[attachment])
    await dpy_runner.run_all_events()
    await red.settle()
    return [m for m in red.messages() if m.id not in before]


async def avatar_link(red: RedHarness, persona: str = "guide") -> str:
    """Give ``persona`` an avatar link to a local image server (allow-listed by the owner, as the
    URL guard refuses 127.0.0.1 otherwise); returns the link."""
    async with FakeImages() as images:
        await owner(red, f"!ai tools allow {images.host}")
        link = f"{images.url}/face.png"
        assert "new avatar" in text_of(await admin(red, f"!ai persona avatar {persona} {link}"))
        await owner(red, f"!ai tools allow {images.host}")  # toggled off again
    return link


CARD = {
    "spec": "chara_card_v2",
    "spec_version": "2.0",
    "data": {
        "name": "Captain Ada",
        "description": "{{char}} is a starship captain who talks to {{user}} like a crew member.",
        "personality": "Calm, dry humour.",
        "scenario": "On the bridge.",
        "first_mes": "Welcome aboard, {{user}}.",
        "mes_example": "",
        "creator_notes": "A calm captain.",
        "system_prompt": "",
        "tags": [],
    },
}

# --------------------------------------------------------------------------------------------
# personas: create, use, precedence, the prompt the provider receives
# --------------------------------------------------------------------------------------------


async def test_admin_creates_a_persona_and_members_get_its_prompt(bot, provider):
    reply = text_of(
        await admin(bot, "!ai persona create pirate You are a pirate. Greet {user_display} in {server}.")
    )
    assert "Created persona `pirate`" in reply, reply
    assert "pirate" not in await system_prompt_for(bot, provider)  # created, not yet used

    assert "now active for this server" in text_of(await admin(bot, "!ai persona use pirate"))
    prompt = await system_prompt_for(bot, provider)
    assert prompt == "You are a pirate. Greet member in Test Guild."


@pytest.mark.every_backend
async def test_persona_precedence_channel_over_server_over_global(bot, provider):
    await owner(bot, "!ai persona create global globe Global voice.")
    await admin(bot, "!ai persona create srv Server voice.")
    await admin(bot, "!ai persona create chan Channel voice.")

    await owner(bot, "!ai persona use global globe")
    assert await system_prompt_for(bot, provider) == "Global voice."
    await admin(bot, "!ai persona use srv")
    assert await system_prompt_for(bot, provider) == "Server voice."
    await admin(bot, "!ai persona use channel chan")
    assert await system_prompt_for(bot, provider) == "Channel voice."

    await admin(bot, "!ai persona use channel none")
    assert await system_prompt_for(bot, provider) == "Server voice."
    await admin(bot, "!ai persona use none")
    assert await system_prompt_for(bot, provider) == "Global voice."


async def test_builtin_personas_are_listed_and_usable(bot, provider):
    listing = text_of(await say(bot, "!ai persona list"))
    for name in ("assistant", "concise", "teacher"):
        assert f"`{name}`" in listing, listing
    await admin(bot, "!ai persona use concise")
    prompt = await system_prompt_for(bot, provider)
    assert "as few words as possible" in prompt
    assert "{bot}" not in prompt  # variables rendered
    assert provider.chat_requests[-1]["temperature"] == 0.3  # the persona's preset
    # params show says what the provider receives here: the persona's prompt and preset.
    shown = text_of(await say(bot, "!ai params show"))
    assert "You are {bot}, an assistant that answers in as few words as…  [persona concise]" in shown, shown
    assert "temperature        0.3  [this server]" in shown, shown


async def test_persona_model_preset_applies_unless_a_more_specific_setting_exists(bot, provider):
    await admin(bot, "!ai persona create quick Be quick.")
    await admin(bot, "!ai persona edit quick model mock:gpt-other")
    await admin(bot, "!ai persona edit quick temperature 1.5")
    await admin(bot, "!ai persona use quick")
    await system_prompt_for(bot, provider)
    assert provider.chat_requests[-1]["model"] == "gpt-other"
    assert provider.chat_requests[-1]["temperature"] == 1.5

    # A channel-level choice is more specific than the server-level persona: it wins.
    await admin(bot, "!ai model set channel mock:llama3:8b")
    await admin(bot, "!ai params set channel temperature 0.2")
    await system_prompt_for(bot, provider)
    assert provider.chat_requests[-1]["model"] == "llama3:8b"
    assert provider.chat_requests[-1]["temperature"] == 0.2


async def test_members_cannot_manage_personas_and_get_told_why(bot):
    reply = text_of(await say(bot, "!ai persona create mine Hi."))
    assert "Only server admins" in reply, reply
    await admin(bot, "!ai persona create srv Server voice.")
    assert "Only server admins" in text_of(await say(bot, "!ai persona delete srv"))
    assert "Only the bot owner" in text_of(await admin(bot, "!ai persona use global srv"))


async def test_bad_persona_input_is_refused_with_what_to_do(bot, cog):
    long_name = "x" * 33
    assert "1 to 32 characters" in text_of(await admin(bot, f"!ai persona create {long_name} Hi."))
    assert "built-in persona name" in text_of(await admin(bot, "!ai persona create Teacher Hi."))
    reply = text_of(await admin(bot, "!ai persona create big " + "y" * 4001))
    assert "limit is 4000" in reply, reply
    await admin(bot, "!ai persona create dup One.")
    assert "already exists" in text_of(await admin(bot, "!ai persona create DUP Two."))
    assert "can't be changed" in text_of(await admin(bot, "!ai persona edit teacher prompt Hi."))
    assert "can't be edited" in text_of(await admin(bot, "!ai persona edit dup colour red"))
    assert "must be" in text_of(await admin(bot, "!ai persona edit dup temperature 9"))
    assert "There is no persona" in text_of(await admin(bot, "!ai persona use nobody"))
    # Nothing invalid was stored.
    assert set(cog.personas.stored(bot.guild.id)) == {"dup"}


@pytest.mark.every_backend
async def test_a_server_holds_at_most_100_personas(bot, cog):
    for i in range(99):
        await cog.personas.save(
            bot.guild.id, cog.personas.stored(bot.guild.id).get("x") or _persona(f"p{i}"), new=True
        )
    assert "Created persona `last`" in text_of(await admin(bot, "!ai persona create last The hundredth."))
    reply = text_of(await admin(bot, "!ai persona create extra One too many."))
    assert "100 personas" in reply and "delete" in reply, reply
    assert len(cog.personas.stored(bot.guild.id)) == 100


def _persona(name: str):
    from skynet.engine.personas import Persona

    return Persona(name=name, system_prompt="Prompt.")


@pytest.mark.every_backend
async def test_personas_survive_a_reload(bot, provider):
    await admin(bot, "!ai persona create keep Kept voice.")
    await admin(bot, "!ai persona use keep")
    await owner(bot, "!reload skynet")
    assert await system_prompt_for(bot, provider) == "Kept voice."


@pytest.mark.every_backend
async def test_edit_show_delete_and_greeting(bot, provider):
    await admin(bot, "!ai persona create guide You guide visitors.")
    await admin(bot, "!ai persona edit guide description Shows people around.")
    await admin(bot, "!ai persona edit guide display_name Tour Guide")
    await admin(bot, "!ai persona edit guide greeting Hello, {user_display}!")
    link = await avatar_link(bot)
    shown = text_of(await say(bot, "!ai persona show guide"))
    for part in (
        "Shows people around.",
        "Tour Guide",
        link,
        "You guide visitors.",
    ):
        assert part in shown, shown
    used = text_of(await admin(bot, "!ai persona use guide"))
    assert "Tour Guide: Hello" in used, used
    assert "Deleted persona `guide`" in text_of(await admin(bot, "!ai persona delete guide"))
    # The server's choice names a persona that is gone: the configured prompt applies again.
    assert "guide" not in (await system_prompt_for(bot, provider)).lower()


async def test_avatar_attachment_must_be_an_image(bot, tmp_path):
    await admin(bot, "!ai persona create pic Hi.")
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not an image")
    assert "must be an image" in text_of(await with_attachment(bot, "!ai persona avatar pic", text_file))
    image = tmp_path / "face.png"
    image.write_bytes(tiny_png())
    assert "new avatar" in text_of(await with_attachment(bot, "!ai persona avatar pic", image))
    assert "https://" in text_of(
        await admin(bot, "!ai persona edit pic avatar not-a-url")
    )  # refusal names https


# --------------------------------------------------------------------------------------------
# prompt variables
# --------------------------------------------------------------------------------------------


async def test_variables_render_from_the_real_guild(bot, provider, cog):
    bot.channel.topic = "Talk about {user} and space"
    await owner(bot, "!ai timezone Europe/Paris")
    template = " | ".join(
        f"{name}={{{name}}}"
        for name in (
            "user",
            "user_display",
            "user_id",
            "user_mention_name",
            "user_roles",
            "user_top_role",
            "server",
            "server_id",
            "member_count",
            "server_owner",
            "channel",
            "channel_id",
            "channel_topic",
            "thread",
            "nsfw",
            "bot_id",
            "prefix",
            "model",
            "endpoint",
            "persona",
            "timezone",
            "is_dm",
        )
    )
    await admin(bot, f"!ai persona create vars {template}")
    await admin(bot, "!ai persona use vars")
    prompt = await system_prompt_for(bot, provider, author=bot.admin)
    values = dict(part.split("=", 1) for part in prompt.split(" | "))
    assert values["user"] == "admin"
    assert values["user_id"] == str(bot.admin.id)
    assert values["user_mention_name"] == "@admin"
    assert values["user_roles"] == "Admin" and values["user_top_role"] == "Admin"
    assert values["server"] == "Test Guild" and values["server_id"] == str(bot.guild.id)
    assert int(values["member_count"]) >= 3
    assert values["server_owner"] == "owner"
    assert values["channel"] == "general" and values["channel_id"] == str(bot.channel.id)
    assert values["channel_topic"] == "Talk about {user} and space"  # member text stays data
    assert values["thread"] == "" and values["nsfw"] == "no" and values["is_dm"] == "no"
    assert values["bot_id"] == str(bot.bot.user.id)
    assert values["prefix"] == "!"
    assert values["model"] == "gpt-test" and values["endpoint"] == "mock"
    assert values["persona"] == "vars"
    assert values["timezone"] == "Europe/Paris"


async def test_every_variable_is_listed_with_a_value_and_renders(bot, provider, cog):
    shown = text_of(await say(bot, "!ai variables"))
    names = PLACEHOLDER.findall(shown)
    assert len(set(names)) >= 40, names
    for message in bot.messages():
        assert len(message.content) <= 2000
    # Every listed variable renders to something other than its placeholder in a real request.
    await admin(bot, "!ai persona create all " + " ".join(f"{{{n}}}" for n in sorted(set(names))))
    await admin(bot, "!ai persona use all")
    prompt = await system_prompt_for(bot, provider)
    assert not PLACEHOLDER.search(prompt), prompt


async def test_every_variable_has_its_value_from_the_red_guild(bot, provider):
    """Each variable, rendered for a real member in a real channel, holds what Discord says."""
    import datetime as dt
    import time

    guild, member = bot.guild, bot.member
    category = dpy_backend.make_category_channel("Transport", guild)
    channel = dpy_backend.make_text_channel("rails", guild, parent_id=category.id)
    dpy_backend._cur_config.messages.setdefault(channel.id, [])
    channel.topic, channel.nsfw, guild.description = "All about trains", True, "A server for tests"
    dpy_backend.update_member(member, nick="Sammy")
    names = sorted(set(PLACEHOLDER.findall(text_of(await say(bot, "!ai variables")))))
    await admin(bot, "!ai persona create all " + " ".join(f"{n}=<{{{n}}}>" for n in names))
    await admin(bot, "!ai persona use all")
    before = time.time()
    prompt = await system_prompt_for(bot, provider, channel=channel)
    values = dict(re.findall(r"(\w+)=<([^>]*)>", prompt))
    assert set(values) == set(names), sorted(set(names) - set(values))
    now = dt.datetime.fromtimestamp(int(values["unix"]), dt.timezone.utc)
    assert before - 1 <= now.timestamp() <= time.time()
    me = guild.me
    expected = {
        "user": member.name,
        "user_display": "Sammy",
        "user_id": str(member.id),
        "user_mention_name": "@Sammy",
        "user_nick": "Sammy",
        "user_roles": ", ".join(r.name for r in reversed(member.roles) if not r.is_default()),
        "user_top_role": "" if member.top_role.is_default() else member.top_role.name,
        "user_joined": "",  # dpytest's message payloads carry no joined_at (Discord's do)
        "user_created": member.created_at.strftime("%Y-%m-%d"),
        "user_avatar": str(member.display_avatar.url),
        "user_is_bot": "no",
        "server": "Test Guild",
        "server_id": str(guild.id),
        "member_count": str(guild.member_count or len(guild.members)),
        "server_owner": guild.owner.display_name,
        "server_created": guild.created_at.strftime("%Y-%m-%d"),
        "server_description": "A server for tests",
        "server_icon": "",  # the test guild has no icon
        "role_count": str(len(guild.roles)),
        "channel_count": str(len(guild.channels)),
        "boost_level": "0",
        "channel": "rails",
        "channel_id": str(channel.id),
        "channel_topic": "All about trains",
        "channel_mention_name": "#rails",
        "thread": "",  # threads: test_persona_threads.py
        "thread_id": "",
        "category": "Transport",
        "nsfw": "yes",
        "is_dm": "no",
        "bot": me.display_name,
        "bot_id": str(me.id),
        "bot_mention_name": f"@{bot.bot.user.display_name}",
        "prefix": "!",
        "model": "gpt-test",
        "endpoint": "mock",
        "persona": "all",
        "date": now.strftime("%Y-%m-%d"),
        "time": now.strftime("%H:%M"),
        "datetime": now.strftime("%Y-%m-%d %H:%M"),
        "weekday": now.strftime("%A"),
        "month": now.strftime("%B"),
        "year": str(now.year),
        "timezone": "UTC",
        "timestamp": now.isoformat(timespec="seconds"),
        "unix": values["unix"],
    }
    assert {n: values[n] for n in names} == expected
    assert member.name != "Sammy" and member.top_role.name  # the values tell the fields apart
    await admin(bot, "!ai timezone Asia/Tokyo")
    tokyo = dict(re.findall(r"(\w+)=<([^>]*)>", await system_prompt_for(bot, provider, channel=channel)))
    assert tokyo["timezone"] == "Asia/Tokyo" and tokyo["timestamp"].endswith("+09:00")


async def test_prefix_is_the_bots_before_any_command_here(bot, provider):
    from test_listen import bot_mention, post

    await admin(bot, "!ai persona create helper Say: see {prefix}help.")
    await admin(bot, "!ai persona use helper")
    await admin(bot, "!ai listen mode mention")
    await owner(bot, "!reload skynet")  # no member has used one of skynet's commands since
    await post(bot, f"{bot_mention(bot)} hi")
    assert provider.chat_requests[-1]["messages"][0]["content"] == "Say: see !help."


async def test_malformed_and_unknown_placeholders_stay_as_typed(bot, provider):
    template = "A { B {nope} C {user.__class__} D {{user}} E {0} F {user!r} G {"
    await admin(bot, f"!ai persona create odd {template}")
    await admin(bot, "!ai persona use odd")
    prompt = await system_prompt_for(bot, provider)
    assert prompt == "A { B {nope} C {user.__class__} D {member} E {0} F {user!r} G {"


async def test_configured_system_prompt_also_renders_variables(bot, provider):
    await admin(bot, "!ai params set system_prompt You serve {server}.")
    assert await system_prompt_for(bot, provider) == "You serve Test Guild."


async def test_timezone_is_validated(bot):
    assert "not a time zone" in text_of(await admin(bot, "!ai timezone Mars/Olympus"))
    assert "`UTC`" in text_of(await say(bot, "!ai timezone"))


# --------------------------------------------------------------------------------------------
# members' own instructions
# --------------------------------------------------------------------------------------------


async def test_myprompt_is_appended_for_that_member_only(bot, provider):
    assert "no instructions" in text_of(await say(bot, "!ai myprompt show"))
    assert "Saved" in text_of(await say(bot, "!ai myprompt set Call me Sam."))
    assert "Call me Sam." in text_of(await say(bot, "!ai myprompt"))
    prompt = await system_prompt_for(bot, provider)
    assert prompt.endswith("Call me Sam.")
    assert "Call me Sam." not in await system_prompt_for(bot, provider, author=bot.admin)
    await say(bot, "!ai myprompt clear")
    assert "Call me Sam." not in await system_prompt_for(bot, provider)


@pytest.mark.every_backend
async def test_myprompt_is_part_of_mydata_and_deleted_with_it(bot, cog):
    await say(bot, "!ai myprompt set Call me Sam.")
    files = await cog.red_get_data_for_user(user_id=bot.member.id)
    assert json.loads(files["skynet_user_data.json"].getvalue())["personas"]["own_instructions"] == "Call me Sam."
    await cog.red_delete_data_for_user(requester="user", user_id=bot.member.id)
    assert cog.personas.myprompt(bot.member.id) is None
    await owner(bot, "!reload skynet")
    assert bot.bot.get_cog("Skynet").personas.myprompt(bot.member.id) is None


async def test_myprompt_is_limited_to_500_characters(bot, cog):
    reply = text_of(await say(bot, "!ai myprompt set " + "z" * 501))
    assert "limit is 500" in reply, reply
    assert cog.personas.myprompt(bot.member.id) is None


# --------------------------------------------------------------------------------------------
# character cards
# --------------------------------------------------------------------------------------------


async def test_import_a_json_card_with_preview_then_confirm(bot, provider, tmp_path):
    path = tmp_path / "ada.json"
    path.write_text(json.dumps(CARD))
    preview = text_of(await with_attachment(bot, "!ai persona import", path))
    assert "Captain-Ada" in preview and "preview" in preview and "import confirm" in preview, preview
    assert "Captain-Ada" not in text_of(await say(bot, "!ai persona list"))  # not saved before confirming

    assert "Imported persona `Captain-Ada`" in text_of(await admin(bot, "!ai persona import confirm"))
    await admin(bot, "!ai persona use Captain-Ada")
    prompt = await system_prompt_for(bot, provider)
    assert "Captain Ada is a starship captain who talks to member like a crew member." in prompt
    assert "Personality:\nCalm, dry humour." in prompt


async def test_import_a_png_card(bot, tmp_path):
    path = tmp_path / "ada.png"
    path.write_bytes(png_with_card(CARD, tiny_png()))
    assert "preview" in text_of(await with_attachment(bot, "!ai persona import", path))
    assert "Imported" in text_of(await admin(bot, "!ai persona import confirm"))


async def test_import_can_be_cancelled_and_confirm_needs_a_card(bot, tmp_path):
    path = tmp_path / "ada.json"
    path.write_text(json.dumps(CARD))
    await with_attachment(bot, "!ai persona import", path)
    assert "cancelled" in text_of(await admin(bot, "!ai persona import cancel"))
    assert "no card waiting" in text_of(await admin(bot, "!ai persona import confirm"))


async def test_invalid_cards_are_refused(bot, tmp_path):
    cases = {
        "v1.json": json.dumps({"name": "Old", "description": "V1 card"}),
        "broken.json": "{not json",
        "noname.json": json.dumps({**CARD, "data": {**CARD["data"], "name": ""}}),
    }
    expected = {"v1.json": "Only V2", "broken.json": "not valid JSON", "noname.json": "no `name`"}
    for filename, body in cases.items():
        path = tmp_path / filename
        path.write_text(body)
        reply = text_of(await with_attachment(bot, "!ai persona import", path))
        assert expected[filename] in reply, (filename, reply)

    png = bytearray(png_with_card(CARD, tiny_png()))
    png[40] ^= 0xFF  # corrupt a chunk: its checksum no longer matches
    path = tmp_path / "broken.png"
    path.write_bytes(bytes(png))
    assert "damaged" in text_of(await with_attachment(bot, "!ai persona import", path))
    path = tmp_path / "plain.png"
    path.write_bytes(tiny_png())
    assert "no character card" in text_of(await with_attachment(bot, "!ai persona import", path))


async def test_oversized_card_is_refused(bot, tmp_path):
    big = {**CARD, "data": {**CARD["data"], "creator_notes": "x" * 1_100_000}}
    path = tmp_path / "big.json"
    path.write_text(json.dumps(big))
    assert "limited to 1 MB" in text_of(await with_attachment(bot, "!ai persona import", path))


@pytest.mark.every_backend
async def test_export_gives_a_v2_card_that_imports_back(bot, provider, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # dpytest writes sent files to the working directory
    await admin(bot, "!ai persona create sage You are wise. Speak to {user_display}.")
    await admin(bot, "!ai persona edit sage temperature 0.4")
    sent = await say(bot, "!ai persona export sage")
    data = bot._message_data[sent[-1].id]
    attachment = data["attachments"][0]
    assert attachment["filename"] == "sage.json"
    path = Path(urllib.request.url2pathname(urllib.parse.urlparse(attachment["url"]).path))
    card = json.loads(path.read_text())
    assert card["spec"] == "chara_card_v2"
    assert card["data"]["system_prompt"] == "You are wise. Speak to {user_display}."

    await admin(bot, "!ai persona delete sage")
    await with_attachment(bot, "!ai persona import", path)
    await admin(bot, "!ai persona import confirm")
    await admin(bot, "!ai persona use sage")
    assert await system_prompt_for(bot, provider) == "You are wise. Speak to member."
    assert provider.chat_requests[-1]["temperature"] == 0.4


# --------------------------------------------------------------------------------------------
# DMs
# --------------------------------------------------------------------------------------------


async def dm_channel(red: RedHarness, member: discord.Member) -> discord.DMChannel:
    return await member.create_dm()


async def test_members_chat_in_dms_with_their_own_persona(bot, provider):
    dm = await dm_channel(bot, bot.member)
    provider.script(Reply.text("Hello from DMs"))
    reply = text_of(await say(bot, "!ai chat hello", channel=dm))
    assert "Hello from DMs" in reply, (reply, bot.last_error)

    assert "active for your DMs" in text_of(await say(bot, "!ai persona use teacher", channel=dm))
    prompt = await system_prompt_for(bot, provider, channel=dm)
    assert "patient teacher" in prompt
    # Their pick applies only to their DMs: the server is unaffected.
    assert "patient teacher" not in await system_prompt_for(bot, provider)


async def test_a_persona_with_a_display_name_signs_its_dm_replies(bot, provider):
    await owner(bot, "!ai persona create global guide You guide visitors.")
    await owner(bot, "!ai persona edit guide display_name Tour Guide")
    dm = await dm_channel(bot, bot.member)
    await say(bot, "!ai persona use guide", channel=dm)
    provider.script(Reply.text("Welcome!"))
    # DMs have no webhooks: the reply is a bot message that starts with the persona's name.
    assert text_of(await say(bot, "!ai chat hello", channel=dm)) == "**Tour Guide**: Welcome!"


async def test_dms_use_the_global_default_persona(bot, provider):
    await owner(bot, "!ai persona use global concise")
    dm = await dm_channel(bot, bot.member)
    assert "as few words as possible" in await system_prompt_for(bot, provider, channel=dm)


async def test_owner_can_turn_dms_off(bot, provider):
    assert "is on" in text_of(await owner(bot, "!ai dm show"))
    assert "is off" in text_of(await owner(bot, "!ai dm off"))
    dm = await dm_channel(bot, bot.member)
    before = len(provider.chat_requests)
    reply = text_of(await say(bot, "!ai chat hello", channel=dm))
    assert "turned off chatting in DMs" in reply, reply
    assert len(provider.chat_requests) == before
    # Servers are unaffected.
    provider.script(Reply.text("still here"))
    assert "still here" in text_of(await say(bot, "!ai chat hello"))
    await owner(bot, "!ai dm on")
    provider.script(Reply.text("back"))
    assert "back" in text_of(await say(bot, "!ai chat hello", channel=dm))


async def test_owner_can_require_a_shared_server(bot, provider):
    assert "must share a server" in text_of(await owner(bot, "!ai dm shared on"))
    stranger = dpy_backend.make_user("stranger", "0002", id_num=1100000000000000999)
    dm = await stranger.create_dm()
    reply = text_of(await say(bot, "!ai chat hello", author=stranger, channel=dm))
    assert "share with the bot" in reply, reply
    member_dm = await dm_channel(bot, bot.member)  # the member shares "Test Guild"
    provider.script(Reply.text("welcome"))
    assert "welcome" in text_of(await say(bot, "!ai chat hello", channel=member_dm))


async def test_only_the_owner_controls_dms(bot, cog):
    assert text_of(await admin(bot, "!ai dm off")) == "⚠️ Only the bot owner can use `ai dm off`."
    assert cog.personas.dm["enabled"]


# --------------------------------------------------------------------------------------------
# replies under the persona's name and avatar (channel webhook) and the fallback
# --------------------------------------------------------------------------------------------

ANSWER = "Ahoy! The treasure lies beyond the third reef, past the old lighthouse."


def grant_manage_webhooks(red: RedHarness) -> None:
    """The server gives the bot a role with Manage Webhooks."""
    role = dpy_backend.make_role(
        "Webhooks", red.guild, permissions=discord.Permissions(manage_webhooks=True, send_messages=True).value
    )
    me = red.guild.me
    dpy_backend.update_member(me, roles=[*me.roles[1:], role])


async def persona_with_identity(red: RedHarness, *, manage_webhooks: bool = True) -> None:
    if manage_webhooks:
        grant_manage_webhooks(red)
    await admin(red, "!ai persona create guide You guide visitors.")
    await admin(red, "!ai persona edit guide display_name Tour Guide")
    await avatar_link(red)
    await admin(red, "!ai persona use guide")


async def chat_events(red: RedHarness, provider, text: str = "where?"):
    provider.script(Reply.text(ANSWER, chunk_size=15, delay=0.5))
    start = len(red.events)
    await red.say(f"!ai chat {text}")
    await red.settle(timeout=20)
    return [e for e in red.events[start:] if e.kind in ("send", "edit")]


async def test_replying_to_a_persona_answer_is_replying_to_the_bot(bot, provider):
    from test_listen import post

    await persona_with_identity(bot)
    await admin(bot, "!ai listen mode mention")
    provider.script(Reply.text("Take the left path."))
    await say(bot, "!ai chat which way?")
    [answer] = [m for m in bot.messages() if m.via == "webhook"]
    # On Discord the webhook, not the bot, is the author of a persona's answer.
    assert bot.bot._connection._get_message(answer.id).author.id != bot.bot.user.id
    provider.script(Reply.text("About ten minutes."))
    [follow_up] = await post(bot, "how long?", reply_to=answer.id)
    assert follow_up.content == "About ten minutes." and follow_up.via == "webhook"
    sent = provider.chat_requests[-1]["messages"]
    assert {"role": "assistant", "content": "Take the left path."} in sent, sent
    # After a restart the bot still knows its webhook: it lists the channel's webhooks once.
    await owner(bot, "!reload skynet")
    provider.script(Reply.text("Yes."), Reply.text("Still yes."))
    [again] = await post(bot, "sure?", reply_to=answer.id)
    assert again.content == "Yes."
    [more] = await post(bot, "really?", reply_to=follow_up.id)
    assert more.content == "Still yes."
    # A message of some other webhook is not the bot's: replying to it is not a mention.
    await post(bot, "news!", webhook=True, message_id=1100000000000077777)
    before = len(provider.chat_requests)
    assert await post(bot, "is that true?", reply_to=1100000000000077777) == []
    assert len(provider.chat_requests) == before


async def test_replies_stream_through_one_reused_webhook_under_the_persona(bot, provider):
    await persona_with_identity(bot)
    events = await chat_events(bot, provider)
    assert events and all(e.via == "webhook" for e in events), [(e.kind, e.via) for e in events]
    first = events[0]
    assert first.kind == "send"
    assert first.payload["username"] == "Tour Guide"
    assert first.payload["avatar_url"].endswith("/face.png")
    assert first.allowed_mentions == {"parse": []} or first.allowed_mentions.get("parse") == []
    assert any(e.kind == "edit" for e in events)  # streamed by editing the webhook message
    assert {e.message_id for e in events} == {first.message_id}
    assert bot._messages[first.message_id].content == ANSWER

    await chat_events(bot, provider, "again")
    assert len(bot.channel_webhooks) == 1  # reused, not one webhook per reply


async def test_without_webhooks_replies_start_with_the_persona_name(bot, provider):
    await persona_with_identity(bot)
    bot.deny_webhooks = True  # Discord refuses to create the webhook
    events = await chat_events(bot, provider)
    assert events and all(e.via == "channel" for e in events)
    final = bot._messages[events[-1].message_id]
    assert final.content == f"**Tour Guide**: {ANSWER}"


async def test_webhook_deleted_mid_stream_falls_back_to_a_plain_message(bot, provider):
    await persona_with_identity(bot)

    def delete_after_first_send(event) -> None:
        if event.kind == "send" and event.via == "webhook":
            bot.delete_webhooks()

    bot.listeners.append(delete_after_first_send)
    events = await chat_events(bot, provider)
    plain = [e for e in events if e.via == "channel"]
    assert plain, [(e.kind, e.via) for e in events]
    assert bot._messages[plain[-1].message_id].content == f"**Tour Guide**: {ANSWER}"
    assert bot.last_error is None


async def test_without_manage_webhooks_no_webhook_is_tried(bot, provider):
    await persona_with_identity(bot, manage_webhooks=False)
    events = await chat_events(bot, provider)
    assert events and all(e.via == "channel" for e in events)
    assert bot._messages[events[-1].message_id].content == f"**Tour Guide**: {ANSWER}"
    assert not bot.channel_webhooks


async def test_personas_without_identity_reply_as_the_bot(bot, provider):
    await admin(bot, "!ai persona create plain Plain voice.")
    await admin(bot, "!ai persona use plain")
    events = await chat_events(bot, provider)
    assert events and all(e.via == "channel" for e in events)
    assert bot._messages[events[-1].message_id].content == ANSWER


# --------------------------------------------------------------------------------------------
# slash commands
# --------------------------------------------------------------------------------------------


async def slash_text(red: RedHarness, command: str, **options) -> str:
    start = len(red.events)
    await red.slash(command, author=red.admin, options=options)
    await red.settle()
    return "\n".join(e.content or "" for e in red.events[start:] if e.kind == "send")


async def test_persona_commands_work_as_slash_commands(bot, provider):
    await bot.enable_slash("ai")
    created = await slash_text(bot, "ai persona create", name="bard", prompt="You are a bard in {server}.")
    assert "Created persona `bard`" in created, (created, bot.last_error)
    assert "now active" in await slash_text(bot, "ai persona use", name="bard")
    assert "`bard`" in await slash_text(bot, "ai persona list")
    assert "{server}" in await slash_text(bot, "ai variables")
    assert "Saved" in await slash_text(bot, "ai myprompt", action="set", text="Rhyme.")
    provider.script(Reply.text("A song!"))
    await slash_text(bot, "ai chat", message="sing")
    system = provider.chat_requests[-1]["messages"][0]["content"]
    assert system.startswith("You are a bard in Test Guild.") and system.endswith("Rhyme.")
