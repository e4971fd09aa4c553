"""A local server answering the media endpoints in each documented shape, for tests and benchmarks.

``async with FakeMedia() as server``: ``server.base_url`` is ``http://127.0.0.1:<port>/v1``
(``server.root`` without ``/v1``, for AUTOMATIC1111). Routes:

- ``POST /v1/images/generations`` → ``data[0].b64_json`` or, with ``image_answer = "url"``,
  ``data[0].url`` pointing at ``GET /files/<n>.png``; ``POST /v1/images/edits`` (multipart) → b64.
  ``refuse = True`` answers 400 ``content_policy_violation`` like OpenAI's moderation.
- ``POST /v1/chat/completions``: with ``"modalities"`` the OpenRouter image answer
  (``choices[0].message.images[].image_url.url`` as a data URL); streamed, a reasoning stream in
  the shape ``reasoning_shape`` (``reasoning_content``, ``reasoning`` or ``think``).
- ``POST /sdapi/v1/txt2img`` and ``/sdapi/v1/img2img`` → AUTOMATIC1111's ``{"images": [b64], ...}``.
- ``POST /v1/audio/transcriptions`` (multipart) → ``{"text": transcript}``; it checks that the
  upload really is WAV or Ogg audio (400 otherwise).
- ``POST /v1/audio/speech`` → real audio bytes: Ogg/Opus (libopus through discord.py), or WAV
  with ``speech_format = "wav"``.

Every request is recorded in ``server.requests`` as ``(path, json_or_form_fields)``.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import math
import struct
import wave
from typing import Any, Dict, List, Optional, Tuple

from aiohttp import web
from PIL import Image

from skynet.engine.media.audio import SAMPLE_RATE, ogg_packets, pcm_to_ogg_opus, sniff_audio


def png_bytes(size: Tuple[int, int] = (64, 64), color: str = "teal") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def tone_pcm(seconds: float = 1.0, rate: int = SAMPLE_RATE, channels: int = 2, hz: float = 440.0) -> bytes:
    """A sine tone as 16-bit PCM, fading in (so its waveform is not flat)."""
    count = int(seconds * rate)
    out = bytearray()
    for i in range(count):
        value = int(12000 * (i / count) * math.sin(2 * math.pi * hz * i / rate))
        out += struct.pack("<h", value) * channels
    return bytes(out)


def wav_bytes(seconds: float = 1.0, rate: int = 16_000) -> bytes:
    """A real mono 16-bit WAV file (what a member might upload)."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(tone_pcm(seconds, rate, channels=1))
    return buffer.getvalue()


def ogg_opus_bytes(seconds: float = 1.0) -> bytes:
    """A real Ogg/Opus file (a Discord voice message's format), encoded with libopus."""
    import discord.opus

    if not discord.opus.is_loaded():
        discord.opus._load_default()
    encoder = discord.opus.Encoder()
    return pcm_to_ogg_opus(tone_pcm(seconds), lambda pcm, samples: encoder.encode(pcm, samples))


