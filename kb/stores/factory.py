"""Open the store the settings ask for.

    >>> from kb.settings import get_settings
    >>> store = open_store(get_settings())      # doctest: +SKIP
"""

from __future__ import annotations

from kb.errors import ConfigError, StoreError
from kb.settings import Settings
from kb.stores.base import KnowledgeStore


def open_store(settings: Settings) -> KnowledgeStore:
    """The SQLite store in ``settings.data_dir`` (created if missing) or the Elasticsearch store.

    The Elasticsearch backend is imported only when chosen, and is built with
    ``ElasticsearchKnowledgeStore.from_settings(settings)``.
    """
    backend = settings.store.backend
    if backend == "sqlite":
        from kb.stores.sqlite import SQLiteKnowledgeStore

        try:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StoreError(f"{settings.data_dir}: cannot create the data directory ({err})", path=str(settings.data_dir)) from err
        return SQLiteKnowledgeStore(
            settings.sqlite_path,
            busy_timeout_ms=settings.store.busy_timeout_ms,
            embedding_dim=settings.embedding.dimension,
        )
    if backend == "elasticsearch":
        if not settings.elasticsearch.url:
            raise ConfigError(
                "store backend 'elasticsearch' needs the cluster URL: set KB_ELASTICSEARCH_URL "
                "(or KB_ELASTICSEARCH__URL)",
                setting="elasticsearch.url",
            )
        try:
            from kb.stores.elasticsearch import ElasticsearchKnowledgeStore
        except ImportError as err:
            raise ConfigError(f"store backend 'elasticsearch' is not available: {err}", setting="store.backend") from err
        return ElasticsearchKnowledgeStore.from_settings(settings)
    raise ConfigError(f"unknown store backend {backend!r}; use 'sqlite' or 'elasticsearch'", setting="store.backend")
