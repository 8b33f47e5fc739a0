"""A real store built once per session from the team-written fixtures in ``tests/fixtures/api``
(India Code-style POCSO, IT and JJ extracts in plain words, and a police guide), the real model,
and TestClients over it.

Tests that write (upload, delete) get their own store (``writable``) so the shared one stays
as built and counts in other tests hold.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import FIXTURE_FILES, api_settings, client_for
from fastapi.testclient import TestClient

from api.runtime import Runtime


@pytest.fixture(scope="session")
def api_fixtures(fixtures_dir: Path) -> Path:
    folder = fixtures_dir / "api"
    missing = [name for name in FIXTURE_FILES if not (folder / name).is_file()]
    assert not missing, f"fixture files missing from {folder}: {missing}"
    return folder


@pytest.fixture(scope="session")
def runtime(tmp_path_factory, api_fixtures: Path) -> Iterator[Runtime]:
    settings = api_settings(tmp_path_factory.mktemp("api-store") / "data")
    rt = Runtime.open(settings)
    report = rt.ingestor.ingest([api_fixtures])
    assert not report.failed, [(f.path, f.reason) for f in report.failed]
    assert report.counts()["ingested"] == len(FIXTURE_FILES)
    yield rt
    rt.close()


@pytest.fixture(scope="session")
def client(runtime: Runtime) -> Iterator[TestClient]:
    with client_for(runtime) as c:
        yield c


@pytest.fixture()
def writable(tmp_path: Path, api_fixtures: Path) -> Iterator[tuple[Runtime, TestClient]]:
    """A fresh store holding the POCSO fixture only, for tests that upload or delete."""
    rt = Runtime.open(api_settings(tmp_path / "data"))
    report = rt.ingestor.ingest([api_fixtures / "pocso-sample.md"])
    assert not report.failed
    with client_for(rt) as c:
        yield rt, c
    rt.close()
