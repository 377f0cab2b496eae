"""Validate entities against the bundled Smart Data Models, offline, reporting every problem.

For a normalized (NGSI-LD) entity the NGSI-LD shape is checked first (attribute objects, kinds against the
schema's description grammar, Relationship targets); the entity is then reduced to keyValues and validated
against the JSON Schema. Each schema error is mapped back to the member the user wrote
(``/attr/value/...``, ``/attr/object``) and, when the entity came from a file, to its line and column.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jsonschema import ValidationError

from sdmtool import forms, reader, schemas
from sdmtool.findings import CATEGORY_INPUT, ERROR, WARNING, Finding, Severity

PathTuple = tuple[str | int, ...]
Locator = Callable[[str], tuple[int | None, int | None]]

FORM_CHOICES = ("auto", forms.NORMALIZED, forms.KEY_VALUES, forms.NGSIV2_NORMALIZED)

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

_JSON_TYPE_NAMES = {
    "string": "a string",
    "number": "a number",
    "integer": "an integer",
    "boolean": "a boolean (true or false)",
    "object": "an object",
    "array": "an array",
    "null": "null",
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


# --- describing values and JSON Schema errors --------------------------------------------------------


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _show(value: Any, limit: int = 60) -> str:
    """A JSON rendering of a value, short enough for a one-line message."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _expected(types: Any) -> str:
    names = [types] if isinstance(types, str) else list(types)
    return " or ".join(_JSON_TYPE_NAMES.get(name, name) for name in names)


def _type_message(expected: Any, instance: Any) -> str:
    names = [expected] if isinstance(expected, str) else list(expected)
    got = _json_type(instance)
    if "string" in names and got in {"integer", "number", "boolean"}:
        literal = _show(instance)
        if names == ["string"]:
            return f'must be a string: quote it, write "{literal}" instead of {literal}'
        return f'must be {_expected(names)}, got {literal}: to give a string, quote it: "{literal}"'
    if "integer" in names and got == "number" and float(instance).is_integer():
        return f"must be an integer: write {int(instance)} instead of {_show(instance)}"
    if got == "string" and {"number", "integer"} & set(names):
        return f"must be {_expected(names)}, not a string: remove the quotes around {_show(instance)}"
    return f"must be {_expected(names)}, got {_JSON_TYPE_NAMES.get(got, got)} {_show(instance)}"


def _leaf_message(error: ValidationError) -> str:
    """One clear sentence for one failed keyword."""
    keyword, expected, instance = error.validator, error.validator_value, error.instance
    if keyword == "type":
        return _type_message(expected, instance)
    if keyword == "enum":
        options = ", ".join(_show(option) for option in expected)
        if len(expected) == 1:
            return f"must be {options}, got {_show(instance)}"
        return f"must be one of {options}; got {_show(instance)}"
    if keyword == "const":
        return f"must be {_show(expected)}, got {_show(instance)}"
    if keyword == "format":
        hint = _FORMAT_HINTS.get(expected, f"a valid {expected}")
        return f"{_show(instance)} is not {hint}"
    if keyword == "pattern":
        return f"{_show(instance)} does not match the pattern {expected}"
    if keyword in {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}:
        relation = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}
        return f"must be {relation[keyword]} {expected}, got {_show(instance)}"
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
            f"{what} must be an absolute URI such as urn:ngsi-ld:<Type>:<id>, got {_show(value)}",
            path,
        )


