"""Validate entities against the bundled Smart Data Models, offline, reporting every problem.

For a normalized (NGSI-LD) entity the NGSI-LD shape is checked first (attribute objects, kinds against the
schema's description grammar, Relationship targets); the entity is then reduced to keyValues and validated
against the JSON Schema. Each schema error is mapped back to the member the user wrote
(``/attr/value/...``, ``/attr/object``) and, when the entity came from a file, to its line and column.
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jsonschema import ValidationError
from referencing.exceptions import Unresolvable

from sdmtool import forms, geojson, ngsild, payload_rules, reader, schemas, subscription_checks
from sdmtool.catalog import BUNDLED, RECURSIVE_REF, UNRESOLVED_REF, Catalog, load_catalog, parse_ref_map
from sdmtool.describe import JSON_TYPE_NAMES, json_type, show, type_name
from sdmtool.findings import (
    CATEGORY_ENTITY,
    CATEGORY_INPUT,
    CATEGORY_SCHEMA,
    ERROR,
    WARNING,
    Finding,
    Severity,
    entity_identity,
)

PathTuple = tuple[str | int, ...]

NO_ENTITIES = "input.no-entities"
# (line, column) of a path in the entity, or of a character of the string value there.
Locator = Callable[[PathTuple, int | None], tuple[int | None, int | None]]

FORM_CHOICES = ("auto", *forms.FORMS, *forms.FORM_ALIASES)

# NGSI-v2 attribute types and the JSON types their value may have (SDM rules, NGSI-v2 normalized form).
_NGSIV2_VALUE_TYPES = {
    "Text": {"string"},
    "TextUnrestricted": {"string"},
    "URI": {"string"},
    "DateTime": {"string"},
    "Number": {"integer", "number"},
    "Integer": {"integer"},
    "Float": {"integer", "number"},
    "Boolean": {"boolean"},
    "StructuredValue": {"object", "array"},
    "geo:json": {"object"},
    "None": {"null"},
}

_FORMAT_HINTS = {
    "date-time": "an RFC 3339 date-time with a time zone, e.g. 2026-11-20T09:30:00Z",
    "uri": "an absolute URI with a scheme, e.g. urn:ngsi-ld:MLModel:001 or https://example.org/x",
    "regex": "a valid regular expression",
    "email": "an e-mail address",
}


@dataclass
class Problem:
    """A finding before it is placed in a file: path relative to the entity as written."""

    severity: Severity
    code: str
    message: str
    path: PathTuple
    string_index: int | None = None  # the offending character of the string value (a q syntax error)


# --- describing values and JSON Schema errors --------------------------------------------------------


def _expected(types: Any) -> str:
    names = [types] if isinstance(types, str) else list(types)
    return " or ".join(JSON_TYPE_NAMES.get(name, name) for name in names)


def _type_message(expected: Any, instance: Any) -> str:
    names = [expected] if isinstance(expected, str) else list(expected)
    got = json_type(instance)
    if "string" in names and got in {"integer", "number", "boolean"}:
        literal = show(instance)
        if names == ["string"]:
            return f'must be a string: quote it, write "{literal}" instead of {literal}'
        return f'must be {_expected(names)}, got {literal}: to give a string, quote it: "{literal}"'
    if "integer" in names and got == "number" and float(instance).is_integer():
        return f"must be an integer: write {int(instance)} instead of {show(instance)}"
    if got == "string" and {"number", "integer"} & set(names):
        return f"must be {_expected(names)}, not a string: remove the quotes around {show(instance)}"
    if got == "null":
        return f"must be {_expected(names)}, got null"
    return f"must be {_expected(names)}, got {JSON_TYPE_NAMES.get(got, got)} {show(instance)}"


def _leaf_message(error: ValidationError) -> str:
    """One clear sentence for one failed keyword."""
    keyword, expected, instance = error.validator, error.validator_value, error.instance
    if keyword == "type":
        return _type_message(expected, instance)
    if keyword == "enum":
        options = ", ".join(show(option) for option in expected)
        if len(expected) == 1:
            return f"must be {options}, got {show(instance)}"
        return f"must be one of {options}; got {show(instance)}"
    if keyword == "const":
        return f"must be {show(expected)}, got {show(instance)}"
    if keyword == "format":
        hint = _FORMAT_HINTS.get(expected, f"a valid {expected}")
        return f"{show(instance)} is not {hint}"
    if keyword == "pattern":
        return f"{show(instance)} does not match the pattern {expected}"
    if keyword in {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}:
        relation = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}
        return f"must be {relation[keyword]} {expected}, got {show(instance)}"
    if keyword == "minLength":
        if expected == 1:
            return "must not be empty"
        return f"must have at least {expected} characters, got {len(instance)}"
    if keyword == "maxLength":
        return f"must have at most {expected} characters, got {len(instance)}"
    if keyword == "minItems":
        return f"must have at least {expected} item{'s' if expected != 1 else ''}, got {len(instance)}"
    if keyword == "maxItems":
        return f"must have at most {expected} item{'s' if expected != 1 else ''}, got {len(instance)}"
    if keyword == "uniqueItems":
        return "items must be unique"
    return error.message


def _branches(error: ValidationError) -> dict[int, list[ValidationError]]:
    grouped: dict[int, list[ValidationError]] = {}
    for sub in error.context or ():
        index = sub.relative_schema_path[0] if sub.relative_schema_path else 0
        grouped.setdefault(int(index), []).append(sub)
    return grouped


def _explain(error: ValidationError) -> Iterator[tuple[PathTuple, str, str]]:
    """(path in the validated document, code, message) for one jsonschema error, descending sensibly."""
    path = tuple(error.absolute_path)
    keyword = error.validator
    if keyword in {"anyOf", "oneOf"}:
        branches = _branches(error)
        if not branches:
            yield (
                path,
                f"schema.{keyword}",
                "matches more than one of the allowed forms; it must match exactly one",
            )
            return
        # A branch whose errors all lie deeper than this value accepted its overall shape (right type):
        # the user meant that branch, so its errors are the useful ones.
        deeper = [
            subs for subs in branches.values() if all(len(sub.absolute_path) > len(path) for sub in subs)
        ]
        if deeper:
            best = min(deeper, key=len)
            for sub in best:
                yield from _explain(sub)
            return
        types: list[str] = []
        others: list[str] = []
        for subs in branches.values():
            for sub in subs:
                if sub.validator == "type" and len(sub.absolute_path) == len(path):
                    expected = sub.validator_value
                    types.extend([expected] if isinstance(expected, str) else expected)
                else:
                    others.append(_leaf_message(sub))
        if types and not others:
            unique = list(dict.fromkeys(types))
            yield path, "schema.type", _type_message(unique, error.instance)
            return
        parts = list(dict.fromkeys([*others, *(f"be {_expected(t)}" for t in dict.fromkeys(types))]))
        yield path, f"schema.{keyword}", "matches none of the allowed forms: " + "; or ".join(parts)
        return
    if keyword == "required":
        for name in error.validator_value:
            if isinstance(error.instance, dict) and name not in error.instance:
                yield (*path, name), "schema.required", f"missing required member {name!r}"
        return
    if keyword == "additionalProperties" and isinstance(error.instance, dict):
        allowed = list((error.schema.get("properties") or {}).keys())
        patterns = list((error.schema.get("patternProperties") or {}).keys())
        for name in error.instance:
            if name in allowed or any(re.search(p, name) for p in patterns):
                continue
            message = f"member {name!r} is not allowed here"
            if allowed:
                message += f" (allowed: {', '.join(allowed)})"
            yield (*path, name), "schema.additionalProperties", message
        return
    if keyword in {"allOf"} and error.context:
        for sub in error.context:
            yield from _explain(sub)
        return
    yield path, f"schema.{keyword}", _leaf_message(error)


# --- NGSI-LD normalized shape ------------------------------------------------------------------------


def _check_uri(value: Any, path: PathTuple, what: str) -> Iterator[Problem]:
    if isinstance(value, list):
        if not value:
            yield Problem(ERROR, "ngsi-ld.object", f"{what} must not be an empty list", path)
        for index, item in enumerate(value):
            yield from _check_uri(item, (*path, index), what)
        return
    if not forms.is_absolute_uri(value):
        yield Problem(
            ERROR,
            "ngsi-ld.object",
            f"{what} must be an absolute URI such as urn:ngsi-ld:<Type>:<id>, got {show(value)}",
            path,
        )


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _check_language_map(language_map: Any, path: PathTuple) -> Iterator[Problem]:
    if not isinstance(language_map, dict):
        message = f"languageMap must map language tags to strings, got {type_name(language_map)}"
        yield Problem(ERROR, "ngsi-ld.attribute", message, path)
        return
    for tag, text in language_map.items():
        if not (isinstance(text, str) or (isinstance(text, list) and all(isinstance(t, str) for t in text))):
            message = f"the text for language {tag!r} must be a string, got {show(text)}"
            yield Problem(ERROR, "ngsi-ld.attribute", message, (*path, tag))


def _check_object_list(object_list: Any, path: PathTuple) -> Iterator[Problem]:
    if not isinstance(object_list, list):
        yield Problem(ERROR, "ngsi-ld.attribute", "objectList must be an array", path)
        return
    for index, item in enumerate(object_list):
        if isinstance(item, dict):
            if "object" not in item:
                message = "an item of objectList is a URI or an object with an 'object' member"
                yield Problem(ERROR, "ngsi-ld.attribute", message, (*path, index))
                continue
            yield from _check_uri(item["object"], (*path, index, "object"), "an item of objectList")
        else:
            yield from _check_uri(item, (*path, index), "an item of objectList")


def _check_instance(
    instance: Any,
    path: PathTuple,
    name: str,
    attribute: schemas.Attribute | None,
    entity_type: str | None,
    written_kind: str | None = None,
) -> Iterator[Problem]:
    """One attribute instance; ``written_kind`` is the kind a concise instance (no ``type``) is read as."""
    if not isinstance(instance, dict):
        yield Problem(
            ERROR,
            "ngsi-ld.attribute",
            f"in normalized form an attribute is an object such as "
            f'{{"type": "Property", "value": ...}}, got {type_name(instance)}',
            path,
        )
        return
    kind = instance.get("type", written_kind)
    kinds = "Property, Relationship, GeoProperty, LanguageProperty, ListProperty, ListRelationship, ..."
    if kind is None:
        yield Problem(ERROR, "ngsi-ld.attribute", f"missing 'type' (one of {kinds})", path)
        return
    # forms.ATTRIBUTE_KINDS also has the older names of ngsild.KIND_ALIASES, which the broker refuses.
    if not isinstance(kind, str) or kind not in forms.ATTRIBUTE_KINDS:
        hint = " (an NGSI-v2 type, not NGSI-LD)" if kind in ("Text", "Number", "StructuredValue") else ""
        yield Problem(
            ERROR,
            "ngsi-ld.attribute",
            f"unknown attribute type {show(kind)}{hint}: use {kinds}",
            (*path, "type"),
        )
        return
    value_member = forms.VALUE_MEMBER[kind]
    has_value = value_member in instance or (kind == "ListProperty" and "value" in instance)
    if not has_value:
        needs = f"a {kind} needs {_article(value_member)} {value_member!r} member"
        yield Problem(ERROR, "ngsi-ld.attribute", needs, path)
    for member in instance:
        # The value members of the other kinds are prohibited (ETSI GS CIM 009, 4.5).
        if member not in ngsild.VALUE_MEMBER_NAMES or member == value_member:
            continue
        if kind == "ListProperty" and member == "value":
            continue  # tolerated: the SDM checks want `value` on a ListProperty
        if kind == "Relationship" and member == "value":
            message = "a Relationship carries its target in 'object', not 'value'"
        elif member == "object" and kind != "ListRelationship":
            message = f"a {kind} has no 'object' member (use a Relationship)"
        else:
            message = f"a {kind} has no {member!r} member: its value goes in {value_member!r}"
        yield Problem(ERROR, "ngsi-ld.attribute", message, (*path, member))
    if kind == "Relationship" and "object" in instance:
        yield from _check_uri(instance["object"], (*path, "object"), "the object of a Relationship")
    if kind == "GeoProperty" and "value" in instance:
        problem = geojson.geometry_problem(instance["value"])
        if problem is not None:
            where, reason = problem
            message = f"the value of a GeoProperty must be a GeoJSON geometry: {reason}"
            yield Problem(ERROR, "ngsi-ld.attribute", message, (*path, "value", *where))
    if kind == "LanguageProperty" and "languageMap" in instance:
        yield from _check_language_map(instance["languageMap"], (*path, "languageMap"))
    if kind == "ListProperty" and "valueList" in instance and not isinstance(instance["valueList"], list):
        yield Problem(ERROR, "ngsi-ld.attribute", "valueList must be an array", (*path, "valueList"))
    if kind == "ListRelationship" and "objectList" in instance:
        yield from _check_object_list(instance["objectList"], (*path, "objectList"))
    if "datasetId" in instance:
        dataset_id = instance["datasetId"]
        # One URI per instance (clause 4.5.5), unlike the object of a Relationship.
        if isinstance(dataset_id, list):
            message = f"datasetId must be one absolute URI, not a list: got {show(dataset_id)}"
            yield Problem(ERROR, "ngsi-ld.object", message, (*path, "datasetId"))
        else:
            yield from _check_uri(dataset_id, (*path, "datasetId"), "datasetId")
    if "observedAt" in instance and not (
        isinstance(instance["observedAt"], str)
        and schemas.format_checker().conforms(instance["observedAt"], "date-time")
    ):
        yield Problem(
            ERROR,
            "ngsi-ld.attribute",
            f"observedAt must be {_FORMAT_HINTS['date-time']}",
            (*path, "observedAt"),
        )
    if attribute is None:
        return
    expected = attribute.kind
    written_family = "Relationship" if kind in {"Relationship", "ListRelationship"} else kind
    if expected == "Relationship" and written_family != "Relationship":
        yield Problem(
            ERROR,
            "ngsi-ld.kind",
            f"{name!r} is a Relationship in the {entity_type} schema: write "
            f'{{"type": "Relationship", "object": "urn:ngsi-ld:..."}}, not a {kind}',
            (*path, "type"),
        )
    elif expected != "Relationship" and written_family == "Relationship":
        yield Problem(
            ERROR,
            "ngsi-ld.kind",
            f"{name!r} is a {expected} in the {entity_type} schema, not a Relationship: write "
            f'{{"type": "{expected}", "value": ...}}',
            (*path, "type"),
        )
    elif expected == "GeoProperty" and kind == "Property":
        yield Problem(
            ERROR, "ngsi-ld.kind", f"{name!r} is a GeoProperty in the {entity_type} schema", (*path, "type")
        )
    elif expected == "Property" and kind == "GeoProperty":
        yield Problem(
            ERROR,
            "ngsi-ld.kind",
            f"{name!r} is a Property in the {entity_type} schema, not a GeoProperty",
            (*path, "type"),
        )
    if attribute.date_time and kind == "Property" and isinstance(instance.get("value"), str):
        yield Problem(
            WARNING,
            "ngsi-ld.datetime",
            'a date-time in normalized form should be {"@type": "DateTime", "@value": "..."} '
            "so that brokers store and query it as a date",
            (*path, "value"),
        )


def _check_ngsild_id(entity: Mapping[str, Any], entity_type: str | None) -> Iterator[Problem]:
    if "id" in entity and not forms.is_absolute_uri(entity["id"]):
        yield Problem(
            ERROR,
            "ngsi-ld.id",
            f"an NGSI-LD entity id must be an absolute URI such as urn:ngsi-ld:{entity_type or 'Type'}:001, "
            f"got {show(entity['id'])}",
            ("id",),
        )


def _concise_kind(member: Any, attribute: schemas.Attribute | None) -> str | None:
    """The kind a concise attribute is written as; None for a plain (keyValues) value."""
    kind = forms.attribute_kind(member, attribute.member_names if attribute else frozenset())
    return None if kind == "DateTime" else kind


def _check_normalized(
    entity: Mapping[str, Any],
    facts: Mapping[str, schemas.Attribute],
    entity_type: str | None,
    form: str = forms.NORMALIZED,
) -> Iterator[Problem]:
    """The NGSI-LD shape of a normalized entity, or of the attributes of a concise one written as objects."""
    yield from _check_ngsild_id(entity, entity_type)
    concise = form == forms.CONCISE
    for name, member in entity.items():
        if name in ngsild.ENTITY_MEMBERS:
            continue
        attribute = facts.get(name)
        if concise and not forms.is_multi_instance(member):
            kind = _concise_kind(member, attribute)
            if kind is not None:
                yield from _check_instance(member, (name,), name, attribute, entity_type, kind)
            continue
        if isinstance(member, list) and member and all(isinstance(item, dict) for item in member):
            # Multi-attribute: several instances told apart by datasetId, at most one without.
            seen: set[str] = set()
            for index, item in enumerate(member):
                written = _concise_kind(item, attribute) if concise else None
                yield from _check_instance(item, (name, index), name, attribute, entity_type, written)
                dataset_id = str(item.get("datasetId", "@none"))
                if dataset_id in seen:
                    which = "without datasetId" if dataset_id == "@none" else f"with datasetId {dataset_id}"
                    yield Problem(ERROR, "ngsi-ld.dataset", f"more than one instance {which}", (name, index))
                seen.add(dataset_id)
        else:
            yield from _check_instance(member, (name,), name, attribute, entity_type)


# Members of an attribute instance beside its value: a problem there leaves the value readable.
_BESIDE_VALUE = frozenset({"datasetId", "observedAt", "unitCode", "createdAt", "modifiedAt"})


def _hides_value(problem: Problem) -> bool:
    """Whether a shape problem leaves an attribute's value unreadable, so that its schema errors would
    only repeat it (a second instance with one datasetId, or a bad observedAt, do not: the values are
    still checked)."""
    if problem.code == "ngsi-ld.dataset":
        return False
    return not any(part in _BESIDE_VALUE for part in problem.path[1:3])


def _check_ngsiv2(entity: Mapping[str, Any]) -> Iterator[Problem]:
    shape = 'in NGSI-v2 normalized form an attribute is {"type": <NGSI-v2 type>, "value": ...}'
    for name, member in entity.items():
        if name in ngsild.ENTITY_MEMBERS:
            continue
        if forms.is_ngsiv2_attribute(member):
            allowed = _NGSIV2_VALUE_TYPES.get(member["type"])
            got = json_type(member["value"])
            if allowed is not None and got not in allowed:
                yield Problem(
                    ERROR,
                    "ngsiv2.type",
                    f"an NGSI-v2 {member['type']} attribute cannot hold {JSON_TYPE_NAMES.get(got, got)}",
                    (name, "type"),
                )
            if "metadata" in member:
                yield from _check_ngsiv2_metadata(member["metadata"], (name, "metadata"))
            continue
        # Say what is wrong with it, where it is wrong.
        if not isinstance(member, dict):
            yield Problem(ERROR, "ngsiv2.attribute", f"{shape}, got {type_name(member)}", (name,))
            continue
        kind = member.get("type")
        if "type" not in member:
            yield Problem(ERROR, "ngsiv2.attribute", f"missing 'type': {shape}", (name,))
        elif not isinstance(kind, str):
            message = f"the type of an attribute must be a string such as Text or Number, got {show(kind)}"
            yield Problem(ERROR, "ngsiv2.attribute", message, (name, "type"))
        elif kind in forms.ATTRIBUTE_KINDS:
            message = f"{kind} is an NGSI-LD attribute type: NGSI-v2 uses Text, Number, URI, DateTime, ..."
            yield Problem(ERROR, "ngsiv2.attribute", message, (name, "type"))
        if "value" not in member:
            yield Problem(ERROR, "ngsiv2.attribute", f"missing 'value': {shape}", (name,))
        for extra in member:
            if extra not in ("type", "value", "metadata"):
                message = f"{extra!r} is not allowed in an NGSI-v2 attribute (only type, value, metadata)"
                yield Problem(ERROR, "ngsiv2.attribute", message, (name, extra))


def _check_ngsiv2_metadata(metadata: Any, path: PathTuple) -> Iterator[Problem]:
    """An NGSI-v2 attribute's metadata: ``{name: {"type": …, "value": …}}``."""
    if not isinstance(metadata, dict):
        yield Problem(ERROR, "ngsiv2.metadata", "metadata must be an object: {name: {type, value}}", path)
        return
    for name, item in metadata.items():
        where = (*path, name)
        if not isinstance(item, dict):
            message = f'a metadata item is {{"type": …, "value": …}}, got {type_name(item)}'
            yield Problem(ERROR, "ngsiv2.metadata", message, where)
            continue
        if "value" not in item:
            message = 'missing \'value\': a metadata item is {"type": …, "value": …}'
            yield Problem(ERROR, "ngsiv2.metadata", message, where)
        if "type" in item and not isinstance(item["type"], str):
            got = show(item["type"])
            message = f"the type of a metadata item must be a string such as Text or DateTime, got {got}"
            yield Problem(ERROR, "ngsiv2.metadata", message, (*where, "type"))
        for extra in item:
            if extra not in ("type", "value"):
                message = f"{extra!r} is not allowed in an NGSI-v2 metadata item (only type, value)"
                yield Problem(ERROR, "ngsiv2.metadata", message, (*where, extra))


