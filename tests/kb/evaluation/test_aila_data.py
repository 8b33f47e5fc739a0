"""Reading the AILA release: a small dataset in the official layout, written by the test."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.errors import KBError
from kb.evaluation.aila_data import load_aila, read_qrels, read_queries, read_statute, split_of

STATUTES = {
    "S1": "Title: Punishment for murder\nDesc: Whoever commits murder shall be punished with death or imprisonment for life.\n",
    "S2": "Title: Equality before law\nDesc: The State shall not deny to any person equality before the law.\n",
    "S10": "Title: Theft\nDesc: Whoever dishonestly takes movable property out of the possession of any person.\n",
}
QUERIES = "AILA_Q1||The accused stabbed the deceased.\nAILA_Q2||The petitioner was denied a licence given to others.\n"
QRELS = "AILA_Q1 Q0 S1 1\nAILA_Q1 Q0 S2 0\nAILA_Q1 Q0 S58 1\nAILA_Q2 Q0 S2 1\nAILA_Q2 Q0 S10 0\n"


def write_dataset(root: Path, *, statutes=STATUTES, queries=QUERIES, qrels=QRELS) -> Path:
    (root / "Object_statutes").mkdir(parents=True)
    for sid, text in statutes.items():
        (root / "Object_statutes" / f"{sid}.txt").write_text(text, "utf-8")
    (root / "Query_doc.txt").write_text(queries, "utf-8")
    (root / "relevance_judgments_statutes.txt").write_text(qrels, "utf-8")
    return root


def test_loads_statutes_in_number_order_and_keeps_unpooled_relevant_ids(tmp_path):
    data = load_aila(write_dataset(tmp_path))
    assert list(data.statutes) == ["S1", "S2", "S10"]
    assert data.statutes["S2"].title == "Equality before law"
    assert data.statutes["S1"].description.startswith("Whoever commits murder")
    assert data.queries["AILA_Q2"] == "The petitioner was denied a licence given to others."
    assert data.qrels == {"AILA_Q1": {"S1", "S58"}, "AILA_Q2": {"S2"}}
    assert data.relevant_pairs == 3
    assert data.unretrievable() == {"S58": 1}


@pytest.mark.parametrize(
    ("reader", "name", "content", "message"),
    [
        (read_queries, "Query_doc.txt", "AILA_Q1 the facts without a separator\n", r"Query_doc.txt:1: expected 'AILA_Q<n>\|\|<text>'"),
        (read_queries, "Query_doc.txt", "AILA_Q1||a\n\nAILA_Q1||b\n", r"Query_doc.txt:3: query AILA_Q1 appears twice"),
        (read_qrels, "qrels.txt", "AILA_Q1 Q0 S1\n", r"qrels.txt:1: expected '<qid> Q0 <docid> <relevance>'"),
        (read_qrels, "qrels.txt", "AILA_Q1 Q0 S1 yes\n", r"qrels.txt:1: expected"),
        (read_statute, "S5.txt", "Desc: no title line\n", r"S5.txt: expected a 'Title:' line and a 'Desc:' line"),
        (read_statute, "S6.txt", "Title: \nDesc: text\n", r"S6.txt: empty title"),
    ],
)
def test_malformed_files_name_the_file_and_line(tmp_path, reader, name, content, message):
    path = tmp_path / name
    path.write_text(content, "utf-8")
    with pytest.raises(KBError, match=message):
        reader(path)


def test_missing_part_is_named(tmp_path):
    root = write_dataset(tmp_path)
    (root / "Query_doc.txt").unlink()
    with pytest.raises(KBError, match=r"Query_doc.txt: not found"):
        load_aila(root)


def test_unjudged_query_is_refused(tmp_path):
    root = write_dataset(tmp_path, queries=QUERIES + "AILA_Q3||Facts nobody judged.\n")
    with pytest.raises(KBError, match="no judgments for AILA_Q3"):
        load_aila(root)


@pytest.mark.parametrize(("qid", "split"), [("AILA_Q1", "train"), ("AILA_Q10", "train"), ("AILA_Q11", "test"), ("AILA_Q50", "test")])
def test_official_split(qid, split):
    assert split_of(qid) == split
