"""Embeddings from the provider's ``/embeddings`` endpoint, through the existing ``ChatProvider.embed``.

The owner picks ``endpoint:model`` (``[p]ai memory embeddings``); by default it is
``text-embedding-3-small`` on the endpoint of the global chat model (OpenAI out of the box).
"""

from __future__ import annotations

from typing import List, Sequence

from ..providers.registry import ProviderRegistry
from ..settings import ModelRef

DEFAULT_EMBEDDING_MODEL = "text-embedding-3-small"
BATCH = 128  # texts per request: providers cap the batch size (OpenAI: 2048 inputs)


class Embedder:
    """Turns texts into vectors with one endpoint's embedding model."""

    def __init__(self, providers: ProviderRegistry, model: ModelRef) -> None:
        self.providers = providers
        self.model = model

    @property
    def key(self) -> str:
        """Names the vector space: vectors of different models are never compared."""
        return str(self.model)

    async def embed(self, texts: Sequence[str]) -> List[List[float]]:
        provider = await self.providers.provider(self.model.endpoint)
        vectors: List[List[float]] = []
        for start in range(0, len(texts), BATCH):
            vectors += await provider.embed(self.model.name, list(texts[start : start + BATCH]))
        return vectors

    async def embed_one(self, text: str) -> List[float]:
        return (await self.embed([text]))[0]
