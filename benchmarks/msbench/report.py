"""Result rows, best-of-N sampling, the printed table and the JSON output."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Row:
    """One line of the table: modelseal against a baseline, checked against a budget.

    ``passed`` is None when the row is informational or was skipped.
    """

    scenario: str
    unit: str = "s"
    modelseal: float | None = None
    baseline: float | None = None
    baseline_name: str = ""
    target: str = ""
    passed: bool | None = None
    note: str = ""
    samples: dict[str, list[float]] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.modelseal is None or not self.baseline:
            return None
        return self.modelseal / self.baseline

    @property
    def verdict(self) -> str:
        if self.passed is None:
            return "skipped" if self.modelseal is None else "info"
        return "PASS" if self.passed else "FAIL"


def skipped(scenario: str, reason: str) -> Row:
    return Row(scenario, note=f"skipped: {reason}")


def best_of(rounds: int, contenders: Sequence[tuple[str, Callable[[], float]]],
            before_each: Callable[[], object] | None = None) -> dict[str, list[float]]:
    """Interleave contenders round by round; returns every sample (take min for best)."""
    samples: dict[str, list[float]] = {name: [] for name, _ in contenders}
    for _ in range(rounds):
        for name, measure in contenders:
            if before_each is not None:
                before_each()
            samples[name].append(measure())
    return samples


_HEADERS = ("scenario", "modelseal", "baseline", "ratio", "target", "result")


def table(rows: Sequence[Row]) -> str:
    """A fixed-width table, with each row's note on the line below it."""
    cells = [_HEADERS, *(_cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(_HEADERS))]
    out = [_line(_HEADERS, widths), _line(tuple("-" * w for w in widths), widths)]
    for row, line in zip(rows, cells[1:], strict=True):
        out.append(_line(line, widths))
        if row.note:
            out.append(f"    {row.note}")
    return "\n".join(out)


def _cells(row: Row) -> tuple[str, ...]:
    baseline = _quantity(row.baseline, row.unit)
    if row.baseline is not None and row.baseline_name:
        baseline = f"{baseline} ({row.baseline_name})"
    ratio = f"{row.ratio:.3f}" if row.ratio is not None else "-"
    return (row.scenario, _quantity(row.modelseal, row.unit), baseline, ratio,
            row.target or "-", row.verdict)


def _quantity(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    return f"{value:.3f} s" if unit == "s" else f"{value:.1f} {unit}"


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()


def write_json(path: Path, rows: Sequence[Row], meta: dict[str, Any]) -> None:
    payload = {"meta": meta,
               "rows": [{**asdict(row), "ratio": row.ratio, "result": row.verdict}
                        for row in rows]}
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
