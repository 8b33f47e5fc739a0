"""The ``kb`` command. Every write (ingest, delete, rebuild, migrate) is recorded in the audit
log of the data directory as ``cli:<user>`` (:mod:`kb.audit`).

    kb ingest ../shared/sources/indiacode-md corpus/
    kb search "punishment for storing CSAM" --act pocso --json
    kb ask "how to record a child's statement" --audience police
    kb show pocso 19
    kb eval ../shared/eval/dev_questions.jsonl
    kb migrate --to elasticsearch
    kb serve
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from api import render
from api.runtime import Runtime
from kb.audit import AuditLog, cli_actor, ingest_outcome
from kb.errors import KBError
from kb.settings import get_settings

app = typer.Typer(help="Knowledge base of Indian child-protection law: index, search, answer with citations.",
                  no_args_is_help=True, add_completion=False)
corpus_app = typer.Typer(help="The starter corpus and the official sources it lists.", no_args_is_help=True)
app.add_typer(corpus_app, name="corpus")
console = Console()
err_console = Console(stderr=True)

MANIFEST = "sources.toml"
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _runtime() -> Runtime:
    try:
        return Runtime.open(get_settings())
    except KBError as err:  # e.g. a data directory that cannot be created: a message, not a traceback
        _fail(err)


def _audited(settings, action: str, targets: list):
    """Record one write of this command in the audit log (see :meth:`kb.audit.AuditLog.record`)."""
    return AuditLog.of(settings.data_dir).record(action, actor=cli_actor(), targets=[str(t) for t in targets])


def _fail(err: KBError) -> None:
    err_console.print(f"[red]error:[/red] {err}")
    raise typer.Exit(2)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err_console, transient=True)


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to index.")] = None,
    doc_type: Annotated[str | None, typer.Option(help="doc_type for every file (act, rules, policy, sop, guideline, case_study, ...).")] = None,
    audience: Annotated[list[str] | None, typer.Option(help="Audience (lawyer, police, ngo); repeat for several.")] = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Re-chunk and re-embed everything stored with the current settings.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Index files (Markdown, PDF, scanned PDF, HTML, DOCX, text). Unchanged files are skipped."""
    from kb.models import AUDIENCES, DOC_TYPES

    if doc_type and doc_type not in DOC_TYPES:
        _fail(KBError(f"--doc-type must be one of {', '.join(DOC_TYPES)}, got {doc_type!r}"))
    for a in audience or []:
        if a not in AUDIENCES:
            _fail(KBError(f"--audience must be one of {', '.join(AUDIENCES)}, got {a!r}"))
    if not paths and not rebuild:
        _fail(KBError("give files or folders to ingest, or --rebuild"))
    rt = _runtime()
    try:
        report = None
        with _progress() as progress:
            if rebuild:
                task = progress.add_task("re-embedding", total=None)
                with _audited(rt.settings, "rebuild", []) as event:
                    report = rt.ingestor.rebuild(on_source=lambda s, i, n: progress.update(task, completed=i, total=n))
                    event.outcome = ingest_outcome(report.to_dict())
            if paths:
                task = progress.add_task("ingesting", total=None)
                with _audited(rt.settings, "ingest", paths) as event:
                    report_paths = rt.ingestor.ingest(
                        paths, doc_type=doc_type, audiences=audience or None,
                        on_file=lambda r, i, n: progress.update(task, completed=i, total=n, description=Path(r.path).name[:40]),
                    )
                    event.outcome = ingest_outcome(report_paths.to_dict())
                if report is not None:
                    report_paths.files[:0] = report.files
                    report_paths.seconds += report.seconds
                    report_paths.encode_seconds += report.encode_seconds
                report = report_paths
    except KBError as err:
        _fail(err)
    finally:
        rt.close()
    if as_json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        render.ingest_report(console, report)
    raise typer.Exit(1 if report.failed else 0)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="Words, a question, or a citation such as 'POCSO 19(1)'.")],
    act: Annotated[list[str] | None, typer.Option(help="Restrict to an Act (key or name); repeat for several.")] = None,
    doc_type: Annotated[list[str] | None, typer.Option(help="Restrict to document types.")] = None,
    year: Annotated[int | None, typer.Option(help="Restrict to a year of enactment.")] = None,
    top_k: Annotated[int, typer.Option("--top-k", help="Provisions to return.")] = 10,
    as_json: JsonOpt = False,
) -> None:
    """Search provisions (BM25 + dense + fusion). Every hit names its exact provision."""
    from kb.acts import resolve_act
    from kb.retrieval.search import SearchFilters

    rt = _runtime()
    try:
        filters = SearchFilters(acts=[resolve_act(a).key for a in act or []], doc_types=doc_type or [], year=year)
        result = rt.searcher.search(query, filters=filters, top_k=top_k)
    except KBError as err:
        _fail(err)
    finally:
        rt.close()
    if as_json:
        print(json.dumps(render.search_json(result), indent=2, ensure_ascii=False))
    else:
        render.search_table(console, result)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="A question in your own words.")],
    audience: Annotated[str, typer.Option(help="lawyer, police or ngo: changes emphasis, not facts.")] = "lawyer",
    as_json: JsonOpt = False,
) -> None:
    """Answer with the law's own words, each quote cited to its provision; abstains when unsure."""
    rt = _runtime()
    try:
        answer = rt.answerer.ask(question, audience=audience)
    except KBError as err:
        _fail(err)
    finally:
        rt.close()
    if as_json:
        print(json.dumps(render.answer_json(answer), indent=2, ensure_ascii=False))
    else:
        render.answer_text(console, answer)


