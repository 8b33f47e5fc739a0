"""Chunks, provisions and sources for the embedded-store tests (texts written by the team,
paraphrasing the Acts; not statute text)."""

from __future__ import annotations

import sqlite3

from haystack import Document

from kb.models import Locator, Provision, SourceRecord, SubUnit
from kb.stores.sqlite import SQLiteKnowledgeStore

DIM = 8
IT = {"act_key": "it", "act_title": "The Information Technology Act, 2000", "short_name": "IT Act", "year": 2000}
POCSO = {"act_key": "pocso", "act_title": "The Protection of Children from Sexual Offences Act, 2012",
         "short_name": "POCSO Act", "year": 2012}  # fmt: skip


def vec(*hot: int) -> list[float]:
    return [1.0 if i in hot else 0.0 for i in range(DIM)]


def provision(act: dict, section: str, text: str, heading: str, cross_refs: tuple[str, ...] = ()) -> Provision:
    locator = Locator(section=section, heading=heading, doc_type="act", **act)
    return Provision(locator=locator, text=text, cross_refs=list(cross_refs),
                     subunits=[SubUnit("(1)", "subsection", 0, min(len(text), 10))])  # fmt: skip


def chunk(doc_id: str, prov: Provision, embedding: list[float] | None, *, audience=("lawyer",), n: int = 0) -> Document:
    meta = {**prov.locator.to_meta(), "doc_id": doc_id, "audience": list(audience), "language": "en"}
    return Document(id=f"{doc_id}-{prov.locator.section}-{n}", content=prov.text, meta=meta, embedding=embedding)


def source(doc_id: str, title: str, *paths: str, act_key: str = "it") -> SourceRecord:
    return SourceRecord(doc_id=doc_id, title=title, act_key=act_key, paths=list(paths), audiences=["lawyer"])


S67A = provision(IT, "67A", "Whoever publishes or transmits in electronic form material containing sexually explicit "
                 "acts shall be punished with imprisonment.", "Punishment for publishing sexually explicit material")
S67B = provision(IT, "67B", "Whoever publishes or transmits material depicting children in sexually explicit acts, or "
                 "browses or downloads such material, shall be punished.", "Punishment for material depicting children",
                 cross_refs=("it:67A", "pocso:15"))  # fmt: skip
S15 = provision(POCSO, "15", "Any person who stores pornographic material involving a child without reporting it "
                "shall be liable to a fine.", "Punishment for storage of pornographic material involving child")
S19 = provision(POCSO, "19", "Any person who apprehends that an offence is likely to be committed shall report it to "
                "the Special Juvenile Police Unit or the local police.", "Reporting of offences", cross_refs=("pocso:15",))


def write_two_acts(store: SQLiteKnowledgeStore) -> SQLiteKnowledgeStore:
    """IT Act ss. 67A, 67B and POCSO ss. 15, 19 as two sources."""
    store.write_source(source("it-md", "IT Act", "/corpus/it.md"), [S67A, S67B],
                       [chunk("it-md", S67A, vec(0)), chunk("it-md", S67B, vec(1), audience=("police", "lawyer"))])
    store.write_source(source("pocso-md", "POCSO Act", "/corpus/pocso.md", act_key="pocso"), [S15, S19],
                       [chunk("pocso-md", S15, vec(1, 2), audience=("ngo",)), chunk("pocso-md", S19, vec(3), audience=("police",))])  # fmt: skip
    return store


def raw_connection(store: SQLiteKnowledgeStore) -> sqlite3.Connection:
    """A connection of our own to the store's file, for corrupting it on purpose."""
    return sqlite3.connect(store.path, isolation_level=None)
