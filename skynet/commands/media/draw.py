"""``[p]ai draw``: images from a description (or an edit of an attached image), and the
``generate_image`` tool the model may call once an admin enables it."""

from __future__ import annotations

import io
import logging
from typing import Any, Dict, Optional, Tuple

import discord
from redbot.core import commands

from ...abc import MixinMeta
from ...delivery.reply import NO_MENTIONS
from ...engine.attachments import AttachmentInfo
from ...engine.errors import InvalidValue, SkynetError
from ...engine.governance.numbers import parse_number
from ...engine.governance.rules import DM_SCOPE
from ...engine.media.budget import ImageQuota, admit_media, image_price, media_usage
from ...engine.media.images import (
    MAX_IMAGE_BYTES,
    DrawnImage,
    ImageJob,
    check_prompt,
    draw,
    parse_api,
    parse_size,
    split_options,
)
from ...engine.media.settings import IMAGE_MODEL, IMAGES_PER_DAY, MediaModel, media_settings
from ...engine.tools.registry import Tool, ToolContext
from ...i18n import _
from ...stores.settings import GLOBAL, Scope
from ..common import ScopeChoice, reply, resolve_here, scope_label, writable_scope
from ..group import AIGroup

log = logging.getLogger("red.skynet.media")

IMAGE_PRICES = "image_prices"  # global param: the owner's USD per image, by model
PROMPT_IN_EMBED = 300
TOOL_NAME = "generate_image"


