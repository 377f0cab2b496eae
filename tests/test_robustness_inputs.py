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
    assert "schema.recursive-ref" in _codes(report)


def test_a_schema_naming_no_dialect_string_is_an_invalid_schema(tmp_path: Path) -> None:
    for dialect in (5, {}):
        (tmp_path / "schema.json").write_text(json.dumps({"$schema": dialect, "type": "object"}))
        (tmp_path / "foo.json").write_text(json.dumps(FOO))
        args = ["validate", "--schema", str(tmp_path / "schema.json"), str(tmp_path / "foo.json")]
        status, report = _json_report(args)
        assert status == EXIT_SCHEMA
        invalid = [f for f in report["findings"] if f["code"] == "schema.invalid-schema"]
        assert [f["json_path"] for f in invalid] == ["/$schema"]


def test_check_model_with_a_looping_ref_reports_instead_of_crashing(tmp_path: Path) -> None:
    model = tmp_path / "MLModel"
    shutil.copytree(REPO / "schemas" / "MLModel", model)
    schema = json.loads((model / "schema.json").read_text())
    schema["allOf"][0]["$ref"] = "#"
    (model / "schema.json").write_text(json.dumps(schema, indent=2))
    status, report = _json_report(["check-model", str(model)])
    assert status == EXIT_INVALID
    messages = [f["message"] for f in report["findings"] if f["code"] == "sdm.keyvalues-example"]
    assert any("refers to itself without end" in message for message in messages)


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
