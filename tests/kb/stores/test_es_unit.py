"""The Elasticsearch backend's server-free parts, checked on the real structures they build:
index mappings and analysis, index naming, filter translation (elasticsearch-haystack's own
converter), query bodies, client options and migration batching.

Everything that needs a cluster is in ``test_elasticsearch_contract.py`` and
``test_es_store_parity.py`` and runs when ``KB_ELASTICSEARCH_URL`` is set.
"""

from __future__ import annotations

import pytest
from haystack import Document
from haystack.errors import FilterError

from kb.errors import ConfigError
from kb.models import Locator
from kb.retrieval.search import SearchFilters
from kb.settings import ElasticsearchSettings, Settings
from kb.stores.base import KEYWORD_FIELDS
from kb.stores.elasticsearch import display_url, hit_document
from kb.stores.es_mapping import (
    ANALYZER,
    GENERATION_FIELD,
    analysis_settings,
    bm25_body,
    chunk_index_mapping,
    client_options,
    embedding_body,
    es_filters,
    index_definitions,
    index_names,
    visible_query,
)
from kb.stores.es_sources import chunk_source
from kb.stores.migrate import Batch, plan_batches
from kb.stores.sqlite_text import query_terms


def _walk(node):
    """Every (key, value) pair anywhere in a nested dict/list structure."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


# --- mapping and analysis -----------------------------------------------------------------------
def test_analyzer_keeps_section_numbers_whole_and_stems_english() -> None:
    analyzer = analysis_settings()["analyzer"][ANALYZER]
    # The standard tokenizer (UAX #29) keeps "67B" one token; no filter may split or fuzz it.
    assert analyzer["tokenizer"] == "standard"
    assert analyzer["filter"] == ["kb_possessive", "lowercase", "asciifolding", "kb_porter"]
    filters = analysis_settings()["filter"]
    assert filters["kb_porter"] == {"type": "stemmer", "language": "porter"}
    assert filters["kb_possessive"] == {"type": "stemmer", "language": "possessive_english"}
    kinds = {f["type"] for f in filters.values()}
    assert not kinds & {"word_delimiter", "word_delimiter_graph", "ngram", "edge_ngram", "stop", "synonym"}


@pytest.mark.parametrize("dim", [384, 768])
def test_chunk_mapping_vector_text_and_keyword_fields(dim: int) -> None:
    props = chunk_index_mapping(dim)["properties"]
    assert props["embedding"] == {
        "type": "dense_vector", "dims": dim, "index": True, "similarity": "cosine", "index_options": {"type": "hnsw"},
    }  # fmt: skip
    assert props["content"] == {"type": "text", "analyzer": ANALYZER}
    assert props["heading_text"] == {"type": "text", "analyzer": ANALYZER}
    for name in ("heading", "heading_path"):
        assert props[name]["type"] == "keyword" and props[name]["copy_to"] == "heading_text"
    for name in ("act_key", "section", "provision_key", "pinpoint", "doc_type", "audience", "doc_id", "language"):
        assert props[name]["type"] == "keyword", name
    assert set(KEYWORD_FIELDS) <= set(props)
    assert (props["year"]["type"], props["page"]["type"], props["ocr"]["type"]) == ("integer", "integer", "boolean")
    assert props[GENERATION_FIELD] == {"type": "keyword"}
    # Unknown string meta becomes a keyword, as in elasticsearch-haystack's default mapping.
    template = chunk_index_mapping(dim)["dynamic_templates"][0]["strings"]
    assert (template["match_mapping_type"], template["mapping"]["type"]) == ("string", "keyword")


@pytest.mark.parametrize("dim", [0, -384])
def test_chunk_mapping_refuses_a_bad_dimension(dim: int) -> None:
    with pytest.raises(ConfigError, match=str(dim)):
        chunk_index_mapping(dim)


def test_every_chunk_meta_value_fits_its_mapped_type() -> None:
    """A chunk as ingest builds it (a locator's meta plus ingest's fields), flattened the way it is
    sent to Elasticsearch: each value must be accepted by the type the mapping gives its field."""
    locator = Locator(act_key="pocso", act_title="The Protection of Children from Sexual Offences Act, 2012",
                      short_name="POCSO Act", year=2012, act_number="32", part="I", chapter="V", section="19",
                      subsection="(1)(a)", heading="Reporting of offences", heading_path=("Chapter V", "Procedure"),
                      source_file="pocso.md", page=7, char_start=0, char_end=120)  # fmt: skip
    meta = {**locator.to_meta(), "doc_id": "d" * 64, "chunk_index": 3, "audience": ["police", "ngo"],
            "language": "en", "ocr": False, "title": "POCSO Act"}  # fmt: skip
    source = chunk_source(Document(id="c1", content="Any person who apprehends ...", meta=meta, embedding=[0.1] * 384), "g1")
    props = chunk_index_mapping(384)["properties"]
    accepts = {"keyword": (str,), "text": (str,), "integer": (int,), "boolean": (bool,), "dense_vector": (list,)}
    checked = 0
    for key, value in source.items():
        if key not in props:
            assert isinstance(value, str), f"{key} would be mapped dynamically but is {type(value).__name__}"
            continue
        values = value if isinstance(value, list) and props[key]["type"] != "dense_vector" else [value]
        for item in values:
            assert isinstance(item, accepts[props[key]["type"]]) and not (
                props[key]["type"] == "integer" and isinstance(item, bool)), (key, item)  # fmt: skip
        checked += 1
    assert checked >= 15
    assert source[GENERATION_FIELD] == "g1" and "score" not in source and "blob" not in source


def test_hit_document_strips_internal_fields_and_restores_meta() -> None:
    doc = Document(id="c1", content="text", meta={"act_key": "it", "section": "67B", "audience": ["lawyer"]}, embedding=[0.5] * 4)
    hit = {"_id": "c1@g1", "_score": 3.5, "_source": chunk_source(doc, "g1")}
    back = hit_document(hit, score=3.5)
    assert back == Document(id="c1", content="text", meta=doc.meta, embedding=[0.5] * 4, score=3.5)


def test_every_index_has_settings_and_strict_mappings_where_we_own_the_fields() -> None:
    names = index_names(Settings())
    definitions = index_definitions(names, 384)
    assert set(definitions) == {names.chunks, names.provisions, names.sources, names.meta}
    assert definitions[names.provisions]["mappings"]["dynamic"] == "strict"
    assert definitions[names.sources]["mappings"]["dynamic"] == "strict"
    assert definitions[names.provisions]["mappings"]["properties"]["payload"] == {"type": "object", "enabled": False}
    assert definitions[names.chunks]["settings"]["analysis"] == analysis_settings()
    assert definitions[names.sources]["mappings"]["properties"]["title"]["normalizer"] == "kb_lowercase"
    assert all(d["settings"]["number_of_shards"] == 1 for d in definitions.values())


# --- index naming -----------------------------------------------------------------------------
def test_index_names_follow_prefix_and_identity() -> None:
    settings = Settings()
    names = index_names(settings)
    identity = settings.index_identity()
    assert names.chunks == f"kb-chunks-{identity}"
    assert names.provisions == f"kb-provisions-{identity}"
    assert names.sources == f"kb-sources-{identity}"
    assert names.meta == "kb-meta"
    assert identity.startswith("all-minilm-l6-v2-") and names.chunks == names.chunks.lower()


@pytest.mark.parametrize(
    ("section", "change"),
    [
        ("embedding", {"model": "sentence-transformers/all-mpnet-base-v2"}),
        ("embedding", {"dimension": 768}),
        ("embedding", {"backend": "onnx-int8"}),
        ("embedding", {"max_seq_length": 128}),
        ("chunking", {"max_chars": 800}),
        ("chunking", {"min_chars": 50}),
        ("chunking", {"embed_heading": False}),
    ],
)
def test_index_names_change_with_what_changes_the_vectors(section: str, change: dict) -> None:
    changed = Settings(**{section: change})
    assert index_names(changed).chunks != index_names(Settings()).chunks
    assert index_names(changed).meta == index_names(Settings()).meta  # the lock and meta index is shared


@pytest.mark.parametrize(
    "change",
    [
        {"retrieval": {"top_k": 3}},
        {"embedding": {"batch_size": 8}},
        {"embedding": {"device": "cuda"}},
        {"api": {"port": 9000}},
        {"elasticsearch": {"request_timeout_s": 5.0}},
        {"store": {"backend": "elasticsearch"}},
    ],
)
def test_index_names_stay_for_settings_that_do_not_touch_the_vectors(change: dict) -> None:
    assert index_names(Settings(**change)) == index_names(Settings())


def test_prefix_changes_names_but_not_identity() -> None:
    other = index_names(Settings(elasticsearch={"index_prefix": "kb-staging"}))
    assert other.chunks == f"kb-staging-chunks-{Settings().index_identity()}" and other.meta == "kb-staging-meta"


@pytest.mark.parametrize("prefix", ["KB", "-kb", "_kb", ".kb", "kb prod", "kb/x", "kb:1", "kb*", ""])
def test_invalid_prefix_is_refused_naming_it(prefix: str) -> None:
    with pytest.raises(ConfigError, match="index_prefix"):
        index_names(Settings(elasticsearch={"index_prefix": prefix}))


# --- filters --------------------------------------------------------------------------------------
FILTER_CASES = [
    (SearchFilters(acts=["pocso", "it"]), {"bool": {"must": {"terms": {"act_key": ["pocso", "it"]}}}}),
    (SearchFilters(doc_types=["sop"]), {"bool": {"must": {"terms": {"doc_type": ["sop"]}}}}),
    (SearchFilters(year=2012), {"bool": {"must": {"term": {"year": 2012}}}}),
    (SearchFilters(audience="police"), {"bool": {"must": {"term": {"audience": "police"}}}}),
    (
        SearchFilters(acts=["jj"], doc_types=["act", "rules"], audience="ngo", year=2015),
        {"bool": {"must": [
            {"terms": {"act_key": ["jj"]}},
            {"terms": {"doc_type": ["act", "rules"]}},
            {"term": {"audience": "ngo"}},
            {"term": {"year": 2015}},
        ]}},
    ),
]  # fmt: skip


@pytest.mark.parametrize(("filters", "expected"), FILTER_CASES)
def test_search_filters_translate_to_term_queries(filters: SearchFilters, expected: dict) -> None:
    assert es_filters(filters.to_haystack()) == expected


def test_nested_and_or_not_translate_structurally() -> None:
    haystack = {
        "operator": "AND",
        "conditions": [
            {"field": "meta.act_key", "operator": "==", "value": "pocso"},
            {"operator": "OR", "conditions": [
                {"field": "meta.year", "operator": ">=", "value": 2012},
                {"field": "meta.doc_type", "operator": "in", "value": ["sop", "guideline"]},
            ]},
            {"operator": "NOT", "conditions": [{"field": "meta.audience", "operator": "==", "value": "police"}]},
        ],
    }  # fmt: skip
    assert es_filters(haystack) == {"bool": {"must": [
        {"term": {"act_key": "pocso"}},
        {"bool": {"should": [{"range": {"year": {"gte": 2012}}}, {"terms": {"doc_type": ["sop", "guideline"]}}]}},
        {"bool": {"must_not": [{"bool": {"must": [{"term": {"audience": "police"}}]}}]}},
    ]}}  # fmt: skip


def test_year_range_bounds_are_merged_under_and() -> None:
    haystack = {"operator": "AND", "conditions": [
        {"field": "meta.year", "operator": ">", "value": 2000}, {"field": "meta.year", "operator": "<=", "value": 2015}]}  # fmt: skip
    assert es_filters(haystack) == {"bool": {"must": [{"range": {"year": {"gt": 2000, "lte": 2015}}}]}}


@pytest.mark.parametrize(
    "bad",
    [
        {"conditions": [{"field": "meta.act_key", "operator": "==", "value": "it"}]},
        {"operator": "AND"},
        {"operator": "XOR", "conditions": [{"field": "meta.act_key", "operator": "==", "value": "it"}]},
        {"operator": "AND", "conditions": [{"field": "meta.act_key", "value": "it"}]},
        {"operator": "AND", "conditions": [{"field": "meta.year", "operator": ">", "value": "twenty"}]},
        {"field": "meta.act_key", "operator": "in", "value": "pocso"},
        "act_key=pocso",
    ],
)
def test_malformed_filters_raise_filter_error(bad) -> None:
    with pytest.raises(FilterError):
        es_filters(bad)


def test_empty_filters_mean_no_filter_and_hidden_generations_are_excluded() -> None:
    assert es_filters(None) is None and es_filters({}) is None
    assert visible_query(None, []) == {"bool": {"filter": []}}
    query = visible_query({"field": "meta.act_key", "operator": "==", "value": "it"}, ["g2", "g1"])
    assert query == {"bool": {
        "filter": [{"bool": {"must": {"term": {"act_key": "it"}}}}],
        "must_not": [{"terms": {GENERATION_FIELD: ["g1", "g2"]}}],
    }}  # fmt: skip


# --- query bodies -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("field", "es_field"), [("content", "content"), ("heading", "heading_text")])
def test_bm25_is_an_or_match_without_fuzziness(field: str, es_field: str) -> None:
    terms = query_terms("What is the punishment under s. 67B of the IT Act?")
    assert terms == ["punishment", "under", "s", "67b", "it", "act"]
    body = bm25_body(terms, field=field, filters=SearchFilters(acts=["it"]).to_haystack(), hidden=["g0"], top_k=7)
    assert body["query"]["bool"]["must"] == [{"match": {es_field: {"query": "punishment under s 67b it act", "operator": "or"}}}]
    assert body["size"] == 7 and body["_source"] == {"excludes": ["embedding"]}
    keys = {key for key, _ in _walk(body)}
    assert not keys & {"fuzziness", "fuzzy", "query_string", "simple_query_string", "prefix", "wildcard"}
    assert body["query"]["bool"]["must_not"] == [{"terms": {GENERATION_FIELD: ["g0"]}}]


def test_bm25_user_syntax_is_plain_words() -> None:
    terms = query_terms('67B* OR "child" AND (NEAR ~2) title:x^3')
    assert all(t.isalnum() for t in terms) and "67b" in terms


def test_embedding_body_is_exact_cosine_over_filtered_chunks_with_vectors() -> None:
    body = embedding_body([0.1, 0.2], filters=SearchFilters(year=2000).to_haystack(), hidden=[], top_k=4)
    script_score = body["query"]["script_score"]
    assert script_score["script"]["source"] == "cosineSimilarity(params.query_vector, 'embedding') + 1.0"
    assert script_score["script"]["params"] == {"query_vector": [0.1, 0.2]}
    assert script_score["query"]["bool"]["filter"] == [
        {"exists": {"field": "embedding"}}, {"bool": {"must": {"term": {"year": 2000}}}}]  # fmt: skip
    assert body["size"] == 4 and "knn" not in body


# --- client options ---------------------------------------------------------------------------------
def test_client_options_with_api_key_tls_and_timeout() -> None:
    es = ElasticsearchSettings(url="https://es.internal:9200", api_key="aWQ6a2V5", ca_certs="/certs/ca.crt",
                               verify_certs=True, request_timeout_s=12.5)  # fmt: skip
    assert client_options(es) == {"hosts": ["https://es.internal:9200"], "verify_certs": True, "request_timeout": 12.5,
                                  "ca_certs": "/certs/ca.crt", "api_key": "aWQ6a2V5"}  # fmt: skip


def test_client_options_with_basic_auth() -> None:
    es = ElasticsearchSettings(url="http://localhost:9200", username="elastic", password="changeme", verify_certs=False)
    options = client_options(es)
    assert options["basic_auth"] == ("elastic", "changeme") and options["verify_certs"] is False
    assert "api_key" not in options and "ca_certs" not in options


@pytest.mark.parametrize(
    ("es", "named"),
    [
        (ElasticsearchSettings(), "elasticsearch.url"),
        (ElasticsearchSettings(url="http://x:9200", api_key="k", username="u", password="p"), "not both"),
        (ElasticsearchSettings(url="http://x:9200", username="elastic"), "elasticsearch.password"),
        (ElasticsearchSettings(url="http://x:9200", password="p"), "elasticsearch.username"),
    ],
)
def test_client_options_refuse_incomplete_or_ambiguous_credentials(es: ElasticsearchSettings, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        client_options(es)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://elastic:s3cret@es.internal:9200", "https://es.internal:9200"),
        ("http://localhost:9200", "http://localhost:9200"),
        ("https://user@[::1]:9200/prefix", "https://[::1]:9200/prefix"),
    ],
)
def test_messages_never_show_credentials_from_the_url(url: str, shown: str) -> None:
    assert display_url(url) == shown


# --- migration batching -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("sources", "size", "expected"),
    [
        ([], 500, []),
        ([("a", 10)], 500, [Batch(("a",), 10)]),
        ([("c", 200), ("a", 200), ("b", 100)], 500, [Batch(("a", "b", "c"), 500)]),
        ([("a", 300), ("b", 300)], 500, [Batch(("a",), 300), Batch(("b",), 300)]),
        ([("a", 1200), ("b", 1), ("c", 499)], 500, [Batch(("a",), 1200), Batch(("b", "c"), 500)]),
        ([("a", 0), ("b", 0), ("c", 0)], 1, [Batch(("a", "b", "c"), 0)]),
        ([("a", 3), ("b", 3), ("c", 3), ("d", 3), ("e", 3)], 6, [Batch(("a", "b"), 6), Batch(("c", "d"), 6), Batch(("e",), 3)]),
    ],
)
def test_plan_batches(sources: list, size: int, expected: list[Batch]) -> None:
    batches = plan_batches(sources, size)
    assert batches == expected
    assert [d for b in batches for d in b.doc_ids] == sorted(d for d, _ in sources)  # every source once, in order


def test_plan_batches_refuses_a_non_positive_size() -> None:
    with pytest.raises(ConfigError, match="0"):
        plan_batches([("a", 1)], 0)
