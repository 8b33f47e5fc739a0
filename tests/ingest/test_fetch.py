"""Fetching official sources against a real HTTP server on 127.0.0.1 (so ``allow_private_addresses``
is on, except in the tests of that rule). The served files are written by the team: a printed
model Act as PDF (tests/ingest/make_docs.py) and a small portal page."""

from __future__ import annotations

import hashlib
import json
import socket
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_settings
from tests.fetch_server import LocalServer, Served, http_date, redirect, start, truncated
from ingest.fetch import MAX_REDIRECTS, STATE_FILE, fetch_sources
from ingest.manifest import load_manifest
from ingest.pipeline import discover
from ingest.urlguard import OFFLINE
from kb.errors import FetchError
from make_docs import MODEL_ACT_FOOTNOTES, MODEL_ACT_PAGES, text_pdf

MAX_BYTES = 64 * 1024
PORTAL_HTML = (
    b"<!doctype html><html><head><title>Report child sexual abuse material</title></head><body>"
    b"<h1>Reporting portal</h1><h2>How to report</h2><p>Choose the category for crimes against children "
    b"and describe what you saw. You may report without giving your name.</p>"
    b"<h2>Track a complaint</h2><p>Use the acknowledgement number to follow your report.</p></body></html>"
)
PORTAL_HTML_V2 = PORTAL_HTML.replace(b"follow your report", b"follow the progress of your report")
LAST_MODIFIED = http_date(1_700_000_000)


@pytest.fixture(scope="module")
def good_pdf() -> bytes:
    return text_pdf(MODEL_ACT_PAGES, MODEL_ACT_FOOTNOTES)


@pytest.fixture
def server(good_pdf: bytes):
    state = LocalServer()
    httpd, thread = start(state)
    padding = b"%PDF-1.4\n" + b"0" * (2 * MAX_BYTES)
    state.routes.update({
        "/good.pdf": Served(good_pdf, "application/pdf", etag='"act-v1"', last_modified=LAST_MODIFIED),
        "/page.html": Served(PORTAL_HTML, "text/html; charset=utf-8"),  # no validators: compared by sha256
        "/moved.pdf": redirect("/good.pdf", 301),
        "/wrong-type.pdf": Served(b"<html><body>Document not found</body></html>", "text/html"),
        "/fake.pdf": Served(b"<html><body>Session expired</body></html>", "application/pdf"),
        "/truncated.pdf": truncated(good_pdf[:1000], declared=len(good_pdf)),
        "/big.pdf": Served(padding, "application/pdf"),
        "/big-stream.pdf": Served(padding, "application/pdf", send_length=False),
        "/to-file.pdf": redirect("file:///etc/passwd"),
        "/to-creds.pdf": redirect(f"http://reader:s3cret@127.0.0.1:{state.port}/good.pdf"),
        "/loop.pdf": redirect("/loop.pdf"),
    })
    yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on: connecting to it fails like an unreachable host."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# key, route (or None: the closed port), format, expected status, words the reason must contain
SOURCES = [
    ("good_pdf", "/good.pdf", "pdf", "fetched", None),
    ("good_html", "/page.html", "html", "fetched", None),
    ("moved", "/moved.pdf", "pdf", "fetched", None),
    ("missing", "/missing.pdf", "pdf", "failed", "HTTP 404 Not Found"),
    ("wrong_type", "/wrong-type.pdf", "pdf", "failed",
     "wrong content type: format 'pdf' expects application/pdf, the server sent 'text/html'"),
    ("fake_pdf", "/fake.pdf", "pdf", "failed", "wrong content type: served as PDF but the body starts with b'<html><b'"),
    ("truncated", "/truncated.pdf", "pdf", "failed", "truncated download: received 1000 of"),
    ("oversize", "/big.pdf", "pdf", "failed", f"too large: {2 * MAX_BYTES + 9} bytes declared, limit {MAX_BYTES}"),
    ("oversize_stream", "/big-stream.pdf", "pdf", "failed", f"too large: more than {MAX_BYTES} bytes"),
    ("to_file", "/to-file.pdf", "pdf", "failed", "refused file:///etc/passwd: scheme file: is not allowed"),
    ("to_creds", "/to-creds.pdf", "pdf", "failed", "credentials in the URL are not allowed"),
    ("loop", "/loop.pdf", "pdf", "failed", f"too many redirects (more than {MAX_REDIRECTS})"),
    ("offline", None, "pdf", "failed", f"{OFFLINE}: cannot connect to"),
    ("home_page", "/page.html", "html", "skipped", "url not verified"),
]
FETCHED = {"good_pdf": "good_pdf.pdf", "good_html": "good_html.html", "moved": "moved.pdf"}


