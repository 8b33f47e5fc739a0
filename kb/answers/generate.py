"""Optional generative answers: a chat model phrases the verified evidence, and only what it cites survives.

The extractive composer has already chosen the provisions and verified every quote. Here the
quotes are numbered (``[1] POCSO Act, 2012, s. 19(1): "..."``) and an OpenAI-compatible chat
endpoint (llama.cpp, vLLM, Ollama's OpenAI API, or a hosted one) is asked to answer from them
alone, ending every sentence with the ids it relies on. Its output is then checked sentence by
sentence:

- all ids valid (1..N): kept, with the stored quotes of those ids attached as citations;
- no id, or an id that does not exist: dropped (or, with ``generator_unsupported = "mark"``,
  shown flagged as unsupported and never as cited);
- a section number that is not a section of its cited evidence (nor named in the quoted text
  itself): always dropped. The product never prints a section number that did not come from a
  stored provision.

If the endpoint fails, times out, or nothing it wrote survives the checks, the answer stays
extractive and a note says why: a user never sees a generator error.

    >>> phraser = AnswerPhraser(settings.answers)            # doctest: +SKIP
    >>> answer = phraser.phrase(extractive_answer)           # doctest: +SKIP
    >>> answer.generated_sentences[0].citations[0].text      # doctest: +SKIP
    'POCSO Act, 2012, s. 19'
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass

import openai
from haystack.components.generators.chat import OpenAIChatGenerator
from haystack.dataclasses import ChatMessage
from haystack.utils import Secret

from kb.errors import GeneratorError
from kb.models import Answer, Citation, GeneratedSentence, Quote
from kb.settings import AnswerSettings

logger = logging.getLogger(__name__)

# Local OpenAI-compatible servers ignore the key, but the client refuses to start without one.
_NO_KEY = "no-key"
_LEGAL_DOC_TYPES = ("act", "rules")

# "[1]", "[2][1]", "[1, 3]", "[1; 3]"
_IDS = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")
_IDS_WITH_SPACE = re.compile(r"\s*" + _IDS.pattern)
# A sentence ends at . ! or ? (ids may follow it) before whitespace or the end of the line.
_END = re.compile(r"[.!?]+[\"'”’)]*(?:\s*" + _IDS.pattern + r")*(?=\s|$)")
# Abbreviations common in legal prose: "s. 19", "No. 2", "i.e." do not end a sentence.
_ABBREV = re.compile(r"(?:^|[\s(])(?:s|ss|r|rr|No|no|Nos|Sec|sec|cl|Cl|Art|art|viz|i\.e|e\.g|cf|p|pp|vol|Ch|Rs|Mr|Mrs|Dr|Smt|Shri|u/s)\.$")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")
# "section 19", "Sections 21 and 22", "s. 2(1)(d)", "u/s 67B", "rule 4": the numbers named.
# Not "sub-section (1)": a sub-section label is not a section number.
_NUMBER = r"\d+[A-Za-z]{0,2}\b"
_MENTION = re.compile(
    r"(?<![\w-])(?:sections?|secs?\.?|ss?\.|u/s\.?|rules?|rr?\.)\s*(" + _NUMBER + r")"
    r"((?:\s*\([^)\s]{1,6}\))*(?:\s*(?:,|and|or|to|&)\s*" + _NUMBER + r"(?:\s*\([^)\s]{1,6}\))*)*)",
    re.I,
)
_TAIL_NUMBER = re.compile(r"(?:,|and|or|to|&)\s*(" + _NUMBER + r")", re.I)

_AUDIENCE_STYLE = {
    "lawyer": "Write for a lawyer: precise, in the statute's terms.",
    "police": "Write for a police officer: the duties and time limits to follow, in the order they apply.",
    "ngo": "Write for NGO staff who are not lawyers: plain, short sentences.",
}
_SYSTEM = (
    "You answer questions about Indian child-protection law using ONLY the numbered evidence you are given. "
    "Rules: (1) State only what the evidence says; if it does not answer the question, say so. "
    "(2) End every sentence with the ids of the evidence that supports it, like [1] or [1][3]. "
    "(3) Never mention a section, rule or Act that does not appear in the evidence. "
    "(4) Write plain sentences: no headings, no lists, no preamble."
)


@dataclass(frozen=True)
class Evidence:
    """One numbered quote shown to the model: ``[id] label: "quote"``."""

    id: int
    citation: Citation  # the verified citation the quote belongs to
    quote: Quote

    @property
    def label(self) -> str:
        locator = self.citation.locator
        return locator.narrowed(subsection=self.quote.subsection).citation() if self.quote.subsection else locator.citation()

    def as_citation(self) -> Citation:
        """The stored citation narrowed to this one quote."""
        return Citation(self.citation.provision_key, self.citation.locator, [self.quote], score=self.citation.score)

    def sections(self) -> set[str]:
        """Section numbers this evidence may be quoted as: its own (Acts and Rules only) and any its text names."""
        locator = self.citation.locator
        own = {locator.section.upper()} if locator.section and locator.doc_type in _LEGAL_DOC_TYPES else set()
        return own | mentioned_sections(self.quote.text)


@dataclass(frozen=True)
class DroppedSentence:
    """A generated sentence that was left out, and why (the reason names no section number)."""

    text: str
    reason: str


def number_evidence(citations: list[Citation]) -> list[Evidence]:
    """Every quote of the (already verified) citations, numbered from 1 in answer order."""
    evidence: list[Evidence] = []
    for citation in citations:
        for quote in citation.quotes:
            evidence.append(Evidence(len(evidence) + 1, citation, quote))
    return evidence


def build_messages(question: str, audience: str, evidence: list[Evidence]) -> list[ChatMessage]:
    if not evidence:
        raise GeneratorError("no evidence to phrase an answer from", question=question)
    lines = [f'[{e.id}] {e.label}: "{e.quote.text}"' for e in evidence]
    system = f"{_SYSTEM} {_AUDIENCE_STYLE.get(audience, '')}".strip()
    user = f"Question: {question}\n\nEvidence:\n" + "\n".join(lines)
    return [ChatMessage.from_system(system), ChatMessage.from_user(user)]


# -- reading the model's output -----------------------------------------------------------
def mentioned_sections(text: str) -> set[str]:
    """Section (or rule) numbers named in ``text``: ``"sections 19 and 21(1)"`` -> ``{"19", "21"}``."""
    found: set[str] = set()
    for match in _MENTION.finditer(text):
        found.add(match.group(1).upper())
        found.update(n.upper() for n in _TAIL_NUMBER.findall(match.group(2) or ""))
    return found


def evidence_ids(text: str) -> list[int]:
    """Ids cited in ``text``, in order of first appearance."""
    ids: list[int] = []
    for group in _IDS.findall(text):
        for part in re.split(r"[,;]", group):
            value = int(part)
            if value not in ids:
                ids.append(value)
    return ids


def strip_ids(text: str) -> str:
    cleaned = _IDS_WITH_SPACE.sub("", text)
    return re.sub(r"\s+([.,;:!?])", r"\1", re.sub(r"[ \t]+", " ", cleaned)).strip()


def split_generated(text: str) -> list[str]:
    """The model's reply cut into sentences, each keeping the ids written after its full stop."""
    sentences: list[str] = []
    for line in text.splitlines():
        line = _BULLET.sub("", line).strip()
        start = 0
        for match in _END.finditer(line):
            piece = line[start:match.end()]
            if _ABBREV.search(line[start:match.start() + 1]) and not _IDS.search(match.group(0)):
                continue
            sentences.append(piece.strip())
            start = match.end()
        if line[start:].strip():
            sentences.append(line[start:].strip())
    # Ids written on their own ("... police.\n[1]") belong to the sentence before them.
    merged: list[str] = []
    for sentence in sentences:
        if merged and not re.search(r"[^\W\d_]", _IDS.sub("", sentence)):
            merged[-1] = f"{merged[-1]} {sentence}"
        elif sentence:
            merged.append(sentence)
    return merged


