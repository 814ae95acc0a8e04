"""The accuracy gate: metrics of the default mode may not drop below eval/expected.json."""

from __future__ import annotations

import json
from pathlib import Path

from eval.runner import ACCURACY_METRICS, ModeReport

EXPECTED_FILE = Path(__file__).with_name("expected.json")
GATED_MODE = "hybrid"


def load_expected(path: Path = EXPECTED_FILE) -> dict:
    """The recorded expectations; none recorded yet is an empty record (nothing is gated)."""
    if not path.exists():
        return {"benchmarks": {}}
    return json.loads(path.read_text(encoding="utf-8"))


def gate_failures(benchmark: str, reports: dict[str, ModeReport], expected: dict) -> list[str]:
    """Every gated metric below expected minus tolerance, as a readable line; [] when it passes."""
    wanted = expected.get("benchmarks", {}).get(benchmark, {}).get(GATED_MODE)
    if wanted is None:
        return []
    tolerance = expected["tolerance"]
    actual = reports[GATED_MODE].overall
    return [
        f"{benchmark} {GATED_MODE} {name}: {actual[name]:.4f} < expected {wanted[name]:.4f} - {tolerance}"
        for name in ACCURACY_METRICS
        if name in wanted and actual[name] < wanted[name] - tolerance
    ]


def record_expected(benchmark: str, reports: dict[str, ModeReport], path: Path = EXPECTED_FILE) -> None:
    """Write this run's metrics as the new expected values for the benchmark (all modes)."""
    expected = {"tolerance": 0.02, "gated_mode": GATED_MODE, **load_expected(path)}
    expected.setdefault("benchmarks", {})[benchmark] = {
        mode: {name: report.overall[name] for name in ACCURACY_METRICS} for mode, report in reports.items()
    }
    path.write_text(json.dumps(expected, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
