"""Any OpenAI-compatible endpoint (OpenAI, OpenRouter, Groq, Ollama, LM Studio, vLLM...) via the
official ``openai`` SDK over real HTTP."""

from __future__ import annotations

import contextlib
import logging
from typing import Any, AsyncIterator, Dict, List, Mapping, Optional, Sequence

import httpx
import openai

# The SDK imports its resource modules on first use (~0.4 s of blocking imports). Importing them
# here moves that to cog load, off the first chat's path.
import openai.resources.chat  # noqa: F401
import openai.resources.embeddings  # noqa: F401
import openai.resources.models  # noqa: F401

from ..params import provider_kwargs
from .aiohttp_transport import provider_http_client
from .base import ChatProvider, Endpoint, Message, StreamPart
from .sse import read_stream

log = logging.getLogger("red.skynet.providers")

# Retries are the cog's one policy (engine/reliability: backoff, Retry-After cap, deadline, status
# line, failover), not the SDK's silent ones.
SDK_RETRIES = 0
NO_KEY = "no-key-needed"  # the SDK insists on a key; keyless servers (Ollama) ignore it


class OpenAICompatibleProvider(ChatProvider):
    """A :class:`ChatProvider` for one OpenAI-compatible endpoint."""

    def __init__(
        self,
        endpoint: Endpoint,
        api_key: Optional[str],
        *,
        http_client: Optional[httpx.AsyncClient] = None,
        max_retries: int = SDK_RETRIES,
    ) -> None:
        """``http_client`` may be shared between providers (it is then not closed by ``aclose``):
        creating one costs ~0.1 s of blocking TLS setup, so the registry makes one at load time."""
        self.endpoint = endpoint
        self._owns_http = http_client is None
        self._client = openai.AsyncOpenAI(
            api_key=api_key or NO_KEY,
            base_url=endpoint.base_url,
            timeout=httpx.Timeout(endpoint.timeout, connect=min(10.0, endpoint.timeout)),
            max_retries=max_retries,
            http_client=http_client if http_client is not None else provider_http_client(),
        )
        # Some compatible servers reject `stream_options`; we then estimate usage instead.
        self._send_usage_option = True

    async def stream_chat(
        self,
        model: str,
        messages: Sequence[Message],
        params: Mapping[str, Any],
        tools: Optional[Sequence[Mapping[str, Any]]] = None,
    ) -> AsyncIterator[StreamPart]:
        max_tokens_field = "max_completion_tokens" if self.endpoint.is_openai else "max_tokens"
        request: Dict[str, Any] = dict(
            model=model,
            messages=list(messages),
            stream=True,
            **provider_kwargs(params, max_tokens_field=max_tokens_field),
        )
        if tools:
            request["tools"] = list(tools)
        # The SDK makes the request (auth, retries before the stream starts, status errors); the
        # body is parsed by ``sse.read_stream``, without a typed model per chunk (see there).
        async with contextlib.AsyncExitStack() as stack:
            response = await self._open_stream(request, stack)
            async for part in read_stream(
                response.iter_bytes(), endpoint=self.endpoint.name, base_url=self.endpoint.base_url
            ):
                yield part

    async def _open_stream(self, request: Dict[str, Any], stack: contextlib.AsyncExitStack):
        create = self._client.chat.completions.with_streaming_response.create
        if self._send_usage_option:
            try:
                return await stack.enter_async_context(
                    create(**request, stream_options={"include_usage": True})
                )
            except openai.BadRequestError as exc:
                if "stream_options" not in str(exc):
                    raise
                log.info("Endpoint %s rejects stream_options; usage will be estimated.", self.endpoint.name)
                self._send_usage_option = False
        return await stack.enter_async_context(create(**request))

    @property
    def client(self) -> openai.AsyncOpenAI:
        """The endpoint's SDK client (its key, timeout and connection pool), for media requests."""
        return self._client

    async def list_models(self) -> List[str]:
        page = await self._client.models.list()
        return sorted(model.id for model in page.data)

    async def embed(self, model: str, texts: Sequence[str]) -> List[List[float]]:
        result = await self._client.embeddings.create(model=model, input=list(texts))
        return [item.embedding for item in sorted(result.data, key=lambda item: item.index)]

    async def aclose(self) -> None:
        if self._owns_http:
            await self._client.close()
