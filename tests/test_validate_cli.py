"""Validation API, reader (strict JSON, positions), reports and the ``sdmtool`` command line."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sdmtool
from sdmtool import forms, reader, resources, schemas
from sdmtool.cli import main
from sdmtool.findings import EXIT_INVALID, EXIT_OK, EXIT_USAGE, Finding, exit_code
from sdmtool.validate import validate, validate_items

MODELS = schemas.entity_types()
CONTEXT = [resources.SUBJECT_CONTEXT_URL, resources.CORE_CONTEXT_URL]
DELETE = object()


def example(entity_type: str) -> dict[str, Any]:
    path = resources.schemas_dir() / entity_type / "examples" / "example.json"
    return json.loads(path.read_text(encoding="utf-8"))


def errors(findings: list[Finding]) -> list[Finding]:
    return [finding for finding in findings if finding.is_error]


# --- API ---------------------------------------------------------------------------------------------


def test_api_exports() -> None:
    assert sdmtool.validate is validate and sdmtool.Finding is Finding
    assert sdmtool.__version__


def test_valid_inputs_of_every_kind(tmp_path: Path) -> None:
    entities = [example(t) for t in MODELS]
    assert validate(entities[0]) == []
    assert validate(entities) == []
    (tmp_path / "one.json").write_text(json.dumps(entities[0]))
    (tmp_path / "all.json").write_text(json.dumps(entities))
    assert validate(tmp_path / "one.json") == []
    assert validate(str(tmp_path / "all.json")) == []
    assert validate([tmp_path / "one.json", tmp_path / "all.json"]) == []
    assert validate(tmp_path) == []


def test_examples_folder_is_valid() -> None:
    # The hand-written keyValues example and the three generated forms, read from disk.
    for entity_type in MODELS:
        folder = resources.schemas_dir() / entity_type / "examples"
        assert len(list(folder.iterdir())) >= 4
        assert validate(folder) == []


def test_version_number_gives_the_quote_hint() -> None:
    entity = example("MLModel") | {"version": 12}
    (finding,) = validate(entity)
    assert finding.json_path == "/version"
    assert finding.code == "schema.type"
    assert 'write "12"' in finding.message and "quote" in finding.message
    normalized = forms.to_normalized(entity)
    (finding,) = validate(normalized)
    assert finding.json_path == "/version/value"
    assert 'write "12"' in finding.message


def test_unknown_and_missing_type() -> None:
    (finding,) = validate({"id": "urn:ngsi-ld:Nope:1", "type": "Nope"})
    assert finding.code == "entity.unknown-type" and finding.json_path == "/type"
    assert "MLModel" in finding.message
    (finding,) = validate({"id": "urn:ngsi-ld:Nope:1"})
    assert finding.json_path == "/type"
    (finding,) = validate([42])
    assert finding.code == "entity.not-object" and finding.index == 0


def test_every_error_is_reported() -> None:
    entity = example("MLModel") | {"version": 12, "modelUrl": "nope", "modelFormat": "zip"}
    entity["metrics"][0]["sampleCount"] = 0
    paths = {f.json_path for f in validate(entity)}
    assert paths == {"/version", "/modelUrl", "/modelFormat", "/metrics/0/sampleCount"}


def test_normalized_shape_checks() -> None:
    normalized = forms.to_normalized(example("MLProcessing"))
    normalized["refMLModel"] = {"type": "Property", "value": "urn:ngsi-ld:MLModel:x"}
    normalized["refSubscriptionQuery"] = {"type": "Relationship", "object": "not a uri"}
    normalized["objective"] = {"type": "Property"}
    normalized["lastError"] = "bare string"
    normalized["failedCount"] = {"type": "Text", "value": 1}
    normalized["processedCount"] = {"type": "Relationship", "object": "urn:x:1"}
    normalized["id"] = "digits-01"
    # Forced: with a bare attribute among typed ones, detection reads the entity as concise (below).
    by_path = {f.json_path: f for f in validate(normalized, form="normalized")}
    assert by_path["/refMLModel/type"].code == "ngsi-ld.kind"
    assert "Relationship" in by_path["/refMLModel/type"].message
    assert by_path["/refSubscriptionQuery/object"].code == "ngsi-ld.object"
    assert "'value'" in by_path["/objective"].message
    assert by_path["/lastError"].code == "ngsi-ld.attribute"
    assert by_path["/failedCount/type"].code == "ngsi-ld.attribute"
    assert by_path["/processedCount/type"].code == "ngsi-ld.kind"
    assert by_path["/id"].code == "ngsi-ld.id"
    # A GeoProperty where the schema says Property (a GeoJSON value is no text, whatever its shape).
    normalized = forms.to_normalized(example("MLProcessing"))
    normalized["objective"] = {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [1, 2]}}
    (finding,) = validate(normalized)
    assert (finding.code, finding.json_path) == ("ngsi-ld.kind", "/objective/type")
    assert finding.message == "'objective' is a Property in the MLProcessing schema, not a GeoProperty"


def test_normalized_date_time_as_plain_string_is_a_warning() -> None:
    normalized = forms.to_normalized(example("MLProcessing"))
    normalized["dueDate"] = {"type": "Property", "value": "2026-11-20T09:00:00Z"}
    (finding,) = validate(normalized)
    assert finding.severity == "warning" and finding.json_path == "/dueDate/value"
    assert exit_code([finding]) == EXIT_OK


def test_any_of_messages_descend() -> None:
    entity = example("MLModel") | {"seeAlso": ["https://ok.example", "no scheme"]}
    (finding,) = validate(entity)
    assert finding.json_path == "/seeAlso/1" and "absolute URI" in finding.message
    (finding,) = validate(example("MLModel") | {"seeAlso": 5})
    assert finding.json_path == "/seeAlso" and "array" in finding.message and "string" in finding.message


def test_additional_property_points_at_the_member() -> None:
    entity = example("SubscriptionQuery")
    entity["entities"][0]["idPatern"] = ".*"
    (finding,) = validate(entity)
    assert finding.json_path == "/entities/0/idPatern"
    assert "idPattern" in finding.message


def test_undeclared_attribute_is_a_warning() -> None:
    (finding,) = validate(example("MLModel") | {"refMlProcessing": []})
    assert finding.severity == "warning" and finding.json_path == "/refMlProcessing"


def test_forced_form() -> None:
    assert validate(example("MLModel"), form="keyValues") == []
    assert errors(validate(example("MLModel"), form="normalized"))
    with pytest.raises(ValueError):
        validate(example("MLModel"), form="bogus")


# --- hypothesis: one schema-breaking mutation -> a finding at that JSON path -------------------------


def _schema_node(entity_type: str, path: tuple[Any, ...]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(schema node at path, schema node of the parent object), through allOf/$ref."""
    registry = schemas.registry()
    root = schemas.load_schema(entity_type)
    resolver = registry.resolver(base_uri=root["$id"])
    node, parent = root, None

    def members(node: dict[str, Any], resolver: Any) -> dict[str, tuple[dict[str, Any], Any]]:
        node, resolver = schemas.resolve(node, resolver)
        found = {name: (sub, resolver) for name, sub in (node.get("properties") or {}).items()}
        for part in node.get("allOf") or ():
            for name, value in members(part, resolver).items():
                found.setdefault(name, value)
        return found

    for part in path:
        node, resolver = schemas.resolve(node, resolver)
        parent = node
        if isinstance(part, int):
            node = node.get("items", {})
        else:
            node, resolver = members(node, resolver).get(part, ({}, resolver))
    node, resolver = schemas.resolve(node, resolver)
    return node, parent


