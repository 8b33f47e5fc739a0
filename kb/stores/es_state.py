"""Shared state of an Elasticsearch store: error translation, index creation, the generation
ledger that makes a source replacement appear atomic, and the cross-process writer lock.

Elasticsearch has no transaction spanning several documents or indices. What it does have is
an atomic compare-and-set on one document (``if_seq_no``/``if_primary_term``). So every source
write tags its documents (source record, provisions, chunks) with a fresh **generation** and the
ledger, one document in the meta index, lists the generations readers must not see:

* ``pending``: being written. Invisible until committed.
* ``retired``: replaced or deleted, awaiting physical deletion. Invisible.

Committing a replacement is one compare-and-set on the ledger (new generation leaves
``pending``, old ones join ``retired``), so readers switch from the old copy of a source to the
new one in a single step. Every read excludes the hidden generations and re-checks the ledger's
version afterwards, retrying if a commit happened meanwhile (see
:meth:`GenerationLedger.read_consistent`).

    >>> ledger = GenerationLedger(client, names, url="https://es:9200")   # doctest: +SKIP
    >>> gen, seq = ledger.begin()                                           # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from elastic_transport import TransportError
from elasticsearch import ApiError, ConflictError, Elasticsearch
from elasticsearch import NotFoundError as EsNotFoundError

from kb.errors import StoreBusyError, StoreError
from kb.stores.es_mapping import GENERATION_FIELD, IndexNames, index_definitions

T = TypeVar("T")
logger = logging.getLogger(__name__)
STALE_PENDING_MS = 15 * 60 * 1000  # a write still pending after this long was abandoned by a crash
LOCK_ID = "writer-lock"
LOCK_TTL_S = 120.0
_MAX_CAS_RETRIES = 50
_MAX_READ_RETRIES = 5


def now_ms() -> int:
    return int(time.time() * 1000)


@contextmanager
def es_errors(url: str, action: str) -> Iterator[None]:
    """Elasticsearch client failures as :class:`StoreError` naming the cluster and the action."""
    try:
        yield
    except ApiError as err:
        raise StoreError(f"Elasticsearch {url}: {action} failed ({err.meta.status}: {err.message})", url=url) from err
    except TransportError as err:
        raise StoreError(f"Elasticsearch {url}: {action} failed, cluster unreachable ({err})", url=url) from err


def ensure_indices(client: Elasticsearch, names: IndexNames, dim: int, url: str) -> None:
    """Create any missing index of the store with our settings and mappings."""
    for name, definition in index_definitions(names, dim).items():
        with es_errors(url, f"checking index {name}"):
            if client.indices.exists(index=name):
                continue
        try:
            client.indices.create(index=name, settings=definition["settings"], mappings=definition["mappings"])
        except ApiError as err:
            if err.meta.status == 400 and "resource_already_exists" in str(err.message):
                continue  # another process created it first
            raise StoreError(f"Elasticsearch {url}: creating index {name} failed ({err.meta.status}: {err.message})") from err
        except TransportError as err:
            raise StoreError(f"Elasticsearch {url}: creating index {name} failed, cluster unreachable ({err})") from err


def scan(client: Elasticsearch, index: str, query: dict[str, Any], *, sort: list[Any], page: int = 1000,
         source: Any = True) -> Iterator[dict[str, Any]]:
    """Every hit of ``query`` in ``sort`` order from one point-in-time snapshot, paged with
    ``search_after`` (``from``/``size`` paging stops at 10 000 hits). The point in time adds the
    ``_shard_doc`` tiebreaker, so ``sort`` need not be unique."""
    pit = client.open_point_in_time(index=index, keep_alive="2m")["id"]
    try:
        after = None
        while True:
            kwargs: dict[str, Any] = {"query": query, "sort": sort, "size": page, "_source": source,
                                      "pit": {"id": pit, "keep_alive": "2m"}}  # fmt: skip
            if after is not None:
                kwargs["search_after"] = after
            result = client.search(**kwargs)
            pit = result.get("pit_id", pit)
            hits = result["hits"]["hits"]
            yield from hits
            if len(hits) < page:
                return
            after = hits[-1]["sort"]
    finally:
        try:
            client.close_point_in_time(id=pit)
        except (ApiError, TransportError) as err:
            # Harmless: an unclosed point in time expires after its keep-alive.
            logger.warning("could not close a point in time on %s: %s", index, err)


@dataclass
class LedgerState:
    pending: dict[str, int] = field(default_factory=dict)  # generation -> started (ms since epoch)
    retired: dict[str, int] = field(default_factory=dict)  # generation -> retired (ms since epoch)
    write_seq: int = 0

    @property
    def hidden(self) -> list[str]:
        return sorted({*self.pending, *self.retired})

    def to_source(self, identity: str) -> dict[str, Any]:
        return {"kind": "ledger", "identity": identity, "pending": self.pending, "retired": self.retired,
                "write_seq": self.write_seq}  # fmt: skip


class GenerationLedger:
    """The per-identity ledger document (see the module docstring)."""

    def __init__(self, client: Elasticsearch, names: IndexNames, *, url: str) -> None:
        self.client = client
        self.names = names
        self.url = url
        self.doc_id = f"{names.identity}:ledger"

    def _get(self) -> tuple[LedgerState, tuple[int, int] | None]:
        with es_errors(self.url, "reading the generation ledger"):
            try:
                doc = self.client.get(index=self.names.meta, id=self.doc_id)
            except EsNotFoundError:
                return LedgerState(), None
        src = doc["_source"]
        state = LedgerState(dict(src.get("pending", {})), dict(src.get("retired", {})), int(src.get("write_seq", 0)))
        return state, (doc["_seq_no"], doc["_primary_term"])

    def load(self) -> LedgerState:
        return self._get()[0]

    def update(self, change: Callable[[LedgerState], T]) -> T:
        """Apply ``change`` to the ledger with compare-and-set, retrying on concurrent updates."""
        for _ in range(_MAX_CAS_RETRIES):
            state, version = self._get()
            result = change(state)
            body = state.to_source(self.names.identity)
            try:
                with es_errors(self.url, "updating the generation ledger"):
                    if version is None:
                        self.client.index(index=self.names.meta, id=self.doc_id, document=body, op_type="create")
                    else:
                        self.client.index(index=self.names.meta, id=self.doc_id, document=body,
                                          if_seq_no=version[0], if_primary_term=version[1])  # fmt: skip
                return result
            except StoreError as err:
                if not isinstance(err.__cause__, ConflictError):
                    raise
        raise StoreBusyError(f"Elasticsearch {self.url}: the generation ledger kept changing under {_MAX_CAS_RETRIES} attempts")

    def read_consistent(self, read: Callable[[list[str]], T]) -> T:
        """Run ``read(hidden generations)`` and make sure no commit happened meanwhile.

        A commit followed by the deletion of the old generation, both between our reading the
        ledger and our query, could otherwise make a source look empty. If writes keep landing,
        the last result is returned after a few retries: each query on its own still saw a
        committed state of every source except, at worst, the one being switched.
        """
        result: T
        for _ in range(_MAX_READ_RETRIES):
            state, before = self._get()
            result = read(state.hidden)
            if self._get()[1] == before:
                return result
        return result

    # --- the write protocol --------------------------------------------------------------------
    def begin(self) -> tuple[str, int]:
        """A new pending generation and the next write sequence number."""
        generation = uuid.uuid4().hex[:16]

        def change(state: LedgerState) -> int:
            state.pending[generation] = now_ms()
            state.write_seq += 1
            return state.write_seq

        return generation, self.update(change)

    def commit(self, generation: str, retire: list[str]) -> None:
        """Make ``generation`` visible and hide ``retire`` in one step."""

        def change(state: LedgerState) -> None:
            if generation not in state.pending:
                raise StoreError(
                    f"Elasticsearch {self.url}: write generation {generation} was abandoned before it committed "
                    "(it stayed pending longer than the stale limit); rerun the ingest",
                    generation=generation,
                )
            del state.pending[generation]
            for old in retire:
                state.retired.setdefault(old, now_ms())

        self.update(change)

    def retire(self, generations: list[str]) -> None:
        """Hide ``generations`` (deleted sources, or a failed write's partial documents)."""

        def change(state: LedgerState) -> None:
            for gen in generations:
                state.pending.pop(gen, None)
                state.retired.setdefault(gen, now_ms())

        self.update(change)

    def collect(self, *, pending_older_than_ms: int = STALE_PENDING_MS) -> int:
        """Delete the documents of retired generations (and of writes pending so long that they
        were abandoned), then forget those generations. Returns how many documents went."""
        state = self.load()
        cutoff = now_ms() - pending_older_than_ms
        stale = [gen for gen, started in state.pending.items() if started < cutoff]
        if stale:
            self.retire(stale)
            state = self.load()
        gone = list(state.retired)
        if not gone:
            return 0
        deleted = 0
        for index in self.names.data_indices():
            with es_errors(self.url, f"deleting replaced documents from {index}"):
                result = self.client.delete_by_query(
                    index=index, query={"terms": {GENERATION_FIELD: gone}}, refresh=True, conflicts="proceed"
                )
            deleted += int(result.get("deleted", 0))
        # conflicts="proceed" skips a document changed during the delete (e.g. a path update);
        # forgetting its generation would make it visible again, so keep it hidden until gone.
        for index in self.names.data_indices():
            with es_errors(self.url, f"checking replaced documents are gone from {index}"):
                left = self.client.count(index=index, query={"terms": {GENERATION_FIELD: gone}})["count"]
            if left:
                logger.warning("%d replaced documents remain in %s; deleting them again at the next write", left, index)
                return deleted

        def change(state: LedgerState) -> None:
            for gen in gone:
                state.retired.pop(gen, None)

        self.update(change)
        return deleted


class WriterLock:
    """One ingesting process at a time, across hosts: a lock document created with
    ``op_type=create`` (which fails if it exists) carrying an expiry time.

    The holder extends the expiry every ``ttl/4`` seconds from a background thread; a holder
    that died leaves a lock that anyone may take over once expired (by compare-and-set, so only
    one does). Re-entrant within one thread. Expiry uses each host's clock: keep clocks within a
    fraction of ``LOCK_TTL_S`` of each other.

        >>> lock = WriterLock(client, "kb-meta", url="http://localhost:9200")   # doctest: +SKIP
        >>> with lock.hold(timeout_s=30):                                        # doctest: +SKIP
        ...     pass  # the only writer in here
    """

    def __init__(self, client: Elasticsearch, index: str, *, url: str, ttl_s: float = LOCK_TTL_S) -> None:
        self.client = client
        self.index = index
        self.url = url
        self.ttl_s = ttl_s
        self._local = threading.local()

    def _owner(self) -> str:
        return f"{socket.gethostname()} pid {os.getpid()} thread {threading.get_ident()}"

    def _body(self, owner: str) -> dict[str, Any]:
        return {"kind": "lock", "owner": owner, "expires_at_ms": now_ms() + int(self.ttl_s * 1000)}

    def _try_take(self, owner: str) -> tuple[int, int] | None:
        """Our version of the lock document if we now hold it, else ``None``."""
        try:
            with es_errors(self.url, "taking the writer lock"):
                doc = self.client.index(index=self.index, id=LOCK_ID, document=self._body(owner), op_type="create", refresh=False)
            return doc["_seq_no"], doc["_primary_term"]
        except StoreError as err:
            if not isinstance(err.__cause__, ConflictError):
                raise
        with es_errors(self.url, "reading the writer lock"):
            try:
                held = self.client.get(index=self.index, id=LOCK_ID)
            except EsNotFoundError:
                return None  # released meanwhile; try again
        if held["_source"].get("expires_at_ms", 0) > now_ms():
            self._local.holder = held["_source"].get("owner", "unknown")
            return None
        try:  # expired: take it over, unless someone else does first
            with es_errors(self.url, "taking over an expired writer lock"):
                doc = self.client.index(index=self.index, id=LOCK_ID, document=self._body(owner),
                                        if_seq_no=held["_seq_no"], if_primary_term=held["_primary_term"])  # fmt: skip
            return doc["_seq_no"], doc["_primary_term"]
        except StoreError as err:
            if not isinstance(err.__cause__, ConflictError):
                raise
            return None

    @contextmanager
    def hold(self, timeout_s: float) -> Iterator[None]:
        depth = getattr(self._local, "depth", 0)
        if depth:
            self._local.depth = depth + 1
            try:
                yield
            finally:
                self._local.depth -= 1
            return
        owner = self._owner()
        deadline = time.monotonic() + max(timeout_s, 0.0)
        self._local.holder = "unknown"
        while (version := self._try_take(owner)) is None:
            if time.monotonic() >= deadline:
                raise StoreBusyError(
                    f"Elasticsearch {self.url}: the writer lock in {self.index} is held by {self._local.holder}; "
                    f"gave up after {timeout_s} s",
                    holder=self._local.holder,
                )
            time.sleep(0.2)
        keeper = _Heartbeat(self, owner, version)
        keeper.start()
        self._local.depth = 1
        try:
            yield
        finally:
            self._local.depth = 0
            keeper.stop()
            keeper.release()
        if keeper.lost:
            raise StoreError(f"Elasticsearch {self.url}: the writer lock was taken over while held ({keeper.lost})")


class _Heartbeat(threading.Thread):
    def __init__(self, lock: WriterLock, owner: str, version: tuple[int, int]) -> None:
        super().__init__(name="kb-es-writer-lock", daemon=True)
        self.lock, self.owner, self.version = lock, owner, version
        self.lost: str | None = None
        self._stop_event = threading.Event()
        self._mutex = threading.Lock()

    def run(self) -> None:
        while not self._stop_event.wait(self.lock.ttl_s / 4):
            with self._mutex:
                try:
                    doc = self.lock.client.index(index=self.lock.index, id=LOCK_ID, document=self.lock._body(self.owner),
                                                 if_seq_no=self.version[0], if_primary_term=self.version[1])  # fmt: skip
                    self.version = (doc["_seq_no"], doc["_primary_term"])
                except ConflictError as err:
                    self.lost = str(err)
                    return
                except (ApiError, TransportError) as err:
                    # Transient: the lock still has most of its TTL; the next beat retries.
                    logger.warning("could not extend the writer lock in %s: %s", self.lock.index, err)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=self.lock.ttl_s)

    def release(self) -> None:
        if self.lost:
            return
        with self._mutex:
            try:
                self.lock.client.delete(index=self.lock.index, id=LOCK_ID,
                                        if_seq_no=self.version[0], if_primary_term=self.version[1])  # fmt: skip
            except (ConflictError, EsNotFoundError) as err:
                self.lost = str(err)
            except (ApiError, TransportError) as err:
                # Cannot reach the cluster: the lock expires after its TTL by itself.
                logger.warning("could not release the writer lock in %s (it expires in %.0f s): %s",
                               self.lock.index, self.lock.ttl_s, err)
