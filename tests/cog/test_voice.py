"""Voice through the whole cog with real audio bytes against a local server: a member's voice
message (Ogg/Opus) is transcribed and answered like text once an admin turns transcription on (and
ignored before); an audio file attached to `[p]ai chat` (WAV) is transcribed into the question;
answers are spoken back as a Discord voice message (the voice flag, duration and waveform, real
Ogg/Opus), also when the speech server answers WAV; a member can opt out."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from conftest import owner, say, text_of
from discord.ext.test import backend as dpy_backend
from discord.ext.test import factories as dpy_factories
from discord.ext.test import runner as dpy_runner

from skynet.engine.media.audio import ogg_duration
from skynet_dev.fake_media import FakeMedia, ogg_opus_bytes, wav_bytes

VOICE_FLAG = 1 << 13


@pytest.fixture
async def media():
    async with FakeMedia() as server:
        yield server


@pytest.fixture
async def voiced(bot, media):
    await owner(bot, f"!ai provider add media {media.base_url}")
    await owner(bot, "!ai voice model global transcribe media:whisper-1")
    await owner(bot, "!ai voice model global speech media:tts-1 nova")
    bot.limits.reset_windows()
    return bot


async def voice_message(red, tmp_path: Path, seconds: float = 1.0):
    """The member posts a voice message (an Ogg/Opus attachment with the voice-message flag)."""
    path = tmp_path / "voice-message.ogg"
    path.write_bytes(ogg_opus_bytes(seconds))
    attachment = dpy_backend.make_attachment(path)
    data = dpy_factories.make_message_dict(
        red.channel, red.member, content="", attachments=[attachment], guild_id=red.guild.id
    )
    data["attachments"][0].update(
        duration_secs=seconds, waveform=base64.b64encode(bytes(10)).decode(), content_type="audio/ogg"
    )
    data["flags"] = VOICE_FLAG
    before = {m.id for m in red.messages()}
    dpy_backend._cur_config.messages.setdefault(red.channel.id, []).append(data)
    dpy_backend.get_state().parse_message_create(data)
    await dpy_runner.run_all_events()
    await red.settle()
    return [m for m in red.messages() if m.id not in before]


async def test_voice_messages_are_ignored_until_transcription_is_on(voiced, media, provider, tmp_path):
    assert await voice_message(voiced, tmp_path) == []
    assert "/v1/audio/transcriptions" not in media.paths() and not provider.chat_requests
    assert "`on`" in text_of(await owner(voiced, "!ai voice transcribe on"))
    voiced.limits.reset_windows()
    reply = text_of(await voice_message(voiced, tmp_path))
    assert "🎙️ “what is the capital of france”" in reply, voiced.last_error
    assert "what is the capital of france" in str(provider.chat_requests[-1]["messages"][-1]["content"])
    assert media.requests[-1][1]["filename"] == "voice-message.ogg"


async def test_an_audio_file_with_ai_chat_is_transcribed(voiced, media, provider, tmp_path):
    await owner(voiced, "!ai voice transcribe on")
    clip = tmp_path / "question.wav"
    clip.write_bytes(wav_bytes(1.0))
    voiced.limits.reset_windows()
    await voiced.say("!ai chat please answer this:", attachments=[clip])
    await voiced.settle()
    sent = str(provider.chat_requests[-1]["messages"][-1]["content"])
    assert "please answer this:" in sent and "what is the capital of france" in sent


def voice_posts(red):
    return [e for e in red.events if e.kind == "send" and int(e.payload.get("flags") or 0) & VOICE_FLAG]


@pytest.mark.parametrize("speech_format", ["opus", "wav"])
async def test_answers_are_spoken_as_voice_messages(voiced, media, tmp_path, speech_format):
    media.speech_format = speech_format
    media.speech_seconds = 1.5
    await owner(voiced, "!ai voice speak on")
    voiced.limits.reset_windows()
    await say(voiced, "!ai chat say hello")
    [post] = voice_posts(voiced)
    [attachment] = post.payload["attachments"]
    assert abs(attachment["duration_secs"] - 1.5) < 0.1
    assert len(base64.b64decode(attachment["waveform"])) == 15
    [(name, data)] = voiced.sent_files[post.message_id]
    assert name == "voice-message.ogg" and data.startswith(b"OggS")
    assert abs(ogg_duration(data) - 1.5) < 0.1
    spoken = media.requests[-1][1]
    assert spoken["voice"] == "nova" and spoken["response_format"] == "opus" and "echo" in spoken["input"]


async def test_a_member_can_opt_out_of_spoken_answers(voiced, media):
    await owner(voiced, "!ai voice speak on")
    await say(voiced, "!ai voice me off")
    voiced.limits.reset_windows()
    await say(voiced, "!ai chat say hello")
    assert voice_posts(voiced) == []
    assert "/v1/audio/speech" not in media.paths()
    cog = voiced.bot.get_cog("Skynet")
    assert cog.media_export_user(voiced.member.id) == {"voice_replies": False}  # the data map's part
    assert cog.media_export_user(voiced.admin.id) == {}  # nothing held: left out of exports
