"""A local web server with images and not-images, for the tests of links the cog fetches (persona
avatars): ``/face.png`` (a real PNG), ``/notes.txt``, ``/fake.png`` (text served as image/png),
``/huge.png`` (9 MB), ``/to-private.png`` (a redirect to a private address). 127.0.0.1 only; the
cog's URL guard refuses it unless the owner allow-lists ``127.0.0.1:<port>`` (``[p]ai tools allow``).
"""

from __future__ import annotations

import io
from typing import List

from aiohttp import web
from PIL import Image


def png_bytes(size=(32, 32), color="orange") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


class FakeImages:
    """``async with FakeImages() as server``: ``server.url`` is ``http://127.0.0.1:<port>``;
    ``server.requests`` lists the paths asked for."""

    def __init__(self) -> None:
        self.requests: List[str] = []

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(request.path)
        name = request.match_info["name"]
        if name == "face.png":
            return web.Response(body=png_bytes(), content_type="image/png")
        if name == "notes.txt":
            return web.Response(text="just some notes", content_type="text/plain")
        if name == "fake.png":
            return web.Response(body=b"<html>not an image</html>", content_type="image/png")
        if name == "huge.png":
            return web.Response(body=png_bytes() + b"\0" * (9 * 1024 * 1024), content_type="image/png")
        if name == "to-private.png":
            raise web.HTTPFound("http://10.1.2.3/face.png")
        raise web.HTTPNotFound()

    async def __aenter__(self) -> "FakeImages":
        app = web.Application()
        app.router.add_get("/{name}", self._serve)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"
        self.host = self.url.removeprefix("http://")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.cleanup()
