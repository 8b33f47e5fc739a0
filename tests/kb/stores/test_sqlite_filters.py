"""Filter semantics of the SQLite store checked against Haystack's reference implementation
(``document_matches_filter``) on generated documents and filters, plus the deliberate
differences: list-valued meta (Elasticsearch-style "any element") and the Python fallback."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

import pytest
from haystack import Document
from haystack.errors import FilterError
from haystack.utils.filters import document_matches_filter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb.stores.sqlite import SQLiteKnowledgeStore
from kb.stores.sqlite_filters import compile_filters

# Values chosen so Haystack never parses a non-ISO string as a date (dateutil reads "1" as a day).
SCALARS = st.sampled_from([None, 0, 1, -2, 2.5, 1.0, True, False, "x", "pocso", "2023-01-01", "2023-01-01T00:00:00",
                           "2024-06-30T12:00:00"])  # fmt: skip
# year and act_key go through the meta_index table, a and n.k through JSON paths.
FIELDS = st.sampled_from(["meta.a", "meta.year", "meta.act_key", "meta.n.k", "a", "content"])
OPERATORS = st.sampled_from(["==", "!=", ">", ">=", "<", "<=", "in", "not in"])


@st.composite
def documents(draw) -> list[Document]:
    docs = []
    for i in range(draw(st.integers(1, 8))):
        meta = {key: draw(SCALARS) for key in ("a", "year", "act_key") if draw(st.booleans())}
        if draw(st.booleans()):
            meta["n"] = {"k": draw(SCALARS)}
        docs.append(Document(id=str(i), content=draw(st.sampled_from(["x", "2023-01-01", "text"])), meta=meta))
    return docs


def filters_on(fields: st.SearchStrategy) -> st.SearchStrategy:
    @st.composite
    def comparisons(draw) -> dict:
        operator = draw(OPERATORS)
        value = draw(st.lists(SCALARS, max_size=3)) if operator in ("in", "not in") else draw(SCALARS)
        return {"field": draw(fields), "operator": operator, "value": value}

    return st.recursive(
        comparisons(),
        lambda children: st.builds(
            lambda op, conditions: {"operator": op, "conditions": conditions},
            st.sampled_from(["AND", "OR", "NOT"]),
            st.lists(children, max_size=3),
        ),
        max_leaves=4,
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> SQLiteKnowledgeStore:
    opened = SQLiteKnowledgeStore(tmp_path_factory.mktemp("filters") / "f.sqlite3", embedding_dim=4)
    yield opened
    opened.close()


def _agree_with_haystack(store: SQLiteKnowledgeStore, docs: list[Document], filters: dict) -> None:
    store.delete_all_documents()
    store.write_documents(docs)
    if _has_non_date_range(filters):  # refused up front, whatever the documents (documented)
        with pytest.raises(FilterError, match="not an ISO 8601 date"):
            store.filter_documents(filters)
        return
    try:
        expected = [d.id for d in docs if document_matches_filter(filters, d)]
    except FilterError:
        # Haystack refuses to compare some stored values; the store either refuses the filter
        # itself or treats those documents as non-matching (documented difference).
        return
    compiled = compile_filters(filters)
    assert compiled.sql is not None
    assert [d.id for d in store.filter_documents(filters)] == expected
    if compiled.rowset is not None:  # the meta_index-only form selects the same rows
        raw = sqlite3.connect(store.path)
        ids = raw.execute(f"SELECT d.id FROM documents AS d WHERE d.rid IN ({compiled.rowset}) ORDER BY d.rid",
                          compiled.rowset_params).fetchall()  # fmt: skip
        raw.close()
        assert [i for (i,) in ids] == expected


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=documents(), filters=filters_on(FIELDS))
def test_sql_filters_agree_with_haystack(store: SQLiteKnowledgeStore, docs: list[Document], filters: dict) -> None:
    _agree_with_haystack(store, docs, filters)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=documents(), filters=filters_on(st.sampled_from(["meta.year", "meta.act_key", "year"])))
def test_indexed_field_filters_agree_with_haystack(store: SQLiteKnowledgeStore, docs: list[Document], filters: dict) -> None:
    _agree_with_haystack(store, docs, filters)


def _has_non_date_range(node: dict) -> bool:
    if "conditions" in node:
        return any(_has_non_date_range(c) for c in node["conditions"])
    value = node["value"]
    return node["operator"] in (">", ">=", "<", "<=") and isinstance(value, str) and not value.startswith("20")


LISTS = [
    Document(id="both", content="c", meta={"audience": ["police", "ngo"], "tags": ["a", 1]}),
    Document(id="lawyer", content="c", meta={"audience": ["lawyer"], "tags": []}),
    Document(id="scalar", content="c", meta={"audience": "police"}),
    Document(id="none", content="c", meta={}),
]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"field": "meta.audience", "operator": "==", "value": "police"}, ["both", "scalar"]),
        ({"field": "meta.audience", "operator": "!=", "value": "police"}, ["lawyer", "none"]),
        ({"field": "meta.audience", "operator": "in", "value": ["ngo", "lawyer"]}, ["both", "lawyer"]),
        ({"field": "meta.audience", "operator": "not in", "value": ["ngo", "lawyer"]}, ["scalar", "none"]),
        ({"field": "meta.audience", "operator": "==", "value": None}, ["none"]),
        ({"field": "meta.tags", "operator": "==", "value": 1}, ["both"]),  # JSON-path route, same rule
        ({"field": "meta.tags", "operator": ">", "value": 0}, ["both"]),
        ({"field": "meta.tags", "operator": "==", "value": ["a", 1]}, ["both"]),  # whole-list equality: Python
    ],
)
def test_list_valued_meta_matches_any_element(store: SQLiteKnowledgeStore, filters: dict, expected: list[str]) -> None:
    store.delete_all_documents()
    store.write_documents(LISTS)
    assert [d.id for d in store.filter_documents(filters)] == expected
    assert store.count_documents_by_filter(filters) == len(expected)


@pytest.mark.parametrize(
    "filters",
    [
        {"field": "embedding", "operator": "==", "value": None},
        {"field": "blob.mime_type", "operator": "==", "value": "text/plain"},
        {"field": "meta.tags", "operator": "==", "value": ["a"]},
        {"field": "meta.when", "operator": ">", "value": datetime(2020, 1, 1)},
        {"field": 'meta.odd"key', "operator": "==", "value": 1},
    ],
)
def test_odd_filters_fall_back_to_python(store: SQLiteKnowledgeStore, filters: dict) -> None:
    docs = [Document(id="e", content="e", embedding=[1.0, 0, 0, 0], meta={"when": "2021-05-01", "tags": ["a"]}),
            Document(id="p", content="p", meta={"when": "2019-05-01", 'odd"key': 1})]  # fmt: skip
    store.delete_all_documents()
    store.write_documents(docs)
    assert compile_filters(filters).python == filters
    assert [d.id for d in store.filter_documents(filters)] == [d.id for d in docs if document_matches_filter(filters, d)]
    assert len(store.embedding_retrieval([1.0, 0, 0, 0], filters)) <= 1


@pytest.mark.parametrize(
    "filters",
    [
        {"field": "meta.a", "operator": "~", "value": 1},
        {"field": "meta.a", "operator": "in", "value": "ab"},
        {"field": "meta.a", "operator": ">", "value": "yesterday"},
        {"field": "meta.a", "operator": "<", "value": [1]},
        {"operator": "XOR", "conditions": []},
        {"operator": "AND", "conditions": {"field": "meta.a"}},
        {"field": "", "operator": "==", "value": 1},
        ["not", "a", "dict"],
    ],
)
def test_malformed_filters_raise_filter_error(store: SQLiteKnowledgeStore, filters) -> None:
    with pytest.raises(FilterError):
        store.filter_documents(filters)


def test_indexed_fields_use_the_meta_index() -> None:
    compiled = compile_filters({"operator": "AND", "conditions": [
        {"field": "meta.act_key", "operator": "==", "value": "pocso"},
        {"field": "meta.year", "operator": ">=", "value": 2012},
        {"field": "meta.audience", "operator": "in", "value": ["police"]}]})  # fmt: skip
    assert compiled.sql.count("meta_index") == 3 and "json_extract" not in compiled.sql
    assert compiled.rowset.count("INTERSECT") == 2 and "documents" not in compiled.rowset


def test_filtered_queries_use_an_index(tmp_path: Path) -> None:
    store = SQLiteKnowledgeStore(tmp_path / "plan.sqlite3", embedding_dim=4)
    compiled = compile_filters({"field": "meta.act_key", "operator": "==", "value": "pocso"})
    conn = store._db.connection()
    plan = " ".join(str(r) for r in conn.execute(f"EXPLAIN QUERY PLAN SELECT rid FROM documents AS d WHERE {compiled.sql}",
                                                 compiled.params))  # fmt: skip
    assert "meta_index" in plan and "SCAN meta_index" not in plan
    store.close()
