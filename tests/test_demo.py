"""``sdm-runtime demo``: the main job as a user runs it, with separate broker and runtime processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_demo_json_summary(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "reference_runtime.cli",
            "demo",
            "--json",
            "--count",
            "40",
            "--workdir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout)
    assert {"sent", "predicted", "accuracy", "latency_ms_p50", "latency_ms_p95", "invalid_entities"} <= set(
        summary
    )
    assert summary["sent"] == summary["predicted"] == 40
    assert summary["invalid_entities"] == 0
    assert summary["accuracy"] >= 0.95
    assert 0 < summary["latency_ms_p50"] <= summary["latency_ms_p95"]
    # MLModel + MLProcessing + SubscriptionQuery + 40 digits were all validated.
    assert summary["validated_entities"] == 43
    assert len(list((tmp_path / "images").glob("*.png"))) == 40
    dump = json.loads((tmp_path / "broker-dump.json").read_text())
    assert {e["type"] for e in dump} == {"MLModel", "MLProcessing", "SubscriptionQuery", "HandwritingDigit"}


def test_the_demo_counts_invalid_entities_with_sdmtool(tmp_path: Path) -> None:
    from reference_runtime.demo import validate_dump

    dump = tmp_path / "dump.json"
    dump.write_text(
        json.dumps(
            [
                {
                    "id": "urn:ngsi-ld:MLModel:a",
                    "type": "MLModel",
                    "version": {"type": "Property", "value": 12},
                },
                {
                    "id": "urn:ngsi-ld:MLModel:b",
                    "type": "MLModel",
                    "version": {"type": "Property", "value": "12"},
                },
                {"id": "urn:ngsi-ld:HandwritingDigit:c", "type": "HandwritingDigit", "predictedDigit": 10},
            ]
        )
    )
    assert validate_dump(dump) == 2


def test_a_rerun_in_the_same_folder_starts_afresh(tmp_path: Path) -> None:
    # The second run must not reuse the first one's broker database (its unchanged upserts notify nobody).
    (tmp_path / "notes.txt").write_text("mine")
    command = [sys.executable, "-m", "reference_runtime.cli", "demo", "--json", "--count", "5"]
    for _ in range(2):
        result = subprocess.run(
            [*command, "--workdir", str(tmp_path)], capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert json.loads(result.stdout)["predicted"] == 5
    assert (tmp_path / "notes.txt").read_text() == "mine"  # only the demo's own files are removed
    assert len(list((tmp_path / "images").glob("*.png"))) == 5
