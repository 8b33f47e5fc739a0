"""Haystack documents <-> rows of the ``documents`` table.

A row keeps every field of a Document so ``filter_documents`` gives back exactly what was
written: content, meta (JSON), the embedding (float32, plus a float64 copy when needed, see
:mod:`kb.stores.sqlite_vectors`), blob bytes with their meta, and the sparse embedding.
"""

from __future__ import annotations

import json
from typing import Any

from haystack import Document
from haystack.dataclasses import ByteStream, SparseEmbedding

from kb.errors import StoreError
from kb.stores.sqlite_text import heading_text
from kb.stores.sqlite_vectors import decode_embedding, encode_embedding

DOC_COLUMNS = "d.rid, d.id, d.content, d.meta, d.embedding, d.embedding_exact, d.blob, d.blob_info, d.sparse"
# The same columns with the embeddings left unread: search results without vectors skip 1.5 kB a row.
DOC_COLUMNS_NO_EMBEDDING = DOC_COLUMNS.replace("d.embedding, d.embedding_exact", "NULL, NULL")
INSERT_SQL = (
    "INSERT INTO documents(id, content, heading, meta, embedding, embedding_exact, blob, blob_info, sparse, doc_id) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# Overwriting keeps the row id and the link to a source: the chunk is replaced, not moved.
UPSERT_SQL = INSERT_SQL + (
    " ON CONFLICT(id) DO UPDATE SET content = excluded.content, heading = excluded.heading, meta = excluded.meta, "
    "embedding = excluded.embedding, embedding_exact = excluded.embedding_exact, blob = excluded.blob, "
    "blob_info = excluded.blob_info, sparse = excluded.sparse"
)


def meta_json(meta: dict[str, Any], *, doc_id: str) -> str:
    try:
        return json.dumps(meta, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as err:
        raise StoreError(f"document {doc_id}: meta cannot be stored as JSON ({err})", doc_id=doc_id) from err


def document_row(doc: Document, dim: int, doc_id: str | None) -> tuple[Any, ...]:
    """The ``documents`` row of a Haystack document (see :data:`INSERT_SQL`)."""
    single, exact = encode_embedding(doc.embedding, dim, doc_id=doc.id)
    blob = blob_info = sparse = None
    if doc.blob is not None:
        blob = doc.blob.data
        blob_info = json.dumps({"meta": doc.blob.meta, "mime_type": doc.blob.mime_type})
    if doc.sparse_embedding is not None:
        sparse = json.dumps(doc.sparse_embedding.to_dict())
    return (doc.id, doc.content, heading_text(doc.meta), meta_json(doc.meta, doc_id=doc.id),
            single, exact, blob, blob_info, sparse, doc_id)  # fmt: skip


def row_document(row: tuple[Any, ...], *, with_embedding: bool = True, score: float | None = None) -> Document:
    _rid, doc_id, content, meta, single, exact, blob, blob_info, sparse = row
    stream = None
    if blob is not None:
        info = json.loads(blob_info or "{}")
        stream = ByteStream(data=bytes(blob), meta=info.get("meta") or {}, mime_type=info.get("mime_type"))
    return Document(
        id=doc_id,
        content=content,
        meta=json.loads(meta),
        embedding=decode_embedding(single, exact) if with_embedding else None,
        blob=stream,
        sparse_embedding=SparseEmbedding.from_dict(json.loads(sparse)) if sparse else None,
        score=score,
    )
