"""Everything about the Elasticsearch backend that needs no server: index names, index settings
and mappings, client options, and the query bodies of the two retrieval primitives.

Kept apart from :mod:`kb.stores.elasticsearch` so it can be unit-tested on the real structures
it returns.

* **Index names** come from ``elasticsearch.index_prefix`` and :meth:`Settings.index_identity`,
  so changing the embedding model or the chunker opens a fresh, empty set of indices instead of
  mixing incompatible vectors: ``kb-chunks-all-minilm-l6-v2-1a2b3c4d5e``.
* **Text analysis** (``kb_english``): the standard tokenizer (Unicode word boundaries, UAX #29:
  ``67B`` stays one token, Devanagari words keep their vowel signs), English possessives removed,
  lower case, ASCII folding, Porter stemming: the same chain as the embedded store's FTS5
  tokenizer (``porter unicode61 remove_diacritics 2``). Stopwords are removed from the *query*
  by :func:`kb.stores.sqlite_text.query_terms`, not from the index, so "IT Act" stays findable
  and both backends drop the same words.
* **BM25** is a ``match`` query with ``operator: or`` and no ``fuzziness``: a query for "67B" must
  never match section 67A. (elasticsearch-haystack's own BM25 uses ``fuzziness: AUTO``, which
  would.)
* **Dense search** is an exact cosine ``script_score`` over the filtered chunks; the score is the
  cosine in [-1, 1], the same number the embedded store returns.

    >>> from kb.settings import Settings
    >>> names = index_names(Settings())
    >>> names.chunks.startswith("kb-chunks-all-minilm-l6-v2-")
    True
    >>> bm25_body(["punishment", "67b"], field="content", filters=None, hidden=[], top_k=5)["query"]["bool"]["must"]
    [{'match': {'content': {'query': 'punishment 67b', 'operator': 'or'}}}]
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from haystack.errors import FilterError
from haystack_integrations.document_stores.elasticsearch.filters import _normalize_filters

from kb.errors import ConfigError
from kb.settings import ElasticsearchSettings, Settings
from kb.stores.base import KEYWORD_FIELDS

ANALYZER = "kb_english"
# Internal fields of our own documents. They are stripped from every Document handed back.
GENERATION_FIELD = "kb_generation"  # the write generation a source's documents belong to
INTERNAL_FIELDS = (GENERATION_FIELD,)
HEADING_TEXT_FIELD = "heading_text"  # heading + heading_path, analysed: the heading BM25 signal
BM25_FIELDS = {"content": "content", "heading": HEADING_TEXT_FIELD}

# Longest keyword kept in the index (Lucene refuses terms over 32766 bytes; 8191 chars of
# 4-byte UTF-8 stay under it). Longer values are still stored, just not filterable.
MAX_KEYWORD_CHARS = 8191
_INDEX_NAME_FORBIDDEN = re.compile(r'[\\/*?"<>| ,#:A-Z]')


@dataclass(frozen=True)
class IndexNames:
    """The four indices of one store. ``meta`` is shared by every index identity of a prefix:
    it holds the writer lock and, keyed by identity, each identity's own meta entries."""

    chunks: str
    provisions: str
    sources: str
    meta: str
    identity: str

    def data_indices(self) -> tuple[str, str, str]:
        return (self.chunks, self.provisions, self.sources)


def validate_prefix(prefix: str) -> str:
    """``prefix`` if it can start an Elasticsearch index name, else :class:`ConfigError` naming it."""
    if (
        not prefix
        or prefix.startswith(("-", "_", "+", "."))
        or _INDEX_NAME_FORBIDDEN.search(prefix)
        or len(prefix) > 100
    ):
        raise ConfigError(
            f"elasticsearch.index_prefix {prefix!r} cannot start an index name: use lower-case letters, digits, "
            "'-' or '_', not starting with '-', '_', '+' or '.', at most 100 characters",
            setting="elasticsearch.index_prefix",
            value=prefix,
        )
    return prefix


def index_names(settings: Settings) -> IndexNames:
    """Index names for ``settings``; they change exactly when :meth:`Settings.index_identity` does."""
    return names_for(settings.elasticsearch.index_prefix, settings.index_identity())


def names_for(prefix: str, identity: str) -> IndexNames:
    validate_prefix(prefix)
    if not identity or _INDEX_NAME_FORBIDDEN.search(identity):
        raise ConfigError(f"index identity {identity!r} cannot be part of an index name", value=identity)
    return IndexNames(
        chunks=f"{prefix}-chunks-{identity}",
        provisions=f"{prefix}-provisions-{identity}",
        sources=f"{prefix}-sources-{identity}",
        meta=f"{prefix}-meta",
        identity=identity,
    )