@app.command()
def show(
    act: Annotated[str, typer.Argument(help="Act key or name, e.g. pocso, 'IT Act'.")],
    section: Annotated[str, typer.Argument(help="Section number, e.g. 19, 67B.")],
    as_json: JsonOpt = False,
) -> None:
    """Print a stored provision in full, with sub-sections, amendment footnotes and cross-references."""
    from kb.acts import find_act

    rt = _runtime()
    try:
        info = find_act(act)
        key = f"{info.key if info else act}:{section.strip()}"
        provision = rt.store.get_provision(key)
        if provision is None:
            _fail(KBError(f"no stored provision {key}"))
        referring = rt.store.referring_provisions(key)
    finally:
        rt.close()
    if as_json:
        print(json.dumps({**provision.to_dict(), "referred_by": referring}, indent=2, ensure_ascii=False))
    else:
        render.provision_text(console, provision, referring)


@app.command()
def acts(as_json: JsonOpt = False) -> None:
    """List the Acts and documents in the store with their section and chunk counts."""
    rt = _runtime()
    try:
        summaries = rt.store.list_acts()
    finally:
        rt.close()
    if as_json:
        print(json.dumps([s.__dict__ for s in summaries], indent=2, ensure_ascii=False))
        return
    table = Table("key", "title", "type", "sections", "chunks")
    for s in summaries:
        table.add_row(s.act_key, s.title, s.doc_type, str(s.sections), str(s.chunks))
    console.print(table)


@app.command()
def check(as_json: JsonOpt = False) -> None:
    """Check the store's integrity: every chunk has its document, FTS and vector rows agree."""
    rt = _runtime()
    try:
        report = rt.store.check()
    finally:
        rt.close()
    if as_json:
        print(json.dumps(report.__dict__, indent=2))
    else:
        console.print(f"sources {report.sources}, provisions {report.provisions}, chunks {report.chunks}")
        for problem in report.problems:
            console.print(f"[red]problem:[/red] {problem}")
        console.print("[green]ok[/green]" if report.ok else "[red]integrity check failed[/red]")
    raise typer.Exit(0 if report.ok else 1)


