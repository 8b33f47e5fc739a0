"""Request and response bodies of the HTTP API, separate from the ``kb`` data models.

The shapes follow :mod:`api.render` (shared with ``kb ... --json``) so the CLI and the service
print the same fields. Each model carries an OpenAPI example.

    >>> SearchRequest(query="who must report abuse", top_k=5).filters.acts
    []
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from kb.models import AUDIENCES, DOC_TYPES

Audience = Literal[AUDIENCES]  # type: ignore[valid-type]
DocType = Literal[DOC_TYPES]  # type: ignore[valid-type]


def _example(example: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [example]})


# --------------------------------------------------------------------------- errors
class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. invalid_query, not_found, unauthorized.")
    message: str = Field(description="What went wrong, naming the bad value.")
    field: str | None = Field(None, description="The request parameter at fault, when there is one.")


class ErrorResponse(BaseModel):
    model_config = _example({"error": {"code": "invalid_query", "message": "query is 2500 characters; the limit is 2000",
                                       "field": "query"}})
    error: ErrorDetail


# --------------------------------------------------------------------------- shared pieces
class SourceRef(BaseModel):
    file: str | None = Field(None, description="Name of the file the text was indexed from.")
    url: str | None = Field(None, description="Official source address, when known.")


_HIT_EXAMPLE = {
    "provision_key": "pocso:19",
    "act_key": "pocso",
    "act_title": "The Protection of Children from Sexual Offences Act, 2012",
    "section": "19",
    "subsection": "(1)",
    "pinpoint": "19(1)",
    "heading": "Reporting of offences.",
    "heading_path": [],
    "doc_type": "act",
    "citation": "POCSO Act, 2012, s. 19(1)",
    "page": None,
    "char_start": 0,
    "char_end": 212,
    "score": 0.0481,
    "signals": {"bm25": 0.0164, "dense": 0.0161, "cosine": 0.61},
    "passage": "(1) Any person who knows that an offence under this Act has been committed shall inform the Special Juvenile Police Unit or the local police.",
    "source": {"file": "pocso.md", "url": "https://www.indiacode.nic.in/handle/123456789/2079"},
}


class HitOut(BaseModel):
    """A provision found by search, with everything needed to cite it."""

    model_config = _example(_HIT_EXAMPLE)
    provision_key: str = Field(description="`act:section`, the provision's identity.")
    act_key: str | None
    act_title: str
    section: str | None
    subsection: str | None = Field(description="Sub-section/clause path of the passage, e.g. `(1)(da)`.")
    pinpoint: str | None = Field(description="Section plus sub-section, e.g. `2(1)(da)`.")
    heading: str | None
    heading_path: list[str] = Field(description="Heading trail for guides and other non-statute documents.")
    doc_type: str
    citation: str = Field(description="Canonical citation of the passage.")
    page: int | None
    char_start: int | None = Field(description="Start of the passage inside the provision text.")
    char_end: int | None
    score: float = Field(description="Fused rank score (higher is better; not a probability).")
    signals: dict[str, float] = Field(description="Per-retriever contributions, for transparency.")
    passage: str = Field(description="The stored text of the best-matching chunk, verbatim.")
    source: SourceRef


class UnderstoodQuery(BaseModel):
    """What the service made of the query before searching."""

    model_config = _example({
        "expansions": ["child sexual abuse material", "child pornography"],
        "notes": ["IPC s. 354D (stalking) is now BNS s. 78."],
        "act_filter": "pocso",
        "cited": ["pocso:19"],
        "detail": {},
    })
    expansions: list[str] = Field(description="Other words searched for (synonyms, legal terms).")
    notes: list[str] = Field(description="Concordance notes, e.g. an old IPC section and its BNS successor.")
    act_filter: str | None = Field(description="Act detected in the query and used as a filter, if any.")
    cited: list[str] = Field(description="Provisions the query cites explicitly (`act:section`).")
    detail: dict[str, Any] = Field(description="The full query plan, for debugging.")


# --------------------------------------------------------------------------- search
class SearchFiltersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    acts: list[str] = Field(default_factory=list, max_length=20,
                            description="Act keys or names (any of), e.g. `pocso`, `IT Act`.")
    doc_types: list[DocType] = Field(default_factory=list, max_length=len(DOC_TYPES), description="Document types (any of).")
    audience: Audience | None = Field(None, description="Only documents written for this audience.")
    year: int | None = Field(None, ge=1800, le=2100, description="Year of enactment.")


class SearchRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"query": "punishment for failing to report abuse of a child",
                                         "filters": {"acts": ["pocso"]}, "top_k": 5, "offset": 0}]},
    )
    query: str = Field(validation_alias=AliasChoices("query", "q"), min_length=1,
                       description="Words, a question or a citation such as `POCSO 19(1)` (also accepted as `q`).")
    filters: SearchFiltersIn = Field(default_factory=SearchFiltersIn)
    top_k: int | None = Field(None, ge=1, description="Provisions per page (default retrieval.top_k, at most retrieval.max_top_k).")
    offset: int = Field(0, ge=0, le=10_000, description="Hits to skip (pagination).")


class SearchResponse(BaseModel):
    model_config = _example({
        "query": "who must report abuse of a child", "total": 14, "offset": 0, "top_k": 5, "next_offset": 5,
        "understood": {"expansions": ["mandatory reporting"], "notes": [], "act_filter": None, "cited": [], "detail": {}},
        "hits": [_HIT_EXAMPLE],
    })
    query: str
    total: int = Field(description="Provisions that matched (all pages).")
    offset: int
    top_k: int
    next_offset: int | None = Field(description="Offset of the next page, or null on the last page.")
    understood: UnderstoodQuery
    hits: list[HitOut]


# --------------------------------------------------------------------------- ask
class AskRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"question": "What must police do when a child reports sexual abuse?",
                                         "audience": "police"}]},
    )
    question: str = Field(validation_alias=AliasChoices("question", "q", "query"), min_length=1,
                          description="A question in your own words.")
    audience: Audience = Field("lawyer", description="lawyer, police or ngo: changes emphasis, never the facts.")
    filters: SearchFiltersIn = Field(default_factory=SearchFiltersIn)


class QuoteOut(BaseModel):
    text: str = Field(description="Verbatim text of the provision.")
    char_start: int = Field(description="Span of the quote inside the provision text.")
    char_end: int
    subsection: str | None = Field(description="Sub-section/clause the quote sits in.")
    citation: str = Field(description="Citation narrowed to the quote's sub-section.")


_CITATION_EXAMPLE = {
    "provision_key": "pocso:19", "citation": "POCSO Act, 2012, s. 19", "act_key": "pocso",
    "act_title": "The Protection of Children from Sexual Offences Act, 2012", "section": "19",
    "heading": "Reporting of offences.", "page": None, "doc_type": "act", "source": {"file": "pocso.md", "url": None},
    "score": 0.05,
    "quotes": [{"text": "(1) Any person who knows that an offence under this Act has been committed shall inform the local police.",
                "char_start": 0, "char_end": 104, "subsection": "(1)", "citation": "POCSO Act, 2012, s. 19(1)"}],
}


class CitationOut(BaseModel):
    model_config = _example(_CITATION_EXAMPLE)
    provision_key: str
    citation: str
    act_key: str | None
    act_title: str
    section: str | None
    heading: str | None
    page: int | None
    doc_type: str
    source: SourceRef
    score: float
    quotes: list[QuoteOut]


class GeneratedSentenceOut(BaseModel):
    text: str = Field(description="A sentence phrased by the optional language model (evidence ids removed).")
    evidence_ids: list[int] = Field(
        description="Evidence the sentence cites: the quotes of `citations`, numbered from 1 in order.")
    supported: bool = Field(
        description="False only when answers.generator_unsupported='mark' kept a sentence that cited no valid "
                    "evidence; such a sentence has no citations and must be shown as unsupported.")
    citations: list[CitationOut] = Field(description="The stored quote behind each evidence id, one citation per id.")


class AnswerResponse(BaseModel):
    model_config = _example({
        "question": "What must police do when a child reports sexual abuse?", "audience": "police",
        "abstained": False, "generated": False, "generated_sentences": [], "generated_dropped": 0,
        "summary": "Procedure and duties under: POCSO Act, 2012, s. 19 (Reporting of offences.).",
        "steps": ["[within twenty-four hours] The police shall report the matter to the Child Welfare Committee. (POCSO Act, 2012, s. 19(6))"],
        "notes": [], "expansions": ["mandatory reporting"],
        "citations": [_CITATION_EXAMPLE], "related": [], "nearest": [],
    })
    question: str
    audience: Audience
    abstained: bool = Field(description="True when no stored provision answers the question; `nearest` then lists near misses.")
    generated: bool = Field(description="True when a language model phrased `generated_sentences` from the quotes.")
    generated_sentences: list[GeneratedSentenceOut] = Field(
        default_factory=list, description="The phrased answer, sentence by sentence, each with its evidence.")
    generated_dropped: int = Field(
        0, description="Generated sentences left out: they cited no valid evidence or named a section outside it.")
    summary: str
    steps: list[str] = Field(description="Numbered procedure steps (police audience), each cited.")
    notes: list[str]
    expansions: list[str]
    citations: list[CitationOut] = Field(description="Provisions the answer quotes, with verbatim quotes and spans.")
    related: list[CitationOut] = Field(description="Provisions the quoted ones refer to.")
    nearest: list[HitOut] = Field(description="Nearest matches when the answer abstained; they are not an answer.")


# --------------------------------------------------------------------------- provisions and acts
class SubUnitOut(BaseModel):
    path: str = Field(description="`(1)`, `(1)(a)`, `(2)-proviso`, `Explanation`.")
    kind: str
    char_start: int
    char_end: int
    text: str
    citation: str


class ProvisionRef(BaseModel):
    key: str = Field(description="`act:section`.")
    citation: str | None = Field(description="Citation of the referenced provision.")
    heading: str | None
    exists: bool = Field(description="Whether the provision is stored (and can be opened).")
    act_key: str | None
    section: str | None


class ProvisionResponse(BaseModel):
    model_config = _example({
        "provision_key": "pocso:21", "act_key": "pocso", "act_title": "The Protection of Children from Sexual Offences Act, 2012",
        "short_name": "POCSO Act", "year": 2012, "section": "21", "heading": "Punishment for failure to report or record a case.",
        "citation": "POCSO Act, 2012, s. 21", "doc_type": "act", "status": "in_force", "part": None, "chapter": "V",
        "page": None, "source": {"file": "pocso.md", "url": None}, "focus": None,
        "text": "(1) Any person who fails to report the commission of an offence under sub-section (1) of section 19 ...",
        "subunits": [{"path": "(1)", "kind": "subsection", "char_start": 0, "char_end": 120, "text": "(1) Any person who fails ...",
                      "citation": "POCSO Act, 2012, s. 21(1)"}],
        "footnotes": [], "cross_refs": [{"key": "pocso:19", "citation": "POCSO Act, 2012, s. 19", "heading": "Reporting of offences.",
                                          "exists": True, "act_key": "pocso", "section": "19"}],
        "referred_by": [],
    })
    provision_key: str
    act_key: str | None
    act_title: str
    short_name: str | None
    year: int | None
    section: str | None
    heading: str | None
    citation: str
    doc_type: str
    status: str = Field(description="`in_force` or `omitted`.")
    part: str | None
    chapter: str | None
    page: int | None
    source: SourceRef
    focus: str | None = Field(description="Sub-section asked for in the path (e.g. `(1)` for `19(1)`), if any.")
    text: str = Field(description="Full stored text of the section.")
    subunits: list[SubUnitOut]
    footnotes: list[str] = Field(description="Amendment history, verbatim.")
    cross_refs: list[ProvisionRef] = Field(description="Provisions this one refers to.")
    referred_by: list[ProvisionRef] = Field(description="Stored provisions that refer to this one.")


class ActOut(BaseModel):
    model_config = _example({"act_key": "pocso", "title": "The Protection of Children from Sexual Offences Act, 2012",
                             "short_name": "POCSO Act", "year": 2012, "doc_type": "act", "sections": 46, "chunks": 120})
    act_key: str
    title: str
    short_name: str | None
    year: int | None
    doc_type: str
    sections: int
    chunks: int


class ActsResponse(BaseModel):
    acts: list[ActOut]


# --------------------------------------------------------------------------- documents
_DOC_EXAMPLE = {
    "doc_id": "3f1c0a9b" + "0" * 56, "title": "The Protection of Children from Sexual Offences Act, 2012", "doc_type": "act",
    "act_key": "pocso", "audiences": [], "paths": ["corpus/acts/pocso.md"], "source_url": None, "media_type": "text/markdown",
    "language": "en", "ocr": False, "n_provisions": 46, "n_chunks": 120, "ingested_at": "2025-01-01T00:00:00+00:00",
    "index_identity": "all-minilm-l6-v2-0123456789",
}


class DocumentOut(BaseModel):
    model_config = _example(_DOC_EXAMPLE)
    doc_id: str = Field(description="sha256 of the document's normalised text.")
    title: str
    doc_type: str
    act_key: str | None
    audiences: list[str]
    paths: list[str] = Field(description="Where the content was indexed from (relative to the data or corpus folder).")
    source_url: str | None
    media_type: str | None
    language: str
    ocr: bool
    n_provisions: int
    n_chunks: int
    ingested_at: str | None
    index_identity: str | None


class DocumentsPage(BaseModel):
    total: int
    offset: int
    limit: int
    next_offset: int | None
    documents: list[DocumentOut]


class ProvisionSummary(BaseModel):
    provision_key: str
    citation: str
    heading: str | None
    status: str


class DocumentDetail(DocumentOut):
    provisions: list[ProvisionSummary] = Field(description="Provisions stored from this document, in order.")


class DeleteResponse(BaseModel):
    model_config = _example({"deleted": _DOC_EXAMPLE["doc_id"], "title": _DOC_EXAMPLE["title"]})
    deleted: str
    title: str


# --------------------------------------------------------------------------- ingest
class IngestFileOut(BaseModel):
    path: str = Field(description="The file name as uploaded.")
    status: Literal["ingested", "replaced", "unchanged", "duplicate", "removed", "failed"]
    reason: str | None
    doc_id: str | None
    title: str | None
    provisions: int
    chunks: int
    seconds: float


class IngestResponse(BaseModel):
    model_config = _example({
        "counts": {"ingested": 1, "replaced": 0, "unchanged": 0, "duplicate": 0, "removed": 0, "failed": 1},
        "provisions": 12, "chunks": 30, "seconds": 2.1, "encode_seconds": 1.7, "chunks_per_second": 14.3,
        "files": [
            {"path": "sop-child-statement.md", "status": "ingested", "reason": None, "doc_id": "ab" * 32,
             "title": "SOP: recording a child's statement", "provisions": 12, "chunks": 30, "seconds": 2.0},
            {"path": "../secret.md", "status": "failed", "reason": "unsafe file name: '..' is not allowed",
             "doc_id": None, "title": None, "provisions": 0, "chunks": 0, "seconds": 0.0},
        ],
    })
    counts: dict[str, int]
    provisions: int
    chunks: int
    seconds: float
    encode_seconds: float
    chunks_per_second: float
    files: list[IngestFileOut]


# --------------------------------------------------------------------------- health and stats
class StoreHealth(BaseModel):
    reachable: bool
    backend: str
    error: str | None = None


class ModelHealth(BaseModel):
    loaded: bool
    name: str


class IndexHealth(BaseModel):
    identity: str = Field(description="Identity the current settings give (model + chunking).")
    stored: str | None = Field(description="Identity the stored index was built with.")
    stale: bool = Field(description="True when the store must be rebuilt (`kb ingest --rebuild`).")


class HealthResponse(BaseModel):
    model_config = _example({
        "status": "ok", "store": {"reachable": True, "backend": "sqlite", "error": None},
        "model": {"loaded": True, "name": "sentence-transformers/all-MiniLM-L6-v2"},
        "documents": 12, "chunks": 840,
        "index": {"identity": "all-minilm-l6-v2-0123456789", "stored": "all-minilm-l6-v2-0123456789", "stale": False},
    })
    status: Literal["ok", "degraded", "unavailable"]
    store: StoreHealth
    model: ModelHealth
    documents: int = Field(description="Stored source documents.")
    chunks: int
    index: IndexHealth


class DocTypeCount(BaseModel):
    sources: int
    sections: int
    chunks: int


class StatsResponse(BaseModel):
    model_config = _example({
        "sources": 3, "chunks": 400, "sections": 180,
        "by_act": [{"act_key": "pocso", "title": "The Protection of Children from Sexual Offences Act, 2012",
                    "short_name": "POCSO Act", "year": 2012, "doc_type": "act", "sections": 46, "chunks": 120}],
        "by_doc_type": {"act": {"sources": 2, "sections": 170, "chunks": 380}},
    })
    sources: int
    chunks: int
    sections: int
    by_act: list[ActOut]
    by_doc_type: dict[str, DocTypeCount]


# --------------------------------------------------------------------------- audit log
class AuditEventOut(BaseModel):
    """One write recorded in the audit log."""

    model_config = _example({
        "time": "2025-01-01T10:00:00.000Z", "actor": "key:1a2b3c4d", "action": "ingest", "targets": ["sop.md"],
        "outcome": {"status": "ok", "counts": {"ingested": 1, "failed": 0}, "files": [
            {"path": "sop.md", "status": "ingested", "doc_id": "ab" * 32, "reason": None}]},
        "client": "203.0.113.7",
    })
    time: str | None = Field(description="When the write ended (UTC, ISO 8601).")
    actor: str | None = Field(description="`key:` + 8 hex digits of the API key's SHA-256, or `cli:<user>`; never the key.")
    action: str = Field(description="ingest, delete, rebuild or migrate (`unreadable` for a damaged line).")
    targets: list[str] = Field(description="Files or document ids the write was asked for.")
    outcome: dict[str, Any] = Field(description="`status` (ok, partial, failed, deleted, error) with counts and per-file results.")
    client: str | None = Field(description="Address of the HTTP client; null for the command line.")


class AuditPageOut(BaseModel):
    """A page of the audit log, newest event first."""

    model_config = _example({
        "total": 1, "offset": 0, "limit": 50, "next_offset": None,
        "events": [AuditEventOut.model_config["json_schema_extra"]["examples"][0]],
    })
    total: int = Field(description="Events in the log.")
    offset: int = Field(description="Events skipped before this page.")
    limit: int = Field(description="Most events on a page.")
    next_offset: int | None = Field(description="Offset of the next page; null on the last page.")
    events: list[AuditEventOut] = Field(description="Newest first.")
