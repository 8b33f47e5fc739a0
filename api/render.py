"""Turning results into JSON-ready dicts and terminal output (shared by CLI and HTTP app)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from kb.models import Answer, Citation, GeneratedSentence, Hit, Provision


def hit_json(hit: Hit) -> dict[str, Any]:
    loc = hit.locator
    return {
        "provision_key": hit.provision_key,
        "act_key": loc.act_key,
        "act_title": loc.act_title,
        "section": loc.section,
        "subsection": loc.subsection,
        "pinpoint": loc.pinpoint,
        "heading": loc.heading,
        "heading_path": list(loc.heading_path),
        "doc_type": loc.doc_type,
        "citation": hit.citation,
        "page": loc.page,
        "char_start": loc.char_start,
        "char_end": loc.char_end,
        "score": hit.score,
        "signals": hit.signals,
        "passage": hit.passage,
        "source": {"file": loc.source_file, "url": loc.source_url},
    }


def plan_json(plan: Any) -> dict[str, Any]:
    return plan.to_dict() if hasattr(plan, "to_dict") else {}


def search_json(result: Any) -> dict[str, Any]:
    return {
        "query": result.query,
        "total": result.total,
        "offset": result.offset,
        "top_k": result.top_k,
        "act_filter_detected": result.act_filter_applied,
        "understood": plan_json(result.plan),
        "hits": [hit_json(h) for h in result.hits],
    }


def citation_json(citation: Citation) -> dict[str, Any]:
    loc = citation.locator
    return {
        "provision_key": citation.provision_key,
        "citation": citation.text,
        "act_key": loc.act_key,
        "act_title": loc.act_title,
        "section": loc.section,
        "heading": loc.heading,
        "page": loc.page,
        "doc_type": loc.doc_type,
        "source": {"file": loc.source_file, "url": loc.source_url},
        "score": citation.score,
        "quotes": [
            {"text": q.text, "char_start": q.char_start, "char_end": q.char_end, "subsection": q.subsection,
             "citation": loc.narrowed(subsection=q.subsection).citation(with_page=True) if q.subsection else citation.text}
            for q in citation.quotes
        ],
    }


def generated_sentence_json(sentence: GeneratedSentence) -> dict[str, Any]:
    return {
        "text": sentence.text,
        "evidence_ids": list(sentence.evidence_ids),
        "supported": sentence.supported,
        "citations": [citation_json(c) for c in sentence.citations],
    }


def answer_json(answer: Answer) -> dict[str, Any]:
    return {
        "question": answer.question,
        "audience": answer.audience,
        "abstained": answer.abstained,
        "generated": answer.generated,
        "generated_sentences": [generated_sentence_json(s) for s in answer.generated_sentences],
        "generated_dropped": answer.generated_dropped,
        "summary": answer.summary,
        "steps": answer.steps,
        "notes": answer.notes,
        "expansions": answer.expansions,
        "citations": [citation_json(c) for c in answer.citations],
        "related": [citation_json(c) for c in answer.related],
        "nearest": [hit_json(h) for h in answer.nearest],
    }


def search_table(console: Console, result: Any) -> None:
    if not result.hits:
        console.print("No provision found.")
        return
    notes = getattr(result.plan, "notes", None) or []
    for note in notes:
        console.print(f"[yellow]{escape(note)}[/yellow]")
    table = Table("#", "citation", "heading", "score", "passage", show_lines=True)
    for i, hit in enumerate(result.hits, start=result.offset + 1):
        passage = hit.passage if len(hit.passage) < 300 else hit.passage[:297] + "..."
        table.add_row(str(i), escape(hit.citation), escape(hit.locator.heading or ""), f"{hit.score:.4f}", escape(passage))
    console.print(table)


def answer_text(console: Console, answer: Answer) -> None:
    console.print(f"[bold]{escape(answer.summary)}[/bold]")
    for note in answer.notes:
        console.print(f"[yellow]{escape(note)}[/yellow]")
    if answer.expansions:
        console.print(f"[dim]Also searched for: {escape(', '.join(answer.expansions))}[/dim]")
    for i, step in enumerate(answer.steps, start=1):
        console.print(f"{i}. {escape(step)}")
    for sentence in answer.generated_sentences:
        if sentence.supported:
            ids = "".join(f"[{i}]" for i in sentence.evidence_ids)
            console.print(f"{escape(sentence.text)} [cyan]{escape(ids)}[/cyan]")
        else:
            console.print(f"[red](unsupported)[/red] {escape(sentence.text)}")
    if answer.generated_sentences:
        console.print("\n[bold]Evidence[/bold] (numbered in the order quoted below)")
    for citation in answer.citations:
        console.print(f"\n[bold cyan]{escape(citation.text)}[/bold cyan] — {escape(citation.locator.heading or '')}")
        for quote in citation.quotes:
            label = f"{quote.subsection} " if quote.subsection else ""
            console.print(f"  {escape(label)}“{escape(quote.text)}”")
    if answer.related:
        console.print("\n[bold]Related provisions[/bold]")
        for citation in answer.related:
            console.print(f"  {escape(citation.text)} — {escape(citation.locator.heading or '')}")
    if answer.abstained and answer.nearest:
        console.print("\n[bold]Nearest matches (not an answer)[/bold]")
        for hit in answer.nearest:
            console.print(f"  {escape(hit.citation)} — {escape(hit.locator.heading or '')}")


def provision_text(console: Console, provision: Provision, referring: list[str]) -> None:
    loc = provision.locator
    console.print(f"[bold]{escape(loc.citation(with_page=True))}[/bold] — {escape(loc.heading or '')}")
    if provision.status != "in_force":
        console.print(f"[yellow]status: {provision.status}[/yellow]")
    console.print(escape(provision.text))
    if provision.footnotes:
        console.print("\n[bold]Amendment history[/bold]")
        for note in provision.footnotes:
            console.print(f"  {escape(note)}")
    if provision.cross_refs:
        console.print(f"\nRefers to: {', '.join(provision.cross_refs)}")
    if referring:
        console.print(f"Referred to by: {', '.join(referring)}")


def ingest_report(console: Console, report: Any) -> None:
    table = Table("file", "status", "provisions", "chunks", "seconds", "reason")
    for f in report.files:
        if f.status == "unchanged" and len(report.files) > 40:
            continue
        style = "red" if f.status == "failed" else None
        table.add_row(escape(f.path[-70:]), f.status, str(f.provisions), str(f.chunks), f"{f.seconds:.2f}",
                      escape(f.reason or ""), style=style)
    console.print(table)
    counts = report.counts()
    secs = max(report.seconds, 1e-9)
    console.print(
        "  ".join(f"{k}: {v}" for k, v in counts.items())
        + f"  provisions: {report.provisions}  chunks: {report.chunks}  seconds: {report.seconds:.1f}"
        + f"  chunks/s: {report.chunks / secs:.1f}"
    )


def eval_report(console: Console, report: dict[str, Any]) -> None:
    table = Table("scope", "n", "hit@1", "hit@5", "recall@5", "MRR", "nDCG@10")
    def row(name: str, m: dict[str, float], n: int | str) -> None:
        table.add_row(name, str(n), *(f"{m.get(k, 0):.3f}" for k in ("hit@1", "hit@5", "recall@5", "mrr", "ndcg@10")))
    row("overall", report["overall"], sum(1 for q in report["per_question"] if q["gold"]))
    for audience, m in report["per_audience"].items():
        row(audience, m, sum(1 for q in report["per_question"] if q["audience"] == audience and q["gold"]))
    console.print(table)
    via = report.get("via_guides") or {}
    if via:
        console.print(f"counting guide sections that cite the gold provision: hit@5 {via['hit@5']:.3f}  MRR {via['mrr']:.3f}")
    if report.get("abstention_accuracy") is not None:
        console.print(f"abstention accuracy: {report['abstention_accuracy']:.3f}   "
                      f"citation validity: {report['citation_validity']:.3f} ({report['citations_checked']} citations)")
    misses = [q for q in report["per_question"] if q["gold"] and q.get("hit@5", 0) == 0]
    for q in misses:
        console.print(f"[red]miss[/red] {q['id']} {escape(q['question'])} gold={q['gold']} got={q['ranked']}")


def aila_report(console: Console, report: dict[str, Any]) -> None:
    table = Table("run", "nDCG@10 (all 50)", "P@10", "MAP", "nDCG@10 held-out Q11-50")
    for name, m in report["runs"].items():
        held_out = m.get("ndcg@10_test_q11_50")
        table.add_row(name, f"{m['ndcg@10']:.4f}", f"{m['p@10']:.4f}", f"{m['map']:.4f}",
                      f"{held_out:.4f}" if held_out is not None else "")
    console.print(table)
    console.print(f"queries: {report['queries']}, statutes: {report['statutes']}, relevant pairs: {report['relevant_pairs']}")


# --- HTTP views (also usable by the CLI's --json output) -----------------------------------
def understood_json(result: Any) -> dict[str, Any]:
    """What search made of the query: expansions, concordance notes, detected act, cited provisions."""
    plan = result.plan
    cited = []
    for ref in getattr(plan, "citations", None) or []:
        key = getattr(ref, "provision_key", None)
        if key and key not in cited:
            cited.append(key)
    return {
        "expansions": list(getattr(plan, "expansions", None) or []),
        "notes": list(getattr(plan, "notes", None) or []),
        "act_filter": result.act_filter_applied,
        "cited": cited,
        "detail": plan_json(plan),
    }


def provision_ref_json(key: str, provision: Provision | None) -> dict[str, Any]:
    """A reference to another provision; ``exists`` says whether it is stored and can be opened."""
    act_key, _, section = key.partition(":")
    if provision is not None:
        return {"key": key, "citation": provision.locator.citation(), "heading": provision.locator.heading,
                "exists": True, "act_key": provision.locator.act_key, "section": provision.locator.section}
    # Not stored: name it with the Act's short name and the section the referring text gave.
    from kb.acts import find_act

    info = find_act(act_key)
    citation = f"{info.short_name}, s. {section}" if info and section else None
    return {"key": key, "citation": citation, "heading": None, "exists": False,
            "act_key": act_key or None, "section": section or None}


def provision_json(provision: Provision, *, cross_refs: dict[str, Provision | None],
                   referred_by: dict[str, Provision | None], focus: str | None = None) -> dict[str, Any]:
    loc = provision.locator
    return {
        "provision_key": provision.key,
        "act_key": loc.act_key,
        "act_title": loc.act_title,
        "short_name": loc.short_name,
        "year": loc.year,
        "section": loc.section,
        "heading": loc.heading,
        "citation": loc.citation(),
        "doc_type": loc.doc_type,
        "status": provision.status,
        "part": loc.part,
        "chapter": loc.chapter,
        "page": loc.page,
        "source": {"file": loc.source_file, "url": loc.source_url},
        "focus": focus,
        "text": provision.text,
        "subunits": [
            {"path": u.path, "kind": u.kind, "char_start": u.char_start, "char_end": u.char_end,
             "text": provision.text[u.char_start:u.char_end], "citation": loc.narrowed(subsection=u.path).citation()}
            for u in provision.subunits
        ],
        "footnotes": list(provision.footnotes),
        "cross_refs": [provision_ref_json(k, p) for k, p in cross_refs.items()],
        "referred_by": [provision_ref_json(k, p) for k, p in referred_by.items()],
    }


def display_path(path: str | None, roots: list[tuple[Any, str]]) -> str | None:
    """A stored path without the server's directory layout: ``corpus/guides/x.md``, else the base name.

    ``roots`` are (folder, label) pairs, e.g. ``[(settings.corpus_dir, "corpus")]``."""
    if not path:
        return path
    from pathlib import Path

    candidate = Path(path)
    for root, label in roots:
        try:
            return f"{label}/{candidate.resolve().relative_to(Path(root).resolve()).as_posix()}"
        except ValueError:
            continue
    return candidate.name


def public_sources(body: Any, roots: list[tuple[Any, str]]) -> Any:
    """Rewrite every ``{"source": {"file": ...}}`` in a JSON-ready body with :func:`display_path`."""
    if isinstance(body, dict):
        source = body.get("source")
        if isinstance(source, dict) and "file" in source:
            body["source"] = {**source, "file": display_path(source["file"], roots)}
        for value in body.values():
            public_sources(value, roots)
    elif isinstance(body, list):
        for item in body:
            public_sources(item, roots)
    return body
