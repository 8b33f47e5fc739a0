"""find_mentions: Act names in free text, and the English word "it"."""

from __future__ import annotations

import pytest

from kb.query.mentions import find_mentions

# (text, [(act_key, raw, strong)])
ROWS = [
    ("punishment under the JJ Act, 2015 and IPC", [("jj", "JJ Act, 2015", True), ("ipc", "IPC", True)]),
    ("under JJ who can adopt", [("jj", "JJ", True)]),
    ("section 164 Cr.P.C.", [("crpc", "Cr.P.C.", True)]),
    ("CrPC and crpc", [("crpc", "CrPC", True), ("crpc", "crpc", True)]),
    ("the Juvenile Justice (Care and Protection of Children) Act, 2015",
     [("jj", "Juvenile Justice (Care and Protection of Children) Act, 2015", True)]),
    ("POCSO Rules", [("pocso_rules", "POCSO Rules", True)]),
    ("POCSO rules on compensation", [("pocso_rules", "POCSO rules", True)]),
    ("IT Rules 2021", [("it_rules", "IT Rules 2021", True)]),
    ("intermediary guidelines", [("it_rules", "intermediary guidelines", True)]),
    ("Information Technology Act, 2000", [("it", "Information Technology Act, 2000", True)]),
    ("I.T. Act", [("it", "I.T. Act", True)]),
    ("section 67 of it act", [("it", "it act", True)]),
    ("child labour in shops", [("clpra", "child labour", False)]),
    ("Bharatiya Nyaya Sanhita", [("bns", "Bharatiya Nyaya Sanhita", True)]),
    ("the Evidence Act", [("iea", "Evidence Act", True)]),
]

NO_ACT = ["is it an offence", "does it act fast", "it rules that", "what is it", "the act of touching"]


@pytest.mark.parametrize(("text", "expected"), ROWS, ids=[t for t, _ in ROWS])
def test_mentions(text: str, expected: list[tuple[str, str, bool]]) -> None:
    assert [(m.act_key, m.raw, m.strong) for m in find_mentions(text)] == expected


@pytest.mark.parametrize("text", NO_ACT)
def test_english_it_is_not_the_it_act(text: str) -> None:
    assert find_mentions(text) == []


def test_bare_capital_it_counts_only_beside_a_number() -> None:
    (mention,) = find_mentions("IT companies")
    assert mention.adjacent_only and not mention.strong
