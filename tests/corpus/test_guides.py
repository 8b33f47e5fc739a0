"""The shipped guides in ``corpus/guides`` cite only provisions that exist, with their real headings.

Each guide is Markdown with YAML front matter (title, doc_type, audiences, cites). Inline
citations take two forms, both checked against the real Act texts in ``../shared/sources``:

    (POCSO Act, s. 19)    (POCSO Act, s. 2(1)(da))    (Juvenile Justice Act, ss. 74–89)
    section 19 of the POCSO Act    sections 3, 5, 7 and 9 of the POCSO Act

A heading ``## Section 19 — Reporting of offences`` must carry the Act's own heading for that
section (of the Act the guide cites most, or the Act named as ``Section 19 of the POCSO Act — ...``).
A section number that belongs to no citation is an error, so no reference escapes the check.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from guide_citations import (
    AMOUNT,
    DANGLING,
    QUOTE,
    Citation,
    Guide,
    heading_citations,
    heading_key,
    inline_citations,
    number_forms,
    parse_guide,
    plain,
    primary_act,
    sentences,
)

from kb.acts import registry
from kb.models import AUDIENCES, DOC_TYPES

REPO_ROOT = Path(__file__).resolve().parents[2]
GUIDES_DIR = REPO_ROOT / "corpus" / "guides"
GUIDE_PATHS = sorted(GUIDES_DIR.glob("*.md"))

# name -> (doc_type, audiences or None when any, minimum words)
REQUIRED_GUIDES = {
    "pocso-guide.md": ("guideline", None, 2500),
    "it-act-guide.md": ("guideline", None, 1000),
    "jj-act-guide.md": ("guideline", None, 1500),
    "rte-guide.md": ("guideline", None, 800),
    "child-labour-guide.md": ("guideline", None, 700),
    "child-marriage-guide.md": ("guideline", None, 700),
    "police-checklist-child-sexual-offences.md": ("sop", ["police"], 1200),
    "ngo-guide-reporting-online-csam.md": ("guideline", ["ngo"], 1000),
    "definitions-comparison.md": ("guideline", None, 800),
    "national-alliance.md": ("policy", ["lawyer", "ngo", "police"], 300),
    "case-study-template.md": ("case_study", None, 200),
}
FRONT_MATTER_KEYS = {"title", "doc_type", "audiences", "cites"}


def _guide_params() -> list:
    return [pytest.param(p, id=p.name) for p in GUIDE_PATHS]


# ---------------------------------------------------------------------------- structure


def test_required_guides_present() -> None:
    missing = sorted(set(REQUIRED_GUIDES) - {p.name for p in GUIDE_PATHS})
    assert not missing, f"guides missing from {GUIDES_DIR}: {missing}"


@pytest.mark.parametrize("path", _guide_params())
def test_front_matter_fields(path: Path) -> None:
    guide = parse_guide(path)
    meta = guide.meta
    assert set(meta) == FRONT_MATTER_KEYS, f"{path.name}: front matter keys {sorted(meta)}"
    assert isinstance(meta["title"], str) and meta["title"].strip(), f"{path.name}: empty title"
    assert meta["doc_type"] in DOC_TYPES, f"{path.name}: doc_type {meta['doc_type']!r} not in {DOC_TYPES}"
    audiences = meta["audiences"]
    assert isinstance(audiences, list) and audiences, f"{path.name}: audiences must be a non-empty list"
    assert set(audiences) <= set(AUDIENCES), f"{path.name}: audiences {audiences} not within {AUDIENCES}"
    assert len(set(audiences)) == len(audiences), f"{path.name}: repeated audience in {audiences}"
    cites = meta["cites"]
    assert isinstance(cites, list), f"{path.name}: cites must be a list"
    assert len(set(cites)) == len(cites), f"{path.name}: repeated cites entries"
    for entry in cites:
        match = re.fullmatch(r"([a-z_]+):(\d+[A-Z]{0,2})", str(entry))
        assert match, f"{path.name}: cites entry {entry!r} is not 'actkey:section'"
        assert match.group(1) in registry(), f"{path.name}: cites entry {entry!r} names an unknown act key"


@pytest.mark.parametrize("path", _guide_params())
def test_required_guide_metadata_and_length(path: Path) -> None:
    if path.name not in REQUIRED_GUIDES:
        pytest.skip(f"{path.name} has no required metadata")
    doc_type, audiences, min_words = REQUIRED_GUIDES[path.name]
    guide = parse_guide(path)
    assert guide.meta["doc_type"] == doc_type, f"{path.name}: doc_type {guide.meta['doc_type']!r}"
    if audiences is not None:
        assert sorted(guide.meta["audiences"]) == audiences, f"{path.name}: audiences {guide.meta['audiences']}"
    assert guide.words() >= min_words, f"{path.name}: {guide.words()} words, want >= {min_words}"
    assert re.search(r"^#{1,2} \S", guide.body, re.M), f"{path.name}: no # or ## heading"


@pytest.mark.parametrize("path", _guide_params())
def test_no_unattributed_section_numbers(path: Path) -> None:
    """Every "section N" / "s. N" in the body belongs to a citation naming its Act."""
    guide = parse_guide(path)
    _, rest = inline_citations(guide)
    leftovers = [rest[max(0, m.start() - 40) : m.end() + 20].replace("\n", " ") for m in DANGLING.finditer(rest)]
    assert not leftovers, f"{path.name}: section references without an Act: {leftovers}"


@pytest.mark.parametrize("path", _guide_params())
def test_no_phone_numbers(path: Path) -> None:
    """Guides send readers to official channels, never to numbers we cannot verify."""
    body = parse_guide(path).body
    assert not re.search(r"\+91|\b\d{5,}\b|\b\d{3,4}[- ]\d{3,4}[- ]\d{3,4}\b", body), f"{path.name}: looks like a phone number"


@pytest.mark.parametrize("path", _guide_params())
def test_cites_list_matches_body(path: Path) -> None:
    """The front-matter ``cites`` lists exactly the provisions the body cites (ranges by their ends)."""
    guide = parse_guide(path)
    body_cites, _ = inline_citations(guide)
    primary = primary_act(body_cites)
    cited = {f"{c.act}:{n}" for c in body_cites for n in filter(None, (c.section, c.range_to))}
    cited |= {f"{c.act}:{c.section}" for _, c, _ in heading_citations(guide, primary)}
    listed = set(guide.meta["cites"])
    assert listed == cited, (
        f"{path.name}: cites not in body {sorted(listed - cited)}; body citations missing from cites {sorted(cited - listed)}"
    )


# ---------------------------------------------------------------------------- against the Acts


@pytest.mark.parametrize("path", _guide_params())
def test_citations_resolve_to_real_sections(path: Path, act_texts) -> None:
    guide = parse_guide(path)
    citations, _ = inline_citations(guide)
    heads = [c for _, c, _ in heading_citations(guide, primary_act(citations))]
    from_front = [Citation(guide.name, *e.split(":"), (), f"cites: {e}") for e in guide.meta["cites"]]
    problems = []
    for cite in [*citations, *heads, *from_front]:
        if not act_texts.known(cite.act):
            problems.append(f"{cite.raw!r}: no source text for act {cite.act!r}")
            continue
        sections = act_texts.sections(cite.act)
        missing = [n for n in filter(None, (cite.section, cite.range_to)) if n not in sections]
        problems += [f"{cite.raw!r}: {cite.act} has no section {n}" for n in missing]
        if not missing and cite.range_to:
            order = list(sections)
            if order.index(cite.range_to) <= order.index(cite.section):
                problems.append(f"{cite.raw!r}: range does not run forwards through the Act")
    assert not problems, f"{path.name}: " + "; ".join(problems)


@pytest.mark.parametrize("path", _guide_params())
def test_pinpoint_labels_exist(path: Path, act_texts) -> None:
    """A pinpoint such as 2(1)(da) names labels that occur in that section's text."""
    guide = parse_guide(path)
    citations, _ = inline_citations(guide)
    problems = []
    for cite in citations:
        section = act_texts.section(cite.act, cite.section)
        if section is None or not cite.labels or cite.act in ("ipc", "crpc", "iea"):
            continue
        compact = re.sub(r"\s+", "", section.text)
        problems += [f"{cite.raw!r}: no {label} in {cite.act} s. {cite.section}" for label in cite.labels if label not in compact]
    assert not problems, f"{path.name}: " + "; ".join(problems)


