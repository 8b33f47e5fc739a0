"""The behaviour the product relies on, run once per backend (``store_backend``): the embedded
store always, Elasticsearch when ``KB_ELASTICSEARCH_URL`` points at a cluster. Passing on both
is what makes ``KB_STORE=elasticsearch`` a drop-in switch.

The Act-like texts are written by the team for these tests (paraphrases, not statute text).
"""

from __future__ import annotations

import math
import threading
from pathlib import Path

import pytest
from haystack import Document

from kb.errors import NotFoundError, StoreBusyError, StoreError
from kb.models import Locator, Provision, SourceRecord
from kb.stores.factory import open_store
from tests.conftest import make_settings

DIM = 8
IT = {"act_key": "it", "act_title": "The Information Technology Act, 2000", "short_name": "IT Act", "year": 2000}
POCSO = {"act_key": "pocso", "act_title": "The Protection of Children from Sexual Offences Act, 2012",
         "short_name": "POCSO Act", "year": 2012}  # fmt: skip


def vec(*weights: float) -> list[float]:
    return [float(weights[i]) if i < len(weights) else 0.0 for i in range(DIM)]


def provision(act: dict, section: str, text: str, heading: str, refs: tuple[str, ...] = ()) -> Provision:
    return Provision(locator=Locator(section=section, heading=heading, **act), text=text, cross_refs=list(refs))


def chunk(doc_id: str, prov: Provision, embedding: list[float], *, audience=("lawyer",), n: int = 0) -> Document:
    meta = {**prov.locator.to_meta(), "doc_id": doc_id, "audience": list(audience), "language": "en", "chunk_index": n}
    return Document(id=f"{doc_id}-{prov.locator.section}-{n}", content=prov.text, meta=meta, embedding=embedding)


def record(doc_id: str, title: str, *paths: str, act_key: str = "it") -> SourceRecord:
    return SourceRecord(doc_id=doc_id, title=title, act_key=act_key, paths=list(paths), audiences=["lawyer"])


S67A = provision(IT, "67A", "Whoever publishes or transmits electronic material containing sexually explicit acts "
                 "shall be punished with imprisonment.", "Punishment for publishing sexually explicit material")
S67B = provision(IT, "67B", "Whoever publishes material depicting children in sexually explicit acts, or browses or "
                 "downloads such material, shall be punished.", "Punishment for material depicting children",
                 refs=("it:67A", "pocso:15"))  # fmt: skip
S15 = provision(POCSO, "15", "Any person who stores pornographic material involving a child without reporting it "
                "shall be liable to a fine.", "Punishment for storage of pornographic material involving child")
S19 = provision(POCSO, "19", "Any person who apprehends that an offence is likely to be committed shall report it to "
                "the Special Juvenile Police Unit or the local police.", "Reporting of offences", refs=("pocso:15",))


@pytest.fixture
def store(store_backend: str, tmp_path: Path):
    opened = open_store(make_settings(tmp_path, store_backend, embedding={"dimension": DIM}))
    yield opened
    if store_backend == "elasticsearch":  # each test has its own index prefix; remove its indices
        names = opened.names
        opened._client.indices.delete(index=[*names.data_indices(), names.meta], ignore_unavailable=True)
    opened.close()


@pytest.fixture
def loaded(store):
    store.write_source(record("it-md", "IT Act", "/corpus/it.md"), [S67A, S67B],
                       [chunk("it-md", S67A, vec(1)), chunk("it-md", S67B, vec(0, 1), audience=("police", "lawyer"))])
    store.write_source(record("pocso-md", "POCSO Act", "/corpus/pocso.md", act_key="pocso"), [S15, S19],
                       [chunk("pocso-md", S15, vec(0, 1, 1), audience=("ngo",)), chunk("pocso-md", S19, vec(0, 0, 0, 1), audience=("police",))])  # fmt: skip
    return store


def sections(docs: list[Document]) -> list[str]:
    return [d.meta["section"] for d in docs]


