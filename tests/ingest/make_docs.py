"""Build test documents in the formats users upload: PDF (text layer or scanned), DOCX, HTML.

The texts are written by the team for the tests (Act-like wording, not copied from any Act).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

HEADER = "THE GAZETTE OF MODELSTATE EXTRAORDINARY"

# A printed Act over four pages: arrangement table, spaced small capitals, an inserted section
# with its footnote at the bottom of the page, a word hyphenated across lines, a schedule.
MODEL_ACT_PAGES: list[list[str]] = [
    [
        "1",
        HEADER,
        "THE CHILD SAFETY (MODEL) ACT, 2024",
        "ARRANGEMENT OF SECTIONS",
        "PART I",
        "P RELIMINARY",
        "SECTIONS",
        "1. Short title and commencement.",
        "2. Definitions.",
        "PART II",
        "P ROHIBITION OF HARMFUL CONTENT",
        "3. Prohibition of harmful content.",
        "4. Duty to report.",
        "4A. Designated officers.",
        "5. Penalty.",
        "THE SCHEDULE.",
    ],
    [
        "2",
        HEADER,
        "THE CHILD SAFETY (MODEL) ACT, 2024",
        "ACT NO. 7 OF 2024",
        "[1st April, 2024.]",
        "An Act to provide for the safety of children using online services.",
        "BE it enacted by the Legislature of Modelstate as follows:\u2014",
        "PART I",
        "P RELIMINARY",
        "1. Short title and commencement.\u2014(1) This Act may be called the Child Safety (Model) Act,",
        "2024.",
        "(2) It shall come into force on such date as the State Government may notify.",
        "2. Definitions.\u2014In this Act, unless the context otherwise requires,\u2014",
        "(a) \u201cchild\u201d means a person who has not completed eighteen years of age;",
        "(b) \u201cdesignated officer\u201d means an officer designated for the prohi-",
        "bition of harmful content under section 4A;",
        "(c) \u201cplatform\u201d means any service that hosts content shared by its users.",
    ],
    [
        "3",
        HEADER,
        "PART II",
        "P ROHIBITION OF HARMFUL CONTENT",
        "3. Prohibition of harmful content.\u2014No platform shall knowingly host content that",
        "sexually exploits a child.",
        "4. Duty to report.\u2014(1) Every platform shall report harmful content to the designated officer",
        "within twenty-four hours of becoming aware of it.",
        "(2) Any person may report harmful content to the designated officer.",
        "1[4A. Designated officers.\u2014The State Government shall, by notification, designate officers",
        "for the purposes of this Act.]",
    ],
    [
        "4",
        HEADER,
        "5. Penalty.\u2014Whoever contravenes section 3 shall be punished with fine which may extend to",
        "fifty thousand rupees:",
        "Provided that no fine shall be imposed without giving the platform an opportunity of being heard.",
        "THE SCHEDULE",
        "[See section 2]",
        "(1) Messaging services.",
    ],
]
MODEL_ACT_FOOTNOTES = {3: ["1. Ins. by Act 3 of 2025, s. 2 (w.e.f. 1-4-2025)."]}


def text_pdf(pages: list[list[str]], footnotes: dict[int, list[str]] | None = None) -> bytes:
    """A PDF with a real text layer: one line per string, footnotes under a rule at the page bottom."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    for number, lines in enumerate(pages, start=1):
        pdf.setFont("Helvetica", 9)
        y = 800
        for line in lines:
            pdf.drawString(50, y, line)
            y -= 14
        notes = (footnotes or {}).get(number, [])
        if notes:
            pdf.line(50, 40 + 12 * len(notes), 250, 40 + 12 * len(notes))
            for k, note in enumerate(notes):
                pdf.drawString(50, 30 + 12 * (len(notes) - k - 1), note)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def scanned_pdf(pages: list[list[str]], *, dpi: int = 200) -> bytes:
    """An image-only PDF (no text layer), as a scanner makes: each page is a rendered picture.

    Latin text is drawn with DejaVu Sans, Devanagari lines with Lohit Devanagari (Pillow shapes
    them with raqm)."""
    from PIL import Image, ImageDraw, ImageFont

    latin = ImageFont.truetype(_font("DejaVuSans.ttf"), size=int(dpi * 0.16))
    deva = ImageFont.truetype(_font("Lohit-Devanagari.ttf"), size=int(dpi * 0.2))
    images = []
    width, height = int(8.27 * dpi), int(11.69 * dpi)
    for lines in pages:
        image = Image.new("L", (width, height), 255)
        draw = ImageDraw.Draw(image)
        y = int(dpi * 0.8)
        for line in lines:
            is_deva = any("\u0900" <= ch <= "\u097f" for ch in line)
            draw.text((int(dpi * 0.8), y), line, fill=0, font=deva if is_deva else latin)
            y += int(dpi * 0.32)
        images.append(image)
    buffer = io.BytesIO()
    images[0].save(buffer, "PDF", save_all=True, append_images=images[1:], resolution=dpi)
    return buffer.getvalue()


def _font(name: str) -> str:
    for root in (Path("/usr/share/fonts"), Path("/usr/local/share/fonts")):
        found = next(root.rglob(name), None) if root.is_dir() else None
        if found:
            return str(found)
    raise FileNotFoundError(name)


def fonts_available() -> bool:
    try:
        _font("DejaVuSans.ttf")
        _font("Lohit-Devanagari.ttf")
    except FileNotFoundError:
        return False
    return True


def docx_bytes(blocks: list[tuple[str, str]], *, title: str | None = None, author: str | None = None) -> bytes:
    """A Word document from (style, text) pairs; style "Heading 1".."Heading 3", "List Bullet" or "" (body)."""
    import docx

    document = docx.Document()
    for style, text in blocks:
        if style.startswith("Heading"):
            document.add_heading(text, level=int(style.split()[-1]))
        elif style:
            document.add_paragraph(text, style=style)
        else:
            document.add_paragraph(text)
    if title:
        document.core_properties.title = title
    if author:
        document.core_properties.author = author
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def zip_bomb_docx(expanded_bytes: int = 40 * 1024 * 1024) -> bytes:
    """A valid DOCX with one extra member of zeros that expands to ``expanded_bytes``."""
    source = io.BytesIO(docx_bytes([("", "harmless text")]))
    out = io.BytesIO()
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for item in original.infolist():
            bomb.writestr(item, original.read(item.filename))
        bomb.writestr("word/media/padding.bin", b"\0" * expanded_bytes)
    return out.getvalue()


def encrypted_pdf(user_password: str, owner_password: str = "owner-secret") -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf([["1. Short title.\u2014This Act is locked."]]))))
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm="AES-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()
