"""``POST /ingest``: upload files and index them with the same :class:`~ingest.pipeline.Ingestor`
as ``kb ingest`` (without pruning: an upload never removes other documents)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile

from api.deps import AuditorDep, RuntimeDep, SettingsDep
from api.errors import error_responses
from api.schemas import Audience, DocType, IngestResponse
from api.uploads import UploadBatch, upload_batch
from ingest.frontmatter import is_sidecar
from ingest.pipeline import FileResult, IngestReport
from kb.audit import ingest_outcome
from kb.errors import QueryError

router = APIRouter(tags=["ingest"], responses=error_responses(401, 403, 409, 413, 422, 503))


@router.post("/ingest", response_model=IngestResponse, summary="Upload and index files (needs the API key)")
def ingest(
    runtime: RuntimeDep,
    settings: SettingsDep,
    auditor: AuditorDep,
    files: Annotated[list[UploadFile], File(description="Markdown, PDF, HTML, DOCX or text files; `NAME.meta.toml` "
                                                        "sidecars add metadata to the file NAME.")],
    doc_type: Annotated[DocType | None, Form(description="doc_type for every file (overrides file metadata).")] = None,
    audience: Annotated[list[Audience] | None, Form(description="Audience; repeat for several.")] = None,
) -> IngestResponse:
    """Indexes each uploaded file in its own transaction and reports per file. Files are saved
    under safe names in a temporary folder inside the data directory; names with `..`, absolute
    paths or control characters are refused (reported as failed). Total size is limited by
    api.max_upload_bytes (413). The upload is recorded in the audit log with each file's outcome."""
    with auditor.record("ingest", targets=[f.filename or "" for f in files or []]) as event:
        if not files:
            raise QueryError("no files were uploaded", field="files")
        if len(files) > settings.ingest.max_files:
            raise QueryError(f"{len(files)} files uploaded; the limit is {settings.ingest.max_files}", field="files")
        with upload_batch(settings.data_dir / "uploads", settings.api.max_upload_bytes) as batch:
            for upload in files:
                batch.add(upload.filename, upload.file)
            report = _run(runtime, batch, doc_type=doc_type, audiences=audience or None)
        event.outcome = ingest_outcome(report)
    return IngestResponse.model_validate(report)


def _run(runtime, batch: UploadBatch, *, doc_type: str | None, audiences: list[str] | None) -> dict:
    documents = [u for u in batch.saved if u.path is not None and not is_sidecar(u.path)]
    refused = [FileResult(u.original, "failed", reason=u.error) for u in batch.saved if u.path is None]
    if documents:
        report = runtime.ingestor.ingest([u.path for u in documents], doc_type=doc_type, audiences=audiences, prune=False)
    else:
        report = IngestReport()
    # Report the names the client sent, not where the server put the copies.
    names = {str(u.path.resolve()): u.original for u in documents}
    names.update({str(u.path): u.original for u in documents})
    for result in report.files:
        result.path = names.get(result.path, result.path.rsplit("/", 1)[-1])
    report.files.extend(refused)
    return report.to_dict()
