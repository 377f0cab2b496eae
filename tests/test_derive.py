"""The schemas of the other forms, generated from the keyValues schemas (sdmtool.derive)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sdmtool import derive, forms, resources, schemas

TYPES = ("MLModel", "HandwritingDigit", "MLProcessing", "SubscriptionQuery")


def _python(schema: dict[str, Any]) -> Any:
    """python-jsonschema, as the full check runs it (ECMA-262 `$`, formats asserted)."""
    return schemas._Validator(schema, format_checker=schemas.format_checker())


def _example(name: str, file_name: str) -> Any:
    return json.loads((resources.schemas_dir() / name / "examples" / file_name).read_text())


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [
            ref for key, value in node.items() if key not in ("enum", "const") for ref in _refs(value)
        ]
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []


@pytest.mark.parametrize("name", TYPES)
def test_the_inlined_schema_needs_nothing_else_and_judges_as_the_bundled_one(name: str) -> None:
    inlined = derive.inline_schema(name)
    assert _refs(inlined) == []
    example = _example(name, "example.json")
    broken = {**example, "id": 12}
    for entity, valid in ((example, True), (broken, False)):
        assert _python(inlined).is_valid(entity) is valid
        assert schemas.validator(name).is_valid(entity) is valid


@pytest.mark.parametrize("name", TYPES)
@pytest.mark.parametrize(
    ("form", "file_name"),
    [
        (forms.KEY_VALUES, "example.json"),
        (forms.NORMALIZED, "example-normalized.jsonld"),
    ],
)
def test_the_examples_fit_the_schema_of_their_form_and_no_other(name: str, form: str, file_name: str) -> None:
    example = _example(name, file_name)
    for other in derive.FORMS:
        assert _python(derive.schema_of_form(other, name)).is_valid(example) is (other == form), other


@pytest.mark.parametrize("name", TYPES)
def test_attribute_kinds_come_from_the_description_grammar(name: str) -> None:
    normalized = derive.normalized_schema(name)
    for attribute, fact in schemas.attributes(name).items():
        instance = normalized["properties"][attribute]
        assert instance["properties"]["type"] == {"const": fact.kind}
        member = "object" if fact.kind == schemas.KIND_RELATIONSHIP else "value"
        assert member in instance["required"]


def test_a_relationship_needs_an_absolute_uri_and_a_date_time_its_wrapper() -> None:
    check = _python(derive.normalized_schema("HandwritingDigit"))
    entity = forms.to_normalized(_example("HandwritingDigit", "example.json"))
    assert check.is_valid(entity)
    assert not check.is_valid({**entity, "refMLModel": {"type": "Relationship", "object": "no uri"}})
    assert not check.is_valid(
        {**entity, "datePredicted": {"type": "Property", "value": "2026-11-20T10:15:02Z"}}
    )
    assert not check.is_valid(
        {**entity, "refMLModel": {"type": "Property", "value": "urn:ngsi-ld:MLModel:1"}}
    )


def test_ngsiv2_types_are_held_to_their_json_types() -> None:
    check = _python(derive.ngsiv2_schema("MLModel"))
    entity = {"id": "urn:ngsi-ld:MLModel:1", "type": "MLModel", "version": {"type": "Text", "value": "12"}}
    assert check.is_valid(entity)
    assert not check.is_valid({**entity, "version": {"type": "Number", "value": "12"}})
    assert not check.is_valid({**entity, "version": {"type": "Property", "value": "12"}})


def test_a_schema_whose_root_says_more_than_attributes_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    schema = {**schemas.load_schema("MLModel"), "minProperties": 3}
    monkeypatch.setattr(derive, "_inline_cached", lambda name: schema)
    derive._declarations.cache_clear()
    try:
        with pytest.raises(derive.UnsupportedSchema, match="minProperties"):
            derive._declarations("MLModel")
    finally:
        derive._declarations.cache_clear()
