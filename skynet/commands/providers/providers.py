"""``/ai provider ...`` (owner): the OpenAI-compatible endpoints the cog can talk to."""

from __future__ import annotations

import time
from typing import Optional

from redbot.core import commands

from ...abc import MixinMeta
from ...delivery.style import error_text
from ...engine.errors import InvalidValue
from ...engine.providers.base import (
    DEFAULT_TIMEOUT,
    Endpoint,
    check_base_url,
    check_endpoint_name,
    check_timeout,
)
from ...i18n import _, plural
from ..common import reply, scope_label
from ..group import AIGroup


class ProvidersMixin(MixinMeta):
    @AIGroup.ai.group(name="provider")
    @commands.is_owner()
    async def ai_provider(self, ctx: commands.Context) -> None:
        """Manage AI provider endpoints (OpenAI, OpenRouter, Groq, Ollama, LM Studio, vLLM...)."""

    async def _key_is_set(self, endpoint: Endpoint) -> Optional[bool]:
        if not endpoint.token_service:
            return None
        tokens = await self.bot.get_shared_api_tokens(endpoint.token_service)
        return bool(tokens.get("api_key"))

    @ai_provider.command(name="list")
    async def ai_provider_list(self, ctx: commands.Context) -> None:
        """List the configured endpoints and whether their keys are set (keys are never shown)."""
        lines = []
        for name, endpoint in sorted(self.providers.endpoints.items()):
            key = await self._key_is_set(endpoint)
            if key is None:
                key_text = _("no key needed")
            elif key:
                key_text = _("key set (`{service}`)").format(service=endpoint.token_service)
            else:
                key_text = (
                    _("**no key** — `[p]set api {service} api_key,<key>`")
                    .format(service=endpoint.token_service)
                    .replace("[p]", ctx.clean_prefix)
                )
            breaker = self.engine.reliability.circuits.get(name)
            circuit = f" · {breaker.describe()}" if breaker.failures else ""  # healthy: say nothing
            lines.append(
                _("**{name}** — <{url}> · {key} · timeout {seconds}s{circuit}").format(
                    name=name,
                    url=endpoint.base_url,
                    key=key_text,
                    seconds=f"{endpoint.timeout:g}",
                    circuit=circuit,
                )
            )
        await reply(
            ctx,
            "\n".join(lines)
            or _("No endpoints. Add one with `[p]ai provider add`.").replace("[p]", ctx.clean_prefix),
        )

    @ai_provider.command(name="add")
    async def ai_provider_add(
        self, ctx: commands.Context, name: str, base_url: str, token_service: Optional[str] = None
    ) -> None:
        """Add (or update) an OpenAI-compatible endpoint.

        `token_service` names the `[p]set api` service that holds its `api_key`; leave it out for
        servers that need no key. Examples:
        `[p]ai provider add groq https://api.groq.com/openai/v1 groq`
        `[p]ai provider add ollama http://localhost:11434/v1`
        """
        name = check_endpoint_name(name)
        old = self.providers.endpoints.get(name)
        endpoint = Endpoint(
            name,
            check_base_url(base_url),
            check_endpoint_name(token_service) if token_service else None,
            old.timeout if old else DEFAULT_TIMEOUT,
        )
        await self.settings.set_endpoint(endpoint)
        self.refresh_providers()
        if old:
            message = _("Endpoint **{name}** updated: <{url}>.").format(name=name, url=endpoint.base_url)
        else:
            message = _("Endpoint **{name}** added: <{url}>.").format(name=name, url=endpoint.base_url)
        if await self._key_is_set(endpoint) is False:
            message += "\n" + _("Set its key with `[p]set api {service} api_key,<key>`.").format(
                service=endpoint.token_service
            )
        message += "\n" + _(
            "Use it with `[p]ai model set {name}:<model>`; check it with `[p]ai provider test {name}`."
        ).format(name=name)
        await reply(ctx, message.replace("[p]", ctx.clean_prefix))

    @ai_provider.command(name="remove")
    async def ai_provider_remove(self, ctx: commands.Context, name: str) -> None:
        """Remove an endpoint that no model setting uses any more."""
        self.providers.get(name)
        users = self.settings.models_using(name)
        if users:
            where = ", ".join(sorted({scope_label(scope.kind) for scope in users}))
            raise InvalidValue(
                _(
                    "**{name}** is still used by the model setting of {count} scope(s) ({where}). "
                    "Choose another model there first with `[p]ai model set`."
                ).format(name=name, count=len(users), where=where)
            )
        await self.settings.remove_endpoint(name)
        self.refresh_providers()
        await reply(ctx, _("Endpoint **{name}** removed.").format(name=name))

    @ai_provider.command(name="timeout")
    async def ai_provider_timeout(self, ctx: commands.Context, name: str, seconds: float) -> None:
        """Set how long to wait for an endpoint before giving up (slow local models need more)."""
        old = self.providers.get(name)
        endpoint = Endpoint(old.name, old.base_url, old.token_service, check_timeout(seconds))
        await self.settings.set_endpoint(endpoint)
        self.refresh_providers()
        await reply(
            ctx,
            _("Timeout for **{name}** set to {seconds} seconds.").format(name=name, seconds=f"{seconds:g}"),
        )

    @ai_provider.command(name="test")
    async def ai_provider_test(self, ctx: commands.Context, name: str) -> None:
        """Check that an endpoint answers and the key works, by listing its models."""
        self.providers.get(name)
        started = time.perf_counter()
        try:
            async with ctx.typing():
                models = await self.catalog.models(name, refresh=True)
        except Exception as exc:
            failure = self.providers.explain(exc, name)
            breaker = self.engine.reliability.circuits.get(name)
            circuit = "\n" + _("Requests to it: {state}.").format(state=breaker.describe()) if breaker.failures else ""
            await reply(ctx, error_text(failure.message, ctx.clean_prefix) + circuit)
            return
        elapsed = (time.perf_counter() - started) * 1000
        breaker = self.engine.reliability.circuits.get(name)
        was = breaker.describe() if breaker.failures else ""
        breaker.record_success()  # it answers: let requests through again
        closed = "\n" + _("Before this test: {state}. Requests go to it again.").format(state=was) if was else ""
        await reply(
            ctx,
            plural(
                len(models),
                _("✅ **{name}** answered in {ms} ms and offers {count} model."),
                _("✅ **{name}** answered in {ms} ms and offers {count} models."),
            ).format(name=name, ms=f"{elapsed:.0f}", count=len(models))
            + closed,
        )
