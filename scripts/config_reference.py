"""Write docs/configuration-reference.md from schemas/config.schema.yaml, so the reference cannot drift.

Usage: python scripts/config_reference.py [--check]
--check exits 1 (and writes nothing) when the file is not what the schema gives; the tests run it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "schemas" / "config.schema.yaml"
OUTPUT = ROOT / "docs" / "configuration-reference.md"
BOUNDS = {"minimum": "≥", "exclusiveMinimum": ">", "maximum": "≤"}
HEADER = """# Configuration reference

Generated from `schemas/config.schema.yaml` by `python scripts/config_reference.py`; do not edit by hand.
Every key below is checked before any job runs; unknown keys are errors. `<name>` stands for a key you
choose (a model family, a language code). See [configuration.md](configuration.md) for how to use them.

| key | type | default | description |
|---|---|---|---|
"""


def resolve(node: dict, schema: dict) -> dict:
    """A node with its ``$ref`` followed (keys given beside the ``$ref`` win, as the schema means)."""
    if "$ref" not in node:
        return node
    target = schema
    for part in node["$ref"].removeprefix("#/").split("/"):
        target = target[part]
    return {**resolve(target, schema), **{key: value for key, value in node.items() if key != "$ref"}}


def type_of(node: dict, schema: dict) -> str:
    if "enum" in node:
        return " \\| ".join(f"`{value}`" for value in node["enum"])
    if "oneOf" in node:
        return " or ".join("{" + ", ".join(option.get("required", [])) + "}" for option in node["oneOf"])
    kind = node.get("type", "")
    if kind == "array" and "items" in node:
        return f"list of {type_of(resolve(node['items'], schema), schema)}"
    bounds = [f"{sign} {node[key]}" for key, sign in BOUNDS.items() if key in node]
    return " ".join([kind, *bounds]).strip()


def rows(node: dict, schema: dict, prefix: str) -> Iterator[tuple[str, str, str, str]]:
    node = resolve(node, schema)
    if prefix:
        default = f"`{json.dumps(node['default'])}`" if "default" in node else ""
        description = " ".join(str(node.get("description", "")).split())
        yield prefix, type_of(node, schema), default, description.replace("|", "\\|")
    for name, child in node.get("properties", {}).items():
        yield from rows(child, schema, f"{prefix}.{name}" if prefix else name)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        yield from rows(extra, schema, f"{prefix}.<name>")


def reference() -> str:
    schema = yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))
    lines = [f"| `{key}` | {kind} | {default} | {description} |" for key, kind, default, description
             in rows(schema, schema, "")]
    return HEADER + "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    text = reference()
    if parser.parse_args().check:
        if not OUTPUT.exists() or OUTPUT.read_text(encoding="utf-8") != text:
            sys.exit(f"{OUTPUT.relative_to(ROOT)} is stale: run python scripts/config_reference.py")
        return
    OUTPUT.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