# --- Python values that JSON cannot hold (the Python API) ---------------------------------------------


def _too_long(number: int) -> bool:
    """More digits than Python prints (or the reader reads): 0.30103 digits per bit, rounded up."""
    limit = sys.get_int_max_str_digits()
    return limit > 0 and number.bit_length() * 0.30103 > limit


def _non_json(entity: Any) -> list[Problem]:
    """NaN, Infinity, keys that are not strings, Python objects, too deep nesting: a file cannot hold
    them (the reader rejects them), but a dict given to :func:`validate` can, and a schema would let NaN
    pass any bound."""
    problems: list[Problem] = []
    stack: list[tuple[PathTuple, Any, int]] = [((), entity, 0)]
    while stack:
        path, node, depth = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            literal = "NaN" if math.isnan(node) else ("Infinity" if node > 0 else "-Infinity")
            message = f"{literal} is not valid JSON (write null or a number)"
            problems.append(Problem(ERROR, "json.value", message, path))
        elif isinstance(node, dict | list):
            if depth >= reader.MAX_DEPTH:
                message = f"nesting is too deep: more than {reader.MAX_DEPTH} levels of arrays and objects"
                problems.append(Problem(ERROR, "json.depth", message, path))
                continue
            children = node.items() if isinstance(node, dict) else enumerate(node)
            for key, child in children:
                if isinstance(node, dict) and not isinstance(key, str):
                    message = f"member names must be strings in JSON, got {type_name(key)} {key!r}"
                    problems.append(Problem(ERROR, "json.key", message, (*path, key)))
                stack.append(((*path, key), child, depth + 1))
        elif isinstance(node, int) and not isinstance(node, bool) and _too_long(node):
            message = f"integer too long: more than {sys.get_int_max_str_digits()} digits"
            problems.append(Problem(ERROR, "json.number", message, path))
        elif not (node is None or isinstance(node, str | int | float)):
            message = f"{type_name(node)} is not a JSON value"
            if isinstance(node, tuple | set | frozenset):
                message += " (use a list)"
            problems.append(Problem(ERROR, "json.value", message, path))
    return problems


