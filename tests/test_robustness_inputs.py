"""Inputs that once crashed a command or passed in silence: each now gives a finding and its exit code."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from sdmtool.cli import main
from sdmtool.findings import EXIT_INVALID, EXIT_SCHEMA

REPO = Path(__file__).resolve().parents[1]
FOO = {"id": "urn:ngsi-ld:Foo:1", "type": "Foo", "a": 1}
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _json_report(args: list[str], stdin: str | None = None) -> tuple[int, dict]:
    result = CliRunner().invoke(main, [*args[:1], "--format", "json", *args[1:]], input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, json.loads(result.output)


def _codes(report: dict) -> list[str]:
    return [finding["code"] for finding in report["findings"]]


def test_data_nested_too_deep_to_validate(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text(
        '{"id": "urn:ngsi-ld:MLModel:1", "type": "MLModel", "version": ' + "[" * 1000 + "]" * 1000 + "}"
    )
    status, report = _json_report(["validate", str(deep)])
    assert status == EXIT_INVALID
    assert _codes(report) == ["json.too-deep"]


def test_a_schema_that_refers_to_itself_is_a_schema_problem(tmp_path: Path) -> None:
    schema = {
        "$schema": DIALECT,
        "type": "object",
        "properties": {"type": {"enum": ["Foo"]}},
        "allOf": [{"$ref": "#"}],
    }
    (tmp_path / "schema.json").write_text(json.dumps(schema))
    (tmp_path / "foo.json").write_text(json.dumps(FOO))
    status, report = _json_report(
        ["validate", "--schema", str(tmp_path / "schema.json"), str(tmp_path / "foo.json")]
    )
    assert status == EXIT_SCHEMA
    # Found in the schema, once, at the $ref that loops: not once per entity while validating.
    (finding,) = report["findings"]
    assert finding["code"] == "schema.recursive-ref" and finding["json_path"] == "/allOf/0/$ref"
    assert finding["file"] == str(tmp_path / "schema.json") and finding["line"] == 1


LOOPS = [
    {"allOf": [{"$ref": "#"}]},
    {"properties": {"a": {"$ref": "#/$defs/b"}}, "$defs": {"b": {"anyOf": [{"not": {"$ref": "#/$defs/b"}}]}}},
    {
        "properties": {"a": {"$ref": "#/$defs/b"}},
        "$defs": {"b": {"$ref": "#/$defs/c"}, "c": {"$ref": "#/$defs/b"}},
    },
    {"if": {"$ref": "#/$defs/b"}, "$defs": {"b": {"then": {"$ref": "#/$defs/b"}}}},
    {
        "properties": {"a": {"$ref": "#/$defs/b"}},
        "$defs": {"b": {"dependentSchemas": {"x": {"$ref": "#/$defs/b"}}}},
    },
]
NO_LOOPS = [
    {"properties": {"children": {"type": "array", "items": {"$ref": "#"}}}},  # a tree: each step goes deeper
    {
        "properties": {"a": {"$ref": "#/$defs/b"}, "c": {"$ref": "#/$defs/b"}},
        "$defs": {"b": {"type": "string"}},
    },
    {
        "allOf": [{"$ref": "#/$defs/b"}, {"$ref": "#/$defs/b"}],
        "$defs": {"b": {"properties": {"x": {"$ref": "#"}}}},
    },
]


def test_a_ref_loop_is_told_from_a_recursive_schema() -> None:
    from referencing import Registry
    from referencing.jsonschema import DRAFT202012

    from sdmtool import catalog

    def loop_of(schema: dict) -> object:
        contents = {"$schema": DIALECT, "$id": "https://example.org/s.json", **schema}
        registry = Registry().with_resource(contents["$id"], DRAFT202012.create_resource(contents))
        return catalog.ref_loop(catalog.SchemaDocument(contents["$id"], contents, "s.json"), registry)

    assert [loop_of(schema) for schema in LOOPS] == [
        ("allOf", 0, "$ref"),
        ("properties", "a", "$ref"),
        ("properties", "a", "$ref"),
        ("if", "$ref"),
        ("properties", "a", "$ref"),
    ]
    assert [loop_of(schema) for schema in NO_LOOPS] == [None] * len(NO_LOOPS)


def test_a_schema_naming_no_dialect_string_is_an_invalid_schema(tmp_path: Path) -> None:
    for dialect in (5, {}):
        (tmp_path / "schema.json").write_text(json.dumps({"$schema": dialect, "type": "object"}))
        (tmp_path / "foo.json").write_text(json.dumps(FOO))
        args = ["validate", "--schema", str(tmp_path / "schema.json"), str(tmp_path / "foo.json")]
        status, report = _json_report(args)
        assert status == EXIT_SCHEMA
        invalid = [f for f in report["findings"] if f["code"] == "schema.invalid-schema"]
        assert [f["json_path"] for f in invalid] == ["/$schema"]


def test_check_model_with_a_looping_ref_reports_it_as_a_schema_problem(tmp_path: Path) -> None:
    model = tmp_path / "MLModel"
    shutil.copytree(REPO / "schemas" / "MLModel", model)
    schema = json.loads((model / "schema.json").read_text())
    schema["allOf"][0]["$ref"] = "#"
    (model / "schema.json").write_text(json.dumps(schema, indent=2))
    status, report = _json_report(["check-model", str(model)])
    # A problem of the schema (exit 3), said once at the $ref, not as an error of every example.
    assert status == EXIT_SCHEMA
    looping = [f for f in report["findings"] if "refers to itself without end" in f["message"]]
    assert [(f["code"], f["file"], f["json_path"]) for f in looping] == [
        ("sdm.schema-invalid", str(model / "schema.json"), "/allOf/0/$ref")
    ]
    assert looping[0]["line"] is not None


def test_check_model_with_an_invalid_schema_and_a_dangling_ref(tmp_path: Path) -> None:
    model = tmp_path / "Foo"
    (model / "examples").mkdir(parents=True)
    schema = {"$schema": DIALECT, "allOf": -1, "properties": {"a": {"$ref": "x.json"}}, "type": "object"}
    (model / "schema.json").write_text(json.dumps(schema))
    status, report = _json_report(["check-model", str(model)])
    assert status == EXIT_SCHEMA
    invalid = [f for f in report["findings"] if f["code"] == "sdm.schema-invalid"]
    assert [f["json_path"] for f in invalid] == ["/allOf"]


def test_yaml_on_stdin_is_validated_not_skipped() -> None:
    status, report = _json_report(["validate", "-"], stdin="a: 1\n")
    assert status == EXIT_INVALID
    assert sorted(_codes(report)) == ["entity.id", "entity.type"]
