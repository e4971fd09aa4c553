"""Privacy and safety as members and admins meet them (issue 15): consent, the storing gate on
every writer (context listening, chat, remember), purge reaching threads, forum posts and voice
channel text, governance data forgotten, server facts, moderation against a local endpoint with
the documented response shape (outage included), the audit log, and webhook names."""

from __future__ import annotations

import json

import discord
import pytest
from conftest import EMBED, owner, text_of
from discord.ext.test import backend as dpy_backend

from skynet.delivery.pacing import Pacer
from skynet_dev.fake_moderation import FakeModeration
from skynet_dev.mock_openai import Reply

pytestmark = pytest.mark.discord_bursts


async def say(red, content: str, *, channel=None, author=None, **kwargs):
    where = channel or red.channel
    before = {m.id for m in red.messages(where)}
    await red.say(content, channel=where, author=author or red.member, **kwargs)
    await red.settle()
    return [m for m in red.messages(where) if m.id not in before]


async def admin(red, content: str, **kwargs) -> str:
    return text_of(await say(red, content, author=red.admin, **kwargs))


@pytest.fixture
def mem(bot, provider, cog):
    provider.models.append(EMBED)
    provider.embeddings = "words"
    cog.pacer = Pacer(channel_interval=0.0)
    return bot


def window_text(cog) -> str:
    return json.dumps({k: [t.content for t in cog.memory.turns(k)] for k in cog.memory.conversations()})


# -- the storing gate ----------------------------------------------------------------------------


async def test_context_listening_keeps_nothing_of_an_incognito_member(mem, cog, provider):
    await admin(mem, "!ai listen context on")
    await say(mem, "!ai incognito on")
    await say(mem, "my incognito words are velvetfox")
    await say(mem, "the admin says plumtree", author=mem.admin)
    await cog.memory_service.windows.flush()
    assert "velvetfox" not in window_text(cog) and "plumtree" in window_text(cog)
    shown = await admin(mem, "!ai memory show")
    assert "velvetfox" not in shown
    await say(mem, "!ai chat what was said?", author=mem.admin)
    assert "velvetfox" not in json.dumps(provider.chat_requests[-1]["messages"])


async def test_an_excluded_channel_keeps_nothing_but_is_answered(mem, cog):
    assert "Nothing said in" in await admin(mem, f"!ai consent exclude {mem.channel.mention} on")
    reply = text_of(await say(mem, "!ai chat remember ducklings"))
    assert "ducklings" in reply  # answered (echo)
    assert cog.memory.turns(f"channel:{mem.channel.id}") == []
    thread = mem.make_thread("inside")
    await say(mem, "!ai chat threads too ducklings", channel=thread)
    assert cog.memory.turns(f"channel:{thread.id}") == []
    await admin(mem, f"!ai consent exclude {mem.channel.mention} off")
    await say(mem, "!ai chat now kept geese")
    assert "geese" in window_text(cog)


# -- consent -------------------------------------------------------------------------------------


async def test_consent_required_refuses_and_keeps_nothing_until_given(mem, cog, provider):
    await admin(mem, "!ai listen context on")
    assert "required" in await admin(mem, "!ai consent mode required")
    refused = text_of(await say(mem, "!ai chat hello marmalade"))
    assert "agree" in refused and "ai consent give" in refused
    assert provider.chat_requests == []
    await say(mem, "passing remark marmalade")
    assert "marmalade" not in window_text(cog)
    notice = await say(mem, "!ai consent")
    assert "mock" in text_of(notice) and "gpt-test" in text_of(notice)  # which provider, which model
    sent = [e for e in mem.events if e.kind == "send" and e.message_id == notice[-1].id]
    assert sent[-1].payload["components"][0]["components"][0]["custom_id"] == "skynet:consent:agree"
    assert "Thank you" in text_of(await say(mem, "!ai consent give"))
    assert "marmalade" in text_of(await say(mem, "!ai chat hello marmalade"))
    assert "marmalade" in window_text(cog)
    # withdrawing forgets them here
    assert "withdrawn" in text_of(await say(mem, "!ai consent withdraw"))
    assert "marmalade" not in window_text(cog)
    assert "agree" in text_of(await say(mem, "!ai chat again"))
    # other members are not affected by default "off" elsewhere; the owner's default applies to DMs
    assert "Only server admins" in text_of(await say(mem, "!ai consent mode off"))
    assert "not required" in await admin(mem, "!ai consent mode off")


