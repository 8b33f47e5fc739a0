"""``kb corpus list`` and ``kb corpus fetch`` end to end: a real local HTTP server, the real
pipeline, a real SQLite store in a temporary data directory (settings come from the environment,
as they do for a user)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.fetch_server import LocalServer, Served, start
from typer.testing import CliRunner

from api.cli import app
from kb.settings import get_settings

PORTAL = (
    b"<html><head><title>Home</title></head><body><h1>Cyber crime reporting</h1>"
    b"<h2>Crimes against children</h2><p>Material showing the sexual abuse of a child can be reported here, "
    b"also without giving a name.</p><h2>Track your report</h2><p>Keep the acknowledgement number.</p></body></html>"
)


@pytest.fixture
def server() -> Iterator[LocalServer]:
    state = LocalServer(routes={"/portal.html": Served(PORTAL, "text/html", etag='"p1"')})
    httpd, thread = start(state)
    yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture
def manifest(tmp_path: Path, server: LocalServer) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(
        f'[[source]]\nkey = "portal"\ntitle = "Fixture Reporting Portal"\ndoc_type = "portal"\n'
        f'audiences = ["police", "ngo"]\nurl = "{server.url("/portal.html")}"\nformat = "html"\n\n'
        f'[[source]]\nkey = "gone"\ntitle = "A withdrawn circular"\ndoc_type = "guideline"\n'
        f'audiences = ["ngo"]\nurl = "{server.url("/gone.pdf")}"\nformat = "pdf"\n\n'
        f'[[source]]\nkey = "rules"\ntitle = "Some Rules"\ndoc_type = "rules"\naudiences = ["lawyer"]\n'
        f'url = "https://ministry.example/"\nformat = "html"\nurl_verified = false\nnotes = "home page"\n',
        "utf-8",
    )
    return path


@pytest.fixture
def env(tmp_path: Path, monkeypatch) -> Iterator[Path]:
    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KB_FETCH__ALLOW_PRIVATE_ADDRESSES", "true")
    get_settings.cache_clear()
    yield tmp_path / "data"
    get_settings.cache_clear()


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_corpus_list(manifest: Path) -> None:
    result = run("corpus", "list", "--manifest", str(manifest), "--json")
    assert result.exit_code == 0, result.output
    rows = [(s["key"], s["doc_type"], s["audiences"], s["url_verified"]) for s in json.loads(result.stdout)]
    assert rows == [("portal", "portal", ["police", "ngo"], True), ("gone", "guideline", ["ngo"], True),
                    ("rules", "rules", ["lawyer"], False)]
    table = run("corpus", "list", "--manifest", str(manifest))
    assert table.exit_code == 0 and "1 with an unverified URL" in table.stdout


def test_corpus_list_bad_manifest(tmp_path: Path) -> None:
    path = tmp_path / "sources.toml"
    path.write_text('[[source]]\nkey = "x"\n', "utf-8")
    result = run("corpus", "list", "--manifest", str(path))
    assert result.exit_code == 2
    assert "source 'x': field 'title' is missing" in " ".join(result.stderr.split())  # rich wraps lines


def test_corpus_fetch_then_ingest(manifest: Path, env: Path, server: LocalServer) -> None:
    first = run("corpus", "fetch", "--manifest", str(manifest), "--json")
    assert first.exit_code == 1, first.output  # "gone" failed
    data = json.loads(first.stdout)
    assert [(s["key"], s["status"]) for s in data["fetch"]["sources"]] == [
        ("portal", "fetched"), ("gone", "failed"), ("rules", "skipped")]
    assert data["fetch"]["dest"] == str(env / "sources")
    (ingested,) = data["ingest"]["files"]
    assert (ingested["status"], ingested["title"]) == ("ingested", "Fixture Reporting Portal")
    assert ingested["provisions"] >= 2

    second = run("corpus", "fetch", "--manifest", str(manifest), "--only", "portal", "--json")
    assert second.exit_code == 0, second.output
    data = json.loads(second.stdout)
    assert [(s["key"], s["status"], s["reason"]) for s in data["fetch"]["sources"]] == [
        ("portal", "unchanged", "not modified (HTTP 304)")]
    assert [f["status"] for f in data["ingest"]["files"]] == ["unchanged"]

    human = run("corpus", "fetch", "--manifest", str(manifest), "--only", "portal", "--no-ingest")
    assert human.exit_code == 0, human.output
    assert "unchanged" in human.stdout and "fetched: 0  unchanged: 1  failed: 0  skipped: 0" in human.stdout


def test_corpus_fetch_refuses_loopback_by_default(manifest: Path, env: Path, monkeypatch, server: LocalServer) -> None:
    monkeypatch.setenv("KB_FETCH__ALLOW_PRIVATE_ADDRESSES", "false")
    get_settings.cache_clear()
    result = run("corpus", "fetch", "--manifest", str(manifest), "--only", "portal", "--json")
    assert result.exit_code == 1
    (source,) = json.loads(result.stdout)["fetch"]["sources"]
    assert "127.0.0.1 is a loopback address" in source["reason"]
    assert json.loads(result.stdout)["ingest"] is None
    assert server.requests == []


def test_corpus_fetch_unknown_key(manifest: Path, env: Path) -> None:
    result = run("corpus", "fetch", "--manifest", str(manifest), "--only", "pocso")
    assert result.exit_code == 2
    assert "no source with key 'pocso'; known keys: gone, portal, rules" in " ".join(result.stderr.split())


@pytest.mark.parametrize(
    ("key", "doc_type", "indexed_title", "expected"),
    [
        ("pocso", "act", "The Protection of Children from Sexual Offences Act, 2012", []),
        ("pocso", "act", "The Child Safety (Model) Act, 2024",
         ["pocso: https://x.example/pocso.pdf was indexed as 'The Child Safety (Model) Act, 2024', "
          "expected 'The Protection of Children from Sexual Offences Act, 2012'"]),
        ("ncrp", "portal", "Anything", []),  # only Acts in the registry have a title to compare with
    ],
)
def test_identity_warnings(tmp_path: Path, key: str, doc_type: str, indexed_title: str, expected: list[str]) -> None:
    """An Act URL that now serves another Act is named after ingest."""
    from api.corpus_cmd import identity_warnings
    from ingest.fetch import FetchReport, SourceResult
    from ingest.pipeline import FileResult, IngestReport

    path = tmp_path / f"{key}.pdf"
    fetched = FetchReport(dest=str(tmp_path), results=[
        SourceResult(key, "fetched", f"https://x.example/{key}.pdf", path=str(path), doc_type=doc_type)])
    ingested = IngestReport(files=[FileResult(str(path.resolve()), "ingested", title=indexed_title)])
    assert identity_warnings(fetched, ingested) == expected
