"""Bytes -> text for plain-text formats, refusing content that is not text.

Order of attempts: a byte-order mark (UTF-8, UTF-16, UTF-32), strict UTF-8, BOM-less UTF-16
recognised by its pattern of NUL bytes, and cp1252 only as a last resort and only when the result
reads like text (legacy Windows exports of Acts and circulars are common; binary junk must not
slip through as "text").

    >>> decode_text("café".encode("cp1252")).text
    'café'
    >>> decode_text("café".encode("cp1252")).encoding
    'cp1252'
"""

from __future__ import annotations

import codecs
import unicodedata
from dataclasses import dataclass

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_ALLOWED_CONTROLS = set("\t\n\r\f\v")


class UndecodableText(ValueError):
    """The bytes are not text in any encoding we accept; the message says why."""


@dataclass(frozen=True)
class DecodedText:
    text: str
    encoding: str


def bom_encoding(head: bytes) -> str | None:
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    return None


def bomless_utf16(head: bytes) -> str | None:
    """'utf-16-le'/'utf-16-be' when mostly-ASCII text was saved as UTF-16 without a BOM."""
    sample = head[:4096]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    zero_even = even.count(0) / len(even)
    zero_odd = odd.count(0) / len(odd)
    if zero_odd > 0.4 and zero_even < 0.05:
        return "utf-16-le"
    if zero_even > 0.4 and zero_odd < 0.05:
        return "utf-16-be"
    return None


def control_ratio(text: str) -> float:
    """Share of characters that are control/unassigned code points (never in real text)."""
    if not text:
        return 0.0
    bad = sum(1 for ch in text if ch not in _ALLOWED_CONTROLS and unicodedata.category(ch) in ("Cc", "Cn", "Co", "Cs"))
    return bad / len(text)


def looks_like_text(text: str, *, max_control_ratio: float = 0.01) -> bool:
    """True when at most 1% of the characters are control codes and letters are present."""
    if "\x00" in text:
        return False
    if control_ratio(text) > max_control_ratio:
        return False
    letters = sum(1 for ch in text[:20000] if ch.isalpha())
    return letters > 0 or not text.strip()


def _cp1252_plausible(text: str) -> bool:
    if not looks_like_text(text):
        return False
    # cp1252 maps every byte to *something*; real Western text is overwhelmingly ASCII with a
    # few accented letters or smart quotes, binary decoded as cp1252 is mostly symbols.
    sample = text[:20000]
    high = sum(1 for ch in sample if ord(ch) > 127)
    usual = "‘’“”–—•…€£§°©®™ "
    odd_symbols = sum(1 for ch in sample if ord(ch) > 127 and not (ch.isalpha() or ch in usual))
    return high / max(len(sample), 1) < 0.3 and odd_symbols / max(high, 1) < 0.5


def decode_text(data: bytes) -> DecodedText:
    """Decode bytes that should be text; raise :class:`UndecodableText` naming the problem."""
    encoding = bom_encoding(data)
    if encoding:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as err:
            raise UndecodableText(
                f"has a {encoding} byte-order mark but is not valid {encoding}: {err.reason} at byte {err.start}"
            ) from err
        return _finish(text, encoding)
    utf16 = bomless_utf16(data)
    if utf16:
        try:
            return _finish(data.decode(utf16), utf16)
        except UnicodeDecodeError:
            pass  # fall through: the NUL pattern was a coincidence, the checks below decide
    if b"\x00" in data:
        raise UndecodableText("contains NUL bytes (binary data, not text)")
    try:
        return _finish(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError as err:
        utf8_error = f"invalid UTF-8 at byte {err.start}"
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError as err:
        raise UndecodableText(f"{utf8_error} and not cp1252 either (byte 0x{data[err.start]:02x} at {err.start})") from err
    if not _cp1252_plausible(text):
        raise UndecodableText(f"{utf8_error}, and read as cp1252 it does not look like text")
    return _finish(text, "cp1252")


def _finish(text: str, encoding: str) -> DecodedText:
    text = text.lstrip("\ufeff")
    if not looks_like_text(text):
        raise UndecodableText(f"decoded as {encoding} but contains control characters (binary data, not text)")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return DecodedText(unicodedata.normalize("NFC", text), encoding)
