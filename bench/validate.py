"""Validation throughput: `sdmtool validate` against check-jsonschema and plain jsonschema, in one run.

    python bench/validate.py [--count N] [--repeat R] [--quick]

Generates MLModel and HandwritingDigit entities from the bundled examples (10 % invalid), in keyValues and
NGSI-LD normalized form, as NDJSON files. Then times, for each form:

* ``sdmtool validate FILE``: a whole process, as users run it (read, parse, validate, text report);
* the same on the valid entities alone: what the fast path costs when there is nothing to explain;
* check-jsonschema, a process on one file per entity, with a bundled copy of the schema (see below);
* plain python-jsonschema with a validator built once (``json.loads`` + ``iter_errors``), in-process;
* jsonschema-rs with a validator built once (``orjson.loads`` + ``is_valid``), in-process, for orientation.

A second table says where the time of one valid line goes, in-process: parsing alone, sdmtool's typed
decoding and repeated-key count, the whole line proof, and jsonschema-rs on the derived schema; and what an
invalid entity costs (the run with invalid entities minus the run without, per invalid entity).

The slow peers run on a bounded subset and their rate is scaled from it. Every tool must find the same
number of invalid entities, or the comparison means nothing. Rates are medians of R runs; the machine is
shared, so compare ratios, which are measured in the same run.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from jsonschema import Draft202012Validator
from timing import median_seconds  # bench/timing.py, beside this script

from sdmtool import derive, forms, resources, schemas

TYPES = ("MLModel", "HandwritingDigit")
# The processes run as an installed tool does, from cached bytecode: with PYTHONDONTWRITEBYTECODE set,
# every run would compile the modules afresh and time that too.
ENVIRONMENT = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
FORMS = ("keyValues", "normalized")


# How the invalid entities break their schema, in turn: wrong JSON types, values out of an enum or a range,
# a pattern, a format, too few items, a nested member, and an id that is no URI (a failed anyOf).
BREAKAGES: dict[str, list[tuple[tuple[str, ...], Any]]] = {
    "MLModel": [
        (("version",), 3),
        (("modelFormat",), "h5"),
        (("modelSha256",), "not-a-sha256"),
        (("dateCreated",), "yesterday"),
        (("inputAttributes",), []),
        (("trainingDataset", "sampleCount"), "7000"),
        (("id",), 42),
    ],
    "HandwritingDigit": [
        (("predictedDigit",), 12),
        (("confidence",), "high"),
        (("imagePath",), "digits 0007.png"),
        (("digitScores",), [0.5, 0.5]),
        (("imageMetadata", "mediaType"), "png"),
        (("datePredicted",), "2026-02-30T10:00:00Z"),
        (("annotatedDigit",), 7.5),
    ],
}


def broken(index: int) -> bool:
    """Whether entity ``index`` of :func:`generate` breaks its schema: every tenth of each type."""
    return (index // 2) % 10 == 9


def generate(count: int) -> list[dict[str, Any]]:
    """``count`` entities, alternating MLModel and HandwritingDigit; every tenth one of each type breaks its
    schema, each time in the next way of :data:`BREAKAGES`."""
    examples = {
        name: json.loads((resources.schemas_dir() / name / "examples" / "example.json").read_text())
        for name in TYPES
    }
    entities = []
    for index in range(count):
        kind = TYPES[index % 2]
        entity = copy.deepcopy(examples[kind])
        entity["id"] = f"urn:ngsi-ld:{kind}:bench-{index}"
        if kind == "MLModel":
            entity["version"] = str(index)
        else:
            entity["predictedDigit"] = index % 10
        if broken(index):
            breakages = BREAKAGES[kind]
            path, value = breakages[(index // 20) % len(breakages)]
            node = entity
            for part in path[:-1]:
                node = node[part]
            node[path[-1]] = value
        entities.append(entity)
    return entities


def in_form(entities: list[dict[str, Any]], form: str) -> list[dict[str, Any]]:
    return entities if form == "keyValues" else [forms.to_normalized(entity) for entity in entities]


def schema_of(entity_type: str, form: str) -> dict[str, Any]:
    """One self-contained schema document per type and form: nothing to fetch."""
    return derive.inline_schema(entity_type) if form == "keyValues" else derive.normalized_schema(entity_type)


def write_ndjson(path: Path, entities: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(entity) + "\n" for entity in entities))
    return path


def sdmtool_command(path: Path, output: str = "text") -> list[str]:
    return [sys.executable, "-m", "sdmtool.cli", "validate", "--format", output, str(path)]


def sdmtool_invalid(path: Path) -> int:
    result = subprocess.run(sdmtool_command(path, "json"), capture_output=True, check=False, env=ENVIRONMENT)
    report = json.loads(result.stdout)
    return len({f["index"] for f in report["findings"] if f["severity"] == "error"})


class CheckJsonschema:
    """check-jsonschema on one file per entity, per type; the schema is the bundled, ref-resolved copy."""

    def __init__(self, folder: Path, entities: list[dict[str, Any]], form: str) -> None:
        self.runs: list[list[str]] = []
        executable = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
        if executable is None:
            raise SystemExit("check-jsonschema is not installed: pip install -e '.[bench]' (or make bench)")
        for entity_type in TYPES:
            schema_file = folder / f"{entity_type}-{form}.schema.json"
            schema_file.write_text(json.dumps(schema_of(entity_type, form)))
            files = []
            for index, entity in enumerate(entities):
                if entity["type"] == entity_type:
                    files.append(folder / f"{form}-{index}.json")
                    files[-1].write_text(json.dumps(entity))
            self.runs.append([executable, "--schemafile", str(schema_file), *map(str, files)])

    def __call__(self) -> int:
        invalid = 0
        for command in self.runs:
            result = subprocess.run(command, capture_output=True, text=True, check=False, env=ENVIRONMENT)
            # One line per error: "  <file>::<json path>: <message>".
            invalid += len({line.split("::")[0] for line in result.stdout.splitlines() if "::" in line})
        return invalid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000, help="entities per form (default 100000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is kept")
    parser.add_argument("--peers", type=int, default=2_000, help="entities the slow peers get (default 2000)")
    parser.add_argument("--quick", action="store_true", help="10000 entities, 500 for the peers, one run")
    args = parser.parse_args(argv)
    if args.quick:
        args.count, args.peers, args.repeat = 10_000, 500, 1
    if args.count < 10 or args.repeat < 1 or args.peers < 10:
        parser.error("--count and --peers must be at least 10 and --repeat at least 1")
    with tempfile.TemporaryDirectory(prefix="sdm-bench-") as folder:
        return run(args.count, min(args.peers, args.count), args.repeat, Path(folder))


def run(count: int, peers: int, repeat: int, folder: Path) -> int:
    entities = generate(count)
    invalid = sum(map(broken, range(count)))
    invalid_among_peers = sum(map(broken, range(peers)))
    rows: list[tuple[str, str, int, float]] = []  # tool, form, entities, seconds
    costs: dict[str, dict[str, float]] = {}  # form -> step -> µs per valid line
    for form in FORMS:
        written = in_form(entities, form)
        every = write_ndjson(folder / f"{form}.ndjson", written)
        valid = write_ndjson(
            folder / f"{form}-valid.ndjson", [e for i, e in enumerate(written) if not broken(i)]
        )
        subset = written[:peers]
        lines = [json.dumps(entity) for entity in subset]
        python_validators = {
            name: Draft202012Validator(schema_of(name, form), format_checker=schemas.format_checker())
            for name in TYPES
        }

        def plain_jsonschema(lines: list[str] = lines, checks: Any = python_validators) -> int:
            invalid = 0
            for line in lines:
                entity = json.loads(line)
                invalid += any(True for _ in checks[entity["type"]].iter_errors(entity))
            return invalid

        import jsonschema_rs

        rust_validators = {
            name: jsonschema_rs.validator_for(schema_of(name, form), validate_formats=True).is_valid
            for name in TYPES
        }
        encoded = [orjson.dumps(entity) for entity in written]

        def rust(encoded: list[bytes] = encoded, checks: Any = rust_validators) -> int:
            invalid = 0
            for line in encoded:
                entity = orjson.loads(line)
                invalid += not checks[entity["type"]](entity)
            return invalid

        valid_lines = [json.dumps(e) for i, e in enumerate(written[: 20 * peers]) if not broken(i)]
        costs[form] = line_costs(valid_lines, form, repeat)
        check_jsonschema = CheckJsonschema(folder, subset, form)
        # The same verdicts, or the comparison means nothing.
        assert sdmtool_invalid(every) == invalid, form
        assert plain_jsonschema() == invalid_among_peers, form
        assert check_jsonschema() == invalid_among_peers, form
        assert rust() == invalid, form

        rows.append(
            ("sdmtool validate", form, count, median_seconds(_process(sdmtool_command(every)), repeat))
        )
        rows.append(
            (
                "sdmtool validate, valid only",
                form,
                count - invalid,
                median_seconds(_process(sdmtool_command(valid)), repeat),
            )
        )
        rows.append(("check-jsonschema ¹", form, peers, median_seconds(check_jsonschema, repeat)))
        rows.append(("jsonschema, prebuilt ²", form, peers, median_seconds(plain_jsonschema, repeat)))
        rows.append(("jsonschema-rs, prebuilt ³", form, count, median_seconds(rust, repeat)))

    one = folder / "one.json"
    one.write_text(json.dumps(entities[0]))
    wall = median_seconds(_process(sdmtool_command(one)), max(repeat, 5))
    print_table(rows, count, peers, repeat, wall)
    print_costs(costs, rows, invalid, repeat)
    return 0


def line_costs(lines: list[str], form: str, repeat: int) -> dict[str, float]:
    """µs per valid line of each step the valid path takes, in-process (medians of ``repeat``)."""
    import msgspec

    from sdmtool import fast, typed_proof

    decoder = typed_proof._decoder(schemas.entity_types(), form)  # the decoder the line proof uses
    prove = typed_proof.line_prover(form=form)
    assert decoder is not None and prove is not None
    decoded = [decoder.decode(line) for line in lines]
    parsed = [orjson.loads(line) for line in lines]
    checks = {name: fast._check(name, form) for name in TYPES}

    def per_line(step: Callable[[Any], object], inputs: list[Any] = lines) -> float:
        def every_line() -> None:
            for each in inputs:  # results dropped at once, as the reader drops them
                step(each)

        every_line()  # compiled validators, caches: not part of a line's cost
        return median_seconds(every_line, repeat) / len(inputs) * 1e6

    def repeated_key_count(pair: tuple[str, Any]) -> bool:
        return msgspec.json.encode(pair[1]).count(b":") == pair[0].count(":")

    return {
        "orjson.loads alone": per_line(orjson.loads),
        "msgspec typed decoding": per_line(decoder.decode),
        "repeated-key count": per_line(repeated_key_count, list(zip(lines, decoded, strict=True))),
        "line proof, in all": per_line(prove),
        "jsonschema-rs is_valid, parsed": per_line(lambda value: checks[value["type"]](value), parsed),  # type: ignore[misc]
    }


def print_costs(
    costs: dict[str, dict[str, float]],
    rows: list[tuple[str, str, int, float]],
    invalid: int,
    repeat: int,
) -> None:
    seconds = {(tool, form): taken for tool, form, _, taken in rows}
    print(f"\nWhere the time goes: µs per line, in-process, median of {repeat} run(s)\n")
    header = f"{'step':44} " + " ".join(f"{form:>11}" for form in FORMS)
    print(header)
    print("-" * len(header))
    for step in costs[FORMS[0]]:
        print(f"{'valid line: ' + step:44} " + " ".join(f"{costs[form][step]:11.2f}" for form in FORMS))
    if invalid:
        each = {
            form: (seconds[("sdmtool validate", form)] - seconds[("sdmtool validate, valid only", form)])
            / invalid
            * 1e6
            for form in FORMS
        }
        label = "invalid entity, end to end (runs' difference)"
        print(f"{label:44} " + " ".join(f"{each[form]:11.0f}" for form in FORMS))


def _process(command: list[str]) -> Callable[[], None]:
    return lambda: subprocess.run(command, capture_output=True, check=False, env=ENVIRONMENT)


def print_table(
    rows: list[tuple[str, str, int, float]], count: int, peers: int, repeat: int, wall: float
) -> None:
    rates = {(tool, form): number / seconds for tool, form, number, seconds in rows}
    print(
        f"{count:,} entities per form (MLModel, HandwritingDigit), 10 % invalid; median of {repeat} run(s)\n"
    )
    header = f"{'tool':30} {'form':10} {'entities':>9} {'seconds':>8} {'entities/s':>11} {'sdmtool is':>11}"
    print(header)
    print("-" * len(header))
    for tool, form, number, seconds in rows:
        rate = number / seconds
        ratio = rates[("sdmtool validate", form)] / rate
        shown = "" if tool.startswith("sdmtool") else f"{ratio:.1f}x" if ratio >= 1 else f"{ratio:.2f}x"
        print(f"{tool:30} {form:10} {number:9,} {seconds:8.3f} {rate:11,.0f} {shown:>11}")
    print(f"\n`sdmtool validate one.json`: {wall:.3f} s wall (median of {max(repeat, 5)})")
    notes = [
        "¹ one process per type on one file per entity; the schema is a bundled copy with every $ref",
        "  inlined, written to a temporary folder (check-jsonschema cannot resolve the remote $refs",
        f"  offline); {peers:,} entities, rate scaled. Normalized: the schema derived from keyValues.",
        f"² python-jsonschema, built once, json.loads + iter_errors, in-process; {peers:,} entities.",
        "³ jsonschema-rs, validator built once, orjson.loads + is_valid with native formats, in-process:",
        "  no report, no positions; the engine under sdmtool's fast path.",
    ]
    print("\n" + "\n".join(notes))


if __name__ == "__main__":
    sys.exit(main())