def check_sentences(reply: str, evidence: list[Evidence], *, unsupported: str = "drop") -> tuple[list[GeneratedSentence], list[DroppedSentence]]:
    """Keep the sentences the evidence backs; see the module docstring for the rules."""
    if unsupported not in ("drop", "mark"):
        raise ValueError(f"unsupported must be 'drop' or 'mark', got {unsupported!r}")
    by_id = {e.id: e for e in evidence}
    kept: list[GeneratedSentence] = []
    dropped: list[DroppedSentence] = []
    for raw in split_generated(reply):
        text = strip_ids(raw)
        if not text:
            continue
        ids = evidence_ids(raw)
        valid = bool(ids) and all(i in by_id for i in ids)
        cited = [by_id[i] for i in ids] if valid else []
        allowed = set().union(*(e.sections() for e in cited)) if cited else set()
        if not mentioned_sections(text) <= allowed:
            dropped.append(DroppedSentence(text, "names a section that is not in its cited evidence"))
        elif valid:
            kept.append(GeneratedSentence(text, ids, [e.as_citation() for e in cited], supported=True))
        elif unsupported == "mark":
            kept.append(GeneratedSentence(text, [], [], supported=False))
        else:
            dropped.append(DroppedSentence(text, "cites an evidence id that does not exist" if ids else "cites no evidence"))
    return kept, dropped


