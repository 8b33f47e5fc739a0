"""The per-process search result cache: LRU bounds, and staleness across store handles.

Two runtimes on one SQLite file stand for two processes (a server and `kb ingest`): a write through
one must make the other's remembered results unreachable.
"""

from __future__ import annotations

import threading

import pytest

from kb.cache import LRUCache

QUERY = "publishing material depicting children in sexually explicit act"


def test_lru_keeps_the_most_recently_used_entries():
    cache = LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now the most recent
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)
    assert len(cache) == 2 and (cache.hits, cache.misses) == (3, 1)
    cache.clear()
    assert len(cache) == 0 and cache.get("a") is None


def test_size_zero_remembers_nothing_and_negative_is_refused():
    cache = LRUCache(0)
    cache.put("a", 1)
    assert cache.get("a") is None and len(cache) == 0
    with pytest.raises(ValueError, match="cache size"):
        LRUCache(-1)


def test_concurrent_use_keeps_the_bound():
    cache = LRUCache(50)

    def work(offset: int) -> None:
        for i in range(2000):
            cache.put((offset, i % 80), i)
            cache.get((offset, (i * 7) % 80))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache) == 50
    assert cache.hits + cache.misses == 4 * 2000


def test_a_write_through_another_handle_makes_results_stale(tmp_path, fixtures_dir):
    from api.runtime import Runtime
    from kb.settings import Settings

    settings = Settings(data_dir=tmp_path / "data", corpus_dir=tmp_path / "none")
    server, writer = Runtime.open(settings), Runtime.open(settings)
    try:
        assert not writer.ingestor.ingest([fixtures_dir / "api" / "pocso-sample.md"]).failed
        before = server.searcher.search(QUERY)
        version = server.store.content_version()
        assert server.searcher.cached(QUERY) is not None
        assert all(not h.provision_key.startswith("it:") for h in before.hits)

        assert not writer.ingestor.ingest([fixtures_dir / "api" / "it-sample.md"]).failed
        assert server.store.content_version() != version
        assert server.searcher.cached(QUERY) is None  # the earlier result is unreachable
        after = server.searcher.search(QUERY)
        assert after.hits[0].provision_key == "it:67B"
        # A result handed out is the caller's: changing its list leaves the remembered one whole.
        after.hits.clear()
        assert server.searcher.search(QUERY).hits[0].provision_key == "it:67B"
    finally:
        server.close()
        writer.close()


def test_cached_checks_its_arguments_like_search(fixture_runtime):
    from kb.errors import QueryError

    with pytest.raises(QueryError, match="empty"):
        fixture_runtime.searcher.cached("   ")
    with pytest.raises(QueryError, match="top_k"):
        fixture_runtime.searcher.cached("report abuse", top_k=0)
    with pytest.raises(QueryError, match="offset"):
        fixture_runtime.searcher.cached("report abuse", offset=-1)
