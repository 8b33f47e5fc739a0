"""GET /provisions/{act}/{section} and GET /acts: full text, sub-sections, footnotes, links both ways."""

from __future__ import annotations

import pytest
from api_helpers import assert_error


def test_provision_in_full(client):
    body = client.get("/provisions/pocso/19").json()
    assert body["provision_key"] == "pocso:19"
    assert body["citation"] == "POCSO Act, 2012, s. 19"
    assert body["heading"].startswith("Reporting of offences")
    assert body["status"] == "in_force"
    assert [u["path"] for u in body["subunits"]] == ["(1)", "(2)", "(3)", "(4)"]
    for unit in body["subunits"]:
        assert unit["text"] == body["text"][unit["char_start"]:unit["char_end"]]
        assert unit["text"].startswith(unit["path"])
        assert unit["citation"] == f"POCSO Act, 2012, s. 19{unit['path']}"
    assert body["source"]["file"] == "pocso-sample.md"


def test_cross_references_resolve_both_ways(client):
    punishment = client.get("/provisions/pocso/21").json()
    refs = {r["key"]: r for r in punishment["cross_refs"]}
    assert {"pocso:19", "pocso:20"} <= set(refs)
    assert refs["pocso:19"] == {"key": "pocso:19", "citation": "POCSO Act, 2012, s. 19", "heading": refs["pocso:19"]["heading"],
                                "exists": True, "act_key": "pocso", "section": "19"}
    assert refs["pocso:19"]["heading"].startswith("Reporting")

    reporting = client.get("/provisions/pocso/19").json()
    referring = {r["key"]: r for r in reporting["referred_by"]}
    assert "pocso:21" in referring and referring["pocso:21"]["exists"]
    # The police guide cites section 19 of the POCSO Act: guides show up as referring documents too.
    assert any(k.startswith("doc-police-desk-guide") for k in referring), referring


def test_reference_to_a_section_not_stored_is_marked(client):
    body = client.get("/provisions/pocso/24").json()
    missing = [r for r in body["cross_refs"] if r["key"] == "pocso:26"]
    assert missing == [{"key": "pocso:26", "citation": "POCSO Act, s. 26", "heading": None, "exists": False,
                        "act_key": "pocso", "section": "26"}]
    assert client.get("/provisions/pocso/26").status_code == 404


def test_amendment_footnotes(client):
    body = client.get("/provisions/pocso/2").json()
    assert body["footnotes"] == ["1. Inserted by the amending Act of 2019 (test fixture note)."]
    assert [u["path"] for u in body["subunits"]] == ["(1)", "(1)(a)", "(1)(b)", "(1)(c)"]


@pytest.mark.parametrize("act", ["pocso", "POCSO", "POCSO Act", "protection of children from sexual offences act"])
def test_act_by_key_or_alias(client, act):
    assert client.get(f"/provisions/{act}/21").json()["provision_key"] == "pocso:21"


@pytest.mark.parametrize(("section", "focus"), [("2(1)(b)", "(1)(b)"), ("19(4)", "(4)"), ("19", None)])
def test_subsection_in_path_sets_focus(client, section, focus):
    body = client.get(f"/provisions/pocso/{section}").json()
    assert body["section"] == section.split("(")[0]
    assert body["focus"] == focus


def test_alphanumeric_section(client):
    assert client.get("/provisions/it/67B").json()["citation"] == "Information Technology Act, 2000, s. 67B"


def test_guide_block_is_a_provision_too(client):
    acts = {a["act_key"]: a for a in client.get("/acts").json()["acts"]}
    guide = next(k for k in acts if k.startswith("doc-police-desk-guide"))
    body = client.get(f"/provisions/{guide}/2").json()
    assert body["doc_type"] == "sop"
    assert "pocso:19" in [r["key"] for r in body["cross_refs"]]


@pytest.mark.parametrize("path", ["/provisions/pocso/999", "/provisions/unknownact/1", "/provisions/pocso/(1)"])
def test_missing_provision_is_404(client, path):
    assert_error(client.get(path), 404, "not_found")


def test_acts_lists_stored_acts_with_counts(client):
    acts = {a["act_key"]: a for a in client.get("/acts").json()["acts"]}
    assert acts["pocso"]["sections"] == 7
    assert acts["it"]["sections"] == 2 and acts["jj"]["sections"] == 2
    assert acts["pocso"]["short_name"] == "POCSO Act" and acts["pocso"]["year"] == 2012
    assert all(a["chunks"] >= a["sections"] for a in acts.values())