class FakeMedia:
    def __init__(self) -> None:
        self.requests: List[Tuple[str, Any]] = []
        self.image_answer = "b64"  # or "url"
        self.refuse = False
        self.transcript = "what is the capital of france"
        self.speech_format = "opus"  # or "wav"
        self.speech_seconds = 1.0
        self.reasoning_shape = "reasoning_content"  # or "reasoning", "think"
        self.reasoning = "Let me think. The user wants a greeting."
        self.answer = "Hello there!"
        self.chunk_size = 4
        self.delay = 0.0  # seconds between streamed chunks
        self.chat_without_image = False
        self._served: Dict[str, bytes] = {}

    # -- lifecycle

    async def __aenter__(self) -> "FakeMedia":
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_post("/v1/images/generations", self._generations)
        app.router.add_post("/v1/images/edits", self._edits)
        app.router.add_get("/files/{name}", self._file)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/sdapi/v1/txt2img", self._a1111)
        app.router.add_post("/sdapi/v1/img2img", self._a1111)
        app.router.add_post("/v1/audio/transcriptions", self._transcriptions)
        app.router.add_post("/v1/audio/speech", self._speech)
        app.router.add_get("/v1/models", self._models)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.root = f"http://127.0.0.1:{self.runner.addresses[0][1]}"
        self.base_url = f"{self.root}/v1"
        self.host = self.root.removeprefix("http://")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.cleanup()

    def paths(self) -> List[str]:
        return [path for path, _ in self.requests]

    # -- images

    def _policy_error(self) -> web.Response:
        return web.json_response(
            {
                "error": {
                    "message": "Your request was rejected as a result of our safety system.",
                    "type": "invalid_request_error",
                    "code": "content_policy_violation",
                    "param": None,
                }
            },
            status=400,
        )

    async def _generations(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append((request.path, body))
        if self.refuse:
            return self._policy_error()
        size = (
            tuple(int(s) for s in (body.get("size") or "64x64").split("x"))
            if "x" in str(body.get("size"))
            else (64, 64)
        )
        image = png_bytes((min(size[0], 64), min(size[1], 64)))
        if self.image_answer == "url":
            name = f"{len(self._served)}.png"
            self._served[name] = image
            item = {"url": f"{self.root}/files/{name}", "revised_prompt": f"A picture of {body['prompt']}"}
        else:
            item = {"b64_json": base64.b64encode(image).decode("ascii")}
        answer: Dict[str, Any] = {"created": 1, "data": [item]}
        if str(body.get("model", "")).startswith("gpt-image"):
            answer["usage"] = {"input_tokens": 12, "output_tokens": 272, "total_tokens": 284}
        return web.json_response(answer)

    async def _edits(self, request: web.Request) -> web.Response:
        form = await request.post()
        fields = {k: (v.file.read() if hasattr(v, "file") else v) for k, v in form.items()}
        self.requests.append((request.path, fields))
        if self.refuse:
            return self._policy_error()
        source = fields.get("image") or fields.get("image[]") or b""
        Image.open(io.BytesIO(source)).verify()  # a real image was uploaded, or this fails the request
        return web.json_response(
            {"created": 1, "data": [{"b64_json": base64.b64encode(png_bytes(color="purple")).decode()}]}
        )

    async def _file(self, request: web.Request) -> web.Response:
        self.requests.append((request.path, None))
        data = self._served.get(request.match_info["name"])
        if data is None:
            raise web.HTTPNotFound()
        return web.Response(body=data, content_type="image/png")

    async def _a1111(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append((request.path, body))
        if request.path.endswith("img2img"):
            Image.open(io.BytesIO(base64.b64decode(body["init_images"][0]))).verify()
        image = png_bytes((min(int(body.get("width", 64)), 64), min(int(body.get("height", 64)), 64)), "navy")
        return web.json_response(
            {
                "images": [base64.b64encode(image).decode("ascii")],
                "parameters": body,
                "info": json.dumps({"seed": 1}),
            }
        )

    # -- chat: image output and reasoning streams

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append((request.path, body))
        if body.get("modalities"):
            return self._chat_image(body)
        return await self._reasoning_stream(request, body)

    def _chat_image(self, body: Dict[str, Any]) -> web.Response:
        if self.refuse:
            return self._policy_error()
        message: Dict[str, Any] = {"role": "assistant", "content": "Here is your image."}
        if not self.chat_without_image:
            url = "data:image/png;base64," + base64.b64encode(png_bytes(color="green")).decode("ascii")
            message["images"] = [{"type": "image_url", "image_url": {"url": url}}]
        else:
            message["content"] = "I can only write text."
        return web.json_response(
            {
                "id": "gen-1",
                "object": "chat.completion",
                "created": 1,
                "model": body["model"],
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 1290, "total_tokens": 1300},
            }
        )

    async def _reasoning_stream(self, request: web.Request, body: Dict[str, Any]) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)

        async def send(delta: Dict[str, Any], finish: Optional[str] = None, **extra: Any) -> None:
            chunk = {
                "id": "c1",
                "object": "chat.completion.chunk",
                "created": 1,
                "model": body["model"],
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                **extra,
            }
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
            await asyncio.sleep(self.delay)

        size = self.chunk_size
        pieces = [self.reasoning[i : i + size] for i in range(0, len(self.reasoning), size)]
        answer = [self.answer[i : i + size] for i in range(0, len(self.answer), size)]
        if self.reasoning_shape == "think":
            text = f"<think>{self.reasoning}</think>\n\n{self.answer}"
            for i in range(0, len(text), size):
                await send({"content": text[i : i + size]})
        else:
            for piece in pieces:
                await send({"role": "assistant", "content": None, self.reasoning_shape: piece})
            for piece in answer:
                await send({"content": piece})
        await send({}, "stop")
        usage = {
            "prompt_tokens": 20,
            "completion_tokens": 50,
            "total_tokens": 70,
            "completion_tokens_details": {"reasoning_tokens": 30},
        }
        await response.write(
            f"data: {json.dumps({'id': 'c1', 'object': 'chat.completion.chunk', 'choices': [], 'usage': usage})}\n\n".encode()
        )
        await response.write(b"data: [DONE]\n\n")
        return response

    # -- audio

    async def _transcriptions(self, request: web.Request) -> web.Response:
        form = await request.post()
        upload = form.get("file")
        data = upload.file.read() if hasattr(upload, "file") else b""
        self.requests.append(
            (
                request.path,
                {
                    "model": form.get("model"),
                    "bytes": len(data),
                    "filename": getattr(upload, "filename", None),
                },
            )
        )
        kind = sniff_audio(data[:16])
        try:
            if kind == "audio/wav":
                wave.open(io.BytesIO(data)).getnframes()
            elif kind == "audio/ogg":
                assert any(p.startswith(b"OpusHead") for p, _ in ogg_packets(data))
            else:
                raise ValueError(kind)
        except Exception:
            return web.json_response(
                {"error": {"message": "Invalid file format.", "type": "invalid_request_error"}}, status=400
            )
        return web.json_response({"text": self.transcript})

    async def _speech(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append((request.path, body))
        if self.speech_format == "wav":
            return web.Response(body=wav_bytes(self.speech_seconds, 24_000), content_type="audio/wav")
        return web.Response(body=ogg_opus_bytes(self.speech_seconds), content_type="audio/ogg")

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "object": "list",
                "data": [
                    {"id": m, "object": "model"}
                    for m in ("gpt-image-1", "dall-e-3", "whisper-1", "tts-1", "deep-reasoner")
                ],
            }
        )