def _required(node: dict[str, Any]) -> list[str]:
    return list(node.get("required") or ())


def _mutations_for(entity_type: str) -> list[tuple[str, tuple[Any, ...], str, Any]]:
    source = example(entity_type)
    found: list[tuple[str, tuple[Any, ...], str, Any]] = []

    def visit(value: Any, path: tuple[Any, ...]) -> None:
        if path:
            node, parent = _schema_node(entity_type, path)
            declared = node.get("type")
            if declared is None and "anyOf" in node:
                declared = "string"
            wrong = {
                "string": 12345,
                "integer": "x",
                "number": "x",
                "array": "x",
                "object": 7,
                "boolean": "yes",
            }
            if declared in wrong:
                found.append((entity_type, path, "wrong-type", wrong[declared]))
            if "minimum" in node:
                found.append((entity_type, path, "minimum", node["minimum"] - 1))
            if "maximum" in node:
                found.append((entity_type, path, "maximum", node["maximum"] + 1))
            if "exclusiveMinimum" in node:
                found.append((entity_type, path, "exclusiveMinimum", node["exclusiveMinimum"]))
            if node.get("minLength", 0) >= 1:
                found.append((entity_type, path, "minLength", ""))
            if "enum" in node:
                found.append((entity_type, path, "enum", "notAnOption"))
            if "pattern" in node:
                found.append((entity_type, path, "pattern", "NOT MATCHING!"))
            if node.get("format") == "date-time":
                found.append((entity_type, path, "format", "yesterday"))
            if node.get("format") == "uri":
                found.append((entity_type, path, "format", "not a uri"))
            if node.get("minItems", 0) >= 1:
                found.append((entity_type, path, "minItems", []))
            if "maxItems" in node and isinstance(value, list):
                found.append((entity_type, path, "maxItems", value + value[:1] * (node["maxItems"] + 1)))
            if parent is not None and path[-1] in _required(parent):
                found.append((entity_type, path, "required", DELETE))
        if isinstance(value, dict):
            for key, child in value.items():
                visit(child, (*path, key))
        elif isinstance(value, list):
            for index, child in enumerate(value):
                visit(child, (*path, index))

    visit(source, ())
    return found


