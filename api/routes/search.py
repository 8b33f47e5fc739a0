"""``GET /search`` and ``POST /search``: provisions ranked for a query, with offset pagination."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Body, Depends, Query, Response
from fastapi.concurrency import run_in_threadpool

from api import render
from api.deps import RuntimeDep, SettingsDep, require_read_key
from api.errors import error_responses
from api.runtime import Runtime
from api.routes.documents import path_roots
from api.schemas import Audience, DocType, SearchFiltersIn, SearchRequest, SearchResponse
from kb.acts import find_act
from kb.errors import QueryError
from kb.models import DOC_TYPES
from kb.retrieval.search import SearchFilters, SearchResult
from kb.settings import Settings

router = APIRouter(tags=["search"], dependencies=[Depends(require_read_key)], responses=error_responses(401, 403, 409, 422, 503))


def to_filters(filters: SearchFiltersIn) -> SearchFilters:
    """API filters -> kb filters; an Act given by name or alias becomes its key."""
    acts = []
    for name in filters.acts:
        info = find_act(name)
        if info is None:
            raise QueryError(f"unknown act {name!r}; GET /acts lists the stored ones", field="act", value=name)
        if info.key not in acts:
            acts.append(info.key)
    return SearchFilters(acts=acts, doc_types=list(filters.doc_types), audience=filters.audience, year=filters.year)


CACHE_HEADER = "X-KB-Cache"
T = TypeVar("T")


async def cached_or_computed(response: Response, cached: Callable[[], T | None], compute: Callable[[], T]) -> T:
    """A remembered result at once, on the event loop; else ``compute`` in the request thread pool,
    where at most ``api.concurrent_requests`` run at a time. Repeats thus never queue behind work
    that needs the CPU. The ``X-KB-Cache`` header says which it was (``hit``/``miss``)."""
    result = cached()
    response.headers[CACHE_HEADER] = "miss" if result is None else "hit"
    return result if result is not None else await run_in_threadpool(compute)


async def search_once(runtime: Runtime, response: Response, query: str, filters: SearchFilters, top_k: int | None,
                      offset: int) -> SearchResult:  # fmt: skip
    searcher = runtime.searcher
    return await cached_or_computed(response, lambda: searcher.cached(query, filters=filters, top_k=top_k, offset=offset),
                                    lambda: searcher.search(query, filters=filters, top_k=top_k, offset=offset))


def search_response(result: SearchResult, settings: Settings) -> SearchResponse:
    body = render.public_sources(render.search_json(result), path_roots(settings))
    end = result.offset + len(result.hits)
    return SearchResponse(
        query=body["query"], total=body["total"], offset=body["offset"], top_k=body["top_k"],
        next_offset=end if result.hits and end < result.total else None,
        understood=render.understood_json(result), hits=body["hits"],
    )


@router.get("/search", response_model=SearchResponse, summary="Search provisions")
async def search_get(
    runtime: RuntimeDep,
    response: Response,
    settings: SettingsDep,
    q: Annotated[str, Query(min_length=1, description="Words, a question, or a citation such as `POCSO 19(1)`.",
                            openapi_examples={"question": {"value": "who must report sexual abuse of a child"},
                                              "citation": {"value": "POCSO 19(1)"},
                                              "old code": {"value": "IPC 354D stalking"}})],
    act: Annotated[list[str], Query(max_length=20, description="Act key or name; repeat for several (any of).",
                                    openapi_examples={"pocso": {"value": ["pocso"]}})] = [],  # noqa: B006 - FastAPI copies defaults
    doc_type: Annotated[list[DocType], Query(max_length=len(DOC_TYPES), description="Document type; repeat for several.")] = [],  # noqa: B006
    audience: Annotated[Audience | None, Query(description="Only documents written for this audience.")] = None,
    year: Annotated[int | None, Query(ge=1800, le=2100, description="Year of enactment.")] = None,
    top_k: Annotated[int | None, Query(ge=1, description="Provisions per page (at most retrieval.max_top_k).")] = None,
    offset: Annotated[int, Query(ge=0, le=10_000, description="Hits to skip.")] = 0,
) -> SearchResponse:
    """Hybrid search (BM25 + dense + heading match, fused). Every hit names its exact provision.

    Page with `offset`: the next page starts at `next_offset` (null on the last page)."""
    filters = SearchFiltersIn(acts=act, doc_types=doc_type, audience=audience, year=year)
    return search_response(await search_once(runtime, response, q, to_filters(filters), top_k, offset), settings)


@router.post("/search", response_model=SearchResponse, summary="Search provisions (JSON body)")
async def search_post(runtime: RuntimeDep, response: Response, settings: SettingsDep,
                      request: Annotated[SearchRequest, Body()]) -> SearchResponse:  # fmt: skip
    """The same search as `GET /search`, with filters in a JSON body."""
    result = await search_once(runtime, response, request.query, to_filters(request.filters), request.top_k, request.offset)
    return search_response(result, settings)
