"""Result tables: printed as Markdown (ready for BENCHMARKS.md) and saved as JSON with the machine facts.

Only formatting lives here; every number is measured by the script that owns the table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *values: Any) -> None:
        if len(values) != len(self.columns):
            raise ValueError(f"{self.title}: {len(values)} values for {len(self.columns)} columns")
        self.rows.append(list(values))

    def markdown(self) -> str:
        lines = [f"### {self.title}", "", "| " + " | ".join(self.columns) + " |"]
        lines.append("|" + "|".join("---" for _ in self.columns) + "|")
        for row in self.rows:
            lines.append("| " + " | ".join(_cell(value) for value in row) + " |")
        lines.extend(["", *self.notes] if self.notes else [])
        return "\n".join(lines) + "\n"

    def print(self) -> None:
        print(self.markdown(), flush=True)

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "columns": self.columns, "rows": self.rows, "notes": self.notes}


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 100:
            return f"{value:.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"
    return str(value)


def save(path: Path | None, machine: dict[str, Any], tables: list[Table], **extra: Any) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"machine": machine, "tables": [t.to_json() for t in tables], **extra}
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(f"results written to {path}")


def ratio(ours: float | None, baseline: float | None) -> float | None:
    if ours is None or baseline is None or baseline == 0:
        return None
    return ours / baseline


def verdict(met: bool | None) -> str:
    return "–" if met is None else ("met" if met else "MISSED")