# --- index settings and mappings ---------------------------------------------------------------
def analysis_settings() -> dict[str, Any]:
    """The ``kb_english`` analyzer (see the module docstring for why there is no stop filter)."""
    return {
        "filter": {
            "kb_possessive": {"type": "stemmer", "language": "possessive_english"},
            "kb_porter": {"type": "stemmer", "language": "porter"},
        },
        "analyzer": {
            ANALYZER: {
                "type": "custom",
                "tokenizer": "standard",
                "filter": ["kb_possessive", "lowercase", "asciifolding", "kb_porter"],
            }
        },
        "normalizer": {"kb_lowercase": {"type": "custom", "filter": ["lowercase", "asciifolding"]}},
    }


def index_settings() -> dict[str, Any]:
    """One shard (a legal corpus is small; one shard keeps BM25 statistics exact), and a replica
    only when a second node exists, so a single-node cluster is green."""
    return {"number_of_shards": 1, "auto_expand_replicas": "0-1", "analysis": analysis_settings()}


def _keyword() -> dict[str, Any]:
    return {"type": "keyword", "ignore_above": MAX_KEYWORD_CHARS}


def chunk_index_mapping(dim: int) -> dict[str, Any]:
    """Mapping of the chunk index: Haystack documents with their meta flattened to the top level.

    Any other string meta becomes a keyword, as in elasticsearch-haystack's default mapping, so
    Haystack filters behave the same on fields this mapping does not name.
    """
    if dim <= 0:
        raise ConfigError(f"embedding dimension must be > 0, got {dim}", setting="embedding.dimension", value=dim)
    properties: dict[str, Any] = {name: _keyword() for name in KEYWORD_FIELDS}
    properties.update(
        {
            "id": {"type": "keyword"},
            "content": {"type": "text", "analyzer": ANALYZER},
            # Keywords (exact filters still work) copied into one analysed field for BM25.
            "heading": {**_keyword(), "copy_to": HEADING_TEXT_FIELD},
            "heading_path": {**_keyword(), "copy_to": HEADING_TEXT_FIELD},
            HEADING_TEXT_FIELD: {"type": "text", "analyzer": ANALYZER},
            "embedding": {
                "type": "dense_vector",
                "dims": dim,
                "index": True,
                "similarity": "cosine",
                # Plain HNSW over float vectors: the default int8 quantisation would make a
                # later switch to approximate kNN rank differently from the embedded store.
                "index_options": {"type": "hnsw"},
            },
            "year": {"type": "integer"},
            "page": {"type": "integer"},
            "char_start": {"type": "integer"},
            "char_end": {"type": "integer"},
            "chunk_index": {"type": "integer"},
            "ocr": {"type": "boolean"},
            GENERATION_FIELD: {"type": "keyword"},
        }
    )
    return {
        "dynamic_templates": [
            {"strings": {"path_match": "*", "match_mapping_type": "string", "mapping": _keyword()}}
        ],
        "properties": properties,
    }


def provision_index_mapping() -> dict[str, Any]:
    """Provisions: a few keyword columns to query by, the full provision as an unindexed payload."""
    return {
        "dynamic": "strict",
        "properties": {
            GENERATION_FIELD: {"type": "keyword"},
            "doc_id": {"type": "keyword"},
            "provision_key": {"type": "keyword"},
            "act_key": {"type": "keyword"},
            "section": _keyword(),
            "sort_key": {"type": "keyword"},
            "ordinal": {"type": "integer"},
            "written_seq": {"type": "long"},
            "cross_refs": {"type": "keyword"},
            "payload": {"type": "object", "enabled": False},
        },
    }


def source_index_mapping() -> dict[str, Any]:
    return {
        "dynamic": "strict",
        "properties": {
            GENERATION_FIELD: {"type": "keyword"},
            "doc_id": {"type": "keyword"},
            "title": {**_keyword(), "normalizer": "kb_lowercase"},  # sorted case-insensitively
            "doc_type": {"type": "keyword"},
            "act_key": {"type": "keyword"},
            "paths": _keyword(),
            "n_provisions": {"type": "integer"},
            "n_chunks": {"type": "integer"},
            "written_seq": {"type": "long"},
            "record": {"type": "object", "enabled": False},
        },
    }


def meta_index_mapping() -> dict[str, Any]:
    """Meta entries, the store state and the writer lock. Only the lookup fields are indexed."""
    return {
        "dynamic": False,
        "properties": {
            "kind": {"type": "keyword"},
            "identity": {"type": "keyword"},
            "key": {"type": "keyword"},
            "expires_at_ms": {"type": "long"},
        },
    }


