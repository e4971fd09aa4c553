"""Voice: members' voice messages and audio files transcribed and answered like text, and
answers spoken back as Discord voice messages. Both are off until an admin turns them on
(``[p]ai voice transcribe on``, ``[p]ai voice speak on``); a member can ask for spoken answers
for themselves (``[p]ai voice me on``) where speaking is allowed. Both count against budgets."""

from __future__ import annotations

import asyncio
import io
import logging
from typing import Optional, Sequence, Tuple

import discord
from discord.http import handle_message_parameters
from redbot.core import commands

from ...abc import MixinMeta
from ...delivery.reply import NO_MENTIONS
from ...engine.chat import ChatRequest
from ...engine.errors import InvalidValue, SkynetError
from ...engine.events import Done
from ...engine.governance.errors import GovernanceRefusal
from ...engine.governance.rules import DM_SCOPE
from ...engine.media.audio import (
    AudioRefused,
    Speech,
    audio_seconds,
    is_audio_name,
    ogg_opus_facts,
    parse_voice,
    pcm_to_ogg_opus,
    speak,
    transcribe,
    wav_to_pcm48k_stereo,
)
from ...engine.media.budget import admit_media, media_usage, speech_price, transcription_price
from ...engine.media.settings import (
    SPEAK,
    SPEECH_MODEL,
    SPEECH_VOICE,
    TRANSCRIBE,
    TRANSCRIBE_MODEL,
    MediaSettings,
    media_settings,
)
from ...i18n import _
from ..common import ScopeChoice, reply, resolve_here, scope_label, writable_scope
from ..group import AIGroup

log = logging.getLogger("red.skynet.media")

MAX_TRANSCRIPT_SHOWN = 300
ON_WORDS, OFF_WORDS = ("on", "yes", "true", "enable"), ("off", "no", "false", "disable")


def _switch(value: str) -> bool:
    word = value.strip().lower()
    if word in ON_WORDS:
        return True
    if word in OFF_WORDS:
        return False
    raise InvalidValue(_("Say `on` or `off`."))


class VoiceFile(discord.File):
    """An Ogg/Opus file sent as a Discord voice message: it carries its duration and waveform."""

    def __init__(self, data: bytes, seconds: float, waveform: str) -> None:
        super().__init__(io.BytesIO(data), filename="voice-message.ogg")
        self.seconds = seconds
        self.waveform = waveform

    def to_dict(self, index: int) -> dict:
        payload = super().to_dict(index)
        payload.update(duration_secs=round(self.seconds, 2), waveform=self.waveform)
        return payload


def opus_codec():
    """discord.py's binding of the system's libopus, or None when libopus can't be loaded."""
    import discord.opus

    try:
        if not discord.opus.is_loaded():
            discord.opus._load_default()
        return discord.opus if discord.opus.is_loaded() else None
    except Exception:  # no libopus on this system: voice messages fall back to audio files
        return None


