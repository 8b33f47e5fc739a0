"""``GET /health`` (is the service usable) and ``GET /stats`` (what is stored)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from api.deps import RuntimeDep, SettingsDep, require_read_key
from api.errors import error_responses
from api.schemas import ActOut, DocTypeCount, HealthResponse, StatsResponse
from ingest.pipeline import IDENTITY_KEY
from kb.errors import StoreError

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthResponse, summary="Service health",
            responses={503: {"model": HealthResponse, "description": "The store cannot be reached."}})
def health(runtime: RuntimeDep, settings: SettingsDep):
    """Store reachable, model loaded, document count, index identity and whether it is stale.

    Status `degraded` means the index was built with other settings (rebuild with
    `kb ingest --rebuild`); `unavailable` (HTTP 503) means the store cannot be read."""
    identity = settings.index_identity()
    store = {"reachable": True, "backend": settings.store.backend, "error": None}
    documents = chunks = 0
    stored = None
    try:
        documents = runtime.store.count_sources()
        chunks = runtime.store.count_documents()
        stored = runtime.store.get_meta(IDENTITY_KEY)
    except StoreError as err:
        store.update(reachable=False, error=err.message)
    stale = stored is not None and stored != identity and chunks > 0
    status = "unavailable" if not store["reachable"] else "degraded" if stale else "ok"
    body = HealthResponse(
        status=status, store=store, model={"loaded": runtime.encoder.is_warm, "name": settings.embedding.model},
        documents=documents, chunks=chunks, index={"identity": identity, "stored": stored, "stale": stale},
    )
    if status == "unavailable":
        return JSONResponse(body.model_dump(), status_code=503)
    return body


@router.get("/stats", response_model=StatsResponse, dependencies=[Depends(require_read_key)],
            responses=error_responses(401, 403, 503), summary="Counts by act and document type")
def stats(runtime: RuntimeDep) -> StatsResponse:
    """How many sources, sections and chunks are stored, per Act and per document type."""
    store = runtime.store
    acts = store.list_acts()
    by_type: dict[str, dict[str, int]] = {}
    for act in acts:
        row = by_type.setdefault(act.doc_type, {"sources": 0, "sections": 0, "chunks": 0})
        row["sections"] += act.sections
        row["chunks"] += act.chunks
    offset = 0
    while batch := store.list_sources(offset=offset, limit=500):
        for source in batch:
            by_type.setdefault(source.doc_type, {"sources": 0, "sections": 0, "chunks": 0})["sources"] += 1
        offset += len(batch)
    return StatsResponse(
        sources=store.count_sources(), chunks=store.count_documents(), sections=sum(a.sections for a in acts),
        by_act=[ActOut(**a.__dict__) for a in acts],
        by_doc_type={k: DocTypeCount(**v) for k, v in sorted(by_type.items())},
    )