def test_sources_provisions_and_acts(loaded) -> None:
    got = loaded.get_source("it-md")
    assert (got.title, got.paths, got.n_provisions, got.n_chunks) == ("IT Act", ["/corpus/it.md"], 2, 2)
    assert loaded.get_provisions(["it:67A", "pocso:19", "it:999"]) == {"it:67A": S67A, "pocso:19": S19}
    assert loaded.provisions_of_source("pocso-md") == [S15, S19]
    assert [s.doc_id for s in loaded.list_sources()] == ["it-md", "pocso-md"]
    assert [s.doc_id for s in loaded.list_sources(offset=1, limit=1)] == ["pocso-md"]
    assert loaded.referring_provisions("pocso:15") == ["it:67B", "pocso:19"]
    acts = {a.act_key: (a.title, a.sections, a.chunks) for a in loaded.list_acts()}
    assert acts == {"it": ("The Information Technology Act, 2000", 2, 2),
                    "pocso": ("The Protection of Children from Sexual Offences Act, 2012", 2, 2)}  # fmt: skip
    report = loaded.check()
    assert report.ok and (report.sources, report.provisions, report.chunks) == (2, 4, 4)


def test_natural_section_order(store) -> None:
    provisions = [provision(POCSO, s, f"Text of section {s}.", f"Heading {s}") for s in ["10", "2A", "42A", "1", "42", "2"]]
    store.write_source(record("p", "POCSO", "/p.md", act_key="pocso"), provisions,
                       [chunk("p", p, vec(1)) for p in provisions])  # fmt: skip
    assert [p.locator.section for p in store.list_provisions("pocso")] == ["1", "2", "2A", "10", "42", "42A"]


def test_bm25_never_confuses_67a_and_67b(loaded) -> None:
    assert set(sections(loaded.bm25_retrieval("67B"))) <= {"67B"}
    hits = loaded.bm25_retrieval("browses downloads 67B")
    assert sections(hits) == ["67B"] and hits[0].score > 0
    assert sections(loaded.bm25_retrieval("reporting", field="heading")) == ["19"]
    assert loaded.bm25_retrieval("Juvenile", field="heading") == []
    assert loaded.bm25_retrieval("what is the") == []


def test_bm25_and_dense_filters_on_list_meta(loaded) -> None:
    police = {"field": "meta.audience", "operator": "==", "value": "police"}
    assert sorted(sections(loaded.bm25_retrieval("punished material offence", police))) == ["19", "67B"]
    assert sorted(sections(loaded.embedding_retrieval(vec(0, 1), police, 10))) == ["19", "67B"]
    nested = {"operator": "AND", "conditions": [
        {"field": "meta.act_key", "operator": "==", "value": "it"},
        {"operator": "NOT", "conditions": [{"field": "meta.section", "operator": "==", "value": "67B"}]}]}  # fmt: skip
    assert sections(loaded.embedding_retrieval(vec(0, 1), nested, 10)) == ["67A"]


def test_dense_scores_are_exact_cosines(loaded) -> None:
    query = vec(0.2, 1, 0.5)
    hits = loaded.embedding_retrieval(query, top_k=4)

    def cosine(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))

    stored = {"67A": vec(1), "67B": vec(0, 1), "15": vec(0, 1, 1), "19": vec(0, 0, 0, 1)}
    expected = sorted(((cosine(query, v), s) for s, v in stored.items()), reverse=True)
    assert sections(hits) == [s for _, s in expected]
    assert [h.score for h in hits] == pytest.approx([c for c, _ in expected], abs=1e-5)
    assert hits[0].embedding is None


