"""Chunking provisions: never across a section, cut along structure, locators narrowed, exact spans."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.chunk import chunk_provision
from ingest.document import ConvertedText
from ingest.parse_indiacode import parse_indiacode_markdown
from ingest.structure import find_subunits
from kb.models import Chunk, Locator, Provision, SubUnit
from kb.settings import ChunkSettings

SAMPLES = ["pocso-sample/part-001.md", "it-sample/part-001.md", "it-sample/part-002.md", "bns-sample/part-001.md"]


def _provisions(fixtures_dir: Path) -> dict[str, Provision]:
    out = {}
    for name in SAMPLES:
        path = fixtures_dir / "indiacode" / name
        doc = parse_indiacode_markdown(ConvertedText(path=str(path), text=path.read_text("utf-8"), media_type="text/markdown"))
        out.update({p.key: p for p in doc.provisions})
    return out


@pytest.fixture(scope="module")
def provisions(fixtures_dir: Path) -> dict[str, Provision]:
    return _provisions(fixtures_dir)


def _check_invariants(provision: Provision, chunks: list[Chunk], max_chars: int) -> None:
    previous_end = 0
    for chunk in chunks:
        loc = chunk.locator
        assert chunk.text == provision.text[loc.char_start : loc.char_end]
        assert 0 < len(chunk.text) <= max_chars
        assert loc.char_start >= previous_end
        assert loc.provision_key == provision.key
        previous_end = loc.char_end
    covered = {i for c in chunks for i in range(c.locator.char_start, c.locator.char_end)}
    assert all(ch.isspace() for i, ch in enumerate(provision.text) if i not in covered)


# (provision, max_chars) -> [(subsection, chunk text starts with, ends with, lead-in shown to the encoder)]
CHUNK_CASES = [
    ("pocso:2", 1300, [(None, "(1) In this Act", "given to them there.", "")]),
    ("pocso:2", 400, [
        ("(1)", "(1) In this Act", "eighteen years;", ""),
        ("(1)", '(da) "child pornography"', "in section 3;", "(1) In this Act, unless the context otherwise requires, --"),
        ("(1)", '(g) "prescribed"', "in section 11.", "(1) In this Act, unless the context otherwise requires, --"),
        ("(2)", "(2) Words used", "given to them there.", ""),
    ]),
    ("pocso:19", 300, [
        ("(1)", "(1) Notwithstanding", "(b) the local police.", ""),
        ("(2)", "(2) Every report", "in simple language:", ""),
        (None, "Provided further that", "within twenty-four hours.", "(2) Every report under sub-section (1) shall be--"),
    ]),
    ("it:66F", 200, [
        ("(1)", "(1) Whoever,--", "computer resource; or", ""),
        ("(1)", "(ii) attempts", "restricted information,",
         "(1) Whoever,-- (A) with intent to threaten the unity, integrity, security or sovereignty of India,--"),
        (None, "commits the offence of cyber terrorism.", "imprisonment for life.", "(1) Whoever,--"),
    ]),
    ("bns:101", 300, [
        (None, "Except in the cases", "likely to cause death.", ""),
        ("Illustrations", "Illustrations.", "A commits murder.", "Except in the cases hereinafter excepted, culpable homicide is murder,---"),
        ("Exception 1", "Exception 1.---", "who gave the provocation:", "Except in the cases hereinafter excepted, culpable homicide is murder,---"),
        ("Exception 1", "Provided that the provocation", "is a question of fact.",
         "Except in the cases hereinafter excepted, culpable homicide is murder,--- Exception 1.---Culpable homicide is not "
         "murder if the offender, whilst deprived of the power of self-control by grave and sudden provocation, causes the "
         "death of the person who gave the provocation:"),
        ("Exception 2", "Exception 2.---", "without premeditation.", "Except in the cases hereinafter excepted, culpable homicide is murder,---"),
    ]),
    ("pocso:42A", 120, [
        (None, "42A. Act not in derogation", "not in derogation of,", ""),
        (None, "any other law for the time being", "in case of any inconsistency,", ""),
        (None, "the provisions of this Act have", "to that extent.", ""),
    ]),
]


@pytest.mark.parametrize("key, max_chars, expected", CHUNK_CASES, ids=[f"{c[0]}-{c[1]}" for c in CHUNK_CASES])
def test_chunks(provisions, key: str, max_chars: int, expected) -> None:
    provision = provisions[key]
    chunks = chunk_provision(provision, ChunkSettings(max_chars=max_chars, min_chars=0))
    _check_invariants(provision, chunks, max_chars)
    assert len(chunks) == len(expected)
    prefix = f"{provision.locator.short_name} s. {provision.locator.section} {provision.locator.heading}: "
    for chunk, (subsection, head, tail, lead_in) in zip(chunks, expected):
        assert chunk.locator.subsection == subsection
        assert chunk.text.startswith(head) and chunk.text.endswith(tail)
        assert chunk.embed_text == prefix + (f"{lead_in} " if lead_in else "") + chunk.text
        assert lead_in == "" or lead_in not in chunk.text  # context for the encoder only


def test_one_unit_chunk_cites_the_unit(provisions) -> None:
    provision = provisions["pocso:2"]
    chunks = chunk_provision(provision, ChunkSettings(max_chars=160, min_chars=0))
    da = next(c for c in chunks if c.text.startswith("(da)"))
    assert da.locator.subsection == "(1)(da)"
    assert da.locator.citation() == "POCSO Act, 2012, s. 2(1)(da)"


def test_settings_without_heading_and_page_carried(provisions) -> None:
    provision = provisions["it:67B"]
    provision = Provision(locator=provision.locator.narrowed(page=7), text=provision.text, subunits=provision.subunits)
    chunks = chunk_provision(provision, ChunkSettings(max_chars=1200, embed_heading=False))
    assert [c.embed_text for c in chunks] == [provision.text]
    assert [c.locator.page for c in chunks] == [7]


def test_empty_provision_has_no_chunks() -> None:
    provision = Provision(locator=Locator(act_key="it", section="20"), text="  \n")
    assert chunk_provision(provision, ChunkSettings()) == []


def test_unstructured_long_text_splits_at_sentences() -> None:
    sentence = "The Committee shall meet every month and record its proceedings in writing. "
    text = (sentence * 40).strip()
    provision = Provision(locator=Locator(act_key="jj", short_name="Juvenile Justice Act", section="27", heading="Committee"), text=text)
    chunks = chunk_provision(provision, ChunkSettings(max_chars=500, min_chars=0))
    _check_invariants(provision, chunks, 500)
    assert all(c.text.startswith("The Committee") and c.text.endswith("writing.") for c in chunks)
    assert all(c.locator.subsection is None for c in chunks)


def test_short_last_piece_takes_sentences_from_its_neighbour() -> None:
    sentence = "The Committee shall meet every month and record its proceedings in writing. "  # 77 chars
    text = (sentence * 13).strip()
    provision = Provision(locator=Locator(act_key="jj", section="27"), text=text)
    greedy = chunk_provision(provision, ChunkSettings(max_chars=500, min_chars=0))
    evened = chunk_provision(provision, ChunkSettings(max_chars=500, min_chars=200))
    assert [c.text.count("Committee") for c in greedy] == [6, 6, 1]
    assert [c.text.count("Committee") for c in evened] == [6, 4, 3]
    _check_invariants(provision, evened, 500)


def test_overlapping_subunits_from_a_faulty_parser_do_not_overlap_chunks() -> None:
    text = "(1) " + "words " * 60 + "\n\n(2) " + "more words " * 60
    second = text.index("(2)")
    units = [SubUnit("(1)", "subsection", 0, second + 20), SubUnit("(2)", "subsection", second, len(text))]
    provision = Provision(locator=Locator(act_key="x", section="1"), text=text, subunits=units)
    chunks = chunk_provision(provision, ChunkSettings(max_chars=400, min_chars=0))
    _check_invariants(provision, chunks, 400)


def test_other_documents_use_their_heading_path() -> None:
    provision = Provision(
        locator=Locator(act_title="Reporting guide", heading_path=("Who must report",), section="1", doc_type="sop"),
        text="Every teacher must report abuse.",
    )
    [chunk] = chunk_provision(provision, ChunkSettings())
    assert chunk.embed_text == "Reporting guide \u203a Who must report: Every teacher must report abuse."


@settings(max_examples=60, deadline=None)
@given(max_chars=st.integers(min_value=101, max_value=1500), index=st.integers(min_value=0))
def test_invariants_for_any_size(fixtures_dir: Path, max_chars: int, index: int) -> None:
    provisions = _cached(fixtures_dir)
    provision = provisions[index % len(provisions)]
    _check_invariants(provision, chunk_provision(provision, ChunkSettings(max_chars=max_chars, min_chars=0)), max_chars)


_CACHE: dict[Path, list[Provision]] = {}


def _cached(fixtures_dir: Path) -> list[Provision]:
    if fixtures_dir not in _CACHE:
        structured = list(_provisions(fixtures_dir).values())
        # A provision whose sub-units nest deeply and whose lead-ins are long.
        text = "(1) " + "Lead-in words, " * 30 + "namely:--\n\n(a) " + "clause words; " * 60 + "\n\n(b) last clause."
        structured.append(Provision(locator=Locator(act_key="x", section="1"), text=text, subunits=find_subunits(text)))
        _CACHE[fixtures_dir] = structured
    return _CACHE[fixtures_dir]
