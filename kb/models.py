"""Data models: the provenance chain source -> provision -> chunk -> evidence -> answer.

A :class:`Locator` says exactly where a piece of text sits: which Act (or document), which
section, which sub-section/clause, which page, which characters. Every chunk written to a
store carries one, flattened into Haystack ``Document.meta`` (see :meth:`Locator.to_meta`).

    >>> loc = Locator(act_key="pocso", act_title="The Protection of Children from Sexual Offences Act, 2012",
    ...               short_name="POCSO Act", year=2012, section="2", subsection="(1)(da)")
    >>> loc.citation()
    'POCSO Act, 2012, s. 2(1)(da)'
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

DOC_TYPES = (
    "act", "rules", "policy", "standard", "sop", "guideline", "case_study", "faq", "judgment", "report", "portal", "other",
)
AUDIENCES = ("lawyer", "police", "ngo")


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def format_subsection(path: str | None) -> str:
    """``(2)-proviso`` -> ``(2), proviso``; ``Explanation`` -> ``, Explanation``; ``(1)(da)`` unchanged."""
    if not path:
        return ""
    head, sep, tail = path.partition("-")
    if not head.startswith("("):
        return f", {path.replace('-', ' ')}"
    return f"{head}, {tail.replace('-', ' ')}" if sep else head


@dataclass(frozen=True)
class Locator:
    """Where a chunk or provision sits. Statutes fill act/section fields; other documents
    fill ``heading_path`` (document title > heading > sub-heading) and leave ``section`` as the
    ordinal of the heading block."""

    act_key: str | None = None
    act_title: str = ""
    short_name: str | None = None
    year: int | None = None
    act_number: str | None = None
    part: str | None = None
    chapter: str | None = None
    section: str | None = None
    subsection: str | None = None  # "(1)(da)": the path below the section, empty for the whole section
    heading: str | None = None
    heading_path: tuple[str, ...] = ()
    source_file: str | None = None
    source_url: str | None = None
    page: int | None = None
    char_start: int | None = None  # span of this text inside the provision text (see Provision.text)
    char_end: int | None = None
    doc_type: str = "act"

    @property
    def pinpoint(self) -> str | None:
        """Section plus sub-section path, e.g. ``2(1)(da)``."""
        if self.section is None:
            return None
        return f"{self.section}{format_subsection(self.subsection)}"

    @property
    def provision_key(self) -> str | None:
        """``act_key:section`` — the identity of a provision across sources."""
        if self.act_key is None or self.section is None:
            return None
        return f"{self.act_key}:{self.section}"

    def citation(self, *, with_page: bool = False) -> str:
        """Canonical citation: ``Information Technology Act, 2000, s. 67B``."""
        if self.doc_type in ("act", "rules") and self.section is not None:
            name = self.short_name or self.act_title
            if self.year and str(self.year) not in name:
                name = f"{name}, {self.year}"
            unit = "r." if self.doc_type == "rules" else "s."
            text = f"{name}, {unit} {self.pinpoint}"
        else:
            path = " › ".join(p for p in (self.act_title, *self.heading_path) if p)
            text = path or (self.heading or "")
        if with_page and self.page is not None:
            text += f", p. {self.page}"
        return text

    def to_meta(self) -> dict[str, Any]:
        meta = {k: v for k, v in asdict(self).items() if v is not None and v != ()}
        if self.heading_path:
            meta["heading_path"] = list(self.heading_path)
        if self.pinpoint:
            meta["pinpoint"] = self.pinpoint
        if self.provision_key:
            meta["provision_key"] = self.provision_key
        meta["citation"] = self.citation()
        return meta

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> Locator:
        names = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in meta.items() if k in names}
        if "heading_path" in kwargs:
            kwargs["heading_path"] = tuple(kwargs["heading_path"])
        return cls(**kwargs)

    def narrowed(self, **changes: Any) -> Locator:
        return replace(self, **changes)


@dataclass(frozen=True)
class SubUnit:
    """A labelled sub-section, clause, proviso or Explanation inside a provision's text."""

    path: str  # "(1)", "(1)(a)", "(2)-proviso", "Explanation"
    kind: str  # "subsection" | "clause" | "subclause" | "proviso" | "explanation" | "illustration"
    char_start: int
    char_end: int


