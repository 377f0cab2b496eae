"""JSON Schemas of the other forms, generated from each keyValues schema.

The keyValues schema of a type is the single source of truth. From it this module builds, by code:

* :func:`inline_schema`: the same schema with every ``$ref`` replaced by its target, one self-contained
  document (for tools that cannot be given the bundled registry);
* :func:`key_values_schema`, :func:`normalized_schema` (NGSI-LD) and :func:`ngsiv2_schema` (NGSI-v2
  normalized): what an entity written in that form must look like for ``sdmtool validate`` to report
  nothing at all about it, neither an error nor a warning.

Each attribute's value keeps the constraints the keyValues schema gives it, copied from it; the form adds
only the wrapping (``{"type": "Property", "value": ...}``), and the attribute kind comes from the
description grammar (:func:`sdmtool.schemas.attributes`). These schemas are the fast path's proof of
validity (:mod:`sdmtool.fast`), so they are exact for what they accept and refuse the rarer shapes the
fast path leaves to the full check (multi-instance attributes, list types, the newer NGSI-LD kinds, ...);
they must never accept anything the full check would report.
"""

from __future__ import annotations

import copy
import functools
import re
from typing import TYPE_CHECKING, Any

from sdmtool import forms, ngsild, payload_rules, schemas
from sdmtool.validate import _NGSIV2_VALUE_TYPES

if TYPE_CHECKING:
    from referencing._core import Resolver

DRAFT = "https://json-schema.org/draft/2020-12/schema"

# Keywords that annotate and never decide validity: free to appear anywhere.
_ANNOTATIONS = frozenset(
    {
        "$schema",
        "$id",
        "$comment",
        "$schemaVersion",
        "title",
        "description",
        "modelTags",
        "derivedFrom",
        "license",
        "examples",
        "default",
        "deprecated",
        "readOnly",
        "writeOnly",
    }
)
# What the root of a keyValues schema (and each of its allOf parts) may say about the entity as a whole:
# anything else (additionalProperties, if/then, minProperties...) would constrain the entity in a way the
# attribute-by-attribute forms below do not carry over, so it is refused rather than dropped.
_ROOT_KEYWORDS = _ANNOTATIONS | {"type", "allOf", "properties", "required"}
# Definitions are only $ref targets; once every $ref is inlined they are dead weight.
_DEFINITIONS = ("$defs", "definitions")

# The value of a date-time as NGSI-LD writes it, keyValues included: {"@type": "DateTime", "@value": …}.
_DATE_TIME_WRAPPER: dict[str, Any] = {
    "type": "object",
    "required": ["@type", "@value"],
    "properties": {"@type": {"const": "DateTime"}},
}
# A GeoJSON geometry as sdmtool.geojson checks it. A linear ring must end where it starts, which no schema
# keyword says: Polygons (and GeometryCollections, which may hold them) are left to the full check.
_POSITION: dict[str, Any] = {"type": "array", "minItems": 2, "maxItems": 3, "items": {"type": "number"}}
_LINE: dict[str, Any] = {"type": "array", "minItems": 2, "items": _POSITION}
_GEOJSON_COORDINATES = {
    "Point": _POSITION,
    "MultiPoint": {"type": "array", "minItems": 1, "items": _POSITION},
    "LineString": _LINE,
    "MultiLineString": {"type": "array", "minItems": 1, "items": _LINE},
}
_GEOJSON_GEOMETRY: dict[str, Any] = {
    "type": "object",
    "required": ["type", "coordinates"],
    "anyOf": [
        {"properties": {"type": {"const": kind}, "coordinates": coordinates}}
        for kind, coordinates in _GEOJSON_COORDINATES.items()
    ],
}
# What the validator takes for an absolute URI (an NGSI-LD id, a Relationship's object, a datasetId): its
# own regular expression, matched whole.
_ABSOLUTE_URI: dict[str, Any] = {"type": "string", "pattern": f"^(?:{forms._ABSOLUTE_URI.pattern})$"}
# The attribute kinds the generated schemas accept, one per kind of the description grammar. The other
# NGSI-LD kinds (LanguageProperty, ListProperty, ...) are valid too but left to the full check.
_KIND_VALUE_MEMBER = {schemas.KIND_PROPERTY: "value", schemas.KIND_GEOPROPERTY: "value"}
_KIND_VALUE_MEMBER[schemas.KIND_RELATIONSHIP] = "object"
# NGSI-v2 types whose value the check holds to JSON types. One that allows integers but not all numbers
# ("Integer") cannot be written as a JSON Schema, which takes 1.0 for an integer: it is left to the check.
_NGSIV2_JSON_TYPES = {
    v2_type: sorted(json_types)
    for v2_type, json_types in _NGSIV2_VALUE_TYPES.items()
    if "integer" not in json_types or "number" in json_types
}
# DateTime (ISO 8601, a calendar) and geo:json (GeoJSON) values have rules of their own: left to the check.
_NGSIV2_REFUSED_TYPES = sorted(
    forms.ATTRIBUTE_KINDS
    | (set(_NGSIV2_VALUE_TYPES) - set(_NGSIV2_JSON_TYPES))
    | {"DateTime", "geo:json", "geo:point", "geo:line", "geo:box", "geo:polygon"}
)
_NGSIV2_UNRESTRICTED = "TextUnrestricted"
# Strings without the characters NGSI-v2 forbids (the payload rules' own expression, negated).
_NGSIV2_ALLOWED_TEXT = "^[^" + forms.NGSIV2_FORBIDDEN.pattern[1:-1] + "]*$"


