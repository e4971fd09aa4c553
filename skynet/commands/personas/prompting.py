"""``/ai variables``, ``/ai myprompt`` and ``/ai timezone``, and the chat path's persona
plumbing: :meth:`PromptingMixin.apply_persona` puts the active persona's rendered prompt (and the
member's own instructions) into the request's settings.
"""

from __future__ import annotations

import asyncio
import zoneinfo
from dataclasses import replace
from typing import Dict, Literal, Optional, Sequence, Tuple

import discord
from discord import app_commands
from redbot.core import commands
from redbot.core.utils.chat_formatting import pagify

from ...abc import MixinMeta
from ...delivery.webhooks import ChannelWebhooks, persona_sender
from ...engine.attachments import MAX_FILES, AttachmentInfo, AttachmentRefused, check, inline
from ...engine.attachments.images import prepare_image_async
from ...engine.attachments.vision import MAX_IMAGE_BYTES, MAX_IMAGES, supports_vision
from ...engine.params import SYSTEM_PROMPT
from ...engine.personas import MAX_MYPROMPT_CHARS, Persona, compose_system_prompt, render
from ...engine.personas.personas import (
    PersonaError,
)
from ...engine.settings import ModelRef, ResolvedSettings
from ...i18n import _
from ...stores.personas import USER, ActivePersona, PersonaStore
from ...stores.settings import CHANNEL, GLOBAL, GUILD
from ..common import reply, resolve_here, settings_channel_id, writable_scope
from ..group import AIGroup
from .variables import prompt_variables

# Lower rank = more specific. A persona's preset overrides values set at the scope where the
# persona was chosen or at less specific ones; a more specific explicit setting still wins.
RANK = {USER: 0, CHANNEL: 0, GUILD: 1, GLOBAL: 2, "default": 3}


