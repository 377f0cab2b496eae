"""--schema FILE|DIR and --ref-map URL_PREFIX=DIR: other Smart Data Models, remote $refs resolved offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sdmtool import resources
from sdmtool.catalog import entity_type_of, load_catalog, parse_ref_map
from sdmtool.cli import main
from sdmtool.findings import CATEGORY_SCHEMA, EXIT_INVALID, EXIT_OK, EXIT_SCHEMA, EXIT_USAGE, exit_code
from sdmtool.validate import validate

COMMON = "https://smart-data-models.github.io/data-models/common-schema.json"
UNITS_URL = "https://example.org/shared/units.json"


def weather_schema(units_ref: str = UNITS_URL + "#/definitions/Temperature") -> dict[str, Any]:
    return {
        "$schema": "http://json-schema.org/schema#",
        "$id": "https://smart-data-models.github.io/dataModel.Weather/WeatherObserved/schema.json",
        "title": "Smart Data Models - Weather observed",
        "type": "object",
        "allOf": [
            {"$ref": COMMON + "#/definitions/GSMA-Commons"},
            {"$ref": units_ref},
            {
                "properties": {
                    "type": {"type": "string", "enum": ["WeatherObserved"], "description": "Property. Type"},
                    "dateObserved": {
                        "type": "string",
                        "format": "date-time",
                        "description": "Property. When",
                    },
                    "refDevice": {"type": "string", "format": "uri", "description": "Relationship. Device"},
                }
            },
        ],
        "required": ["id", "type", "dateObserved", "temperature"],
    }


UNITS = {"definitions": {"Temperature": {"properties": {"temperature": {"type": "number"}}}}}


def observation(**changes: Any) -> dict[str, Any]:
    return {
        "id": "urn:ngsi-ld:WeatherObserved:1",
        "type": "WeatherObserved",
        "dateObserved": "2026-11-20T09:30:00Z",
        "temperature": 21.5,
        "refDevice": "urn:ngsi-ld:Device:1",
    } | changes


def dump(path: Path, value: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2))
    return path


@pytest.fixture
def layout(tmp_path: Path) -> dict[str, Path]:
    """A subject folder with one model, a vendored copy of the remote definitions, and an entity."""
    schema = dump(tmp_path / "dataModel.Weather" / "WeatherObserved" / "schema.json", weather_schema())
    dump(tmp_path / "dataModel.Weather" / "WeatherObserved" / "examples" / "example.json", observation())
    units = dump(tmp_path / "vendor" / "shared" / "units.json", UNITS)
    return {
        "subject": tmp_path / "dataModel.Weather",
        "schema": schema,
        "vendor": tmp_path / "vendor",
        "units": units,
        "entity": dump(tmp_path / "obs.json", observation(temperature="warm")),
    }


def ref_map(layout: dict[str, Path]) -> str:
    return f"https://example.org/={layout['vendor']}"


def test_entities_of_another_model_are_validated(layout: dict[str, Path]) -> None:
    findings = validate(layout["entity"], schemas=[layout["subject"]], ref_map=[ref_map(layout)])
    assert [(f.code, f.json_path, f.line, f.column) for f in findings] == [
        ("schema.type", "/temperature", 5, 18)
    ]
    assert (
        validate(
            observation(), schemas=[layout["schema"]], ref_map={"https://example.org/": layout["vendor"]}
        )
        == []
    )
    # The schema's description grammar drives the NGSI-LD checks too: refDevice is a Relationship.
    normalized = observation(
        refDevice={"type": "Property", "value": "urn:ngsi-ld:Device:1"},
        temperature={"type": "Property", "value": 1},
    )
    normalized["dateObserved"] = {
        "type": "Property",
        "value": {"@type": "DateTime", "@value": "2026-11-20T09:30:00Z"},
    }
    (finding,) = validate(normalized, schemas=[layout["schema"]], ref_map=[ref_map(layout)])
    assert (finding.code, finding.json_path) == ("ngsi-ld.kind", "/refDevice/type")


def test_cli_exit_codes(layout: dict[str, Path]) -> None:
    runner = CliRunner()
    base = ["validate", "--schema", str(layout["subject"]), "--ref-map", ref_map(layout)]
    assert runner.invoke(main, [*base, str(layout["subject"])]).exit_code == EXIT_OK
    result = runner.invoke(main, [*base, str(layout["entity"])])
    assert result.exit_code == EXIT_INVALID
    assert f"{layout['entity']}:5:18: error: /temperature: must be a number" in result.output
    # Without the map the remote $ref cannot be resolved: exit 3, whatever the data.
    unmapped = runner.invoke(main, ["validate", "--schema", str(layout["subject"]), str(layout["entity"])])
    assert unmapped.exit_code == EXIT_SCHEMA, unmapped.output


def test_unresolved_ref_is_its_own_finding_never_a_missing_member(layout: dict[str, Path]) -> None:
    text = layout["schema"].read_text()
    incomplete = observation()
    del incomplete["temperature"]
    findings = validate(incomplete, schemas=[layout["schema"]])
    assert [f.code for f in findings] == ["schema.unresolved-ref"]
    (finding,) = findings
    assert finding.category == CATEGORY_SCHEMA and exit_code(findings) == EXIT_SCHEMA
    assert finding.file == str(layout["schema"]) and finding.json_path == "/allOf/1/$ref"
    offset = text.index(f'"{UNITS_URL}')
    assert (finding.line, finding.column) == (
        text.count("\n", 0, offset) + 1,
        offset - text.rfind("\n", 0, offset),
    )
    assert UNITS_URL in finding.message and "no --ref-map prefix covers it" in finding.message
    assert "no WeatherObserved entity is checked against this schema" in finding.message


def test_unresolved_ref_reasons(layout: dict[str, Path], tmp_path: Path) -> None:
    elsewhere = tmp_path / "empty"
    elsewhere.mkdir()
    (finding,) = validate(
        observation(), schemas=[layout["schema"]], ref_map=[f"https://example.org/={elsewhere}"]
    )
    assert (
        "which does not exist" in finding.message
        and str(elsewhere / "shared" / "units.json") in finding.message
    )
    # A pointer to nothing in a document that exists.
    dump(layout["schema"], weather_schema(UNITS_URL + "#/definitions/Pressure"))
    (finding,) = validate(observation(), schemas=[layout["schema"]], ref_map=[ref_map(layout)])
    assert (
        finding.code == "schema.unresolved-ref" and "has nothing at #/definitions/Pressure" in finding.message
    )
    # A $ref that fails inside a vendored document is reported where it is written.
    dump(layout["schema"], weather_schema())
    dump(layout["units"], {"definitions": {"Temperature": {"$ref": "https://elsewhere.example/t.json"}}})
    (finding,) = validate(observation(), schemas=[layout["schema"]], ref_map=[ref_map(layout)])
    assert (finding.file, finding.json_path) == (str(layout["units"]), "/definitions/Temperature/$ref")
    assert f"needed by {layout['schema']}" in finding.message


def test_invalid_schema_files_exit_3(tmp_path: Path) -> None:
    runner = CliRunner()
    entity = dump(tmp_path / "obs.json", observation())
    broken = tmp_path / "broken" / "schema.json"
    broken.parent.mkdir()
    broken.write_text('{"type": "object",}')
    not_schema = dump(tmp_path / "bad" / "schema.json", {"type": 12, "properties": {"type": {"enum": ["X"]}}})
    untyped = dump(tmp_path / "untyped.json", {"$schema": "https://json-schema.org/draft/2020-12/schema"})
    expected = {
        broken: ("1:19", "trailing comma"),
        not_schema: ("2:11", "not a valid JSON Schema"),
        untyped: ("1:1", "cannot tell which entity type"),
    }
    for schema, (where, message) in expected.items():
        result = runner.invoke(main, ["validate", "--schema", str(schema), str(entity)])
        assert result.exit_code == EXIT_SCHEMA, result.output
        assert f"{schema}:{where}: error: " in result.output and message in result.output
        assert "[schema.invalid-schema]" in result.output


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    runner = CliRunner()
    entity = dump(tmp_path / "obs.json", observation())
    for option in (
        ["--schema", str(tmp_path / "missing.json")],
        ["--ref-map", "https://example.org/"],
        ["--ref-map", f"example.org={tmp_path}"],
        ["--ref-map", f"https://example.org/={tmp_path / 'missing'}"],
    ):
        result = runner.invoke(main, ["validate", *option, str(entity)])
        assert result.exit_code == EXIT_USAGE, (option, result.output)
        assert "Traceback" not in result.output
    with pytest.raises(ValueError, match="URL_PREFIX=DIR"):
        parse_ref_map(["nothing"])


def test_which_type_a_schema_describes(tmp_path: Path) -> None:
    assert (
        entity_type_of({"allOf": [{"properties": {"type": {"const": "Pump"}}}]}, tmp_path / "x.json")
        == "Pump"
    )
    by_id = {"$id": "https://example.org/dataModel.Energy/Meter/schema.json"}
    assert entity_type_of(by_id, tmp_path / "x.json") == "Meter"
    assert entity_type_of({}, tmp_path / "Valve" / "schema.json") == "Valve"
    assert entity_type_of({}, tmp_path / "valve.json") is None


def test_a_folder_gives_its_models_and_shared_definitions(tmp_path: Path) -> None:
    subject = tmp_path / "subject"
    dump(
        subject / "WeatherObserved" / "schema.json", weather_schema("../shared.json#/definitions/Temperature")
    )
    dump(
        subject / "shared.json",
        {
            "$schema": "http://json-schema.org/schema#",
            "$id": "https://smart-data-models.github.io/dataModel.Weather/shared.json",
            **UNITS,
        },
    )
    dump(subject / "WeatherObserved" / "examples" / "example.json", observation())  # not a schema: ignored
    catalog = load_catalog([subject])
    assert catalog.problems == ()
    assert "WeatherObserved" in catalog.entity_types() and "MLModel" in catalog.entity_types()
    assert validate(observation(temperature="x"), schemas=[subject])[0].json_path == "/temperature"


def test_a_user_schema_replaces_the_bundled_one(tmp_path: Path) -> None:
    strict = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "properties": {"type": {"enum": ["MLModel"]}, "version": {"type": "string", "pattern": "^[0-9]+$"}},
    }
    schema = dump(tmp_path / "MLModel" / "schema.json", strict)
    entity = {"id": "urn:ngsi-ld:MLModel:1", "type": "MLModel", "version": "v1"}
    assert validate(entity) == []
    (finding,) = validate(entity, schemas=[schema])
    assert (finding.code, finding.json_path) == ("schema.pattern", "/version")


def test_a_schema_folder_without_schemas_is_a_usage_error(tmp_path: Path) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "example.json").write_text('{"id": "urn:ngsi-ld:X:1", "type": "X"}')  # data, not a schema
    catalog = load_catalog([folder])
    problems = [(f.code, f.file, f.category) for f in catalog.problems]
    assert problems == [("input.no-schema", str(folder), "input")]
    result = CliRunner().invoke(main, ["validate", "--schema", str(folder), str(folder / "example.json")])
    assert result.exit_code == EXIT_USAGE, result.output
    assert f"{folder}: error: no JSON Schema in this folder" in result.output


DRAFT_2020 = "https://json-schema.org/draft/2020-12/schema"


def typed_schema(entity_type: str, name_schema: dict[str, Any], **more: Any) -> dict[str, Any]:
    properties = {"type": {"enum": [entity_type]}, "name": name_schema}
    return {"$schema": DRAFT_2020, "type": "object", "properties": properties, **more}


def codes(findings: list[Any]) -> list[tuple[str, str]]:
    return [(f.code, f.json_path) for f in findings]


def test_an_unusable_schema_leaves_its_type_unchecked(tmp_path: Path) -> None:
    # Not the bundled MLModel schema it was meant to replace, and no "unknown type" for a new type either.
    model = {"id": "urn:ngsi-ld:MLModel:1", "type": "MLModel", "version": 12}
    invalid = dump(tmp_path / "invalid" / "MLModel" / "schema.json", typed_schema("MLModel", {}, type=5))
    findings = validate(model, schemas=[invalid.parent])
    assert codes(findings) == [("schema.invalid-schema", "/type")]
    assert "no MLModel entity is checked against this schema" in findings[0].message
    assert exit_code(findings) == EXIT_SCHEMA
    unreadable = tmp_path / "broken" / "Foo" / "schema.json"
    unreadable.parent.mkdir(parents=True)
    unreadable.write_text('{"type": "object",}')
    findings = validate({"id": "urn:ngsi-ld:Foo:1", "type": "Foo"}, schemas=[unreadable.parent.parent])
    assert [(f.code, f.file, f.line, f.column) for f in findings] == [
        ("schema.invalid-schema", str(unreadable), 1, 19)
    ]
    assert "no Foo entity is checked" in findings[0].message


def test_two_schemas_with_one_id(tmp_path: Path) -> None:
    shared_id = "https://example.org/Foo/schema.json"
    first = dump(
        tmp_path / "A" / "Foo" / "schema.json", typed_schema("Foo", {"type": "integer"}, **{"$id": shared_id})
    )
    second = dump(
        tmp_path / "B" / "Bar" / "schema.json",
        typed_schema("Bar", {"$ref": "#/$defs/flag"}, **{"$id": shared_id}),
    )
    second_schema = json.loads(second.read_text())
    second_schema["$defs"] = {"flag": {"type": "boolean"}}
    dump(second, second_schema)
    user = dump(
        tmp_path / "C" / "Baz" / "schema.json", typed_schema("Baz", {"$ref": shared_id + "#/properties/name"})
    )
    findings = validate(
        [
            {"id": "urn:ngsi-ld:Bar:1", "type": "Bar", "name": 1},
            {"id": "urn:ngsi-ld:Baz:1", "type": "Baz", "name": "x"},
        ],
        schemas=[first, second, user],
    )
    # The second is warned about at its $id, still checks its own entities by its own $defs, and a $ref
    # to the shared $id reaches the first one given.
    assert [(f.code, f.file, f.json_path, f.entity_type) for f in findings] == [
        ("schema.duplicate-id", str(second), "/$id", None),
        ("schema.type", None, "/name", "Bar"),
        ("schema.type", None, "/name", "Baz"),
    ]
    assert str(first) in findings[0].message
    assert "must be a boolean" in findings[1].message and "must be an integer" in findings[2].message
    # The same file named twice (its folder, then itself) is one schema: nothing to warn about.
    assert (
        validate({"id": "urn:ngsi-ld:Foo:1", "type": "Foo", "name": 1}, schemas=[first.parent, first]) == []
    )


def test_relative_refs_of_a_schema_without_id(tmp_path: Path) -> None:
    schema = dump(
        tmp_path / "models" / "Foo" / "schema.json",
        typed_schema("Foo", {"$ref": "../shared/defs.json#/$defs/name"}),
    )
    dump(
        tmp_path / "models" / "shared" / "defs.json",
        {"$schema": DRAFT_2020, "$defs": {"name": {"type": "integer"}}},
    )
    entities = [{"id": f"urn:ngsi-ld:Foo:{n}", "type": "Foo", "name": "x"} for n in (1, 2)]
    findings = validate(entities, schemas=[schema.parent.parent])
    assert [(f.code, f.json_path, f.entity_id) for f in findings] == [
        ("schema.type", "/name", "urn:ngsi-ld:Foo:1"),
        ("schema.type", "/name", "urn:ngsi-ld:Foo:2"),
    ]


def test_a_dynamic_ref_must_resolve(tmp_path: Path) -> None:
    dangling = dump(tmp_path / "Foo" / "schema.json", typed_schema("Foo", {"$dynamicRef": "#meta"}))
    findings = validate([{"id": "urn:ngsi-ld:Foo:1", "type": "Foo", "name": "x"}] * 2, schemas=[dangling])
    # Once, where it is written: not once per entity while validating.
    assert [(f.code, f.file, f.json_path) for f in findings] == [
        ("schema.unresolved-ref", str(dangling), "/properties/name/$dynamicRef")
    ]
    assert "has no anchor 'meta'" in findings[0].message
    anchored = typed_schema(
        "Bar", {"$dynamicRef": "#meta"}, **{"$defs": {"n": {"$dynamicAnchor": "meta", "type": "integer"}}}
    )
    (finding,) = validate(
        {"id": "urn:ngsi-ld:Bar:1", "type": "Bar", "name": "x"},
        schemas=[dump(tmp_path / "Bar" / "schema.json", anchored)],
    )
    assert (finding.code, finding.json_path) == ("schema.type", "/name")


def test_a_ref_map_wins_over_the_bundled_common_schema(tmp_path: Path) -> None:
    common = json.loads(resources.common_schema_path().read_text())
    common["definitions"]["GSMA-Commons"]["required"] = ["mustHave"]
    vendor = tmp_path / "vendor"
    dump(vendor / "data-models" / "common-schema.json", common)
    schema = dump(
        tmp_path / "Foo" / "schema.json",
        typed_schema("Foo", {"type": "string"}, allOf=[{"$ref": COMMON + "#/definitions/GSMA-Commons"}]),
    )
    entity = {"id": "urn:ngsi-ld:Foo:1", "type": "Foo", "name": "x"}
    assert validate(entity, schemas=[schema]) == []  # the bundled copy
    mapped = validate(entity, schemas=[schema], ref_map={"https://smart-data-models.github.io/": vendor})
    assert codes(mapped) == [("schema.required", "/mustHave")]
