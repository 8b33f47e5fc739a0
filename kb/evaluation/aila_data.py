"""The FIRE 2019 AILA statute-retrieval task (Task 2) as it ships: statutes, queries, judgments.

Layout of the official release (``AILA_2019_dataset/``)::

    Object_statutes/S<n>.txt              "Title: ..." line, then "Desc: ..." line
    Query_doc.txt                         "AILA_Q<n>||<situation text>" per line
    relevance_judgments_statutes.txt      TREC qrels "<qid> Q0 <statute> <relevance>"

Judgments are binary; relevance > 0 is relevant. Statute ``S58`` is judged relevant for four
queries but has no file in ``Object_statutes/``: it stays in the relevant sets, so recall-based
metrics (MAP, the ideal DCG) count it as a relevant statute no run can retrieve, exactly as
``trec_eval`` does with the official qrels.

    >>> data = load_aila(Path("AILA_2019_dataset"))        # doctest: +SKIP
    >>> len(data.statutes), len(data.queries), data.relevant_pairs   # doctest: +SKIP
    (197, 50, 221)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from kb.errors import KBError

STATUTES_DIR = "Object_statutes"
QUERIES_FILE = "Query_doc.txt"
QRELS_FILE = "relevance_judgments_statutes.txt"

# The track gave Q1-Q10 to participants as training data and evaluated on Q11-Q50.
TRAIN_QUERIES = tuple(f"AILA_Q{n}" for n in range(1, 11))
TEST_QUERIES = tuple(f"AILA_Q{n}" for n in range(11, 51))

_STATUTE_FILE = re.compile(r"^S(\d+)\.txt$")


@dataclass(frozen=True)
class Statute:
    id: str
    title: str
    description: str


@dataclass
class AilaDataset:
    statutes: dict[str, Statute]  # in file-number order
    queries: dict[str, str]  # query id -> situation text, in file order
    qrels: dict[str, set[str]]  # query id -> relevant statute ids (possibly absent from the pool)

    @property
    def relevant_pairs(self) -> int:
        return sum(len(rel) for rel in self.qrels.values())

    def unretrievable(self) -> dict[str, int]:
        """Statutes judged relevant that have no file, with how many queries judge them relevant."""
        missing: dict[str, int] = {}
        for rel in self.qrels.values():
            for sid in rel - self.statutes.keys():
                missing[sid] = missing.get(sid, 0) + 1
        return dict(sorted(missing.items()))


def _require(path: Path) -> Path:
    if not path.exists():
        raise KBError(f"{path}: not found (is this the AILA_2019_dataset folder?)", path=str(path))
    return path


def read_statute(path: Path) -> Statute:
    lines = [line.strip() for line in path.read_text("utf-8").splitlines() if line.strip()]
    if len(lines) < 2 or not lines[0].startswith("Title:") or not lines[1].startswith("Desc:"):
        raise KBError(f"{path}: expected a 'Title:' line and a 'Desc:' line", path=str(path))
    title = lines[0].removeprefix("Title:").strip()
    # A few descriptions wrap onto further lines; they belong to the description.
    description = " ".join([lines[1].removeprefix("Desc:").strip(), *lines[2:]]).strip()
    if not title:
        raise KBError(f"{path}: empty title", path=str(path))
    return Statute(id=path.stem, title=title, description=description)


def read_statutes(folder: Path) -> dict[str, Statute]:
    files = [p for p in _require(folder).iterdir() if _STATUTE_FILE.match(p.name)]
    if not files:
        raise KBError(f"{folder}: no S<n>.txt statute files", path=str(folder))
    files.sort(key=lambda p: int(_STATUTE_FILE.match(p.name).group(1)))
    return {p.stem: read_statute(p) for p in files}


def read_queries(path: Path) -> dict[str, str]:
    queries: dict[str, str] = {}
    for number, line in enumerate(_require(path).read_text("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        qid, sep, text = line.partition("||")
        if not sep or not qid.strip() or not text.strip():
            raise KBError(f"{path}:{number}: expected 'AILA_Q<n>||<text>'", path=str(path), line=number)
        if qid.strip() in queries:
            raise KBError(f"{path}:{number}: query {qid.strip()} appears twice", path=str(path), line=number)
        queries[qid.strip()] = text.strip()
    return queries


def read_qrels(path: Path) -> dict[str, set[str]]:
    """TREC qrels; every judged query gets a (possibly empty) set of relevant ids."""
    qrels: dict[str, set[str]] = {}
    for number, line in enumerate(_require(path).read_text("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 4 or not parts[3].lstrip("-").isdigit():
            raise KBError(f"{path}:{number}: expected '<qid> Q0 <docid> <relevance>', got {line!r}", path=str(path), line=number)
        qid, _iteration, doc_id, relevance = parts
        judged = qrels.setdefault(qid, set())
        if int(relevance) > 0:
            judged.add(doc_id)
    return qrels


def load_aila(dataset_dir: Path) -> AilaDataset:
    """Read and cross-check the three parts of the release; every query must be judged."""
    root = _require(Path(dataset_dir))
    data = AilaDataset(
        statutes=read_statutes(root / STATUTES_DIR),
        queries=read_queries(root / QUERIES_FILE),
        qrels=read_qrels(root / QRELS_FILE),
    )
    unjudged = sorted(set(data.queries) - set(data.qrels))
    if unjudged:
        raise KBError(f"{root / QRELS_FILE}: no judgments for {', '.join(unjudged[:5])}", path=str(root / QRELS_FILE))
    unknown = sorted(set(data.qrels) - set(data.queries))
    if unknown:
        raise KBError(f"{root / QRELS_FILE}: judgments for unknown queries {', '.join(unknown[:5])}", path=str(root / QRELS_FILE))
    return data


def split_of(query_id: str) -> str:
    """'train' for the official training queries Q1-Q10, else 'test'."""
    return "train" if query_id in TRAIN_QUERIES else "test"