class UnsupportedSchema(ValueError):
    """The keyValues schema says something the generated forms cannot carry over exactly."""


# --- the keyValues schema, self-contained -------------------------------------------------------------


def _inline(node: Any, resolver: Resolver[Any], trail: tuple[str, ...]) -> Any:
    if isinstance(node, list):
        return [_inline(item, resolver, trail) for item in node]
    if not isinstance(node, dict):
        return node
    result: dict[str, Any] = {}
    parts: list[Any] = []
    if "$ref" in node:
        reference = node["$ref"]
        if reference in trail:
            raise UnsupportedSchema(f"recursive $ref {reference!r}: cannot be inlined")
        target, target_resolver = schemas.resolve({"$ref": reference}, resolver)
        inlined = _inline(target, target_resolver, (*trail, reference))
        for key in ("$id", "$schema", *_DEFINITIONS):
            inlined.pop(key, None)
        parts.append(inlined)
    for key, value in node.items():
        if key == "$ref" or key in _DEFINITIONS:
            continue
        if key in ("$dynamicRef", "$recursiveRef", "$anchor", "$dynamicAnchor"):
            raise UnsupportedSchema(f"{key} is not supported")
        if key in ("properties", "patternProperties", "$defs", "dependentSchemas"):
            result[key] = {name: _inline(sub, resolver, trail) for name, sub in value.items()}
        elif key in _ANNOTATIONS or key in ("enum", "const", "required"):
            result[key] = copy.deepcopy(value)
        else:
            result[key] = _inline(value, resolver, trail)
    if not parts:
        return result
    # A $ref beside other keywords applies both (draft 2020-12, 8.2.3.1): the same as an allOf.
    if all(key in _ANNOTATIONS for key in result):
        merged = parts[0]
        merged.update({key: value for key, value in result.items() if key not in merged})
        return merged
    result["allOf"] = [*parts, *result.get("allOf", [])]
    return result


@functools.cache
def _inline_cached(entity_type: str) -> dict[str, Any]:
    root = schemas.load_schema(entity_type)
    return _inline(root, schemas._root_resolver(entity_type), ())


def inline_schema(entity_type: str) -> dict[str, Any]:
    """The keyValues schema with every ``$ref`` replaced by its target: one document, nothing to fetch."""
    return copy.deepcopy(_inline_cached(entity_type))


# --- attributes, as the keyValues schema declares them ----------------------------------------------


@functools.cache
def _declarations(entity_type: str) -> tuple[dict[str, list[dict[str, Any]]], tuple[str, ...]]:
    """Every subschema that constrains each top-level member, and the members the entity must have."""
    declared: dict[str, list[dict[str, Any]]] = {}
    required: list[str] = []

    def walk(node: Any, where: str) -> None:
        if not isinstance(node, dict):
            raise UnsupportedSchema(f"{where}: a schema object is expected")
        for key in node:
            if key not in _ROOT_KEYWORDS:
                raise UnsupportedSchema(f"{where}: {key!r} on the entity as a whole is not supported")
        if node.get("type", "object") != "object":
            raise UnsupportedSchema(f"{where}: the entity must be declared an object")
        for name, sub in (node.get("properties") or {}).items():
            declared.setdefault(name, []).append(sub)
        required.extend(node.get("required") or ())
        for index, part in enumerate(node.get("allOf") or ()):
            walk(part, f"{where}/allOf/{index}")

    walk(_inline_cached(entity_type), entity_type)
    facts = schemas.attributes(entity_type)
    attributes = {name for name in declared if name not in schemas.CORE_MEMBERS}
    if attributes != set(facts):  # two readings of one schema must agree, or one of them is wrong
        raise UnsupportedSchema(f"{entity_type}: attributes {sorted(attributes ^ set(facts))} disagree")
    return declared, tuple(dict.fromkeys(required))


