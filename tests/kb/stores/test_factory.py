"""open_store(): the backend named in the settings, opened where the settings say."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.errors import ConfigError
from kb.settings import Settings
from kb.stores.factory import open_store
from kb.stores.sqlite import SQLiteKnowledgeStore


def test_sqlite_store_in_a_new_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "nested" / "data", store={"backend": "sqlite", "busy_timeout_ms": 1234})
    store = open_store(settings)
    assert isinstance(store, SQLiteKnowledgeStore)
    assert store.path == tmp_path / "nested" / "data" / "kb.sqlite3" and store.path.is_file()
    assert (store.busy_timeout_ms, store.embedding_dim) == (1234, 384)
    store.close()


def test_elasticsearch_without_url_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KB_ELASTICSEARCH_URL", raising=False)
    monkeypatch.delenv("KB_ELASTICSEARCH__URL", raising=False)
    settings = Settings(data_dir=tmp_path, store={"backend": "elasticsearch"})
    with pytest.raises(ConfigError, match="KB_ELASTICSEARCH_URL"):
        open_store(settings)
    assert not (tmp_path / "kb.sqlite3").exists()