class VoiceMixin(MixinMeta):
    # -- transcription

    def media_here(self, channel: discord.abc.Messageable) -> MediaSettings:
        return media_settings(resolve_here(self.settings, channel).params)

    async def transcribed(
        self, author: discord.abc.User, channel: discord.abc.Messageable, audio: discord.Attachment
    ) -> str:
        """The text of a voice message or audio file, within the member's budget."""
        media = self.media_here(channel)
        model = media.transcribe_model
        data = await audio.read()
        seconds = audio_seconds(data, known=getattr(audio, "duration", None))
        ticket = self._admit_media(author, channel, model.name, transcription_price(model.name, seconds))
        try:
            provider = await self.providers.provider(model.endpoint)
            text = await transcribe(provider.client, model.name, data, audio.filename)
        except BaseException as exc:
            ticket.settle(0.0)
            if isinstance(exc, SkynetError) or not isinstance(exc, Exception):
                raise
            raise SkynetError(self.providers.explain(exc, model.endpoint, model.name).message) from None
        price = transcription_price(model.name, seconds)
        ticket.settle(price or 0.0)
        self.usage.ledger.record(
            self.media_scopes(author, getattr(channel, "guild", None)), media_usage(price)
        )
        if not text:
            raise AudioRefused(_("I couldn't hear any words in that recording."))
        return text

    def split_audio(
        self, channel: discord.abc.Messageable, files: Sequence[discord.Attachment]
    ) -> Tuple[list, list]:
        """``files`` without the audio files (transcribed where enabled), and the audio files."""
        if not self.media_here(channel).transcribe:
            return list(files), []
        audio = [f for f in files if is_audio_name(f.filename, f.content_type)]
        return [f for f in files if f not in audio], audio

    async def with_transcripts(
        self,
        author: discord.abc.User,
        channel: discord.abc.Messageable,
        text: str,
        audio: Sequence[discord.Attachment],
    ) -> str:
        for attachment in audio:
            heard = await self.transcribed(author, channel, attachment)
            text = f"{text}\n\n{heard}".strip() if text else heard
        return text

    @commands.Cog.listener("on_message_without_command")
    async def on_voice_message(self, message: discord.Message) -> None:
        """A voice message where transcription is on is answered like a text message."""
        if not message.flags.voice or message.author.bot or message.webhook_id is not None:
            return
        if not message.attachments or self.inflight.closed:
            return
        channel = message.channel
        # In servers only: DMs have the owner's own switches (ai dm), which `ai chat` applies.
        if message.guild is None or not self.media_here(channel).transcribe:
            return
        if not self.listener.claim(message.id):
            return
        ctx = await self.bot.get_context(message)
        if ctx.prefix is None:
            ctx.prefix = (await self.bot.get_valid_prefixes(message.guild))[0]
        try:
            text = await self.transcribed(message.author, channel, message.attachments[0])
            shown = text if len(text) <= MAX_TRANSCRIPT_SHOWN else text[: MAX_TRANSCRIPT_SHOWN - 1] + "…"
            await self.answer(ctx, text, preface=f"-# 🎙️ “{shown}”\n")
        except GovernanceRefusal as refusal:
            await self._notify_once(message, refusal)
        except SkynetError as error:
            await self.cog_command_error(ctx, error)

    # -- speaking

    def _speaks_for(self, author: discord.abc.User, media: MediaSettings) -> bool:
        return media.speak and self.voice_members.get(author.id, True)

    async def speak_reply(
        self, ctx: commands.Context, request: ChatRequest, done: Done, media: MediaSettings
    ) -> None:
        """Post the answer spoken, where an admin turned speaking on (the text stays)."""
        if not self._speaks_for(ctx.author, media) or self.inflight.closed:
            return
        model = media.speech_model
        price = speech_price(model.name, len(done.text))
        try:
            ticket = self._admit_media(ctx.author, ctx.channel, model.name, price)
        except GovernanceRefusal:
            return  # the text answer is there; no voice once the budget is used up
        try:
            provider = await self.providers.provider(model.endpoint)
            speech = await speak(provider.client, model.name, _speakable(done.text), voice=media.voice)
        except Exception as exc:
            ticket.settle(0.0)
            log.info("Speaking a reply failed: %s", self.redactor.redact(str(exc)))
            return
        ticket.settle(price or 0.0)
        self.usage.ledger.record(self.media_scopes(ctx.author, ctx.guild), media_usage(price))
        try:
            await self.post_speech(ctx.channel, speech)
        except discord.HTTPException as exc:
            log.info("Posting a spoken reply failed: %s", exc)

    async def post_speech(self, channel: discord.abc.Messageable, speech: Speech) -> discord.Message:
        """A voice message (Ogg/Opus with waveform) where possible, else the audio as a file."""
        codec = opus_codec()
        data = speech.data
        if speech.mime == "audio/wav" and codec is not None:
            encoder = codec.Encoder()
            data = await asyncio.to_thread(
                lambda: pcm_to_ogg_opus(wav_to_pcm48k_stereo(speech.data), encoder.encode)
            )
        elif speech.mime != "audio/ogg":
            data = b""
        await self.pacer.acquire(channel.id)
        if data:
            decoder = codec.Decoder().decode if codec is not None else None
            facts = await asyncio.to_thread(ogg_opus_facts, data, decoder)
            target = await channel._get_channel()
            params = handle_message_parameters(
                file=VoiceFile(data, facts.seconds, facts.waveform),
                flags=discord.MessageFlags(voice=True),
                allowed_mentions=NO_MENTIONS,
            )
            try:
                with params:
                    payload = await target._state.http.send_message(target.id, params=params)
                return target._state.create_message(channel=target, data=payload)
            except discord.Forbidden:
                pass  # voice messages not allowed here: the file below
        name = f"answer.{speech.extension}"
        return await channel.send(
            file=discord.File(io.BytesIO(speech.data), filename=name), allowed_mentions=NO_MENTIONS
        )

    def _admit_media(self, author, channel, model: str, price: Optional[float]):
        guild = getattr(channel, "guild", None)
        scope_id = guild.id if guild is not None else DM_SCOPE
        role_ids = tuple(r.id for r in getattr(author, "roles", ())[1:]) if guild is not None else ()
        return admit_media(
            self.governor,
            self.governance.rules(scope_id),
            guild_id=scope_id,
            user_id=author.id,
            role_ids=role_ids,
            model=model,
            price=price,
            bypass=author.id in self.bot.owner_ids,
        )

    # -- [p]ai voice

    @AIGroup.ai.group(name="voice", with_app_command=False, invoke_without_command=True)
    async def ai_voice(self, ctx: commands.Context) -> None:
        """Voice messages: transcribed and answered, and answers spoken back (both off by default)."""
        media = self.media_here(ctx.channel)
        on, off = _("on"), _("off")
        await reply(
            ctx,
            "\n".join(
                [
                    _("Transcribing voice messages and audio files: {state} (`{model}`)").format(
                        state=on if media.transcribe else off, model=media.transcribe_model
                    ),
                    _("Spoken answers: {state} (`{model}`, voice `{voice}`)").format(
                        state=on if media.speak else off, model=media.speech_model, voice=media.voice
                    ),
                ]
            ),
        )

    @ai_voice.command(name="transcribe", with_app_command=False)
    async def ai_voice_transcribe(
        self, ctx: commands.Context, scope: Optional[ScopeChoice], state: str
    ) -> None:
        """Transcribe voice messages and audio files and answer them (`on` or `off`)."""
        target = await writable_scope(ctx, scope)
        await self.settings.set_param(target, TRANSCRIBE, _switch(state))
        await reply(
            ctx,
            _("Transcription for {scope}: `{state}`.").format(
                scope=scope_label(target.kind), state=state.lower()
            ),
        )

    @ai_voice.command(name="speak", with_app_command=False)
    async def ai_voice_speak(self, ctx: commands.Context, scope: Optional[ScopeChoice], state: str) -> None:
        """Also post answers as voice messages (`on` or `off`); members can opt out with `[p]ai voice me off`."""
        target = await writable_scope(ctx, scope)
        await self.settings.set_param(target, SPEAK, _switch(state))
        await reply(
            ctx,
            _("Spoken answers for {scope}: `{state}`.").format(
                scope=scope_label(target.kind), state=state.lower()
            ),
        )

    @ai_voice.command(name="model", with_app_command=False)
    async def ai_voice_model(
        self,
        ctx: commands.Context,
        scope: Optional[ScopeChoice],
        kind: str,
        model: str,
        voice: Optional[str] = None,
    ) -> None:
        """Choose the models: `[p]ai voice model [scope] transcribe <endpoint:model>` or
        `[p]ai voice model [scope] speech <endpoint:model> [voice]`."""
        kind = kind.strip().lower()
        if kind not in ("transcribe", "speech"):
            raise InvalidValue(_("Say which model: `transcribe` or `speech`."))
        endpoint, sep, name = model.partition(":")
        if not sep or not name or endpoint not in self.providers.endpoints:
            raise InvalidValue(_("Write the model as `endpoint:model`, e.g. `openai:whisper-1`."))
        target = await writable_scope(ctx, scope)
        key = TRANSCRIBE_MODEL if kind == "transcribe" else SPEECH_MODEL
        await self.settings.set_param(target, key, {"endpoint": endpoint, "name": name})
        if voice and kind == "speech":
            await self.settings.set_param(target, SPEECH_VOICE, parse_voice(voice))
        await reply(
            ctx,
            _("The {kind} model for {scope} is `{model}`.").format(
                kind=kind, scope=scope_label(target.kind), model=model
            ),
        )

    @ai_voice.command(name="me", with_app_command=False)
    async def ai_voice_me(self, ctx: commands.Context, state: str) -> None:
        """Whether answers to you are spoken where an admin turned spoken answers on (`on`/`off`)."""
        wanted = _switch(state)
        self.voice_members[ctx.author.id] = wanted
        await self.config.user(ctx.author).voice_replies.set(wanted)
        await reply(
            ctx,
            _("Answers to you will be spoken where spoken answers are on.")
            if wanted
            else _("Answers to you will not be spoken."),
        )


def _speakable(text: str) -> str:
    """The answer without markdown noise a voice would read out (code blocks, links' targets)."""
    import re

    text = re.sub(r"```.*?```", " ", text, flags=re.S)
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)
    text = re.sub(r"[*_`~>#|]", "", text)
    text = re.sub(r"^-# .*$", "", text, flags=re.M)
    return " ".join(text.split())
