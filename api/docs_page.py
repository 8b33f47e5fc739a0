"""An API reference page rendered on the server from the OpenAPI document.

FastAPI's default ``/docs`` loads Swagger UI from a CDN, which neither works offline nor passes
the page's Content-Security-Policy. This page is plain HTML with no script: every operation with
its parameters, request body, responses and examples, and links to ``/openapi.json``.

    >>> html = render_docs({"info": {"title": "KB", "version": "1"}, "paths": {}})
    >>> "<h1>KB" in html
    True
"""

from __future__ import annotations

import json
import re
from html import escape
from typing import Any

_METHODS = ("get", "post", "put", "patch", "delete")


def _inline(text: str) -> str:
    """Escaped text with `backticks` shown as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text))


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _type_of(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = _ref_name(schema["$ref"])
        return f'<a href="#schema-{escape(name)}">{escape(name)}</a>'
    if "anyOf" in schema:
        return " | ".join(_type_of(s) for s in schema["anyOf"])
    if "enum" in schema:
        return " | ".join(escape(json.dumps(v)) for v in schema["enum"])
    if schema.get("type") == "array":
        return f"array of {_type_of(schema.get('items', {}))}"
    if "const" in schema:
        return escape(json.dumps(schema["const"]))
    return escape(str(schema.get("type", "any")))


def _limits(schema: dict[str, Any]) -> str:
    words = []
    for key, label in (("minimum", "≥"), ("maximum", "≤"), ("minLength", "min length"), ("maxLength", "max length"),
                       ("minItems", "min items"), ("maxItems", "max items")):
        if key in schema:
            words.append(f"{label} {schema[key]}")
    if "default" in schema and schema["default"] not in (None, [], {}):
        words.append(f"default {json.dumps(schema['default'])}")
    return escape(", ".join(words))


def _example_block(value: Any) -> str:
    return f"<pre><code>{escape(json.dumps(value, indent=2, ensure_ascii=False))}</code></pre>"


def _parameters(op: dict[str, Any]) -> str:
    params = op.get("parameters") or []
    if not params:
        return ""
    rows = []
    for p in params:
        schema = p.get("schema", {})
        examples = p.get("examples") or {}
        sample = ", ".join(escape(json.dumps(e.get("value"), ensure_ascii=False)) for e in examples.values())
        rows.append(
            f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p.get('in', ''))}</td>"
            f"<td>{_type_of(schema)}</td><td>{'yes' if p.get('required') else 'no'}</td>"
            f"<td>{_inline(p.get('description', ''))} {_limits(schema)}"
            f"{'<br>e.g. ' + sample if sample else ''}</td></tr>"
        )
    return ("<h4>Parameters</h4><table><thead><tr><th>name</th><th>in</th><th>type</th><th>required</th>"
            "<th>description</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def _body(op: dict[str, Any], schemas: dict[str, Any]) -> str:
    body = op.get("requestBody")
    if not body:
        return ""
    parts = ["<h4>Request body</h4>"]
    for media, content in body.get("content", {}).items():
        schema = content.get("schema", {})
        parts.append(f"<p><code>{escape(media)}</code>: {_type_of(schema)}</p>")
        examples = [e.get("value") for e in (content.get("examples") or {}).values()]
        if not examples and "$ref" in schema:
            examples = schemas.get(_ref_name(schema["$ref"]), {}).get("examples", [])[:1]
        parts.extend(_example_block(e) for e in examples)
    return "".join(parts)


def _responses(op: dict[str, Any]) -> str:
    rows = []
    for status, response in sorted((op.get("responses") or {}).items()):
        schema = next(iter(response.get("content", {}).values()), {}).get("schema", {})
        rows.append(f"<tr><td>{escape(str(status))}</td><td>{escape(response.get('description', ''))}</td>"
                    f"<td>{_type_of(schema) if schema else ''}</td></tr>")
    return ("<h4>Responses</h4><table><thead><tr><th>status</th><th>meaning</th><th>body</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def _anchor(path: str, method: str) -> str:
    slug = path.strip("/").replace("/", "-").replace("{", "").replace("}", "")
    return f"op-{method}-{slug or 'root'}"


def _operation(path: str, method: str, op: dict[str, Any], schemas: dict[str, Any]) -> str:
    anchor = _anchor(path, method)
    description = "".join(f"<p>{_inline(par)}</p>" for par in (op.get("description") or "").split("\n\n") if par.strip())
    return (
        f'<section class="op" id="{escape(anchor)}"><h3><span class="method {method}">{method.upper()}</span> '
        f"<code>{escape(path)}</code> — {escape(op.get('summary', ''))}</h3>"
        f"{description}{_parameters(op)}{_body(op, schemas)}{_responses(op)}</section>"
    )


def _schema(name: str, schema: dict[str, Any]) -> str:
    props = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    rows = "".join(
        f"<tr><td><code>{escape(field)}</code></td><td>{_type_of(spec)}</td><td>{'yes' if field in required else 'no'}</td>"
        f"<td>{_inline(spec.get('description', ''))} {_limits(spec)}</td></tr>"
        for field, spec in props.items()
    )
    examples = "".join(_example_block(e) for e in (schema.get("examples") or [])[:1])
    table = ("<table><thead><tr><th>field</th><th>type</th><th>required</th><th>description</th></tr></thead>"
             f"<tbody>{rows}</tbody></table>") if rows else ""
    return (f'<section class="schema" id="schema-{escape(name)}"><h3>{escape(name)}</h3>'
            f"<p>{escape(schema.get('description', ''))}</p>{table}{examples}</section>")


def render_docs(spec: dict[str, Any]) -> str:
    """The whole reference page for an OpenAPI document."""
    info = spec.get("info", {})
    schemas = spec.get("components", {}).get("schemas", {})
    ops = []
    toc = []
    for path, item in spec.get("paths", {}).items():
        for method in _METHODS:
            if method in item:
                op = item[method]
                anchor = _anchor(path, method)
                toc.append(f'<li><a href="#{escape(anchor)}"><span class="method {method}">{method.upper()}</span> '
                           f"{escape(path)}</a></li>")
                ops.append(_operation(path, method, op, schemas))
    models = "".join(_schema(name, schema) for name, schema in sorted(schemas.items()))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(info.get('title', 'API'))} — API reference</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/docs.css">
</head><body>
<header><h1>{escape(info.get('title', 'API'))} <small>v{escape(str(info.get('version', '')))}</small></h1>
<p>{_inline(info.get('description', ''))}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> · <a href="/">search page</a></p></header>
<nav aria-label="Endpoints"><h2>Endpoints</h2><ul>{''.join(toc)}</ul></nav>
<main><h2>Operations</h2>{''.join(ops)}<h2>Schemas</h2>{models}</main>
</body></html>"""
