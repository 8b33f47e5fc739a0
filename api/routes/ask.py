"""``POST /ask``: an answer made of the law's own words, each quote cited to its provision."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Response

from api import render
from api.deps import RuntimeDep, SettingsDep, require_read_key
from api.errors import error_responses
from api.routes.documents import path_roots
from api.routes.search import cached_or_computed, to_filters
from api.schemas import AnswerResponse, AskRequest
from kb.errors import QueryError

router = APIRouter(tags=["ask"], dependencies=[Depends(require_read_key)], responses=error_responses(401, 403, 409, 422, 503))


@router.post("/ask", response_model=AnswerResponse, summary="Answer a question with cited quotes")
async def ask(runtime: RuntimeDep, response: Response, settings: SettingsDep,
              request: Annotated[AskRequest, Body()]) -> AnswerResponse:  # fmt: skip
    """Quotes the provisions that answer the question, verbatim, with their sub-section and span.

    The audience changes emphasis, never the facts: police get numbered steps (duties and time
    limits), NGO staff a plain framing, lawyers the provisions and related provisions. When no
    stored provision answers, `abstained` is true and `nearest` lists near misses (not an answer)."""
    limit = settings.api.max_query_chars
    length = len(request.question.strip())
    if length == 0:
        raise QueryError("question is empty", field="question")
    if length > limit:
        raise QueryError(f"question is {length} characters; the limit is {limit}", field="question", limit=limit)
    answerer, filters = runtime.answerer, to_filters(request.filters)
    answer = await cached_or_computed(
        response, lambda: answerer.cached(request.question, audience=request.audience, filters=filters),
        lambda: answerer.ask(request.question, audience=request.audience, filters=filters))
    return AnswerResponse.model_validate(render.public_sources(render.answer_json(answer), path_roots(settings)))
