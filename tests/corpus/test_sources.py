"""``corpus/sources.toml`` lists the official sources: well-formed, unique, and consistent with
the Act registry and with the India Code addresses recorded in the real bare-act files."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from kb.acts import registry
from kb.models import AUDIENCES, DOC_TYPES

SOURCES_TOML = Path(__file__).resolve().parents[2] / "corpus" / "sources.toml"
INDIA_CODE_ACTS = (
    "pocso", "it", "jj", "rte", "clpra", "pcma", "bns", "bnss", "bsa", "cpcr", "itpa", "dpdp", "irwa", "pwdva",
)
REQUIRED_KEYS = {*INDIA_CODE_ACTS, "pocso_rules", "it_rules", "npc2013", "ncrp"}
ALLOWED_FIELDS = {
    "key", "title", "year", "act_number", "jurisdiction", "doc_type", "audiences", "url", "format",
    "handle_url", "url_verified", "notes",
}
URL_FIELDS = ("url", "handle_url")


def _sources() -> list[dict]:
    data = tomllib.loads(SOURCES_TOML.read_text("utf-8"))
    assert set(data) == {"source"}, f"{SOURCES_TOML.name}: only [[source]] tables expected, got {sorted(data)}"
    return data["source"]


def _by_key() -> dict[str, dict]:
    return {s["key"]: s for s in _sources()}


def test_keys_are_unique_and_required_present() -> None:
    keys = [s.get("key") for s in _sources()]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    assert not duplicates, f"duplicate keys: {duplicates}"
    missing = sorted(REQUIRED_KEYS - set(keys))
    assert not missing, f"required sources missing: {missing}"


@pytest.mark.parametrize("source", _sources(), ids=lambda s: s.get("key", "?"))
def test_source_fields(source: dict) -> None:
    key = source.get("key")
    assert isinstance(key, str) and re.fullmatch(r"[a-z][a-z0-9_]*", key), f"bad key {key!r}"
    unknown = set(source) - ALLOWED_FIELDS
    assert not unknown, f"{key}: unknown fields {sorted(unknown)}"
    for field in ("title", "jurisdiction", "doc_type", "audiences", "url", "format"):
        assert source.get(field), f"{key}: missing {field}"
    assert source["jurisdiction"] == "India (Central)", f"{key}: jurisdiction {source['jurisdiction']!r}"
    assert source["doc_type"] in DOC_TYPES, f"{key}: doc_type {source['doc_type']!r} not in {DOC_TYPES}"
    assert set(source["audiences"]) <= set(AUDIENCES), f"{key}: audiences {source['audiences']}"
    assert source["format"] in ("pdf", "html"), f"{key}: format {source['format']!r}"
    for field in URL_FIELDS:
        if field in source:
            assert re.match(r"https?://[^\s/]+\.[^\s/]+", source[field]), f"{key}: {field} {source[field]!r}"
    if source["format"] == "pdf":
        assert source["url"].lower().endswith(".pdf"), f"{key}: format pdf but url {source['url']!r}"
    if "year" in source:
        assert isinstance(source["year"], int) and 1800 < source["year"] < 2100, f"{key}: year {source['year']!r}"
    if source.get("url_verified", True) is False:
        assert source.get("notes"), f"{key}: an unverified url needs notes saying what to look for"
    if source["doc_type"] == "act":
        assert re.fullmatch(r"\d+ of \d{4}", source.get("act_number", "")), f"{key}: act_number {source.get('act_number')!r}"
        assert source.get("handle_url"), f"{key}: an Act needs its India Code handle_url"


@pytest.mark.parametrize("key", sorted(set(registry()) & set(_by_key())))
def test_matches_act_registry(key: str) -> None:
    source, act = _by_key()[key], registry()[key]
    assert source["title"] == act.title, f"{key}: title {source['title']!r} != registry {act.title!r}"
    assert source.get("year") == act.year, f"{key}: year {source.get('year')} != registry {act.year}"
    assert source.get("act_number") == act.act_number, f"{key}: act_number differs from registry"
    assert source["doc_type"] == act.doc_type, f"{key}: doc_type {source['doc_type']!r} != registry {act.doc_type!r}"


@pytest.mark.parametrize("key", INDIA_CODE_ACTS)
def test_act_urls_match_bare_act_files(key: str, act_texts) -> None:
    """The handle and PDF addresses are the ones the India Code bare-act page itself lists."""
    source = _by_key()[key]
    assert source["handle_url"] == act_texts.front_matter_source(key), f"{key}: handle_url differs from the source file"
    assert source["url"] in act_texts.listed_urls(key), f"{key}: url not among {sorted(act_texts.listed_urls(key))}"