# --- one entity --------------------------------------------------------------------------------------


def _written_path(entity: Mapping[str, Any], path: PathTuple, form: str) -> PathTuple:
    """Path in the document as written for a path in its keyValues reduction."""
    if form in (forms.NORMALIZED, forms.CONCISE):
        return tuple(forms.original_path(entity, path))
    if form == forms.KEY_VALUES and path and forms.is_date_time_wrapper(entity.get(path[0])):
        return (path[0], "@value", *path[1:])
    if form == forms.NGSIV2_NORMALIZED and path and forms.is_ngsiv2_attribute(entity.get(path[0])):
        return (path[0], "value", *path[1:])
    return path


def _checked_types(entity: Mapping[str, Any], catalog: Catalog = BUNDLED) -> tuple[list[Problem], list[str]]:
    """Problems with the entity's ``type``, and the types with a schema to check the entity against."""
    known = catalog.entity_types()
    if "type" not in entity:
        message = "missing required member 'type' (the entity type)"
        return [Problem(ERROR, "entity.type", message, ("type",))], []
    entity_type = entity["type"]
    names = [entity_type] if isinstance(entity_type, str) else entity_type
    if not isinstance(names, list) or not names or not all(isinstance(name, str) for name in names):
        message = (
            "the entity type must be a string, or in NGSI-LD a non-empty array of strings, "
            f"got {show(entity_type)}"
        )
        return [Problem(ERROR, "entity.type", message, ("type",))], []
    # NGSI-LD lets an entity have several types: it is checked against each one that has a schema.
    checked = [name for name in dict.fromkeys(names) if name in known]
    if checked:
        return [], checked
    if len(names) == 1:
        what = f"type {names[0]!r}: no schema for it"
    else:
        what = f"types {', '.join(map(repr, names))}: no schema for any of them"
    message = f"unknown entity {what} (known: {', '.join(known)})"
    return [Problem(ERROR, "entity.unknown-type", message, ("type",))], []


