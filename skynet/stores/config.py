"""Red ``Config`` registration: every default in one place, with a schema version."""

from __future__ import annotations

import logging

from redbot.core import Config

from ..engine.providers.base import DEFAULT_TIMEOUT
from .usage import UsageStore, move_usage_out_of_config

log = logging.getLogger("red.skynet.config")

CONFIG_IDENTIFIER = 0x5C7E_2002
SCHEMA_VERSION = 2

DEFAULT_MODEL = {"endpoint": "openai", "name": "gpt-4o-mini"}
BUILTIN_ENDPOINTS = {
    "openai": {
        "base_url": "https://api.openai.com/v1",
        "token_service": "openai",
        "timeout": DEFAULT_TIMEOUT,
    },
}

# The "usage" keys below are schema 1 only: since schema 2 usage counters live in the cog's
# usage.sqlite3 (skynet/stores/usage.py); migration step 2 moves them and removes these values.
GLOBAL_DEFAULTS = {
    "schema_version": 0,  # 0 = nothing stored yet; migrate() brings it to SCHEMA_VERSION
    "model": DEFAULT_MODEL,
    "params": {},
    "endpoints": BUILTIN_ENDPOINTS,
    "pricing": {},  # model -> [USD per 1M input tokens, USD per 1M output tokens]
    "pricing_providers": {},  # endpoint -> genai-prices provider id ("" = not priced from it)
    "usage": {},  # Counters, all servers and DMs
    "tools": {},  # tool name -> enabled (bool); see engine/tools/switches.py
    "tool_config": {},  # owner: {"search": backend, "scrape": backend, "steps": int, "allow": [host[:port]]}
    "tool_stats": {},  # telemetry per tool, flushed in batches
    "fallbacks": None,  # ordered [{"endpoint", "name"}] tried when the model is unavailable
}
GUILD_DEFAULTS = {"model": None, "params": {}, "usage": {}}
GUILD_DEFAULTS.update(governance={}, budget_usage={})  # listening, budgets, rate limits, tool policies
CHANNEL_DEFAULTS = {"model": None, "params": {}}
GUILD_DEFAULTS["fallbacks"] = CHANNEL_DEFAULTS["fallbacks"] = None  # see GLOBAL_DEFAULTS
MEMBER_DEFAULTS = {"usage": {}}  # a user's usage in one server
USER_DEFAULTS = {"usage": {}}  # a user's usage in DMs
GUILD_DEFAULTS["tools"] = {}  # tool on/off switches of a server (engine/tools/switches.py)
CHANNEL_DEFAULTS["tools"] = {}  # tool on/off switches of a channel

# Memory (docs/memory.md): owner options (backend, embeddings, compaction), window policies per
# server and channel, members in incognito mode.
GLOBAL_DEFAULTS["memory"] = {}
GUILD_DEFAULTS["memory_policy"] = {}
CHANNEL_DEFAULTS["memory_policy"] = {}
USER_DEFAULTS["incognito"] = False
GLOBAL_DEFAULTS["vision"] = {}  # "endpoint:model" -> bool: owner overrides of the vision table
USER_DEFAULTS["voice_replies"] = None  # media: a member's own choice of spoken answers (None: the server's)
# the channel assistant (commands/channels/store.py): schedules, threads, auto-answer; own keys
GUILD_DEFAULTS["channel_assistant"] = {}
USER_DEFAULTS["own_key"] = {}  # a member's own provider key, sealed (never in clear)
GLOBAL_DEFAULTS["own_keys_allowed"] = False


def make_config(cog: object) -> Config:
    config = Config.get_conf(cog, identifier=CONFIG_IDENTIFIER, force_registration=True)
    config.register_global(**GLOBAL_DEFAULTS)
    config.register_guild(**GUILD_DEFAULTS)
    config.register_channel(**CHANNEL_DEFAULTS)
    config.register_member(**MEMBER_DEFAULTS)
    config.register_user(**USER_DEFAULTS)
    config.init_custom("skynet_media", 1)  # media: per server (or 0 for DMs), the daily image counts
    config.register_custom("skynet_media", image_counts={})
    return config


async def migrate(config: Config, usage: UsageStore) -> None:
    """Bring stored data up to ``SCHEMA_VERSION`` (each step upgrades one version)."""
    version = await config.schema_version()
    if version > SCHEMA_VERSION:
        log.warning("Stored data has schema %s, newer than this cog (%s).", version, SCHEMA_VERSION)
        return
    if version < 1:
        pass  # first install: defaults are already what version 1 expects
    if version < 2:
        await move_usage_out_of_config(config, usage)
    if version != SCHEMA_VERSION:
        await config.schema_version.set(SCHEMA_VERSION)

# Personas, prompt variables and DMs (docs/personas.md). Active persona names per scope; stored
# personas by lower-case name; ``myprompt`` is a member's own instructions (all their requests).
GLOBAL_DEFAULTS.update(personas={}, persona=None, dm={"enabled": True, "shared_server": False})
GUILD_DEFAULTS.update(personas={}, persona=None, timezone="UTC")
CHANNEL_DEFAULTS.update(persona=None)
USER_DEFAULTS.update(myprompt=None, persona=None)
# Budgets and rate limits in DMs, set by the owner: the same shapes as a server's governance and
# budget_usage (skynet/stores/governance.py).
GLOBAL_DEFAULTS.update(dm_governance={}, dm_budget_usage={})

# The owner's caps on what one answer may post (docs/reliability.md): {"messages", "characters"}.
GLOBAL_DEFAULTS["answer_bounds"] = {}
# Privacy (docs/privacy.md): consent modes (the owner's default, each server's), channels where
# nothing is kept, moderation settings per server, the audit log's retention; each member's
# consent time in a server (member) and in DMs (user).
GLOBAL_DEFAULTS.update(privacy={"consent_default": "off", "audit_days": 90})
GUILD_DEFAULTS.update(privacy={"consent_mode": None, "excluded": []}, moderation={})
MEMBER_DEFAULTS.update(consent_at=None)
USER_DEFAULTS.update(consent_at=None)
# MCP servers (docs/mcp.md), registered by the owner: name -> settings (command or URL, timeout,
# last known tool list); secrets are shared API tokens `mcp-<name>`, never here. The bound on
# tool schemas offered per request.
GLOBAL_DEFAULTS.update(mcp_servers={}, mcp_limits={})
# The web panel (skynet/panel): off by default; 127.0.0.1:8765 unless the owner says otherwise.
GLOBAL_DEFAULTS["panel"] = {"enabled": False, "host": "127.0.0.1", "port": 8765, "public_url": None}
