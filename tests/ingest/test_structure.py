"""Sub-units and cross references of statutory text: one table row per drafting pattern."""

from __future__ import annotations

import pytest

from ingest.structure import find_cross_refs, find_subunits, starts_unit

# (id, text, [(path, kind, exact text of the span)])
SUBUNIT_CASES = [
    (
        "subsections-clauses-inserted-clause",
        '(1) In this Act, unless the context otherwise requires,--\n\n(d) "child" means a person below eighteen;\n\n'
        '(da) "child pornography" means any visual depiction;\n\n(e) "prescribed" means prescribed by rules.\n\n'
        "(2) Other words have their ordinary meaning.",
        [
            ("(1)", "subsection", '(1) In this Act, unless the context otherwise requires,--\n\n(d) "child" means a person '
             'below eighteen;\n\n(da) "child pornography" means any visual depiction;\n\n(e) "prescribed" means prescribed by rules.'),
            ("(1)(d)", "clause", '(d) "child" means a person below eighteen;'),
            ("(1)(da)", "clause", '(da) "child pornography" means any visual depiction;'),
            ("(1)(e)", "clause", '(e) "prescribed" means prescribed by rules.'),
            ("(2)", "subsection", "(2) Other words have their ordinary meaning."),
        ],
    ),
    (
        "inserted-clause-still-inside-amendment-brackets",
        '(1) In this Act,--\n\n(d) "child" means a person below eighteen;\n\n^1[(da) "child pornography" means a depiction;]\n\n'
        '(e) "prescribed" means prescribed.',
        [
            ("(1)", "subsection", '(1) In this Act,--\n\n(d) "child" means a person below eighteen;\n\n^1[(da) "child '
             'pornography" means a depiction;]\n\n(e) "prescribed" means prescribed.'),
            ("(1)(d)", "clause", '(d) "child" means a person below eighteen;'),
            ("(1)(da)", "clause", '^1[(da) "child pornography" means a depiction;]'),
            ("(1)(e)", "clause", '(e) "prescribed" means prescribed.'),
        ],
    ),
    (
        "clause-i-after-h-versus-subclauses-inside-j",
        "(h) whoever uses a deadly weapon; or\n\n(i) whoever causes grievous hurt; or\n\n(j) whoever commits it, which--\n\n"
        "(i) incapacitates the child; or\n\n(ii) causes death of the child; or\n\n(k) whoever takes advantage of a disability.",
        [
            ("(h)", "clause", "(h) whoever uses a deadly weapon; or"),
            ("(i)", "clause", "(i) whoever causes grievous hurt; or"),
            ("(j)", "clause", "(j) whoever commits it, which--\n\n(i) incapacitates the child; or\n\n(ii) causes death of the child; or"),
            ("(j)(i)", "subclause", "(i) incapacitates the child; or"),
            ("(j)(ii)", "subclause", "(ii) causes death of the child; or"),
            ("(k)", "clause", "(k) whoever takes advantage of a disability."),
        ],
    ),
    (
        "roman-clauses-with-no-letters-and-explanation",
        "A person commits sexual harassment when he,--\n\n(i) utters any word; or\n\n(ii) shows any object; or\n\n"
        "(v) threatens to use a depiction.\n\nExplanation.--Sexual intent is a question of fact.",
        [
            ("(i)", "clause", "(i) utters any word; or"),
            ("(ii)", "clause", "(ii) shows any object; or"),
            ("(v)", "clause", "(v) threatens to use a depiction."),
            ("Explanation", "explanation", "Explanation.--Sexual intent is a question of fact."),
        ],
    ),
    (
        "references-at-line-start-are-not-labels",
        "(1) The officer shall act under clause\n(d) of sub-section (1) of section 2 and\n(4) of section 35 at once.\n\n"
        "(3), (4) and (5) of section 310 apply to this sub-section.\n\n(2) The officer shall report.",
        [
            ("(1)", "subsection", "(1) The officer shall act under clause\n(d) of sub-section (1) of section 2 and\n(4) of "
             "section 35 at once.\n\n(3), (4) and (5) of section 310 apply to this sub-section."),
            ("(2)", "subsection", "(2) The officer shall report."),
        ],
    ),
    (
        "wrapped-lines-new-label-after-punctuation",
        "(i) whoever causes grievous hurt to the\nchild; or\n(j) whoever commits it on a child\nbelow twelve years.",
        [
            ("(i)", "clause", "(i) whoever causes grievous hurt to the\nchild; or"),
            ("(j)", "clause", "(j) whoever commits it on a child\nbelow twelve years."),
        ],
    ),
    (
        "provisos-numbered-under-their-subsection",
        "(2) The Magistrate shall record the statement:\n\nProvided that a child shall be heard in private:\n\n"
        "Provided further that an interpreter shall assist.\n\n(3) The record shall be signed.",
        [
            ("(2)", "subsection", "(2) The Magistrate shall record the statement:\n\nProvided that a child shall be heard in "
             "private:\n\nProvided further that an interpreter shall assist."),
            ("(2)-proviso", "proviso", "Provided that a child shall be heard in private:"),
            ("(2)-proviso-2", "proviso", "Provided further that an interpreter shall assist."),
            ("(3)", "subsection", "(3) The record shall be signed."),
        ],
    ),
    (
        "proviso-followed-by-next-clause-qualifies-the-clause",
        "(1) The Board may--\n\n(a) grant bail:\n\nProvided that no bail is granted to a habitual offender;\n\n(b) refuse bail.",
        [
            ("(1)", "subsection", "(1) The Board may--\n\n(a) grant bail:\n\nProvided that no bail is granted to a habitual "
             "offender;\n\n(b) refuse bail."),
            ("(1)(a)", "clause", "(a) grant bail:\n\nProvided that no bail is granted to a habitual offender;"),
            ("(1)(a)-proviso", "proviso", "Provided that no bail is granted to a habitual offender;"),
            ("(1)(b)", "clause", "(b) refuse bail."),
        ],
    ),
    (
        "run-of-provisos-between-clauses-belongs-to-the-clause-before",
        "(6) (a) The statement shall be recorded by a woman Magistrate;\n\nProvided that it shall be videographed:\n\n"
        "Provided further that an interpreter shall assist;\n\n(b) a statement so recorded is substantive evidence.",
        [
            ("(6)", "subsection", "(6) (a) The statement shall be recorded by a woman Magistrate;\n\nProvided that it shall be "
             "videographed:\n\nProvided further that an interpreter shall assist;\n\n(b) a statement so recorded is "
             "substantive evidence."),
            ("(6)(a)", "clause", "(a) The statement shall be recorded by a woman Magistrate;\n\nProvided that it shall be "
             "videographed:\n\nProvided further that an interpreter shall assist;"),
            ("(6)(a)-proviso", "proviso", "Provided that it shall be videographed:"),
            ("(6)(a)-proviso-2", "proviso", "Provided further that an interpreter shall assist;"),
            ("(6)(b)", "clause", "(b) a statement so recorded is substantive evidence."),
        ],
    ),
    (
        "explanation-between-clauses-belongs-to-the-clause-before",
        "(g) whoever commits gang assault.\n\nExplanation.--Each member of the group is liable; or\n\n(h) whoever uses a weapon.",
        [
            ("(g)", "clause", "(g) whoever commits gang assault.\n\nExplanation.--Each member of the group is liable; or"),
            ("(g)-Explanation", "explanation", "Explanation.--Each member of the group is liable; or"),
            ("(h)", "clause", "(h) whoever uses a weapon."),
        ],
    ),
    (
        "section-level-explanation",
        "(1) A Special Court shall try offences.\n\n(2) It may take cognizance.\n\n"
        "Explanation.--For the purposes of this section, a Court of Session is a Special Court.",
        [
            ("(1)", "subsection", "(1) A Special Court shall try offences."),
            ("(2)", "subsection", "(2) It may take cognizance."),
            ("Explanation", "explanation", "Explanation.--For the purposes of this section, a Court of Session is a Special Court."),
        ],
    ),
    (
        "numbered-explanations-with-items-and-illustration",
        '(8) "document" means any matter expressed by letters.\n\nExplanation 1.---The means are immaterial.\n\n'
        "(a) A writing is a document.\n\n(b) A cheque is a document.\n\nExplanation 2.---Usage counts.\n\nIllustration.\n\n"
        "A endorses a bill. The endorsement is a document.\n\n(9) \"fraudulently\" means with intent to defraud;",
        [
            ("(8)", "subsection", '(8) "document" means any matter expressed by letters.\n\nExplanation 1.---The means are '
             "immaterial.\n\n(a) A writing is a document.\n\n(b) A cheque is a document.\n\nExplanation 2.---Usage counts."
             "\n\nIllustration.\n\nA endorses a bill. The endorsement is a document."),
            ("(8)-Explanation 1", "explanation", "Explanation 1.---The means are immaterial.\n\n(a) A writing is a document."
             "\n\n(b) A cheque is a document."),
            ("(8)-Explanation 1(a)", "clause", "(a) A writing is a document."),
            ("(8)-Explanation 1(b)", "clause", "(b) A cheque is a document."),
            ("(8)-Explanation 2", "explanation", "Explanation 2.---Usage counts.\n\nIllustration.\n\nA endorses a bill. "
             "The endorsement is a document."),
            ("(8)-Explanation 2-Illustration", "illustration", "Illustration.\n\nA endorses a bill. The endorsement is a document."),
            ("(9)", "subsection", '(9) "fraudulently" means with intent to defraud;'),
        ],
    ),
    (
        "closing-words-after-a-list-belong-to-the-section",
        "Whoever,--\n\n(a) publishes such material; or\n\n(b) facilitates abuse online,\n\nshall be punished with fine.",
        [
            ("(a)", "clause", "(a) publishes such material; or"),
            ("(b)", "clause", "(b) facilitates abuse online,"),
        ],
    ),
    (
        "chained-labels-and-inline-heading",
        "6. Punishment for detaining a person.--(1) Whoever detains a person shall be punished.\n\n"
        "(2) (a) The fine shall be paid to the victim;\n\n(b) The Court may order compensation.",
        [
            ("(1)", "subsection", "(1) Whoever detains a person shall be punished."),
            ("(2)", "subsection", "(2) (a) The fine shall be paid to the victim;\n\n(b) The Court may order compensation."),
            ("(2)(a)", "clause", "(a) The fine shall be paid to the victim;"),
            ("(2)(b)", "clause", "(b) The Court may order compensation."),
        ],
    ),
    (
        "first-item-running-on-from-its-lead-in",
        "(1) Any person who detains another,-- (a) in any brothel, or\n\n(b) in any premises, shall be punished.",
        [
            ("(1)", "subsection", "(1) Any person who detains another,-- (a) in any brothel, or\n\n(b) in any premises, shall be punished."),
            ("(1)(a)", "clause", "(a) in any brothel, or"),
            ("(1)(b)", "clause", "(b) in any premises, shall be punished."),
        ],
    ),
    (
        "letters-nested-in-a-lettered-clause",
        '(ze) "secure system" means a procedure that--\n\n(a) is secure from misuse;\n\n(b) is reliable;\n\n'
        '(zf) "security procedure" means the prescribed procedure.',
        [
            ("(ze)", "clause", '(ze) "secure system" means a procedure that--\n\n(a) is secure from misuse;\n\n(b) is reliable;'),
            ("(ze)(a)", "subclause", "(a) is secure from misuse;"),
            ("(ze)(b)", "subclause", "(b) is reliable;"),
            ("(zf)", "clause", '(zf) "security procedure" means the prescribed procedure.'),
        ],
    ),
    (
        "capital-letters-then-roman",
        "(1) Whoever,--\n\n(A) with intent to threaten India,--\n\n(i) denies access; or\n\n(B) accesses without "
        "authorisation,\n\ncommits cyber terrorism.",
        [
            ("(1)", "subsection", "(1) Whoever,--\n\n(A) with intent to threaten India,--\n\n(i) denies access; or\n\n"
             "(B) accesses without authorisation,\n\ncommits cyber terrorism."),
            ("(1)(A)", "clause", "(A) with intent to threaten India,--\n\n(i) denies access; or"),
            ("(1)(A)(i)", "subclause", "(i) denies access; or"),
            ("(1)(B)", "clause", "(B) accesses without authorisation,"),
        ],
    ),
    (
        "exceptions-with-proviso-and-explanation",
        "Culpable homicide is murder,---\n\n(a) if done with intent to cause death.\n\nIllustrations.\n\n(a) A shoots Z. A "
        "commits murder.\n\nException 1.---It is not murder under grave provocation:\n\nProvided that the provocation is "
        "not sought.\n\nExplanation.---Provocation is a question of fact.\n\nException 2.---It is not murder in private defence.",
        [
            ("(a)", "clause", "(a) if done with intent to cause death."),
            ("Illustrations", "illustration", "Illustrations.\n\n(a) A shoots Z. A commits murder."),
            ("Illustrations(a)", "illustration", "(a) A shoots Z. A commits murder."),
            ("Exception 1", "exception", "Exception 1.---It is not murder under grave provocation:\n\nProvided that the "
             "provocation is not sought.\n\nExplanation.---Provocation is a question of fact."),
            ("Exception 1-proviso", "proviso", "Provided that the provocation is not sought."),
            ("Exception 1-Explanation", "explanation", "Explanation.---Provocation is a question of fact."),
            ("Exception 2", "exception", "Exception 2.---It is not murder in private defence."),
        ],
    ),
    (
        "state-amendment-block",
        "(1) The Government shall notify curricula.\n\nSTATE AMENDMENT\n\nRajasthan\n\nAfter clause (ii) the following "
        "clause is added, namely:-\n\n(iii) ensure learning levels;.",
        [
            ("(1)", "subsection", "(1) The Government shall notify curricula."),
            ("State amendment", "state_amendment", "STATE AMENDMENT\n\nRajasthan\n\nAfter clause (ii) the following clause "
             "is added, namely:-\n\n(iii) ensure learning levels;."),
            ("State amendment(iii)", "clause", "(iii) ensure learning levels;."),
        ],
    ),
]


