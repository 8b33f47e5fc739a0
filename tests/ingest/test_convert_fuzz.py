"""Fuzzing the converters: generated damage to real PDF, HTML, DOCX, Markdown and ZIP files.

Hypothesis mutates well-formed documents (bytes flipped, cut, spliced in, sections repeated; ZIP
members inflated into bombs) and every result must be either a conversion or an
:class:`~kb.errors.IngestError` that names the file and gives a reason. Any other exception, a
hang or a crash of the interpreter fails the test. Seeds are fixed (``derandomize``) so a failure
reproduces; the examples run quickly, so CI runs them all.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from make_docs import docx_bytes, text_pdf

from ingest.convert import ConvertedText, convert_file
from kb.errors import IngestError
from kb.settings import IngestSettings

SEEDS: dict[str, bytes] = {
    "act.pdf": text_pdf([["1. Short title.\u2014This Act may be called the Model Child Safety Act."],
                         ["19. Reporting of offences.\u2014(1) Any person who knows of an offence shall inform the police."]]),
    "page.html": (b"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Reporting</title></head><body>"
                  b"<h1>How to report</h1><p>Call 1098 or inform the <b>Special Juvenile Police Unit</b>.</p>"
                  b"<ul><li>Keep the link</li><li>Do not forward the material</li></ul></body></html>"),
    "sop.docx": docx_bytes([("Heading 1", "Recording a child's statement"), ("", "Record it at the child's residence."),
                            ("List Bullet", "No uniform"), ("Heading 2", "Medical examination"), ("", "Within 24 hours.")],
                           title="Station SOP"),
    "guide.md": ("---\ntitle: Guide\ndoc_type: guideline\naudiences: [ngo]\n---\n# Guide\n\n## Reporting\n\n"
                 "Section 19 of the POCSO Act requires reporting.\n").encode(),
}
# Settings as a deployment would have them, except OCR: a damaged PDF often loses its text layer,
# and rendering pages for Tesseract is slow without telling us more about the converter.
SETTINGS = IngestSettings(ocr=False, max_file_bytes=2 * 1024 * 1024)


@st.composite
def damaged(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` with 1-4 random edits: flip, cut, insert, repeat a slice, or overwrite a run."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        if not out:
            break
        at = draw(st.integers(0, len(out) - 1))
        kind = draw(st.sampled_from(["flip", "cut", "insert", "repeat", "overwrite"]))
        if kind == "flip":
            out[at] ^= draw(st.integers(1, 255))
        elif kind == "cut":
            del out[at:]
        elif kind == "insert":
            out[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif kind == "repeat":
            end = min(len(out), at + draw(st.integers(1, 512)))
            out[at:at] = out[at:end] * draw(st.integers(1, 20))
        else:
            chunk = draw(st.binary(min_size=1, max_size=32))
            out[at:at + len(chunk)] = chunk
    return bytes(out)


def _convert(tmp_path: Path, name: str, data: bytes) -> ConvertedText | IngestError:
    path = tmp_path / name
    path.write_bytes(data)
    try:
        return convert_file(path, SETTINGS)
    except IngestError as err:
        assert err.path == str(path), err
        assert err.reason and err.reason.strip(), "a refusal must say why"
        return err


def _fuzz(examples: int):
    return settings(max_examples=examples, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.mark.parametrize("name", list(SEEDS))
def test_seed_documents_convert(tmp_path: Path, name: str) -> None:
    result = _convert(tmp_path, name, SEEDS[name])
    assert isinstance(result, ConvertedText) and result.text.strip(), result


@pytest.mark.parametrize("name", list(SEEDS))
@_fuzz(200)
@given(data=st.data())
def test_damaged_documents_convert_or_are_refused_with_a_reason(tmp_path: Path, name: str, data) -> None:
    mutated = data.draw(damaged(SEEDS[name]))
    result = _convert(tmp_path, name, mutated)
    if isinstance(result, ConvertedText):
        assert isinstance(result.text, str) and "\x00" not in result.text


@_fuzz(60)
@given(expanded=st.integers(1, 64 * 1024 * 1024), member=st.sampled_from(["word/document.xml", "word/media/x.bin"]),
       ratio_friendly=st.booleans())
def test_generated_zip_bombs_are_refused_or_small(tmp_path: Path, expanded: int, member: str, ratio_friendly: bool) -> None:
    """A DOCX whose member inflates to ``expanded`` bytes (zeros compress ~1000:1): refused with a
    ZIP-bomb reason when it is large, converted or refused for another stated reason otherwise."""
    source = io.BytesIO(SEEDS["sop.docx"])
    out = io.BytesIO()
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for item in original.infolist():
            if item.filename != member:
                bomb.writestr(item, original.read(item.filename))
        filler = b"\0" if ratio_friendly else b"<w:p/>"
        bomb.writestr(member, filler * (expanded // len(filler)))
    result = _convert(tmp_path, "bomb.docx", out.getvalue())
    if expanded >= 32 * 1024 * 1024:
        assert isinstance(result, IngestError), f"{expanded} bytes inflated without refusal"
        assert "ZIP bomb" in result.reason or "over the limit" in result.reason, result.reason