@dataclass
class Provision:
    """One section of an Act (or one heading block of another document), with its full text.

    ``text`` is the cleaned text of the whole section; chunks and sub-units point into it by
    character span, so any quote can be checked against it.
    """

    locator: Locator
    text: str
    subunits: list[SubUnit] = field(default_factory=list)
    footnotes: list[str] = field(default_factory=list)  # amendment history, verbatim
    cross_refs: list[str] = field(default_factory=list)  # provision keys this text refers to, e.g. "pocso:28"
    status: str = "in_force"  # or "omitted"
    language: str = "en"
    ocr: bool = False

    @property
    def key(self) -> str:
        key = self.locator.provision_key
        if key is None:
            raise ValueError(f"provision without act key or section: {self.locator}")
        return key

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["locator"] = self.locator.to_meta()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Provision:
        return cls(
            locator=Locator.from_meta(data["locator"]),
            text=data["text"],
            subunits=[SubUnit(**s) for s in data.get("subunits", [])],
            footnotes=list(data.get("footnotes", [])),
            cross_refs=list(data.get("cross_refs", [])),
            status=data.get("status", "in_force"),
            language=data.get("language", "en"),
            ocr=bool(data.get("ocr", False)),
        )


@dataclass
class SourceRecord:
    """A source file as stored: identified by the hash of its content, remembering every path
    under which the same content was ingested."""

    doc_id: str  # sha256 of the normalised text content
    title: str
    doc_type: str = "act"
    act_key: str | None = None
    audiences: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    source_url: str | None = None
    file_hash: str | None = None  # sha256 of the raw bytes
    media_type: str | None = None
    language: str = "en"
    ocr: bool = False
    n_provisions: int = 0
    n_chunks: int = 0
    ingested_at: str | None = None
    index_identity: str | None = None
    links: list[str] = field(default_factory=list)  # provision keys the document refers to
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SourceRecord:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class Chunk:
    """A retrievable piece of a provision: never crosses a section boundary."""

    text: str
    locator: Locator  # narrowed to the sub-section/clause when the chunk is narrower than the section
    embed_text: str | None = None  # what the encoder sees (text prefixed with act and heading)
    ocr: bool = False
    language: str = "en"

    def chunk_id(self, doc_id: str, index: int) -> str:
        return sha256_text(f"{doc_id}|{index}|{self.locator.provision_key}|{self.text}")[:32]


@dataclass(frozen=True)
class Hit:
    """A provision found by search: the best passage of its chunks, with the fused score."""

    provision_key: str
    locator: Locator
    passage: str
    score: float
    chunk_id: str
    signals: dict[str, float] = field(default_factory=dict)  # per-retriever contributions, for transparency

    @property
    def citation(self) -> str:
        return self.locator.citation(with_page=True)


@dataclass(frozen=True)
class Quote:
    """A verbatim span of a stored provision."""

    text: str
    char_start: int
    char_end: int
    subsection: str | None = None


@dataclass
class Citation:
    """A provision an answer relies on, with the quotes taken from it."""

    provision_key: str
    locator: Locator
    quotes: list[Quote] = field(default_factory=list)
    score: float = 0.0

    @property
    def text(self) -> str:
        return self.locator.citation(with_page=True)


@dataclass
class GeneratedSentence:
    """A sentence phrased by the optional language model, kept only with the evidence it cites.

    ``evidence_ids`` number the quotes of :attr:`Answer.citations` in order, from 1;
    ``citations`` are those stored quotes, one citation per id. A sentence with
    ``supported=False`` cited no valid evidence and carries no citation: it is shown flagged,
    never as cited (``answers.generator_unsupported = "mark"``).

        >>> GeneratedSentence("Police must record every report.", [2], [], True).supported
        True
    """

    text: str
    evidence_ids: list[int] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    supported: bool = True


@dataclass
class Answer:
    """An answer made of the law's own words. ``abstained`` answers list nearest matches only.

    When the optional generator phrased it, ``generated`` is true and ``generated_sentences``
    hold the phrased sentences; ``citations`` stay the verified evidence underneath."""

    question: str
    audience: str
    summary: str
    citations: list[Citation] = field(default_factory=list)
    related: list[Citation] = field(default_factory=list)
    nearest: list[Hit] = field(default_factory=list)
    expansions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. "IPC s. 354D is now BNS s. 78"
    steps: list[str] = field(default_factory=list)  # police audience: numbered procedure steps
    abstained: bool = False
    generated: bool = False
    generated_sentences: list[GeneratedSentence] = field(default_factory=list)
    generated_dropped: int = 0  # generated sentences left out: no valid evidence id, or a section outside it