@pytest.mark.parametrize("path", _guide_params())
def test_section_headings_match_the_act(path: Path, act_texts) -> None:
    guide = parse_guide(path)
    citations, _ = inline_citations(guide)
    problems = []
    for lineno, cite, title in heading_citations(guide, primary_act(citations)):
        section = act_texts.section(cite.act, cite.section)
        if section is None:
            problems.append(f"line {lineno}: {cite.act} has no section {cite.section}")
        elif heading_key(section.heading) != heading_key(title):
            problems.append(f"line {lineno}: {title!r} is not {cite.act} s. {cite.section} {section.heading!r}")
    assert not problems, f"{path.name}: " + "; ".join(problems)


@pytest.mark.parametrize("path", _guide_params())
def test_quoted_phrases_are_short_and_verbatim(path: Path, act_texts) -> None:
    """Quotes of three or more words are short and occur word for word in an Act the guide cites."""
    guide = parse_guide(path)
    citations, _ = inline_citations(guide)
    acts = {c.act for c in citations}
    texts = [plain(act_texts.full_text(a)) for a in sorted(acts) if act_texts.known(a)]
    problems = []
    for match in QUOTE.finditer(guide.body):
        phrase = match.group(1) or match.group(2)
        words = phrase.split()
        if len(words) < 3:
            continue
        if len(words) > 30:
            problems.append(f"quote of {len(words)} words: {phrase[:60]!r}...")
        elif not any(plain(phrase) in text for text in texts):
            problems.append(f"quote not found in the cited Acts: {phrase!r}")
    assert not problems, f"{path.name}: " + "; ".join(problems)


