"""What the converters and parsers hand to the rest of the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kb.models import Provision


@dataclass
class PageSpan:
    """Characters ``[start, end)`` of ``ConvertedText.text`` come from page ``page`` (1-based)."""

    page: int
    start: int
    end: int


@dataclass
class ConvertedText:
    """A file turned into text. ``pages`` is empty when the format has no pages."""

    path: str
    text: str
    media_type: str
    pages: list[PageSpan] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)  # front matter, sidecar, HTML <title>, DOCX core props
    ocr: bool = False
    file_hash: str | None = None

    def page_at(self, offset: int) -> int | None:
        for span in self.pages:
            if span.start <= offset < span.end:
                return span.page
        return None


@dataclass
class ParsedDocument:
    """A converted file split into provisions (sections of an Act, or heading blocks)."""

    title: str
    doc_type: str
    provisions: list[Provision]
    act_key: str | None = None
    audiences: list[str] = field(default_factory=list)
    source_url: str | None = None
    language: str = "en"
    ocr: bool = False
    links: list[str] = field(default_factory=list)  # provision keys referred to by a non-statute document
    metadata: dict[str, Any] = field(default_factory=dict)
