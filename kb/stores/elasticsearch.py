"""The Elasticsearch store, for corpora or query loads beyond one machine's embedded file.

:class:`ElasticsearchKnowledgeStore` implements :class:`kb.stores.base.KnowledgeStore` on an
Elasticsearch 8.x cluster and behaves like the embedded store everywhere the product looks
(the same Haystack contract suite runs against both). Design notes:

* **Chunks** are Haystack documents in ``<prefix>-chunks-<identity>``, managed by
  elasticsearch-haystack's ``ElasticsearchDocumentStore`` (wrapped, not copied): writes,
  deletes and updates through the Haystack protocol go to it. Filters everywhere are translated
  by its own converter. Index settings and mappings are ours (:mod:`kb.stores.es_mapping`).
* **Sources, provisions, meta, the writer lock** live in their own indices, written with the
  plain client (:mod:`kb.stores.es_sources`, :mod:`kb.stores.es_provisions`,
  :mod:`kb.stores.es_state`).
* **BM25** over ``content`` or the heading copy field, terms OR-ed, no fuzziness (a search for
  "67B" never returns 67A). Scores are Lucene BM25, not comparable in scale with FTS5's, only in
  order; fusion uses ranks.
* **Dense search** is exact (``script_score`` with ``cosineSimilarity``), not approximate kNN:
  the score is the cosine in [-1, 1] as in the embedded store, and no relevant chunk is lost to
  HNSW recall. Cost grows linearly with the filtered chunk count, a few milliseconds per
  10 000 chunks on one shard; beyond a few million chunks switch :func:`embedding_body` to a
  ``knn`` clause (the ``dense_vector`` field is indexed for it).
* **Atomic-looking source replacement** through write generations; the exact guarantee is in
  :mod:`kb.stores.es_sources`.

    >>> store = ElasticsearchKnowledgeStore.from_settings(get_settings())     # doctest: +SKIP
    >>> store.bm25_retrieval("publishing sexually explicit material of children", top_k=3)  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from elasticsearch import Elasticsearch
from elasticsearch import NotFoundError as EsNotFoundError
from haystack import Document, default_to_dict
from haystack.document_stores.errors import DuplicateDocumentError
from haystack.document_stores.types import DuplicatePolicy
from haystack_integrations.document_stores.elasticsearch import ElasticsearchDocumentStore

from kb.errors import QueryError, StoreError
from kb.settings import ElasticsearchSettings, Settings, get_settings
from kb.stores.es_mapping import (
    COSINE_OFFSET,
    GENERATION_FIELD,
    INTERNAL_FIELDS,
    bm25_body,
    chunk_index_mapping,
    client_options,
    embedding_body,
    es_filters,
    names_for,
    visible_query,
)
from kb.stores.es_provisions import EsProvisionsMixin
from kb.stores.es_sources import EsSourcesMixin, chunk_source
from kb.stores.es_state import GenerationLedger, WriterLock, ensure_indices, es_errors, scan
from kb.stores.sqlite_text import bm25_terms, check_top_k

RESERVED_META_PREFIX = "store."
_ID_BATCH = 1000


def display_url(url: str) -> str:
    """``url`` without any ``user:password@`` part, for messages."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1]))


def hit_document(hit: dict[str, Any], *, score: float | None = None) -> Document:
    """A Haystack document from a chunk hit, without our internal fields."""
    data = {k: v for k, v in hit["_source"].items() if k not in INTERNAL_FIELDS}
    data["score"] = score
    return Document.from_dict(data)


