"""What every store of this product offers, beyond Haystack's ``DocumentStore`` protocol.

Chunks are Haystack ``Document`` objects (content + flattened :class:`~kb.models.Locator` in
``meta`` + embedding). Alongside them a store keeps:

* **sources** (:class:`~kb.models.SourceRecord`): one row per distinct file content, with every
  path it was ingested from;
* **provisions** (:class:`~kb.models.Provision`): the full text of each section, which chunks and
  quotes point into by character span. A provision belongs to one source (``doc_id``); the same
  ``act:section`` may come from two sources (e.g. the Markdown and the PDF of one Act).

Writes of one source are atomic: :meth:`KnowledgeStore.write_source` replaces everything of the
given doc ids in a single transaction, so a crash leaves either the old or the new state.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from haystack import Document

from kb.models import Provision, SourceRecord

# Chunk meta fields every store indexes as exact-match keywords.
KEYWORD_FIELDS = ("act_key", "section", "provision_key", "doc_type", "audience", "doc_id", "language", "pinpoint")


@dataclass
class ActSummary:
    act_key: str
    title: str
    short_name: str | None
    year: int | None
    doc_type: str
    sections: int
    chunks: int


@dataclass
class IntegrityReport:
    ok: bool
    sources: int
    provisions: int
    chunks: int
    problems: list[str] = field(default_factory=list)


@runtime_checkable
class KnowledgeStore(Protocol):
    """Storage and query primitives. Retrievers and the answer composer call only these."""

    # --- Haystack DocumentStore protocol -------------------------------------------------
    def to_dict(self) -> dict[str, Any]: ...
    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KnowledgeStore: ...
    def count_documents(self) -> int: ...
    def filter_documents(self, filters: dict[str, Any] | None = None) -> list[Document]: ...
    def write_documents(self, documents: list[Document], policy: Any = ...) -> int: ...
    def delete_documents(self, document_ids: list[str]) -> None: ...

    # --- query primitives -------------------------------------------------------------------
    def bm25_retrieval(
        self, query: str, filters: dict[str, Any] | None = None, top_k: int = 10, *, field: str = "content"
    ) -> list[Document]:
        """Chunks ranked by BM25 over ``field`` ('content' or 'heading'); ``Document.score`` set.
        The query is plain user text: special syntax characters are neutralised, terms are OR-ed."""
        ...

    def embedding_retrieval(
        self, query_embedding: list[float], filters: dict[str, Any] | None = None, top_k: int = 10
    ) -> list[Document]:
        """Chunks ranked by exact cosine similarity; ``Document.score`` is the cosine.
        ``query_embedding`` is any sequence of numbers, a 1-D numpy array included."""
        ...

    # --- sources and provisions ------------------------------------------------------------
    def write_source(
        self,
        source: SourceRecord,
        provisions: list[Provision],
        chunks: list[Document],
        *,
        replaces: list[str] = (),
    ) -> None:
        """Atomically: delete sources ``replaces`` (and their provisions and chunks), then store
        ``source`` with its provisions and chunks. Chunks carry ``meta['doc_id'] == source.doc_id``."""
        ...

    def add_source_path(self, doc_id: str, path: str) -> None:
        """Record that the content ``doc_id`` was also found at ``path`` (dedup)."""
        ...

    def remove_source_path(self, path: str) -> str | None:
        """Forget ``path``; a source left with no path is deleted with its provisions and chunks.
        Returns the doc id the path pointed to, if any."""
        ...

    def delete_source(self, doc_id: str) -> bool: ...
    def get_source(self, doc_id: str) -> SourceRecord | None: ...
    def source_for_path(self, path: str) -> SourceRecord | None: ...
    def list_sources(self, *, offset: int = 0, limit: int = 100) -> list[SourceRecord]: ...
    def count_sources(self) -> int: ...

    def get_provision(self, provision_key: str) -> Provision | None:
        """The provision ``act:section``; when several sources hold it, the most recently written."""
        ...

    def get_provisions(self, provision_keys: list[str]) -> dict[str, Provision]: ...
    def list_provisions(self, act_key: str) -> list[Provision]:
        """All provisions of an Act in natural section order (2 < 2A < 10)."""
        ...

    def referring_provisions(self, provision_key: str) -> list[str]:
        """Keys of provisions whose ``cross_refs`` include ``provision_key``."""
        ...

    def provisions_of_source(self, doc_id: str) -> list[Provision]:
        """Every provision stored for one source, in the order they were written."""
        ...

    def list_acts(self) -> list[ActSummary]: ...

    # --- housekeeping ----------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...
    def content_version(self) -> str | None:
        """A token that changes with every write that can change a search (chunks, provisions,
        sources), in this process or another; ``None`` when the store cannot tell cheaply, and then
        nothing may be cached across searches."""
        ...

    def check(self) -> IntegrityReport: ...
    def writer_lock(self, timeout_s: float = 30.0) -> AbstractContextManager[None]:
        """Held by one ingesting process at a time; raises StoreBusyError after ``timeout_s``."""
        ...

    def close(self) -> None: ...