MUTATIONS = [mutation for entity_type in MODELS for mutation in _mutations_for(entity_type)]


def _mutate(entity_type: str, path: tuple[Any, ...], new: Any) -> dict[str, Any]:
    entity = copy.deepcopy(example(entity_type))
    target = entity
    for part in path[:-1]:
        target = target[part]
    if new is DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = copy.deepcopy(new)
    return entity


def _check_mutation(entity_type: str, path: tuple[Any, ...], kind: str, new: Any, form: str) -> None:
    entity = _mutate(entity_type, path, new)
    expected = path
    if form == "normalized":
        entity = forms.to_normalized(entity, context=CONTEXT)
        expected = tuple(forms.original_path(entity, path))
    pointer = reader.to_json_pointer(expected)
    found = errors(validate(entity))
    assert any(f.json_path == pointer for f in found), (
        kind,
        form,
        pointer,
        [(f.json_path, f.message) for f in found],
    )


def test_mutation_inventory_is_broad() -> None:
    kinds = {kind for _, _, kind, _ in MUTATIONS}
    assert {"wrong-type", "minimum", "maximum", "enum", "pattern", "format", "required", "minItems"} <= kinds
    assert len(MUTATIONS) > 100


def test_every_mutation_is_found() -> None:
    for entity_type, path, kind, new in MUTATIONS:
        for form in ("keyValues", "normalized"):
            _check_mutation(entity_type, path, kind, new, form)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(MUTATIONS), st.sampled_from(["keyValues", "normalized"]))
def test_one_mutation_gives_a_finding_at_its_path(mutation: tuple[Any, ...], form: str) -> None:
    _check_mutation(*mutation, form)


# --- reader ------------------------------------------------------------------------------------------


def test_positions_in_a_pretty_printed_file(tmp_path: Path) -> None:
    entity = example("MLModel")
    entity["metrics"][0]["sampleCount"] = 0
    text = json.dumps(entity, indent=2)
    (tmp_path / "m.json").write_text(text)
    (finding,) = validate(tmp_path / "m.json")
    lines = text.splitlines()
    line = next(i for i, row in enumerate(lines, 1) if '"sampleCount": 0' in row)
    assert (finding.line, finding.column) == (line, lines[line - 1].index("0") + 1)


