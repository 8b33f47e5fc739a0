"""Print-layout repairs, one table row per artefact."""

from __future__ import annotations

import pytest

from ingest import clean_printed as cp


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("P ROHIBITION OF EMPLOYMENT", "PROHIBITION OF EMPLOYMENT"),
        ("P RELIMINARY", "PRELIMINARY"),
        ("A CT N O. 61 OF 1986", "ACT NO. 61 OF 1986"),
        ("B E it enacted by Parliament", "BE it enacted by Parliament"),
        ("PART V AMENDMENTS", "PART V AMENDMENTS"),  # "AMENDMENTS" is a word of its own (see vocab)
        ("CHAPTER I", "CHAPTER I"),
        ("(a) A person who", "(a) A person who"),
    ],
)
def test_fix_spaced_capitals(line: str, expected: str) -> None:
    assert cp.fix_spaced_capitals(line, {"amendments"}) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the prohi-\nbition of", "the prohibition of"),
        ("under this sub-\nsection (2)", "under this sub-section (2)"),
        ("twenty-\nfour hours", "twenty-four hours"),
        ("the Juvenile-\nJustice Board", "the Juvenile-Justice Board"),  # capital after the break: keep the hyphen
        ("ends with a dash -\nnext line", "ends with a dash -\nnext line"),
    ],
)
def test_join_hyphenated(text: str, expected: str) -> None:
    assert cp.join_hyphenated(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\u201cchild\u201d means", '"child" means'),
        ("the expression \u2018\u2018use a child\u2019\u2019 shall", 'the expression "use a child" shall'),
        ("Definitions.-(1) In this Act", "Definitions.\u2014(1) In this Act"),
        ("namely:-\n(a)", "namely:\u2014\n(a)"),
        ("Definitions.\u2013In this Act", "Definitions.\u2014In this Act"),
        ("signi\ufb01cant\u00a0harm", "significant harm"),
        ("pages 3-5 of the report", "pages 3-5 of the report"),
    ],
)
def test_normalise_punctuation(text: str, expected: str) -> None:
    assert cp.normalise_punctuation(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("( 1 ) No child shall", "(1) No child shall"),
        ("4 [ ( i a ) ] \u201c appropriate Government \u201d", "4[(ia)] \u201cappropriate Government\u201d"),
        ("sub - section ( 2 ) of section 3 A", "sub-section (2) of section 3A"),
        ("1 4C. Rehabilitation", "14C. Rehabilitation"),
        ("( 3 ) Whoever \u2014\n4 * * * * *", "(3) Whoever\u2014\n4*****"),
        ("(w.e.f. 1 - 9 - 2016)", "(w.e.f. 1-9-2016)"),
    ],
)
def test_collapse_spacing(text: str, expected: str) -> None:
    assert cp.collapse_spacing(text) == expected


def test_spacing_artifacts_are_detected_only_when_frequent() -> None:
    assert cp.has_spacing_artifacts("( 1 ) a ( 2 ) b ( 3 ) c sub - section 1 [ x")
    assert not cp.has_spacing_artifacts("(1) This Act may be called the Model Act. (2) It extends to India.")


def test_join_broken_words_uses_the_documents_own_words() -> None:
    document = (
        "The Inspector was appointed. Every notification is published. the notification of the Government. "
        "by notification, a notification, any notification. "
        "the notif ication and notif ication again. Parliament shall meet. The safety of the child. "
    )
    stats = cp.WordStats(document)
    broken = "appoi nted by t he Government, laid before Parliamen t, the notif ication, safe t y, put in to force"
    assert cp.join_broken_words(broken, stats) == (
        "appointed by the Government, laid before Parliament, the notification, safety, put in to force"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("not less than 4[ten years]", "not less than ^4[ten years]"),
        ("1[(da) child pornography]", "^1[(da) child pornography]"),
        ("the whole of India, 1***.", "the whole of India, ^1***."),
        ("section 2[376A] and ^3[x]", "section ^2[376A] and ^3[x]"),
        ("article 239A[x]", "article 239A[x]"),  # a letter before the bracket: not a marker
    ],
)
def test_mark_footnote_refs(text: str, expected: str) -> None:
    assert cp.mark_footnote_refs(text) == expected


def test_strip_page_furniture_removes_numbers_and_running_heads() -> None:
    pages = [
        "1\nGAZETTE OF MODELSTATE\nARRANGEMENT OF SECTIONS\n1. Short title.",
        "2\nGAZETTE OF MODELSTATE\n1. Short title.\u2014Text.\nPage 2 of 3",
        "- 3 -\nGAZETTE OF MODELSTATE\n2. Definitions.\u2014Text.",
    ]
    assert cp.strip_page_furniture(pages) == [
        "ARRANGEMENT OF SECTIONS\n1. Short title.",
        "1. Short title.\u2014Text.",
        "2. Definitions.\u2014Text.",
    ]


@pytest.mark.parametrize(
    ("page", "body", "notes"),
    [
        (  # numbered notes under a separator, a continuation line joined
            "4. Punishment.\u2014Whoever commits 1[ten years].\n          \n"
            "1. Subs. by Act 25 of 2019, s. 3, for \u201cseven years\u201d\n(w.e.f. 16-08-2019).\n2. Ins. by s. 3, ibid.",
            "4. Punishment.\u2014Whoever commits 1[ten years].",
            ["1. Subs. by Act 25 of 2019, s. 3, for \u201cseven years\u201d (w.e.f. 16-08-2019).", "2. Ins. by s. 3, ibid."],
        ),
        (  # a commencement note that is not an amendment, after an amendment note
            "(3) It shall come into force on such date3 as notified.\n"
            "2. Subs. by s. 4, ibid.\n3. 26th May, 1993, vide notification No. S.O. 333(E).",
            "(3) It shall come into force on such date3 as notified.",
            ["2. Subs. by s. 4, ibid.", "3. 26th May, 1993, vide notification No. S.O. 333(E)."],
        ),
        (  # sections at the bottom of a page are not footnotes
            "1. Short title.\u2014This Act may be called the Model Act.\n2. Definitions.\u2014In this Act,\u2014",
            "1. Short title.\u2014This Act may be called the Model Act.\n2. Definitions.\u2014In this Act,\u2014",
            [],
        ),
        (  # an arrangement table at the bottom of a page is not footnotes either
            "SECTIONS\n1. Short title, extent and commencement.\n2. Definitions.\n3. Repeal.",
            "SECTIONS\n1. Short title, extent and commencement.\n2. Definitions.\n3. Repeal.",
            [],
        ),
    ],
)
def test_split_footnotes(page: str, body: str, notes: list[str]) -> None:
    assert cp.split_footnotes(page) == (body, notes)