def test_replacing_a_source_switches_everything_at_once(loaded) -> None:
    new_67b = provision(IT, "67B", "Amended text of section 67B about depictions.", "Punishment for material depicting children")
    new_chunks = [chunk("it-v2", new_67b, vec(0, 0, 0, 0, 1)), chunk("it-v2", new_67b, vec(0, 0, 0, 0, 1, 1), n=1)]
    loaded.write_source(record("it-v2", "IT Act", "/corpus/it.md"), [new_67b], new_chunks, replaces=["it-md"])
    assert loaded.get_source("it-md") is None and loaded.get_provision("it:67A") is None
    assert loaded.get_provision("it:67B").text.startswith("Amended")
    assert loaded.source_for_path("/corpus/it.md").doc_id == "it-v2"
    assert loaded.count_documents() == 4 and loaded.bm25_retrieval("browses downloads") == []
    assert sections(loaded.bm25_retrieval("depictions")) == ["67B", "67B"]
    assert loaded.check().ok

    # Rewriting the same content (same doc id, same chunk ids) keeps its paths, leaves no duplicate.
    loaded.add_source_path("it-v2", "/mirror/it.md")
    loaded.write_source(record("it-v2", "IT Act", "/corpus/it.md"), [new_67b], new_chunks, replaces=["it-v2"])
    assert loaded.get_source("it-v2").paths == ["/corpus/it.md", "/mirror/it.md"]
    assert loaded.count_documents() == 4 and loaded.count_sources() == 2
    assert sorted(d.id for d in loaded.filter_documents({"field": "meta.doc_id", "operator": "==", "value": "it-v2"})) == [
        "it-v2-67B-0", "it-v2-67B-1"]  # fmt: skip
    assert loaded.check().ok


def test_failed_write_leaves_the_previous_state(loaded) -> None:
    new_67b = provision(IT, "67B", "Amended text.", "Punishment for material depicting children")
    bad = chunk("it-v2", new_67b, [0.5] * (DIM + 3), n=1)
    with pytest.raises(StoreError, match=f"11 dimensions, the store holds {DIM}"):
        loaded.write_source(record("it-v2", "IT Act", "/corpus/it.md"), [new_67b],
                            [chunk("it-v2", new_67b, vec(1)), bad], replaces=["it-md"])  # fmt: skip
    with pytest.raises(StoreError, match="differs from its source"):
        loaded.write_source(record("x", "X", "/x.md"), [S67A], [chunk("other", S67A, vec(1))])
    assert loaded.get_source("it-md").n_chunks == 2 and loaded.get_source("it-v2") is None
    assert loaded.get_provision("it:67B") == S67B and loaded.count_documents() == 4
    assert loaded.check().ok


def test_paths_and_pathless_sources(loaded) -> None:
    loaded.add_source_path("it-md", "/copy/it.md")
    assert loaded.get_source("it-md").paths == ["/copy/it.md", "/corpus/it.md"]
    assert loaded.remove_source_path("/corpus/it.md") == "it-md"
    assert loaded.remove_source_path("/copy/it.md") == "it-md"
    assert loaded.get_source("it-md") is None and loaded.count_documents() == 2
    assert loaded.remove_source_path("/copy/it.md") is None
    loaded.write_source(record("other", "Other", "/elsewhere.md"), [], [])
    loaded.add_source_path("other", "/corpus/pocso.md")  # pocso-md's only path now holds other content
    assert loaded.get_source("pocso-md") is None and loaded.count_documents() == 0
    with pytest.raises(NotFoundError, match="missing"):
        loaded.add_source_path("missing", "/x.md")
    assert loaded.delete_source("other") is True and loaded.delete_source("other") is False
    assert loaded.check().ok


def test_protocol_deletes_keep_source_counts_true(loaded) -> None:
    loaded.delete_documents(["it-md-67A-0"])
    assert loaded.get_source("it-md").n_chunks == 1 and loaded.count_documents() == 3
    assert loaded.check().ok
    loaded.delete_all_documents()
    assert (loaded.count_documents(), loaded.count_sources(), loaded.list_acts()) == (0, 0, [])


def test_meta_and_writer_lock(store) -> None:
    store.set_meta("index_identity", "all-minilm-l6-v2-abc")
    assert store.get_meta("index_identity") == "all-minilm-l6-v2-abc" and store.get_meta("nothing") is None
    with pytest.raises(StoreError, match="reserved"):
        store.set_meta("store.generation", "0")
    held, release, errors = threading.Event(), threading.Event(), []

    def hold() -> None:
        with store.writer_lock(timeout_s=5):
            held.set()
            release.wait(20)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(20)
        with pytest.raises(StoreBusyError):
            with store.writer_lock(timeout_s=0.5):
                errors.append("lock taken while held")
    finally:
        release.set()
        holder.join(20)
    assert errors == []
    with store.writer_lock(timeout_s=5), store.writer_lock(timeout_s=0):  # re-entrant in one thread
        store.set_meta("ingest", "running")