def test_locate_accepts_pointer_and_jsonpath() -> None:
    text = json.dumps(example("SubscriptionQuery"), indent=2).encode()
    (item,) = reader.read_bytes("sq.json", text)
    assert isinstance(item, reader.SourceEntity)
    by_pointer = item.locate("/notification/endpoint/uri")
    assert by_pointer == item.locate("$.notification.endpoint.uri")
    assert by_pointer == item.locate("$['notification']['endpoint']['uri']")
    assert item.locate("/entities/0/type") == item.locate("$.entities[0].type")
    assert by_pointer[0] is not None and by_pointer[0] > 1
    # a missing member maps to its nearest existing ancestor
    assert item.locate("/notification/nope") == item.locate("/notification")


def test_strict_json() -> None:
    def read_one(data: bytes) -> reader.Item:
        return next(iter(reader.read_bytes("t.json", data)))

    nan = read_one(b'{"a": 1,\n "b": NaN}')
    assert isinstance(nan, reader.ReadError) and (nan.line, nan.column) == (2, 7) and "NaN" in nan.message
    assert "Infinity" in read_one(b"[-Infinity]").message
    comma = read_one(b'{"a": [1, 2,]}')
    assert isinstance(comma, reader.ReadError) and "trailing comma" in comma.message
    assert "double quotes" in read_one(b"{'a': 1}").message
    assert "empty" in read_one(b"  ").message
    assert "UTF-8" in read_one(b'{"a": "\xff"}').message
    bom = read_one(b'\xef\xbb\xbf{"id": "x"}')
    assert isinstance(bom, reader.SourceEntity) and bom.value == {"id": "x"}
    duplicate = read_one(b'{"id": "x",\n "id": "y"}')
    assert isinstance(duplicate, reader.SourceEntity)
    (problem,) = duplicate.problems
    assert (problem.json_path, problem.line, problem.column) == ("/id", 2, 2)


def test_ndjson_array_and_feature_collection() -> None:
    a, b = example("MLModel"), example("MLProcessing")
    ndjson = (json.dumps(a) + "\n\n" + json.dumps(b) + "\n").encode()
    items = list(reader.read_bytes("x.ndjson", ndjson))
    assert [item.index for item in items] == [0, 2]
    assert items[1].locate("/type") == (3, b_offset(json.dumps(b), "MLProcessing"))
    # NDJSON without the extension (stdin) is recognised too
    assert len(list(reader.read_bytes("<stdin>", ndjson))) == 2
    assert [item.index for item in reader.read_bytes("x.json", json.dumps([a, b]).encode())] == [0, 1]
    feature = {
        "type": "Feature",
        "id": a["id"],
        "geometry": None,
        "properties": {k: v for k, v in a.items() if k != "id"},
    }
    collection = json.dumps({"type": "FeatureCollection", "features": [feature]}, indent=1).encode()
    (item,) = reader.read_bytes("x.geojson", collection)
    assert item.value == a
    assert item.locate("/version")[0] is not None
    # Findings give the path as written in the Feature: the id at its top, the rest under properties.
    assert item.json_pointer(("version",)) == "/properties/version"
    assert item.json_pointer(("id",)) == "/id"
    broken = json.dumps({**feature, "properties": {**feature["properties"], "version": 3}}, indent=1)
    (finding,) = validate_items(reader.read_bytes("x.geojson", broken.encode()))
    line = broken.splitlines().index('  "version": 3,') + 1
    assert (finding.json_path, finding.line, finding.column) == ("/properties/version", line, 14)


def b_offset(line: str, value: str) -> int:
    return line.index(f'"{value}"') + 1


# --- command line ------------------------------------------------------------------------------------


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    valid = tmp_path / "valid.json"
    valid.write_text(json.dumps(example("MLModel"), indent=2))
    invalid = tmp_path / "invalid.json"
    invalid.write_text(json.dumps(example("MLModel") | {"version": 12}, indent=2))
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "id": "urn:ngsi-ld:MLModel:1",\n  "type": "MLModel"\n  "version": "1"\n}\n')
    nan = tmp_path / "nan.json"
    nan.write_text('{"id": "urn:ngsi-ld:HandwritingDigit:1", "type": "HandwritingDigit", "confidence": NaN}')
    ndjson = tmp_path / "stream.ndjson"
    ndjson.write_text(
        json.dumps(example("MLModel"))
        + "\n"
        + json.dumps(example("MLProcessing") | {"failedCount": -1})
        + "\n"
    )
    array = tmp_path / "array.jsonld"
    array.write_text(json.dumps([forms.to_normalized(example(t), context=CONTEXT) for t in MODELS]))
    return {
        "valid": valid,
        "invalid": invalid,
        "broken": broken,
        "nan": nan,
        "ndjson": ndjson,
        "array": array,
    }


