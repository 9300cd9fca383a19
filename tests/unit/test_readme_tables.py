"""The README's generated tables (reason codes, file policy) are the code's own definitions."""

from __future__ import annotations

from pathlib import Path

from modelport.readme_tables import render

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_tables_are_current() -> None:
    text = README.read_text(encoding="utf-8")
    assert render(text) == text, "README.md tables are stale: run `.venv/bin/python -m modelport.readme_tables`"
