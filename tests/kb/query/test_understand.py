"""understand(): the query plan every retriever reads."""

from __future__ import annotations

import json

import pytest

from kb.query.understand import QueryPlan, clean_text, understand

# query -> expected plan fields (only the listed fields are checked).
ROWS = [
    ("what replaced IPC 354D", {
        "citations": [("ipc", "354D", None)],
        "targets": [("ipc:354D", None), ("bns:78", None)],
        "notes": ["IPC s. 354D is now Bharatiya Nyaya Sanhita s. 78 (Stalking)."],
        "act_filter": None, "keyword_has": ["Stalking"], "keyword_lacks": ["354D", "IPC"],
    }),
    ("punishment for storing CSAM", {
        "citations": [], "is_punishment": True, "is_definition": False, "act_filter": None,
        "keyword_has": ["punishment for storing CSAM", "child pornography",
                        "stores or possesses pornographic material"],
        "semantic": "punishment for storing CSAM",
    }),
    ("POCSO 19(1)", {
        "citations": [("pocso", "19", "(1)")], "targets": [("pocso:19", "(1)")], "act_filter": "pocso",
        "semantic": "", "keyword": "",
    }),
    ("how to record a child's statement", {
        "citations": [], "is_procedure": True, "is_punishment": False, "is_definition": False,
        "keyword_has": ["recording of statement of a child"],
    }),
    ("under the JJ Act who can adopt", {
        "citations": [], "act_filter": "jj", "keyword_has": ["prospective adoptive parents"],
        "semantic": "under the JJ Act who can adopt",
    }),
    ("what is child pornography", {"is_definition": True, "is_punishment": False}),
    ("define sexual assault", {"is_definition": True}),
    ("meaning of child in need of care and protection", {"is_definition": True}),
    ("'abandoned' means what under the JJ Act", {"is_definition": True, "act_filter": "jj"}),
    ("what is the punishment for stalking", {"is_definition": False, "is_punishment": True}),
    ("penalty for not reporting abuse under POCSO", {
        "is_punishment": True, "act_filter": "pocso", "keyword_has": ["failure to report"],
    }),
    ("sentence for rape of a child", {"is_punishment": True}),
    ("is it fine to post photos of my child", {"is_punishment": False, "acts": []}),
    ("steps to file an FIR for a missing child", {
        "is_procedure": True, "keyword_has": ["information in cognizable cases", "missing or run away child"],
    }),
    ("section 164 CrPC statement of victim", {
        "citations": [("crpc", "164", None)], "targets": [("crpc:164", None), ("bnss:183", None)],
        "notes": ["CrPC s. 164 is now Bharatiya Nagarik Suraksha Sanhita s. 183 "
                  "(Recording of confessions and statements)."],
        "act_filter": None,
    }),
    ("IPC 376(3)", {"targets": [("ipc:376", "(3)"), ("bns:65", "(1)")]}),
    ("BNS 78 stalking", {
        "citations": [("bns", "78", None)], "targets": [("bns:78", None)], "act_filter": "bns",
        "notes": ["Bharatiya Nyaya Sanhita s. 78 replaced IPC s. 354D (Stalking)."],
    }),
    ("section 377 IPC", {
        "targets": [("ipc:377", None)],
        "notes": ["No verified successor of Indian Penal Code s. 377 is recorded in the concordance; "
                  "search the current Acts by subject."],
    }),
    ("what does section 19 say under the POCSO Act", {
        "citations": [("pocso", "19", None)], "act_filter": "pocso", "targets": [("pocso:19", None)],
    }),
    ("rule 11 under the POCSO Rules", {"citations": [("pocso_rules", "11", None)], "act_filter": "pocso_rules"}),
    ("Article 21 and child privacy", {
        "citations": [(None, "21", None)], "targets": [], "semantic": "and child privacy",
        "notes": ["Article 21 is a provision of the Constitution of India, which this knowledge base does not hold."],
    }),
    ("difference between POCSO and JJ Act", {"act_filter": None, "acts": ["pocso", "jj"]}),
    ("child labour in shops", {"act_filter": None, "acts": ["clpra"]}),
    ("is it an offence to share a video", {"act_filter": None, "acts": []}),
    ("section 67B of the IT Act and POCSO section 15", {
        "citations": [("it", "67B", None), ("pocso", "15", None)], "act_filter": None,
    }),
]


def _check(plan: QueryPlan, expected: dict) -> None:
    checks = {
        "citations": lambda: [(c.act_key, c.section, c.subsection) for c in plan.citations],
        "targets": plan.target_provisions,
        "notes": lambda: plan.notes,
        "act_filter": lambda: plan.act_filter,
        "acts": lambda: plan.acts_mentioned,
        "is_definition": lambda: plan.is_definition,
        "is_punishment": lambda: plan.is_punishment,
        "is_procedure": lambda: plan.is_procedure,
        "semantic": lambda: plan.semantic_text,
        "keyword": lambda: plan.keyword_text,
    }
    for name, want in expected.items():
        if name == "keyword_has":
            for part in want:
                assert part in plan.keyword_text, f"{part!r} missing from {plan.keyword_text!r}"
        elif name == "keyword_lacks":
            for part in want:
                assert part not in plan.keyword_text, f"{part!r} left in {plan.keyword_text!r}"
        else:
            assert checks[name]() == want, name


@pytest.mark.parametrize(("query", "expected"), ROWS, ids=[q for q, _ in ROWS])
def test_plan(query: str, expected: dict) -> None:
    _check(understand(query), expected)


def test_act_less_section_takes_the_one_act_named() -> None:
    plan = understand("under the JJ Act, what does section 2(14) say")
    assert [(c.act_key, c.pinpoint) for c in plan.citations] == [("jj", "2(14)")]


def test_act_less_section_stays_unknown_when_no_act_is_named() -> None:
    plan = understand("s.67B")
    assert plan.citations[0].act_key is None
    assert plan.target_provisions() == []
    assert plan.notes == ["'s.67B' names no Act; matching sections of every Act are searched."]


def test_repealed_code_is_never_the_filter() -> None:
    assert understand("cheating under the IPC").act_filter is None


def test_plan_is_json_ready() -> None:
    data = understand("what replaced IPC 354D").to_dict()
    assert json.loads(json.dumps(data))["successors"][0]["new_section"] == "78"
    assert data["citations"][0]["raw"] == "IPC 354D"


def test_clean_text() -> None:
    assert clean_text("  “POCSO”\u00a0 s.\t19 \x00 ") == '"POCSO" s. 19'