def test_cli_valid(runner: CliRunner, files: dict[str, Path]) -> None:
    result = runner.invoke(main, ["validate", str(files["valid"])])
    assert result.exit_code == EXIT_OK, result.output
    assert "all valid" in result.output


def test_cli_invalid_with_quote_hint(runner: CliRunner, files: dict[str, Path]) -> None:
    result = runner.invoke(main, ["validate", str(files["invalid"])])
    assert result.exit_code == EXIT_INVALID
    line = next(row for row in result.output.splitlines() if "/version" in row)
    text = files["invalid"].read_text().splitlines()
    number = next(i for i, row in enumerate(text, 1) if '"version"' in row)
    assert line.startswith(f"{files['invalid']}:{number}:")
    assert ": error: /version: " in line and 'write "12"' in line


def test_cli_missing_file(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["validate", str(tmp_path / "nope.json")])
    assert result.exit_code == EXIT_USAGE
    assert "nope.json" in result.output and "no such file" in result.output
    assert "Traceback" not in result.output


def test_cli_broken_json(runner: CliRunner, files: dict[str, Path]) -> None:
    result = runner.invoke(main, ["validate", str(files["broken"])])
    assert result.exit_code == EXIT_USAGE
    assert f"{files['broken']}:4:3: error:" in result.output
    assert "expected ',' or '}'" in result.output
    assert "Traceback" not in result.output


def test_cli_nan(runner: CliRunner, files: dict[str, Path]) -> None:
    result = runner.invoke(main, ["validate", str(files["nan"])])
    assert result.exit_code == EXIT_USAGE
    assert ":1:" in result.output and "NaN" in result.output


def test_cli_stdin(runner: CliRunner) -> None:
    good = runner.invoke(main, ["validate", "-"], input=json.dumps(example("MLProcessing")))
    assert good.exit_code == EXIT_OK, good.output
    bad = runner.invoke(main, ["validate", "-"], input=json.dumps(example("MLModel") | {"version": 12}))
    assert bad.exit_code == EXIT_INVALID and "<stdin>:1:" in bad.output


def test_cli_ndjson(runner: CliRunner, files: dict[str, Path]) -> None:
    result = runner.invoke(main, ["validate", str(files["ndjson"])])
    assert result.exit_code == EXIT_INVALID
    assert f"{files['ndjson']}:2:" in result.output and "/failedCount" in result.output
    assert "2 entities (2 keyValues) in 1 input" in result.output


def test_cli_array_and_directory(runner: CliRunner, files: dict[str, Path], tmp_path: Path) -> None:
    result = runner.invoke(main, ["validate", str(files["array"])])
    assert result.exit_code == EXIT_OK, result.output
    assert "4 entities" in result.output
    folder = tmp_path / "tree" / "deep"
    folder.mkdir(parents=True)
    (folder / "a.json").write_text(files["valid"].read_text())
    (folder / "b.jsonld").write_text(files["array"].read_text())
    (folder / "ignored.txt").write_text("not json")
    result = runner.invoke(main, ["validate", str(tmp_path / "tree")])
    assert result.exit_code == EXIT_OK, result.output
    assert "5 entities (1 keyValues, 4 normalized) in 2 inputs" in result.output
    (folder / "c.json").write_text(files["invalid"].read_text())
    assert runner.invoke(main, ["validate", str(tmp_path / "tree")]).exit_code == EXIT_INVALID


def test_cli_worst_outcome_wins(runner: CliRunner, files: dict[str, Path]) -> None:
    result = runner.invoke(
        main, ["validate", str(files["invalid"]), str(files["broken"]), str(files["valid"])]
    )
    assert result.exit_code == EXIT_USAGE


