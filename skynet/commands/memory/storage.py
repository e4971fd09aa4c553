"""Owner memory storage commands: ``ai memory backend|embeddings|compaction|judge``.

They join the ``ai memory`` group declared in ``memory_admin`` (one mixin per area).
"""

from __future__ import annotations

from typing import Literal, Optional

from discord import app_commands
from redbot.core import commands

from ...abc import MixinMeta
from ...engine.errors import InvalidValue
from ...engine.memory.vector import BackendConfig
from ...engine.settings import ModelRef, parse_model_ref
from ...i18n import _
from ...stores.rollback import StorageWriteFailed
from ..common import (
    reply,
)
from .admin import MemoryAdminMixin
from .common import require_owner


class MemoryStorageMixin(MixinMeta):
    def _model_ref(self, text: str) -> ModelRef:
        return parse_model_ref(text, list(self.settings.endpoints), self._default_embedding().endpoint)

    async def _save_memory_options(self) -> None:
        options = self.memory_service.options
        backend = options.backend
        try:
            await self.config.memory.set(
                {
                    "backend": {
                        "kind": backend.kind,
                        "host": backend.host,
                        "port": backend.port,
                        "ssl": backend.ssl,
                    },
                    "embedding_model": options.embedding_model.to_json() if options.embedding_model else None,
                    "compaction_model": options.compaction_model.to_json() if options.compaction_model else None,
                    "compaction": options.compaction,
                    "judge": options.judge,
                    "judge_model": options.judge_model.to_json() if options.judge_model else None,
                }
            )
        except StorageWriteFailed:  # Config was rolled back (stores/rollback.py): so are the options
            await self.restore_memory_options()
            raise

    # -- admins: ai memory ----------------------------------------------------------------------

    @MemoryAdminMixin.ai_memory.command(name="backend")
    @app_commands.describe(
        action="show, local or server", host="Chroma server host", port="Chroma server port", ssl="Use HTTPS"
    )
    async def ai_memory_backend(
        self,
        ctx: commands.Context,
        action: Literal["show", "local", "server"] = "show",
        host: Optional[str] = None,
        port: Optional[int] = None,
        ssl: bool = False,
    ) -> None:
        """Where long-term memory lives: `local` (embedded chromadb) or a Chroma `server` (owner).

        For a server: `[p]ai memory backend server chroma.example.com 8000 true`; a token, if the
        server needs one, is set with `[p]set api chroma token,<token>`.
        """
        service = self.memory_service
        if action == "show":
            await reply(ctx, _("Long-term memory: {state}.").format(state=service.state()))
            return
        await require_owner(ctx)
        if action == "server":
            if not host:
                raise InvalidValue(
                    _("Give the server's host (and port), e.g. `[p]ai memory backend server localhost 8000`.")
                )
            if port is not None and not (1 <= port <= 65535):
                raise InvalidValue(_("The port must be between 1 and 65535."))
            backend = BackendConfig("server", host.strip(), port or 8000, bool(ssl))
        else:
            backend = BackendConfig()
        await service.set_backend(backend)
        await self._save_memory_options()
        try:
            await service.ensure_open()
            shown = _("Long-term memory now uses {backend} — connected.").format(backend=backend.label())
        except Exception as exc:
            shown = _("Long-term memory now uses {backend} — but it can't be reached yet: {reason}.").format(
                backend=backend.label(), reason=getattr(exc, "message", type(exc).__name__)
            )
        await reply(ctx, shown)

    @MemoryAdminMixin.ai_memory.command(name="embeddings")
    @app_commands.describe(model="endpoint:model, or `default`")
    async def ai_memory_embeddings(self, ctx: commands.Context, model: Optional[str] = None) -> None:
        """Show or choose the embeddings model (owner). Memories stored with another model are kept
        but only recalled again when that model is chosen."""
        service = self.memory_service
        if model is not None:
            await require_owner(ctx)
            service.options.embedding_model = None if model.lower() == "default" else self._model_ref(model)
            await self._save_memory_options()
        await reply(ctx, _("Embeddings model: `{model}`.").format(model=service.embedding_model()))

    @MemoryAdminMixin.ai_memory.command(name="compaction")
    @app_commands.describe(state="on or off", model="endpoint:model for summaries (default: the chat model)")
    async def ai_memory_compaction(
        self, ctx: commands.Context, state: Literal["on", "off"], model: Optional[str] = None
    ) -> None:
        """Fold older messages into a rolling summary instead of dropping them (owner); a cheap
        model can be set for it."""
        await require_owner(ctx)
        service = self.memory_service
        service.set_compaction(state == "on")
        if model is not None:
            service.options.compaction_model = None if model.lower() == "default" else self._model_ref(model)
        await self._save_memory_options()
        if state == "on":
            chosen = service.options.compaction_model or _("the conversation's chat model")
            await reply(ctx, _("Compaction is on, with `{model}`.").format(model=chosen))
        else:
            await reply(ctx, _("Compaction is off."))

    @MemoryAdminMixin.ai_memory.command(name="judge", with_app_command=False)
    async def ai_memory_judge(
        self, ctx: commands.Context, state: Literal["on", "off"], model: Optional[str] = None
    ) -> None:
        """Whether a model decides if a newly remembered fact updates or repeats an older one (owner).

        On (the default), one small call (at most 120 tokens out, counted in usage and budgets) is
        made when a new fact is close to one the member already has; off, or when that call fails,
        rules decide. `model` is `endpoint:model`, or `default` (the compaction model, else the
        global chat model)."""
        await require_owner(ctx)
        service = self.memory_service
        service.options.judge = state == "on"
        if model is not None:
            service.options.judge_model = None if model.lower() == "default" else self._model_ref(model)
        await self._save_memory_options()
        if state == "off":
            await reply(ctx, _("Memory updates are decided by rules only."))
            return
        chosen = service.judge_model()
        if chosen is None:
            await reply(ctx, _("Memory updates will be decided by the global chat model once one is set."))
            return
        await reply(
            ctx,
            _("Memory updates are decided with `{model}`, and by rules when it can't answer.").format(
                model=chosen
            ),
        )
