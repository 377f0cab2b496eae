"""Generated valid entities pass in every form the validator reads; a broken value is found in every form.

The entities are the bundled examples with a random id and a random subset of their optional attributes,
each written in keyValues, NGSI-LD normalized and concise, NGSI-v2 normalized and keyValues.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sdmtool import forms, resources, schemas
from sdmtool.validate import check_entity

TYPES = ("MLModel", "MLProcessing", "SubscriptionQuery", "HandwritingDigit")
EXAMPLES = {
    name: json.loads((resources.schemas_dir() / name / "examples" / "example.json").read_text("utf-8"))
    for name in TYPES
}
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def valid_key_values(draw: st.DrawFn) -> dict[str, Any]:
    entity_type = draw(st.sampled_from(TYPES))
    entity = copy.deepcopy(EXAMPLES[entity_type])
    entity["id"] = f"urn:ngsi-ld:{entity_type}:{draw(st.from_regex(r'[A-Za-z0-9-]{1,12}', fullmatch=True))}"
    required = {"id", "type", *schemas.load_schema(entity_type).get("required", [])}
    for name in sorted(set(entity) - required):
        if draw(st.booleans()):
            del entity[name]
    return entity


def to_concise(entity: dict[str, Any]) -> dict[str, Any]:
    """NGSI-LD concise (clause 4.5.3): the kind left implicit where the value's shape says it."""
    facts = schemas.attributes(entity["type"])
    concise: dict[str, Any] = {}
    for name, member in forms.to_normalized(entity).items():
        kind = facts[name].kind if name in facts else None
        if not isinstance(member, dict) or "type" not in member or kind is None:
            concise[name] = member
        elif kind == "Relationship":
            concise[name] = {"object": member["object"]}
        elif kind == "GeoProperty":
            concise[name] = member["value"]  # a GeoJSON geometry stands for itself
        elif isinstance(member.get("value"), dict):
            concise[name] = {key: value for key, value in member.items() if key != "type"}
        else:
            concise[name] = member["value"]
    return concise


def to_ngsiv2_key_values(entity: dict[str, Any]) -> dict[str, Any]:
    """NGSI-v2 keyValues: NGSI-v2 ids are plain names, not URIs."""
    return {**entity, "id": entity["id"].rsplit(":", 1)[-1]}


WRITERS = {
    forms.KEY_VALUES: lambda entity: entity,
    forms.NORMALIZED: forms.to_normalized,
    forms.CONCISE: to_concise,
    forms.NGSIV2_NORMALIZED: forms.to_ngsiv2_normalized,
    forms.NGSIV2_KEY_VALUES: to_ngsiv2_key_values,
}


@SETTINGS
@given(valid_key_values(), st.sampled_from(sorted(WRITERS)))
def test_generated_valid_entities_pass_in_every_form(entity: dict[str, Any], form: str) -> None:
    if form == forms.NGSIV2_KEY_VALUES:
        # Without attribute types there is no TextUnrestricted: such a value (a q) cannot be sent in NGSI-v2
        # keyValues at all, and is rightly refused.
        assume(not forms.NGSIV2_FORBIDDEN.search(json.dumps(entity).replace('\\"', "").replace('"', "")))
    written = json.loads(json.dumps(WRITERS[form](entity)))
    problems, detected = check_entity(written, form=form, check_json=False)
    assert [p for p in problems if p.severity == "error"] == [], (form, written)
    assert detected == form
    # Detection alone finds the same form, except where two forms write the same JSON: concise and
    # keyValues coincide when no attribute needs a wrapper, and every NGSI-LD form and NGSI-v2 normalized
    # write an entity without attributes alike.
    auto_problems, auto_form = check_entity(written, check_json=False)
    assert [p for p in auto_problems if p.severity == "error"] == []
    alike = {forms.CONCISE, forms.KEY_VALUES}
    if all(name in forms.ENTITY_MEMBERS for name in written):
        alike |= {forms.NORMALIZED, forms.NGSIV2_NORMALIZED}
    assert auto_form == form or {auto_form, form} <= alike