@pytest.mark.parametrize("text, expected", [(c[1], c[2]) for c in SUBUNIT_CASES], ids=[c[0] for c in SUBUNIT_CASES])
def test_find_subunits(text: str, expected: list[tuple[str, str, str]]) -> None:
    units = find_subunits(text)
    assert [(u.path, u.kind, text[u.char_start : u.char_end]) for u in units] == expected


def test_no_subunits_in_plain_text() -> None:
    assert find_subunits("Whoever commits sexual assault shall be punished with imprisonment.") == []


# (id, text, act_key, expected keys)
CROSS_REF_CASES = [
    ("single", "a court designated under section 28;", "pocso", ["pocso:28"]),
    ("capitalised-inserted", "established under sub-section (1) of Section 70B;", "it", ["it:70B"]),
    ("pair", "punishable under sections 3 and 5", "pocso", ["pocso:3", "pocso:5"]),
    ("range", "offences under sections 5 to 7 of this Act", "pocso", ["pocso:5", "pocso:6", "pocso:7"]),
    ("list", "sections 3, 5 or 7", "pocso", ["pocso:3", "pocso:5", "pocso:7"]),
    ("lettered", "the provisions of section 42A", "pocso", ["pocso:42A"]),
    ("under", "a report under section 4 shall", "jj", ["jj:4"]),
    ("clause-of-subsection", "clause (d) of sub-section (1) of section 2", "pocso", ["pocso:2"]),
    ("pinpoint", "as defined in section 2(1)(d)", "jj", ["jj:2"]),
    ("glued", "under sub-section (1) of section44.", "pocso", ["pocso:44"]),
    ("other-act", "clause (f) of section 2 of the Protection of Women from Domestic Violence Act, 2005 (43 of 2005)",
     "pocso", ["pwdva:2"]),
    ("ipc", "section 354D of the Indian Penal Code (45 of 1860)", "pocso", ["ipc:354D"]),
    ("crpc", "section 164 of the Code of Criminal Procedure, 1973 (2 of 1974)", "pocso", ["crpc:164"]),
    ("bns-range", "sections 64 to 66 of the Bharatiya Nyaya Sanhita, 2023", "bnss", ["bns:64", "bns:65", "bns:66"]),
    ("older-act-of-same-name-dropped", "section 4 of the Juvenile Justice (Care and Protection of Children) Act, 2000",
     "pocso", []),
    ("unknown-act-dropped", "clause (l) of section 2 of the Mental Health Act, 1987 (14 of 1987)", "pocso", []),
    ("glued-unknown-act-dropped", "clause (l) of section 2of the Mental Health Act, 1987", "pocso", []),
    ("said-code-dropped", "an offence under section 5 of the said Code", "pocso", []),
    ("own-act", "section 13 of this Act", "pocso", ["pocso:13"]),
    ("comma-run-takes-the-named-act", "sections 166A, 354A, 370, section 509 of the Indian Penal Code", "pocso",
     ["ipc:166A", "ipc:354A", "ipc:370", "ipc:509"]),
    ("mixed-deduplicated", "sections 3 and 5 of this Act, section 3, and section 67B of the Information Technology Act, 2000",
     "pocso", ["pocso:3", "pocso:5", "it:67B"]),
    ("no-own-act", "section 28 of this Act and section 376 of the Indian Penal Code", None, ["ipc:376"]),
    ("sub-section-alone", "as provided in sub-section (1)", "pocso", []),
]


@pytest.mark.parametrize("text, act_key, expected", [c[1:] for c in CROSS_REF_CASES], ids=[c[0] for c in CROSS_REF_CASES])
def test_find_cross_refs(text: str, act_key: str | None, expected: list[str]) -> None:
    assert find_cross_refs(text, act_key) == expected


@pytest.mark.parametrize(
    "line, expected",
    [
        ("(a) whoever commits", True),
        ("(2A) Where a child", True),
        ("^1[(da) child pornography", True),
        ("Provided that no order", True),
        ("Explanation 1.---It is", True),
        ("Illustrations.", True),
        ("(4) of section 35;", False),
        ("(3), (4) and (5) of section 310", False),
        ("section (4) applies", False),
        ("(Signed) A. B.", False),
    ],
)
def test_starts_unit(line: str, expected: bool) -> None:
    assert starts_unit(line) is expected