def _reduce(entity: Mapping[str, Any], form: str) -> dict[str, Any]:
    if form in (forms.NORMALIZED, forms.CONCISE):
        reduced = forms.to_key_values(dict(entity))
    elif form == forms.NGSIV2_NORMALIZED:
        reduced = forms.from_ngsiv2_normalized(dict(entity))
    else:
        # A broker's keyValues output keeps date-times typed: {"@type": "DateTime", "@value": "…"}.
        reduced = {
            name: member["@value"] if forms.is_date_time_wrapper(member) else member
            for name, member in entity.items()
        }
    reduced.pop("@context", None)
    return reduced


Instance = tuple[Any, Callable[[PathTuple], PathTuple]]


def _multi_instances(entity: Mapping[str, Any], form: str, names: Iterable[str]) -> dict[str, list[Instance]]:
    """Each multi-instance attribute's instances: the keyValues value of each, and where a path in that
    value is written. Normalized: a list of instances; keyValues: ``{"dataset": {"@none": v, "<id>": v2}}``,
    whose object is no value of the attribute's schema, while each of its values is."""
    multi: dict[str, list[Instance]] = {}
    for name in names:
        if form == forms.NORMALIZED and forms.is_multi_instance(entity[name]):
            multi[name] = [
                (
                    forms.instance_key_value(entity, name, index),
                    lambda rest, n=name, i=index: tuple(forms.instance_original_path(entity, n, i, rest)),
                )
                for index in range(len(entity[name]))
            ]
        elif form == forms.KEY_VALUES and (datasets := forms.key_values_instances(entity, name)):
            multi[name] = []
            for dataset_id, value in datasets.items():
                prefix: PathTuple = (name, "dataset", dataset_id)
                if forms.is_date_time_wrapper(value):  # as a broker writes date-times in keyValues
                    value, prefix = value["@value"], (*prefix, "@value")
                multi[name].append((value, lambda rest, p=prefix: (*p, *rest)))
    return multi


