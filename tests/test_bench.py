"""The benchmarks still run and print their tables (tiny counts: no timing is asserted here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _run(script: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(BENCH / script), *args], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_validate_benchmark_measures_every_peer_in_both_forms() -> None:
    table = _run("validate.py", "--count", "100", "--peers", "10", "--repeat", "1")
    for form in ("keyValues", "normalized"):
        for tool in ("sdmtool validate ", "check-jsonschema", "jsonschema, prebuilt", "jsonschema-rs"):
            rows = [line for line in table.splitlines() if line.startswith(tool) and f" {form} " in line]
            assert rows, (tool, form)
    assert "`sdmtool validate one.json`:" in table
    for step in ("orjson.loads alone", "msgspec typed decoding", "line proof, in all"):
        (row,) = [line for line in table.splitlines() if step in line]
        assert all(float(cell) > 0 for cell in row.split()[-2:]), row  # one figure per form
    # A difference of two whole runs: at this size, noise may make it negative; it is still there.
    (row,) = [line for line in table.splitlines() if line.startswith("invalid entity, end to end")]
    assert len([float(cell) for cell in row.split()[-2:]]) == 2


def test_inference_benchmark_reports_ratios_to_the_onnx_floor() -> None:
    table = _run("inference.py", "--count", "8", "--repeat", "1", "--batch-sizes", "4")
    floors = [line for line in table.splitlines() if "ONNX only (floor)" in line]
    assert floors and all(line.rstrip().endswith("1.00x") for line in floors)
    assert any("preprocess + infer, batched" in line for line in table.splitlines())