def write_manifest(path: Path, server: LocalServer, closed_port: int, rows=SOURCES, host: str = "127.0.0.1") -> Path:
    lines = []
    for key, route, fmt, _status, _words in rows:
        url = server.url(route, host) if route else f"http://127.0.0.1:{closed_port}/act.pdf"
        lines += [
            "[[source]]",
            f'key = "{key}"',
            f'title = "Fixture source {key}"',
            f'doc_type = "{"act" if fmt == "pdf" else "portal"}"',
            'audiences = ["lawyer", "police"]',
            f'url = "{url}"',
            f'format = "{fmt}"',
            *(["url_verified = false", 'notes = "home page only"'] if key == "home_page" else []),
            "",
        ]
    path.write_text("\n".join(lines), "utf-8")
    return path


@pytest.fixture
def manifest(tmp_path: Path, server: LocalServer, closed_port: int) -> Path:
    return write_manifest(tmp_path / "sources.toml", server, closed_port)


@pytest.fixture
def settings(tmp_path: Path):
    return make_settings(tmp_path, fetch={"max_bytes": MAX_BYTES, "allow_private_addresses": True, "timeout_s": 10})


def outcome(report) -> list[tuple[str, str, str | None]]:
    """(key, status, reason) with the reason cut to the expected words when it contains them."""
    expected = {key: words for key, _r, _f, _s, words in SOURCES}
    rows = []
    for r in report.results:
        words = expected.get(r.key)
        rows.append((r.key, r.status, words if words and r.reason and words in r.reason else r.reason))
    return rows


def leftovers(dest: Path) -> list[str]:
    return sorted(p.name for p in dest.iterdir() if p.name.startswith(".") or p.suffix in (".part", ".tmp"))


def test_first_run_table(manifest: Path, settings, tmp_path: Path) -> None:
    report = fetch_sources(manifest, tmp_path / "dest", settings)
    assert outcome(report) == [(key, status, words) for key, _r, _f, status, words in SOURCES]
    assert report.counts() == {"fetched": 3, "unchanged": 0, "failed": 10, "skipped": 1}
    assert not report.offline  # only one source was unreachable
    reasons = " ".join(r.reason or "" for r in report.results)
    assert "s3cret" not in reasons and "reader" not in reasons


def test_files_state_and_sidecars(manifest: Path, settings, server: LocalServer, tmp_path: Path, good_pdf: bytes) -> None:
    dest = tmp_path / "dest"
    report = fetch_sources(manifest, dest, settings)
    names = sorted(p.name for p in dest.iterdir())
    assert names == sorted([STATE_FILE, *FETCHED.values(), *(f"{n}.meta.json" for n in FETCHED.values())])
    assert leftovers(dest) == []
    assert (dest / "good_pdf.pdf").read_bytes() == good_pdf == (dest / "moved.pdf").read_bytes()
    assert (dest / "good_html.html").read_bytes() == PORTAL_HTML

    state = json.loads((dest / STATE_FILE).read_text("utf-8"))
    assert state["version"] == 1 and sorted(state["sources"]) == sorted(FETCHED)
    pdf = state["sources"]["good_pdf"]
    assert pdf["sha256"] == hashlib.sha256(good_pdf).hexdigest()
    assert (pdf["size"], pdf["etag"], pdf["last_modified"]) == (len(good_pdf), '"act-v1"', LAST_MODIFIED)
    assert (pdf["url"], pdf["final_url"], pdf["file"]) == (server.url("/good.pdf"), server.url("/good.pdf"), "good_pdf.pdf")
    assert state["sources"]["moved"]["final_url"] == server.url("/good.pdf")
    assert state["sources"]["good_html"]["etag"] is None
    assert datetime.fromisoformat(pdf["fetched_at"]).tzinfo is not None

    by_key = {r.key: r for r in report.results}
    assert by_key["good_pdf"].sha256 == pdf["sha256"] and by_key["good_pdf"].path == str(dest / "good_pdf.pdf")
    sidecar = json.loads((dest / "good_pdf.pdf.meta.json").read_text("utf-8"))
    # an Act's title must come from its own text, so the sidecar carries none
    assert sidecar == {"source_key": "good_pdf", "source_url": server.url("/good.pdf"), "doc_type": "act",
                       "audiences": ["lawyer", "police"]}
    assert json.loads((dest / "good_html.html.meta.json").read_text("utf-8"))["title"] == "Fixture source good_html"
    # `kb ingest DEST` sees the documents only, not the state file or the sidecars
    found, missing = discover([dest], max_files=100)
    assert (sorted(p.name for p in found), missing) == (sorted(FETCHED.values()), [])