def _check_instance(
    instance: Any, path: PathTuple, name: str, attribute: schemas.Attribute | None, entity_type: str | None
) -> Iterator[Problem]:
    if not isinstance(instance, dict):
        yield Problem(
            ERROR,
            "ngsi-ld.attribute",
            f"in normalized form an attribute is an object such as "
            f'{{"type": "Property", "value": ...}}, got {_JSON_TYPE_NAMES.get(_json_type(instance))}',
            path,
        )
        return
    kind = instance.get("type")
    kinds = "Property, Relationship, GeoProperty, LanguageProperty, ListProperty, ListRelationship, ..."
    if kind is None:
        yield Problem(ERROR, "ngsi-ld.attribute", f"missing 'type' (one of {kinds})", path)
        return
    if kind not in forms.ATTRIBUTE_KINDS:
        hint = " (an NGSI-v2 type, not NGSI-LD)" if kind in {"Text", "Number", "StructuredValue"} else ""
        yield Problem(
            ERROR,
            "ngsi-ld.attribute",
            f"unknown attribute type {_show(kind)}{hint}: use {kinds}",
            (*path, "type"),
        )
        return
    value_member = forms.VALUE_MEMBER[kind]
    has_value = value_member in instance or (kind == "ListProperty" and "value" in instance)
    if not has_value:
        yield Problem(ERROR, "ngsi-ld.attribute", f"a {kind} needs a {value_member!r} member", path)
    if kind in {"Property", "GeoProperty", "ListProperty"} and "object" in instance:
        yield Problem(
            ERROR,
            "ngsi-ld.attribute",
            f"a {kind} has no 'object' member (use a Relationship)",
            (*path, "object"),
        )
    if kind == "Relationship" and "value" in instance:
        yield Problem(
            ERROR,
            "ngsi-ld.attribute",
            "a Relationship carries its target in 'object', not 'value'",
            (*path, "value"),
        )
    if kind == "Relationship" and "object" in instance:
        yield from _check_uri(instance["object"], (*path, "object"), "the object of a Relationship")
    if kind == "GeoProperty" and "value" in instance and not forms.is_geojson_geometry(instance["value"]):
        yield Problem(
            ERROR,
            "ngsi-ld.attribute",
            "the value of a GeoProperty must be a GeoJSON geometry",
            (*path, "value"),
        )
    if kind == "LanguageProperty" and "languageMap" in instance:
        language_map = instance["languageMap"]
        if not isinstance(language_map, dict) or not all(
            isinstance(text, str | list) for text in language_map.values()
        ):
            yield Problem(
                ERROR,
                "ngsi-ld.attribute",
                "languageMap must map language tags to strings",
                (*path, "languageMap"),
            )
    if "datasetId" in instance:
        yield from _check_uri(instance["datasetId"], (*path, "datasetId"), "datasetId")
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
    if attribute.date_time and kind == "Property" and isinstance(instance.get("value"), str):
        yield Problem(
            WARNING,
            "ngsi-ld.datetime",
            'a date-time in normalized form should be {"@type": "DateTime", "@value": "..."} '
            "so that brokers store and query it as a date",
            (*path, "value"),
        )


def _check_normalized(
    entity: Mapping[str, Any], facts: Mapping[str, schemas.Attribute], entity_type: str | None
) -> Iterator[Problem]:
    if "id" in entity and not forms.is_absolute_uri(entity["id"]):
        yield Problem(
            ERROR,
            "ngsi-ld.id",
            f"an NGSI-LD entity id must be an absolute URI such as urn:ngsi-ld:{entity_type or 'Type'}:001, "
            f"got {_show(entity['id'])}",
            ("id",),
        )
    for name, member in entity.items():
        if name in forms.ENTITY_MEMBERS:
            continue
        attribute = facts.get(name)
        if isinstance(member, list) and member and all(isinstance(item, dict) for item in member):
            # Multi-attribute: several instances told apart by datasetId, at most one without.
            seen: set[str] = set()
            for index, item in enumerate(member):
                yield from _check_instance(item, (name, index), name, attribute, entity_type)
                dataset_id = str(item.get("datasetId", "@none"))
                if dataset_id in seen:
                    which = "without datasetId" if dataset_id == "@none" else f"with datasetId {dataset_id}"
                    yield Problem(ERROR, "ngsi-ld.dataset", f"more than one instance {which}", (name, index))
                seen.add(dataset_id)
        else:
            yield from _check_instance(member, (name,), name, attribute, entity_type)


