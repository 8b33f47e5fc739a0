"""GET /documents (paginated), GET /documents/{id}, DELETE /documents/{id}."""

from __future__ import annotations

from api_helpers import API_KEY, FIXTURE_FILES, assert_error


def test_documents_page_through_without_duplicates(client):
    first = client.get("/documents", params={"limit": 1}).json()
    assert first["total"] == len(FIXTURE_FILES)
    ids, offset = [], 0
    while offset is not None:
        page = client.get("/documents", params={"limit": 1, "offset": offset}).json()
        assert page["offset"] == offset and len(page["documents"]) == 1
        ids.append(page["documents"][0]["doc_id"])
        offset = page["next_offset"]
    assert len(ids) == len(set(ids)) == len(FIXTURE_FILES)


def test_document_paths_hide_the_server_layout(client):
    docs = client.get("/documents").json()["documents"]
    assert sorted(p for d in docs for p in d["paths"]) == sorted(FIXTURE_FILES)
    titles = {d["title"] for d in docs}
    assert "The Protection of Children from Sexual Offences Act, 2012" in titles


def test_document_detail_lists_its_provisions(client):
    docs = client.get("/documents").json()["documents"]
    pocso = next(d for d in docs if d["act_key"] == "pocso")
    detail = client.get(f"/documents/{pocso['doc_id']}").json()
    assert detail["n_provisions"] == 7
    assert [p["provision_key"] for p in detail["provisions"]] == [
        "pocso:1", "pocso:2", "pocso:19", "pocso:20", "pocso:21", "pocso:24", "pocso:28"]
    assert detail["provisions"][2]["citation"] == "POCSO Act, 2012, s. 19"


def test_unknown_document_is_404(client):
    assert_error(client.get("/documents/" + "0" * 64), 404, "not_found", contains="0" * 64)
    assert_error(client.delete("/documents/" + "0" * 64, headers={"X-API-Key": API_KEY}), 404, "not_found")


def test_limit_bounds(client):
    assert_error(client.get("/documents", params={"limit": 0}), 422, "invalid_request", field="limit")
    assert_error(client.get("/documents", params={"limit": 501}), 422, "invalid_request", field="limit")


def test_delete_removes_document_provisions_and_search_hits(writable):
    _rt, client = writable
    doc = client.get("/documents").json()["documents"][0]
    assert client.get("/provisions/pocso/19").status_code == 200
    response = client.delete(f"/documents/{doc['doc_id']}", headers={"X-API-Key": API_KEY})
    assert response.status_code == 200
    assert response.json() == {"deleted": doc["doc_id"], "title": doc["title"]}
    assert_error(client.get(f"/documents/{doc['doc_id']}"), 404, "not_found")
    assert_error(client.get("/provisions/pocso/19"), 404, "not_found")
    assert client.get("/search", params={"q": "report abuse"}).json()["hits"] == []
    assert client.get("/documents").json()["total"] == 0