def test_cli_json_format(runner: CliRunner, files: dict[str, Path]) -> None:
    result = runner.invoke(main, ["validate", "--format", "json", str(files["invalid"])])
    assert result.exit_code == EXIT_INVALID
    document = json.loads(result.output)
    (finding,) = document["findings"]
    assert finding["json_path"] == "/version" and finding["line"] and finding["column"]
    assert document["summary"]["errors"] == 1 and document["exit_code"] == EXIT_INVALID


def test_cli_form_option(runner: CliRunner, files: dict[str, Path]) -> None:
    assert (
        runner.invoke(main, ["validate", "--form", "normalized", str(files["valid"])]).exit_code
        == EXIT_INVALID
    )
    assert runner.invoke(main, ["validate", "--form", "keyValues", str(files["valid"])]).exit_code == EXIT_OK


def test_cli_usage_errors(runner: CliRunner, files: dict[str, Path]) -> None:
    assert runner.invoke(main, ["validate"]).exit_code == EXIT_USAGE
    assert runner.invoke(main, ["validate", "--form", "bogus", str(files["valid"])]).exit_code == EXIT_USAGE
    assert runner.invoke(main, ["validate", "--format", "xml", str(files["valid"])]).exit_code == EXIT_USAGE
    assert runner.invoke(main, ["--version"]).exit_code == EXIT_OK


# --- hostile entities and odd Python values ----------------------------------------------------------


@pytest.mark.parametrize("value", [None, 42, 3.5, True, object(), b"{}", bytearray(b"[]")])
def test_api_rejects_what_is_no_entity_nor_path(value: Any) -> None:
    with pytest.raises(TypeError, match="validate\\(\\) takes an entity"):
        validate(value)


def test_api_odd_items_and_paths(tmp_path: Path) -> None:
    assert [f.code for f in validate([1, None, b"x"])] == ["entity.not-object"] * 3
    assert "bytes" in validate([b"x"])[0].message
    (missing,) = validate(tmp_path / "nope.json")
    assert missing.code == "input.file-not-found" and missing.category == "input"
    (empty,) = validate("")
    assert empty.code == "input.bad-path"


def test_api_values_json_cannot_hold() -> None:
    # NaN passed every bound of a number attribute: the entity was "valid".
    digit = example("HandwritingDigit")
    (finding,) = validate(digit | {"confidence": float("nan")})
    assert finding.code == "json.value" and finding.json_path == "/confidence" and "NaN" in finding.message
    (finding,) = validate(example("MLModel") | {"version": float("inf")})  # not also a schema.type error
    assert finding.code == "json.value" and "Infinity" in finding.message
    findings = validate(example("MLModel") | {"metrics": ({"metricName": "a", "metricValue": 1},), 5: "x"})
    assert {(f.code, f.json_path) for f in findings if f.is_error} == {
        ("json.value", "/metrics"),
        ("json.key", "/5"),
    }
    # more digits than Python prints: jsonschema's own message raised a ValueError
    (finding,) = validate(example("MLModel") | {"version": 10**5000})
    assert finding.code == "json.number" and finding.json_path == "/version"


def test_api_deep_nesting_is_a_finding_not_a_recursion_error() -> None:
    deep: list[Any] = []
    for _ in range(5000):
        deep = [deep]
    codes = {f.code for f in validate(example("MLModel") | {"outputAttributes": deep, "name": deep})}
    assert codes == {"json.depth"}


@pytest.mark.parametrize("kind", [["Property"], {"a": 1}])
def test_attribute_type_that_is_not_a_string(kind: Any) -> None:
    # unhashable: `kind in frozenset(...)` raised TypeError, in form detection and in the shape check
    entity = forms.to_normalized(example("MLModel"))
    entity["name"] = {"type": kind, "value": "x"}
    (finding,) = validate(entity)
    assert finding.json_path == "/name/type" and finding.code == "ngsi-ld.attribute"
    keyvalues = example("MLModel") | {"name": {"type": kind, "value": "x"}}
    assert [f.json_path for f in validate(keyvalues)] == ["/name"]
    assert errors(validate(keyvalues, form="normalized"))
    assert forms.detect_form({"location": {"type": ["Point"]}}) == forms.KEY_VALUES


