"""The one place where errors become HTTP responses.

Every error the service returns has the same body, whatever raised it:

    {"error": {"code": "invalid_query", "message": "query is 2500 characters; the limit is 2000", "field": "query"}}

``code`` is stable (clients branch on it), ``message`` is for people, ``field`` names the request
parameter at fault when there is one. Domain errors (:class:`~kb.errors.KBError` subclasses) are
mapped by :data:`STATUS_BY_ERROR`; the most specific class in an error's MRO wins.

    >>> status_for(StoreBusyError("locked"))
    503
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.schemas import ErrorResponse
from kb.errors import (
    CitationError,
    ConfigError,
    FetchError,
    GeneratorError,
    IngestError,
    KBError,
    NotFoundError,
    QueryError,
    StaleIndexError,
    StoreBusyError,
    StoreError,
)

log = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type[KBError], int] = {
    QueryError: 422,
    CitationError: 422,
    IngestError: 422,
    NotFoundError: 404,
    StaleIndexError: 409,
    StoreBusyError: 503,
    StoreError: 503,
    FetchError: 502,
    GeneratorError: 502,
    ConfigError: 500,
    KBError: 400,
}

# Codes for errors raised by the HTTP layer itself (routing, auth, body limits).
CODE_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    503: "unavailable",
}


class ApiError(StarletteHTTPException):
    """An error decided by the HTTP layer (auth, limits) with a stable code and the field at fault."""

    def __init__(self, status_code: int, code: str, message: str, *, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code=status_code, detail=message, headers=headers)
        self.code = code
        self.message = message
        self.field = field


class PayloadTooLarge(ApiError):
    def __init__(self, limit: int, received: int | None = None) -> None:
        seen = f" (got at least {received} bytes)" if received is not None else ""
        super().__init__(413, "payload_too_large", f"request body is larger than the limit of {limit} bytes{seen}")


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


def error_response(status: int, code: str, message: str, field: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(code, message, field), status_code=status, headers=headers)


def status_for(err: KBError) -> int:
    for cls in type(err).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


def _field_of(err: KBError) -> str | None:
    field = err.context.get("field")
    return str(field) if field is not None else None


async def _kb_error(request: Request, err: KBError) -> JSONResponse:
    status = status_for(err)
    if status >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, err)
    headers = {"Retry-After": "5"} if isinstance(err, StoreBusyError) else None
    return error_response(status, err.code, err.message, _field_of(err), headers)


def _location(loc: tuple[Any, ...]) -> str:
    # ("query", "top_k") -> "top_k"; ("body", "filters", "acts", 0) -> "filters.acts.0"
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("query", "body", "path", "header", "form", "cookie"):
        parts = parts[1:]
    return ".".join(parts)


async def _validation_error(request: Request, err: RequestValidationError) -> JSONResponse:
    problems = err.errors()
    messages = []
    for problem in problems[:5]:
        where = _location(tuple(problem.get("loc", ())))
        messages.append(f"{where}: {problem.get('msg', 'invalid value')}" if where else problem.get("msg", "invalid value"))
    first_field = _location(tuple(problems[0].get("loc", ()))) if problems else None
    message = "; ".join(messages) or "invalid request"
    return error_response(422, "invalid_request", message, first_field or None)


async def _http_error(request: Request, err: StarletteHTTPException) -> JSONResponse:
    if isinstance(err, ApiError):
        return error_response(err.status_code, err.code, err.message, err.field, err.headers)
    code = CODE_BY_STATUS.get(err.status_code, "http_error")
    message = err.detail if isinstance(err.detail, str) else code.replace("_", " ")
    if err.status_code == 404 and message == "Not Found":
        message = f"no such endpoint: {request.method} {request.url.path}"
    return error_response(err.status_code, code, message, None, getattr(err, "headers", None))


async def _unexpected(request: Request, err: Exception) -> JSONResponse:
    log.exception("%s %s raised an unexpected error", request.method, request.url.path, exc_info=err)
    return error_response(500, "internal_error", "the server failed to handle this request; the error was logged")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(KBError, _kb_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


# Documented on every route so OpenAPI shows the shared error body.
def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    described = {
        401: "API key missing or wrong (header X-API-Key).",
        403: "Writes are disabled because no API key is configured.",
        404: "No such provision, act or document.",
        409: "The stored index was built with other settings; rebuild it.",
        413: "Request body larger than the configured limit.",
        422: "Invalid parameter (the `field` names it).",
        503: "The store is busy or unavailable; retry later.",
    }
    return {s: {"model": ErrorResponse, "description": described.get(s, "Error.")} for s in statuses}
