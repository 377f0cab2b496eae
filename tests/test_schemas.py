"""The bundled schemas: loading, offline $ref resolution, format assertion, derived attribute facts,
and the Smart Data Models description grammar at every depth."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing.exceptions import Unresolvable

from sdmtool import resources, schemas
from sdmtool.check_model import description_problems

MODELS = schemas.entity_types()


def example(entity_type: str) -> dict[str, Any]:
    path = resources.schemas_dir() / entity_type / "examples" / "example.json"
    return json.loads(path.read_text(encoding="utf-8"))


def test_bundle_has_the_four_models() -> None:
    assert MODELS == ("HandwritingDigit", "MLModel", "MLProcessing", "SubscriptionQuery")


@pytest.mark.parametrize("entity_type", MODELS)
def test_schema_header(entity_type: str) -> None:
    schema = schemas.load_schema(entity_type)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"{resources.SCHEMA_BASE_URL}{entity_type}/schema.json"
    assert {"id", "type"} <= set(schema["required"])


def test_ids_are_unique() -> None:
    ids = [schemas.load_schema(t)["$id"] for t in MODELS]
    assert len(set(ids)) == len(ids)


def test_registry_is_offline() -> None:
    resolver = schemas.registry().resolver()
    assert resolver.lookup(resources.COMMON_SCHEMA_URL + "#/definitions/GSMA-Commons").contents["properties"]
    for entity_type in MODELS:
        assert resolver.lookup(schemas.load_schema(entity_type)["$id"]).contents["title"]
    # No retrieve hook: anything not bundled fails instead of going to the network.
    with pytest.raises(Unresolvable):
        resolver.lookup("https://example.org/not-bundled.json")


def test_validators_are_cached() -> None:
    assert schemas.validator("MLModel") is schemas.validator("MLModel")


def test_unknown_type() -> None:
    with pytest.raises(schemas.UnknownEntityType):
        schemas.load_schema("Nope")


@pytest.mark.parametrize("entity_type", MODELS)
def test_examples_are_valid(entity_type: str) -> None:
    errors = [e.message for e in schemas.validator(entity_type).iter_errors(example(entity_type))]
    assert errors == []


@pytest.mark.parametrize(
    ("entity_type", "member", "value"),
    [
        ("MLProcessing", "dueDate", "yesterday"),
        ("MLProcessing", "dueDate", "2026-11-20"),
        ("MLModel", "modelUrl", "not a uri"),
        ("MLModel", "dateCreated", "2026-13-01T00:00:00Z"),
        ("MLModel", "seeAlso", "no scheme"),
        ("SubscriptionQuery", "expiresAt", "2030-01-01 00:00"),
    ],
)
def test_formats_are_asserted(entity_type: str, member: str, value: str) -> None:
    entity = example(entity_type) | {member: value}
    errors = list(schemas.validator(entity_type).iter_errors(entity))
    assert errors, f"{member}={value!r} should not validate"


@pytest.mark.parametrize(
    ("entity_type", "member", "value"),
    [
        ("MLProcessing", "dueDate", "2026-11-20T09:00:00Z\n"),
        ("MLModel", "modelUrl", "https://models.example.org/m.onnx\n"),
        ("MLModel", "modelSha256", "0" * 64 + "\n"),
        ("MLModel", "id", "MLModel.01\n"),
        ("HandwritingDigit", "imageMetadata", {"mediaType": "image/png\n"}),
    ],
)
def test_a_final_line_break_does_not_validate(entity_type: str, member: str, value: Any) -> None:
    # Python's `$` (in the format validators and in `pattern`) also matches before a final "\n";
    # ECMA-262's, which JSON Schema means, does not.
    entity = example(entity_type) | {member: value}
    assert list(schemas.validator(entity_type).iter_errors(entity)), f"{member}={value!r} should not validate"
    assert schemas.format_checker().conforms("a$\n", "regex")  # a regex may end with a line break


def test_ecma_pattern() -> None:
    assert schemas._ecma_pattern("^[0-9a-f]{64}$") == r"^[0-9a-f]{64}\Z"
    assert schemas._ecma_pattern(r"^[\$x]+$") == r"^[\$x]+\Z"  # `$` in a class or escaped stays
    assert schemas._ecma_pattern(r"a\$|b$") == r"a\$|b\Z"


def test_attribute_kinds() -> None:
    kinds = schemas.attribute_kinds("MLProcessing")
    assert kinds["refMLModel"] == kinds["refSubscriptionQuery"] == kinds["refOutputEntity"] == "Relationship"
    assert kinds["processingStatus"] == kinds["name"] == "Property"
    assert "id" not in kinds and "type" not in kinds
    assert schemas.attribute_kinds("MLModel")["refMLProcessing"] == "Relationship"
    assert schemas.attribute_kinds("HandwritingDigit")["refMLModel"] == "Relationship"
    for entity_type in MODELS:
        for name, kind in schemas.attribute_kinds(entity_type).items():
            assert kind == ("Relationship" if name.startswith("ref") else "Property"), name


def test_date_time_attributes() -> None:
    assert schemas.date_time_attributes("MLProcessing") == {
        "dueDate",
        "dateLastProcessed",
        "dateCreated",
        "dateModified",
    }
    assert "expiresAt" in schemas.date_time_attributes("SubscriptionQuery")
    assert "datePredicted" in schemas.date_time_attributes("HandwritingDigit")


def test_member_names_cover_nested_and_items() -> None:
    names = schemas.all_member_names("SubscriptionQuery")
    assert {"endpoint", "uri", "accept", "receiverInfo", "key", "value", "idPattern"} <= names
    assert {"metricName", "datasetSha256", "sampleCount"} <= schemas.all_member_names("MLModel")


# --- the description grammar (sdm-rules §4: D1..D4, plus "kind first", the safe subset we follow) -----


def grammar_problems(description: Any) -> list[str]:
    """Everything check-model says about a description (its warnings too: the kind must come first), plus
    the safe subset our schemas keep to: no Multilingual piece."""
    problems = [message for _, message in description_problems(description)]
    if isinstance(description, str) and any(
        piece.startswith("Multilingual") for piece in description.split(". ")
    ):
        problems.append("Multilingual is outside the safe subset")
    return problems


def described_nodes(entity_type: str) -> Iterator[tuple[str, Any]]:
    """(path, description) of every property at any depth, every items, every items.anyOf[i] and every
    $ref target; property-level anyOf/oneOf branches are not subject to the grammar (as in check #4)."""
    registry = schemas.registry()
    root = schemas.load_schema(entity_type)

    def description_of(node: dict[str, Any], resolver: Any) -> tuple[Any, dict[str, Any], Any]:
        target, target_resolver = schemas.resolve(node, resolver)
        description = node.get("description", target.get("description"))
        return description, target, target_resolver

    def walk_object(node: dict[str, Any], resolver: Any, path: str) -> Iterator[tuple[str, Any]]:
        node, resolver = schemas.resolve(node, resolver)
        for part in node.get("allOf") or ():
            yield from walk_object(part, resolver, path)
        for name, sub in (node.get("properties") or {}).items():
            yield from walk_member(sub, resolver, f"{path}/{name}")

    def walk_member(node: dict[str, Any], resolver: Any, path: str) -> Iterator[tuple[str, Any]]:
        description, target, target_resolver = description_of(node, resolver)
        yield path, description
        if "$ref" in node:
            yield f"{path} ($ref target)", target.get("description")
        yield from walk_object(target, target_resolver, path)
        items = target.get("items")
        if isinstance(items, dict):
            yield from walk_member(items, target_resolver, f"{path}/items")
            for index, branch in enumerate(items.get("anyOf") or ()):
                yield f"{path}/items/anyOf/{index}", branch.get("description")

    yield from walk_object(root, registry.resolver(base_uri=root["$id"]), "")


@pytest.mark.parametrize("entity_type", MODELS)
def test_descriptions_follow_the_grammar(entity_type: str) -> None:
    nodes = list(described_nodes(entity_type))
    assert len(nodes) > 20
    bad = {path: problems for path, description in nodes if (problems := grammar_problems(description))}
    assert bad == {}


def test_grammar_checker_catches_defects() -> None:
    assert grammar_problems("Property. Model:'https://schema.org/Text'. A sufficiently long text") == []
    assert grammar_problems("property. some text that is long")
    assert grammar_problems("Property.Model:'x'. Some long enough text")
    assert grammar_problems("Property. Model: 'x'. Some long enough text")
    assert grammar_problems("Property. Some long enough text. Units:'m'.")
    assert grammar_problems("Short") and grammar_problems(None)


@pytest.mark.parametrize("entity_type", MODELS)
def test_root_description(entity_type: str) -> None:
    assert len(schemas.load_schema(entity_type)["description"]) >= 50
