"""Generative answers against a recorded chat-completions exchange.

No language model runs here. ``tests/fixtures/generator/chat_completion_reporting.json`` is a
team-written reply in OpenAI's chat-completions format; a real HTTP server on 127.0.0.1
(``tests/chat_server.py``) serves it to Haystack's real ``OpenAIChatGenerator`` and keeps the
requests it received. The recorded reply has six sentences:

1. a good sentence citing [1];
2. a good sentence citing [2][1];
3. a good sentence citing [3] that names section 21, the section its evidence is from;
4. a sentence with no evidence id;
5. a sentence citing [9], which does not exist;
6. a sentence citing [1] that names section 99, which no evidence holds.

The evidence is three verified quotes of the team-written POCSO fixture in the shared store
(``fixture_runtime``): s. 19(1), s. 19(4) and s. 21(1).
"""

from __future__ import annotations

import time

import pytest

from kb.answers.compose import Answerer
from kb.answers.generate import AnswerPhraser, check_sentences, number_evidence
from kb.answers.sentences import split_spans
from kb.answers.verify import verify_citations
from kb.models import Answer, Citation, Quote
from kb.settings import AnswerSettings, Settings
from tests.chat_server import ChatServer
from tests.conftest import FIXTURES

REPLY_FILE = FIXTURES / "generator" / "chat_completion_reporting.json"
QUESTION = "What must the police do after a report of a sexual offence against a child?"

GOOD_1 = ("Any person, including the child, who believes that a sexual offence against a child has been or may be "
          "committed must inform the Special Juvenile Police Unit or the local police.")
GOOD_2 = ("Once told, the police must inform the Child Welfare Committee and the Special Court without delay and "
          "within twenty-four hours.")
GOOD_3 = ("Failing to report is itself punishable under section 21 with imprisonment of up to six months, a fine, "
          "or both.")
NO_ID = "Officers should also reassure the family that the child is now safe."
UNKNOWN_ID = "A person who does not report can be jailed for up to ten years."
INVENTED_SECTION = "Under section 99 the child must also be produced before a magistrate within two days."

EVIDENCE = [  # (id, provision, label shown to the model)
    (1, "pocso:19", "POCSO Act, 2012, s. 19(1)"),
    (2, "pocso:19", "POCSO Act, 2012, s. 19(4)"),
    (3, "pocso:21", "POCSO Act, 2012, s. 21(1)"),
]


@pytest.fixture(scope="module")
def rt(fixture_runtime):
    return fixture_runtime


@pytest.fixture(scope="module")
def server():
    server = ChatServer.start(REPLY_FILE)
    yield server
    server.stop()


@pytest.fixture
def chat(server):
    server.reset()
    return server


def _stored_citation(store, key: str, paths: tuple[str, ...]) -> Citation:
    provision = store.get_provision(key)
    quotes = [Quote(s.text, s.start, s.end, s.path) for s in split_spans(provision.text, provision.subunits) if s.path in paths]
    assert [q.subsection for q in quotes] == list(paths), f"fixture {key} lost sub-sections {paths}"
    return Citation(key, provision.locator, quotes)


@pytest.fixture(scope="module")
def evidence_citations(rt) -> list[Citation]:
    kept, dropped = verify_citations(rt.store, [_stored_citation(rt.store, "pocso:19", ("(1)", "(4)")),
                                                _stored_citation(rt.store, "pocso:21", ("(1)",))])
    assert not dropped
    return kept


def _extractive(citations: list[Citation]) -> Answer:
    return Answer(question=QUESTION, audience="police", summary="Procedure and duties under: POCSO Act, 2012, s. 19.",
                  citations=[Citation(c.provision_key, c.locator, list(c.quotes), c.score) for c in citations])


def _answer_settings(server: ChatServer, **overrides) -> AnswerSettings:
    values = {"generator_enabled": True, "generator_url": server.url, "generator_model": "gpt-4o-mini",
              "generator_timeout_s": 10.0, "generator_max_retries": 0}
    return AnswerSettings(**(values | overrides))


