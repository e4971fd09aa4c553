"""The message store of the fake Discord: sends, edits and deletes through any route, and channel webhooks."""

from __future__ import annotations

import copy
import time
from typing import Any, List, Optional

import discord
from discord.ext.test import backend as dpy_backend
from discord.ext.test import factories as dpy_factories

from .events import BotEvent, BotMessage, Via
from .shared import _EPHEMERAL, _LOADING, _http_error, _Interaction, _now_iso


class HarnessMessages:
    """Part of :class:`RedHarness`: messages as Discord would keep them."""

    # ----------------------------------------------------------------------------------------
    # the fake Discord: messages
    # ----------------------------------------------------------------------------------------

    def _stored_message(self, channel_id: int, message_id: int) -> dict:
        """dpytest's stored payload of a message (edits are merged into this very dict)."""
        for data in dpy_backend._cur_config.messages.get(channel_id, []):
            if int(data["id"]) == message_id:
                return data
        raise _http_error(discord.NotFound, 404, 10008, "Unknown Message")

    def _on_send(
        self, channel_id: int, data: dict, sent: dict, *, via: Via, interaction_id: Optional[int] = None
    ) -> None:
        """Record that message ``data`` (the stored payload) appeared; ``sent``: the bot's body."""
        message_id = int(data["id"])
        self._message_data[message_id] = data
        content, embeds = data.get("content") or "", list(data.get("embeds") or [])
        ephemeral = bool(int(data.get("flags") or 0) & _EPHEMERAL)
        message = self._messages.get(message_id)
        if message is not None:  # a "thinking" placeholder gets its content
            message.content, message.embeds, message.loading = content, embeds, False
        else:
            self._messages[message_id] = BotMessage(
                message_id,
                channel_id,
                content,
                embeds,
                via=via,
                ephemeral=ephemeral,
                interaction_id=interaction_id,
            )
        self._record(
            BotEvent(
                "send",
                channel_id,
                message_id,
                content,
                sent.get("allowed_mentions"),
                time.monotonic(),
                sent,
                via=via,
                ephemeral=ephemeral,
                interaction_id=interaction_id,
            )
        )

    def _edit_message(
        self,
        channel_id: int,
        message_id: int,
        sent: dict,
        *,
        via: Via = "channel",
        webhook_id: Optional[int] = None,
    ) -> dict:
        """Edit a message as the bot, or as the channel webhook ``webhook_id`` (its own messages only)."""
        data = self._message_data.get(message_id) or self._stored_message(channel_id, message_id)
        if getattr(self._messages.get(message_id), "deleted", False):
            raise _http_error(discord.NotFound, 404, 10008, "Unknown Message")
        if webhook_id is not None:
            if int(data.get("webhook_id") or 0) != webhook_id:
                raise _http_error(discord.NotFound, 404, 10008, "Unknown Message")
        elif int(data["author"]["id"]) != self.bot.user.id:
            raise _http_error(discord.Forbidden, 403, 50005, "Cannot edit a message authored by another user")
        for key in ("content", "embeds", "components", "flags", "poll"):
            if key in sent:
                data[key] = sent[key]
        data["content"] = data.get("content") or ""
        data["edited_timestamp"] = _now_iso()
        message = self._messages.get(message_id)
        if message is not None:
            message.content, message.embeds = data["content"], list(data.get("embeds") or [])
            message.edits += 1
        self._record(
            BotEvent(
                "edit",
                int(data.get("channel_id", channel_id)),
                message_id,
                data["content"],
                sent.get("allowed_mentions"),
                time.monotonic(),
                sent,
                via=via,
                ephemeral=bool(message and message.ephemeral),
                interaction_id=message.interaction_id if message else None,
            )
        )
        return copy.deepcopy(data)

    def _delete_message(self, channel_id: int, message_id: int, *, via: Via = "channel") -> None:
        stored = dpy_backend._cur_config.messages.get(channel_id, [])
        index = next((i for i, d in enumerate(stored) if int(d["id"]) == message_id), None)
        record = self._messages.get(message_id)
        if index is None and record is None:
            raise _http_error(discord.NotFound, 404, 10008, "Unknown Message")
        if index is not None:
            del stored[index]
            channel = self.bot.get_channel(channel_id)
            payload = {"id": message_id, "channel_id": channel_id}
            if getattr(channel, "guild", None) is not None:
                payload["guild_id"] = channel.guild.id
            self.bot._connection.parse_message_delete(payload)
        if record is not None:
            record.deleted = True
        now = time.monotonic()
        self._record(BotEvent("delete", channel_id, message_id, None, None, now, {}, via=via))

    def _create_message(
        self, record: _Interaction, sent: dict, *, ephemeral: bool, loading: bool = False
    ) -> dict:
        """A message posted through an interaction (original response or followup)."""
        channel = self.bot.get_channel(record.channel_id)
        content = sent.get("content") or ""
        mentions = [m for m in dpy_backend.find_user_mentions(content, channel.guild) if m is not None]
        data = dpy_factories.make_message_dict(
            channel,
            self.bot.user,
            content=content,
            mentions=mentions,
            mention_roles=dpy_backend.find_role_mentions(content, channel.guild),
            guild_id=channel.guild.id,
            webhook_id=self.bot.application_id,
        )
        data["embeds"] = list(sent.get("embeds") or [])
        flags = int(sent.get("flags") or 0) & ~_EPHEMERAL
        data["flags"] = flags | (_EPHEMERAL if ephemeral else 0) | (_LOADING if loading else 0)
        data["application_id"] = self.bot.application_id
        if not ephemeral:  # ephemeral messages are not in the channel (nor sent to the gateway)
            dpy_backend._cur_config.messages.setdefault(channel.id, []).append(data)
            self.bot._connection.parse_message_create(copy.copy(data))
        self._message_data[int(data["id"])] = data
        return data

    # -- channel webhooks (created with channel.create_webhook, executed and edited by token) --

    def _list_webhooks(self, channel_id: int) -> List[dict]:
        return [
            copy.deepcopy(w) for w in self.channel_webhooks.values() if int(w["channel_id"]) == channel_id
        ]

    def _new_webhook(self, channel_id: int, name: str) -> dict:
        if self.deny_webhooks:
            raise _http_error(discord.Forbidden, 403, 50013, "Missing Permissions")
        channel = self.bot.get_channel(channel_id)
        token = f"webhook-token-{dpy_factories.make_id()}"
        data = {
            "id": str(dpy_factories.make_id()),
            "type": 1,
            "channel_id": str(channel_id),
            "guild_id": str(channel.guild.id),
            "name": name,
            "avatar": None,
            "token": token,
            "application_id": None,
            "user": dpy_factories.dict_from_user(self.bot.user),
        }
        self.channel_webhooks[token] = data
        return copy.deepcopy(data)

    def delete_webhooks(self) -> None:
        """Someone deletes every channel webhook (messages sent through them stay)."""
        self.channel_webhooks.clear()

    def _channel_webhook_request(self, route: Any, body: dict, params: dict) -> Any:
        hook = self.channel_webhooks.get(route.webhook_token)
        if hook is None:
            raise _http_error(discord.NotFound, 404, 10015, "Unknown Webhook")
        channel_id = int(params.get("thread_id") or hook["channel_id"])
        method, path = route.method, route.path
        thread_id = params.get("thread_id")
        self.webhook_requests.append((method, int(hook["channel_id"]), int(thread_id) if thread_id else None))
        if path == "/webhooks/{webhook_id}/{webhook_token}" and method == "POST":
            username = (body.get("username") or "").casefold()
            if "discord" in username or "clyde" in username:  # as Discord: 400 Invalid Form Body
                raise _http_error(discord.HTTPException, 400, 50035, "Invalid Form Body")
            channel = self.bot.get_channel(channel_id)
            content = body.get("content") or ""
            data = dpy_factories.make_message_dict(
                channel, self.bot.user, content=content, guild_id=channel.guild.id, webhook_id=int(hook["id"])
            )
            # As on Discord: the author is the webhook itself (its id, the name it was given), not the bot.
            data["author"] = {
                **data["author"],
                "id": hook["id"],
                "username": body.get("username") or hook["name"],
                "bot": True,
                "discriminator": "0000",
            }
            data["embeds"] = list(body.get("embeds") or [])
            dpy_backend._cur_config.messages.setdefault(channel_id, []).append(data)
            self.bot._connection.parse_message_create(copy.copy(data))
            self._message_data[int(data["id"])] = data
            self._on_send(channel_id, data, body, via="webhook")
            return copy.deepcopy(data) if params.get("wait") else None
        if path.startswith("/webhooks/{webhook_id}/{webhook_token}/messages/"):
            message_id = int(route.url.rsplit("/", 1)[1].split("?")[0])
            if method == "PATCH":
                return self._edit_message(
                    channel_id, message_id, body, via="webhook", webhook_id=int(hook["id"])
                )
            if method == "DELETE":
                self._delete_message(channel_id, message_id, via="webhook")
                return None
        raise NotImplementedError(f"The harness has no fake for {method} {path}")
