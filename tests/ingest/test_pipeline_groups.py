"""Ingest embeds the chunks of several files in one encoder call, then writes each file in its own
transaction, in order. What a file ends up as (ingested, duplicate, unchanged, replaced, removed,
failed) and what the store holds must be what ingesting the files one by one gives.

Real store, real model, the team-written fixture Acts.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from api.runtime import Runtime
from kb.settings import Settings

FILES = ("pocso-sample.md", "it-sample.md", "jj-sample.md", "police-guide.md")


def _runtime(data: Path, batch_size: int) -> Runtime:
    return Runtime.open(Settings(data_dir=data, corpus_dir=data / "none", embedding={"batch_size": batch_size}))


@pytest.fixture
def folder(tmp_path: Path, fixtures_dir: Path) -> Path:
    out = tmp_path / "batch"
    out.mkdir()
    for name in FILES:
        shutil.copy(fixtures_dir / "api" / name, out / name)
    shutil.copy(fixtures_dir / "api" / "pocso-sample.md", out / "pocso-copy.md")  # same text, another name
    (out / "broken.md").write_bytes(b"\x00\x01 not a document \xff" * 50)
    return out


def _chunks(rt: Runtime) -> dict[str, tuple[str, np.ndarray]]:
    return {d.id: (d.content, np.asarray(d.embedding)) for d in rt.store.filter_documents()}


def test_grouped_ingest_stores_what_file_by_file_ingest_stores(tmp_path: Path, folder: Path):
    grouped = _runtime(tmp_path / "grouped", batch_size=2)  # groups of 16 chunks: files share groups
    single = _runtime(tmp_path / "single", batch_size=32)
    try:
        assert grouped.ingestor.group_chunks == 16
        seen: list[tuple[str, int, int]] = []
        report = grouped.ingestor.ingest([folder], on_file=lambda r, i, n: seen.append((Path(r.path).name, i, n)))
        names = sorted(p.name for p in folder.iterdir())
        # Results and progress come in file order, numbered 1..n.
        assert [name for name, _, _ in seen] == names == [Path(f.path).name for f in report.files]
        assert [i for _, i, _ in seen] == list(range(1, len(names) + 1)) and {n for _, _, n in seen} == {len(names)}
        status = {Path(f.path).name: f.status for f in report.files}
        assert status["broken.md"] == "failed"
        # One of the two copies is stored, the other is a duplicate remembering its path.
        assert sorted([status["pocso-copy.md"], status["pocso-sample.md"]]) == ["duplicate", "ingested"]
        assert all(status[n] == "ingested" for n in ("it-sample.md", "jj-sample.md", "police-guide.md"))
        record = grouped.store.source_for_path(str(folder / "pocso-copy.md"))
        assert record is not None and {Path(p).name for p in record.paths} == {"pocso-sample.md", "pocso-copy.md"}
        assert report.encode_seconds > 0 and all(f.seconds > 0 for f in report.files)

        for name in names:  # the reference: one file at a time
            single.ingestor.ingest_file(folder / name)
        a, b = _chunks(grouped), _chunks(single)
        assert a.keys() == b.keys() and len(a) == report.chunks > 10
        for chunk_id, (text, vector) in a.items():
            assert text == b[chunk_id][0]
            assert float(vector @ b[chunk_id][1]) > 0.9999, chunk_id  # same vectors, whatever the batch
        assert grouped.store.check().ok
    finally:
        grouped.close()
        single.close()


def test_second_run_edits_and_removals_in_groups(tmp_path: Path, folder: Path):
    rt = _runtime(tmp_path / "data", batch_size=2)
    try:
        first = rt.ingestor.ingest([folder])
        chunks = first.chunks
        again = rt.ingestor.ingest([folder])
        assert {f.status for f in again.files if not f.path.endswith("broken.md")} == {"unchanged"}

        it = folder / "it-sample.md"
        it.write_text(it.read_text(encoding="utf-8").replace("five lakh rupees", "six lakh rupees"), encoding="utf-8")
        (folder / "jj-sample.md").unlink()
        third = rt.ingestor.ingest([folder])
        status = {Path(f.path).name: f.status for f in third.files}
        assert status["it-sample.md"] == "replaced" and status["jj-sample.md"] == "removed"
        assert status["pocso-sample.md"] == status["pocso-copy.md"] == "unchanged"
        hits = rt.store.bm25_retrieval("six lakh rupees")
        assert hits and hits[0].meta["act_key"] == "it"
        it_chunks = rt.store.filter_documents({"field": "meta.act_key", "operator": "==", "value": "it"})
        assert it_chunks and not any("five lakh" in d.content for d in it_chunks)
        assert not any(d.meta.get("act_key") == "jj" for d in rt.store.filter_documents())
        assert rt.store.check().ok and chunks > 0
    finally:
        rt.close()