def _check_ngsiv2(entity: Mapping[str, Any]) -> Iterator[Problem]:
    for name, member in entity.items():
        if name in forms.ENTITY_MEMBERS:
            continue
        if not forms.is_ngsiv2_attribute(member):
            yield Problem(
                ERROR,
                "ngsiv2.attribute",
                'in NGSI-v2 normalized form an attribute is {"type": <NGSI-v2 type>, "value": ...}',
                (name,),
            )
            continue
        allowed = _NGSIV2_VALUE_TYPES.get(member["type"])
        got = _json_type(member["value"])
        if allowed is not None and got not in allowed:
            yield Problem(
                ERROR,
                "ngsiv2.type",
                f"an NGSI-v2 {member['type']} attribute cannot hold {_JSON_TYPE_NAMES.get(got, got)}",
                (name, "type"),
            )


# --- one entity --------------------------------------------------------------------------------------


def _document_order(entity: Any) -> dict[PathTuple, int]:
    order: dict[PathTuple, int] = {}
    stack: list[tuple[PathTuple, Any]] = [((), entity)]
    while stack:
        path, node = stack.pop()
        order[path] = len(order)
        if isinstance(node, dict):
            stack.extend(((*path, key), value) for key, value in reversed(list(node.items())))
        elif isinstance(node, list):
            stack.extend(((*path, index), value) for index, value in reversed(list(enumerate(node))))
    return order


def _written_path(entity: Mapping[str, Any], path: PathTuple, form: str) -> PathTuple:
    """Path in the document as written for a path in its keyValues reduction."""
    if form == forms.NORMALIZED:
        return tuple(forms.original_path(entity, path))
    if form == forms.NGSIV2_NORMALIZED and path and forms.is_ngsiv2_attribute(entity.get(path[0])):
        return (path[0], "value", *path[1:])
    return path


def check_entity(entity: Any, *, form: str | None = None) -> tuple[list[Problem], str | None]:
    """Problems of one entity (paths relative to it as written) and the form it was read in."""
    if not isinstance(entity, dict):
        got = _JSON_TYPE_NAMES.get(_json_type(entity), "a value")
        return [Problem(ERROR, "entity.not-object", f"an entity must be a JSON object, got {got}", ())], None
    chosen = forms.detect_form(entity) if form in (None, "auto") else form
    problems: list[Problem] = []
    entity_type = entity.get("type")
    known = isinstance(entity_type, str) and entity_type in schemas.entity_types()
    if "type" not in entity:
        problems.append(
            Problem(ERROR, "entity.type", "missing required member 'type' (the entity type)", ("type",))
        )
    elif not isinstance(entity_type, str):
        problems.append(Problem(ERROR, "entity.type", "the entity type must be a string", ("type",)))
    elif not known:
        problems.append(
            Problem(
                ERROR,
                "entity.unknown-type",
                f"unknown entity type {entity_type!r}: no bundled schema for it "
                f"(known: {', '.join(schemas.entity_types())})",
                ("type",),
            )
        )
    facts = schemas.attributes(entity_type) if known else {}
    broken: set[str] = set()
    if chosen == forms.NORMALIZED:
        for problem in _check_normalized(entity, facts, entity_type if known else None):
            problems.append(problem)
            if problem.severity == ERROR and problem.path and problem.path[0] != "id":
                broken.add(str(problem.path[0]))
    elif chosen == forms.NGSIV2_NORMALIZED:
        for problem in _check_ngsiv2(entity):
            problems.append(problem)
            if problem.severity == ERROR and problem.code == "ngsiv2.attribute":
                broken.add(str(problem.path[0]))
    if known:
        for name in entity:
            if name not in forms.ENTITY_MEMBERS and name not in facts:
                problems.append(
                    Problem(
                        WARNING,
                        "schema.undeclared",
                        f"{name!r} is not declared in the {entity_type} schema (a typo?)",
                        (name,),
                    )
                )
        if chosen == forms.NORMALIZED:
            reduced = forms.to_key_values(entity)
        elif chosen == forms.NGSIV2_NORMALIZED:
            reduced = forms.from_ngsiv2_normalized(entity)
        else:
            reduced = dict(entity)
        reduced.pop("@context", None)
        for name in broken:
            reduced.pop(name, None)  # already reported; its schema errors would only repeat them
        for error in schemas.validator(entity_type).iter_errors(reduced):
            for path, code, message in _explain(error):
                written = _written_path(entity, path, chosen)
                problems.append(Problem(ERROR, code, message, written))
    if len(problems) > 1:
        order = _document_order(entity)

        def rank(problem: Problem) -> int:
            for length in range(len(problem.path), -1, -1):
                if problem.path[:length] in order:
                    return order[problem.path[:length]]
            return 0

        problems.sort(key=rank)
    return problems, chosen


