"""Download the official sources listed in ``corpus/sources.toml`` into a local folder.

Each source ends as ``DEST/<key>.<format>`` plus a ``<key>.<format>.meta.json`` sidecar (its
official URL, document type and audiences, read by the ingest pipeline), and an entry in
``DEST/fetch-state.json`` (sha256, size, final URL, ETag/Last-Modified, fetched_at). Rules:

* every URL, and every redirect target, passes :func:`ingest.urlguard.check_url` first, and the
  address actually connected to is checked again; at most ``MAX_REDIRECTS`` redirects;
* the body is streamed to a temporary file in ``DEST`` and renamed into place only when it is
  complete: over ``fetch.max_bytes`` -> "too large"; fewer bytes than Content-Length ->
  "truncated"; the temporary file is removed on every failure;
* the response must be what the manifest says: ``pdf`` is ``application/pdf`` starting with
  ``%PDF-``, ``html`` is ``text/html``; anything else is "wrong content type" (a portal that
  answers a PDF address with its HTML error page must not be indexed as the Act);
* a second run sends If-None-Match/If-Modified-Since; a 304, or the same sha256, is "unchanged";
* a source whose ``url_verified`` is false is "skipped": its URL is a home page, and indexing a
  home page under an Act's or a Rules' title would put a wrong document behind citations;
* one failing source never stops the others; no network reads as "network unreachable (offline?)".

    >>> report = fetch_sources(Path("corpus/sources.toml"), Path(".kb/sources"), get_settings())  # doctest: +SKIP
    >>> report.counts()                                                                        # doctest: +SKIP
    {'fetched': 14, 'unchanged': 0, 'failed': 0, 'skipped': 5}
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx

from ingest.manifest import Source, load_manifest, select
from ingest.urlguard import OFFLINE, check_peer, check_url
from kb.errors import FetchError
from kb.settings import Settings

MAX_REDIRECTS = 5
STATE_FILE = "fetch-state.json"
STATE_VERSION = 1
USER_AGENT = "child-protection-kb (official sources fetch)"
STATUSES = ("fetched", "unchanged", "failed", "skipped")
_MEDIA_TYPES = {"pdf": ("application/pdf", "application/x-pdf"), "html": ("text/html", "application/xhtml+xml")}
_MAGIC = {"pdf": b"%PDF-"}
_STATUTES = ("act", "rules")


@dataclass
class SourceResult:
    """What happened to one source: ``status`` is one of :data:`STATUSES`, ``reason`` says why."""

    key: str
    status: str
    url: str
    reason: str | None = None
    path: str | None = None
    final_url: str | None = None
    size: int | None = None
    sha256: str | None = None
    doc_type: str = ""
    audiences: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class FetchReport:
    """Per-source results of one :func:`fetch_sources` run."""

    dest: str
    results: list[SourceResult] = field(default_factory=list)
    seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATUSES, 0)
        for result in self.results:
            out[result.status] += 1
        return out

    @property
    def failed(self) -> list[SourceResult]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def available(self) -> list[SourceResult]:
        """Sources whose file is on disk and current: the ones to ingest."""
        return [r for r in self.results if r.status in ("fetched", "unchanged")]

    @property
    def offline(self) -> bool:
        """True when every attempted source failed for lack of network."""
        tried = [r for r in self.results if r.status != "skipped"]
        return bool(tried) and all(r.status == "failed" and (r.reason or "").startswith(OFFLINE) for r in tried)

    def to_dict(self) -> dict[str, Any]:
        return {"dest": self.dest, "counts": self.counts(), "seconds": round(self.seconds, 3),
                "offline": self.offline, "sources": [r.__dict__ for r in self.results]}


def fetch_sources(
    manifest: Path,
    dest: Path,
    settings: Settings,
    *,
    only: list[str] | None = None,
    client: httpx.Client | None = None,
    on_source: Callable[[SourceResult, int, int], None] | None = None,
) -> FetchReport:
    """Download the sources of ``manifest`` (or the keys in ``only``) into ``dest`` (see module doc)."""
    started = time.perf_counter()
    sources = select(load_manifest(manifest), only, path=manifest)
    dest = Path(dest)
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise FetchError(f"{dest}: cannot create the download folder ({err.strerror or err})", path=str(dest)) from err
    state = FetchState.load(dest / STATE_FILE)
    report = FetchReport(dest=str(dest))
    with _client(client, settings) as http:
        fetcher = _Fetcher(http, dest, settings, state)
        for index, source in enumerate(sources, start=1):
            result = fetcher.fetch(source)
            report.results.append(result)
            if on_source:
                on_source(result, index, len(sources))
    report.seconds = time.perf_counter() - started
    return report


class FetchState:
    """``fetch-state.json``: what was downloaded for each key, saved atomically after every source."""

    def __init__(self, path: Path, entries: dict[str, dict[str, Any]]) -> None:
        self.path = path
        self.entries = entries

    @classmethod
    def load(cls, path: Path) -> FetchState:
        if not path.exists():
            return cls(path, {})
        try:
            data = json.loads(path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise FetchError(f"{path}: unreadable fetch state ({err}); delete it to fetch everything again",
                             path=str(path)) from err
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION or not isinstance(data.get("sources"), dict):
            raise FetchError(f"{path}: not a version-{STATE_VERSION} fetch state; delete it to fetch everything again",
                             path=str(path))
        return cls(path, data["sources"])

    def get(self, key: str) -> dict[str, Any] | None:
        entry = self.entries.get(key)
        return entry if isinstance(entry, dict) else None

    def put(self, key: str, entry: dict[str, Any]) -> None:
        self.entries[key] = entry
        _write_atomic(self.path, json.dumps({"version": STATE_VERSION, "sources": self.entries}, indent=2, sort_keys=True))


class _Fetcher:
    def __init__(self, client: httpx.Client, dest: Path, settings: Settings, state: FetchState) -> None:
        self.client = client
        self.dest = dest
        self.limits = settings.fetch
        self.state = state

    def fetch(self, source: Source) -> SourceResult:
        started = time.perf_counter()
        result = SourceResult(source.key, "failed", source.url, doc_type=source.doc_type, audiences=list(source.audiences))
        if not source.url_verified:
            result.status, result.reason = "skipped", "url not verified (it is the official site's home page; see notes)"
            return result
        try:
            self._fetch(source, result)
        except FetchError as err:
            result.status, result.reason = "failed", str(err)
        result.seconds = time.perf_counter() - started
        return result

    def _fetch(self, source: Source, result: SourceResult) -> None:
        target = self.dest / source.file_name
        previous = self.state.get(source.key)
        current = bool(previous and previous.get("url") == source.url and _sha256_of(target) == previous.get("sha256"))
        deadline = time.monotonic() + self.limits.timeout_s
        response = self._open(source.url, _conditional_headers(previous) if current else {}, deadline)
        try:
            result.final_url = str(response.url)
            if response.status_code == 304:
                if not current:
                    raise FetchError("server answered 304 Not Modified to an unconditional request")
                self._unchanged(source, result, previous, response, "not modified (HTTP 304)")
                return
            if not response.is_success:
                raise FetchError(f"HTTP {response.status_code} {response.reason_phrase} from {response.url}")
            _check_media_type(source, response)
            tmp, digest, size = self._download(source, response, deadline)
        finally:
            response.close()
        if current and digest == previous.get("sha256"):
            tmp.unlink(missing_ok=True)
            self._unchanged(source, result, previous, response, "same content (sha256)")
            return
        try:
            os.replace(tmp, target)
        except OSError as err:
            tmp.unlink(missing_ok=True)
            raise FetchError(f"cannot write {target} ({err.strerror or err})", path=str(target)) from err
        now = _now()
        self.state.put(source.key, {**_validators(response), "url": source.url, "final_url": str(response.url),
                                    "file": source.file_name, "sha256": digest, "size": size,
                                    "content_type": response.headers.get("content-type"),
                                    "fetched_at": now, "checked_at": now})
        _write_sidecar(target, source)
        result.status, result.path, result.size, result.sha256 = "fetched", str(target), size, digest

    def _unchanged(self, source: Source, result: SourceResult, previous: dict, response: httpx.Response, why: str) -> None:
        # A 304 may carry fresh validators; keep the stored ones where it does not.
        entry = {**previous, **{k: v for k, v in _validators(response).items() if v}, "checked_at": _now(),
                 "final_url": str(response.url)}
        self.state.put(source.key, entry)
        target = self.dest / source.file_name
        _write_sidecar(target, source)
        result.status, result.reason, result.path = "unchanged", why, str(target)
        result.size, result.sha256 = entry.get("size"), entry.get("sha256")

    # -- HTTP ------------------------------------------------------------------------------
    def _open(self, url: str, headers: dict[str, str], deadline: float) -> httpx.Response:
        """GET ``url``, following at most MAX_REDIRECTS redirects, each checked before it is requested."""
        hops: list[str] = []
        for _ in range(MAX_REDIRECTS + 1):
            try:
                check_url(url, allow_private=self.limits.allow_private_addresses)
            except FetchError as err:
                raise FetchError(f"redirect from {hops[-1]} {err}" if hops else str(err), url=url) from err
            response = self._send(url, headers, deadline)
            if not response.has_redirect_location:
                return response
            location = response.headers["location"]
            response.close()
            hops.append(url)
            url = urljoin(str(response.url), location)
        raise FetchError(f"too many redirects (more than {MAX_REDIRECTS}) starting at {hops[0]}", url=hops[0])

    def _send(self, url: str, headers: dict[str, str], deadline: float) -> httpx.Response:
        timeout = max(0.001, min(self.limits.timeout_s, deadline - time.monotonic()))
        try:
            request = self.client.build_request(
                "GET", url, headers={"Accept-Encoding": "identity", **headers}, timeout=timeout)
            response = self.client.send(request, stream=True, follow_redirects=False)
        except httpx.ConnectError as err:
            raise FetchError(f"{OFFLINE}: cannot connect to {url} ({_cause(err)})", url=url) from err
        except httpx.TimeoutException as err:
            raise FetchError(f"timed out after {self.limits.timeout_s:g} s (fetch.timeout_s) at {url}", url=url) from err
        except (httpx.HTTPError, httpx.InvalidURL) as err:
            raise FetchError(f"request to {url} failed: {_cause(err)}", url=url) from err
        stream = response.extensions.get("network_stream")
        peer = stream.get_extra_info("server_addr") if stream is not None else None
        if peer:
            try:
                check_peer(url, str(peer[0]), allow_private=self.limits.allow_private_addresses)
            except FetchError:
                response.close()
                raise
        return response

    def _download(self, source: Source, response: httpx.Response, deadline: float) -> tuple[Path, str, int]:
        """Stream the body to a temporary file in ``dest``: (file, sha256, size). Removes the file on failure."""
        limit = self.limits.max_bytes
        declared = _content_length(response)
        if declared is not None and declared > limit:
            raise FetchError(f"too large: {declared} bytes declared, limit {limit} (fetch.max_bytes)", size=declared)
        digest, size, head = hashlib.sha256(), 0, b""
        try:
            fd, name = tempfile.mkstemp(dir=self.dest, prefix=f".{source.key}.", suffix=".part")
        except OSError as err:
            raise FetchError(f"cannot create a file in {self.dest} ({err.strerror or err})", path=str(self.dest)) from err
        tmp = Path(name)
        try:
            with os.fdopen(fd, "wb") as out:
                for block in _body(response, declared, self.limits.timeout_s):
                    size += len(block)
                    if size > limit:
                        raise FetchError(f"too large: more than {limit} bytes (fetch.max_bytes)", size=size)
                    if time.monotonic() > deadline:
                        raise FetchError(f"timed out: the download took longer than {self.limits.timeout_s:g} s "
                                         "(fetch.timeout_s)")
                    if len(head) < 16:
                        head += block[: 16 - len(head)]
                        _check_magic(source, head, final=False)
                    digest.update(block)
                    out.write(block)
            _check_magic(source, head, final=True)
            if declared is not None and response.num_bytes_downloaded != declared:
                raise FetchError(f"truncated download: received {response.num_bytes_downloaded} of {declared} bytes")
        except OSError as err:
            tmp.unlink(missing_ok=True)
            raise FetchError(f"cannot write {tmp} ({err.strerror or err})", path=str(tmp)) from err
        except BaseException:
            # Any failure, including Ctrl-C, must not leave a half-written file behind.
            tmp.unlink(missing_ok=True)
            raise
        return tmp, digest.hexdigest(), size


@contextmanager
def _client(client: httpx.Client | None, settings: Settings) -> Iterator[httpx.Client]:
    if client is not None:
        yield client
        return
    # trust_env=False: proxies and certificates come from settings, never from the environment.
    own = httpx.Client(timeout=settings.fetch.timeout_s, trust_env=False, follow_redirects=False,
                       headers={"User-Agent": USER_AGENT})
    try:
        yield own
    finally:
        own.close()


def _body(response: httpx.Response, declared: int | None, timeout_s: float) -> Iterator[bytes]:
    try:
        yield from response.iter_bytes(chunk_size=64 * 1024)
    except httpx.RemoteProtocolError as err:
        got = response.num_bytes_downloaded
        expected = f" of {declared}" if declared is not None else ""
        raise FetchError(f"truncated download: received {got}{expected} bytes before the server closed the "
                         "connection") from err
    except httpx.TimeoutException as err:
        raise FetchError(f"timed out after {timeout_s:g} s (fetch.timeout_s) while reading the body") from err
    except (httpx.HTTPError, httpx.StreamError) as err:
        raise FetchError(f"download failed: {_cause(err)}") from err


def _check_media_type(source: Source, response: httpx.Response) -> None:
    raw = response.headers.get("content-type", "")
    media = raw.split(";", 1)[0].strip().lower()
    expected = _MEDIA_TYPES[source.format]
    if media not in expected:
        raise FetchError(f"wrong content type: format {source.format!r} expects {expected[0]}, "
                         f"the server sent {media or 'no content type'!r}", content_type=raw)


def _check_magic(source: Source, head: bytes, *, final: bool) -> None:
    magic = _MAGIC.get(source.format)
    if magic is None or (len(head) < len(magic) and not final):
        return
    if not head.startswith(magic):
        raise FetchError(f"wrong content type: served as {source.format.upper()} but the body starts with "
                         f"{head[:8]!r}, not {magic!r}")


def _content_length(response: httpx.Response) -> int | None:
    raw = response.headers.get("content-length")
    if raw is None:
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        value = -1
    if value < 0:
        raise FetchError(f"invalid Content-Length {raw!r} from {response.url}")
    return value


def _conditional_headers(previous: dict[str, Any] | None) -> dict[str, str]:
    headers = {}
    if previous and previous.get("etag"):
        headers["If-None-Match"] = previous["etag"]
    if previous and previous.get("last_modified"):
        headers["If-Modified-Since"] = previous["last_modified"]
    return headers


def _validators(response: httpx.Response) -> dict[str, str | None]:
    return {"etag": response.headers.get("etag"), "last_modified": response.headers.get("last-modified")}


def _write_sidecar(target: Path, source: Source) -> None:
    """Metadata the ingest pipeline reads beside the file. Statutes get no title: their identity
    must come from their own text, so a wrong document served at an Act's URL is not labelled as it."""
    meta: dict[str, Any] = {"source_key": source.key, "source_url": source.url, "doc_type": source.doc_type,
                            "audiences": list(source.audiences)}
    if source.doc_type not in _STATUTES:
        meta["title"] = source.title
    _write_atomic(target.with_name(target.name + ".meta.json"), json.dumps(meta, indent=2, ensure_ascii=False))


def _write_atomic(path: Path, text: str) -> None:
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text + "\n")
        os.replace(name, path)
    except OSError as err:
        Path(name).unlink(missing_ok=True)
        raise FetchError(f"cannot write {path} ({err.strerror or err})", path=str(path)) from err


def _sha256_of(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except FileNotFoundError:
        return None
    except OSError as err:
        raise FetchError(f"cannot read {path} ({err.strerror or err})", path=str(path)) from err
    return digest.hexdigest()


def _cause(err: BaseException) -> str:
    return str(err) or type(err).__name__


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
