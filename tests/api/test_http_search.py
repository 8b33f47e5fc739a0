"""GET/POST /search over the fixture store: citation fields, filters, pagination, limits."""

from __future__ import annotations

import pytest
from api_helpers import assert_error

HIT_FIELDS = {"provision_key", "act_key", "act_title", "section", "subsection", "pinpoint", "heading", "heading_path",
              "doc_type", "citation", "page", "char_start", "char_end", "score", "signals", "passage", "source"}


def test_search_returns_cited_hits(client):
    body = client.get("/search", params={"q": "who must report sexual abuse of a child", "top_k": 5}).json()
    assert body["hits"], body
    assert body["offset"] == 0 and body["top_k"] == 5
    keys = [h["provision_key"] for h in body["hits"]]
    assert "pocso:19" in keys, keys
    for hit in body["hits"]:
        assert set(hit) == HIT_FIELDS
        assert hit["provision_key"] == f"{hit['act_key']}:{hit['section']}"
        assert hit["passage"].strip()
        if hit["doc_type"] == "act":
            assert f"s. {hit['section']}" in hit["citation"], hit
    # A server path never leaks: files are shown by name only.
    assert all("/" not in (h["source"]["file"] or "") for h in body["hits"])


def test_hit_passage_is_the_stored_provision_text_at_its_span(client):
    hits = client.get("/search", params={"q": "child", "top_k": 100}).json()["hits"]
    assert len(hits) > 5
    for hit in hits:
        provision = client.get(f"/provisions/{hit['act_key']}/{hit['section']}").json()
        assert provision["text"][hit["char_start"]:hit["char_end"]] == hit["passage"], hit["provision_key"]


def test_explicit_citation_comes_first(client):
    body = client.get("/search", params={"q": "POCSO section 21"}).json()
    assert body["hits"][0]["provision_key"] == "pocso:21"
    assert "pocso:21" in body["understood"]["cited"]


@pytest.mark.parametrize("act", ["pocso", "POCSO Act", "Protection of Children from Sexual Offences Act"])
def test_act_filter_accepts_key_or_alias(client, act):
    body = client.get("/search", params={"q": "punishment", "act": act, "top_k": 20}).json()
    assert body["hits"]
    assert {h["act_key"] for h in body["hits"]} == {"pocso"}


def test_repeated_act_filter_is_any_of(client):
    body = client.get("/search", params=[("q", "punishment"), ("act", "pocso"), ("act", "jj"), ("top_k", "20")]).json()
    assert {h["act_key"] for h in body["hits"]} <= {"pocso", "jj"}
    assert {"pocso", "jj"} <= {h["act_key"] for h in body["hits"]}


def test_doc_type_filter(client):
    body = client.get("/search", params={"q": "child statement police", "doc_type": "sop"}).json()
    assert body["hits"]
    assert {h["doc_type"] for h in body["hits"]} == {"sop"}


def test_unknown_act_is_a_clear_422(client):
    assert_error(client.get("/search", params={"q": "x", "act": "no such act"}), 422, "invalid_query", field="act",
                 contains="no such act")


def test_bad_doc_type_is_422(client):
    assert_error(client.get("/search", params={"q": "x", "doc_type": "novel"}), 422, "invalid_request", field="doc_type.0")


def test_post_matches_get(client):
    get = client.get("/search", params={"q": "age of a child", "top_k": 4}).json()
    post = client.post("/search", json={"query": "age of a child", "top_k": 4}).json()
    assert [h["provision_key"] for h in post["hits"]] == [h["provision_key"] for h in get["hits"]]
    alias = client.post("/search", json={"q": "age of a child", "top_k": 4}).json()
    assert alias["hits"] == post["hits"]


def test_post_filters(client):
    body = client.post("/search", json={"query": "punishment", "filters": {"acts": ["IT Act"], "doc_types": ["act"]}}).json()
    assert body["hits"] and {h["act_key"] for h in body["hits"]} == {"it"}


def test_post_rejects_unknown_fields(client):
    assert_error(client.post("/search", json={"query": "x", "topk": 3}), 422, "invalid_request", field="topk")


def test_pagination_is_consistent_and_has_no_duplicates(client):
    query = {"q": "child", "top_k": 3}
    first = client.get("/search", params=query).json()
    total = first["total"]
    assert total > 6, "fixture store should give several pages"
    seen: list[str] = []
    offset, pages = 0, 0
    while offset is not None:
        page = client.get("/search", params={**query, "offset": offset}).json()
        assert page["offset"] == offset and page["total"] == total
        assert len(page["hits"]) <= 3
        expected_next = offset + len(page["hits"]) if offset + len(page["hits"]) < total else None
        assert page["next_offset"] == expected_next
        seen.extend(h["provision_key"] for h in page["hits"])
        offset = page["next_offset"]
        pages += 1
        assert pages < 50
    assert len(seen) == len(set(seen)) == total
    # One big page gives the same order.
    whole = client.get("/search", params={"q": "child", "top_k": 100}).json()
    assert [h["provision_key"] for h in whole["hits"]] == seen


def test_offset_past_the_end_is_an_empty_last_page(client):
    body = client.get("/search", params={"q": "child", "offset": 500}).json()
    assert body["hits"] == [] and body["next_offset"] is None


@pytest.mark.parametrize("top_k", [0, -1])
def test_top_k_below_one_is_422(client, top_k):
    assert_error(client.get("/search", params={"q": "child", "top_k": top_k}), 422, "invalid_request", field="top_k")


def test_top_k_above_max_is_422_naming_the_limit(client, runtime):
    limit = runtime.settings.retrieval.max_top_k
    assert_error(client.get("/search", params={"q": "child", "top_k": limit + 1}), 422, "invalid_query", field="top_k",
                 contains=f"between 1 and {limit}")


def test_query_too_long_is_422_naming_the_limit(client, runtime):
    limit = runtime.settings.api.max_query_chars
    err = assert_error(client.get("/search", params={"q": "a" * (limit + 1)}), 422, "invalid_query", field="query")
    assert str(limit) in err["message"] and str(limit + 1) in err["message"]


def test_missing_query_is_422(client):
    assert_error(client.get("/search"), 422, "invalid_request", field="q")
    assert_error(client.post("/search", json={}), 422, "invalid_request", field="query")


def test_blank_query_is_422(client):
    assert_error(client.get("/search", params={"q": "   "}), 422, "invalid_query", field="query")


def test_understood_query_shows_expansions(client):
    body = client.get("/search", params={"q": "who must report abuse of a child"}).json()
    understood = body["understood"]
    assert set(understood) == {"expansions", "notes", "act_filter", "cited", "detail"}
    assert understood["expansions"], understood
    assert understood["detail"]["text"] == "who must report abuse of a child"


def test_understood_query_shows_concordance_note_for_old_code(client):
    notes = client.get("/search", params={"q": "IPC 354D stalking of a child"}).json()["understood"]["notes"]
    assert any("354D" in n and "78" in n for n in notes), notes


def test_act_named_in_query_becomes_the_filter(client):
    body = client.get("/search", params={"q": "punishment under the JJ Act"}).json()
    assert body["understood"]["act_filter"] == "jj"
    assert {h["act_key"] for h in body["hits"]} == {"jj"}
