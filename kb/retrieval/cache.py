"""Search results remembered per process, for as long as the store's content does not change.

A public portal sees the same questions again and again ("POCSO 19", "punishment for child
pornography"); answering a repeat from memory costs about a tenth of a search. Every entry is keyed
by the store's content version (:meth:`kb.stores.base.KnowledgeStore.content_version`) as well as
the query, so a write in this or another process makes all earlier entries unreachable: they are
never served again and age out of the LRU order. Stores that cannot tell their version are not
cached at all.

    >>> cache = ResultCache(2)
    >>> cache.put(("7", "POCSO 19"), "result")
    >>> cache.get(("7", "POCSO 19")), cache.get(("8", "POCSO 19"))
    ('result', None)
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any


class ResultCache:
    """A thread-safe LRU map of at most ``size`` entries (0: remembers nothing)."""

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