class PromptingMixin(MixinMeta):
    personas: PersonaStore
    _prefixes: Dict[int, str]  # server id (0: DMs) -> the prefix members last used with skynet
    _default_prefix: str  # the bot's own first prefix, where no member used skynet yet
    webhooks: ChannelWebhooks

    # -- the chat path (no I/O) ---------------------------------------------------------------

    async def load_default_prefix(self) -> None:
        """The bot's first prefix, for ``{prefix}`` where no member used skynet yet (not a mention)."""
        prefixes = await self.bot.get_valid_prefixes()
        self._default_prefix = next((p for p in prefixes if not p.startswith("<@")), "[p]")

    async def remember_prefix(self, ctx: commands.Context) -> None:
        """Red before-invoke hook: the prefix members use here, for ``{prefix}``."""
        if ctx.cog is self:
            self._prefixes[ctx.guild.id if ctx.guild else 0] = ctx.clean_prefix

    def active_persona(
        self, author: discord.abc.User, channel: discord.abc.Messageable
    ) -> Optional[ActivePersona]:
        """The persona answering ``author`` in ``channel``: channel ▸ server ▸ global, or the
        member's pick ▸ global in DMs."""
        guild = getattr(channel, "guild", None)
        channel_id = settings_channel_id(channel) if guild else None
        return self.personas.active(guild.id if guild else None, channel_id, author.id)

    def apply_persona(
        self, author: discord.abc.User, channel: discord.abc.Messageable, settings: ResolvedSettings
    ) -> ResolvedSettings:
        """``settings`` with the active persona's preset and rendered prompt, plus the member's own
        instructions. Refuses DMs when the owner closed them."""
        guild = getattr(channel, "guild", None)
        if guild is None:
            self.check_dm_allowed(author)
        active = self.active_persona(author, channel)
        if active is not None:
            settings = self.with_preset(settings, active.persona, active.scope)
        base = active.persona.system_prompt if active else settings.system_prompt
        variables = self.variables_here(author, channel, settings, active.persona if active else None)
        prompt = compose_system_prompt(render(base, variables), self.personas.myprompt(author.id))
        sources = dict(settings.sources)
        if active is not None:
            sources[SYSTEM_PROMPT] = active.scope
        return replace(settings, params={**settings.params, SYSTEM_PROMPT: prompt}, sources=sources)

    def persona_send(self, ctx: commands.Context, send):
        """``send`` for the reply streamer: under the active persona's display name and avatar
        (webhook; plain messages starting with its name as fallback, and in DMs, which have no
        webhooks), or ``send`` unchanged."""
        active = self.active_persona(ctx.author, ctx.channel)
        persona = active.persona if active else None
        if persona is None or not (persona.display_name or persona.avatar_url):
            return send
        return persona_sender(
            send,
            ctx.channel,
            self.webhooks,
            name=persona.display_name or persona.name,
            avatar_url=persona.avatar_url,
            use_webhook=ctx.interaction is None,  # a slash command must answer its interaction
            on_error=lambda exc: self.engine.errors.record(
                "webhook_failed",
                _("A persona reply could not be sent through the channel's webhook; it was sent as a plain reply."),
                self.redactor.redact(f"{type(exc).__name__}: {exc}"),
                ctx.guild.id if ctx.guild else None,
            ),
        )

    async def with_attachments(
        self, ctx: commands.Context, text: str, uploaded: Sequence[discord.Attachment] = ()
    ) -> Tuple[str, Tuple[discord.Attachment, ...]]:
        """``text`` with the text files attached to the command message inlined, and the images
        attached to it or to the message it replies to (at most 4, the message's own first), still
        to be read by :meth:`image_inputs`. A slash command has no message: its files are the
        ``uploaded`` ones (its attachment option)."""
        if ctx.interaction is not None or ctx.message is None:
            files = list(uploaded)
        else:
            files = list(ctx.message.attachments)
        if len(files) > MAX_FILES:
            raise AttachmentRefused(_("Attach at most {count} files to one message.").format(count=MAX_FILES))
        files, audio = self.split_audio(ctx.channel, files)  # transcribed where an admin enabled it
        infos = [AttachmentInfo(f.filename, f.size, f.content_type) for f in files]
        for info in infos:
            check(info)  # every file is checked before anything is downloaded
        images = [f for f, info in zip(files, infos) if info.is_image and not info.is_text]
        for attachment, info in zip(files, infos):
            if not (info.is_image and not info.is_text):
                text = inline(text, info, await attachment.read())
        text = await self.with_transcripts(ctx.author, ctx.channel, text, audio)
        replying = ctx.interaction is None and ctx.message is not None and len(images) < MAX_IMAGES
        parent = await self._replied_message(ctx.message) if replying else None
        for attachment in parent.attachments if parent is not None else ():
            info = AttachmentInfo(attachment.filename, attachment.size, attachment.content_type)
            if (
                info.is_vision_image
                and not info.is_text
                and info.size <= MAX_IMAGE_BYTES
                and len(images) < MAX_IMAGES
            ):
                images.append(attachment)  # the replied-to message's other files are not read
        return text, tuple(images)

    async def image_inputs(self, images: Sequence[discord.Attachment], model: ModelRef) -> Tuple[str, ...]:
        """The images as data URLs, downscaled to the vision limits (decoded in worker threads).

        For a model known not to see images nothing is downloaded: their URLs are passed on and the
        engine answers with its notice before any provider call."""
        if supports_vision(model.endpoint, model.name, self.engine.vision_overrides) is False:
            return tuple(image.url for image in images)
        try:
            raws = await asyncio.gather(*(image.read() for image in images))
        except discord.HTTPException:
            raise AttachmentRefused(
                _("I couldn't download your images from Discord, so your message was not sent. Try again.")
            ) from None
        prepared = await asyncio.gather(
            *(prepare_image_async(raw, image.filename) for raw, image in zip(raws, images))
        )
        return tuple(image.data_url for image in prepared)

    async def _replied_message(self, message: discord.Message) -> Optional[discord.Message]:
        """The message ``message`` replies to: from the gateway payload, the cache, or fetched."""
        ref = message.reference
        if ref is None or not ref.message_id:
            return None
        if isinstance(ref.resolved, discord.Message):
            return ref.resolved
        found = self.bot._connection._get_message(ref.message_id)
        if found is None:
            try:
                found = await message.channel.fetch_message(ref.message_id)
            except discord.HTTPException:
                return None
        return found

    def with_preset(self, settings: ResolvedSettings, persona: Persona, scope: str) -> ResolvedSettings:
        rank = RANK.get(scope, 0)
        model, model_source = settings.model, settings.model_source
        if persona.model and RANK.get(model_source, 3) >= rank:
            model, model_source = ModelRef.from_json(persona.model) or model, scope
        params, sources = dict(settings.params), dict(settings.sources)
        for name, value in persona.params.items():
            if name not in params or RANK.get(sources.get(name, "default"), 3) >= rank:
                params[name], sources[name] = value, scope
        return replace(settings, model=model, model_source=model_source, params=params, sources=sources)

    def variables_here(
        self,
        author: discord.abc.User,
        channel: discord.abc.Messageable,
        settings: ResolvedSettings,
        persona: Optional[Persona],
    ):
        guild = getattr(channel, "guild", None)
        return prompt_variables(
            bot=self.bot,
            author=author,
            channel=channel,
            prefix=self._prefixes.get(guild.id if guild else 0, self._default_prefix),
            model=settings.model.name,
            endpoint=settings.model.endpoint,
            persona=(persona.display_name or persona.name) if persona else "",
            timezone=self.personas.timezone(guild.id if guild else None),
        )

    # -- /ai variables, /ai timezone, /ai myprompt ----------------------------------------------

    @AIGroup.ai.command(name="variables")
    async def ai_variables(self, ctx: commands.Context) -> None:
        """Every variable you can write in a prompt as `{name}`, with its value here."""
        settings = resolve_here(self.settings, ctx.channel)
        active = self.active_persona(ctx.author, ctx.channel)
        variables = self.variables_here(ctx.author, ctx.channel, settings, active.persona if active else None)
        variables = dict(variables.items())
        variables["prefix"] = ctx.clean_prefix
        lines = []
        for name, value in variables.items():
            shown = " ".join(value.split())
            value = shown[:80] + ("…" if len(shown) > 80 else "") if shown else _("(empty)")
            lines.append(f"`{{{name}}}` → {value}")
        text = _("Prompt variables (write them in a persona or system prompt):") + "\n" + "\n".join(lines)
        for page in pagify(text, page_length=1900):
            await reply(ctx, page)

    @AIGroup.ai.command(name="timezone", with_app_command=False)  # slash `ai` holds 25 at most
    @commands.guild_only()
    @app_commands.describe(zone="An IANA time zone such as Europe/Paris or America/New_York")
    async def ai_timezone(self, ctx: commands.Context, zone: Optional[str] = None) -> None:
        """Show or set the server's time zone for `{date}`, `{time}` and friends (default UTC)."""
        if zone is None:
            await reply(
                ctx,
                _("This server's time zone is `{zone}`.").format(zone=self.personas.timezone(ctx.guild.id)),
            )
            return
        await writable_scope(ctx, "server")
        try:
            zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise PersonaError(
                _("`{zone}` is not a time zone. Use a name like `Europe/Paris` or `UTC`.").format(
                    zone=zone[:50]
                )
            ) from None
        await self.personas.set_timezone(ctx.guild.id, zone)
        await reply(ctx, _("This server's time zone is now `{zone}`.").format(zone=zone))

    @AIGroup.ai.command(name="myprompt")
    @app_commands.describe(action="show, set or clear", text="Your instructions (up to 500 characters)")
    async def ai_myprompt(
        self,
        ctx: commands.Context,
        action: Literal["show", "set", "clear"] = "show",
        *,
        text: Optional[str] = None,
    ) -> None:
        """Your own instructions for the assistant, added to every request you make, everywhere.

        Example: `[p]ai myprompt set Call me Sam and keep answers under 100 words.`
        """
        if action == "show":
            current = self.personas.myprompt(ctx.author.id)
            await reply(
                ctx,
                _("Your instructions:\n>>> {text}").format(text=current)
                if current
                else _("You have no instructions set."),
            )
            return
        if action == "clear":
            await self.personas.set_myprompt(ctx.author.id, None)
            await reply(ctx, _("Your instructions are cleared."))
            return
        text = (text or "").strip()
        if not text:
            raise PersonaError(
                _("Write your instructions after `set`, e.g. `[p]ai myprompt set Call me Sam.`")
            )
        if len(text) > MAX_MYPROMPT_CHARS:
            raise PersonaError(
                _("Your instructions are {length} characters long; the limit is {limit}.").format(
                    length=len(text), limit=MAX_MYPROMPT_CHARS
                )
            )
        await self.personas.set_myprompt(ctx.author.id, text)
        await reply(ctx, _("Saved. The assistant will follow your instructions in all your requests."))
