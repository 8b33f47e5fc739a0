"""``GET /documents`` (paginated), ``GET /documents/{doc_id}``, ``DELETE /documents/{doc_id}``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam

from api import render
from api.deps import AuditorDep, RuntimeDep, SettingsDep, require_read_key
from api.errors import error_responses
from api.schemas import DeleteResponse, DocumentDetail, DocumentOut, DocumentsPage, ProvisionSummary
from kb.errors import NotFoundError
from kb.models import SourceRecord
from kb.settings import Settings

router = APIRouter(tags=["documents"], responses=error_responses(401, 403, 503))
read = [Depends(require_read_key)]
DocId = Annotated[str, PathParam(min_length=1, max_length=128, description="The document's id (sha256 of its text).")]


def path_roots(settings: Settings) -> list[tuple[Path, str]]:
    return [(settings.corpus_dir, "corpus"), (settings.data_dir, "data")]


def document_out(record: SourceRecord, settings: Settings) -> dict:
    data = record.to_dict()
    data["paths"] = [render.display_path(p, path_roots(settings)) for p in record.paths]
    return data


@router.get("/documents", response_model=DocumentsPage, dependencies=read, summary="Stored documents")
def list_documents(
    runtime: RuntimeDep,
    settings: SettingsDep,
    offset: Annotated[int, Query(ge=0, description="Documents to skip.")] = 0,
    limit: Annotated[int, Query(ge=1, le=500, description="Documents per page.")] = 50,
) -> DocumentsPage:
    """Source documents in the store, one per distinct content, with every path it was indexed from."""
    store = runtime.store
    total = store.count_sources()
    records = store.list_sources(offset=offset, limit=limit)
    end = offset + len(records)
    return DocumentsPage(total=total, offset=offset, limit=limit, next_offset=end if records and end < total else None,
                         documents=[DocumentOut.model_validate(document_out(r, settings)) for r in records])


def _record(runtime, doc_id: str) -> SourceRecord:
    record = runtime.store.get_source(doc_id)
    if record is None:
        raise NotFoundError(f"no stored document {doc_id!r}", doc_id=doc_id)
    return record


@router.get("/documents/{doc_id}", response_model=DocumentDetail, dependencies=read,
            responses=error_responses(404), summary="One stored document")
def get_document(runtime: RuntimeDep, settings: SettingsDep, doc_id: DocId) -> DocumentDetail:
    """A stored document and the provisions taken from it."""
    record = _record(runtime, doc_id)
    provisions = [
        ProvisionSummary(provision_key=p.key, citation=p.locator.citation(), heading=p.locator.heading, status=p.status)
        for p in runtime.store.provisions_of_source(doc_id)
    ]
    return DocumentDetail.model_validate({**document_out(record, settings), "provisions": provisions})


@router.delete("/documents/{doc_id}", response_model=DeleteResponse, responses=error_responses(404),
               summary="Delete a document (needs the API key)")
def delete_document(runtime: RuntimeDep, settings: SettingsDep, doc_id: DocId, auditor: AuditorDep) -> DeleteResponse:
    """Removes the document with its provisions and chunks, in one transaction. The deletion (or
    the attempt) is recorded in the audit log."""
    store = runtime.store
    with auditor.record("delete", targets=[doc_id]) as event:
        with store.writer_lock(timeout_s=settings.store.busy_timeout_ms / 1000):
            record = _record(runtime, doc_id)
            if not store.delete_source(doc_id):
                raise NotFoundError(f"no stored document {doc_id!r}", doc_id=doc_id)
        event.outcome = {"status": "deleted", "title": record.title}
    return DeleteResponse(deleted=doc_id, title=record.title)
