"""MkDocs hook: the tables that the code defines are built from it at every `mkdocs build`,
so that the site cannot drift from the code. A page asks for one by a line of its own,
`[[generated: NAME]]`; an unknown name fails the build. Nothing generated is committed.

- `permission-matrix`: domain/roles.py, printed as `ledger roles` prints it;
- `usage-schemas`, `ledger-schemas`: one table per schema file in schemas/ (field, type,
  meaning from the field's `doc`);
- `views`: the columns of each view in `ledger_views`, from the projections' `View.columns`
  (the same text the database holds as column comments), with their `ledger query` filters;
- `readme`: the README itself, its links made the site's (the site's home page).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from mkdocs.exceptions import PluginError

ROOT = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"^\[\[generated: ([a-z-]+)\]\]$", re.MULTILINE)


def cell(text: object) -> str:
    """Text as one Markdown table cell: `<source>` in a doc is text, not an HTML tag."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|").replace("\n", " ")


def table(header: tuple[str, ...], rows: list[tuple]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# --- roles -------------------------------------------------------------------------------

def permission_matrix() -> str:
    from domain.roles import PERMISSIONS, Role
    from ledger.commands.staff import permission_matrix as printed

    return printed(PERMISSIONS, list(Role))


# --- Avro schemas ------------------------------------------------------------------------

def avro_type(schema) -> str:
    """An Avro type in a few words: `decimal(38, 9)`, `array of InvoiceLine`, `string or null`."""
    if isinstance(schema, str):
        return schema
    if isinstance(schema, list):
        named = [avro_type(s) for s in schema if s != "null"]
        return " or ".join(named) + (" or null" if "null" in schema else "")
    logical = schema.get("logicalType")
    if logical == "decimal":
        return f"decimal({schema['precision']}, {schema.get('scale', 0)})"
    if logical == "uuid":
        return "uuid string"
    if logical:
        return logical
    kind = schema["type"]
    if kind == "array":
        return f"array of {avro_type(schema['items'])}"
    if kind == "map":
        return f"map of {avro_type(schema['values'])}"
    if kind in ("record", "fixed"):
        return schema["name"]
    if kind == "enum":
        return "enum: " + ", ".join(schema["symbols"])
    return avro_type(kind)


def nested_record(schema):
    """The record an array or union of a field holds, whose fields are listed under it."""
    if isinstance(schema, list):
        return next((r for r in map(nested_record, schema) if r), None)
    if isinstance(schema, dict):
        if schema.get("type") == "record":
            return schema
        if schema.get("type") == "array":
            return nested_record(schema["items"])
    return None


def field_rows(fields: list[dict], prefix: str = "") -> list[tuple[str, str, str]]:
    rows = []
    for f in fields:
        kind = avro_type(f["type"])
        if "default" in f:
            kind += f", default `{json.dumps(f['default'])}`"
        rows.append((f"`{prefix}{f['name']}`", kind, f.get("doc", "")))
        inner = nested_record(f["type"])
        if inner:
            many = "[]" if "array" in kind else ""
            rows += field_rows(inner["fields"], f"{prefix}{f['name']}{many}.")
    return rows


def schema_tables(pattern: str) -> str:
    sections = []
    for path in sorted((ROOT / "schemas").glob(pattern)):
        schema = json.loads(path.read_text())
        name = path.name.removesuffix(".avsc")
        sections.append(
            f"### `{schema['name']}` ({name.rsplit('.', 1)[-1]})\n\n"
            f"{schema.get('doc', '')} File: `schemas/{path.name}`.\n\n"
            + table(("field", "type", "meaning"), field_rows(schema["fields"]))
        )
    if not sections:
        raise PluginError(f"no schema file matches schemas/{pattern}")
    return "\n\n".join(sections)


# --- views -------------------------------------------------------------------------------

def views() -> str:
    from ledger.config import Settings
    from projections.registry import all_projections

    schema = Settings().views_schema
    sections = []
    for projection in all_projections():
        for view in projection.views:
            filters = ", ".join(f"`--{f.option}`" for f in view.filters) or "none"
            sections.append(
                f"### `{schema}.{view.name}` (`ledger query {view.query_name}`)\n\n"
                f"One row per {view.row_name}, ordered and paged by `{view.key}`; from the "
                f"`{projection.name}` projection. Filters: {filters}.\n\n"
                + table(("column", "meaning"), [(f"`{c}`", meaning) for c, meaning in view.columns.items()])
            )
    return "\n\n".join(sections)


# --- the README as the site's home page ----------------------------------------------------

def readme() -> str:
    """The README, with its links into docs/ made relative to the site: one text, two places."""
    text = (ROOT / "README.md").read_text().replace("](docs/)", "](index.md)")
    return re.sub(r"\]\(docs/", "](", text)


GENERATORS = {
    "readme": readme,
    "permission-matrix": permission_matrix,
    "usage-schemas": lambda: schema_tables("billing.usage.*.avsc"),
    "ledger-schemas": lambda: schema_tables("billing.ledger.*.avsc"),
    "views": views,
}


def on_page_markdown(markdown: str, page, config, files) -> str:
    def generate(match: re.Match) -> str:
        name = match.group(1)
        if name not in GENERATORS:
            raise PluginError(f"{page.file.src_path}: no generated table named {name!r}; there are: {', '.join(GENERATORS)}")
        return GENERATORS[name]()

    return MARKER.sub(generate, markdown)
