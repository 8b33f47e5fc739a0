"""Haystack's own DocumentStore contract suite, run against the Elasticsearch store.

Runs only when ``KB_ELASTICSEARCH_URL`` points at an Elasticsearch 8.x cluster (credentials
through the usual ``KB_ELASTICSEARCH__*`` settings); every test uses its own index prefix and
deletes its indices afterwards.

Included: ``DocumentStoreBaseExtendedTests`` (= ``DocumentStoreBaseTests``: count, write with
every duplicate policy, delete, the full filter suite incl. malformed filters; plus
``DeleteAllTest``, ``DeleteByFilterTest``, ``UpdateByFilterTest``) and
``CountDocumentsByFilterTest``. Not included: the metadata-inspection mixins
(``CountUniqueMetadataByFilterTest``, ``GetMetadataFields*``, ``GetMetadataFieldUniqueValuesTest``);
the store does not expose those helpers, the product does not use them.

Documents come back ordered by id (Elasticsearch has no insertion order), so they are compared
as sorted lists, as elasticsearch-haystack's own tests do.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from haystack import Document
from haystack.document_stores.errors import DuplicateDocumentError
from haystack.testing.document_store import CountDocumentsByFilterTest, DocumentStoreBaseExtendedTests

from kb.stores.base import KnowledgeStore
from tests.conftest import _es_url, make_settings

pytestmark = [
    pytest.mark.elasticsearch,
    pytest.mark.skipif(not _es_url(), reason="Elasticsearch tests need KB_ELASTICSEARCH_URL (no server can run on this machine)"),
]


class TestElasticsearchDocumentStoreContract(DocumentStoreBaseExtendedTests, CountDocumentsByFilterTest):
    @pytest.fixture
    def document_store(self, tmp_path: Path):
        from kb.stores.elasticsearch import ElasticsearchKnowledgeStore

        # The suite writes 768-dimensional embeddings.
        store = ElasticsearchKnowledgeStore.from_settings(make_settings(tmp_path, "elasticsearch", embedding={"dimension": 768}))
        yield store
        store._client.indices.delete(index=[*store.names.data_indices(), store.names.meta], ignore_unavailable=True)
        store.close()

    def assert_documents_are_equal(self, received: list[Document], expected: list[Document]) -> None:
        assert sorted(received, key=lambda d: d.id) == sorted(expected, key=lambda d: d.id)

    def test_write_documents(self, document_store) -> None:
        """Default policy (NONE) behaves as FAIL, as in the embedded store."""
        doc = Document(content="test doc")
        assert document_store.write_documents([doc]) == 1
        with pytest.raises(DuplicateDocumentError):
            document_store.write_documents([doc])
        assert document_store.filter_documents() == [doc]

    def test_is_a_knowledge_store(self, document_store) -> None:
        assert isinstance(document_store, KnowledgeStore)

    def test_more_than_ten_thousand_matches_are_returned(self, document_store) -> None:
        """filter_documents pages with a point in time; from/size paging would stop at 10 000."""
        docs = [Document(id=f"d{i:05d}", content=f"document {i}", meta={"group": "all"}) for i in range(10_050)]
        assert document_store.write_documents(docs) == 10_050
        found = document_store.filter_documents({"field": "meta.group", "operator": "==", "value": "all"})
        assert len(found) == 10_050 and found[0].id == "d00000" and found[-1].id == "d10049"
