"""Voice in and out (skynet.engine.media.audio) against a local server with real audio bytes:
a WAV and an Ogg/Opus file transcribed, speech answered as Ogg/Opus (its duration and waveform read
back for a Discord voice message) or as WAV (re-encoded to Ogg/Opus with libopus)."""

from __future__ import annotations

import base64

import discord.opus
import openai
import pytest

from skynet.engine.media.audio import (
    AudioRefused,
    audio_seconds,
    ogg_duration,
    ogg_opus_facts,
    pcm_to_ogg_opus,
    speak,
    transcribe,
    wav_to_pcm48k_stereo,
)
from skynet_dev.fake_media import FakeMedia, ogg_opus_bytes, wav_bytes


@pytest.fixture
async def server():
    async with FakeMedia() as media:
        yield media


def client_for(url: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=url, api_key="sk-test", max_retries=0)


def decoder():
    if not discord.opus.is_loaded():
        discord.opus._load_default()
    return discord.opus.Decoder().decode


@pytest.mark.parametrize(
    "make,name", [(lambda: wav_bytes(1.5), "clip.wav"), (lambda: ogg_opus_bytes(1.0), "voice-message.ogg")]
)
async def test_transcribes_real_audio(server, make, name):
    text = await transcribe(client_for(server.base_url), "whisper-1", make(), name)
    assert text == "what is the capital of france"
    sent = server.requests[-1][1]
    assert sent["model"] == "whisper-1" and sent["filename"] == name


async def test_an_empty_or_non_audio_upload(server):
    with pytest.raises(AudioRefused, match="empty"):
        await transcribe(client_for(server.base_url), "whisper-1", b"", "x.ogg")
    with pytest.raises(openai.BadRequestError):  # the server's 400; the shell maps it like any provider error
        await transcribe(client_for(server.base_url), "whisper-1", b"not audio at all", "x.ogg")


async def test_speech_as_ogg_opus_has_duration_and_a_real_waveform(server):
    server.speech_seconds = 2.0
    speech = await speak(client_for(server.base_url), "tts-1", "Paris.", voice="nova")
    assert speech.mime == "audio/ogg" and speech.characters == 6
    assert server.requests[-1][1] == {
        "model": "tts-1",
        "voice": "nova",
        "input": "Paris.",
        "response_format": "opus",
    }
    facts = ogg_opus_facts(speech.data, decoder())
    assert abs(facts.seconds - 2.0) < 0.05
    levels = base64.b64decode(facts.waveform)
    assert len(levels) == 20  # one point per 100 ms
    assert levels[-1] > levels[0]  # the tone fades in: the waveform is the audio's, not a flat line
    flat = base64.b64decode(ogg_opus_facts(speech.data).waveform)  # no decoder: flat, same length
    assert len(set(flat)) == 1 and len(flat) == 20


async def test_wav_speech_is_re_encoded_to_ogg_opus(server):
    server.speech_format = "wav"
    speech = await speak(client_for(server.base_url), "local-tts", "Bonjour.")
    assert speech.mime == "audio/wav"
    assert abs(audio_seconds(speech.data) - 1.0) < 0.01
    encoder = discord.opus.Encoder()
    ogg = pcm_to_ogg_opus(wav_to_pcm48k_stereo(speech.data), encoder.encode)
    assert abs(ogg_duration(ogg) - 1.0) < 0.03
    assert audio_seconds(ogg) == ogg_duration(ogg)


def test_durations():
    assert audio_seconds(b"\x00" * 8000) == 2.0  # unknown format: estimated from its size
    assert audio_seconds(b"whatever", known=3.5) == 3.5
