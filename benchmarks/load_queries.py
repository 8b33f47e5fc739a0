"""Varied queries for the load benchmarks: the dev questions and a few hundred variants of them.

A load test that repeats the same 26 questions measures caches, not the service. Each dev
question is sent as written, lowercased, inside rephrasing templates, with an Act named (its own
Act by short name and alias, and once another Act, which sends search down its fallback path) and
as citations of its gold sections. Every variant is built from the question's words and the Act
registry; nothing is read from the legal texts.

    >>> queries = build_queries(load_rows(QUESTIONS))      # doctest: +SKIP
    >>> len(queries), queries[0]                           # doctest: +SKIP
    (815, ('lawyer', 'What is the punishment for sexual assault on a child?'))
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from kb.acts import registry

AUDIENCES = ("lawyer", "police", "ngo")
FALLBACK = [
    {"audience": "lawyer", "question": "What is the punishment for failing to report an offence against a child?", "gold": ["pocso:21"]},
    {"audience": "police", "question": "What must the police do when a child reports sexual abuse?", "gold": ["pocso:19"]},
    {"audience": "ngo", "question": "Where should a child's statement be recorded?", "gold": ["pocso:24"]},
    {"audience": "lawyer", "question": "punishment for publishing material depicting children in sexually explicit acts", "gold": ["it:67B"]},
    {"audience": "police", "question": "how is the age of a child determined", "gold": ["jj:94"]},
    {"audience": "ngo", "question": "what is a Special Court", "gold": ["pocso:28"]},
]
# Leading question words dropped to get the topic a template is wrapped around.
_LEAD = re.compile(
    r"^(?:what (?:is|are|must be done when)(?: the| a| an)?|how is(?: the)?|who (?:are|must)|can(?: a| an)?|"
    r"is there(?: a| an)?|are|should(?: the)?)\s+", re.I)
TOPIC_TEMPLATES = (
    "{topic}",
    "what does the law say about {topic}",
    "which section deals with {topic}",
    "explain {topic}",
    "{topic} - relevant provision",
    "law on {topic} in India",
    "I need the provision on {topic}",
    "legal position on {topic}",
    "is there any provision about {topic}",
    "tell me about {topic}",
)
ROLE_TEMPLATES = (
    ("police", "as a police officer, what should I know about {topic}"),
    ("ngo", "our NGO is helping a family: {topic}"),
    ("lawyer", "my client asks about {topic}"),
    ("ngo", "a teacher wants to know about {topic}"),
    ("police", "{topic} - duty of the police"),
)
ACT_TEMPLATES = ("{question} under the {name}", "{topic} {alias}", "{alias}: {topic}")
CITATION_TEMPLATES = ("{alias} {section}", "section {section} of the {name}", "s. {section} {name}", "{name} section {section}")


def load_rows(path: Path) -> list[dict]:
    """Rows of the dev questions file (id, audience, question, gold), or a built-in list when absent."""
    if not path.is_file():
        print(f"(questions: {path} not found, using {len(FALLBACK)} built-in questions)")
        return FALLBACK
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    print(f"(questions: {len(rows)} from {path})")
    return rows


def topic_of(question: str) -> str:
    topic = _LEAD.sub("", question.strip()).rstrip("?").strip()
    return topic[:1].lower() + topic[1:]


def _acts_of(row: dict) -> list[str]:
    return list(dict.fromkeys(key.split(":", 1)[0] for key in row.get("gold") or []))


def variants(row: dict, rng: random.Random) -> list[tuple[str, str]]:
    """(audience, query) variants of one dev question; questions for "anyone" are asked as a lawyer."""
    audience = row.get("audience") if row.get("audience") in AUDIENCES else "lawyer"
    question, acts = row["question"].strip(), registry()
    topic = topic_of(question)
    out = [(audience, question), (audience, question.lower())]
    out += [(audience, t.format(topic=topic)) for t in TOPIC_TEMPLATES]
    out += [(role, t.format(topic=topic)) for role, t in ROLE_TEMPLATES]
    own = [acts[key] for key in _acts_of(row) if key in acts]
    others = [info for key, info in acts.items() if key not in _acts_of(row) and info.doc_type == "act"]
    for info in own:
        for alias in dict.fromkeys([info.short_name, *info.aliases[:2]]):
            out += [(audience, t.format(question=question, topic=topic, name=info.short_name, alias=alias)) for t in ACT_TEMPLATES]
    if own:  # once with an Act that does not hold the answer: search falls back to all Acts
        out.append((audience, ACT_TEMPLATES[0].format(question=question, name=rng.choice(others).short_name)))
    for key in row.get("gold") or []:
        act_key, section = key.split(":", 1)
        if act_key in acts:
            info = acts[act_key]
            out += [(audience, t.format(alias=info.aliases[0], name=info.short_name, section=section)) for t in CITATION_TEMPLATES]
    return out


def build_queries(rows: list[dict], seed: int = 7) -> list[tuple[str, str]]:
    """Distinct (audience, query) pairs, in a fixed order for a given seed."""
    rng = random.Random(seed)
    seen: dict[str, str] = {}
    for row in rows:
        for audience, query in variants(row, rng):
            seen.setdefault(" ".join(query.split()), audience)
    return [(audience, query) for query, audience in seen.items()]
