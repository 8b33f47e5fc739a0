"""`kb serve` (indexes the starter corpus into an empty store, then serves), `kb documents`, `kb delete`."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from api.cli import app, index_corpus_if_empty
from api.runtime import Runtime
from kb.settings import Settings, get_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def cli_env(tmp_path: Path, api_fixtures: Path, monkeypatch) -> Path:
    """KB_DATA_DIR pointing at a store holding the POCSO fixture; settings re-read from the environment."""
    data_dir = tmp_path / "data"
    rt = Runtime.open(Settings(data_dir=data_dir))
    assert not rt.ingestor.ingest([api_fixtures / "pocso-sample.md", api_fixtures / "it-sample.md"]).failed
    rt.close()
    monkeypatch.setenv("KB_DATA_DIR", str(data_dir))
    get_settings.cache_clear()
    yield data_dir
    get_settings.cache_clear()


def test_index_corpus_only_when_store_is_empty(tmp_path: Path, api_fixtures: Path):
    corpus = tmp_path / "corpus" / "guides"
    corpus.mkdir(parents=True)
    shutil.copy(api_fixtures / "police-guide.md", corpus / "police-guide.md")
    (tmp_path / "corpus" / "sources.toml").write_text('[[source]]\nkey = "pocso"\ntitle = "POCSO"\n')
    rt = Runtime.open(Settings(data_dir=tmp_path / "data", corpus_dir=tmp_path / "corpus"))
    try:
        report = index_corpus_if_empty(rt, tmp_path / "corpus")
        assert report is not None and report.counts()["ingested"] == 1
        assert [Path(f.path).name for f in report.files] == ["police-guide.md"]  # the manifest is not a document
        assert rt.store.count_sources() == 1
        assert index_corpus_if_empty(rt, tmp_path / "corpus") is None  # not empty any more: left alone
    finally:
        rt.close()


def test_missing_corpus_is_a_warning_not_a_crash(tmp_path: Path):
    rt = Runtime.open(Settings(data_dir=tmp_path / "data"))
    try:
        assert index_corpus_if_empty(rt, tmp_path / "nowhere") is None
    finally:
        rt.close()


def test_documents_and_delete_commands(cli_env: Path):
    runner = CliRunner()
    listed = runner.invoke(app, ["documents", "--json"])
    assert listed.exit_code == 0, listed.output
    body = json.loads(listed.output)
    assert body["total"] == 2
    pocso = next(d for d in body["documents"] if d["act_key"] == "pocso")

    table = runner.invoke(app, ["documents"])
    assert table.exit_code == 0 and pocso["doc_id"][:12] in table.output and "2 of 2 documents" in table.output

    deleted = runner.invoke(app, ["delete", pocso["doc_id"][:10], "--json"])
    assert deleted.exit_code == 0, deleted.output
    assert json.loads(deleted.output) == {"deleted": pocso["doc_id"], "title": pocso["title"]}
    assert json.loads(runner.invoke(app, ["documents", "--json"]).output)["total"] == 1

    missing = runner.invoke(app, ["delete", "f" * 64])
    assert missing.exit_code == 2 and "no stored document" in missing.output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_kb_serve_indexes_the_corpus_and_serves_the_page(tmp_path: Path, api_fixtures: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(api_fixtures / "pocso-sample.md", corpus / "pocso-sample.md")
    port = _free_port()
    env = {**os.environ, "KB_DATA_DIR": str(tmp_path / "data"), "KB_CORPUS_DIR": str(corpus),
           "KB_API__PORT": str(port), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    server = subprocess.Popen([sys.executable, "-c", "from api.cli import app; app()", "serve"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, server.stdout.read()
            assert time.monotonic() < deadline, "kb serve did not come up"
            try:
                if httpx.get(base + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        health = httpx.get(base + "/health").json()
        assert health["documents"] == 1 and health["model"]["loaded"]
        assert "Search the law" in httpx.get(base + "/").text
        hits = httpx.get(base + "/search", params={"q": "Special Court"}).json()["hits"]
        assert hits[0]["provision_key"] == "pocso:28"
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    flat = " ".join(output.split())  # the console wraps long lines
    assert "indexed" in flat and "documents 1, provisions 7, chunks 7, failed 0" in flat, output
