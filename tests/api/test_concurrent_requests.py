"""Concurrent requests get the answers a lone request gets, and no 5xx.

The server runs sync routes in a thread pool, so anything shared between requests (the stemmer,
the model, the store connection) is used from many threads at once. A word stemmer that kept its
state in one shared object once mixed up words under load: wrong stems (cached for good) and
``IndexError`` as HTTP 500.
"""

from __future__ import annotations

import random
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from api_helpers import serving

from kb.retrieval import terms

SUFFIXES = ("ational", "ization", "fulness", "iveness", "ement", "ing", "ed", "ousli", "alism")


def _words(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice("aeioustrnlcdz") for _ in range(rng.randint(6, 14))) + rng.choice(SUFFIXES)
            for _ in range(count)]


def test_stemming_from_many_threads_matches_stemming_alone():
    words = [w for seed in range(8) for w in _words(seed, 1500)]
    terms.stem.cache_clear()
    alone = {w: terms.stem(w) for w in words}
    terms.stem.cache_clear()
    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often, so a shared stemmer would be caught mid-word
    errors: list[str] = []
    results: dict[str, str] = {}

    def work(seed: int) -> None:
        for word in _words(seed, 1500):
            try:
                results[word] = terms.stem(word)
            except Exception as err:  # noqa: BLE001 - the failure being tested for
                errors.append(repr(err))

    try:
        threads = [threading.Thread(target=work, args=(seed,)) for seed in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(old_interval)
        terms.stem.cache_clear()
    assert errors == []
    assert results == alone


@pytest.fixture(scope="module")
def live(runtime) -> Iterator[str]:
    """The app under uvicorn on a loopback port, over the shared fixture store."""
    with serving(runtime) as url:
        yield url


QUERIES = [
    "who must report sexual abuse of a child", "punishment for failure to report an offence",
    "recording the statement of a child", "age determination of a juvenile", "cruelty to a child punishment",
    "publishing material depicting children in sexually explicit act", "designation of special courts",
    "duty of media to report", "care and protection within twenty-four hours", "presumption of age",
    "obscene material in electronic form", "definition of child", "police desk guide taking the report",
    "special juvenile police unit information", "statement recorded at the residence of the child",
    "transmitting obscene material punishment",
]


def _search(http: httpx.Client, query: str) -> tuple[int, list[str]]:
    response = http.get("/search", params={"q": query, "top_k": 10})
    keys = [h["provision_key"] for h in response.json()["hits"]] if response.status_code == 200 else []
    return response.status_code, keys


def test_concurrent_searches_match_lone_searches(live):
    terms.stem.cache_clear()  # every request stems its words afresh
    with httpx.Client(base_url=live, timeout=120) as http:
        alone = {q: _search(http, q) for q in QUERIES}
    assert all(status == 200 and keys for status, keys in alone.values()), alone
    terms.stem.cache_clear()
    work = QUERIES * 4
    random.Random(3).shuffle(work)
    with ThreadPoolExecutor(16) as pool:

        def one(query: str) -> tuple[str, tuple[int, list[str]]]:
            with httpx.Client(base_url=live, timeout=120) as http:
                return query, _search(http, query)

        together = list(pool.map(one, work))
    assert [status for _, (status, _) in together if status != 200] == []
    for query, result in together:
        assert result == alone[query], query
