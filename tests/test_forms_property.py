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
