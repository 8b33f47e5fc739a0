"""OCR for PDF pages without a text layer (scanned gazettes, photocopied circulars).

Pages are rendered with pypdfium2 (installed with the PDF stack, no poppler needed) at
``ingest.ocr_dpi`` and read by the Tesseract command-line program (Debian packages
``tesseract-ocr``, ``tesseract-ocr-eng``, ``tesseract-ocr-hin``) with ``ingest.ocr_languages``.
Devanagari output is kept and NFC-normalised, so a Hindi heading OCR'd here compares equal to
the same heading typed by hand.

When Tesseract or a language is missing the caller gets the reason from :func:`ocr_available`
and refuses the file; an empty document is never produced.

    >>> ok, reason = ocr_available("eng")    # doctest: +SKIP
    >>> ok, reason                           # doctest: +SKIP
    (True, 'tesseract 5.3.0 with eng')
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import unicodedata
from functools import lru_cache
from pathlib import Path

from kb.errors import IngestError
from kb.settings import IngestSettings

PAGE_TIMEOUT_S = 300  # one A4 page at 300 dpi takes a few seconds; a hang must not stall a batch
_DEBIAN_PACKAGES = {"eng": "tesseract-ocr-eng", "hin": "tesseract-ocr-hin"}


@lru_cache(maxsize=8)
def ocr_available(languages: str = "eng+hin") -> tuple[bool, str]:
    """(usable, reason): whether Tesseract and every language in ``languages`` are installed."""
    exe = shutil.which("tesseract")
    if exe is None:
        return False, "tesseract is not installed (Debian: apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-hin)"
    try:
        version = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30, check=True)
        listing = subprocess.run([exe, "--list-langs"], capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError) as err:
        return False, f"tesseract is installed but does not run: {err}"
    installed = {line.strip() for line in listing.stdout.splitlines()[1:] if line.strip()}
    wanted = [lang for lang in languages.split("+") if lang]
    missing = [lang for lang in wanted if lang not in installed]
    if missing:
        hint = ", ".join(_DEBIAN_PACKAGES.get(lang, f"tesseract-ocr-{lang}") for lang in missing)
        return False, f"tesseract language data missing: {'+'.join(missing)} (install {hint})"
    first_line = (version.stdout or version.stderr).splitlines()[0] if (version.stdout or version.stderr) else "tesseract"
    return True, f"{first_line.strip()} with {'+'.join(wanted)}"


def ocr_pdf_pages(data: bytes, pages: list[int], settings: IngestSettings, *, path: str) -> dict[int, str]:
    """Text of each 1-based page in ``pages``, read by OCR. Raises :class:`IngestError` on any failure."""
    ok, reason = ocr_available(settings.ocr_languages)
    if not ok:
        raise IngestError(f"scanned PDF and {reason}", path=path)
    import pypdfium2 as pdfium  # heavy native module: loaded only when a scan needs it

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as err:
        raise IngestError(f"PDF pages cannot be rendered for OCR: {err}", path=path) from err
    out: dict[int, str] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="kb-ocr-") as tmp:
            for number in pages:
                image = Path(tmp) / f"page-{number}.png"
                _render(document, number, settings.ocr_dpi, image, path)
                out[number] = _tesseract(image, settings.ocr_languages, settings.ocr_dpi, number, path)
    finally:
        document.close()
    return out


def _render(document, number: int, dpi: int, target: Path, path: str) -> None:
    import pypdfium2 as pdfium

    try:
        page = document[number - 1]
        bitmap = page.render(scale=dpi / 72, grayscale=True)
        bitmap.to_pil().save(target)
    except (pdfium.PdfiumError, OSError, ValueError) as err:
        raise IngestError(f"page {number} cannot be rendered for OCR: {err}", path=path) from err


def _tesseract(image: Path, languages: str, dpi: int, number: int, path: str) -> str:
    command = ["tesseract", str(image), "stdout", "-l", languages, "--dpi", str(dpi), "--psm", "3"]
    try:
        result = subprocess.run(command, capture_output=True, timeout=PAGE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as err:
        raise IngestError(f"OCR of page {number} took longer than {PAGE_TIMEOUT_S}s", path=path) from err
    except OSError as err:
        raise IngestError(f"tesseract could not be started: {err}", path=path) from err
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise IngestError(f"OCR of page {number} failed: {message[-1] if message else result.returncode}", path=path)
    text = result.stdout.decode("utf-8", "replace")
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n")).strip("\f\n ")