def _check_key_values_datasets(entity: Mapping[str, Any]) -> Iterator[Problem]:
    """A keyValues multi-attribute holds at least one instance, each keyed by ``@none`` or a datasetId URI."""
    datasets = {
        name: instances
        for name in entity
        if name not in ngsild.ENTITY_MEMBERS
        and (instances := forms.key_values_instances(entity, name)) is not None
    }
    return dataset_problems(datasets)


def dataset_problems(datasets: Mapping[str, Mapping[str, Any]]) -> Iterator[Problem]:
    """The problems of keyValues multi-attributes (attribute name -> its instances by dataset id): none at
    all, or a key that is neither ``@none`` nor an absolute URI."""
    for name, instances in datasets.items():
        if not instances:
            message = 'an empty dataset: a multi-instance attribute maps "@none" or datasetIds to values'
            yield Problem(ERROR, "ngsi-ld.dataset", message, (name, "dataset"))
        for dataset_id in instances:
            if dataset_id != "@none":
                yield from _check_uri(dataset_id, (name, "dataset", dataset_id), 'a datasetId (or "@none")')


def _schema_problems(
    entity: Mapping[str, Any], form: str, broken: set[str], validator: Any = None, *, engine: bool = False
) -> Iterator[Problem]:
    """Schema errors of the entity, at the paths as written: against ``validator``, by default the one of
    the bundled schema of its ``type``. ``engine``: have jsonschema-rs find the errors of a bundled schema
    (much faster, once compiled), python-jsonschema only for those it cannot explain alike."""
    from sdmtool import fast  # imports this module

    bundled_type = entity["type"] if engine and validator is None else None
    validator = validator or schemas.validator(entity["type"])
    reduced = _reduce(entity, form)
    for name in broken:
        reduced.pop(name, None)  # already reported; its schema errors would only repeat them
    attributes = [name for name in reduced if name not in ngsild.ENTITY_MEMBERS]
    multi = _multi_instances(entity, form, attributes)
    # A multi-instance attribute is validated instance by instance: run k validates instance k of each.
    runs = max((len(instances) for instances in multi.values()), default=1)
    for run in range(runs):
        for name, instances in multi.items():
            reduced[name] = instances[min(run, len(instances) - 1)][0]
        errors = fast.schema_errors(bundled_type, reduced) if bundled_type else None
        for error in validator.iter_errors(reduced) if errors is None else errors:
            for path, code, message in _explain(error):
                head = path[0] if path else None
                if head in multi:
                    if run < len(multi[head]):
                        yield Problem(ERROR, code, message, multi[head][run][1](path[1:]))
                elif run == 0:
                    yield Problem(ERROR, code, message, _written_path(entity, path, form))


def _subscription_query_problems(
    entity: Mapping[str, Any], form: str, broken: set[str], reported: Sequence[Problem]
) -> Iterator[Problem]:
    """The subscription rules on the keyValues reduction, at the paths as written, except where an error
    was already reported (the schema covers the shape of most members)."""
    entity = {**entity, "type": "SubscriptionQuery"}  # the reduction reads the attributes of that schema
    reduced = _reduce(entity, form)
    for name in list(reduced):
        if name in broken or (form == forms.NORMALIZED and forms.is_multi_instance(entity.get(name))):
            reduced.pop(name)
        elif form == forms.KEY_VALUES and forms.key_values_instances(entity, name) is not None:
            reduced.pop(name)  # several values: the subscription rules read one
    taken = [problem.path for problem in reported if problem.severity == ERROR]
    for check in subscription_checks.check_subscription_query(reduced):
        path = _written_path(entity, check.path, form)
        if not any(path[: len(done)] == done for done in taken):
            yield Problem(check.severity, check.code, check.message, path, check.string_index)


# Data nested deeper than this is what exhausts the validator's recursion, rather than the schema.
_DEEP_DATA = 200


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)
    return deepest


