"""The search result cache over HTTP: repeats are answered from memory with the same body, and any
write (upload, delete) makes every remembered result stale, so no search ever shows content the
store no longer holds or misses content it just took in."""

from __future__ import annotations

from api_helpers import API_KEY

from api.routes.search import CACHE_HEADER

KEY = {"X-API-Key": API_KEY}
QUERY = "publishing material depicting children in sexually explicit act"


def _search(client, **params):
    response = client.get("/search", params={"q": QUERY, **params})
    assert response.status_code == 200, response.text
    return response.headers[CACHE_HEADER], response.json()


def test_repeat_is_a_hit_with_the_same_body(writable):
    _rt, client = writable
    first_state, first = _search(client)
    again_state, again = _search(client)
    assert (first_state, again_state) == ("miss", "hit")
    assert again == first and first["hits"]
    # Another page, page size or filter is another search.
    assert _search(client, top_k=3)[0] == "miss"
    assert _search(client, offset=1)[0] == "miss"
    assert _search(client, act="pocso")[0] == "miss"
    # POST with the same query and defaults asks the same question as GET.
    posted = client.post("/search", json={"query": QUERY})
    assert posted.headers[CACHE_HEADER] == "hit" and posted.json() == first


def test_upload_and_delete_make_remembered_results_stale(writable, api_fixtures):
    rt, client = writable  # holds the POCSO fixture only
    _, before = _search(client)
    assert _search(client)[0] == "hit"
    assert not any(h["provision_key"] == "it:67B" for h in before["hits"])

    upload = client.post("/ingest", headers=KEY, files=[("files", ("it-sample.md", (api_fixtures / "it-sample.md").read_bytes(),
                                                                      "text/markdown"))])  # fmt: skip
    assert upload.status_code == 200 and upload.json()["counts"]["ingested"] == 1, upload.text
    state, after_upload = _search(client)
    assert state == "miss"
    assert after_upload["hits"][0]["provision_key"] == "it:67B"
    assert _search(client)[0] == "hit"

    doc_id = upload.json()["files"][0]["doc_id"]
    assert client.delete(f"/documents/{doc_id}", headers=KEY).status_code == 200
    state, after_delete = _search(client)
    assert state == "miss"
    assert not any(h["provision_key"].startswith("it:") for h in after_delete["hits"])
    assert rt.searcher.cache.hits == 2  # the two repeats above, nothing else


def test_bad_queries_are_refused_before_the_cache(client):
    response = client.get("/search", params={"q": "   "})
    assert response.status_code == 422 and CACHE_HEADER not in response.headers
    response = client.get("/search", params={"q": "x" * 501})
    assert response.status_code == 422 and "500" in response.json()["error"]["message"]


def test_cache_off_searches_every_time(tmp_path, api_fixtures):
    from api_helpers import api_settings, client_for

    from api.runtime import Runtime

    settings = api_settings(tmp_path / "data").model_copy()
    settings.retrieval = settings.retrieval.model_copy(update={"result_cache_size": 0})
    rt = Runtime.open(settings)
    try:
        assert not rt.ingestor.ingest([api_fixtures / "it-sample.md"]).failed
        with client_for(rt) as client:
            states = [_search(client)[0] for _ in range(3)]
        assert states == ["miss", "miss", "miss"]
        assert len(rt.searcher.cache) == 0
    finally:
        rt.close()


QUESTION = {"question": "What must the police do when a child reports sexual abuse?", "audience": "police"}


def test_ask_repeat_is_a_hit_and_a_write_makes_it_stale(writable, api_fixtures):
    rt, client = writable  # holds the POCSO fixture only
    first = client.post("/ask", json=QUESTION)
    again = client.post("/ask", json=QUESTION)
    assert (first.headers[CACHE_HEADER], again.headers[CACHE_HEADER]) == ("miss", "hit")
    assert again.json() == first.json() and first.json()["citations"]
    # Another audience is another answer.
    lawyer = client.post("/ask", json={**QUESTION, "audience": "lawyer"})
    assert lawyer.headers[CACHE_HEADER] == "miss"

    guide = (api_fixtures / "police-guide.md").read_bytes()
    upload = client.post("/ingest", headers=KEY, files=[("files", ("police-guide.md", guide, "text/markdown"))])
    assert upload.status_code == 200 and upload.json()["counts"]["ingested"] == 1, upload.text
    after = client.post("/ask", json=QUESTION)
    assert after.headers[CACHE_HEADER] == "miss"
    assert client.post("/ask", json=QUESTION).headers[CACHE_HEADER] == "hit"
    # Each caller gets its own copy: changing one leaves the remembered answer whole.
    mine = rt.answerer.ask(QUESTION["question"], audience="police")
    mine.citations.clear()
    assert rt.answerer.ask(QUESTION["question"], audience="police").citations


def test_ask_checks_its_input_before_the_cache(client):
    response = client.post("/ask", json={"question": "   ", "audience": "police"})
    assert response.status_code == 422 and CACHE_HEADER not in response.headers


def test_generated_answers_are_never_remembered(runtime):
    """A generator's reply may be a fallback after a failed call; it must not stick."""
    from kb.answers.compose import Answerer

    settings = runtime.settings.model_copy()
    settings.answers = settings.answers.model_copy(update={"generator_enabled": True, "generator_url": "http://127.0.0.1:9"})
    answerer = Answerer(runtime.store, runtime.searcher, runtime.encoder, settings)
    answer = answerer.ask("recipe for a chocolate cake", audience="ngo")  # abstains: the generator is not called
    assert answer.abstained
    assert answerer.cached("recipe for a chocolate cake", audience="ngo") is None and len(answerer.cache) == 0
