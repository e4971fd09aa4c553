"""A local OpenAI-compatible moderation server (``POST /v1/moderations``) with the documented
``omni-moderation-latest`` response shape, for the moderation tests and the console.

Scores come from trigger words (``FakeModeration.triggers``: word -> {category: score}; by default
"kill" scores violence 0.85, "idiot" harassment 0.6, "hate" hate 0.9, "meh" harassment 0.3) and
image URLs containing "gore" (violence/graphic 0.95). A result is ``flagged`` when any score
reaches 0.5, as the real endpoint roughly does.

Outage modes (``server.outage``): ``"500"`` answers HTTP 500, ``"429"`` HTTP 429, ``"garbage"``
answers 200 with a web page, ``"hang"`` never answers (the client's timeout fires), ``None`` is
healthy. 127.0.0.1 only. ``python -m skynet_dev.fake_moderation [--port N]`` serves it by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
from typing import Any, Dict, List, Optional

from aiohttp import web

CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)
IMAGE_CATEGORIES = {"self-harm", "self-harm/instructions", "self-harm/intent", "sexual", "violence", "violence/graphic"}
DEFAULT_TRIGGERS: Dict[str, Dict[str, float]] = {
    "kill": {"violence": 0.85},
    "idiot": {"harassment": 0.6},
    "hate": {"hate": 0.9},
    "meh": {"harassment": 0.3},
}
FLAG_AT = 0.5


class FakeModeration:
    """``async with FakeModeration() as server``: ``server.url`` is ``http://127.0.0.1:<port>/v1``;
    ``server.requests`` lists the JSON bodies received, ``server.authorized`` whether each carried
    a bearer token."""

    def __init__(self) -> None:
        self.triggers: Dict[str, Dict[str, float]] = {k: dict(v) for k, v in DEFAULT_TRIGGERS.items()}
        self.outage: Optional[str] = None
        self.requests: List[Dict[str, Any]] = []
        self.authorized: List[bool] = []
        self._ids = itertools.count(1)

    def _result(self, item: Any) -> Dict[str, Any]:
        texts, images = [], []
        for part in item if isinstance(item, list) else [item]:
            if isinstance(part, str):
                texts.append(part)
            elif part.get("type") == "text":
                texts.append(part.get("text", ""))
            elif part.get("type") == "image_url":
                images.append(part.get("image_url", {}).get("url", ""))
        scores = {name: 0.0001 for name in CATEGORIES}
        applied: Dict[str, List[str]] = {name: [] for name in CATEGORIES}
        words = " ".join(texts).lower()
        for word, found in self.triggers.items():
            if word in words:
                for name, score in found.items():
                    scores[name] = max(scores[name], score)
        for name in CATEGORIES:
            if texts:
                applied[name].append("text")
            if images and name in IMAGE_CATEGORIES:
                applied[name].append("image")
        if any("gore" in url for url in images):
            scores["violence/graphic"] = 0.95
        categories = {name: scores[name] >= FLAG_AT for name in CATEGORIES}
        return {
            "flagged": any(categories.values()),
            "categories": categories,
            "category_scores": scores,
            "category_applied_input_types": applied,
        }

    async def _moderate(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        self.authorized.append(request.headers.get("Authorization", "").startswith("Bearer "))
        if self.outage == "hang":
            await asyncio.sleep(3600)
        if self.outage in ("500", "429"):
            return web.json_response(
                {"error": {"message": "unavailable", "type": "server_error"}}, status=int(self.outage)
            )
        if self.outage == "garbage":
            return web.Response(text="<html>maintenance</html>", content_type="text/html")
        given = body.get("input")
        # A list of strings is several inputs; a list of typed parts is one multimodal input.
        if isinstance(given, list) and all(isinstance(x, str) for x in given):
            inputs: List[Any] = given
        else:
            inputs = [given]
        return web.json_response(
            {
                "id": f"modr-{next(self._ids)}",
                "model": body.get("model", "omni-moderation-latest"),
                "results": [self._result(item) for item in inputs],
            }
        )

    async def __aenter__(self) -> "FakeModeration":
        await self.start()
        return self

    async def start(self, port: int = 0) -> None:
        app = web.Application()
        app.router.add_post("/v1/moderations", self._moderate)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}/v1"

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.cleanup()


async def _main(port: int) -> None:
    server = FakeModeration()
    await server.start(port)
    print(f"Fake moderation endpoint at {server.url}")
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8091)
    asyncio.run(_main(parser.parse_args().port))