def guarded_schema_problems(
    entity: Mapping[str, Any],
    form: str,
    broken: set[str],
    validator: Any,
    entity_type: str,
    *,
    engine: bool = False,
) -> list[Problem]:
    """:func:`_schema_problems`, with what stops a validation run reported as a finding: a $ref that fails
    to resolve while validating (one the up-front check could not foresee), a $ref loop in the schema, or
    data nested too deep to validate. Never reported as data errors they are not."""
    try:
        return list(_schema_problems(entity, form, broken, validator, engine=engine))
    except Unresolvable as error:
        # (the error's own text may print a whole schema)
        message = f"unresolved $ref {show(error.ref)} in the {entity_type} schema: not checked against it"
        return [Problem(ERROR, UNRESOLVED_REF, message, ())]
    except RecursionError:
        depth = _depth(entity)
        if depth > _DEEP_DATA:
            message = f"nested {depth} levels deep: too deep to validate against the {entity_type} schema"
            return [Problem(ERROR, "json.too-deep", message, ())]
        message = f"the {entity_type} schema refers to itself without end (a $ref loop): not checked"
        return [Problem(ERROR, RECURSIVE_REF, message, ())]


def check_entity(
    entity: Any,
    *,
    form: str | None = None,
    check_json: bool = True,
    in_notification: bool = False,
    catalog: Catalog = BUNDLED,
    engine: bool = False,
    detected: str | None = None,
    proven_members: Iterable[str] = (),
) -> tuple[list[Problem], str | None]:
    """Problems of one entity (paths relative to it as written) and the form it was read in.

    ``check_json=False`` skips looking for values JSON cannot hold, for entities parsed from JSON text.
    ``in_notification``: the entity is an item of a notification's data, which holds only the notified
    attributes (no member is missing) and may mark deleted ones with NGSI Null. ``catalog`` holds the
    schemas (the bundled ones by default). ``engine``: find the errors of bundled schemas with
    jsonschema-rs where it explains them alike (worth it over many entities: compiling costs ~0.1 s).
    ``detected``: what :func:`sdmtool.forms.detect_form` says of the entity, when already asked.
    ``proven_members``: attributes left out of ``entity`` because the fast path proved them (see
    :meth:`sdmtool.fast.Gate.unproven_members`): present, so never "missing".
    """
    if not isinstance(entity, dict):
        got = type_name(entity)
        return [Problem(ERROR, "entity.not-object", f"an entity must be a JSON object, got {got}", ())], None
    if "$schema" in entity and "id" not in entity:
        # `sdmtool validate schemas/` meets the schemas beside the examples: not entities, not errors.
        skipped = "a JSON Schema document, not an entity: skipped"
        return [Problem(WARNING, "input.not-entity", skipped, ())], None
    if form not in (None, "auto"):
        chosen = forms.canonical_form(form)
    else:
        chosen = detected or forms.detect_form(entity)
    not_json = _non_json(entity) if check_json else []
    problems = list(not_json)
    if subscription_checks.is_subscription(entity):
        # An NGSI-LD Subscription has no Smart Data Model: its own rules (clause 5.2.12), in document order.
        checks = subscription_checks.check_subscription(entity)
        problems.extend(Problem(c.severity, c.code, c.message, c.path, c.string_index) for c in checks)
        return problems, None
    # Kept away from the schema validator, which would recurse too deep or fail to print them.
    broken = {str(problem.path[0]) for problem in not_json if problem.code in ("json.depth", "json.number")}
    broken.update(proven_members)  # there, and nothing to say about them
    type_problems, checked = _checked_types(entity, catalog)
    problems.extend(type_problems)
    if "id" not in entity and not checked:
        # With a schema, its `required` says so.
        problems.append(Problem(ERROR, "entity.id", "missing required member 'id' (the entity id)", ("id",)))
    if len(checked) == 1:
        facts = catalog.attributes(checked[0])
    else:  # several types (or none): the first that declares an attribute says what it is
        facts = {}
        for name in checked:
            for attribute_name, attribute in catalog.attributes(name).items():
                facts.setdefault(attribute_name, attribute)
    label = " or ".join(checked)
    # The value rules of the form (NGSI Null, typed values, double wrapping, NGSI-v2 characters...).
    if chosen in forms.NGSIV2_FORMS:
        outcome = payload_rules.ngsiv2_rules(entity, chosen, facts)
    else:
        outcome = payload_rules.ngsild_rules(entity, chosen, facts, in_notification=in_notification)
    # Attributes a notification says were deleted have no value to check.
    shaped = {k: v for k, v in entity.items() if k not in outcome.deleted} if outcome.deleted else entity
    broken.update(outcome.deleted)
    if chosen in (forms.NORMALIZED, forms.CONCISE):
        for problem in _check_normalized(shaped, facts, label or None, chosen):
            problems.append(problem)
            if (
                problem.severity == ERROR
                and problem.path
                and problem.path[0] != "id"
                and _hides_value(problem)
            ):
                broken.add(str(problem.path[0]))
    elif chosen == forms.KEY_VALUES:
        problems.extend(_check_ngsild_id(entity, label or None))
        for problem in _check_key_values_datasets(entity):
            problems.append(problem)
            if problem.path[-1] == "dataset":
                broken.add(str(problem.path[0]))  # no instance to validate: the schema would only repeat it
    elif chosen == forms.NGSIV2_NORMALIZED:
        for problem in _check_ngsiv2(entity):
            problems.append(problem)
            if problem.severity == ERROR and problem.code == "ngsiv2.attribute":
                broken.add(str(problem.path[0]))
    # Without every schema's facts (one has an unresolved $ref) "undeclared" would be a guess.
    declared_known = all(catalog.usable(name) for name in checked)
    for name in entity if checked and declared_known else ():
        if name not in ngsild.ENTITY_MEMBERS and name not in facts:
            message = f"{name!r} is not declared in the {label} schema (a typo?)"
            problems.append(Problem(WARNING, "schema.undeclared", message, (name,)))
    bad_values = [problem.path for problem in not_json]
    for entity_type in checked:
        if not catalog.usable(entity_type):
            continue  # its schema has an unresolved $ref, reported once: no false "missing member" here
        typed = entity if entity["type"] == entity_type else {**entity, "type": entity_type}
        validator = catalog.validator(entity_type)  # None for a bundled type: the default applies
        found = guarded_schema_problems(typed, chosen, broken, validator, entity_type, engine=engine)
        for problem in found:
            # A value JSON cannot hold is reported as such, not again as a schema error.
            if not any(problem.path[: len(path)] == path for path in bad_values):
                problems.append(problem)
    # An attribute reported as malformed is there: it is not "missing" as well. A notification carries only
    # the attributes it was asked for: no attribute is missing (an entity without id or type still is wrong).
    partial = in_notification
    problems = [
        p
        for p in problems
        if not (
            p.code == "schema.required"
            and len(p.path) == 1
            and (p.path[0] in broken or (partial and p.path[0] not in ("id", "type")))
        )
    ]
    if outcome.claimed:
        # The rule that claimed a path said what is wrong there; other messages would only repeat it.
        problems = [p for p in problems if not outcome.is_claimed(p.path)]
    problems.extend(Problem(*issue) for issue in outcome.issues)
    if "SubscriptionQuery" in checked:
        problems.extend(_subscription_query_problems(entity, chosen, broken, problems))
    problems = list({(p.severity, p.code, p.message, p.path): p for p in problems}.values())
    if len(problems) > 1:
        order = reader.document_order(entity)
        problems.sort(key=lambda problem: reader.written_rank(order, problem.path))
    return problems, chosen


