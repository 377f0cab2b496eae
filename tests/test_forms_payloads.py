"""Every payload form: detection and reports, the NGSI-LD and NGSI-v2 value rules, notifications, file names.

Each rule is checked by its finding: code, JSON path, and line and column in the file as written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sdmtool import forms, resources
from sdmtool.cli import main
from sdmtool.findings import EXIT_INVALID, EXIT_OK, EXIT_USAGE, Finding
from sdmtool.validate import validate

CONTEXT = [resources.SUBJECT_CONTEXT_URL, resources.CORE_CONTEXT_URL]


def example(entity_type: str = "MLModel") -> dict[str, Any]:
    path = resources.schemas_dir() / entity_type / "examples" / "example.json"
    return json.loads(path.read_text(encoding="utf-8"))


def normalized(entity_type: str = "MLModel") -> dict[str, Any]:
    return forms.to_normalized(example(entity_type), context=CONTEXT)


def position(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def at(text: str, needle: str, after: str = "") -> tuple[int, int]:
    """(line, column), 1-based, of the first character after ``needle`` (of ``after`` inside it, if given)."""
    return position(text, text.index(needle) + (needle.index(after) if after else len(needle)))


def written(tmp_path: Path, entity: Any, name: str = "entity.jsonld") -> tuple[Path, str]:
    path = tmp_path / name
    text = json.dumps(entity, indent=2)
    path.write_text(text)
    return path, text


def only(findings: list[Finding], code: str) -> Finding:
    matching = [finding for finding in findings if finding.code == code]
    assert len(matching) == 1, findings
    return matching[0]


# --- detection and reporting -------------------------------------------------------------------------


def test_each_form_is_detected() -> None:
    kv = example()
    assert forms.detect_form(kv) == forms.KEY_VALUES
    assert forms.detect_form(kv | {"@context": CONTEXT}) == forms.KEY_VALUES
    assert forms.detect_form(normalized()) == forms.NORMALIZED
    assert (
        forms.detect_form(kv | {"refMLProcessing": {"object": "urn:ngsi-ld:MLProcessing:1"}}) == forms.CONCISE
    )
    assert forms.detect_form(forms.to_ngsiv2_normalized(kv)) == forms.NGSIV2_NORMALIZED
    # NGSI-LD ids are URIs (clause 4.5.1): keyValues with a v2 id and no @context is NGSI-v2 keyValues.
    assert forms.detect_form(kv | {"id": "MLModel.01"}) == forms.NGSIV2_KEY_VALUES
    assert forms.detect_form(kv | {"id": "MLModel.01", "@context": CONTEXT}) == forms.KEY_VALUES


def test_form_is_reported_per_entity_and_counted(tmp_path: Path) -> None:
    batch = [normalized(), normalized(), example(), example() | {"id": "MLModel.01"}]
    path, _ = written(tmp_path, batch, "batch.json")
    runner = CliRunner()
    text = runner.invoke(main, ["validate", str(path)])
    assert text.exit_code == EXIT_OK, text.output
    assert text.output.splitlines()[-1] == (
        "4 entities (2 normalized, 1 keyValues, 1 ngsiv2-keyValues) in 1 input: all valid"
    )
    report = json.loads(runner.invoke(main, ["validate", "--format", "json", str(path)]).output)
    assert [entity["form"] for entity in report["entities"]] == [
        "normalized",
        "normalized",
        "keyValues",
        "ngsiv2-keyValues",
    ]
    assert [entity["index"] for entity in report["entities"]] == [0, 1, 2, 3]
    assert report["forms"] == {"normalized": 2, "keyValues": 1, "ngsiv2-keyValues": 1}


def test_form_option_forces_and_accepts_the_old_name(tmp_path: Path) -> None:
    v2 = forms.to_ngsiv2_normalized(example())
    path, _ = written(tmp_path, v2, "v2.json")
    runner = CliRunner()
    for name in ("ngsiv2", "ngsiv2-normalized"):
        result = runner.invoke(main, ["validate", "--form", name, str(path)])
        assert result.exit_code == EXIT_OK, result.output
        assert "(1 ngsiv2-normalized)" in result.output
    # Forced to NGSI-v2 keyValues, the URN id's ':' is fine but the attribute objects are kept whole.
    forced = runner.invoke(main, ["validate", "--form", "ngsiv2-keyValues", str(path)])
    assert "(1 ngsiv2-keyValues)" in forced.output
    bad = runner.invoke(main, ["validate", "--form", "simplified", str(path)])
    assert bad.exit_code == EXIT_USAGE
    with pytest.raises(ValueError, match="unknown form"):
        validate(example(), form="simplified")
    assert validate(v2, form="ngsiv2") == []


@pytest.mark.parametrize(
    ("name", "entity", "says", "is_"),
    [
        ("example-normalized.jsonld", example(), "NGSI-LD normalized", "NGSI-LD keyValues"),
        ("example.jsonld", normalized(), "NGSI-LD keyValues", "NGSI-LD normalized"),
        ("example.json", normalized(), "NGSI-v2 keyValues", "NGSI-LD normalized"),
        ("example-normalized.json", normalized(), "NGSI-v2 normalized", "NGSI-LD normalized"),
        ("example.json", example() | {"@context": CONTEXT}, "NGSI-v2 keyValues", "NGSI-LD keyValues"),
    ],
)
def test_a_file_named_for_another_form_gets_a_warning(
    tmp_path: Path, name: str, entity: dict[str, Any], says: str, is_: str
) -> None:
    path, _ = written(tmp_path, entity, name)
    finding = only(validate(path), "form.file-name")
    assert finding.severity == "warning" and finding.json_path == ""
    assert (finding.line, finding.column) == (1, 1)
    assert f"says {says}, but the entity is written in {is_}" in finding.message


def test_files_named_for_their_form_get_no_warning(tmp_path: Path) -> None:
    kv = example()
    cases = {
        "example.json": kv,  # keyValues with a URI id and no @context reads the same in v2 and NGSI-LD
        "example-normalized.json": forms.to_ngsiv2_normalized(kv),
        "example.jsonld": kv | {"@context": CONTEXT},
        "example-normalized.jsonld": normalized(),
        "dump.json": normalized(),  # names outside the convention say nothing
    }
    for name, entity in cases.items():
        path, _ = written(tmp_path, entity, name)
        assert validate(path) == [], name
    assert forms.form_named_by("a/b/weather_normalized.jsonld") == forms.NORMALIZED
    assert forms.form_named_by("entity.ndjson") is None


# --- NGSI-LD rules -----------------------------------------------------------------------------------


def test_id_must_be_an_absolute_uri_in_every_ngsi_ld_form(tmp_path: Path) -> None:
    for entity in (
        normalized() | {"id": "MLModel.01"},
        example() | {"id": "MLModel.01", "@context": CONTEXT},
    ):
        path, text = written(tmp_path, entity)
        finding = only(validate(path), "ngsi-ld.id")
        assert finding.json_path == "/id"
        assert (finding.line, finding.column) == at(text, '"id": ')


def test_relationship_object_must_be_a_uri_or_a_list_of_them(tmp_path: Path) -> None:
    entity = normalized() | {"refMLProcessing": {"type": "Relationship", "object": ["urn:a:1", "b"]}}
    path, text = written(tmp_path, entity)
    finding = only(validate(path), "ngsi-ld.object")
    assert finding.json_path == "/refMLProcessing/object/1"
    assert (finding.line, finding.column) == at(text, '"b"', '"b"')
    entity["refMLProcessing"]["object"] = ["urn:a:1", "urn:b:2"]
    assert validate(entity) == []


def test_concise_attributes_are_checked_like_normalized_ones(tmp_path: Path) -> None:
    entity = example() | {"refMLProcessing": {"object": "not a uri"}}
    path, text = written(tmp_path, entity)
    finding = only(validate(path), "ngsi-ld.object")
    assert (finding.json_path, finding.form) == ("/refMLProcessing/object", "concise")
    assert (finding.line, finding.column) == at(text, '"object": ')


def test_geoproperty_value_must_be_a_geometry(tmp_path: Path) -> None:
    entity = normalized() | {"location": {"type": "GeoProperty", "value": {"type": "Point"}}}
    path, text = written(tmp_path, entity)
    finding = only(validate(path), "ngsi-ld.attribute")
    assert finding.json_path == "/location/value" and "GeoJSON geometry" in finding.message
    assert (finding.line, finding.column) == at(text, '"GeoProperty",\n    "value": ')
    # The coordinates are checked too (RFC 7946), where they go wrong.
    entity["location"]["value"] = {"type": "LineString", "coordinates": [[0, 0], ["a", 1]]}
    path, text = written(tmp_path, entity)
    finding = only(validate(path), "ngsi-ld.attribute")
    assert finding.json_path == "/location/value/coordinates/1" and "2 or 3 numbers" in finding.message
    assert (finding.line, finding.column) == position(text, text.rindex("[", 0, text.index('"a"')))


def test_language_property_has_a_language_map_and_no_value(tmp_path: Path) -> None:
    entity = normalized() | {"name": {"type": "LanguageProperty", "languageMap": {"en": 3}, "value": "x"}}
    path, text = written(tmp_path, entity)
    findings = [f for f in validate(path) if f.code == "ngsi-ld.attribute"]
    assert [f.json_path for f in findings] == ["/name/languageMap/en", "/name/value"]
    assert (findings[0].line, findings[0].column) == at(text, '"en": ')
    assert (findings[1].line, findings[1].column) == at(text, '"value": "x"', '"x"')
    entity["name"] = {"type": "LanguageProperty", "languageMap": {"en": "Digits", "fr": "Chiffres"}}
    assert [f for f in validate(entity) if f.code.startswith("ngsi-ld")] == []


def test_list_property_and_list_relationship(tmp_path: Path) -> None:
    entity = normalized() | {
        "inputAttributes": {"type": "ListProperty", "valueList": "imagePath"},
        "refMLProcessing": {"type": "ListRelationship", "objectList": [{"object": "urn:a:1"}, 3]},
    }
    path, text = written(tmp_path, entity)
    findings = validate(path)
    listed = only(findings, "ngsi-ld.attribute")
    assert listed.json_path == "/inputAttributes/valueList"
    assert (listed.line, listed.column) == at(text, '"valueList": ')
    target = only(findings, "ngsi-ld.object")
    assert target.json_path == "/refMLProcessing/objectList/1"
    entity["inputAttributes"]["valueList"] = ["imagePath"]
    entity["refMLProcessing"]["objectList"] = [{"object": "urn:a:1"}, "urn:b:2"]
    assert validate(entity) == []


def test_members_a_kind_forbids(tmp_path: Path) -> None:
    entity = normalized() | {
        "refMLProcessing": {"type": "Relationship", "object": ["urn:a:1"], "value": "urn:a:1"},
        "version": {"type": "Property", "value": "1", "object": "urn:a:1"},
    }
    path, text = written(tmp_path, entity)
    findings = [f for f in validate(path) if f.code == "ngsi-ld.attribute"]
    assert [f.json_path for f in findings] == ["/version/object", "/refMLProcessing/value"]
    assert "'object'" in findings[1].message
    assert (findings[0].line, findings[0].column) == at(text, '"object": "urn:a:1"\n', '"urn')


def test_multi_instance_datasets_are_unique_per_attribute(tmp_path: Path) -> None:
    instance = {"type": "Property", "value": "onnx", "datasetId": "urn:ngsi-ld:Dataset:a"}
    entity = normalized() | {"modelFormat": [instance, dict(instance)]}
    path, text = written(tmp_path, entity)
    finding = only(validate(path), "ngsi-ld.dataset")
    assert finding.json_path == "/modelFormat/1"
    second = text.index("{", text.index("},", text.index('"modelFormat"')))
    assert (finding.line, finding.column) == position(text, second)
    entity["modelFormat"][1] = instance | {"datasetId": "urn:ngsi-ld:Dataset:b"}
    # The same datasetId in another attribute is no repeat.
    entity["algorithm"] = [{"type": "Property", "value": "CNN", "datasetId": "urn:ngsi-ld:Dataset:a"}]
    assert validate(entity) == []


def test_a_problem_beside_the_value_hides_no_error_of_the_value() -> None:
    # A repeated datasetId, a bad observedAt or datasetId leave the values readable: they are checked too.
    entity = normalized() | {
        "modelFormat": [
            {"type": "Property", "value": "h5", "datasetId": "urn:ngsi-ld:Dataset:a"},
            {"type": "Property", "value": "onnx", "datasetId": "urn:ngsi-ld:Dataset:a"},
        ],
        "algorithm": {"type": "Property", "value": 7, "observedAt": "yesterday"},
        "version": {"type": "Property", "value": 3, "datasetId": "not a uri"},
    }
    found = {(f.code, f.json_path) for f in validate(entity)}
    assert {
        ("schema.enum", "/modelFormat/0/value"),
        ("ngsi-ld.dataset", "/modelFormat/1"),
        ("schema.type", "/algorithm/value"),
        ("ngsi-ld.attribute", "/algorithm/observedAt"),
        ("schema.type", "/version/value"),
        ("ngsi-ld.object", "/version/datasetId"),
    } <= found


def test_a_dataset_id_is_one_uri_not_a_list(tmp_path: Path) -> None:
    entity = normalized() | {"version": {"type": "Property", "value": "1", "datasetId": ["urn:a:1"]}}
    path, text = written(tmp_path, entity)
    finding = only(validate(path), "ngsi-ld.object")
    assert finding.json_path == "/version/datasetId"
    assert "one absolute URI, not a list" in finding.message
    assert (finding.line, finding.column) == at(text, '"datasetId": ')


def test_observed_at_and_typed_date_times(tmp_path: Path) -> None:
    entity = normalized() | {
        "version": {"type": "Property", "value": "1", "observedAt": "yesterday"},
        "extra": {"type": "Property", "value": {"@type": "DateTime", "@value": "2026-13-01T00:00:00Z"}},
    }
    path, text = written(tmp_path, entity)
    findings = validate(path)
    observed = only(findings, "ngsi-ld.attribute")
    assert observed.json_path == "/version/observedAt"
    assert (observed.line, observed.column) == at(text, '"observedAt": ')
    typed = only(findings, "ngsi-ld.typed-value")
    assert typed.json_path == "/extra/value/@value"
    assert (typed.line, typed.column) == at(text, '"@value": "2026-13', '"2026')
    # In keyValues too (a broker's keyValues output keeps the DateTime type), and said once.
    kv = example() | {"dateCreated": {"@type": "DateTime", "@value": "soon"}}
    (finding,) = validate(kv)
    assert (finding.code, finding.json_path) == ("ngsi-ld.typed-value", "/dateCreated/@value")


def test_unit_code(tmp_path: Path) -> None:
    entity = normalized() | {
        "version": {"type": "Property", "value": "1", "unitCode": 5},
        "refMLProcessing": {"type": "Relationship", "object": ["urn:a:1"], "unitCode": "C62"},
        "algorithm": {"type": "Property", "value": "CNN", "unitCode": "metres"},
    }
    path, text = written(tmp_path, entity)
    findings = [f for f in validate(path) if f.code == "ngsi-ld.unit-code"]
    assert [(f.severity, f.json_path) for f in findings] == [
        ("warning", "/algorithm/unitCode"),
        ("error", "/version/unitCode"),
        ("error", "/refMLProcessing/unitCode"),
    ]
    assert (findings[1].line, findings[1].column) == at(text, '"unitCode": 5', "5")
    entity = normalized() | {"version": {"type": "Property", "value": "1", "unitCode": "C62"}}
    assert validate(entity) == []


def test_json_null_is_rejected_everywhere(tmp_path: Path) -> None:
    entity = normalized() | {
        "version": {"type": "Property", "value": None},
        "trainingDataset": {"type": "Property", "value": {"datasetName": None}},
    }
    path, text = written(tmp_path, entity)
    findings = [f for f in validate(path) if f.is_error]
    assert [(f.code, f.json_path) for f in findings] == [
        ("ngsi-ld.null", "/version/value"),
        ("ngsi-ld.null", "/trainingDataset/value/datasetName"),
    ]
    assert (findings[0].line, findings[0].column) == at(text, '"value": null', "null")


def test_ngsi_null_only_where_the_spec_allows_it(tmp_path: Path) -> None:
    null = "urn:ngsi-ld:null"
    entity = normalized() | {"refMLProcessing": {"type": "Relationship", "object": null}}
    path, text = written(tmp_path, entity)
    (finding,) = validate(path)
    assert (finding.code, finding.json_path) == ("ngsi-ld.null", "/refMLProcessing/object")
    assert (finding.line, finding.column) == at(text, f'"object": "{null}"', '"urn')
    (finding,) = validate(example() | {"version": null})
    assert (finding.code, finding.json_path) == ("ngsi-ld.null", "/version")
    # In a notification it says the attribute was deleted: no finding.
    notification = {
        "id": "urn:ngsi-ld:Notification:1",
        "type": "Notification",
        "subscriptionId": "urn:ngsi-ld:Subscription:1",
        "notifiedAt": "2026-11-20T09:30:00Z",
        "data": [
            entity,
            example() | {"version": null},
            normalized() | {"name": {"type": "LanguageProperty", "languageMap": {"@none": null}}},
        ],
    }
    path, _ = written(tmp_path, notification, "notification.json")
    assert validate(path) == []


def test_double_wrapping(tmp_path: Path) -> None:
    entity = normalized() | {"version": {"type": "Property", "value": {"type": "Property", "value": "12"}}}
    path, text = written(tmp_path, entity)
    (finding,) = validate(path)
    assert (finding.code, finding.json_path) == ("ngsi-ld.double-wrapped", "/version/value")
    assert (finding.line, finding.column) == at(text, '"version": {\n    "type": "Property",\n    "value": ')
    v2 = forms.to_ngsiv2_normalized(example()) | {
        "version": {"type": "Text", "value": {"type": "Text", "value": "12"}}
    }
    (finding,) = validate(v2)
    assert (finding.code, finding.json_path) == ("ngsiv2.double-wrapped", "/version/value")


# --- NGSI-v2 rules -----------------------------------------------------------------------------------


def v2_entity() -> dict[str, Any]:
    return forms.to_ngsiv2_normalized(example() | {"id": "MLModel.01"})


def test_v2_attributes_need_type_and_value_and_no_ngsi_ld_kinds(tmp_path: Path) -> None:
    entity = v2_entity() | {"algorithm": {"type": "Property", "value": "CNN"}, "version": {"type": "Text"}}
    path, text = written(tmp_path, entity, "v2.json")
    findings = [f for f in validate(path) if f.code == "ngsiv2.attribute"]
    assert [f.json_path for f in findings] == ["/algorithm/type", "/version"]
    assert (findings[0].line, findings[0].column) == at(text, '"type": "Property"', '"Property"')


def test_v2_forbidden_characters(tmp_path: Path) -> None:
    entity = v2_entity() | {
        "name": {"type": "Text", "value": "a (b)"},
        "description": {"type": "TextUnrestricted", "value": "a <b>"},
        "metrics": {"type": "StructuredValue", "value": [{"metricName": "x=1"}]},
        "bad;name": {"type": "Text", "value": "x"},
    }
    path, text = written(tmp_path, entity, "v2.json")
    findings = [f for f in validate(path) if f.code == "ngsiv2.characters"]
    assert [f.json_path for f in findings] == ["/name/value", "/metrics/value/0/metricName", "/bad;name"]
    assert "found ( )" in findings[0].message and "TextUnrestricted" in findings[0].message
    assert (findings[0].line, findings[0].column) == at(text, '"a (b)"', '"')
    kv = example() | {"id": "MLModel(1)", "algorithm": "C'NN"}
    findings = validate(kv)
    assert [(f.code, f.json_path, f.form) for f in findings] == [
        ("ngsiv2.characters", "/id", "ngsiv2-keyValues"),
        ("ngsiv2.characters", "/algorithm", "ngsiv2-keyValues"),
    ]
    # An NGSI-LD entity may hold them.
    assert validate(example() | {"algorithm": "C'NN"}) == []


def test_v2_date_time_is_iso_8601(tmp_path: Path) -> None:
    entity = v2_entity() | {"dateCreated": {"type": "DateTime", "value": "2026-02-30T10:00:00Z"}}
    path, text = written(tmp_path, entity, "v2.json")
    finding = only(validate(path), "ngsiv2.datetime")
    assert finding.json_path == "/dateCreated/value"
    assert (finding.line, finding.column) == at(text, '"2026-02-30', '"')
    for good in ("2026-02-28", "2026-02-28T10:00", "2026-02-28T10:00:00.123+02:00", "2026-02-28T10:00:00Z"):
        entity["dateCreated"] = {"type": "DateTime", "value": good}
        assert [f for f in validate(entity) if f.code == "ngsiv2.datetime"] == [], good


def test_v2_geo_json_is_geojson(tmp_path: Path) -> None:
    entity = v2_entity() | {"location": {"type": "geo:json", "value": {"type": "Point", "coords": [1, 2]}}}
    path, text = written(tmp_path, entity, "v2.json")
    finding = only(validate(path), "ngsiv2.geojson")
    assert finding.json_path == "/location/value"
    assert (finding.line, finding.column) == at(text, '"geo:json",\n    "value": ')
    entity["location"]["value"] = {"type": "Point", "coordinates": [1, 2]}
    assert [f for f in validate(entity) if f.code == "ngsiv2.geojson"] == []
    # Checked as deep as RFC 7946 goes, at the place that is wrong: here an unclosed ring in a Feature.
    ring = [[0, 0], [1, 0], [1, 1], [0, 1]]
    feature = {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]}, "properties": {}}
    entity["location"]["value"] = feature
    finding = only(validate(entity), "ngsiv2.geojson")
    assert finding.json_path == "/location/value/geometry/coordinates/0/3" and "closed" in finding.message


def test_v2_metadata(tmp_path: Path) -> None:
    metadata = {
        "source": {"type": "Text", "value": "a (b)"},
        "time<": {"type": "DateTime", "value": "2026-02-30T10:00:00Z"},
        "bad": 3,
        "noValue": {"type": "Text"},
        "extra": {"value": 1, "unit": "m"},
        "numbered": {"type": 7, "value": 1},
        "free": {"type": "TextUnrestricted", "value": "a (b)"},
        "when": {"type": "DateTime", "value": "2026-02-28T10:00:00Z"},
    }
    entity = v2_entity() | {"name": {"type": "Text", "value": "digits", "metadata": metadata}}
    path, text = written(tmp_path, entity, "v2.json")
    findings = validate(path)
    assert [(f.code, f.json_path) for f in findings] == [
        ("ngsiv2.characters", "/name/metadata/source/value"),
        ("ngsiv2.characters", "/name/metadata/time<"),
        ("ngsiv2.datetime", "/name/metadata/time</value"),
        ("ngsiv2.metadata", "/name/metadata/bad"),
        ("ngsiv2.metadata", "/name/metadata/noValue"),
        ("ngsiv2.metadata", "/name/metadata/extra/unit"),
        ("ngsiv2.metadata", "/name/metadata/numbered/type"),
    ]
    assert (findings[3].line, findings[3].column) == at(text, '"bad": 3', "3")
    assert "metadata names" in findings[1].message and "got an integer" in findings[3].message
    entity["name"]["metadata"] = []
    (finding,) = validate(entity)
    assert (finding.code, finding.json_path) == ("ngsiv2.metadata", "/name/metadata")


# --- notifications -----------------------------------------------------------------------------------


def test_ngsi_ld_notification_entities_are_validated_with_their_paths(tmp_path: Path) -> None:
    notification = {
        "id": "urn:ngsi-ld:Notification:1",
        "type": "Notification",
        "subscriptionId": "urn:ngsi-ld:Subscription:1",
        "notifiedAt": "2026-11-20T09:30:00Z",
        "data": [
            example(),
            example(),
            example(),
            normalized() | {"version": {"type": "Property", "value": 12}},
        ],
    }
    path, text = written(tmp_path, notification, "notification.json")
    (finding,) = validate(path)
    assert (finding.json_path, finding.index, finding.code) == ("/data/3/version/value", 3, "schema.type")
    assert (finding.line, finding.column) == at(text, '"value": 12', "12")


def test_ngsi_v2_notification_and_partial_entities(tmp_path: Path) -> None:
    partial = {"id": "MLModel.01", "type": "MLModel", "version": {"type": "Number", "value": 12}}
    notification = {"subscriptionId": "57458eb60962ef754e7c0998", "data": [partial, {"type": "MLModel"}]}
    path, _ = written(tmp_path, notification, "v2-notification.json")
    findings = [f for f in validate(path) if f.is_error]
    # Only the notified attributes are there: none is "missing"; but an entity without id still is wrong.
    assert [(f.json_path, f.code) for f in findings] == [
        ("/data/0/version/value", "schema.type"),
        ("/data/1/id", "schema.required"),
    ]


def test_notification_whose_data_is_not_an_array(tmp_path: Path) -> None:
    path, text = written(tmp_path, {"type": "Notification", "data": {"id": "x"}}, "notification.json")
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == EXIT_USAGE
    line, column = at(text, '"data": ')
    assert f"notification.json:{line}:{column}: error: the data of a notification" in result.output


def test_exit_codes_of_forms(tmp_path: Path) -> None:
    runner = CliRunner()
    good, _ = written(tmp_path, normalized(), "good.jsonld")
    bad, _ = written(tmp_path, normalized() | {"version": {"type": "Property", "value": None}}, "bad.jsonld")
    warned, _ = written(tmp_path, example(), "example-normalized.jsonld")
    assert runner.invoke(main, ["validate", str(good)]).exit_code == EXIT_OK
    assert runner.invoke(main, ["validate", str(warned)]).exit_code == EXIT_OK  # warnings only
    assert runner.invoke(main, ["validate", str(bad)]).exit_code == EXIT_INVALID