def _all_of(subschemas: list[dict[str, Any]]) -> dict[str, Any]:
    # Shared, not copied: the cached schemas are never changed, and the public functions hand out copies.
    return subschemas[0] if len(subschemas) == 1 else {"allOf": subschemas}


def _member_schema(entity_type: str, name: str) -> dict[str, Any] | None:
    """What the keyValues schema requires of the value of ``name``; None when it does not declare it."""
    declared, _ = _declarations(entity_type)
    return _all_of(declared[name]) if name in declared else None


def _unwrapping(value: dict[str, Any] | bool) -> dict[str, Any]:
    """``value``, or the ``@value`` of a date-time wrapper holding one: the check reduces wrappers first."""
    return {"if": _DATE_TIME_WRAPPER, "then": {"properties": {"@value": value}}, "else": value}


def _entity_members(entity_type: str, *, unwrap: bool) -> dict[str, Any]:
    """``id``, ``type``, ``@context`` and the NGSI-LD system members: never attributes."""
    members: dict[str, Any] = {}
    for name in sorted(ngsild.ENTITY_MEMBERS):
        value = _member_schema(entity_type, name)
        if name == "@context":
            members[name] = True  # dropped before the schema sees the entity
        elif name == "type":
            members[name] = {"allOf": [{"const": entity_type}, *([value] if value else [])]}
        elif value is None:
            members[name] = True
        else:
            members[name] = _unwrapping(value) if unwrap else value
    # `"$schema"` without an id marks a schema document, not an entity: never claimed valid here.
    members["$schema"] = False
    return members


def _root(
    entity_type: str,
    members: dict[str, Any],
    attributes: dict[str, Any],
    title: str,
    definitions: dict[str, Any],
    *,
    needs_attribute: bool = True,
) -> dict[str, Any]:
    _, required = _declarations(entity_type)
    schema: dict[str, Any] = {
        "$schema": DRAFT,
        "title": f"{entity_type} in {title}, generated from its keyValues schema",
        "type": "object",
        "required": sorted({"type", *required}),
        "properties": {**members, **attributes},
        # An attribute the schema does not declare is a warning: no form accepts it here.
        "additionalProperties": False,
        "$defs": definitions,
    }
    if needs_attribute:
        # With no attribute at all, an entity is read as keyValues.
        schema["anyOf"] = [{"required": [name]} for name in attributes] or [False]
    return schema


# --- NGSI-LD value rules (sdmtool.payload_rules) ------------------------------------------------------

# Every attribute, at any depth: no JSON null, and every {"@type": "DateTime"} holds an RFC 3339 date-time.
NGSILD_VALUE = "ngsild-value"
_NGSILD_VALUE: dict[str, Any] = {
    "not": {"type": "null"},
    "if": _DATE_TIME_WRAPPER,
    "then": {"properties": {"@value": {"type": "string", "format": "date-time"}}},
    "items": {"$ref": f"#/$defs/{NGSILD_VALUE}"},
    "additionalProperties": {"$ref": f"#/$defs/{NGSILD_VALUE}"},
}
_NGSI_NULLS = [ngsild.NGSI_NULL, {"@none": ngsild.NGSI_NULL}]


def _not_double_wrapped(declared_members: frozenset[str]) -> dict[str, Any]:
    """A value that is no NGSI-LD attribute itself (unless the schema gives the value a ``type``)."""
    if "type" in declared_members:
        return {}
    attributes = [
        {"required": ["type", forms.VALUE_MEMBER[kind]], "properties": {"type": {"const": kind}}}
        for kind in sorted(forms.ATTRIBUTE_KINDS)
    ]
    return {"not": {"type": "object", "anyOf": attributes}}


# --- keyValues ---------------------------------------------------------------------------------------