@app.command()
def migrate(
    to: Annotated[str, typer.Option("--to", help="elasticsearch: copy the embedded store into the cluster; sqlite: copy the cluster back.")],
    batch_size: Annotated[int, typer.Option("--batch-size", help="Chunks copied between two checkpoints.")] = 500,
    restart: Annotated[bool, typer.Option("--restart", help="Ignore the checkpoint of an interrupted run and copy everything.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Copy sources, provisions, chunks and their embeddings to the other store (no re-embedding). Resumable."""
    from kb.stores.migrate import migrate as run_migration, migration_stores

    settings = get_settings()
    try:
        with _audited(settings, "migrate", [f"to {to}"]) as event:
            source, target, label = migration_stores(settings, to)
            event.targets = [f"{label} -> {to}"]
            try:
                with _progress() as progress:
                    task = progress.add_task(f"copying to {to}", total=None)
                    report = run_migration(
                        source, target, source_label=label, identity=settings.index_identity(), batch_chunks=batch_size,
                        restart=restart, on_batch=lambda b: progress.update(task, completed=b.chunks_done, total=b.chunks_total),
                    )
            finally:
                source.close()
                target.close()
            event.outcome = {"status": "ok", **report.to_dict()}
    except KBError as err:
        _fail(err)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        return
    if report.resumed_after:
        console.print(f"resumed after source {report.resumed_after} ({report.sources_skipped} sources already copied)")
    console.print(f"copied {report.sources_copied} of {report.sources_total} sources, {report.provisions_copied} provisions, "
                  f"{report.chunks_copied} chunks with their embeddings in {report.seconds:.1f} s from {report.source}")
    for note in report.notes:
        console.print(f"[yellow]note:[/yellow] {note}")


@app.command(name="eval")
def evaluate(
    questions: Annotated[Path | None, typer.Argument(help="Questions JSONL (id, audience, question, gold ['act:section']).")] = None,
    mode: Annotated[str, typer.Option(help="hybrid (default), bm25 or dense: which retrievers count.")] = "hybrid",
    aila: Annotated[Path | None, typer.Option(help="Run the AILA-2019 statute task from this dataset folder instead.")] = None,
    no_answers: Annotated[bool, typer.Option("--no-answers", help="Skip answer composition (retrieval metrics only).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Measure hit@1/@5, recall@5, MRR, nDCG@10 (overall, per audience), abstention and citation validity."""
    settings = get_settings()
    if aila is not None:
        from kb.evaluation.aila import run_aila

        try:
            report = run_aila(aila, settings)
        except KBError as err:
            _fail(err)
        print(json.dumps(report, indent=2)) if as_json else render.aila_report(console, report)
        return
    if questions is None:
        _fail(KBError("give a questions file, or --aila DIR"))
    from kb.evaluation.dev import evaluate as run_eval, load_questions

    settings = _mode_settings(settings, mode)
    rt = Runtime.open(settings)
    try:
        report = run_eval(load_questions(questions), rt.searcher, None if no_answers else rt.answerer)
    except KBError as err:
        _fail(err)
    finally:
        rt.close()
    if as_json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        render.eval_report(console, report)


def _mode_settings(settings, mode: str):
    if mode not in ("hybrid", "bm25", "dense"):
        _fail(KBError(f"--mode must be hybrid, bm25 or dense, got {mode!r}"))
    if mode == "hybrid":
        return settings
    weights = {"bm25_weight": 1.0, "dense_weight": 0.0} if mode == "bm25" else {"bm25_weight": 0.0, "dense_weight": 1.0}
    retrieval = settings.retrieval.model_copy(update={**weights, "heading_weight": 0.0, "intent_weight": 0.0})
    return settings.model_copy(update={"retrieval": retrieval})


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default: api.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default: api.port).")] = None,
    index_corpus: Annotated[bool | None, typer.Option(
        "--index-corpus/--no-index-corpus",
        help="Index corpus/ first when the store is empty (default: api.index_corpus_on_start).")] = None,
    workers: Annotated[int | None, typer.Option(min=1, max=64, help="Server processes (default: api.workers).")] = None,
) -> None:
    """Serve the search page and the HTTP API; an empty store is first filled from the starter corpus."""
    import uvicorn

    from api.app import create_app

    settings = get_settings()
    rt = _runtime()
    try:
        if settings.api.index_corpus_on_start if index_corpus is None else index_corpus:
            index_corpus_if_empty(rt, Path(settings.corpus_dir))
        bind_host, bind_port = host or settings.api.host, port or settings.api.port
        processes = workers or settings.api.workers
        err_console.print(f"serving http://{bind_host}:{bind_port}/  (API reference: http://{bind_host}:{bind_port}/docs)"
                          + (f", {processes} processes" if processes > 1 else ""))
        if processes > 1:
            # Each process builds its own app from the same settings (the environment) and opens the store.
            rt.close()
            uvicorn.run("api.app:create_app", factory=True, host=bind_host, port=bind_port, workers=processes,
                        log_level=settings.log_level.lower())
            return
        rt.limit_threads(settings.api.request_threads)  # after indexing, which uses every core
        uvicorn.run(create_app(settings, runtime=rt), host=bind_host, port=bind_port,
                    log_level=settings.log_level.lower())
    except KBError as err:
        _fail(err)
    finally:
        rt.close()


def index_corpus_if_empty(rt: Runtime, corpus: Path):
    """Index ``corpus`` when the store holds nothing yet; returns the report, or None when skipped."""
    if rt.store.count_documents() > 0:
        return None
    if not corpus.is_dir():
        err_console.print(f"[yellow]warning:[/yellow] the store is empty and the corpus folder {corpus} does not exist")
        return None
    # The manifest of official sources describes documents; it is not one.
    paths = sorted(p for p in corpus.iterdir() if p.name != MANIFEST and not p.name.startswith("."))
    with _progress() as progress, _audited(rt.settings, "ingest", paths) as event:
        task = progress.add_task("indexing the starter corpus", total=None)
        report = rt.ingestor.ingest(
            paths, on_file=lambda r, i, n: progress.update(task, completed=i, total=n, description=Path(r.path).name[:40]),
        )
        event.outcome = ingest_outcome(report.to_dict())
    counts = report.counts()
    err_console.print(f"indexed {corpus}: documents {counts['ingested']}, provisions {report.provisions}, "
                      f"chunks {report.chunks}, failed {counts['failed']}, {report.seconds:.1f} s")
    for failed in report.failed:
        err_console.print(f"[red]failed:[/red] {escape(failed.path)}: {escape(failed.reason or '')}")
    return report


@app.command()
def documents(
    offset: Annotated[int, typer.Option(min=0, help="Documents to skip.")] = 0,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Documents to list.")] = 100,
    as_json: JsonOpt = False,
) -> None:
    """List the stored documents: id, type, title, provisions and chunks."""
    rt = _runtime()
    try:
        total = rt.store.count_sources()
        records = rt.store.list_sources(offset=offset, limit=limit)
    finally:
        rt.close()
    if as_json:
        print(json.dumps({"total": total, "offset": offset, "documents": [r.to_dict() for r in records]},
                         indent=2, ensure_ascii=False))
        return
    table = Table("id", "type", "title", "provisions", "chunks")
    for r in records:
        table.add_row(r.doc_id[:12], r.doc_type, escape(r.title), str(r.n_provisions), str(r.n_chunks))
    console.print(table)
    console.print(f"{len(records)} of {total} documents")


@app.command()
def delete(
    doc_id: Annotated[str, typer.Argument(help="Document id, or a unique prefix of at least 8 characters (see `kb documents`).")],
    as_json: JsonOpt = False,
) -> None:
    """Delete a stored document with its provisions and chunks."""
    from kb.errors import NotFoundError

    rt = _runtime()
    try:
        with _audited(rt.settings, "delete", [doc_id]) as event:
            with rt.store.writer_lock(timeout_s=rt.settings.store.busy_timeout_ms / 1000):
                record = _find_document(rt, doc_id)
                if record is None or not rt.store.delete_source(record.doc_id):
                    raise NotFoundError(f"no stored document {doc_id!r}", doc_id=doc_id)
            event.targets = [record.doc_id]  # a prefix was given: record the document it named
            event.outcome = {"status": "deleted", "title": record.title}
    except KBError as err:
        _fail(err)
    finally:
        rt.close()
    if as_json:
        print(json.dumps({"deleted": record.doc_id, "title": record.title}, ensure_ascii=False))
    else:
        console.print(f"deleted {record.doc_id[:12]} {escape(record.title)}")


def _find_document(rt: Runtime, doc_id: str):
    record = rt.store.get_source(doc_id)
    if record is not None or len(doc_id) < 8:
        return record
    matches, offset = [], 0
    while batch := rt.store.list_sources(offset=offset, limit=500):
        matches.extend(r for r in batch if r.doc_id.startswith(doc_id))
        offset += len(batch)
    if len(matches) > 1:
        raise KBError(f"{doc_id!r} matches {len(matches)} documents; give more characters", doc_id=doc_id)
    return matches[0] if matches else None


ManifestOpt = Annotated[Path | None, typer.Option(help="Sources manifest (default: <corpus_dir>/sources.toml).")]


@corpus_app.command("list")
def corpus_list(manifest: ManifestOpt = None, as_json: JsonOpt = False) -> None:
    """List the official sources: key, doc_type, audiences, URL and whether the URL is verified."""
    from api import corpus_cmd
    from ingest.manifest import load_manifest

    settings = get_settings()
    try:
        sources = load_manifest(manifest or corpus_cmd.default_manifest(settings))
    except KBError as err:
        _fail(err)
    corpus_cmd.print_sources(console, sources, as_json)


@corpus_app.command("fetch")
def corpus_fetch(
    only: Annotated[list[str] | None, typer.Option("--only", help="Fetch only this source key; repeat for several.")] = None,
    dest: Annotated[Path | None, typer.Option(help="Download folder (default: <data_dir>/sources).")] = None,
    no_ingest: Annotated[bool, typer.Option("--no-ingest", help="Download only; do not index the files.")] = False,
    manifest: ManifestOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Download the official sources (checked URLs, size and type limits, unchanged files skipped), then index them."""
    from api import corpus_cmd

    settings = get_settings()
    try:
        report = corpus_cmd.fetch(settings, manifest=manifest or corpus_cmd.default_manifest(settings),
                                  dest=dest or corpus_cmd.default_dest(settings), only=only, progress=_progress)
    except KBError as err:
        _fail(err)
    ingested, warnings = None, []
    if not no_ingest and report.available:
        rt = _runtime()
        try:
            with _audited(settings, "ingest", [r.path for r in report.available]) as event:
                ingested = corpus_cmd.ingest_fetched(rt.ingestor, report, _progress)
                event.outcome = ingest_outcome(ingested.to_dict())
            warnings = corpus_cmd.identity_warnings(report, ingested)
        except KBError as err:
            _fail(err)
        finally:
            rt.close()
    if as_json:
        print(corpus_cmd.to_json(report, ingested, warnings))
    else:
        corpus_cmd.print_fetch(console, report)
        corpus_cmd.print_ingest(console, ingested, warnings)
    raise typer.Exit(1 if report.failed or (ingested and ingested.failed) else 0)


def main() -> None:  # pragma: no cover - entry point
    try:
        app()
    except KBError as err:
        err_console.print(f"[red]error:[/red] {err}")
        sys.exit(2)
