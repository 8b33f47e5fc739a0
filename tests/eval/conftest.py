"""The evaluation tier: a store holding the 14 real Acts (and the shipped guides), built once."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def real_runtime(shared_sources, tmp_path_factory, settings_factory):
    from api.runtime import Runtime

    settings = settings_factory(tmp_path_factory.mktemp("real-kb"))
    runtime = Runtime.open(settings)
    report = runtime.ingestor.ingest([shared_sources / "indiacode-md"])
    assert not report.failed, [(f.path, f.reason) for f in report.failed]
    runtime.acts_report = report
    yield runtime
    runtime.close()


@pytest.fixture(scope="session")
def real_runtime_with_guides(real_runtime, repo_root):
    report = real_runtime.ingestor.ingest([repo_root / "corpus" / "guides"], prune=False)
    assert not report.failed, [(f.path, f.reason) for f in report.failed]
    return real_runtime
