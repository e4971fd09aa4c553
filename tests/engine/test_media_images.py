"""Drawing through each documented response shape (skynet.engine.media.images) against a local
server, over real HTTP through the openai SDK: the images API's b64 and URL answers (the link is
fetched through the URL guard), image-to-image (multipart edit), chat completions with image output
(OpenRouter's `modalities`), AUTOMATIC1111's txt2img and img2img JSON, and a content-policy refusal
as a clear notice."""

from __future__ import annotations

import io

import openai
import pytest
from PIL import Image

from skynet.engine.errors import InvalidValue
from skynet.engine.media.images import (
    A1111,
    CHAT,
    IMAGES,
    ContentRefused,
    ImageJob,
    NoImage,
    draw,
    parse_size,
    split_options,
)
from skynet.engine.tools.guard import Refused, UrlGuard
from skynet_dev.fake_media import FakeMedia, png_bytes


@pytest.fixture
async def server():
    async with FakeMedia() as media:
        yield media


def client_for(url: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=url, api_key="sk-test", max_retries=0)


async def no_fetch(url: str) -> bytes:
    raise AssertionError(f"nothing should be fetched, got {url}")


def decodes(data: bytes) -> tuple:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image.size


async def test_images_api_b64_answer(server):
    image = await draw(
        client_for(server.base_url),
        IMAGES,
        "gpt-image-1",
        ImageJob("a cat", "1024x1024", "low"),
        fetch=no_fetch,
    )
    assert image.mime == "image/png" and decodes(image.data) == (64, 64)
    assert image.tokens == 284  # gpt-image-1 reports its tokens
    sent = server.requests[-1][1]
    assert sent["prompt"] == "a cat" and sent["size"] == "1024x1024" and sent["quality"] == "low"


async def test_images_api_url_answer_is_fetched_through_the_url_guard(server):
    server.image_answer = "url"
    guard = UrlGuard(allow=[server.host])

    async def fetch(url: str) -> bytes:
        return (await guard.fetch(url, accept_binary=True)).body

    try:
        image = await draw(client_for(server.base_url), IMAGES, "dall-e-3", ImageJob("a dog"), fetch=fetch)
    finally:
        await guard.aclose()
    assert decodes(image.data) == (64, 64)
    assert image.revised_prompt == "A picture of a dog"
    assert server.paths()[-1].startswith("/files/")


async def test_a_url_answer_pointing_somewhere_private_is_refused(server):
    server.image_answer = "url"
    guard = UrlGuard()  # 127.0.0.1 not allow-listed

    async def fetch(url: str) -> bytes:
        return (await guard.fetch(url, accept_binary=True)).body

    try:
        with pytest.raises(Refused):
            await draw(client_for(server.base_url), IMAGES, "dall-e-3", ImageJob("a dog"), fetch=fetch)
    finally:
        await guard.aclose()


async def test_image_to_image_uploads_the_source_as_multipart(server):
    image = await draw(
        client_for(server.base_url),
        IMAGES,
        "gpt-image-1",
        ImageJob("make it purple", source=png_bytes()),
        fetch=no_fetch,
    )
    path, fields = server.requests[-1]
    assert path == "/v1/images/edits" and fields["prompt"] == "make it purple"
    assert decodes(image.data) == (64, 64)


async def test_chat_completions_image_output(server):
    image = await draw(
        client_for(server.base_url),
        CHAT,
        "google/gemini-2.5-flash-image",
        ImageJob("a tree", "1536x1024", source=png_bytes()),
        fetch=no_fetch,
    )
    assert image.mime == "image/png" and image.tokens == 1300
    body = server.requests[-1][1]
    assert body["modalities"] == ["image", "text"]
    assert body["image_config"] == {"aspect_ratio": "3:2"}
    assert body["messages"][0]["content"][1]["image_url"]["url"].startswith("data:image/png;base64,")


async def test_a_chat_model_answering_only_text_says_so(server):
    server.chat_without_image = True
    with pytest.raises(NoImage, match="only write text"):
        await draw(client_for(server.base_url), CHAT, "gpt-test", ImageJob("a tree"), fetch=no_fetch)


async def test_automatic1111_txt2img_and_img2img(server):
    # The owner may give A1111's root or a URL ending in /v1: both reach /sdapi/v1/...
    for base in (server.root, server.base_url):
        image = await draw(client_for(base), A1111, "default", ImageJob("a boat", "512x768"), fetch=no_fetch)
        assert decodes(image.data) == (64, 64)
        path, body = server.requests[-1]
        assert path == "/sdapi/v1/txt2img" and body["width"] == 512 and body["height"] == 768
    await draw(
        client_for(server.root),
        A1111,
        "sdxl.safetensors",
        ImageJob("redo", source=png_bytes()),
        fetch=no_fetch,
    )
    path, body = server.requests[-1]
    assert path == "/sdapi/v1/img2img" and body["override_settings"] == {
        "sd_model_checkpoint": "sdxl.safetensors"
    }


@pytest.mark.parametrize("api", [IMAGES, CHAT])
async def test_content_policy_refusal_is_a_clear_notice(server, api):
    server.refuse = True
    with pytest.raises(ContentRefused, match="content policy") as info:
        await draw(client_for(server.base_url), api, "dall-e-3", ImageJob("something"), fetch=no_fetch)
    assert "safety system" not in info.value.message  # our notice, not the provider's dump


def test_draw_arguments():
    assert split_options("a red fox in snow 1024x1536 hd".split()) == ("a red fox in snow", "1024x1536", "hd")
    assert split_options("a landscape painting".split()) == ("a landscape painting", None, None)
    assert split_options("a fox portrait".split()) == ("a fox", "1024x1536", None)
    with pytest.raises(InvalidValue, match="WIDTHxHEIGHT"):
        parse_size("99999x2")