_INSTANCE_MARK: dict[str, Any] = {
    "type": "object",
    "anyOf": [
        {"required": ["datasetId"]},
        {"required": ["type"], "properties": {"type": {"enum": sorted(forms.ATTRIBUTE_KINDS)}}},
    ],
}


def _plain_value(declared_members: frozenset[str]) -> dict[str, Any]:
    """A keyValues value that no form detector takes for an NGSI-LD or NGSI-v2 attribute.

    Stricter than the detectors (a value that merely resembles one is left to the full check): an object
    with no ``datasetId``, whose ``type`` is no attribute kind, or, without a ``type``, with none of the
    concise value members the schema does not declare for it; an array with no item shaped like an
    attribute instance.
    """
    typed: dict[str, Any] = {"properties": {"type": {"not": {"enum": sorted(forms.ATTRIBUTE_KINDS)}}}}
    if "value" not in declared_members:
        # Written as an NGSI-v2 attribute (a v2 type, or a type and a value): the v2 detector's business.
        typed["properties"]["type"]["not"]["enum"] = sorted(forms.ATTRIBUTE_KINDS | forms.NGSIV2_TYPES)
        typed["not"] = {"required": ["value"]}
    concise = sorted(set(ngsild.CONCISE_KINDS) - declared_members)
    untyped: dict[str, Any] = {"not": {"anyOf": [{"required": [member]} for member in concise] or [False]}}
    return {
        "if": {"type": "object"},
        "then": {
            "not": {"required": ["datasetId"]},
            "if": {"required": ["type"]},
            "then": typed,
            "else": untyped,
        },
        "else": {"items": {"not": _INSTANCE_MARK}},
    }


def _not_datasets(declared_members: frozenset[str]) -> dict[str, Any]:
    """No multi-attribute ``{"dataset": {...}}`` (:func:`sdmtool.forms.key_values_datasets`): the full check
    validates each of its values instead of the object, so the object passing proves nothing."""
    if "dataset" in declared_members:
        return {}
    dataset = {
        "type": "object",
        "required": ["dataset"],
        "properties": {"dataset": {"type": "object"}},
        "additionalProperties": False,
    }
    return {"not": dataset}


@functools.cache
def _key_values(entity_type: str, detected: bool = True) -> dict[str, Any]:
    attributes = {
        name: {
            "allOf": [
                {"not": {"const": ngsild.NGSI_NULL}},
                {"$ref": f"#/$defs/{NGSILD_VALUE}"},
                _not_datasets(fact.member_names),
                _plain_value(fact.member_names) if detected else {},
                _unwrapping(_member_schema(entity_type, name) or {}),
            ]
        }
        for name, fact in schemas.attributes(entity_type).items()
        if name not in ngsild.ENTITY_MEMBERS
    }
    # keyValues with an id that is no URI reads as NGSI-v2 keyValues.
    members = _entity_members(entity_type, unwrap=True)
    return _ngsild_root(entity_type, members, attributes, "NGSI-LD keyValues form", needs_attribute=False)


def _ngsild_root(
    entity_type: str,
    members: dict[str, Any],
    attributes: dict[str, Any],
    form_label: str,
    *,
    needs_attribute: bool,
) -> dict[str, Any]:
    """The schema of an NGSI-LD form: its id an absolute URI, the NGSI-LD value defined for the attributes."""
    members["id"] = {"allOf": [_ABSOLUTE_URI, members["id"]]}
    definitions = {NGSILD_VALUE: _NGSILD_VALUE}
    return _root(entity_type, members, attributes, form_label, definitions, needs_attribute=needs_attribute)


def key_values_schema(entity_type: str) -> dict[str, Any]:
    """Entities in keyValues form (date-times plain or wrapped) that the full check reports nothing about."""
    return copy.deepcopy(_key_values(entity_type))


# --- NGSI-LD normalized ------------------------------------------------------------------------------