def index_definitions(names: IndexNames, dim: int) -> dict[str, dict[str, Any]]:
    """``{index name: {"settings": ..., "mappings": ...}}`` for every index of a store."""
    return {
        names.chunks: {"settings": index_settings(), "mappings": chunk_index_mapping(dim)},
        names.provisions: {"settings": index_settings(), "mappings": provision_index_mapping()},
        names.sources: {"settings": index_settings(), "mappings": source_index_mapping()},
        names.meta: {"settings": {"number_of_shards": 1, "auto_expand_replicas": "0-1"}, "mappings": meta_index_mapping()},
    }


# --- client options ---------------------------------------------------------------------------
def client_options(es: ElasticsearchSettings) -> dict[str, Any]:
    """Keyword arguments for ``elasticsearch.Elasticsearch`` from the settings.

    An API key and a user name together are refused: which one wins would be a guess.
    """
    if not es.url:
        raise ConfigError("elasticsearch.url is not set (KB_ELASTICSEARCH_URL)", setting="elasticsearch.url")
    options: dict[str, Any] = {
        "hosts": [es.url],
        "verify_certs": es.verify_certs,
        "request_timeout": es.request_timeout_s,
    }
    if es.ca_certs:
        options["ca_certs"] = es.ca_certs
    if es.api_key is not None and es.username:
        raise ConfigError(
            "set either elasticsearch.api_key or elasticsearch.username/password, not both",
            setting="elasticsearch.api_key",
        )
    if es.api_key is not None:
        options["api_key"] = es.api_key.get_secret_value()
    elif es.username:
        if es.password is None:
            raise ConfigError(
                f"elasticsearch.username {es.username!r} is set but elasticsearch.password is not",
                setting="elasticsearch.password",
            )
        options["basic_auth"] = (es.username, es.password.get_secret_value())
    elif es.password is not None:
        raise ConfigError("elasticsearch.password is set but elasticsearch.username is not", setting="elasticsearch.username")
    return options


# --- queries ----------------------------------------------------------------------------------
def es_filters(filters: dict[str, Any] | None) -> dict[str, Any] | None:
    """Haystack filters as an Elasticsearch query, by elasticsearch-haystack's own conversion.

    ``meta.`` prefixes are dropped (chunk meta is stored at the top level). Malformed filters
    raise Haystack's ``FilterError``, as every Haystack store does.
    """
    if not filters:
        return None
    if not isinstance(filters, dict):
        raise FilterError(f"filters must be a dict, got {type(filters).__name__}: {filters!r}")
    return _normalize_filters(filters)


def visible_query(filters: dict[str, Any] | None, hidden: list[str], extra: list[dict[str, Any]] = ()) -> dict[str, Any]:
    """A bool query: ``filters`` and ``extra`` as filter clauses, documents of ``hidden``
    generations (being written, or replaced and awaiting deletion) excluded."""
    clauses = list(extra)
    converted = es_filters(filters)
    if converted is not None:
        clauses.append(converted)
    query: dict[str, Any] = {"bool": {"filter": clauses}}
    if hidden:
        query["bool"]["must_not"] = [{"terms": {GENERATION_FIELD: sorted(hidden)}}]
    return query


def bm25_body(terms: list[str], *, field: str, filters: dict[str, Any] | None, hidden: list[str], top_k: int) -> dict[str, Any]:
    """BM25 over ``content`` or the heading copy field: terms OR-ed, no fuzziness, no query syntax."""
    query = visible_query(filters, hidden)
    query["bool"]["must"] = [{"match": {BM25_FIELDS[field]: {"query": " ".join(terms), "operator": "or"}}}]
    return {"query": query, "size": top_k, "_source": {"excludes": ["embedding"]}}


def embedding_body(vector: list[float], *, filters: dict[str, Any] | None, hidden: list[str], top_k: int) -> dict[str, Any]:
    """Exact cosine over every filtered chunk with a vector. ``script_score`` must not return a
    negative score, so the script adds 1; the store subtracts it again."""
    query = visible_query(filters, hidden, extra=[{"exists": {"field": "embedding"}}])
    return {
        "query": {
            "script_score": {
                "query": query,
                "script": {
                    "source": "cosineSimilarity(params.query_vector, 'embedding') + 1.0",
                    "params": {"query_vector": vector},
                },
            }
        },
        "size": top_k,
        "_source": {"excludes": ["embedding"]},
    }


COSINE_OFFSET = 1.0