# -- calling the endpoint -----------------------------------------------------------------
class AnswerPhraser:
    """Phrases a verified extractive :class:`~kb.models.Answer` with an OpenAI-compatible chat model.

        >>> phraser = AnswerPhraser(AnswerSettings(generator_enabled=True, generator_url="http://127.0.0.1:8080/v1"))  # doctest: +SKIP
        >>> phraser.phrase(answer).generated                      # doctest: +SKIP
        True

    ``generator`` may be given (any object with Haystack's chat ``run(messages=...)``); by default
    Haystack's ``OpenAIChatGenerator`` is built from the settings on first use.
    """

    def __init__(self, settings: AnswerSettings, generator: OpenAIChatGenerator | None = None) -> None:
        self.settings = settings
        self._generator = generator
        self._lock = threading.Lock()

    @property
    def generator(self) -> OpenAIChatGenerator:
        # Built and warmed once under a lock: answers run in parallel threads of the HTTP app.
        with self._lock:
            if self._generator is None:
                cfg = self.settings
                key = cfg.generator_api_key.get_secret_value() if cfg.generator_api_key else _NO_KEY
                generator = OpenAIChatGenerator(
                    api_key=Secret.from_token(key), model=cfg.generator_model, api_base_url=cfg.generator_url,
                    timeout=cfg.generator_timeout_s, max_retries=cfg.generator_max_retries,
                )
                generator.warm_up()
                self._generator = generator
            return self._generator

    def reply(self, messages: list[ChatMessage]) -> str:
        """The model's text, or :class:`GeneratorError` saying in plain words what went wrong."""
        try:
            replies = self.generator.run(messages=messages)["replies"]
        except openai.APITimeoutError as err:
            raise GeneratorError(f"the generator did not answer within {self.settings.generator_timeout_s:g} s") from err
        except openai.APIStatusError as err:
            raise GeneratorError(f"the generator answered with HTTP {err.status_code}", status=err.status_code) from err
        except openai.APIConnectionError as err:
            raise GeneratorError("the generator could not be reached") from err
        except openai.OpenAIError as err:  # e.g. a reply the client cannot read
            raise GeneratorError(f"the generator's reply could not be read ({type(err).__name__})") from err
        text = replies[0].text if replies else None
        if not text or not text.strip():
            raise GeneratorError("the generator returned an empty reply")
        return text

    def phrase(self, answer: Answer) -> Answer:
        """Add generated sentences to ``answer`` (in place); on any failure keep it extractive with a note."""
        if answer.abstained or not answer.citations:
            return answer
        evidence = number_evidence(answer.citations)
        try:
            text = self.reply(build_messages(answer.question, answer.audience, evidence))
        except GeneratorError as err:
            logger.warning("generated answer unavailable, showing quotes: %s", err)
            answer.notes.append(f"A phrased answer is not available ({err.message}); the law's own words are shown instead.")
            return answer
        kept, dropped = check_sentences(text, evidence, unsupported=self.settings.generator_unsupported)
        for item in dropped:
            # The text stays out of the log: it may name a section no stored provision has.
            logger.info("generated sentence left out: %s", item.reason)
        answer.generated_dropped = len(dropped)
        if not any(s.supported for s in kept):
            answer.notes.append("The phrased answer was not backed by the quoted provisions; the law's own words are shown instead.")
            return answer
        answer.generated = True
        answer.generated_sentences = kept
        if dropped:
            answer.notes.append(f"{len(dropped)} generated sentence{'s were' if len(dropped) > 1 else ' was'} left out "
                                "because the quoted provisions do not support them.")
        return answer