class ElasticsearchKnowledgeStore(EsSourcesMixin, EsProvisionsMixin):
    """Knowledge store on an Elasticsearch 8.x cluster (see the module docstring).

    Connecting checks the cluster answers and creates any missing index.

        >>> settings = Settings(store="elasticsearch", elasticsearch={"url": "http://localhost:9200",
        ...                     "username": "elastic", "password": "..."})        # doctest: +SKIP
        >>> store = ElasticsearchKnowledgeStore.from_settings(settings)         # doctest: +SKIP
        >>> store.names.chunks                                                  # doctest: +SKIP
        'kb-chunks-all-minilm-l6-v2-1a2b3c4d5e'

    :param es: connection settings (URL, credentials, TLS, timeout, index prefix).
    :param identity: the index identity (:meth:`Settings.index_identity`) naming the indices.
    :param embedding_dim: size of every stored embedding.
    """

    def __init__(self, es: ElasticsearchSettings, *, identity: str, embedding_dim: int = 384) -> None:
        if embedding_dim <= 0:
            raise StoreError(f"embedding_dim must be > 0, got {embedding_dim}")
        options = client_options(es)
        self.es = es
        self.url = display_url(es.url or "")
        self.identity = identity
        self.names = names_for(es.index_prefix, identity)
        self.embedding_dim = embedding_dim
        self._client = Elasticsearch(**options)
        with es_errors(self.url, "connecting"):
            self._client.info()
        ensure_indices(self._client, self.names, embedding_dim, self.url)
        hosts, api_key = options.pop("hosts"), options.pop("api_key", None)
        # api_key_id=None: the integration would otherwise read ELASTIC_API_KEY* from the environment.
        self._docs = ElasticsearchDocumentStore(
            hosts=hosts, index=self.names.chunks, custom_mapping=chunk_index_mapping(embedding_dim),
            api_key=api_key, api_key_id=None, embedding_similarity_function="cosine", **options,
        )  # fmt: skip
        self._ledger = GenerationLedger(self._client, self.names, url=self.url)
        self._lock = WriterLock(self._client, self.names.meta, url=self.url)

    @classmethod
    def from_settings(cls, settings: Settings) -> ElasticsearchKnowledgeStore:
        return cls(settings.elasticsearch, identity=settings.index_identity(), embedding_dim=settings.embedding.dimension)

    def __repr__(self) -> str:
        return f"ElasticsearchKnowledgeStore({self.url!r}, chunks={self.names.chunks!r})"

    # --- serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Everything but the secrets; :meth:`from_dict` takes those from the current settings."""
        es = self.es.model_dump(mode="json", exclude={"api_key", "password"})
        return default_to_dict(self, elasticsearch=es, identity=self.identity, embedding_dim=self.embedding_dim)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ElasticsearchKnowledgeStore:
        params = dict(data.get("init_parameters", {}))
        es = dict(params.pop("elasticsearch"))
        current = get_settings().elasticsearch
        if current.url == es.get("url"):
            es.setdefault("api_key", current.api_key)
            es.setdefault("password", current.password)
        return cls(ElasticsearchSettings(**es), **params)

    # --- Haystack DocumentStore protocol ---------------------------------------------------
    def count_documents(self) -> int:
        return self._ledger.read_consistent(lambda hidden: self._count(self.names.chunks, visible_query(None, hidden)))

    def filter_documents(self, filters: dict[str, Any] | None = None) -> list[Document]:
        """Documents matching Haystack ``filters``, ordered by id. Pages with a point in time, so
        more than 10 000 matches are returned too (the integration's paging stops there)."""
        es_filters(filters)  # FilterError before any request

        def read(hidden: list[str]) -> list[Document]:
            with es_errors(self.url, "filtering documents"):
                hits = scan(self._client, self.names.chunks, visible_query(filters, hidden), sort=[{"id": "asc"}])
                return [hit_document(hit) for hit in hits]

        return self._ledger.read_consistent(read)

    def write_documents(self, documents: list[Document], policy: DuplicatePolicy = DuplicatePolicy.NONE) -> int:
        """Write documents through elasticsearch-haystack; ``NONE`` means ``FAIL``.

        A chunk written with its source is stored under a generation-qualified ``_id``, so the
        integration cannot see it as a duplicate: those ids are checked here, and overwriting
        one keeps it linked to its source, as the embedded store does.
        """
        if isinstance(documents, (str, bytes)) or not isinstance(documents, (list, tuple)):
            raise ValueError(f"write_documents expects a list of Documents, got {type(documents).__name__}")
        for doc in documents:
            if not isinstance(doc, Document):
                raise ValueError(f"write_documents expects a list of Documents, found {type(doc).__name__}: {doc!r:.80}")
            self._check_embedding(doc)
        if not documents:
            return 0
        policy = DuplicatePolicy.FAIL if policy == DuplicatePolicy.NONE else policy
        linked = self._linked([doc.id for doc in documents])
        if linked and policy == DuplicatePolicy.FAIL:
            raise DuplicateDocumentError(f"ID '{next(iter(linked))}' already exists.")
        rest = [doc for doc in documents if doc.id not in linked]
        written = 0
        if linked and policy == DuplicatePolicy.OVERWRITE:
            last = {doc.id: doc for doc in documents if doc.id in linked}
            actions = [{"_op_type": "index", "_index": self.names.chunks, "_id": es_id,
                        "_source": chunk_source(last[doc_id], generation)}
                       for doc_id, (es_id, generation) in linked.items()]  # fmt: skip
            self._bulk(actions, "overwriting documents")
            written = len(actions)
        if rest:
            written += self._docs.write_documents(rest, policy=policy, refresh="wait_for")
        return written

    def _check_embedding(self, doc: Document) -> None:
        if doc.embedding is None:
            return
        if len(doc.embedding) != self.embedding_dim:
            raise StoreError(f"document {doc.id}: embedding has {len(doc.embedding)} dimensions, the store holds "
                             f"{self.embedding_dim}-dimensional vectors", doc_id=doc.id)  # fmt: skip
        if not all(math.isfinite(x) for x in doc.embedding):
            raise StoreError(f"document {doc.id}: embedding contains NaN or infinity", doc_id=doc.id)

    def _linked(self, ids: list[str]) -> dict[str, tuple[str, str]]:
        """``{id: (_id, generation)}`` of visible chunks among ``ids`` written with a source."""
        found: dict[str, tuple[str, str]] = {}
        hidden = self._ledger.load().hidden
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), _ID_BATCH):
            batch = unique[start : start + _ID_BATCH]
            query = visible_query(None, hidden, extra=[{"terms": {"id": batch}}, {"exists": {"field": GENERATION_FIELD}}])
            hits = self._search(self.names.chunks, "checking document ids", query=query, size=len(batch),
                                _source=["id", GENERATION_FIELD])["hits"]["hits"]  # fmt: skip
            for hit in hits:
                found[hit["_source"]["id"]] = (hit["_id"], hit["_source"][GENERATION_FIELD])
        return found

    def _linked_doc_ids(self, query: dict[str, Any]) -> set[str]:
        """Sources owning chunks that match ``query`` (to refresh their counts after a delete)."""
        linked = {"bool": {"filter": [query, {"exists": {"field": GENERATION_FIELD}}]}}
        return set(self._counts_by(self.names.chunks, "doc_id", linked))

    def delete_documents(self, document_ids: list[str]) -> None:
        """Delete by document id, whichever way the documents were written."""
        ids = list(dict.fromkeys(document_ids))
        for start in range(0, len(ids), _ID_BATCH):
            query = {"terms": {"id": ids[start : start + _ID_BATCH]}}
            affected = self._linked_doc_ids(query)
            with es_errors(self.url, "deleting documents"):
                self._client.delete_by_query(index=self.names.chunks, query=query, refresh=True, conflicts="proceed")
            self._refresh_source_counts(affected)

    # --- extended operations --------------------------------------------------------------
    def delete_all_documents(self, recreate_index: bool = False, refresh: bool = True) -> None:
        """Empty the store: every chunk, and with them every source and provision (a provision
        whose chunks are gone could be cited but never found). Meta entries are kept."""
        with es_errors(self.url, "deleting all documents"):
            self._docs.delete_all_documents(recreate_index=recreate_index, refresh=refresh)
            for index in (self.names.provisions, self.names.sources):
                self._client.delete_by_query(index=index, query={"match_all": {}}, refresh=True, conflicts="proceed")

    def delete_by_filter(self, filters: dict[str, Any], refresh: bool = True) -> int:
        """Delete matching documents; refreshed by default so a count right after agrees."""
        query = es_filters(filters)
        affected = self._linked_doc_ids(query)
        deleted = self._docs.delete_by_filter(filters, refresh=refresh)
        self._refresh_source_counts(affected)
        return deleted

    def update_by_filter(self, filters: dict[str, Any], meta: dict[str, Any], refresh: bool = True) -> int:
        """Merge ``meta`` into the meta of every matching document (top-level keys replaced)."""
        if not isinstance(meta, dict):
            raise ValueError(f"meta must be a dict, got {type(meta).__name__}: {meta!r}")
        es_filters(filters)
        return self._docs.update_by_filter(filters, meta, refresh=refresh)

    def count_documents_by_filter(self, filters: dict[str, Any]) -> int:
        es_filters(filters)
        return self._ledger.read_consistent(lambda hidden: self._count(self.names.chunks, visible_query(filters, hidden)))

    # --- retrieval ---------------------------------------------------------------------------
    def bm25_retrieval(
        self, query: str, filters: dict[str, Any] | None = None, top_k: int = 10, *, field: str = "content"
    ) -> list[Document]:
        """Chunks ranked by BM25 over ``field`` ('content' or 'heading'), best first.

        ``query`` is user text: the embedded store's tokeniser picks its terms (stopwords
        dropped), which are OR-ed in a ``match`` query without fuzziness. Nothing searchable
        left -> ``[]``.
        """
        terms = bm25_terms(field, query, top_k)
        if not terms:
            return []
        es_filters(filters)

        def read(hidden: list[str]) -> list[Document]:
            body = bm25_body(terms, field=field, filters=filters, hidden=hidden, top_k=top_k)
            hits = self._search(self.names.chunks, "searching documents", **body)["hits"]["hits"]
            return [hit_document(hit, score=float(hit["_score"])) for hit in hits]

        return self._ledger.read_consistent(read)

    def embedding_retrieval(
        self,
        query_embedding: list[float],
        filters: dict[str, Any] | None = None,
        top_k: int = 10,
        *,
        return_embedding: bool = False,
    ) -> list[Document]:
        """Chunks ranked by exact cosine similarity to ``query_embedding`` (``Document.score``)."""
        check_top_k(top_k)
        vector = self._query_vector(query_embedding)
        es_filters(filters)

        def read(hidden: list[str]) -> list[Document]:
            body = embedding_body(vector, filters=filters, hidden=hidden, top_k=top_k)
            if return_embedding:
                body.pop("_source")
            hits = self._search(self.names.chunks, "searching embeddings", **body)["hits"]["hits"]
            return [hit_document(hit, score=float(hit["_score"]) - COSINE_OFFSET) for hit in hits]

        return self._ledger.read_consistent(read)

    def _query_vector(self, query: list[float]) -> list[float]:
        try:
            vector = [float(x) for x in query]
        except (TypeError, ValueError) as err:
            raise QueryError(f"query embedding must be a list of numbers: {err}") from err
        if len(vector) != self.embedding_dim:
            raise StoreError(f"query embedding has {len(vector)} dimensions, the store holds "
                             f"{self.embedding_dim}-dimensional vectors", dims=len(vector), expected=self.embedding_dim)  # fmt: skip
        norm = math.sqrt(sum(x * x for x in vector))
        if not math.isfinite(norm) or norm == 0.0:
            raise QueryError(f"query embedding must be finite and non-zero (norm {norm})")
        return vector

    # --- housekeeping ----------------------------------------------------------------------
    def _meta_id(self, key: str) -> str:
        return f"{self.identity}:meta:{key}"

    def content_version(self) -> None:
        """Unknown without a round trip, and other hosts write too: search results are not cached
        in the process (Elasticsearch keeps its own shard request cache)."""
        return None

    def get_meta(self, key: str) -> str | None:
        with es_errors(self.url, f"reading meta {key}"):
            try:
                doc = self._client.get(index=self.names.meta, id=self._meta_id(key))
            except EsNotFoundError:
                return None
        return doc["_source"]["value"]

    def set_meta(self, key: str, value: str) -> None:
        """Store a setting of the index (e.g. its identity). Keys starting ``store.`` are the store's own."""
        if key.startswith(RESERVED_META_PREFIX):
            raise StoreError(f"meta key {key!r} is reserved for the store itself", key=key)
        if not isinstance(value, str):
            raise StoreError(f"meta value for {key!r} must be a string, got {type(value).__name__}", key=key)
        body = {"kind": "meta", "identity": self.identity, "key": key, "value": value}
        with es_errors(self.url, f"setting meta {key}"):
            self._client.index(index=self.names.meta, id=self._meta_id(key), document=body, refresh="wait_for")

    @contextmanager
    def writer_lock(self, timeout_s: float = 30.0) -> Iterator[None]:
        """One writer at a time across processes and hosts (a lock document with an expiry);
        :class:`~kb.errors.StoreBusyError` after ``timeout_s``. Taking it also deletes what
        earlier crashed writes left behind.

            >>> with store.writer_lock(timeout_s=5):                  # doctest: +SKIP
            ...     store.write_source(record, provisions, chunks)
        """
        with self._lock.hold(timeout_s):
            self._ledger.collect()
            yield

    def close(self) -> None:
        self._docs.close()
        self._client.close()