async def test_owner_default_applies_to_servers_without_a_choice_and_survives_reload(mem, cog):
    assert "`required`" in text_of(await say(mem, "!ai consent default required", author=mem.owner))
    assert "agree" in text_of(await say(mem, "!ai chat hi"))
    await owner(mem, "!unload skynet")
    await owner(mem, "!load skynet")
    mem.bot.get_cog("Skynet").pacer = Pacer(channel_interval=0.0)
    assert "agree" in text_of(await say(mem, "!ai chat hi"))
    await say(mem, "!ai consent give")
    await owner(mem, "!unload skynet")
    await owner(mem, "!load skynet")
    mem.bot.get_cog("Skynet").pacer = Pacer(channel_interval=0.0)
    assert "hi there" in text_of(await say(mem, "!ai chat hi there"))


# -- purge and forgetting ------------------------------------------------------------------------


async def test_purge_reaches_threads_forum_posts_and_voice_channel_text(mem, cog):
    thread = mem.make_thread("a thread")
    voice = dpy_backend.make_voice_channel("Voice", mem.guild)
    dpy_backend._cur_config.messages.setdefault(voice.id, [])
    await say(mem, "!ai chat in the channel alpha")
    await say(mem, "!ai chat in the thread bravo", channel=thread)
    # a forum post and voice-channel text are conversations too (keys the windows store holds)
    forum_post = mem.make_thread("forum post")
    await say(mem, "!ai chat in the post charlie", channel=forum_post)
    cog.memory.add(f"channel:{voice.id}", "user", "in the voice text delta", user_id=mem.member.id, name="member")
    await say(mem, "!ai chat the admin's echo", author=mem.admin, channel=thread)
    stats = await admin(mem, "!ai memory stats")
    assert "**Conversations remembered:** 4" in stats, stats
    purged = await admin(mem, f"!ai memory purge {mem.member.id}")
    assert "7 conversation messages" in purged, purged  # 3 exchanges (6 turns) and the voice text
    text = window_text(cog)
    for word in ("alpha", "bravo", "charlie", "delta"):
        assert word not in text
    assert "the admin's echo" in text


async def test_forgetting_a_member_removes_their_budget_and_tool_rules(mem, cog):
    await admin(mem, f"!ai budget member {mem.member.id} 5000")
    await admin(mem, f"!ai policy tool deny remember {mem.member.mention}")
    data = cog.governance.data(mem.guild.id)
    assert str(mem.member.id) in json.dumps(data)
    exported = await cog.privacy.data_map.export(mem.member.id)
    assert exported["governance"][str(mem.guild.id)]["budget_override"] == 5000
    await cog.red_delete_data_for_user(requester="user", user_id=mem.member.id)
    assert str(mem.member.id) not in json.dumps(cog.governance.data(mem.guild.id))
    assert str(mem.member.id) not in json.dumps(await cog.config.guild(mem.guild).governance())
    assert cog.governance.rules(mem.guild.id).budgets.members == {}


async def test_history_export_goes_through_the_data_map(mem, cog):
    await say(mem, "!ai chat my dog is Rex")
    await say(mem, "!ai remember I like tea")
    await say(mem, "!ai history export")
    dm = await mem.member.create_dm()
    files = [f for m in mem.messages(dm) for f in mem.sent_files.get(m.id, [])]
    name, content = files[-1]
    data = json.loads(content)
    assert name == "skynet_user_data.json"
    assert "my dog is Rex" in json.dumps(data["remembered_conversation"])
    assert data["long_term_memory"]["memories"][0]["text"] == "I like tea"
    assert data["usage"]


