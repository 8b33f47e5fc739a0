"""Haystack's own DocumentStore contract suite, run against the embedded SQLite store.

Included (every contract class Haystack 3.4 ships in ``haystack.testing.document_store``):

* ``DocumentStoreBaseExtendedTests`` = ``DocumentStoreBaseTests`` (count, write with every
  duplicate policy, delete, the full filter suite incl. malformed filters) + ``DeleteAllTest``,
  ``DeleteByFilterTest``, ``UpdateByFilterTest``;
* ``CountDocumentsByFilterTest``, ``CountUniqueMetadataByFilterTest``,
  ``GetMetadataFieldsInfoTest``, ``GetMetadataFieldMinMaxTest``,
  ``GetMetadataFieldUniqueValuesTest``.

Excluded: none. Two tests of ``DeleteAllTest`` skip themselves by design because our
``delete_all_documents`` has no ``recreate_index`` parameter (there is no index to recreate).

The suite writes 768-dimensional embeddings, so the fixture opens the store with
``embedding_dim=768``; documents are compared exactly (float64 embeddings round-trip).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from haystack import Document
from haystack.document_stores.errors import DuplicateDocumentError
from haystack.document_stores.types import DuplicatePolicy
from haystack.testing.document_store import (
    CountDocumentsByFilterTest,
    CountUniqueMetadataByFilterTest,
    DocumentStoreBaseExtendedTests,
    GetMetadataFieldMinMaxTest,
    GetMetadataFieldsInfoTest,
    GetMetadataFieldUniqueValuesTest,
)

from kb.stores.base import KnowledgeStore
from kb.stores.sqlite import SQLiteKnowledgeStore


class TestSQLiteDocumentStoreContract(
    DocumentStoreBaseExtendedTests,
    CountDocumentsByFilterTest,
    CountUniqueMetadataByFilterTest,
    GetMetadataFieldsInfoTest,
    GetMetadataFieldMinMaxTest,
    GetMetadataFieldUniqueValuesTest,
):
    @pytest.fixture
    def document_store(self, tmp_path: Path) -> SQLiteKnowledgeStore:
        store = SQLiteKnowledgeStore(tmp_path / "contract.sqlite3", embedding_dim=768)
        yield store
        store.close()

    def test_write_documents(self, document_store: SQLiteKnowledgeStore) -> None:
        """Default policy (NONE) behaves as FAIL."""
        doc = Document(content="test doc")
        assert document_store.write_documents([doc]) == 1
        with pytest.raises(DuplicateDocumentError):
            document_store.write_documents([doc])
        assert document_store.filter_documents() == [doc]

    def test_failed_batch_writes_nothing(self, document_store: SQLiteKnowledgeStore) -> None:
        """A FAIL batch with one duplicate leaves the store as it was (one transaction)."""
        first = Document(content="already there")
        document_store.write_documents([first])
        with pytest.raises(DuplicateDocumentError):
            document_store.write_documents([Document(content="new"), first], policy=DuplicatePolicy.FAIL)
        assert document_store.filter_documents() == [first]

    def test_round_trip_of_every_document_field(self, document_store: SQLiteKnowledgeStore) -> None:
        from haystack.dataclasses import ByteStream, SparseEmbedding

        doc = Document(
            content="with everything",
            meta={"nested": {"a": [1, 2.5, None, "x"]}, "flag": False, "text": "दण्ड"},
            embedding=[0.1 * i for i in range(768)],  # Python doubles, not float32 values
            blob=ByteStream(data=b"\x00\x01raw", meta={"name": "f.bin"}, mime_type="application/octet-stream"),
            sparse_embedding=SparseEmbedding(indices=[3, 7], values=[0.25, 1.5]),
        )
        document_store.write_documents([doc])
        assert document_store.filter_documents() == [doc]

    def test_serialisation_round_trip(self, document_store: SQLiteKnowledgeStore) -> None:
        data = document_store.to_dict()
        assert data == {
            "type": "kb.stores.sqlite.SQLiteKnowledgeStore",
            "init_parameters": {"path": str(document_store.path), "busy_timeout_ms": 30000, "embedding_dim": 768},
        }
        document_store.write_documents([Document(content="persisted")])
        reopened = SQLiteKnowledgeStore.from_dict(data)
        assert [d.content for d in reopened.filter_documents()] == ["persisted"]
        reopened.close()

    def test_satisfies_the_knowledge_store_protocol(self, document_store: SQLiteKnowledgeStore) -> None:
        assert isinstance(document_store, KnowledgeStore)