def _instance(fact: schemas.Attribute, value: dict[str, Any]) -> dict[str, Any]:
    """One attribute instance of the kind the description grammar gives it."""
    value_member = _KIND_VALUE_MEMBER[fact.kind]
    if fact.kind == schemas.KIND_RELATIONSHIP:
        target = {"anyOf": [_ABSOLUTE_URI, {"type": "array", "minItems": 1, "items": _ABSOLUTE_URI}]}
        held: dict[str, Any] = {"allOf": [target, value]}
    elif fact.kind == schemas.KIND_GEOPROPERTY:
        held = {"allOf": [_GEOJSON_GEOMETRY, _unwrapping(value)]}
    elif fact.date_time:
        # A date-time left a plain string is a warning (brokers would not read it as a date).
        held = {
            "if": _DATE_TIME_WRAPPER,
            "then": {"properties": {"@value": value}},
            "else": {"allOf": [value, {"not": {"type": "string"}}]},
        }
    else:
        held = _unwrapping(value)
    held = {"allOf": [{"not": {"enum": _NGSI_NULLS}}, _not_double_wrapped(fact.member_names), held]}
    if fact.kind in payload_rules._UNIT_KINDS:
        unit_code: dict[str, Any] | bool = {
            "type": "string",
            "pattern": f"^(?:{payload_rules._UNIT_CODE.pattern})$",
        }
    else:
        unit_code = False  # a unit belongs to a Property's value
    properties: dict[str, Any] = {
        "type": {"const": fact.kind},
        value_member: held,
        "datasetId": _ABSOLUTE_URI,
        "observedAt": {"type": "string", "format": "date-time"},
        "unitCode": unit_code,
    }
    # The value members of the other kinds are prohibited (ETSI GS CIM 009, 4.5).
    properties.update({member: False for member in sorted(ngsild.VALUE_MEMBER_NAMES - {value_member})})
    return {
        "allOf": [{"$ref": f"#/$defs/{NGSILD_VALUE}"}],
        "type": "object",
        "required": ["type", value_member],
        "properties": properties,
    }


@functools.cache
def _normalized(entity_type: str, detected: bool = True) -> dict[str, Any]:
    facts = schemas.attributes(entity_type)
    attributes = {
        name: _instance(fact, _member_schema(entity_type, name) or {})
        for name, fact in facts.items()
        if name not in ngsild.ENTITY_MEMBERS
    }
    members = _entity_members(entity_type, unwrap=False)
    return _ngsild_root(entity_type, members, attributes, "NGSI-LD normalized form", needs_attribute=detected)


def normalized_schema(entity_type: str) -> dict[str, Any]:
    """Entities in NGSI-LD normalized form, one instance per attribute, that the full check reports nothing
    about: each attribute ``{"type": <kind>, "value"|"object": ...}`` with its keyValues constraints on the
    value, date-times as ``{"@type": "DateTime", "@value": ...}``."""
    return copy.deepcopy(_normalized(entity_type))


# --- NGSI-v2 normalized ------------------------------------------------------------------------------

# Every string in a value, at any depth, without the characters NGSI-v2 forbids.
NGSIV2_TEXT = "ngsiv2-text"
_NGSIV2_TEXT: dict[str, Any] = {
    "pattern": _NGSIV2_ALLOWED_TEXT,
    "items": {"$ref": f"#/$defs/{NGSIV2_TEXT}"},
    "additionalProperties": {"$ref": f"#/$defs/{NGSIV2_TEXT}"},
}
_NGSIV2_ATTRIBUTE_SHAPE: dict[str, Any] = {
    "type": "object",
    "required": ["type", "value"],
    "properties": {"type": {"type": "string", "not": {"enum": sorted(forms.ATTRIBUTE_KINDS)}}},
    "additionalProperties": False,
}
_NGSIV2_ATTRIBUTE_SHAPE["properties"].update({"value": True, "metadata": True})


def _ngsiv2_attribute(fact: schemas.Attribute, value: dict[str, Any]) -> dict[str, Any]:
    held: dict[str, Any] = value
    if "type" not in fact.member_names:
        # An attribute written inside the value (double wrapping).
        held = {"allOf": [{"not": {"anyOf": [_NGSIV2_ATTRIBUTE_SHAPE, _INSTANCE_MARK]}}, value]}
    rules: list[dict[str, Any]] = [
        {
            "if": {"properties": {"type": {"const": v2_type}}},
            "then": {"properties": {"value": {"type": json_types}}},
        }
        for v2_type, json_types in _NGSIV2_JSON_TYPES.items()
    ]
    rules.append(
        {
            "if": {"properties": {"type": {"const": _NGSIV2_UNRESTRICTED}}},
            "else": {"properties": {"value": {"$ref": f"#/$defs/{NGSIV2_TEXT}"}}},
        }
    )
    return {
        "type": "object",
        "required": ["type", "value"],
        "properties": {
            "type": {
                "type": "string",
                "pattern": _NGSIV2_ALLOWED_TEXT,
                "not": {"enum": _NGSIV2_REFUSED_TYPES},
            },
            "value": held,
            # Metadata names cannot be held to the NGSI-v2 characters here (no propertyNames in the fast
            # engine's subset): only an empty metadata object is proven; any other goes to the full check.
            "metadata": {"type": "object", "additionalProperties": False},
        },
        "additionalProperties": False,
        "allOf": rules,
    }