# Findings about the schemas rather than the data: exit code 3.
_SCHEMA_CODES = frozenset({UNRESOLVED_REF, RECURSIVE_REF})


def _entity_findings(
    entity: Any,
    *,
    form: str | None,
    source: str | None,
    index: int | None,
    locate: Locator | None,
    check_json: bool = True,
    catalog: Catalog = BUNDLED,
    item: reader.SourceEntity | None = None,
    engine: bool = False,
    detected: str | None = None,
    proven_members: Iterable[str] = (),
) -> tuple[list[Finding], str | None]:
    """The findings of one entity and the form it was read in; ``item`` when it was read from an input."""
    in_notification = item.in_notification if item is not None else False
    problems, chosen = check_entity(
        entity,
        form=form,
        check_json=check_json,
        in_notification=in_notification,
        catalog=catalog,
        engine=engine,
        detected=detected,
        proven_members=proven_members,
    )
    if item is not None and form in (None, "auto") and chosen is not None:
        problems.extend(_file_name_problems(item.source, entity, chosen))
    document = item.document if item is not None else None
    entity_id, entity_type = entity_identity(entity)
    pointer_of = item.json_pointer if item is not None else reader.to_json_pointer
    findings = []
    for problem in problems:
        pointer = pointer_of(problem.path)
        # The path itself, not its pointer: "/0" cannot tell the member "0" from the element 0.
        line, column = locate(problem.path, problem.string_index) if locate else (None, None)
        findings.append(
            Finding(
                severity=problem.severity,
                code=problem.code,
                message=problem.message,
                file=source,
                line=line,
                column=column,
                json_path=pointer,
                entity_id=entity_id,
                entity_type=entity_type,
                form=chosen,
                index=index,
                category=CATEGORY_SCHEMA if problem.code in _SCHEMA_CODES else CATEGORY_ENTITY,
                document=document,
            )
        )
    return findings, chosen


def _file_name_problems(source: str, entity: Any, chosen: str) -> list[Problem]:
    """A warning when the file name says one form (``example-normalized.jsonld``) and the entity is in
    another."""
    named = forms.form_named_by(source)
    if named is None or forms.name_allows(named, chosen, entity):
        return []
    message = (
        f"the file name says {forms.FORM_LABELS[named]}, but the entity is written in "
        f"{forms.FORM_LABELS[chosen]}"
    )
    return [Problem(WARNING, "form.file-name", message, ())]


def read_error_finding(error: reader.ReadError) -> Finding:
    """An input that cannot be read, as the finding every command reports for it (exit code 2)."""
    return Finding(
        severity=ERROR,
        code=f"input.{error.code}",
        message=error.message,
        file=error.source,
        line=error.line,
        column=error.column,
        category=CATEGORY_INPUT,
        document=error.document,
    )


def validate_items(
    items: Iterable[reader.Item],
    *,
    form: str | None = None,
    catalog: Catalog = BUNDLED,
    on_entity: Callable[[reader.SourceEntity | reader.ProvenEntity, str | None], None] | None = None,
    input_names: Collection[str] = (),
) -> Iterator[Finding]:
    """Findings for what :func:`sdmtool.reader.read` yields (used by the CLI to stream).

    The catalog's own problems (user schemas that are broken) come first. ``on_entity`` is called with
    every entity read and the form it was found in (None when it is no entity). ``input_names``: the names
    of the inputs read, filled as they are read (the reader's ``on_input``): the warning that no entity
    was found names them.
    """
    from sdmtool import fast  # imports this module

    yield from catalog.problems
    form = forms.canonical_form(form) if form else form
    gate = fast.Gate(form, user_type=catalog.is_user)
    read = 0  # entities and read errors: with none, the run checked nothing and must say so
    for item in items:
        read += 1
        if type(item) is reader.ProvenEntity:  # proven as it was read
            if on_entity is not None:
                on_entity(item, item.form)
            continue
        if isinstance(item, reader.ReadError):
            yield read_error_finding(item)
            continue
        proven = gate.proven_form(item)
        if proven is not None:  # nothing to report: the full check below would say the same
            if on_entity is not None:
                on_entity(item, proven)
            continue
        entity = item.value
        entity_id, entity_type = entity_identity(entity)
        for problem in item.problems:
            yield Finding(
                severity=ERROR,
                code=f"json.{problem.code}",
                message=problem.message,
                file=item.source,
                line=problem.line,
                column=problem.column,
                json_path=item.pointer_prefix + problem.json_path,
                entity_id=entity_id,
                entity_type=entity_type,
                index=item.index,
                document=item.document,
            )
        # Attributes the fast path proved are left out: nothing is said about them.
        failing = gate.unproven_members(entity)
        proven_members: frozenset[str] = frozenset()
        checked = entity
        if failing is not None:
            proven_members = frozenset(
                n for n in entity if n not in ngsild.ENTITY_MEMBERS and n not in failing
            )
            checked = {name: member for name, member in entity.items() if name not in proven_members}
        # Parsed from JSON text: no NaN, no Python objects to look for.
        found, chosen = _entity_findings(
            checked,
            form=form,
            source=item.source,
            index=item.index,
            locate=item.locate,
            check_json=False,
            catalog=catalog,
            item=item,
            engine=gate.warm,
            detected=gate.detected_form(entity),
            proven_members=proven_members,
        )
        if on_entity is not None:
            on_entity(item, chosen)
        yield from found
    if not read:
        # An empty array, a broker that answered [] (a query without the right Link header), only
        # non-entity files: a CI gate must not pass that in silence.
        yield from no_entities_findings(list(input_names))


