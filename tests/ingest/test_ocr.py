"""A scanned Act (image-only PDF) is read by OCR and parsed with pages, in English and Hindi.

Needs the Debian packages tesseract-ocr, tesseract-ocr-eng, tesseract-ocr-hin and the fonts
fonts-dejavu-core and fonts-lohit-deva (to draw the test pages); skipped with the reason otherwise.
"""

from __future__ import annotations


import pytest

from ingest.convert import convert_file
from ingest.detect import parse_converted
from ingest.ocr import ocr_available
from kb.settings import IngestSettings
from make_docs import fonts_available, scanned_pdf

HINDI = "बालकों का संरक्षण"
SCANNED_ACT = [
    [
        "THE CHILD SAFETY (MODEL) ACT, 2024",
        "1. Short title.\u2014(1) This Act may be called the Child Safety",
        "(Model) Act, 2024.",
        "(2) It extends to the whole of the State.",
        HINDI,
    ],
    [
        "2. Definitions.\u2014(1) In this Act, unless the context otherwise",
        "requires,\u2014",
        '(a) "child" means a person below eighteen years of age;',
        '(b) "platform" means an online service.',
    ],
]


@pytest.fixture(scope="module")
def scanned_act(tmp_path_factory: pytest.TempPathFactory):
    ok, reason = ocr_available("eng+hin")
    if not ok:
        pytest.skip(f"OCR unavailable: {reason}")
    if not fonts_available():
        pytest.skip("fonts-dejavu-core and fonts-lohit-deva are needed to draw the scanned pages")
    path = tmp_path_factory.mktemp("scan") / "scanned-act.pdf"
    path.write_bytes(scanned_pdf(SCANNED_ACT))
    settings = IngestSettings(ocr_dpi=200)  # the pages were drawn at 200 dpi
    converted = convert_file(path, settings)
    return converted, parse_converted(converted)


def test_scanned_pdf_has_no_text_layer(scanned_act) -> None:
    from pypdf import PdfReader

    converted, _ = scanned_act
    assert all(not page.extract_text().strip() for page in PdfReader(converted.path).pages)
    assert converted.ocr is True and converted.metadata["ocr_pages"] == [1, 2]
    assert [p.page for p in converted.pages] == [1, 2]


def test_scanned_act_sections_with_pages(scanned_act) -> None:
    _, parsed = scanned_act
    got = [(p.locator.section, p.locator.heading, p.locator.page, p.ocr) for p in parsed.provisions]
    assert got == [("1", "Short title", 1, True), ("2", "Definitions", 2, True)]
    assert parsed.ocr is True and parsed.metadata["parser"] == "printed"
    first, second = parsed.provisions
    assert first.text.startswith("(1) This Act may be called the Child Safety (Model) Act, 2024.")
    assert [u.path for u in second.subunits] == ["(1)", "(1)(a)", "(1)(b)"]


def test_devanagari_survives_ocr(scanned_act) -> None:
    converted, parsed = scanned_act
    assert HINDI in converted.text
    assert HINDI in parsed.provisions[0].text


def test_ocr_available_names_missing_language() -> None:
    ok, reason = ocr_available("eng+zzz")
    assert not ok
    assert "zzz" in reason or "not installed" in reason