@functools.cache
def _ngsiv2(entity_type: str, detected: bool = True) -> dict[str, Any]:
    facts = schemas.attributes(entity_type)
    allowed = re.compile(_NGSIV2_ALLOWED_TEXT)
    attributes = {
        name: _ngsiv2_attribute(fact, _member_schema(entity_type, name) or {})
        for name, fact in facts.items()
        # An attribute whose own value has a `value` member reads as keyValues, never as NGSI-v2; a name
        # NGSI-v2 forbids is reported.
        if name not in ngsild.ENTITY_MEMBERS
        and allowed.match(name)
        and not (detected and "value" in fact.member_names)
    }
    members = _entity_members(entity_type, unwrap=False)
    if detected:
        members["@context"] = False  # JSON-LD: never NGSI-v2
    members["id"] = {"allOf": [{"pattern": _NGSIV2_ALLOWED_TEXT}, members["id"]]}
    if not allowed.match(entity_type):
        members["type"] = False
    definitions = {NGSIV2_TEXT: _NGSIV2_TEXT}
    return _root(
        entity_type, members, attributes, "NGSI-v2 normalized form", definitions, needs_attribute=detected
    )


def ngsiv2_schema(entity_type: str) -> dict[str, Any]:
    """Entities in NGSI-v2 normalized form (``{"type": "Text", "value": ...}`` per attribute) that the full
    check reports nothing about."""
    return copy.deepcopy(_ngsiv2(entity_type))


# --- NGSI-v2 keyValues -------------------------------------------------------------------------------


@functools.cache
def _ngsiv2_key_values(entity_type: str, detected: bool = True) -> dict[str, Any]:
    allowed = re.compile(_NGSIV2_ALLOWED_TEXT)
    attributes = {
        name: {
            "allOf": [
                {"$ref": f"#/$defs/{NGSIV2_TEXT}"},
                _plain_value(fact.member_names) if detected else {},
                _unwrapping(_member_schema(entity_type, name) or {}),
            ]
        }
        for name, fact in schemas.attributes(entity_type).items()
        if name not in ngsild.ENTITY_MEMBERS and allowed.match(name)
    }
    members = _entity_members(entity_type, unwrap=True)
    v2_id: dict[str, Any] = {"pattern": _NGSIV2_ALLOWED_TEXT}
    if detected:
        members["@context"] = False  # JSON-LD: never NGSI-v2
        # keyValues is read as NGSI-v2 when its id is no URI (NGSI-LD ids are).
        v2_id.update({"type": "string", "not": _ABSOLUTE_URI})
    members["id"] = {"allOf": [v2_id, members["id"]]}
    if not allowed.match(entity_type):
        members["type"] = False
    definitions = {NGSIV2_TEXT: _NGSIV2_TEXT}
    schema = _root(
        entity_type, members, attributes, "NGSI-v2 keyValues form", definitions, needs_attribute=False
    )
    if detected:
        schema["required"] = sorted({"id", *schema["required"]})
    return schema


def ngsiv2_key_values_schema(entity_type: str) -> dict[str, Any]:
    """Entities in NGSI-v2 keyValues form (an id that is no URI, no ``@context``) that the full check
    reports nothing about."""
    return copy.deepcopy(_ngsiv2_key_values(entity_type))


_SCHEMA_OF_FORM = {
    forms.KEY_VALUES: _key_values,
    forms.NORMALIZED: _normalized,
    forms.NGSIV2_NORMALIZED: _ngsiv2,
    forms.NGSIV2_KEY_VALUES: _ngsiv2_key_values,
}
FORMS = tuple(_SCHEMA_OF_FORM)


def schema_of_form(form: str, entity_type: str, *, detected: bool = True) -> dict[str, Any]:
    """The schema of ``form`` (one of :data:`FORMS`), shared: the caller must not change it.

    ``detected``: the entity must also be one the form detector reads in that form (the default, when no
    form is forced); without it, only the rules of the form itself.
    """
    return _SCHEMA_OF_FORM[form](entity_type, detected)
