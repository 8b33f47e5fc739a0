"""The objects a running product needs, built once: store, encoder, searcher, answerer, ingestor.

Both the CLI and the HTTP app use this, so they behave the same.

    >>> rt = Runtime.open(get_settings())      # doctest: +SKIP
    >>> rt.searcher.search("POCSO 19(1)").hits[0].citation   # doctest: +SKIP
    'POCSO Act, 2012, s. 19(1)'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from ingest.pipeline import Ingestor
from kb.answers.compose import Answerer
from kb.embedding import Encoder
from kb.retrieval.search import Searcher
from kb.settings import Settings
from kb.stores.base import KnowledgeStore
from kb.stores.factory import open_store


@dataclass
class Runtime:
    settings: Settings
    store: KnowledgeStore
    encoder: Encoder = field(repr=False)

    @classmethod
    def open(cls, settings: Settings, *, progress_bar: bool = False) -> Runtime:
        store = open_store(settings)
        return cls(settings=settings, store=store, encoder=Encoder(settings.embedding, progress_bar=progress_bar))

    @cached_property
    def searcher(self) -> Searcher:
        return Searcher(self.store, self.encoder, self.settings)

    @cached_property
    def answerer(self) -> Answerer:
        return Answerer(self.store, self.searcher, self.encoder, self.settings)

    @cached_property
    def ingestor(self) -> Ingestor:
        return Ingestor(self.store, self.encoder, self.settings)

    def limit_threads(self, threads: int) -> None:
        """Serve with at most ``threads`` CPU threads a request (``api.request_threads``; 0: library
        defaults): PyTorch's intra-op threads for query encoding and the BLAS threads of the dense
        scan. Both settings are process-wide. With many requests in flight, one thread each keeps
        every core busy without the threads of one request contending for the cores of another."""
        if threads <= 0:
            return
        from threadpoolctl import threadpool_limits

        self.encoder.limit_threads(threads)
        threadpool_limits(limits=threads, user_api="blas")

    def close(self) -> None:
        self.store.close()
