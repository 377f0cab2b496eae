"""Conversions between keyValues, NGSI-LD normalized/concise and NGSI-v2 normalized."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sdmtool import forms, resources, schemas
from sdmtool.validate import validate

MODELS = schemas.entity_types()
CONTEXT = [resources.SUBJECT_CONTEXT_URL, resources.CORE_CONTEXT_URL]


def example(entity_type: str) -> dict[str, Any]:
    path = resources.schemas_dir() / entity_type / "examples" / "example.json"
    return json.loads(path.read_text(encoding="utf-8"))


def test_normalized_shapes() -> None:
    processing = forms.to_normalized(example("MLProcessing"), context=CONTEXT)
    assert processing["id"] == "urn:ngsi-ld:MLProcessing:digits-01"
    assert processing["type"] == "MLProcessing"
    assert processing["refMLModel"] == {
        "type": "Relationship",
        "object": "urn:ngsi-ld:MLModel:HandwrittenDigitPrediction",
    }
    assert processing["processedCount"] == {"type": "Property", "value": 1250}
    assert processing["dueDate"] == {
        "type": "Property",
        "value": {"@type": "DateTime", "@value": "2026-11-20T09:00:00Z"},
    }
    assert processing["@context"] == CONTEXT
    assert list(processing)[-1] == "@context"
    model = forms.to_normalized(example("MLModel"))
    assert model["refMLProcessing"] == {
        "type": "Relationship",
        "object": ["urn:ngsi-ld:MLProcessing:digits-01"],
    }
    assert model["metrics"]["type"] == "Property"
    assert "@context" not in model


def test_existing_context_is_kept() -> None:
    entity = example("MLModel") | {"@context": "https://example.org/ctx.jsonld"}
    assert forms.to_normalized(entity)["@context"] == "https://example.org/ctx.jsonld"
    assert forms.to_normalized(entity, context=CONTEXT)["@context"] == CONTEXT


def test_unknown_type_guesses() -> None:
    entity = {
        "id": "urn:ngsi-ld:Thing:1",
        "type": "Thing",
        "refOwner": "urn:ngsi-ld:Person:1",
        "location": {"type": "Point", "coordinates": [1.0, 2.0]},
        "label": {"languageMap": {"en": "one", "fr": "un"}},
        "size": 3,
    }
    normalized = forms.to_normalized(entity)
    assert normalized["refOwner"]["type"] == "Relationship"
    assert normalized["location"]["type"] == "GeoProperty"
    assert normalized["label"] == {"type": "LanguageProperty", "languageMap": {"en": "one", "fr": "un"}}
    assert normalized["size"] == {"type": "Property", "value": 3}
    assert forms.to_key_values(normalized) == entity


@pytest.mark.parametrize("entity_type", MODELS)
def test_round_trip_examples(entity_type: str) -> None:
    source = example(entity_type)
    normalized = forms.to_normalized(source, context=CONTEXT)
    assert forms.to_key_values(normalized) == source | {"@context": CONTEXT}
    assert forms.to_key_values(forms.to_normalized(source)) == source
    # normalized -> keyValues -> normalized is the identity too
    assert forms.to_normalized(forms.to_key_values(normalized)) == normalized
    # NGSI-v2 normalized keeps the values
    assert forms.from_ngsiv2_normalized(forms.to_ngsiv2_normalized(source)) == source


@pytest.mark.parametrize("entity_type", MODELS)
def test_every_form_of_every_example_is_valid(entity_type: str) -> None:
    source = example(entity_type)
    variants = {
        "keyValues": source,
        "keyValues+context": source | {"@context": CONTEXT},
        "normalized": forms.to_normalized(source, context=CONTEXT),
        "ngsiv2": forms.to_ngsiv2_normalized(source),
    }
    for name, entity in variants.items():
        assert [f for f in validate(entity) if f.is_error] == [], name
    assert forms.detect_form(variants["normalized"]) == "normalized"
    assert forms.detect_form(variants["keyValues+context"]) == "keyValues"
    assert forms.detect_form(variants["ngsiv2"]) == "ngsiv2-normalized"


def test_to_key_values_concise_and_tolerant() -> None:
    concise = {
        "id": "urn:ngsi-ld:MLProcessing:1",
        "type": "MLProcessing",
        "refMLModel": {"object": "urn:ngsi-ld:MLModel:1"},
        "processedCount": {"value": 3, "observedAt": "2026-01-01T00:00:00Z"},
        "dueDate": {"@type": "DateTime", "@value": "2026-01-01T00:00:00Z"},
        "objective": "already keyValues",
        "connectionParameters": {"server": "s", "port": 1},
        "name": {"type": "LanguageProperty", "languageMap": {"en": "x"}},
    }
    assert forms.to_key_values(concise) == {
        "id": "urn:ngsi-ld:MLProcessing:1",
        "type": "MLProcessing",
        "refMLModel": "urn:ngsi-ld:MLModel:1",
        "processedCount": 3,
        "dueDate": "2026-01-01T00:00:00Z",
        "objective": "already keyValues",
        "connectionParameters": {"server": "s", "port": 1},
        "name": {"languageMap": {"en": "x"}},
    }


def test_declared_value_member_is_not_concise() -> None:
    pair = {"key": "k", "value": "v"}
    # Without schema knowledge an object with `value` is an NGSI-LD concise Property...
    assert forms.to_key_values({"id": "urn:x:1", "type": "Thing", "pair": pair})["pair"] == "v"
    # ...but when the schema declares a `value` member for the attribute's object, it is keyValues.
    assert forms.attribute_kind(pair, frozenset({"key", "value"})) is None
    assert "endpoint" in schemas.attributes("SubscriptionQuery")["notification"].member_names


def test_multi_instance() -> None:
    normalized = {
        "id": "urn:ngsi-ld:HandwritingDigit:1",
        "type": "HandwritingDigit",
        "confidence": [
            {"type": "Property", "value": 0.5},
            {"type": "Property", "value": 0.7, "datasetId": "urn:ngsi-ld:Dataset:b"},
        ],
    }
    key_values = forms.to_key_values(normalized)
    assert key_values["confidence"] == {"dataset": {"@none": 0.5, "urn:ngsi-ld:Dataset:b": 0.7}}
    assert forms.to_normalized(key_values) == normalized
    assert forms.original_path(normalized, ["confidence", "dataset", "urn:ngsi-ld:Dataset:b"]) == [
        "confidence",
        1,
        "value",
    ]


def test_multi_instance_key_values_validate_and_ngsiv2_refuses_them() -> None:
    normalized = forms.to_normalized(example("MLProcessing"))
    normalized["processedCount"] = [
        {"type": "Property", "value": 3},
        {"type": "Property", "value": 4, "datasetId": "urn:ngsi-ld:Dataset:b"},
    ]
    assert validate(normalized) == []
    key_values = forms.to_key_values(normalized)
    assert key_values["processedCount"] == {"dataset": {"@none": 3, "urn:ngsi-ld:Dataset:b": 4}}
    # Each dataset value is checked against the attribute's schema, not the object holding them.
    assert validate(key_values) == []
    key_values["processedCount"]["dataset"]["urn:ngsi-ld:Dataset:b"] = "4"
    key_values["failedCount"] = {"dataset": {"not-a-uri": 1}}
    found = {(f.code, f.json_path) for f in validate(key_values) if f.is_error}
    assert found == {
        ("schema.type", "/processedCount/dataset/urn:ngsi-ld:Dataset:b"),
        ("ngsi-ld.object", "/failedCount/dataset/not-a-uri"),
    }
    # NGSI-v2 has no multi-instance attributes: no instance is dropped in silence.
    for source in (normalized, forms.to_key_values(normalized)):
        with pytest.raises(forms.ConversionError, match="multi-instance") as raised:
            forms.to_ngsiv2_normalized(source)
        assert raised.value.paths == [("processedCount",)]
        assert "/processedCount:" in str(raised.value) and "urn:ngsi-ld:Dataset:b" in str(raised.value)
    # A lone default instance is just the value.
    lone = forms.to_key_values(normalized) | {"processedCount": {"dataset": {"@none": 3}}}
    assert forms.to_ngsiv2_normalized(lone)["processedCount"] == {"type": "Number", "value": 3}
    with pytest.raises(forms.ConversionError):
        forms.to_ngsiv2_normalized(lone | {"processedCount": {"dataset": {"urn:ngsi-ld:Dataset:b": 3}}})


def test_ngsiv2_forbidden_characters_inside_a_structured_value_are_refused() -> None:
    # TextUnrestricted exempts a string attribute only: nested strings have no way into NGSI-v2.
    subscription = example("SubscriptionQuery")
    subscription["entities"][0]["idPattern"] = "^urn:ngsi-ld:HandwritingDigit:(a|b)$"
    subscription["notification"]["endpoint"]["uri"] = "http://127.0.0.1:5001/notify?job=digits"
    model = example("MLModel")
    model["metrics"][0]["evaluationSet"] = "MNIST (held-out)"
    for entity in (subscription, model):
        assert [f for f in validate(entity) if f.is_error] == []
        assert [f for f in validate(forms.to_normalized(entity)) if f.is_error] == []
    with pytest.raises(forms.ConversionError) as raised:
        forms.to_ngsiv2_normalized(subscription)
    assert raised.value.paths == [("entities", 0, "idPattern"), ("notification", "endpoint", "uri")]
    # Every value in the way at once, each with what is wrong with it.
    first, second = str(raised.value).split("; /")
    assert first.startswith("/entities/0/idPattern: NGSI-v2 forbids")
    assert "found ( ) in attribute 'entities', a StructuredValue" in first and "TextUnrestricted" in first
    assert second.startswith("notification/endpoint/uri: NGSI-v2 forbids") and "found =" in second
    with pytest.raises(forms.ConversionError, match=r"^/metrics/0/evaluationSet: .*'metrics'"):
        forms.to_ngsiv2_normalized(model)
    # A string attribute holding them is TextUnrestricted, which validates.
    model = example("MLModel") | {"description": "MNIST (held-out)"}
    converted = forms.to_ngsiv2_normalized(model)
    assert converted["description"] == {"type": "TextUnrestricted", "value": "MNIST (held-out)"}
    assert [f for f in validate(converted) if f.is_error] == []
    # Ids and attribute names have no exemption at all.
    with pytest.raises(forms.ConversionError, match=r"^/id: .*entity ids: found \( \)"):
        forms.to_ngsiv2_normalized(example("MLModel") | {"id": "urn:ngsi-ld:MLModel:a(b)"})


def test_original_path() -> None:
    normalized = forms.to_normalized(example("MLModel"))
    assert forms.original_path(normalized, ["version"]) == ["version", "value"]
    assert forms.original_path(normalized, ["metrics", 0, "sampleCount"]) == [
        "metrics",
        "value",
        0,
        "sampleCount",
    ]
    assert forms.original_path(normalized, ["refMLProcessing", 0]) == ["refMLProcessing", "object", 0]
    assert forms.original_path(normalized, ["dateCreated"]) == ["dateCreated", "value", "@value"]
    assert forms.original_path(normalized, ["id"]) == ["id"]
    assert forms.original_path(normalized, ["nope", 1]) == ["nope", 1]


def test_ngsiv2_types() -> None:
    v2 = forms.to_ngsiv2_normalized(example("MLProcessing") | {"@context": CONTEXT})
    assert "@context" not in v2
    assert v2["refMLModel"]["type"] == "URI"
    assert v2["dueDate"]["type"] == "DateTime"
    assert v2["processedCount"] == {"type": "Number", "value": 1250}
    assert v2["objective"]["type"] == "Text"
    sq = forms.to_ngsiv2_normalized(example("SubscriptionQuery"))
    assert sq["entities"]["type"] == "StructuredValue"
    assert sq["throttling"]["type"] == "Number"
    assert (
        forms.to_ngsiv2_normalized({"id": "x", "type": "T", "b": True, "n": None})["b"]["type"] == "Boolean"
    )
    # NGSI-LD normalized input is reduced first
    assert forms.to_ngsiv2_normalized(
        forms.to_normalized(example("MLProcessing"))
    ) == forms.to_ngsiv2_normalized(example("MLProcessing"))


def test_detect_form_basics() -> None:
    assert forms.detect_form({"id": "urn:x:1", "type": "T"}) == "keyValues"
    assert (
        forms.detect_form({"id": "urn:x:1", "type": "T", "a": {"type": "Property", "value": 1}})
        == "normalized"
    )
    assert (
        forms.detect_form({"id": "urn:x:1", "type": "T", "a": [{"type": "Property", "value": 1}]})
        == "normalized"
    )
    # a GeoJSON keyValues value has a `type` that is no NGSI-LD kind
    assert forms.detect_form(
        {"id": "urn:x", "type": "T", "loc": {"type": "Point", "coordinates": [0, 0]}}
    ) == ("keyValues")


def test_detect_form_survives_any_type_member() -> None:
    # `member.get("type") in frozenset(...)` raised TypeError for a list or an object
    for kind in (["Property"], {"a": 1}, ["Point"]):
        entity = {"id": "urn:x:1", "type": "T", "a": {"type": kind, "value": 1, "coordinates": [0, 0]}}
        assert forms.detect_form(entity) == "keyValues"
        assert forms.to_key_values(entity) == entity
        assert not forms.is_instance(entity["a"]) and not forms.is_geojson_geometry(entity["a"])


def test_detect_ngsiv2_with_a_broken_attribute() -> None:
    v2 = forms.to_ngsiv2_normalized(example("MLModel"))
    assert forms.detect_form(v2 | {"version": {"type": "Text"}}) == "ngsiv2-normalized"
    assert forms.detect_form(v2 | {"version": "12"}) == "ngsiv2-normalized"
    # a keyValues entity with one object value shaped like an NGSI-v2 attribute stays keyValues
    assert forms.detect_form(example("MLModel") | {"name": {"type": "Text", "value": "x"}}) == "keyValues"


def test_absolute_uri_is_the_whole_string() -> None:
    assert forms.is_absolute_uri("urn:ngsi-ld:MLModel:1")
    assert not forms.is_absolute_uri("urn:ngsi-ld:MLModel:1\n")  # `$` matched before the line break


# --- hypothesis: keyValues -> normalized -> keyValues is the identity ---------------------------------

_RESERVED_KEYS = {"@type", "@value", "languageMap", "dataset", "datasetId", "object", "value", "type"}
_keys = st.text(min_size=1, max_size=8).filter(lambda key: key not in _RESERVED_KEYS)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_keys, children, max_size=4),
    max_leaves=12,
)
attribute_names = st.from_regex(r"[a-z][A-Za-z0-9]{0,10}", fullmatch=True).filter(
    lambda name: name not in forms.ENTITY_MEMBERS
)


@st.composite
def key_values_entities(draw: st.DrawFn) -> dict[str, Any]:
    entity_type = draw(st.sampled_from((*MODELS, "UnknownThing")))
    source = example(entity_type) if entity_type in MODELS else {"id": "urn:ngsi-ld:UnknownThing:1"}
    entity: dict[str, Any] = {"id": source["id"], "type": entity_type}
    declared = list(schemas.attributes(entity_type)) if entity_type in MODELS else []
    names = draw(
        st.lists(st.sampled_from(declared) if declared else attribute_names, max_size=6, unique=True)
    )
    names += draw(st.lists(attribute_names, max_size=3, unique=True))
    for name in names:
        if name in source and draw(st.booleans()):
            entity[name] = copy.deepcopy(source[name])
        else:
            entity[name] = draw(
                json_values
                | st.builds(
                    lambda m: {"languageMap": m}, st.dictionaries(st.sampled_from(["en", "fr"]), st.text())
                )
                | st.just("urn:ngsi-ld:Thing:1")
                | st.just({"type": "Point", "coordinates": [1.5, 2.5]})
            )
    return entity


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key_values_entities())
def test_round_trip_is_identity(entity: dict[str, Any]) -> None:
    normalized = forms.to_normalized(entity)
    assert forms.detect_form(normalized) == ("normalized" if len(entity) > 2 else "keyValues")
    assert forms.to_key_values(normalized) == entity
    assert forms.to_normalized(forms.to_key_values(normalized)) == normalized
