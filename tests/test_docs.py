"""The documentation stays true to the code: generated parts are fresh, links resolve, README is short."""

from __future__ import annotations

import re
import subprocess
import sys

from conftest import ROOT

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_the_configuration_reference_is_generated_from_the_schema() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "config_reference.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_readme_is_the_short_front_door() -> None:
    assert len((ROOT / "README.md").read_text().splitlines()) <= 200


def test_relative_links_resolve() -> None:
    for document in DOCUMENTS:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", document.read_text()):
            assert (document.parent / target).exists(), f"{document.name}: {target}"
