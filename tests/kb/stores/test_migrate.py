"""``kb migrate``: copying a whole store without re-embedding, in batches, resumable.

The copy logic is generic over two KnowledgeStores, so here it runs embedded store -> embedded
store on real SQLite files with real embeddings from the bundled model; the same test runs
embedded -> Elasticsearch -> embedded when ``KB_ELASTICSEARCH_URL`` is set.

The Act-like texts are written by the team for these tests (paraphrases, not statute text).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from haystack import Document

from kb.embedding import Encoder
from kb.errors import StaleIndexError
from kb.models import Locator, Provision, SourceRecord
from kb.settings import Settings
from kb.stores.migrate import CHECKPOINT_KEY, IDENTITY_KEY, BatchDone, migrate
from kb.stores.sqlite import SQLiteKnowledgeStore
from tests.conftest import _es_url, make_settings

ACTS = {
    "pocso": ("The Protection of Children from Sexual Offences Act, 2012", "POCSO Act", 2012, {
        "19": ("Reporting of offences", [
            "Any person, including the child, who apprehends that an offence under this Act is likely to be committed "
            "or knows that one has been committed, shall inform the Special Juvenile Police Unit or the local police.",
            "The report shall be recorded in writing, given an entry number, read over to the informant and entered "
            "in a book kept by the police unit.",
        ]),
        "21": ("Punishment for failure to report or record a case", [
            "A person who fails to report the commission of an offence, or fails to record it, shall be punished with "
            "imprisonment which may extend to six months, or with fine, or with both.",
        ]),
        "24": ("Recording of statement of a child", [
            "The statement of the child shall be recorded at the residence of the child or at a place where the child "
            "usually resides, by a woman police officer not below the rank of sub-inspector.",
            "The police officer shall not be in uniform while recording the statement of the child.",
        ]),
    }),
    "it": ("The Information Technology Act, 2000", "IT Act", 2000, {
        "67A": ("Punishment for publishing material containing sexually explicit act", [
            "Whoever publishes or transmits in electronic form any material which contains a sexually explicit act "
            "shall be punished with imprisonment and with fine.",
        ]),
        "67B": ("Punishment for publishing material depicting children in sexually explicit act", [
            "Whoever publishes or transmits material in electronic form which depicts children engaged in sexually "
            "explicit act shall be punished.",
            "Whoever creates text or digital images, collects, seeks, browses, downloads, advertises, promotes, "
            "exchanges or distributes such material shall be punished likewise.",
        ]),
    }),
    "jj": ("The Juvenile Justice (Care and Protection of Children) Act, 2015", "JJ Act", 2015, {
        "74": ("Prohibition on disclosure of identity of children", [
            "No report in any newspaper, magazine or audio-visual media shall disclose the name, address or school or "
            "any other particular which may lead to the identification of a child in conflict with law or a child in "
            "need of care and protection.",
        ]),
        "75": ("Punishment for cruelty to child", [
            "Whoever, having actual charge of a child, assaults, abandons, abuses, exposes or wilfully neglects the "
            "child shall be punishable with imprisonment for a term which may extend to three years.",
        ]),
    }),
}  # fmt: skip


def build_sources(encoder: Encoder) -> list[tuple[SourceRecord, list[Provision], list[Document]]]:
    """One source per Act plus a guide that refers to two provisions; chunks embedded for real."""
    built = []
    for act_key, (title, short, year, sections) in ACTS.items():
        doc_id = f"{act_key}-{year}-md"
        provisions, pieces = [], []
        for section, (heading, paragraphs) in sections.items():
            text = "\n".join(paragraphs)
            loc = Locator(act_key=act_key, act_title=title, short_name=short, year=year, section=section, heading=heading)
            provisions.append(Provision(locator=loc, text=text, cross_refs=["pocso:19"] if section == "21" else []))
            start = 0
            for paragraph in paragraphs:
                pieces.append((loc.narrowed(char_start=start, char_end=start + len(paragraph)), paragraph))
                start += len(paragraph) + 1
        embeddings = encoder.embed_texts([f"{short} {loc.heading}: {text}" for loc, text in pieces])
        chunks = [
            Document(id=f"{doc_id}-{i}", content=text, embedding=emb,
                     meta={**loc.to_meta(), "doc_id": doc_id, "chunk_index": i, "audience": ["lawyer", "police"],
                           "language": "en", "ocr": False, "title": title})
            for i, ((loc, text), emb) in enumerate(zip(pieces, embeddings, strict=True))
        ]  # fmt: skip
        record = SourceRecord(doc_id=doc_id, title=title, act_key=act_key, audiences=["lawyer", "police"],
                              paths=[f"/corpus/{act_key}.md"], index_identity=Settings().index_identity(),
                              links=["pocso:19"] if act_key == "jj" else [])  # fmt: skip
        built.append((record, provisions, chunks))
    return built


@pytest.fixture(scope="module")
def sources() -> list[tuple[SourceRecord, list[Provision], list[Document]]]:
    return build_sources(Encoder(Settings().embedding))


def sqlite_store(path: Path) -> SQLiteKnowledgeStore:
    return SQLiteKnowledgeStore(path, embedding_dim=384)


@pytest.fixture
def origin(tmp_path: Path, sources) -> SQLiteKnowledgeStore:
    store = sqlite_store(tmp_path / "origin.sqlite3")
    for record, provisions, chunks in sources:
        store.write_source(record, provisions, chunks)
    store.set_meta(IDENTITY_KEY, Settings().index_identity())
    yield store
    store.close()


def snapshot(store) -> dict:
    """Everything migration must carry over, keyed so that storage order does not matter."""
    records = {r.doc_id: r for r in store.list_sources(limit=1000)}
    return {
        "sources": records,
        "provisions": {d: store.provisions_of_source(d) for d in records},
        "chunks": {d.id: d for d in store.filter_documents()},
    }


def assert_same_content(copy, origin) -> None:
    got, want = snapshot(copy), snapshot(origin)
    assert got["sources"] == want["sources"]
    assert got["provisions"] == want["provisions"]
    assert set(got["chunks"]) == set(want["chunks"])
    for chunk_id, chunk in want["chunks"].items():
        moved = got["chunks"][chunk_id]
        assert (moved.content, moved.meta) == (chunk.content, chunk.meta), chunk_id
        assert moved.embedding == chunk.embedding, f"{chunk_id}: embedding changed in transit"
    assert copy.count_documents() == origin.count_documents()
    assert copy.check().ok, copy.check().problems


def test_full_migration_copies_every_source_provision_chunk_and_embedding(origin, tmp_path: Path) -> None:
    target = sqlite_store(tmp_path / "copy.sqlite3")
    seen: list[BatchDone] = []
    report = migrate(origin, target, source_label="sqlite:origin", identity=Settings().index_identity(),
                     batch_chunks=3, on_batch=seen.append)  # fmt: skip
    assert (report.sources_total, report.sources_copied, report.sources_skipped) == (3, 3, 0)
    assert (report.provisions_copied, report.chunks_copied, report.unlinked_documents) == (7, 10, 0)
    # it (3 chunks) | jj (2) | pocso (5, larger than a batch: alone)
    assert [(b.number, b.last_doc_id, b.chunks_done) for b in seen] == [
        (1, "it-2000-md", 3), (2, "jj-2015-md", 5), (3, "pocso-2012-md", 10)]  # fmt: skip
    assert all(b.chunks_total == 10 and b.batches == 3 for b in seen)
    assert_same_content(target, origin)
    assert target.get_meta(IDENTITY_KEY) == Settings().index_identity()
    assert json.loads(target.get_meta(CHECKPOINT_KEY))["done"] is True
    # The copy searches like the original: same best chunk for a real query embedding.
    query = Encoder(Settings().embedding).embed_query("who records the statement of a child victim")
    assert [d.id for d in target.embedding_retrieval(query, top_k=3)] == [d.id for d in origin.embedding_retrieval(query, top_k=3)]
    assert target.get_provision("pocso:24").locator.heading == "Recording of statement of a child"
    assert target.referring_provisions("pocso:19") == ["pocso:21"]
    target.close()


class Interrupt(Exception):
    """Stands for Ctrl-C or a lost connection between two batches."""


def test_interrupted_migration_resumes_without_duplicates(origin, tmp_path: Path) -> None:
    target = sqlite_store(tmp_path / "copy.sqlite3")

    def stop_after_two(done: BatchDone) -> None:
        if done.number == 2:
            raise Interrupt(f"stopped after batch {done.number}")

    with pytest.raises(Interrupt):
        migrate(origin, target, source_label="sqlite:origin", batch_chunks=3, on_batch=stop_after_two)
    assert sorted(s.doc_id for s in target.list_sources()) == ["it-2000-md", "jj-2015-md"]
    assert json.loads(target.get_meta(CHECKPOINT_KEY)) == {"from": "sqlite:origin", "last_doc_id": "jj-2015-md", "done": False}
    assert target.count_documents() == 5

    report = migrate(origin, target, source_label="sqlite:origin", batch_chunks=3)
    assert (report.resumed_after, report.sources_skipped, report.sources_copied, report.chunks_copied) == (
        "jj-2015-md", 2, 1, 5)  # fmt: skip
    assert_same_content(target, origin)

    # A checkpoint left by a migration from another store is not ours: everything is copied,
    # replacing what is there, still without duplicates.
    target.set_meta(CHECKPOINT_KEY, json.dumps({"from": "sqlite:elsewhere", "last_doc_id": "zzz", "done": False}))
    again = migrate(origin, target, source_label="sqlite:origin", batch_chunks=500)
    assert (again.resumed_after, again.sources_copied, again.chunks_copied) == (None, 3, 10)
    assert_same_content(target, origin)
    target.close()


def test_restart_ignores_the_checkpoint(origin, tmp_path: Path) -> None:
    target = sqlite_store(tmp_path / "copy.sqlite3")
    def stop_at_once(done: BatchDone) -> None:
        raise Interrupt(f"stopped after batch {done.number}")

    with pytest.raises(Interrupt):
        migrate(origin, target, source_label="sqlite:origin", batch_chunks=3, on_batch=stop_at_once)
    assert target.count_sources() == 1
    report = migrate(origin, target, source_label="sqlite:origin", batch_chunks=3, restart=True)
    assert (report.resumed_after, report.sources_copied) == (None, 3)
    assert_same_content(target, origin)
    target.close()


def test_stores_built_with_other_settings_are_refused(origin, tmp_path: Path) -> None:
    target = sqlite_store(tmp_path / "copy.sqlite3")
    other = Settings(chunking={"max_chars": 600}).index_identity()
    with pytest.raises(StaleIndexError, match="source store was built as"):
        migrate(origin, target, source_label="sqlite:origin", identity=other)
    assert target.count_sources() == 0
    target.close()


def test_unlinked_documents_are_reported_not_copied(origin, tmp_path: Path) -> None:
    origin.write_documents([Document(id="loose", content="written outside any source", embedding=[0.1] * 384)])
    target = sqlite_store(tmp_path / "copy.sqlite3")
    report = migrate(origin, target, source_label="sqlite:origin")
    assert report.unlinked_documents == 1 and "not copied" in report.notes[0]
    assert target.count_documents() == 10
    target.close()


@pytest.mark.elasticsearch
@pytest.mark.skipif(not _es_url(), reason="Elasticsearch tests need KB_ELASTICSEARCH_URL (no server can run on this machine)")
def test_round_trip_through_elasticsearch(origin, tmp_path: Path) -> None:
    from kb.stores.elasticsearch import ElasticsearchKnowledgeStore

    es = ElasticsearchKnowledgeStore.from_settings(make_settings(tmp_path, "elasticsearch"))
    back = sqlite_store(tmp_path / "back.sqlite3")
    try:
        to_es = migrate(origin, es, source_label="sqlite:origin", identity=Settings().index_identity(), batch_chunks=3)
        assert (to_es.sources_copied, to_es.chunks_copied) == (3, 10)
        assert_same_content(es, origin)
        from_es = migrate(es, back, source_label="elasticsearch:test", identity=Settings().index_identity())
        assert (from_es.sources_copied, from_es.chunks_copied) == (3, 10)
        assert_same_content(back, origin)
    finally:
        es._client.indices.delete(index=[*es.names.data_indices(), es.names.meta], ignore_unavailable=True)
        es.close()
        back.close()


# --- the command ---------------------------------------------------------------------------------
@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    from typer.testing import CliRunner

    from api.cli import app
    from kb.settings import get_settings

    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield lambda *args: CliRunner().invoke(app, ["migrate", *args])
    get_settings.cache_clear()


def test_cli_refuses_an_unknown_target(cli) -> None:
    result = cli("--to", "mongo")
    assert result.exit_code == 2 and "--to must be 'elasticsearch' or 'sqlite', got 'mongo'" in result.output


def test_cli_names_the_missing_embedded_store(cli, tmp_path: Path) -> None:
    result = cli("--to", "elasticsearch")
    assert result.exit_code == 2 and "no embedded store to migrate from" in " ".join(result.output.split())
    assert "kb.sqlite3" in result.output


def test_cli_names_the_missing_cluster_url(cli, monkeypatch: pytest.MonkeyPatch, origin, tmp_path: Path) -> None:
    from kb.settings import get_settings

    monkeypatch.delenv("KB_ELASTICSEARCH_URL", raising=False)
    monkeypatch.setenv("KB_DATA_DIR", str(origin.path.parent))
    monkeypatch.setenv("KB_STORE__SQLITE_FILE", origin.path.name)
    get_settings.cache_clear()
    result = cli("--to", "elasticsearch")
    assert result.exit_code == 2 and "KB_ELASTICSEARCH_URL" in result.output


@pytest.mark.elasticsearch
@pytest.mark.skipif(not _es_url(), reason="Elasticsearch tests need KB_ELASTICSEARCH_URL (no server can run on this machine)")
def test_cli_migrates_into_elasticsearch(cli, monkeypatch: pytest.MonkeyPatch, origin, tmp_path: Path) -> None:
    from kb.settings import get_settings
    from kb.stores.elasticsearch import ElasticsearchKnowledgeStore

    prefix = f"kbcli-{tmp_path.name.lower()[-20:]}"
    monkeypatch.setenv("KB_DATA_DIR", str(origin.path.parent))
    monkeypatch.setenv("KB_STORE__SQLITE_FILE", origin.path.name)
    monkeypatch.setenv("KB_ELASTICSEARCH__INDEX_PREFIX", prefix)
    get_settings.cache_clear()
    result = cli("--to", "elasticsearch", "--batch-size", "4", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["sources_copied"], report["chunks_copied"]) == (3, 10)
    es = ElasticsearchKnowledgeStore.from_settings(get_settings())
    try:
        assert_same_content(es, origin)
    finally:
        es._client.indices.delete(index=[*es.names.data_indices(), es.names.meta], ignore_unavailable=True)
        es.close()