class DrawMixin(MixinMeta):
    image_quota: ImageQuota

    # -- the drawing pipeline (command and tool)

    def _image_prices(self) -> Dict[str, float]:
        return dict(self.settings.resolve(None, None).params.get(IMAGE_PRICES) or {})

    async def produce_image(
        self,
        author: discord.abc.User,
        channel: discord.abc.Messageable,
        prompt: str,
        size: Optional[str],
        quality: Optional[str],
        source: Optional[bytes] = None,
    ) -> Tuple[DrawnImage, MediaModel, Optional[float]]:
        """Draw within the member's daily count and budgets; refunded when nothing was drawn."""
        guild = getattr(channel, "guild", None)
        settings = resolve_here(self.settings, channel)
        media = media_settings(settings.params)
        model = media.image
        scope_id = guild.id if guild is not None else DM_SCOPE
        rules = self.governance.rules(scope_id)
        role_ids = tuple(r.id for r in getattr(author, "roles", ())[1:]) if guild is not None else ()
        bypass = author.id in self.bot.owner_ids
        price = image_price(model.name, quality, size, self._image_prices())
        reset_hour = rules.budgets.reset_hour
        if not bypass:
            self.image_quota.take(scope_id, author.id, media.images_per_day, reset_hour)
        try:
            ticket = admit_media(
                self.governor,
                rules,
                guild_id=scope_id,
                user_id=author.id,
                role_ids=role_ids,
                model=model.name,
                price=price,
                bypass=bypass,
            )
        except Exception:
            if not bypass:
                self.image_quota.give_back(scope_id, author.id, reset_hour)
            raise
        try:
            provider = await self.providers.provider(model.endpoint)
            image = await draw(
                provider.client,
                model.api,
                model.name,
                ImageJob(prompt, size, quality, source),
                fetch=self._fetch_image,
            )
        except BaseException as exc:
            ticket.settle(0.0)
            if not bypass:
                self.image_quota.give_back(scope_id, author.id, reset_hour)
            if isinstance(exc, (SkynetError, KeyboardInterrupt, SystemExit)) or not isinstance(
                exc, Exception
            ):
                raise
            failure = self.providers.explain(exc, model.endpoint, model.name)
            raise SkynetError(failure.message) from None
        ticket.settle(price or 0.0, image.tokens)
        self.usage.ledger.record(self.media_scopes(author, guild), media_usage(price, image.tokens))
        await self.save_image_quota(scope_id)
        return image, model, price

    async def _fetch_image(self, url: str) -> bytes:
        page = await self.tool_service.guard.fetch(url, accept_binary=True, max_bytes=MAX_IMAGE_BYTES)
        return page.body

    async def save_image_quota(self, scope_id: int) -> None:
        """One write per image drawn (images are rare; the chat path writes nothing per message)."""
        await self.config.custom("skynet_media", str(scope_id)).image_counts.set(
            self.image_quota.dump(scope_id)
        )

    async def load_image_quota(self) -> None:
        for scope_id, data in (await self.config.custom("skynet_media").all()).items():
            self.image_quota.load(int(scope_id), data.get("image_counts") or {})

    def image_message(
        self, prompt: str, image: DrawnImage, model: MediaModel, price: Optional[float]
    ) -> Tuple[discord.Embed, discord.File]:
        filename = f"skynet-image.{image.extension}"
        shown = prompt if len(prompt) <= PROMPT_IN_EMBED else prompt[: PROMPT_IN_EMBED - 1] + "…"
        embed = discord.Embed(description=shown, colour=discord.Colour.blurple())
        embed.set_image(url=f"attachment://{filename}")
        footer = f"{model}"
        if price is not None:
            footer += f" · ${price:.3f}"
        embed.set_footer(text=footer)
        if image.revised_prompt and image.revised_prompt != prompt:
            embed.add_field(name=_("Revised prompt"), value=image.revised_prompt[:1000], inline=False)
        return embed, discord.File(io.BytesIO(image.data), filename=filename)

    async def _source_image(self, ctx: commands.Context) -> Optional[bytes]:
        """The image to edit: attached to the command, or on the message it replies to."""
        message = ctx.message if ctx.interaction is None else None
        candidates = list(message.attachments) if message is not None else []
        if message is not None and not any(self._is_image(a) for a in candidates):
            parent = await self._replied_message(message)
            candidates = list(parent.attachments) if parent is not None else []
        for attachment in candidates:
            if self._is_image(attachment):
                if attachment.size > MAX_IMAGE_BYTES:
                    raise InvalidValue(_("That image is too large to edit (the limit is 20 MB)."))
                return await attachment.read()
        return None

    @staticmethod
    def _is_image(attachment: discord.Attachment) -> bool:
        info = AttachmentInfo(attachment.filename, attachment.size, attachment.content_type)
        return info.is_vision_image and not info.is_text

    # -- [p]ai draw

    @AIGroup.ai.group(name="draw", with_app_command=False, invoke_without_command=True)
    async def ai_draw(self, ctx: commands.Context, *, prompt: str = "") -> None:
        """Draw an image: `[p]ai draw <description> [size] [quality]`.

        Size: `1024x1024` (any WIDTHxHEIGHT), `square`, `portrait`, `landscape` or `auto`. Quality:
        `low`, `medium`, `high`, `auto` (`standard` or `hd` for dall-e-3). Attach an image, or reply
        to a message with one, and it is edited instead. Images count against your daily budget.
        """
        text, size, quality = split_options(prompt.split())
        text = check_prompt(text)
        source = await self._source_image(ctx)
        async with ctx.typing():
            image, model, price = await self.produce_image(
                ctx.author, ctx.channel, text, size, quality, source
            )
        embed, file = self.image_message(text, image, model, price)
        reference = ctx.message.to_reference(fail_if_not_exists=False) if ctx.interaction is None else None
        await ctx.send(
            embed=embed, file=file, reference=reference, mention_author=False, allowed_mentions=NO_MENTIONS
        )

    @ai_draw.command(name="model", with_app_command=False)
    async def ai_draw_model(
        self, ctx: commands.Context, scope: Optional[ScopeChoice], model: str, api: str = "images"
    ) -> None:
        """Choose the image model: `[p]ai draw model [scope] <endpoint:model> [images|chat|a1111]`.

        `images`: the OpenAI images API (gpt-image-1, dall-e-3…) on any compatible endpoint;
        `chat`: image models answering through chat completions (OpenRouter's Gemini, FLUX…);
        `a1111`: a local AUTOMATIC1111/Forge server (its endpoint's base URL is the server root).
        """
        endpoint, sep, name = model.partition(":")
        if not sep or not name or endpoint not in self.providers.endpoints:
            known = ", ".join(f"`{e}`" for e in self.providers.endpoints) or _("none")
            raise InvalidValue(
                _(
                    "Write the model as `endpoint:model`, e.g. `openai:gpt-image-1` (endpoints: {known})."
                ).format(known=known)
            )
        api = parse_api(api)
        target = await writable_scope(ctx, scope)
        await self.settings.set_param(target, IMAGE_MODEL, {"endpoint": endpoint, "name": name, "api": api})
        await reply(
            ctx,
            _("Images for {scope} are drawn by `{model}` ({api} API).").format(
                scope=scope_label(target.kind), model=model, api=api
            ),
        )

    @ai_draw.command(name="limit", with_app_command=False)
    async def ai_draw_limit(self, ctx: commands.Context, per_day: str) -> None:
        """Each member's images per day in this server (`off` for no limit); budgets still apply."""
        target = await writable_scope(ctx, "server" if ctx.guild else "global")
        if per_day.strip().lower() in ("off", "none", "reset"):
            await self.settings.reset_params(target, IMAGES_PER_DAY)
            await reply(ctx, _("Members can draw any number of images (within their budget)."))
            return
        count = parse_number(per_day, what=_("The number of images"), minimum=0, maximum=1000, integer=True)
        await self.settings.set_param(target, IMAGES_PER_DAY, count)
        await reply(ctx, _("Each member can draw {count} images a day here.").format(count=count))

    @ai_draw.command(name="price", with_app_command=False)
    @commands.is_owner()
    async def ai_draw_price(self, ctx: commands.Context, model: str, usd: str) -> None:
        """Set what one image of `model` costs in USD (`reset` for the price book's)."""
        prices = self._image_prices()
        if usd.strip().lower() == "reset":
            prices.pop(model, None)
            text = _("`{model}` is priced by the price book again.").format(model=model)
        else:
            prices[model] = parse_number(usd, what=_("The price"), minimum=0, maximum=100)
            text = _("One image of `{model}` now costs ${price}.").format(
                model=model, price=f"{prices[model]:g}"
            )
        await self.settings.set_param(Scope(GLOBAL), IMAGE_PRICES, prices)
        await reply(ctx, text)

    @ai_draw.command(name="show", with_app_command=False)
    async def ai_draw_show(self, ctx: commands.Context) -> None:
        """Show the image model here, its price per image and the daily image count."""
        media = media_settings(resolve_here(self.settings, ctx.channel).params)
        price = image_price(media.image.name, None, None, self._image_prices())
        scope_id = ctx.guild.id if ctx.guild else DM_SCOPE
        used = self.image_quota.used(
            scope_id, ctx.author.id, self.governance.rules(scope_id).budgets.reset_hour
        )
        lines = [
            _("Model: `{model}` ({api} API)").format(model=media.image, api=media.image.api),
            _("Price per image: {price}").format(price=f"${price:g}" if price is not None else _("unknown")),
            _("Images per member per day: {limit} (you drew {used} today)").format(
                limit=media.images_per_day if media.images_per_day is not None else _("no limit"), used=used
            ),
        ]
        await reply(ctx, "\n".join(lines))

    # -- the generate_image tool (off until enabled with [p]ai tools enable generate_image)

    def image_tool(self) -> Tool:
        async def handler(arguments: Dict[str, Any], context: ToolContext) -> str:
            channel = self.bot.get_channel(context.channel_id) if context.channel_id else None
            guild = getattr(channel, "guild", None)
            author = (guild.get_member(context.user_id) if guild else None) or self.bot.get_user(
                context.user_id
            )
            if channel is None or author is None:
                return "The image could not be posted here."
            prompt = check_prompt(str(arguments.get("prompt") or ""))
            size = parse_size(arguments["size"]) if arguments.get("size") else None
            image, model, price = await self.produce_image(author, channel, prompt, size, None)
            embed, file = self.image_message(prompt, image, model, price)
            await self.pacer.acquire(channel.id)
            await channel.send(embed=embed, file=file, allowed_mentions=NO_MENTIONS)
            return "The image was drawn and posted in the channel; do not describe it as a link."

        return Tool(
            name=TOOL_NAME,
            description="Draw an image from a detailed description and post it in the channel.",
            parameters={
                "type": "object",
                "properties": {
                    "prompt": {"type": "string", "description": "A detailed description of the image."},
                    "size": {"type": "string", "description": "WIDTHxHEIGHT, e.g. 1024x1024 (optional)."},
                },
                "required": ["prompt"],
            },
            handler=handler,
            timeout=120.0,
            cooldown=10.0,
            status=lambda arguments: _("🎨 Drawing…"),
            summary=lambda: _("Draws an image and posts it (counts against the member's images and budget)."),
        )