# -- the prompt ---------------------------------------------------------------------------
def test_prompt_carries_numbered_verbatim_evidence(chat, evidence_citations, rt):
    AnswerPhraser(_answer_settings(chat, generator_api_key="sk-local-test")).phrase(_extractive(evidence_citations))

    assert len(chat.requests) == 1
    sent = chat.requests[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.body["model"] == "gpt-4o-mini"
    assert sent.headers["authorization"] == "Bearer sk-local-test"
    prompt = sent.content("user")
    assert f"Question: {QUESTION}" in prompt
    quotes = [(c, q) for c in evidence_citations for q in c.quotes]
    for (number, key, label), (citation, quote) in zip(EVIDENCE, quotes, strict=True):
        stored = rt.store.get_provision(key).text
        assert citation.provision_key == key
        assert stored[quote.char_start:quote.char_end] == quote.text
        assert f'[{number}] {label}: "{quote.text}"' in prompt
    assert "[4]" not in prompt
    instructions = sent.content("system")
    assert "ONLY the numbered evidence" in instructions
    assert "[1] or [1][3]" in instructions


# -- keeping and dropping sentences --------------------------------------------------------
def test_only_sentences_backed_by_valid_evidence_are_kept(chat, evidence_citations):
    answer = AnswerPhraser(_answer_settings(chat)).phrase(_extractive(evidence_citations))

    assert answer.generated
    assert [(s.text, s.evidence_ids, s.supported) for s in answer.generated_sentences] == [
        (GOOD_1, [1], True),
        (GOOD_2, [2, 1], True),
        (GOOD_3, [3], True),
    ]
    assert answer.generated_dropped == 3
    assert "3 generated sentences were left out because the quoted provisions do not support them." in answer.notes
    shown = " ".join([s.text for s in answer.generated_sentences] + answer.notes + [answer.summary])
    assert "99" not in shown and "[9]" not in shown and "ten years" not in shown
    # The evidence stays underneath, unchanged.
    assert answer.citations == evidence_citations


def test_attached_citations_are_the_stored_quotes(chat, evidence_citations, rt):
    answer = AnswerPhraser(_answer_settings(chat)).phrase(_extractive(evidence_citations))
    evidence = number_evidence(evidence_citations)

    expected = {
        GOOD_1: [("pocso:19", "POCSO Act, 2012, s. 19", "(1)")],
        GOOD_2: [("pocso:19", "POCSO Act, 2012, s. 19", "(4)"), ("pocso:19", "POCSO Act, 2012, s. 19", "(1)")],
        GOOD_3: [("pocso:21", "POCSO Act, 2012, s. 21", "(1)")],
    }
    for sentence in answer.generated_sentences:
        assert [(c.provision_key, c.text, c.quotes[0].subsection) for c in sentence.citations] == expected[sentence.text]
        for number, citation in zip(sentence.evidence_ids, sentence.citations, strict=True):
            assert citation.quotes == [evidence[number - 1].quote]
            assert citation.locator == rt.store.get_provision(citation.provision_key).locator
        kept, dropped = verify_citations(rt.store, sentence.citations)
        assert dropped == [] and kept == sentence.citations


def test_mark_mode_flags_unsupported_sentences_and_still_drops_invented_sections(chat, evidence_citations):
    answer = AnswerPhraser(_answer_settings(chat, generator_unsupported="mark")).phrase(_extractive(evidence_citations))

    assert answer.generated
    assert [(s.text, s.evidence_ids, s.supported, len(s.citations)) for s in answer.generated_sentences] == [
        (GOOD_1, [1], True, 1),
        (GOOD_2, [2, 1], True, 2),
        (GOOD_3, [3], True, 1),
        (NO_ID, [], False, 0),
        (UNKNOWN_ID, [], False, 0),  # never shown as citing [9]
    ]
    assert answer.generated_dropped == 1  # the sentence naming section 99
    assert all("99" not in s.text for s in answer.generated_sentences)


def test_timeout_gives_up_at_the_configured_limit(chat, evidence_citations):
    chat.reset("slow")  # the recorded reply would come after 5 s
    started = time.monotonic()
    answer = AnswerPhraser(_answer_settings(chat, generator_timeout_s=0.5)).phrase(_extractive(evidence_citations))

    assert time.monotonic() - started < 3.0
    assert not answer.generated and answer.generated_sentences == []
    assert answer.citations == evidence_citations
    assert answer.notes == ["A phrased answer is not available (the generator did not answer within 0.5 s); "
                            "the law's own words are shown instead."]


# One row per rule, checked on the same three pieces of evidence without the server.
ROWS = [
    # (model output, kept [(text, ids)], dropped count)
    ("The police must tell the Child Welfare Committee within twenty-four hours [2].",
     [("The police must tell the Child Welfare Committee within twenty-four hours.", [2])], 0),
    ("Section 19 requires any person who knows of an offence to report it [1].",
     [("Section 19 requires any person who knows of an offence to report it.", [1])], 0),
    ("Section 21 requires any person who knows of an offence to report it [1].", [], 1),  # 21 is not [1]'s
    ("Failing to report an offence under section 20 is punishable [3].",  # s. 21(1)'s own words name section 20
     [("Failing to report an offence under section 20 is punishable.", [3])], 0),
    ("Under s. 19(4) the police tell the Special Court. [2]",  # "s." does not end the sentence
     [("Under s. 19(4) the police tell the Special Court.", [2])], 0),
    ("The police act within a day.\n[2]", [("The police act within a day.", [2])], 0),  # ids on their own line
    ("The report reaches the police and the Special Court [1, 2].",
     [("The report reaches the police and the Special Court.", [1, 2])], 0),
    ("See sub-section (2) of the same provision [1].", [("See sub-section (2) of the same provision.", [1])], 0),
    ("Failing to report is punishable [3][4].", [], 1),  # 4 does not exist
    ("Failing to report is punishable [0].", [], 1),
    ("Sections 19 and 22 both apply [1][3].", [], 1),  # 22 is in no evidence
    ("Under rule 5 the report is kept in a register [1].", [], 1),
    ("- Report to the police [1].\n- Reassure the family.", [("Report to the police.", [1])], 1),
]


@pytest.mark.parametrize(("reply", "kept", "dropped"), ROWS, ids=[r[0][:40] for r in ROWS])
def test_sentence_rules(evidence_citations, reply, kept, dropped):
    sentences, left_out = check_sentences(reply, number_evidence(evidence_citations))
    assert [(s.text, s.evidence_ids) for s in sentences] == kept
    assert len(left_out) == dropped
    assert all("99" not in d.reason and "22" not in d.reason for d in left_out)


# -- through the Answerer ------------------------------------------------------------------
def _answerer(rt, server: ChatServer, **overrides) -> Answerer:
    settings: Settings = rt.settings.model_copy(update={"answers": _answer_settings(server, **overrides)})
    return Answerer(rt.store, rt.searcher, rt.encoder, settings)


@pytest.fixture(scope="module")
def extractive_answer(rt) -> Answer:
    answer = rt.answerer.ask(QUESTION, audience="police")
    assert not answer.abstained and not answer.generated
    assert len([q for c in answer.citations for q in c.quotes]) >= 3
    return answer


def test_answerer_phrases_the_verified_evidence(rt, chat, extractive_answer):
    answer = _answerer(rt, chat).ask(QUESTION, audience="police")

    assert len(chat.requests) == 1
    prompt = chat.requests[0].content("user")
    for evidence in number_evidence(answer.citations):
        assert f'[{evidence.id}] {evidence.label}: "{evidence.quote.text}"' in prompt
    assert answer.generated
    first = answer.generated_sentences[0]
    assert (first.text, first.evidence_ids) == (GOOD_1, [1])
    assert first.citations[0].quotes == answer.citations[0].quotes[:1]
    texts = [s.text for s in answer.generated_sentences]
    assert NO_ID not in texts and UNKNOWN_ID not in texts and INVENTED_SECTION not in texts
    assert all(s.supported and s.citations for s in answer.generated_sentences)
    # The extractive answer is unchanged underneath.
    assert answer.citations == extractive_answer.citations
    assert answer.steps == extractive_answer.steps


@pytest.mark.parametrize(("mode", "retries", "requests", "note"), [
    ("error", 0, 1, "the generator answered with HTTP 500"),
    ("error", 1, 2, "the generator answered with HTTP 500"),  # the retry setting reaches the client
    ("slow", 0, 1, "the generator did not answer within 0.5 s"),
])
def test_endpoint_failure_falls_back_to_the_extractive_answer(rt, chat, extractive_answer, mode, retries, requests, note):
    chat.reset(mode)
    answer = _answerer(rt, chat, generator_timeout_s=0.5, generator_max_retries=retries).ask(QUESTION, audience="police")

    assert len(chat.requests) == requests
    assert not answer.generated and answer.generated_sentences == []
    assert answer.citations == extractive_answer.citations
    assert answer.summary == extractive_answer.summary
    assert f"A phrased answer is not available ({note}); the law's own words are shown instead." in answer.notes


def test_disabled_generator_never_calls_the_endpoint(rt, chat, extractive_answer):
    answer = _answerer(rt, chat, generator_enabled=False).ask(QUESTION, audience="police")

    assert chat.requests == []
    assert not answer.generated and answer.generated_sentences == []
    assert answer.citations == extractive_answer.citations


def test_abstained_answer_is_not_sent_to_the_model(rt, chat):
    answer = _answerer(rt, chat).ask("What is the speed limit on national highways?")

    assert answer.abstained and not answer.generated
    assert chat.requests == []


def test_enabling_the_generator_without_an_endpoint_is_refused():
    with pytest.raises(ValueError, match="generator_url"):
        AnswerSettings(generator_enabled=True)
