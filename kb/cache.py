"""Bounded in-process caches: one thread-safe LRU, and the same keyed by the store's content version.

:class:`LRUCache` keeps the last query vectors (:class:`kb.embedding.Encoder`), the vectors of
quotable sentences (:class:`kb.answers.compose.Answerer`) and the row ids a filter selects
(:class:`kb.stores.sqlite.SQLiteKnowledgeStore`).

:class:`VersionedCache` keeps whole search results and answers. A public portal sees the same
questions again and again ("POCSO 19", "punishment for child pornography"), and answering a repeat
from memory costs about a tenth of a search. Every key holds the store's content version
(:meth:`kb.stores.base.KnowledgeStore.content_version`), so a write in this or another process
makes all earlier entries unreachable: they are never served again and age out of the LRU order.
Stores that cannot tell their version are not cached at all.

    >>> cache = LRUCache(2)
    >>> cache.put(("7", "POCSO 19"), "result")
    >>> cache.get(("7", "POCSO 19")), cache.get(("8", "POCSO 19"))
    ('result', None)
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, Protocol, TypeVar

T = TypeVar("T")


class LRUCache:
    """A thread-safe map of at most ``size`` entries, least recently used dropped first (0: remembers
    nothing). ``None`` is not a value: :meth:`get` returns it for a missing key."""

    def __init__(self, size: int) -> None:
        if size < 0:
            raise ValueError(f"cache size must be >= 0, got {size}")
        self.size = size
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            value = self._entries.get(key)
            if value is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: Hashable, value: Any) -> None:
        if self.size == 0:
            return
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class _Versioned(Protocol):
    def content_version(self) -> str | None: ...


class VersionedCache(LRUCache, Generic[T]):
    """Results of requests on a store's content. Each caller gets its own ``copy`` of a result, so
    one caller changing what it got cannot change what the next one gets.

        >>> key = cache.key(question, audience)      # None: not cached (off, or version unknown)
        >>> cache.recall(key) or cache.remember(key, compute())
    """

    def __init__(self, size: int, store: _Versioned, copy: Callable[[T], T]) -> None:
        super().__init__(size)
        self.store = store
        self.copy = copy

    def key(self, *request: Hashable) -> tuple | None:
        """The key of ``request`` on the store's current content; ``None`` when nothing may be cached."""
        if self.size == 0:
            return None
        version = self.store.content_version()
        return None if version is None else (version, *request)

    def recall(self, key: tuple | None) -> T | None:
        value = self.get(key) if key is not None else None
        return self.copy(value) if value is not None else None

    def remember(self, key: tuple | None, value: T) -> T:
        """Keep ``value`` under ``key`` (unless ``key`` is ``None``) and return the caller's copy."""
        if key is None:
            return value
        self.put(key, value)
        return self.copy(value)