@pytest.mark.parametrize("path", _guide_params())
def test_time_limits_and_amounts_match_cited_sections(path: Path, act_texts) -> None:
    """A period, age or amount ("within twenty-four hours", "three to five years", "one lakh") stated
    next to citations occurs, as a word, in the text of at least one provision that sentence cites
    (or, for a sentence without citations, that its line or list item cites)."""
    guide = parse_guide(path)
    problems = []
    for sentence, line in sentences(guide.body):
        amounts = list(AMOUNT.finditer(sentence))
        if not amounts:
            continue
        cites = inline_citations(Guide(guide.path, guide.meta, sentence))[0] or inline_citations(Guide(guide.path, guide.meta, line))[0]
        texts = [plain(s.text) for c in cites if (s := act_texts.section(c.act, c.section)) is not None]
        if not texts:
            continue  # nothing cited on the line: template placeholders and the seed-based page
        for match in amounts:
            for number in filter(None, (match.group("a"), match.group("b"))):
                if not any(f" {form} " in text for form in number_forms(number) for text in texts):
                    problems.append(f"{number!r} in {sentence[:90]!r}...")
    assert not problems, f"{path.name}: numbers not found in the cited provisions: {problems}"


def test_guides_cite_many_provisions(act_texts) -> None:
    """Guard against a parser that silently finds nothing."""
    total = sum(len(inline_citations(parse_guide(p))[0]) for p in GUIDE_PATHS)
    assert total >= 300, f"only {total} inline citations found across {len(GUIDE_PATHS)} guides"
