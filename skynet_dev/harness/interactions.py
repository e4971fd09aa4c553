"""Slash commands and autocomplete as real interaction payloads, and Discord's interaction endpoints."""

from __future__ import annotations

import asyncio
import copy
import secrets
import time
from pathlib import Path
from typing import Any, Dict, Optional

import discord
from discord import app_commands
from discord.ext.test import factories as dpy_factories
from discord.ext.test import runner as dpy_runner

from .events import BotEvent, BotMessage, Via
from .shared import (
    _CALLBACK_AUTOCOMPLETE,
    _CALLBACK_DEFER,
    _CALLBACK_MESSAGE,
    _EPHEMERAL,
    _LOADING,
    _OPTION_SUBCOMMAND,
    _OPTION_SUBCOMMAND_GROUP,
    _PLAIN_OPTION_TYPES,
    _http_error,
    _Interaction,
    _json_payload,
)


class HarnessInteractions:
    """Part of :class:`RedHarness`: interactions and their responses."""

    # ----------------------------------------------------------------------------------------
    # the fake Discord: application commands and interactions
    # ----------------------------------------------------------------------------------------

    def _synced_command(self, application_id: int, command: dict) -> dict:
        command_id = self._command_ids.setdefault(command["name"], dpy_factories.make_id())
        return {**command, "id": str(command_id), "application_id": str(application_id), "version": "1"}

    def _app_command(self, qualified_name: str) -> app_commands.Command:
        root_name, *rest = qualified_name.split()
        command: Any = self.bot.tree.get_command(root_name)
        if command is None:
            hint = ""
            if root_name in self.bot.tree._disabled_global_commands:
                hint = f": it is not enabled, call enable_slash({root_name!r})"
            raise LookupError(f"No application command {root_name!r} in the tree{hint}")
        for part in rest:
            sub = command.get_command(part) if isinstance(command, app_commands.Group) else None
            if sub is None:
                raise LookupError(f"No application subcommand {part!r} in {command.qualified_name!r}")
            command = sub
        if isinstance(command, app_commands.Group):
            raise LookupError(f"{qualified_name!r} is a group: Discord only invokes its subcommands")
        return command

    def _command_data(
        self,
        command: app_commands.Command,
        options: Dict[str, Any],
        focused: Optional[str],
        channel: discord.TextChannel,
    ) -> dict:
        """The ``data`` of an application command interaction, with options nested under groups.

        Options given as None are left out (as Discord does for an optional option not filled).
        """
        options = {name: value for name, value in options.items() if value is not None}
        params = {}
        for param in command.parameters:
            params[param.name] = params[param.display_name] = param
        unknown = set(options) - set(params)
        if unknown:
            raise TypeError(f"{command.qualified_name!r} has no option(s) {sorted(unknown)}")
        if focused is None:
            given = {params[name].name for name in options}
            missing = [p.display_name for p in command.parameters if p.required and p.name not in given]
            if missing:
                raise TypeError(f"{command.qualified_name!r} needs option(s) {missing}")
        resolved: Dict[str, Dict[str, dict]] = {}
        leaf = [
            self._option(params[name], value, resolved, focused == name, channel)
            for name, value in options.items()
        ]

        node: Any = command
        while node.parent is not None:  # wrap in SUB_COMMAND, then SUB_COMMAND_GROUP(s)
            kind = _OPTION_SUBCOMMAND if node is command else _OPTION_SUBCOMMAND_GROUP
            leaf = [{"type": kind, "name": node.name, "options": leaf}]
            node = node.parent
        data = {
            "id": str(self._command_ids.setdefault(node.name, dpy_factories.make_id())),
            "name": node.name,
            "type": discord.AppCommandType.chat_input.value,
            "options": leaf,
        }
        if resolved:
            data["resolved"] = resolved
        return data

    def _option(
        self,
        param: app_commands.Parameter,
        value: Any,
        resolved: Dict[str, Dict[str, dict]],
        focused: bool,
        channel: discord.TextChannel,
    ) -> dict:
        """One option of the payload; objects go by id with their data in ``resolved``."""
        option: Dict[str, Any] = {"type": param.type.value, "name": param.display_name}
        kind = param.type
        if focused:  # Discord sends what the user typed so far, as a string
            option.update(value=str(value), focused=True)
        elif kind in _PLAIN_OPTION_TYPES:
            option["value"] = value
        elif isinstance(value, discord.Member):
            resolved.setdefault("users", {})[str(value.id)] = dpy_factories.dict_from_user(value._user)
            member = self._member_payload(value, channel)
            del member["user"]
            resolved.setdefault("members", {})[str(value.id)] = member
            option["value"] = str(value.id)
        elif isinstance(value, discord.abc.User):
            resolved.setdefault("users", {})[str(value.id)] = dpy_factories.dict_from_user(value)
            option["value"] = str(value.id)
        elif isinstance(value, discord.Role):
            resolved.setdefault("roles", {})[str(value.id)] = dpy_factories.dict_from_role(value)
            option["value"] = str(value.id)
        elif kind is discord.AppCommandOptionType.attachment:  # a file the member uploaded
            path = Path(value)
            uri = path.absolute().as_uri()
            attachment = dpy_factories.make_attachment_dict(path.name, path.stat().st_size, uri, uri)
            attachment["id"] = str(attachment["id"])
            resolved.setdefault("attachments", {})[attachment["id"]] = attachment
            option["value"] = attachment["id"]
        elif isinstance(value, discord.abc.GuildChannel):
            me = value.guild.me
            resolved.setdefault("channels", {})[str(value.id)] = {
                "id": str(value.id),
                "type": value.type.value,
                "name": value.name,
                "permissions": str(value.permissions_for(me).value),
                "guild_id": str(value.guild.id),
            }
            option["value"] = str(value.id)
        else:
            raise TypeError(f"Unsupported value {value!r} for option {param.display_name!r} ({kind.name})")
        return option

    def _member_payload(self, member: discord.Member, channel: discord.abc.GuildChannel) -> dict:
        return {
            "user": dpy_factories.dict_from_user(member._user),
            "roles": [str(role.id) for role in member.roles if not role.is_default()],
            "nick": member.nick,
            "joined_at": member.joined_at.isoformat() if member.joined_at else None,
            "flags": member.flags.value,
            "deaf": False,
            "mute": False,
            "permissions": str(channel.permissions_for(member).value),
        }

    async def _send_interaction(
        self,
        interaction_type: int,
        data: dict,
        author: discord.Member,
        channel: discord.TextChannel,
        *,
        wait: bool = True,
    ) -> discord.Interaction:
        state = self.bot._connection
        # The id must be a *recent* snowflake: discord.py derives the 15-minute expiry from it and
        # falls back to channel.send() for an "expired" interaction.
        record = _Interaction(
            id=dpy_factories.make_id(),
            token=secrets.token_urlsafe(24),
            type=interaction_type,
            channel_id=channel.id,
            created=time.monotonic(),
        )
        self._interactions[record.token] = record
        payload = {
            "id": str(record.id),
            "application_id": str(self.bot.application_id),
            "type": interaction_type,
            "token": record.token,
            "version": 1,
            "guild_id": str(channel.guild.id),
            "channel_id": str(channel.id),
            "channel": {
                "id": str(channel.id),
                "type": channel.type.value,
                "name": channel.name,
                "guild_id": str(channel.guild.id),
            },
            "member": self._member_payload(author, channel),
            "data": data,
            "locale": "en-US",
            "guild_locale": "en-US",
            "app_permissions": str(channel.permissions_for(channel.guild.me).value),
            "attachment_size_limit": 8 * 1024 * 1024,
            "authorizing_integration_owners": {"0": str(channel.guild.id)},
            "context": 0,
            "entitlements": [],
        }
        # What ConnectionState.parse_interaction_create does for application commands and
        # autocomplete, unrolled to get hold of the Interaction and of the tree's task (it is not
        # one of dpytest's "_run_event" tasks, so run_all_events() would not wait for it).
        interaction = discord.Interaction(data=payload, state=state)
        before = asyncio.all_tasks()
        state._command_tree._from_interaction(interaction)
        state.dispatch("interaction", interaction)
        invokers = [t for t in asyncio.all_tasks() - before if t.get_name() == "CommandTree-invoker"]
        if wait:
            if invokers:
                await asyncio.gather(*invokers)
            await dpy_runner.run_all_events()
        return interaction

    def _interaction_for(self, route: Any) -> _Interaction:
        record = self._interactions.get(route.webhook_token)
        if record is None:
            raise _http_error(discord.NotFound, 404, 10015, "Unknown Webhook")
        return record

    async def _webhook_request(
        self, route: Any, *, payload: Optional[dict] = None, multipart: Optional[list] = None, **_: Any
    ) -> Any:
        """Discord's interaction callback and webhook (followup) endpoints, for our interactions."""
        if route.webhook_token not in self._interactions and route.path.startswith("/webhooks/"):
            return self._channel_webhook_request(
                route, _json_payload(payload, multipart), _.get("params") or {}
            )
        record = self._interaction_for(route)
        body = _json_payload(payload, multipart)
        method, path = route.method, route.path
        self.limits.check_body(body.get("data") or {} if "/callback" in path else body)
        if path == "/interactions/{webhook_id}/{webhook_token}/callback" and method == "POST":
            return self._interaction_callback(record, body)
        if path == "/webhooks/{webhook_id}/{webhook_token}" and method == "POST":
            return self._followup(record, body)
        if path.startswith("/webhooks/{webhook_id}/{webhook_token}/messages/"):
            ref = route.url.rsplit("/", 1)[1]
            if ref == "@original":
                if record.original_id is None:
                    raise _http_error(discord.NotFound, 404, 10008, "Unknown Message")
                message_id = record.original_id
            else:
                message_id = int(ref)
            data, message = self._message_data.get(message_id), self._messages.get(message_id)
            if data is None or message is None or message.interaction_id != record.id:
                raise _http_error(discord.NotFound, 404, 10008, "Unknown Message")
            if method == "GET":
                return copy.deepcopy(data)
            via: Via = "interaction" if ref == "@original" else "followup"
            if method == "PATCH":
                if message.loading:  # editing the "thinking" response answers it
                    return self._fill_placeholder(record, body, via=via)
                return self._edit_message(record.channel_id, message_id, body, via=via)
            if method == "DELETE":
                self._delete_message(record.channel_id, message_id, via=via)
                return None
        raise NotImplementedError(f"The harness has no fake for {method} {path}")

    def _interaction_callback(self, record: _Interaction, body: dict) -> dict:
        callback_type = body.get("type")
        sent = dict(body.get("data") or {})
        if record.response_type is not None:
            raise _http_error(discord.HTTPException, 400, 40060, "Interaction has already been acknowledged.")
        deadline = self.interaction_ack_timeout
        if deadline is not None and time.monotonic() - record.created > deadline:
            raise _http_error(discord.NotFound, 404, 10062, "Unknown interaction")
        record.response_type = callback_type
        ephemeral = bool(int(sent.get("flags") or 0) & _EPHEMERAL)
        response: Dict[str, Any] = {
            "interaction": {
                "id": str(record.id),
                "type": record.type,
                "response_message_loading": False,
                "response_message_ephemeral": ephemeral,
            }
        }
        now = time.monotonic()
        raw = {**sent, "callback_type": callback_type}
        if callback_type == _CALLBACK_MESSAGE:
            data = self._create_message(record, sent, ephemeral=ephemeral)
            record.original_id = int(data["id"])
            self._on_send(record.channel_id, data, sent, via="interaction", interaction_id=record.id)
            response["interaction"]["response_message_id"] = str(record.original_id)
            response["resource"] = {"type": callback_type, "message": copy.deepcopy(data)}
        elif callback_type == _CALLBACK_DEFER:
            # Discord shows a "Bot is thinking..." message; the first followup (or an edit of the
            # original response) turns it into the answer, keeping its id and ephemerality.
            data = self._create_message(record, {}, ephemeral=ephemeral, loading=True)
            record.original_id = int(data["id"])
            self._messages[record.original_id] = BotMessage(
                record.original_id,
                record.channel_id,
                "",
                [],
                via="interaction",
                ephemeral=ephemeral,
                loading=True,
                interaction_id=record.id,
            )
            response["interaction"].update(
                response_message_id=str(record.original_id), response_message_loading=True
            )
            response["resource"] = {"type": callback_type}
            self._record(
                BotEvent(
                    "defer",
                    record.channel_id,
                    record.original_id,
                    None,
                    None,
                    now,
                    raw,
                    via="interaction",
                    ephemeral=ephemeral,
                    interaction_id=record.id,
                )
            )
        else:
            if callback_type == _CALLBACK_AUTOCOMPLETE:
                record.autocomplete_choices = list(sent.get("choices") or [])
            kind = "autocomplete" if callback_type == _CALLBACK_AUTOCOMPLETE else "interaction_response"
            self._record(
                BotEvent(
                    kind,
                    record.channel_id,
                    None,
                    None,
                    None,
                    now,
                    raw,
                    via="interaction",
                    interaction_id=record.id,
                )
            )
        return response

    def _followup(self, record: _Interaction, body: dict) -> dict:
        if record.response_type is None:
            raise _http_error(discord.NotFound, 404, 10015, "Unknown Webhook")
        original = self._messages.get(record.original_id) if record.original_id else None
        if original is not None and original.loading:
            return self._fill_placeholder(record, body, via="followup")
        ephemeral = bool(int(body.get("flags") or 0) & _EPHEMERAL)
        data = self._create_message(record, body, ephemeral=ephemeral)
        self._on_send(record.channel_id, data, body, via="followup", interaction_id=record.id)
        return copy.deepcopy(data)

    def _fill_placeholder(self, record: _Interaction, body: dict, *, via: Via) -> dict:
        data = self._message_data[record.original_id]
        data["content"] = body.get("content") or ""
        data["embeds"] = list(body.get("embeds") or [])
        for key in ("components", "poll"):
            if key in body:
                data[key] = body[key]
        data["flags"] = int(data.get("flags") or 0) & ~_LOADING  # ephemerality was set by the defer
        self._on_send(record.channel_id, data, body, via=via, interaction_id=record.id)
        return copy.deepcopy(data)
