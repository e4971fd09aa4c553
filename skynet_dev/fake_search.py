"""A local fake of SerpAPI (``/search.json``), SearXNG (``/search``) and Firecrawl v1 (``/v1/…``)
with their documented response shapes, plus an article page; for tests and demos (``api_url``)."""

from __future__ import annotations

from typing import Any, Dict, List

from aiohttp import web


class FakeBackends:
    """One local server playing SerpAPI (/search.json), SearXNG (/search) and Firecrawl (/v1/…)."""

    def __init__(self) -> None:
        self.requests: List[Dict[str, Any]] = []
        self.mode = "ok"
        self.crawl_polls = 0

    async def serpapi(self, request: web.Request) -> web.StreamResponse:
        self.requests.append({"path": request.path, "query": dict(request.query)})
        if self.mode == "error":
            return web.json_response(
                {
                    "error": "Invalid API key. Your API key should be here: "
                    + request.query.get("api_key", "")
                },
                status=401,
            )
        if self.mode == "malformed":
            return web.Response(text="<html>oops</html>", content_type="text/html")
        return web.json_response(
            {
                "search_metadata": {"id": "1", "status": "Success"},
                "search_parameters": {"engine": "google", "q": request.query["q"]},
                "organic_results": [
                    {
                        "position": 1,
                        "title": "Red-DiscordBot",
                        "link": "https://docs.discord.red/",
                        "snippet": "A bot.",
                    },
                    {
                        "position": 2,
                        "title": "Red on GitHub",
                        "link": "https://github.com/Cog-Creators/Red-DiscordBot",
                        "snippet": "Source.",
                    },
                ],
            }
        )

    async def searxng(self, request: web.Request) -> web.StreamResponse:
        self.requests.append({"path": request.path, "query": dict(request.query)})
        if self.mode == "error":
            return web.Response(status=500, text="Internal Server Error")
        return web.json_response(
            {
                "query": request.query["q"],
                "number_of_results": 1,
                "results": [
                    {
                        "url": "https://searx.example/a",
                        "title": "SearX A",
                        "content": "First.",
                        "engine": "duckduckgo",
                        "score": 1.0,
                    },
                    {"title": "no url"},
                ],
                "answers": [],
                "suggestions": [],
                "infoboxes": [],
                "unresponsive_engines": [],
            }
        )

    async def firecrawl(self, request: web.Request) -> web.StreamResponse:
        body = await request.json() if request.method == "POST" else None
        self.requests.append(
            {"path": request.path, "auth": request.headers.get("Authorization"), "body": body}
        )
        if request.path == "/v1/search":
            return web.json_response(
                {
                    "success": True,
                    "data": [
                        {
                            "url": "https://fc.example/1",
                            "title": "FC one",
                            "description": "Found by Firecrawl.",
                        }
                    ],
                }
            )
        if request.path == "/v1/scrape":
            return web.json_response(
                {
                    "success": True,
                    "data": {
                        "markdown": f"# Page\nContent of {body['url']}",
                        "metadata": {"title": "Scraped title", "sourceURL": body["url"], "statusCode": 200},
                    },
                }
            )
        if request.path == "/v1/crawl":
            return web.json_response(
                {"success": True, "id": "123e4567-e89b-12d3-a456-426614174000", "url": "x"}
            )
        if request.path.startswith("/v1/crawl/"):
            self.crawl_polls += 1
            if self.crawl_polls < 2:
                return web.json_response(
                    {"status": "scraping", "total": 2, "completed": 1, "creditsUsed": 1, "data": []}
                )
            docs = [
                {
                    "markdown": f"page {n}",
                    "metadata": {"title": f"P{n}", "sourceURL": f"https://fc.example/{n}", "statusCode": 200},
                }
                for n in (1, 2)
            ]
            return web.json_response(
                {
                    "status": "completed",
                    "total": 2,
                    "completed": 2,
                    "creditsUsed": 2,
                    "expiresAt": "2030-01-01T00:00:00Z",
                    "data": docs,
                }
            )
        return web.json_response({"success": False, "error": "not found"}, status=404)

    async def page(self, request: web.Request) -> web.StreamResponse:
        html = (
            "<html><head><title>Cats and dogs</title></head><body><nav>Menu Home About</nav>"
            "<article><h1>Cats and dogs</h1><p>"
            + "Cats are independent animals that like to sleep. "
            * 8
            + "</p>"
            "<p>"
            + "Dogs are loyal companions who enjoy walks. " * 8
            + "</p></article><footer>© footer</footer></body></html>"
        )
        return web.Response(text=html, content_type="text/html")

    async def __aenter__(self) -> "FakeBackends":
        app = web.Application()
        app.router.add_get("/search.json", self.serpapi)
        app.router.add_get("/search", self.searxng)
        app.router.add_route("*", "/v1/{tail:.*}", self.firecrawl)
        app.router.add_get("/article", self.page)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.cleanup()