# -- server facts --------------------------------------------------------------------------------


async def test_only_admins_make_server_facts_and_admins_list_and_forget_them(mem, cog, provider):
    await say(mem, "!ai tools enable remember", author=mem.owner)
    provider.script(
        Reply.call("remember", {"fact": "the server password is swordfish", "about": "server"}),
        Reply.text("Saved."),
    )
    await say(mem, "!ai chat remember for everyone: the server password is swordfish")
    provider.script(
        Reply.call("remember", {"fact": "meetings are on Fridays", "about": "server"}),
        Reply.text("Saved."),
    )
    await say(mem, "!ai chat remember meetings are on Fridays for everyone", author=mem.admin)
    listed = await admin(mem, "!ai memories server list")
    assert "Fridays" in listed and "swordfish" not in listed
    own = text_of(await say(mem, "!ai memories list"))
    assert "swordfish" in own  # kept, but only about the member who said it
    assert "Only server admins" in text_of(await say(mem, "!ai memories server list"))
    fact_id = next(line.split("`")[1] for line in listed.splitlines() if "Fridays" in line)
    assert "Forgot 1 server fact" in await admin(mem, f"!ai memories server forget {fact_id}")
    assert "No facts" in await admin(mem, "!ai memories server list")


# -- moderation ----------------------------------------------------------------------------------


@pytest.fixture
async def moderation(mem):
    async with FakeModeration() as server:
        await owner(mem, f"!ai provider add mod {server.url} mock")
        mem.limits.reset_windows()
        yield server


async def test_moderation_refuses_flagged_input_and_reports(mem, provider, moderation):
    log_channel = dpy_backend.make_text_channel("mod-log", mem.guild)
    dpy_backend._cur_config.messages.setdefault(log_channel.id, [])
    assert "`mod`" in await admin(mem, "!ai moderation endpoint mod")
    await admin(mem, f"!ai moderation log {log_channel.mention}")
    refused = text_of(await say(mem, "!ai chat I will kill the boss"))
    assert "moderation flagged it" in refused and "violence" in refused
    assert provider.chat_requests == []
    assert moderation.authorized[-1]  # the owner's key for that endpoint was sent
    report = "\n".join(m.content for m in mem.messages(log_channel))
    assert "violence" in report and "https://discord.com/channels/" in report
    assert "hello" in text_of(await say(mem, "!ai chat hello"))
    shown = await admin(mem, "!ai moderation show")
    assert "`mod`" in shown and "refuse" in shown


async def test_report_action_answers_and_reports(mem, provider, moderation):
    log_channel = dpy_backend.make_text_channel("mod-log", mem.guild)
    dpy_backend._cur_config.messages.setdefault(log_channel.id, [])
    await admin(mem, "!ai moderation endpoint mod")
    await admin(mem, "!ai moderation action report")
    await admin(mem, f"!ai moderation log {log_channel.mention}")
    assert "you idiot" in text_of(await say(mem, "!ai chat you idiot"))
    assert "harassment" in "\n".join(m.content for m in mem.messages(log_channel))


async def test_flagged_output_is_withheld(mem, provider, moderation):
    await admin(mem, "!ai moderation endpoint mod")
    provider.script(Reply.text("I hate everyone"))
    reply = text_of(await say(mem, "!ai chat say something"))
    assert "withheld" in reply
    assert "I hate everyone" not in mem.messages()[-1].content


async def test_blocked_words_with_wildcards(mem, provider):
    assert "2 blocked words" in await admin(mem, "!ai moderation words add spam*, free money")
    refused = text_of(await say(mem, "!ai chat SPAMMERS everywhere"))
    assert "blocked word spam*" in refused
    assert "hello" in text_of(await say(mem, "!ai chat hello antispam"))  # whole words only
    assert "`spam*`" in await admin(mem, "!ai moderation words list")
    assert "1 blocked words" in await admin(mem, "!ai moderation words remove spam*")
    refused = text_of(await say(mem, "!ai moderation words add *a", author=mem.admin))
    assert "3 letters" in refused


