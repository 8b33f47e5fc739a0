"""Shared fixtures: the real shared sources (skipped when absent), settings in a temp dir."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")  # never send usage data

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED_SOURCES = REPO_ROOT.parent / "shared" / "sources"
SHARED_EVAL = REPO_ROOT.parent / "shared" / "eval"


@pytest.fixture(scope="session")
def shared_sources() -> Path:
    """``../shared/sources`` beside the repository; tests using it skip when it is absent."""
    if not (SHARED_SOURCES / "indiacode-md").is_dir():
        pytest.skip(f"real sources not found at {SHARED_SOURCES}")
    return SHARED_SOURCES


@pytest.fixture(scope="session")
def dev_questions_path() -> Path:
    path = SHARED_EVAL / "dev_questions.jsonl"
    if not path.is_file():
        pytest.skip(f"dev questions not found at {path}")
    return path


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


def _es_url() -> str | None:
    from kb.settings import Settings

    return Settings().elasticsearch.url


@pytest.fixture(params=["sqlite", "elasticsearch"])
def store_backend(request) -> str:
    """Every store-backed test runs once per backend; Elasticsearch only when KB_ELASTICSEARCH_URL is set."""
    if request.param == "elasticsearch" and not _es_url():
        pytest.skip("Elasticsearch tests need KB_ELASTICSEARCH_URL (no server can run on this machine)")
    return request.param


def make_settings(tmp_path: Path, backend: str = "sqlite", **overrides):
    """Settings with the data directory in ``tmp_path`` and a unique Elasticsearch index prefix."""
    from kb.settings import Settings

    data = {"data_dir": tmp_path / "data", "store": {"backend": backend}}
    if backend == "elasticsearch":
        data["elasticsearch"] = {"url": _es_url(), "index_prefix": f"kbtest-{tmp_path.name.lower()[-24:]}"}
    data.update(overrides)
    return Settings(**data)


@pytest.fixture(scope="session")
def fixture_runtime(tmp_path_factory):
    """A real store (SQLite, real model) holding the team-written fixture Acts and guide."""
    from api.runtime import Runtime

    settings = make_settings(tmp_path_factory.mktemp("fixture-kb"))
    runtime = Runtime.open(settings)
    report = runtime.ingestor.ingest([FIXTURES / "api"])
    assert not report.failed, [f.reason for f in report.failed]
    yield runtime
    runtime.close()


@pytest.fixture(scope="session")
def settings_factory():
    """``settings_factory(tmp_path, backend="sqlite", **overrides)`` -> Settings (see make_settings)."""
    return make_settings


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT
