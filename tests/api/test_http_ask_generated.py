"""POST /ask with the optional generator on, against a recorded chat-completions reply served from
127.0.0.1 (see tests/chat_server.py and tests/kb/answers/test_generate.py for the sentence rules)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_helpers import client_for

from api.runtime import Runtime
from tests.chat_server import ChatServer
from tests.conftest import FIXTURES

QUESTION = "What must the police do after a report of a sexual offence against a child?"


@pytest.fixture(scope="module")
def chat() -> Iterator[ChatServer]:
    server = ChatServer.start(FIXTURES / "generator" / "chat_completion_reporting.json")
    yield server
    server.stop()


def _client(runtime: Runtime, chat: ChatServer):
    answers = runtime.settings.answers.model_copy(update={
        "generator_enabled": True, "generator_url": chat.url, "generator_timeout_s": 0.5, "generator_max_retries": 0})
    settings = runtime.settings.model_copy(update={"answers": answers})
    # Same store and model as the shared runtime; its own answerer reads the generator settings.
    return client_for(Runtime(settings=settings, store=runtime.store, encoder=runtime.encoder))


def test_generated_sentences_come_with_their_stored_quotes(runtime, chat):
    chat.reset()
    with _client(runtime, chat) as client:
        body = client.post("/ask", json={"question": QUESTION, "audience": "police"}).json()

    assert body["generated"] is True
    assert body["generated_sentences"] and body["generated_dropped"] >= 3
    quotes = [(c["provision_key"], q) for c in body["citations"] for q in c["quotes"]]
    for sentence in body["generated_sentences"]:
        assert sentence["supported"] is True
        assert len(sentence["citations"]) == len(sentence["evidence_ids"])
        for number, cited in zip(sentence["evidence_ids"], sentence["citations"], strict=True):
            key, quote = quotes[number - 1]
            assert cited["provision_key"] == key and cited["quotes"] == [quote]
    assert "section 99" not in str(body).lower()


def test_generator_outage_is_a_note_not_an_error(runtime, chat):
    chat.reset("error")
    with _client(runtime, chat) as client:
        response = client.post("/ask", json={"question": QUESTION, "audience": "police"})

    assert response.status_code == 200
    body = response.json()
    assert body["generated"] is False and body["generated_sentences"] == [] and body["citations"]
    assert any("HTTP 500" in note for note in body["notes"])
