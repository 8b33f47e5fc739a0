"""The page at / and the offline API reference at /docs: self-contained, no CDN, no HTML injection."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "api" / "static"
EXTERNAL = re.compile(r"(?:src|href)\s*=\s*[\"']?(?:https?:)?//|@import|url\(\s*[\"']?(?:https?:)?//", re.I)


def test_page_is_served_with_its_assets(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text):
        response = client.get(asset)
        assert response.status_code == 200, asset
    assert client.get("/static/app.js").headers["content-type"].split(";")[0] in ("text/javascript", "application/javascript")


@pytest.mark.parametrize("name", ["index.html", "app.css", "app.js", "docs.css"])
def test_no_external_resources(name):
    text = (STATIC / name).read_text("utf-8")
    assert not EXTERNAL.search(text), f"{name} loads something from another host"


def test_page_never_writes_html_from_data():
    script = (STATIC / "app.js").read_text("utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in script, sink


def test_page_has_no_inline_script_or_style():
    html = (STATIC / "index.html").read_text("utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert "<style" not in html and " style=" not in html and "onclick" not in html.lower()


def test_page_accessibility_basics():
    html = (STATIC / "index.html").read_text("utf-8")
    assert '<html lang="en">' in html
    assert '<label for="q"' in html and 'id="q"' in html
    assert 'aria-live="polite"' in html
    assert '<fieldset class="audience">' in html and "<legend>" in html
    for value in ("lawyer", "police", "ngo"):
        assert f'value="{value}"' in html
    assert 'name="viewport"' in html


def test_docs_page_is_offline_and_lists_every_operation(client):
    page = client.get("/docs")
    assert page.status_code == 200
    assert not EXTERNAL.search(page.text)
    assert "<script" not in page.text
    spec = client.get("/openapi.json").json()
    for path, item in spec["paths"].items():
        for method in item:
            assert f"{method.upper()}</span> <code>{path}</code>" in page.text, (method, path)


def test_openapi_is_complete_with_examples(client):
    spec = client.get("/openapi.json").json()
    expected = {("get", "/search"), ("post", "/search"), ("post", "/ask"), ("get", "/provisions/{act}/{section}"),
                ("get", "/acts"), ("get", "/documents"), ("get", "/documents/{doc_id}"), ("delete", "/documents/{doc_id}"),
                ("post", "/ingest"), ("get", "/health"), ("get", "/stats"), ("get", "/audit")}
    found = {(m, p) for p, item in spec["paths"].items() for m in item}
    assert found == expected
    schemas = spec["components"]["schemas"]
    for method, path in expected:
        op = spec["paths"][path][method]
        ok = op["responses"]["200"]["content"]["application/json"]["schema"]
        name = ok["$ref"].rsplit("/", 1)[-1]
        assert schemas[name].get("examples") or name in ("ActsResponse", "DocumentsPage", "DocumentDetail"), name
        assert op.get("summary") and op.get("description"), (method, path)
        if path != "/health":
            assert "ErrorResponse" in str(op["responses"]), (method, path)
    assert schemas["ErrorResponse"]["examples"][0]["error"]["code"] == "invalid_query"
    assert spec["components"]["securitySchemes"]["APIKeyHeader"]["name"] == "X-API-Key"
    search_q = next(p for p in spec["paths"]["/search"]["get"]["parameters"] if p["name"] == "q")
    assert search_q["examples"]


def _luminance(hex_colour: str) -> float:
    """Relative luminance, WCAG 2.1 (https://www.w3.org/TR/WCAG21/#dfn-relative-luminance)."""
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_text_colours_meet_wcag_aa():
    css = (STATIC / "app.css").read_text("utf-8")
    var = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", css))
    white = "#ffffff"
    pairs = [
        (var["text"], bg) for bg in (var["bg"], var["panel"], var["mark"], var["note-bg"], var["warn-bg"])
    ] + [
        (var["muted"], bg) for bg in (var["bg"], var["panel"], var["warn-bg"], var["note-bg"])
    ] + [
        (var["link"], bg) for bg in (var["bg"], var["panel"], var["note-bg"], var["warn-bg"])
    ] + [
        (var["link-visited"], var["bg"]), (var["link-visited"], var["panel"]),
        (white, var["accent"]),                       # primary button
        (var["warn-line"], var["bg"]), (var["warn-line"], var["warn-bg"]),  # "Nearest match — not an answer"
        (white, "#0d2f57"), ("#e6ecf4", "#0d2f57"),   # header
        ("#5c636b", white),                           # placeholder
    ]
    low = [(fg, bg, round(_contrast(fg, bg), 2)) for fg, bg in pairs if _contrast(fg, bg) < 4.5]
    assert low == [], f"colour pairs below 4.5:1: {low}"