def test_multi_instance_values_are_validated_one_by_one() -> None:
    # The keyValues reduction {"dataset": {...}} is no value the schema describes: "/version must be a
    # string, got an object" hid the real mistake.
    entity = forms.to_normalized(example("MLModel"))
    entity["version"] = [
        {"type": "Property", "value": 12, "datasetId": "urn:ngsi-ld:Dataset:a"},
        {"type": "Property", "value": "13"},
        {"type": "Property", "value": 14, "datasetId": "urn:ngsi-ld:Dataset:b"},
    ]
    found = errors(validate(entity))
    assert [(f.json_path, f.code) for f in found] == [
        ("/version/0/value", "schema.type"),
        ("/version/2/value", "schema.type"),
    ]
    assert 'write "12"' in found[0].message


def test_ngsiv2_entity_with_one_broken_attribute() -> None:
    # Read as keyValues, every correct attribute was an error and the broken one was not named.
    entity = json.loads((resources.schemas_dir() / "MLModel/examples/example-normalized.json").read_text())
    broken = entity | {"version": {"type": "Text"}}
    (finding,) = validate(broken)
    assert (finding.json_path, finding.form) == ("/version", forms.NGSIV2_NORMALIZED)
    assert "missing 'value'" in finding.message
    (finding,) = validate(entity | {"version": {"type": "Text", "value": "1", "metdata": {}}})
    assert finding.json_path == "/version/metdata"
    (finding,) = validate(entity | {"version": "12"})
    assert finding.json_path == "/version" and finding.code == "ngsiv2.attribute"


def test_entity_type_array() -> None:
    # NGSI-LD allows several types: each one with a schema is checked.
    found = validate(
        example("MLModel") | {"type": ["MLModel", "HandwritingDigit"], "version": 5, "confidence": 2, "x": 1}
    )
    assert [(f.severity, f.json_path) for f in found] == [
        ("error", "/version"),
        ("error", "/confidence"),
        ("warning", "/x"),
    ]
    assert "MLModel or HandwritingDigit" in found[2].message
    assert [f.code for f in validate({"id": "urn:x:1", "type": ["A", "B"]})] == ["entity.unknown-type"]
    for bad in ([], ["MLModel", 5], {"a": 1}, None):
        (finding,) = validate({"id": "urn:x:1", "type": bad})
        assert finding.code == "entity.type" and finding.json_path == "/type"


def test_missing_id_of_an_entity_without_schema() -> None:
    assert {f.json_path for f in validate({"type": "Nope"})} == {"/type", "/id"}
    assert [f.json_path for f in validate({"type": "MLModel"})] == ["/id"]  # once, from the schema


def test_normalized_member_checks() -> None:
    entity = forms.to_normalized(example("MLModel"))
    entity["name"] = {"type": "LanguageProperty", "languageMap": {"en": "x", "fr": 5}, "value": "x"}
    entity["description"] = {"type": "Relationship"}
    entity["algorithm"] = {"type": "ListProperty", "valueList": "CNN"}
    entity["refMLProcessing"] = {
        "type": "ListRelationship",
        "objectList": ["urn:ngsi-ld:MLProcessing:1", {"object": "nope"}, {"obj": 1}],
    }
    by_path = {f.json_path: f.message for f in validate(entity)}
    assert "must be a string, got 5" in by_path["/name/languageMap/fr"]
    assert "'languageMap'" in by_path["/name/value"]
    assert by_path["/description"] == "a Relationship needs an 'object' member"
    assert "must be an array" in by_path["/algorithm/valueList"]
    assert "absolute URI" in by_path["/refMLProcessing/objectList/1/object"]
    assert "'object' member" in by_path["/refMLProcessing/objectList/2"]


def test_null_is_shown_once() -> None:
    (finding,) = validate(example("MLModel") | {"version": None})
    assert finding.code == "ngsi-ld.null" and finding.message.startswith("null is not an NGSI-LD value")


