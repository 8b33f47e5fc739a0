"""The product's error hierarchy. Every error carries the offending value.

    >>> try:
    ...     raise IngestError("empty file", path="notes.txt")
    ... except KBError as err:
    ...     print(err)
    notes.txt: empty file
"""

from __future__ import annotations


class KBError(Exception):
    """Base of every error this product raises on purpose."""

    code = "kb_error"

    def __init__(self, message: str, **context: object) -> None:
        super().__init__(message)
        self.message = message
        self.context = context

    def __str__(self) -> str:
        return self.message


class ConfigError(KBError):
    """A setting has a value the product cannot work with."""

    code = "config_error"


class IngestError(KBError):
    """A file could not be turned into provisions. Names the file and the reason."""

    code = "ingest_error"

    def __init__(self, reason: str, *, path: str | None = None, **context: object) -> None:
        super().__init__(f"{path}: {reason}" if path else reason, path=path, **context)
        self.reason = reason
        self.path = path


class StoreError(KBError):
    """The store failed or is in a state that forbids the operation."""

    code = "store_error"


class StaleIndexError(StoreError):
    """The stored index was built with other embedding/chunking settings."""

    code = "stale_index"


class StoreBusyError(StoreError):
    """Another writer holds the store."""

    code = "store_busy"


class NotFoundError(KBError):
    """A provision, act or document that was asked for does not exist."""

    code = "not_found"


class QueryError(KBError):
    """A query or its parameters are invalid (too long, bad filter, bad top_k)."""

    code = "invalid_query"


class CitationError(KBError):
    """A citation does not resolve to stored text."""

    code = "invalid_citation"


class FetchError(KBError):
    """An official source could not be downloaded."""

    code = "fetch_error"


class GeneratorError(KBError):
    """The optional generative model failed or answered without valid evidence."""

    code = "generator_error"
