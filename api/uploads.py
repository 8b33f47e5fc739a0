"""Saving uploaded files safely before they are ingested.

A client controls the file name of an upload, so the name is reduced to a plain base name and
anything that could reach outside the upload folder (``..``, absolute paths, drive letters, NUL
and other control characters) is refused, also when it is only spelled that way after Unicode
compatibility folding (``．．／``, ``‥``: a later tool that normalises names must not turn them into
``../``). Names are limited in characters and in UTF-8 bytes (file systems count bytes). Files land in a fresh per-request folder under
``<data_dir>/uploads``; the total size is counted while copying, so a body that lies about its
Content-Length still stops at the limit.

    >>> safe_name("reports/2024/sop.md")
    'sop.md'
    >>> safe_name("../../etc/passwd")
    Traceback (most recent call last):
    ...
    kb.errors.QueryError: unsafe file name '../../etc/passwd': '..' is not allowed
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from api.errors import PayloadTooLarge
from kb.errors import QueryError

log = logging.getLogger(__name__)
MAX_NAME_CHARS = 180
# NAME_MAX is 255 bytes on common file systems; leave room for a " (12)" de-duplication suffix.
MAX_NAME_BYTES = 240
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE = re.compile(r"^[A-Za-z]:")
_COPY_BLOCK = 1 << 16


def safe_name(raw: str | None) -> str:
    """The base name of an uploaded file, or :class:`QueryError` saying why it is refused."""
    if raw is None or not raw.strip():
        raise QueryError("an uploaded file has no file name", field="files", value=raw)

    def refuse(why: str) -> QueryError:
        shown = repr(raw) if len(raw) <= 120 else f"{raw[:120]!r}... ({len(raw)} characters)"
        return QueryError(f"unsafe file name {shown}: {why}", field="files", value=raw)

    try:
        raw.encode("utf-8")
    except UnicodeEncodeError as err:
        raise refuse(f"not valid Unicode ({err.reason} at character {err.start})") from err
    name = _base_name(raw, refuse, note="")
    folded = unicodedata.normalize("NFKC", raw)
    if folded != raw:
        _base_name(folded, refuse, note=" (after Unicode compatibility folding)")
    if len(name) > MAX_NAME_CHARS:
        raise refuse(f"longer than {MAX_NAME_CHARS} characters")
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise refuse(f"longer than {MAX_NAME_BYTES} bytes in UTF-8")
    return name


def _base_name(raw: str, refuse, *, note: str) -> str:
    if _CONTROL.search(raw):
        raise refuse(f"control characters (NUL, newline, ...) are not allowed{note}")
    if raw.startswith(("/", "\\")) or _DRIVE.match(raw):
        raise refuse(f"absolute paths are not allowed{note}")
    parts = re.split(r"[\\/]+", raw)
    if any(part.strip() == ".." for part in parts):
        raise refuse(f"'..' is not allowed{note}")
    name = parts[-1].strip()
    if name in ("", "."):
        raise refuse(f"it names a folder, not a file{note}")
    if name.startswith("."):
        raise refuse(f"hidden files (starting with '.') are not indexed{note}")
    return name


@dataclass
class SavedUpload:
    original: str  # the name the client sent, reported back unchanged
    path: Path | None  # where it was saved; None when refused
    error: str | None = None


@dataclass
class UploadBatch:
    """Uploads of one request, saved under ``folder``."""

    folder: Path
    limit: int
    saved: list[SavedUpload] = field(default_factory=list)
    total_bytes: int = 0

    def add(self, original: str | None, stream: BinaryIO) -> SavedUpload:
        try:
            name = safe_name(original)
        except QueryError as err:
            return self._refused(original, err.message)
        try:
            target = self._unique(name)
            # Defence in depth: whatever safe_name let through must still resolve inside the folder.
            if target.resolve().parent != self.folder.resolve():
                return self._refused(original, f"unsafe file name {original!r}: resolves outside the upload folder")
            self._copy(stream, target)
        except OSError as err:
            # The file system refused the name or the copy (name too long for it, disk full):
            # this file fails, the others go on.
            return self._refused(original, f"could not save {original!r}: {err.strerror or err}")
        upload = SavedUpload(original or name, target)
        self.saved.append(upload)
        return upload

    def _copy(self, stream: BinaryIO, target: Path) -> None:
        with target.open("xb") as out:
            while block := stream.read(_COPY_BLOCK):
                self.total_bytes += len(block)
                if self.total_bytes > self.limit:
                    raise PayloadTooLarge(self.limit, self.total_bytes)
                out.write(block)

    def _refused(self, original: str | None, reason: str) -> SavedUpload:
        upload = SavedUpload(original or "", None, error=reason)
        self.saved.append(upload)
        return upload

    def _unique(self, name: str) -> Path:
        target = self.folder / name
        stem, suffix = Path(name).stem, "".join(Path(name).suffixes[-1:])
        counter = 2
        while target.exists():
            target = self.folder / f"{stem} ({counter}){suffix}"
            counter += 1
        return target


@contextmanager
def upload_batch(uploads_root: Path, limit: int) -> Iterator[UploadBatch]:
    """A fresh folder for one request's uploads, removed afterwards (the store keeps the text)."""
    uploads_root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="upload-", dir=uploads_root))
    try:
        yield UploadBatch(folder=folder, limit=limit)
    finally:
        shutil.rmtree(folder, onerror=_log_cleanup_failure)


def _log_cleanup_failure(function, path, exc_info) -> None:
    # Leftover upload copies waste disk but lose nothing: say so and let the request finish.
    log.warning("could not remove upload copy %s: %s", path, exc_info[1])
