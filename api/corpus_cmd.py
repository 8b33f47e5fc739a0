"""``kb corpus list`` and ``kb corpus fetch``: show the official sources, download them, index them.

The typer commands in :mod:`api.cli` are thin; the work and the printing are here.

    kb corpus list
    kb corpus fetch                       # every verified source into <data_dir>/sources, then ingest
    kb corpus fetch --only pocso --only it --no-ingest --json
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from api import render
from ingest.fetch import FetchReport, fetch_sources
from ingest.manifest import Source
from ingest.pipeline import Ingestor, IngestReport
from kb.acts import find_act
from kb.settings import Settings

MANIFEST_NAME = "sources.toml"


def default_manifest(settings: Settings) -> Path:
    return Path(settings.corpus_dir) / MANIFEST_NAME


def default_dest(settings: Settings) -> Path:
    return Path(settings.data_dir) / "sources"


def print_sources(console: Console, sources: list[Source], as_json: bool) -> None:
    if as_json:
        print(json.dumps([s.to_dict() for s in sources], indent=2, ensure_ascii=False))
        return
    table = Table("key", "doc_type", "audiences", "url", "verified")
    for column in table.columns:
        column.overflow = "fold"  # a cut URL or key is useless to copy
    for s in sources:
        table.add_row(s.key, s.doc_type, ", ".join(s.audiences), escape(s.url), "yes" if s.url_verified else "[yellow]no[/yellow]")
    console.print(table)
    console.print(f"{len(sources)} sources, {sum(not s.url_verified for s in sources)} with an unverified URL (skipped by fetch)")


def fetch(settings: Settings, *, manifest: Path, dest: Path, only: list[str] | None,
          progress: Callable[[], Progress]) -> FetchReport:
    with progress() as bar:
        task = bar.add_task("fetching", total=None)
        return fetch_sources(manifest, dest, settings, only=only,
                             on_source=lambda r, i, n: bar.update(task, completed=i, total=n, description=r.key))


def ingest_fetched(ingestor: Ingestor, report: FetchReport, progress: Callable[[], Progress]) -> IngestReport:
    """Index every fetched or unchanged file with its source's doc_type and audiences.

    Unchanged files are passed too: the ingestor skips them by hash, and a fresh store gets them."""
    combined = IngestReport()
    with progress() as bar:
        task = bar.add_task("ingesting", total=len(report.available))
        for index, result in enumerate(report.available, start=1):
            part = ingestor.ingest([Path(result.path)], doc_type=result.doc_type, audiences=result.audiences, prune=False)
            combined.files.extend(part.files)
            combined.seconds += part.seconds
            combined.encode_seconds += part.encode_seconds
            bar.update(task, completed=index, description=result.key)
    return combined


def identity_warnings(report: FetchReport, ingested: IngestReport) -> list[str]:
    """An Act file that parsed as another document is named: its URL may now serve something else."""
    by_path = {f.path: f for f in ingested.files}
    warnings = []
    for result in report.available:
        act = find_act(result.key) if result.doc_type == "act" else None
        indexed = by_path.get(str(Path(result.path).resolve()))
        if act and indexed and indexed.title and indexed.title != act.title:
            warnings.append(f"{result.key}: {result.url} was indexed as {indexed.title!r}, expected {act.title!r}")
    return warnings


def print_fetch(console: Console, report: FetchReport) -> None:
    table = Table("key", "status", "size", "detail")
    for column in table.columns:
        column.overflow = "fold"
    for r in report.results:
        style = {"failed": "red", "skipped": "yellow"}.get(r.status)
        size = f"{r.size:,}" if r.size is not None else ""
        detail = r.reason or (r.final_url if r.final_url and r.final_url != r.url else r.url)
        table.add_row(r.key, r.status, size, escape(detail or ""), style=style)
    console.print(table)
    console.print("  ".join(f"{k}: {v}" for k, v in report.counts().items()) + f"  seconds: {report.seconds:.1f}"
                  + f"  into {escape(report.dest)}")
    if report.offline:
        console.print("[red]no source could be reached: this machine looks offline (or DNS is not working)[/red]")


def print_ingest(console: Console, ingested: IngestReport | None, warnings: list[str]) -> None:
    if ingested is None:
        return
    render.ingest_report(console, ingested)
    for warning in warnings:
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}")


def to_json(report: FetchReport, ingested: IngestReport | None, warnings: list[str]) -> str:
    return json.dumps({"fetch": report.to_dict(), "ingest": ingested.to_dict() if ingested else None,
                       "warnings": warnings}, indent=2, ensure_ascii=False)