def test_a_final_line_break_is_no_date_uri_or_pattern() -> None:
    # Python's `$` matches before a final "\n": the date-time and URI validators and the schema patterns
    # let these through.
    entity = example("MLModel") | {
        "dateCreated": "2026-11-20T09:30:00Z\n",
        "modelUrl": "https://models.example.org/m.onnx\n",
        "modelSha256": example("MLModel")["modelSha256"] + "\n",
        "id": "MLModel.01\n",
    }
    assert {f.json_path for f in errors(validate(entity))} == {
        "/dateCreated",
        "/modelUrl",
        "/modelSha256",
        "/id",
    }
    normalized = forms.to_normalized(example("MLProcessing"))
    normalized["id"] = "urn:ngsi-ld:MLProcessing:1\n"
    normalized["refMLModel"]["object"] += "\n"
    normalized["processedCount"]["observedAt"] = "2026-11-20T09:30:00Z\n"
    assert {f.json_path for f in errors(validate(normalized))} == {
        "/id",
        "/refMLModel/object",
        "/processedCount/observedAt",
    }


def test_broker_key_values_with_typed_date_times_are_valid() -> None:
    # What GET /entities?options=keyValues returns: date-times stay {"@type": "DateTime", "@value": …}.
    entity = {
        "id": "urn:ngsi-ld:MLProcessing:p",
        "type": "MLProcessing",
        "processedCount": 1,
        "dateLastProcessed": {"@type": "DateTime", "@value": "2026-12-03T19:53:11.125Z"},
    }
    assert sdmtool.validate(entity) == []
    broken = {**entity, "dateLastProcessed": {"@type": "DateTime", "@value": "yesterday"}}
    [finding] = sdmtool.validate(broken)
    assert finding.json_path == "/dateLastProcessed/@value" and finding.form == "keyValues"


def test_concise_entities_are_detected_and_located() -> None:
    entity = {
        "id": "urn:ngsi-ld:MLProcessing:c",
        "type": "MLProcessing",
        "refMLModel": {"object": "urn:ngsi-ld:MLModel:m"},
        "processedCount": {"value": 3, "observedAt": "2026-12-03T19:53:11Z"},
        "objective": "plain values mix with concise attributes",
    }
    assert sdmtool.validate(entity) == []
    broken = {**entity, "refMLModel": {"object": "not a uri"}, "processedCount": {"value": -1}}
    findings = sdmtool.validate(broken)
    assert {f.form for f in findings} == {"concise"}
    assert sorted(f.json_path for f in findings) == ["/processedCount/value", "/refMLModel/object"]


def test_schema_documents_beside_examples_are_skipped_not_failed() -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["validate", str(resources.schemas_dir())])
    assert result.exit_code == 0, result.output
    assert "a JSON Schema document, not an entity: skipped" in result.output


@pytest.mark.parametrize("text", ["[]", '{"type": "Notification", "data": []}'])
def test_no_entity_at_all_is_a_warning(text: str) -> None:
    # A broker query without its Link header answers []: the gate must say it checked nothing.
    result = CliRunner().invoke(main, ["validate", "--format", "json", "-"], input=text)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert [(f["severity"], f["code"]) for f in report["findings"]] == [("warning", "input.no-entities")]


def test_no_warning_when_entities_were_read() -> None:
    result = CliRunner().invoke(main, ["validate", "-"], input='[{"id": "urn:ngsi-ld:MLModel:1"}]')
    assert "input.no-entities" not in result.output


def test_typed_and_bare_attributes_together_are_concise() -> None:
    # Clause 4.5.3: concise form may keep the type of some attributes and a datasetId without a type.
    entity = {
        "id": "urn:ngsi-ld:HandwritingDigit:1",
        "type": "HandwritingDigit",
        "imagePath": "file:///digits/1.png",
        "confidence": {"value": 0.5, "datasetId": "urn:ngsi-ld:Dataset:1"},
        "predictedDigit": {"type": "Property", "value": 3},
    }
    assert forms.detect_form(entity) == "concise"
    assert validate(entity) == []
    # Every attribute typed: normalized, and a bare attribute is then the error it is there.
    typed = forms.to_normalized({k: v for k, v in entity.items() if k != "confidence"})
    assert forms.detect_form(typed) == "normalized"