def no_entities_findings(names: list[str]) -> list[Finding]:
    """The warning that nothing was checked: one for each input read, at that input (every report format
    then has a file to show it at), or one without a file when there was no input at all."""
    if not names:
        return [Finding(WARNING, NO_ENTITIES, "no entity: nothing was checked", category=CATEGORY_INPUT)]
    if len(names) == 1:
        message = "no entity in the input: nothing was checked"
    else:
        message = f"no entity in any of the {len(names)} inputs, this one included: nothing was checked"
    return [Finding(WARNING, NO_ENTITIES, message, file=name, category=CATEGORY_INPUT) for name in names]


def line_proof(form: str | None, catalog: Catalog = BUNDLED) -> reader.LineProof | None:
    """What proves NDJSON lines valid as :func:`sdmtool.reader.read` reads them (:mod:`sdmtool.typed_proof`),
    for entities checked in ``form`` (None: detected) against ``catalog``; None when none can be.

    Only inputs of at least :data:`sdmtool.fast.LARGE_INPUT` characters are worth building it for, and an
    input whose name announces a form is checked in full (the full check compares the two)."""
    if form not in (None, forms.KEY_VALUES, forms.NORMALIZED):
        return None
    from sdmtool import fast

    def for_input(name: str, size: int) -> Callable[[str], tuple[str, str, str] | None] | None:
        if size < fast.LARGE_INPUT or (form is None and forms.form_named_by(name) is not None):
            return None
        from sdmtool import typed_proof  # msgspec and the generated types: only for large inputs

        return typed_proof.line_prover(catalog.is_user, form)

    return for_input


def _check_form(form: str | None) -> str | None:
    if form in (None, "auto"):
        return None
    assert form is not None
    if forms.canonical_form(form) not in forms.FORMS:
        raise ValueError(f"unknown form {form!r}: expected one of {', '.join(FORM_CHOICES)}")
    return forms.canonical_form(form)


def validate(
    obj_or_path: Mapping[str, Any] | Sequence[Any] | str | os.PathLike[str],
    *,
    form: str | None = None,
    schemas: Sequence[str | os.PathLike[str]] = (),
    ref_map: Mapping[str, str | os.PathLike[str]] | Sequence[str] | None = None,
    skip_non_entities: bool = False,
) -> list[Finding]:
    """Validate an entity (dict), a list of entities, a path, or a list of paths; never uses the network.

    ``form`` forces one of :data:`sdmtool.forms.FORMS`; by default each entity's form is detected. Paths
    may be files (one entity, an array, NDJSON, a notification, YAML), directories (walked for *.json,
    *.jsonld, *.ndjson, *.geojson, *.yaml, *.yml) or ``-`` for stdin. ``schemas`` adds schema files or
    folders; ``ref_map`` maps URL prefixes to local folders for their remote ``$ref``s
    ({prefix: folder}, or "PREFIX=DIR" strings). ``skip_non_entities`` passes over the JSON and YAML files
    that cannot be entities (``package.json``...). Returns every finding; an empty list means valid.
    """
    chosen = _check_form(form)
    catalog = _catalog(schemas, ref_map)
    if isinstance(obj_or_path, Mapping):
        entity = dict(obj_or_path)
        found, _ = _entity_findings(
            entity, form=chosen, source=None, index=None, locate=None, catalog=catalog
        )
        return [*catalog.problems, *found]
    if isinstance(obj_or_path, str | os.PathLike):
        obj_or_path = [obj_or_path]
    if isinstance(obj_or_path, bytes | bytearray | memoryview) or not isinstance(obj_or_path, Iterable):
        message = (
            "validate() takes an entity (a dict), a list of entities, a path or a list of paths, "
            f"not {type(obj_or_path).__name__}"
        )
        if isinstance(obj_or_path, bytes | bytearray | memoryview):
            message += " (for JSON text, pass json.loads(text))"
        raise TypeError(message)
    items = list(obj_or_path)
    if all(isinstance(item, str | os.PathLike) for item in items):
        names: list[str] = []
        read_all = reader.read(
            items,
            line_proof=line_proof(chosen, catalog),
            on_input=names.append,
            skip_non_entities=skip_non_entities,
        )
        return list(validate_items(read_all, form=chosen, catalog=catalog, input_names=names))
    findings: list[Finding] = list(catalog.problems)
    for index, item in enumerate(items):
        if isinstance(item, str | os.PathLike):
            quiet = catalog.without_problems()  # its problems are already in the list
            names = []
            read_one = reader.read(
                [item],
                line_proof=line_proof(chosen, quiet),
                on_input=names.append,
                skip_non_entities=skip_non_entities,
            )
            findings.extend(validate_items(read_one, form=chosen, catalog=quiet, input_names=names))
        else:
            entity = dict(item) if isinstance(item, Mapping) else item
            found, _ = _entity_findings(
                entity, form=chosen, source=None, index=index, locate=None, catalog=catalog
            )
            findings.extend(found)
    return findings


def _catalog(
    schema_paths: Sequence[str | os.PathLike[str]],
    ref_map: Mapping[str, str | os.PathLike[str]] | Sequence[str] | None,
) -> Catalog:
    """The bundled catalog, or one with the user's schemas; a bad ``ref_map`` item is a ValueError."""
    if isinstance(schema_paths, str | os.PathLike):
        schema_paths = [schema_paths]
    if not schema_paths and not ref_map:
        return BUNDLED
    if isinstance(ref_map, Mapping):
        items = [f"{prefix}={os.fspath(folder)}" for prefix, folder in ref_map.items()]
    else:
        items = list(ref_map or ())
    return load_catalog(schema_paths, parse_ref_map(items))