@SETTINGS
@given(valid_key_values(), st.sampled_from(sorted(WRITERS)))
def test_a_broken_id_is_found_at_id_in_every_form(entity: dict[str, Any], form: str) -> None:
    # NGSI-LD ids must be absolute URIs (clause 4.5.1); NGSI-v2 ids must not hold the characters v2 forbids.
    written = json.loads(json.dumps(WRITERS[form](entity)))
    written["id"] = "bad(id)" if form in forms.NGSIV2_FORMS else "not a uri"
    problems, _ = check_entity(written, form=form, check_json=False)
    assert any(p.path == ("id",) and p.severity == "error" for p in problems), (form, problems)


# --- values the conversions must carry, or refuse with a reason ------------------------------------------

V2_FORBIDDEN_TEXT = st.text(alphabet="<>\"'=;()|a", min_size=1, max_size=4)


def string_paths(value: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Where the strings of ``value`` are, at any depth."""
    if isinstance(value, str):
        return [path]
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in string_paths(item, (*path, key))]
    if isinstance(value, list):
        return [found for index, item in enumerate(value) for found in string_paths(item, (*path, index))]
    return []


def at_path(value: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


def errors(entity: dict[str, Any], form: str) -> list[Any]:
    problems, _ = check_entity(json.loads(json.dumps(entity)), form=form, check_json=False)
    return [problem for problem in problems if problem.severity == "error"]


@st.composite
def edge_key_values(draw: st.DrawFn) -> dict[str, Any]:
    """A valid keyValues entity with a string (nested or not, the id too) holding characters NGSI-v2
    forbids, and maybe a multi-instance attribute: ``{"dataset": {"@none": v, "<datasetId>": v}}``."""
    entity = draw(valid_key_values())
    path = draw(st.sampled_from([path for path in string_paths(entity) if path != ("type",)]))
    *parents, last = path
    at_path(entity, tuple(parents))[last] += draw(V2_FORBIDDEN_TEXT)
    assume(not errors(entity, forms.KEY_VALUES))  # the schema may refuse the text there (an enum, a date)
    attributes = sorted(set(entity) - forms.ENTITY_MEMBERS)
    if attributes and draw(st.booleans()):
        name = draw(st.sampled_from(attributes))
        dataset_ids = draw(st.lists(st.from_regex(r"urn:ngsi-ld:Dataset:[a-z0-9]{1,6}", fullmatch=True)))
        default = [] if dataset_ids and draw(st.booleans()) else ["@none"]
        entity[name] = {"dataset": {key: copy.deepcopy(entity[name]) for key in default + dataset_ids}}
    return entity


def v2_cannot_hold(entity: dict[str, Any]) -> bool:
    """What NGSI-v2 normalized has no way to write: a character it forbids in the id or in a string inside
    an object or array (TextUnrestricted exempts a string attribute only), several instances of one
    attribute, or one instance with a datasetId."""
    if forms.NGSIV2_FORBIDDEN.search(entity["id"]):
        return True
    for name in set(entity) - forms.ENTITY_MEMBERS:
        value = entity[name]
        datasets = forms.key_values_datasets(value)
        if datasets is not None:
            if list(datasets) != ["@none"]:
                return True
            value = datasets["@none"]
        if not isinstance(value, str) and any(
            forms.NGSIV2_FORBIDDEN.search(at_path(value, path)) for path in string_paths(value)
        ):
            return True
    return False


@SETTINGS
@given(edge_key_values())
def test_converted_valid_entities_are_valid_or_refused_with_the_reason(entity: dict[str, Any]) -> None:
    # keyValues of a multi-instance attribute is valid when each of its values is (clause 4.5).
    assert errors(entity, forms.KEY_VALUES) == [], entity
    normalized = forms.to_normalized(entity)
    assert errors(normalized, forms.NORMALIZED) == [], normalized
    assert forms.to_key_values(normalized) == entity
    for source in (entity, normalized):
        try:
            converted = forms.to_ngsiv2_normalized(source)
        except forms.ConversionError as error:
            assert v2_cannot_hold(entity), (error, entity)
            # The message points at each value in the way.
            assert all(forms.json_pointer(path) in str(error) for path in error.paths)
            assert all(path[0] in entity for path in error.paths)
            continue
        assert not v2_cannot_hold(entity), (converted, entity)
        assert errors(converted, forms.NGSIV2_NORMALIZED) == [], converted
        assert forms.detect_form(converted) == forms.NGSIV2_NORMALIZED
