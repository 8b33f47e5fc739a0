"""Elasticsearch-only behaviour: the analyzer as the cluster applies it, what crashed writes leave
behind, the writer lock's expiry, serialisation. Runs when ``KB_ELASTICSEARCH_URL`` is set.

The Act-like texts are written by the team for these tests (paraphrases, not statute text).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from haystack import Document

from kb.errors import StoreBusyError
from kb.models import Locator, Provision, SourceRecord
from kb.stores.es_mapping import ANALYZER, GENERATION_FIELD
from kb.stores.es_sources import source_body
from kb.stores.es_state import LOCK_ID, now_ms
from tests.conftest import _es_url, make_settings

pytestmark = [
    pytest.mark.elasticsearch,
    pytest.mark.skipif(not _es_url(), reason="Elasticsearch tests need KB_ELASTICSEARCH_URL (no server can run on this machine)"),
]
DIM = 8
LOC = Locator(act_key="it", act_title="The Information Technology Act, 2000", short_name="IT Act", year=2000,
              section="67B", heading="Punishment for material depicting children")  # fmt: skip
S67B = Provision(locator=LOC, text="Whoever browses or downloads material depicting children in sexually explicit acts.")


def chunk(doc_id: str, n: int = 0) -> Document:
    meta = {**LOC.to_meta(), "doc_id": doc_id, "audience": ["lawyer"], "language": "en"}
    return Document(id=f"{doc_id}-{n}", content=S67B.text, meta=meta, embedding=[1.0] + [0.0] * (DIM - 1))


@pytest.fixture
def store(tmp_path: Path):
    from kb.stores.elasticsearch import ElasticsearchKnowledgeStore

    opened = ElasticsearchKnowledgeStore.from_settings(make_settings(tmp_path, "elasticsearch", embedding={"dimension": DIM}))
    yield opened
    opened._client.indices.delete(index=[*opened.names.data_indices(), opened.names.meta], ignore_unavailable=True)
    opened.close()


def test_cluster_analyzer_keeps_67b_whole(store) -> None:
    result = store._client.indices.analyze(index=store.names.chunks, analyzer=ANALYZER, text="Section 67B of the IT Act's rules")
    tokens = [t["token"] for t in result["tokens"]]
    assert "67b" in tokens and "67" not in tokens and "b" not in tokens
    assert "act" in tokens and "rule" in tokens  # possessive dropped, Porter stem


def test_installed_mapping_is_ours(store) -> None:
    mapping = store._client.indices.get_mapping(index=store.names.chunks)[store.names.chunks]["mappings"]
    assert mapping["properties"]["embedding"]["dims"] == DIM
    assert mapping["properties"]["content"]["analyzer"] == ANALYZER


def test_a_write_that_crashed_before_committing_is_invisible_and_collected(store) -> None:
    store.write_source(SourceRecord(doc_id="it", title="IT Act", act_key="it", paths=["/it.md"]), [S67B], [chunk("it")])
    # A second copy written the way write_source does, then "crashed" before the commit.
    generation, seq = store._ledger.begin()
    record = SourceRecord(doc_id="it", title="IT Act (new)", act_key="it", paths=["/it.md"], n_chunks=1)
    store._bulk(store._source_actions(record, [S67B], [chunk("it", 1)], generation, seq), "simulated crash")
    assert store.get_source("it").title == "IT Act" and store.count_documents() == 1
    assert [d.id for d in store.bm25_retrieval("browses")] == ["it-0"]
    assert store.check().ok
    # Abandoned writes are collected once stale (here: at once).
    deleted = store._ledger.collect(pending_older_than_ms=0)
    assert deleted == 3  # source record, provision, chunk
    raw = store._client.count(index=store.names.chunks, query={"term": {GENERATION_FIELD: generation}})["count"]
    assert raw == 0 and store.count_documents() == 1


def test_a_crash_after_the_switch_leaves_only_the_new_copy_visible(store) -> None:
    store.write_source(SourceRecord(doc_id="it", title="IT Act", act_key="it", paths=["/it.md"]), [S67B], [chunk("it")])
    old = store._client.search(index=store.names.sources, query={"term": {"doc_id": "it"}})["hits"]["hits"][0]
    # Retired but not yet deleted, as after a crash between the switch and the cleanup.
    store._client.index(index=store.names.sources, id="it@stale", refresh="wait_for",
                        document={**old["_source"], GENERATION_FIELD: "stale", "title": "Old copy"})  # fmt: skip
    store._ledger.retire(["stale"])
    assert store.count_sources() == 1 and store.get_source("it").title == "IT Act"
    store._ledger.collect()
    assert store._client.count(index=store.names.sources)["count"] == 1


def test_an_expired_writer_lock_is_taken_over(store) -> None:
    store._client.index(index=store.names.meta, id=LOCK_ID, refresh="wait_for",
                        document={"kind": "lock", "owner": "crashed host", "expires_at_ms": now_ms() + 60_000})  # fmt: skip
    with pytest.raises(StoreBusyError, match="crashed host"):
        with store.writer_lock(timeout_s=0.5):
            pass
    store._client.index(index=store.names.meta, id=LOCK_ID, refresh="wait_for",
                        document={"kind": "lock", "owner": "crashed host", "expires_at_ms": now_ms() - 1})  # fmt: skip
    with store.writer_lock(timeout_s=2):
        held = store._client.get(index=store.names.meta, id=LOCK_ID)["_source"]
        assert held["owner"] != "crashed host"
    assert store._client.exists(index=store.names.meta, id=LOCK_ID).body is False


def test_to_dict_round_trip_keeps_no_secret(store) -> None:
    from kb.stores.elasticsearch import ElasticsearchKnowledgeStore

    data = store.to_dict()
    assert "password" not in data["init_parameters"]["elasticsearch"]
    assert "api_key" not in data["init_parameters"]["elasticsearch"]
    again = ElasticsearchKnowledgeStore.from_dict(data)
    assert again.names == store.names
    again.close()


def test_source_body_matches_the_strict_mapping(store) -> None:
    body = source_body(SourceRecord(doc_id="x", title="X", paths=["/x"]), "g", 1)
    store._client.index(index=store.names.sources, id="x@g", document=body, refresh="wait_for")  # strict: fails on a stray field
    assert store._client.count(index=store.names.sources)["count"] == 1