def test_second_run_is_unchanged(manifest: Path, settings, server: LocalServer, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    fetch_sources(manifest, dest, settings)
    first_state = json.loads((dest / STATE_FILE).read_text("utf-8"))["sources"]
    mtimes = {name: (dest / name).stat().st_mtime_ns for name in FETCHED.values()}

    report = fetch_sources(manifest, dest, settings, only=["good_pdf", "moved", "good_html", "missing"])
    assert outcome(report) == [
        ("good_pdf", "unchanged", "not modified (HTTP 304)"),
        ("good_html", "unchanged", "same content (sha256)"),
        ("moved", "unchanged", "not modified (HTTP 304)"),
        ("missing", "failed", "HTTP 404 Not Found"),
    ]
    conditional = server.hits("/good.pdf")[-1]
    assert conditional["If-None-Match"] == '"act-v1"' and conditional["If-Modified-Since"] == LAST_MODIFIED
    assert "If-None-Match" not in server.hits("/page.html")[-1]  # nothing to send: the page has no ETag
    state = json.loads((dest / STATE_FILE).read_text("utf-8"))["sources"]
    for key in FETCHED:
        assert state[key]["sha256"] == first_state[key]["sha256"]
        assert state[key]["fetched_at"] == first_state[key]["fetched_at"]
        assert state[key]["checked_at"] >= first_state[key]["checked_at"]
    assert {name: (dest / name).stat().st_mtime_ns for name in FETCHED.values()} == mtimes
    assert leftovers(dest) == []


def test_changed_and_damaged_files_are_fetched_again(manifest: Path, settings, server: LocalServer, tmp_path: Path,
                                                     good_pdf: bytes) -> None:
    dest = tmp_path / "dest"
    fetch_sources(manifest, dest, settings, only=["good_pdf", "good_html"])
    server.routes["/page.html"] = Served(PORTAL_HTML_V2, "text/html")
    (dest / "good_pdf.pdf").write_bytes(b"%PDF-1.4 damaged on disk")

    report = fetch_sources(manifest, dest, settings, only=["good_pdf", "good_html"])
    assert [(r.key, r.status) for r in report.results] == [("good_pdf", "fetched"), ("good_html", "fetched")]
    assert "If-None-Match" not in server.hits("/good.pdf")[-1]  # the local copy no longer matched the state
    assert (dest / "good_pdf.pdf").read_bytes() == good_pdf
    assert (dest / "good_html.html").read_bytes() == PORTAL_HTML_V2
    state = json.loads((dest / STATE_FILE).read_text("utf-8"))["sources"]
    assert state["good_html"]["sha256"] == hashlib.sha256(PORTAL_HTML_V2).hexdigest()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_loopback_refused_when_private_addresses_are_not_allowed(tmp_path: Path, server: LocalServer, closed_port: int,
                                                                 host: str) -> None:
    manifest = write_manifest(tmp_path / "sources.toml", server, closed_port, rows=SOURCES[:3], host=host)
    settings = make_settings(tmp_path, fetch={"allow_private_addresses": False})
    report = fetch_sources(manifest, tmp_path / "dest", settings)
    assert [r.status for r in report.results] == ["failed"] * 3
    for result in report.results:
        assert result.reason.startswith(f"refused {result.url}: {host} ")
        assert "a loopback address" in result.reason
    assert server.requests == []  # refused before any request was sent
    assert not (tmp_path / "dest" / STATE_FILE).exists()


def test_redirect_from_a_public_address_into_the_private_network_is_refused(tmp_path: Path) -> None:
    """Each hop is checked. A public server cannot run here, so this one is an httpx MockTransport."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})

    manifest = tmp_path / "sources.toml"
    manifest.write_text('[[source]]\nkey = "act"\ntitle = "An Act"\ndoc_type = "act"\naudiences = ["lawyer"]\n'
                        'url = "http://93.184.216.34/act.pdf"\nformat = "pdf"\n', "utf-8")
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        report = fetch_sources(manifest, tmp_path / "dest", make_settings(tmp_path), client=client)
    (result,) = report.results
    assert result.status == "failed"
    assert result.reason == ("redirect from http://93.184.216.34/act.pdf refused http://169.254.169.254/latest/meta-data/: "
                             "169.254.169.254 is a link-local address (cloud metadata service)")
    assert seen == ["http://93.184.216.34/act.pdf"]


def test_connection_that_lands_on_loopback_is_refused(tmp_path: Path, server: LocalServer, monkeypatch) -> None:
    """DNS rebinding: the name resolves to a public address when checked, to 127.0.0.1 when connected."""
    real_getaddrinfo = socket.getaddrinfo
    answers = iter(["93.184.216.34"])

    def rebinding(host, port, *args, **kwargs):
        if host == "rebind.test":
            address = next(answers, "127.0.0.1")
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    manifest = write_manifest(tmp_path / "sources.toml", server, 1, rows=SOURCES[:1], host="rebind.test")
    report = fetch_sources(manifest, tmp_path / "dest", make_settings(tmp_path))
    (result,) = report.results
    assert (result.status, result.reason) == (
        "failed", f"refused {server.url('/good.pdf', 'rebind.test')}: connected to 127.0.0.1, a loopback address")
    assert sorted(p.name for p in (tmp_path / "dest").iterdir()) == []


def test_offline_is_reported_clearly(tmp_path: Path, server: LocalServer, closed_port: int, settings) -> None:
    rows = [("offline", None, "pdf", "failed", OFFLINE),
            ("nowhere", "/act.pdf", "pdf", "failed", OFFLINE)]
    manifest = write_manifest(tmp_path / "sources.toml", server, closed_port, rows=rows)
    text = manifest.read_text("utf-8").replace(server.url("/act.pdf"), "https://sources.invalid/act.pdf")
    manifest.write_text(text, "utf-8")
    offline_settings = settings.model_copy(update={"fetch": settings.fetch.model_copy(
        update={"allow_private_addresses": False})})
    # refused connection and DNS failure inside httpx; then DNS failure in the URL check itself
    for configured, only, detail in ((settings, None, ["cannot connect to", "cannot connect to"]),
                                     (offline_settings, ["nowhere"], ["cannot resolve host 'sources.invalid'"])):
        report = fetch_sources(manifest, tmp_path / "dest", configured, only=only)
        assert [r.status for r in report.results] == ["failed"] * len(detail)
        for result, words in zip(report.results, detail, strict=True):
            assert result.reason.startswith(f"{OFFLINE}: {words}"), result.reason
        assert report.offline and report.to_dict()["offline"] is True


GOOD_ENTRY = {"key": '"pocso"', "title": '"An Act"', "doc_type": '"act"', "audiences": '["lawyer"]',
              "url": '"https://www.indiacode.nic.in/a.pdf"', "format": '"pdf"'}

# change to the good entry (None removes the field), words the error must contain
BAD_ENTRIES = [
    ({"url": None}, "source 'pocso': field 'url' is missing"),
    ({"doc_type": '"statute"'}, "source 'pocso': field 'doc_type' must be one of act, rules"),
    ({"format": '"docx"'}, "source 'pocso': field 'format' must be one of pdf, html, got 'docx'"),
    ({"audiences": '["judges"]'}, "source 'pocso': field 'audiences' must be a list drawn from lawyer, police, ngo"),
    ({"audiences": None, "audience": '["police"]'}, "source 'pocso': field 'audience' is not a known field"),
    ({"url": '"ftp://example.org/a.pdf"'}, "source 'pocso': field 'url' must be an http(s) URL"),
    ({"url_verified": '"yes"'}, "source 'pocso': field 'url_verified' must be true or false"),
    ({"year": '"2012"'}, "source 'pocso': field 'year' must be an integer"),
    ({"key": '"POCSO Act"'}, "source #1: field 'key' must match"),
    ({"key": None}, "source #1: field 'key' must match"),
]


def _entry(changes: dict[str, str | None]) -> str:
    fields = {**GOOD_ENTRY, **changes}
    return "[[source]]\n" + "".join(f"{k} = {v}\n" for k, v in fields.items() if v is not None)


@pytest.mark.parametrize(("changes", "words"), BAD_ENTRIES)
def test_bad_manifest_entry_names_file_key_and_field(tmp_path: Path, changes: dict, words: str) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(_entry(changes), "utf-8")
    with pytest.raises(FetchError) as caught:
        load_manifest(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert words in str(caught.value)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (_entry({}) + "\n" + _entry({}), "source 'pocso': key is used twice"),
        ("[[source]\nkey = 1", "not valid TOML"),
        ("[settings]\nx = 1\n" + _entry({}), "only [[source]] tables are expected, found ['settings']"),
        ("", "no [[source]] entries"),
    ],
)
def test_bad_manifest_file(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(text, "utf-8")
    with pytest.raises(FetchError, match=None) as caught:
        load_manifest(path)
    assert str(caught.value).startswith(f"{path}: ") and words in str(caught.value)


def test_unknown_only_key_and_bad_state_file(manifest: Path, settings, tmp_path: Path, server: LocalServer) -> None:
    with pytest.raises(FetchError, match=r"no source with key 'pocso'; known keys: .*good_pdf"):
        fetch_sources(manifest, tmp_path / "dest", settings, only=["pocso"])
    (tmp_path / "dest").mkdir()
    (tmp_path / "dest" / STATE_FILE).write_text("{not json", "utf-8")
    with pytest.raises(FetchError, match=rf"{STATE_FILE}: unreadable fetch state .* delete it"):
        fetch_sources(manifest, tmp_path / "dest", settings, only=["good_pdf"])
    assert server.requests == []


def test_shipped_manifest_loads() -> None:
    """The real corpus/sources.toml passes the same checks fetching applies."""
    sources = load_manifest(Path(__file__).resolve().parents[2] / "corpus" / "sources.toml")
    by_key = {s.key: s for s in sources}
    assert by_key["pocso"].format == "pdf" and by_key["pocso"].url_verified
    assert by_key["pocso_rules"].url_verified is False


def test_fetch_then_ingest_end_to_end(manifest: Path, tmp_path: Path, server: LocalServer) -> None:
    """The fetched model Act goes through the real pipeline into a real SQLite store and is searchable."""
    from api.runtime import Runtime

    settings = make_settings(tmp_path, fetch={"allow_private_addresses": True})
    report = fetch_sources(manifest, settings.data_dir / "sources", settings, only=["good_pdf"])
    (result,) = report.available
    runtime = Runtime.open(settings)
    try:
        ingested = runtime.ingestor.ingest([Path(result.path)], doc_type=result.doc_type, audiences=result.audiences)
        assert [(f.status, f.title) for f in ingested.files] == [("ingested", "The Child Safety (Model) Act, 2024")]
        provision = runtime.store.get_provision("child_safety_model_act_2024:4A")
        assert provision is not None
        assert (provision.locator.heading, provision.locator.page) == ("Designated officers", 3)
        assert provision.locator.source_url == server.url("/good.pdf")  # provenance from the fetch sidecar
        assert provision.locator.doc_type == "act"
        top = runtime.searcher.search("which officers are designated for harmful content", top_k=3).hits[0]
        assert top.provision_key == "child_safety_model_act_2024:4A"
        assert top.citation == "The Child Safety (Model) Act, 2024, s. 4A, p. 3"
        again = runtime.ingestor.ingest([Path(result.path)], doc_type=result.doc_type, audiences=result.audiences)
        assert [f.status for f in again.files] == ["unchanged"]
    finally:
        runtime.close()
