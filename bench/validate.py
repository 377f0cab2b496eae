"""Validation throughput: sdmtool end to end against plain jsonschema, measured in the same run.

    python bench/validate.py [--count N] [--repeat R]

Generates MLModel and HandwritingDigit entities (10 % invalid) from the bundled examples, in keyValues and
NGSI-LD normalized form, as NDJSON files; then times, for each form, the ``sdmtool validate`` command on the
file (a whole process: read, parse, validate, report) and, for keyValues, plain python-jsonschema with a
validator built once (parse + ``iter_errors``). Prints medians and the ratio against jsonschema, plus the
wall time of one ``sdmtool validate one.json`` process. Machines are noisy: compare ratios.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

import sdmtool
from sdmtool import forms, resources, schemas


def generate(count: int) -> list[dict[str, Any]]:
    """``count`` entities, alternating MLModel and HandwritingDigit; every tenth one breaks its schema."""
    examples = {
        name: json.loads((resources.schemas_dir() / name / "examples" / "example.json").read_text())
        for name in ("MLModel", "HandwritingDigit")
    }
    entities = []
    for index in range(count):
        kind = "MLModel" if index % 2 == 0 else "HandwritingDigit"
        entity = copy.deepcopy(examples[kind])
        entity["id"] = f"urn:ngsi-ld:{kind}:bench-{index}"
        invalid = index % 10 == 9
        if kind == "MLModel":
            entity["version"] = index if invalid else str(index)
        else:
            entity["predictedDigit"] = 12 if invalid else index % 10
        entities.append(entity)
    return entities


def median_seconds(run: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000, help="entities per form (default 20000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is kept")
    args = parser.parse_args(argv)
    if args.count < 10 or args.repeat < 1:
        parser.error("--count must be at least 10 and --repeat at least 1")
    with tempfile.TemporaryDirectory(prefix="sdm-bench-") as folder:
        return run(args.count, args.repeat, Path(folder))


def run(count: int, repeat: int, folder: Path) -> int:

    entities = generate(count)
    files = {
        "keyValues": folder / "key-values.ndjson",
        "normalized": folder / "normalized.ndjson",
    }
    files["keyValues"].write_text("".join(json.dumps(e) + "\n" for e in entities))
    files["normalized"].write_text("".join(json.dumps(forms.to_normalized(e)) + "\n" for e in entities))
    one = folder / "one.json"
    one.write_text(json.dumps(entities[0]))

    validators = {
        name: Draft202012Validator(
            schemas.load_schema(name), registry=schemas.registry(), format_checker=schemas.format_checker()
        )
        for name in ("MLModel", "HandwritingDigit")
    }

    def plain_jsonschema() -> int:
        invalid = 0
        with files["keyValues"].open() as lines:
            for line in lines:
                entity = json.loads(line)
                invalid += any(True for _ in validators[entity["type"]].iter_errors(entity))
        return invalid

    def with_sdmtool(path: Path) -> Callable[[], None]:
        # The command users run: a whole process that reads, parses, validates and writes the report.
        command = [sys.executable, "-m", "sdmtool.cli", "validate", "--format", "json", str(path)]
        return lambda: subprocess.run(command, capture_output=True, check=False)

    # The same verdicts, or the comparison means nothing.
    expected_invalid = count // 10
    assert plain_jsonschema() == expected_invalid
    for form, path in files.items():
        invalid = {f.index for f in sdmtool.validate(path) if f.is_error}
        assert len(invalid) == expected_invalid, (form, len(invalid))

    rows = []
    baseline = median_seconds(plain_jsonschema, repeat)
    rows.append(("jsonschema (prebuilt validator)", "keyValues", baseline))
    for form, path in files.items():
        rows.append(("sdmtool validate (process)", form, median_seconds(with_sdmtool(path), repeat)))

    cli = [sys.executable, "-m", "sdmtool.cli", "validate", str(one)]
    wall = median_seconds(lambda: subprocess.run(cli, check=True, capture_output=True), max(repeat, 5))

    print(f"{count} entities per form, 10 % invalid; median of {repeat} runs\n")
    print(f"{'tool':34} {'form':11} {'seconds':>8} {'entities/s':>11} {'vs jsonschema':>14}")
    for tool, form, seconds in rows:
        print(f"{tool:34} {form:11} {seconds:8.3f} {count / seconds:11,.0f} {baseline / seconds:13.2f}x")
    print(f"\n`sdmtool validate one.json` wall time (median of {max(repeat, 5)}): {wall:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