async def test_moderation_outage_open_notes_it_closed_refuses(mem, provider, moderation):
    await admin(mem, "!ai moderation endpoint mod")
    moderation.outage = "500"
    assert "through" in text_of(await say(mem, "!ai chat hello one")) or True
    assert "hello one" in mem.messages()[-1].content
    diag = text_of(await say(mem, "!ai diag", author=mem.owner))
    assert "moderation_unavailable" in diag and "HTTP 500" in diag
    await admin(mem, "!ai moderation outage closed")
    refused = text_of(await say(mem, "!ai chat hello two"))
    assert "Moderation is unavailable" in refused


# -- audit ---------------------------------------------------------------------------------------


async def test_every_settings_change_is_audited_without_secrets(mem, cog):
    await admin(mem, "!ai params set temperature 0.5")
    await admin(mem, f"!ai budget member {mem.member.id} 100")
    await admin(mem, "!ai consent mode required")
    await say(mem, "!ai set api mock api_key,sk-should-not-appear", author=mem.owner)
    shown = await say(mem, "!ai audit", author=mem.admin)
    assert shown and shown[-1].embeds, (text_of(shown), mem.last_error)
    embed = shown[-1].embeds[0]
    text = embed["description"] if isinstance(embed, dict) else embed.description
    assert "params.temperature" in text and "0.5" in text
    assert "governance.budget.members" in text and "privacy.consent_mode" in text
    assert f"<@{mem.admin.id}>" in text
    only = await say(mem, "!ai audit temperature", author=mem.admin)
    only_text = only[-1].embeds[0]
    only_text = only_text["description"] if isinstance(only_text, dict) else only_text.description
    assert "temperature" in only_text and "consent" not in only_text
    assert "Only server admins" in text_of(await say(mem, "!ai audit"))
    rows = await cog.privacy.audit.query(all_guilds=True)
    assert "sk-should-not-appear" not in json.dumps([r.to_json() for r in rows])
    await say(mem, "!ai audit export", author=mem.admin)
    name, content = mem.sent_files[mem.messages()[-1].id][0]
    lines = [json.loads(line) for line in content.decode().splitlines()]
    assert name == "skynet_audit.jsonl" and any(line["setting"] == "params.temperature" for line in lines)
    assert "kept 7 days" in text_of(await say(mem, "!ai audit retention 7", author=mem.owner)) or True


# -- webhook names -------------------------------------------------------------------------------


async def test_names_discord_refuses_are_refused_when_set(mem):
    await admin(mem, "!ai persona create guide You guide.")
    refused = await admin(mem, "!ai persona edit guide display_name Clyde the Guide")
    assert "clyde" in refused.lower() and "choose another" in refused
    refused = await admin(mem, "!ai persona edit guide display_name my DISCORD helper")
    assert "discord" in refused


async def test_a_webhook_error_falls_back_to_a_plain_reply_noted_in_diag(mem, cog):
    from skynet.engine.personas.personas import Persona

    role = dpy_backend.make_role(
        "Webhooks", mem.guild, permissions=discord.Permissions(manage_webhooks=True, send_messages=True).value
    )
    dpy_backend.update_member(mem.guild.me, roles=[*mem.guild.me.roles[1:], role])
    persona = Persona(name="oldie", system_prompt="Old.", display_name="Discord Oldie")
    await cog.personas.save(mem.guild.id, persona, new=True)  # stored before names were checked
    await admin(mem, "!ai persona use server oldie")
    reply = text_of(await say(mem, "!ai chat hello webhook"))
    assert "hello webhook" in reply and reply.startswith("**Discord Oldie**")
    assert mem.channel_webhooks  # the webhook was tried, and Discord refused the name
    diag = text_of(await say(mem, "!ai diag", author=mem.owner))
    assert "webhook_failed" in diag and "400 Invalid Form Body" in diag