def _findings(
    entity: Any,
    *,
    form: str | None,
    source: str | None,
    index: int | None,
    locate: Locator | None,
) -> list[Finding]:
    problems, chosen = check_entity(entity, form=form)
    entity_id = entity.get("id") if isinstance(entity, dict) else None
    entity_type = entity.get("type") if isinstance(entity, dict) else None
    findings = []
    for problem in problems:
        pointer = reader.to_json_pointer(problem.path)
        line, column = locate(pointer) if locate else (None, None)
        findings.append(
            Finding(
                severity=problem.severity,
                code=problem.code,
                message=problem.message,
                file=source,
                line=line,
                column=column,
                json_path=pointer,
                entity_id=entity_id if isinstance(entity_id, str) else None,
                entity_type=entity_type if isinstance(entity_type, str) else None,
                form=chosen,
                index=index,
            )
        )
    return findings


def _read_error_finding(error: reader.ReadError) -> Finding:
    return Finding(
        severity=ERROR,
        code=f"input.{error.code}",
        message=error.message,
        file=error.source,
        line=error.line,
        column=error.column,
        category=CATEGORY_INPUT,
    )


def validate_items(items: Iterable[reader.Item], *, form: str | None = None) -> Iterator[Finding]:
    """Findings for what :func:`sdmtool.reader.read` yields (used by the CLI to stream)."""
    for item in items:
        if isinstance(item, reader.ReadError):
            yield _read_error_finding(item)
            continue
        entity = item.value
        for problem in item.problems:
            yield Finding(
                severity=ERROR,
                code=f"json.{problem.code}",
                message=problem.message,
                file=item.source,
                line=problem.line,
                column=problem.column,
                json_path=problem.json_path,
                entity_id=entity.get("id") if isinstance(entity, dict) else None,
                entity_type=entity.get("type") if isinstance(entity, dict) else None,
                index=item.index,
            )
        yield from _findings(entity, form=form, source=item.source, index=item.index, locate=item.locate)


def _check_form(form: str | None) -> str | None:
    if form in (None, "auto"):
        return None
    if form not in forms.FORMS:
        raise ValueError(f"unknown form {form!r}: expected one of {', '.join(FORM_CHOICES)}")
    return form


def validate(
    obj_or_path: Mapping[str, Any] | Sequence[Any] | str | os.PathLike[str], *, form: str | None = None
) -> list[Finding]:
    """Validate an entity (dict), a list of entities, a path, or a list of paths; never uses the network.

    ``form`` forces "normalized" or "keyValues"; by default each entity's form is detected. Paths may be
    files (one entity, an array, NDJSON), directories (walked for *.json, *.jsonld, *.ndjson, *.geojson)
    or ``-`` for stdin. Returns every finding; an empty list means valid.
    """
    chosen = _check_form(form)
    if isinstance(obj_or_path, Mapping):
        return _findings(dict(obj_or_path), form=chosen, source=None, index=None, locate=None)
    if isinstance(obj_or_path, str | os.PathLike):
        return list(validate_items(reader.read([obj_or_path]), form=chosen))
    items = list(obj_or_path)
    if all(isinstance(item, str | os.PathLike) for item in items):
        return list(validate_items(reader.read(items), form=chosen))
    findings: list[Finding] = []
    for index, item in enumerate(items):
        if isinstance(item, str | os.PathLike):
            findings.extend(validate_items(reader.read([item]), form=chosen))
        else:
            findings.extend(_findings(item, form=chosen, source=None, index=index, locate=None))
    return findings
