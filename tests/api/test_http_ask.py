"""POST /ask: cited quotes with spans, audience emphasis, abstention."""

from __future__ import annotations

from api_helpers import assert_error

QUESTION = "What must the police do when a child reports sexual abuse?"


def test_answer_quotes_are_verbatim_slices_of_the_cited_provision(client):
    answer = client.post("/ask", json={"question": QUESTION, "audience": "lawyer"}).json()
    assert not answer["abstained"]
    assert answer["citations"], answer
    for citation in answer["citations"]:
        provision = client.get(f"/provisions/{citation['act_key']}/{citation['section']}").json()
        assert citation["citation"] == provision["citation"]
        assert citation["quotes"]
        for quote in citation["quotes"]:
            assert provision["text"][quote["char_start"]:quote["char_end"]] == quote["text"]
            if quote["subsection"]:
                assert quote["citation"] == f"{provision['citation']}{quote['subsection']}"


def test_police_get_numbered_cited_steps_and_lawyers_do_not(client):
    police = client.post("/ask", json={"question": QUESTION, "audience": "police"}).json()
    lawyer = client.post("/ask", json={"question": QUESTION, "audience": "lawyer"}).json()
    assert police["audience"] == "police" and police["steps"]
    assert lawyer["steps"] == []
    assert police["summary"] != lawyer["summary"]
    # Emphasis changes, facts do not: the same provisions are cited.
    assert {c["provision_key"] for c in police["citations"]} == {c["provision_key"] for c in lawyer["citations"]}
    cited = [c["citation"] for c in police["citations"]]
    for step in police["steps"]:
        assert any(c in step for c in cited), step


def test_related_provisions_are_stored(client):
    answer = client.post("/ask", json={"question": "punishment for failing to report an offence against a child"}).json()
    keys = {c["provision_key"] for c in answer["citations"]}
    assert "pocso:21" in keys
    for related in answer["related"]:
        assert client.get(f"/provisions/{related['act_key']}/{related['section']}").status_code == 200
        assert related["provision_key"] not in keys


def test_unrelated_question_abstains_with_nearest_matches_labelled(client):
    answer = client.post("/ask", json={"question": "best recipe for mango chutney with jaggery"}).json()
    assert answer["abstained"] is True
    assert answer["citations"] == []
    assert "no provision" in answer["summary"].lower()
    assert len(answer["nearest"]) <= 3


def test_bad_audience_is_422(client):
    assert_error(client.post("/ask", json={"question": QUESTION, "audience": "judge"}), 422, "invalid_request",
                 field="audience")


def test_question_too_long_is_422(client, runtime):
    limit = runtime.settings.api.max_query_chars
    assert_error(client.post("/ask", json={"question": "b" * (limit + 5)}), 422, "invalid_query", field="question",
                 contains=str(limit))
