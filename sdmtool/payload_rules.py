"""Rules of the NGSI-LD and NGSI-v2 payload forms that no JSON Schema of a model can state.

NGSI-LD (ETSI GS CIM 009): JSON ``null`` is no value; NGSI Null (``urn:ngsi-ld:null``) only deletes an
attribute in an update or stands for a deleted one in a notification; ``{"@type": "DateTime", "@value": …}``
holds a date-time; ``unitCode`` is a Property's; an attribute written inside another's value is double
wrapping.
NGSI-v2 (as Orion enforces it, and the Smart Data Models rules): the characters ``< > " ' = ; ( )`` are
forbidden in ids, types, attribute names and string values (but in a ``TextUnrestricted`` attribute),
``DateTime`` values are ISO 8601, ``geo:json`` values GeoJSON.

Each rule gives :data:`Issue` tuples with paths relative to the entity as written, and the paths it
*claims*: the schema's own error at a claimed path would only repeat the rule's clearer message.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from sdmtool import forms, geojson, ngsild, schemas
from sdmtool.findings import ERROR, WARNING, Severity

PathTuple = tuple[str | int, ...]
Issue = tuple[Severity, str, str, PathTuple]

NULL = "ngsi-ld.null"
TYPED_VALUE = "ngsi-ld.typed-value"
DOUBLE_WRAPPED = "ngsi-ld.double-wrapped"
UNIT_CODE = "ngsi-ld.unit-code"
V2_CHARACTERS = "ngsiv2.characters"
V2_DATETIME = "ngsiv2.datetime"
V2_GEOJSON = "ngsiv2.geojson"
V2_DOUBLE_WRAPPED = "ngsiv2.double-wrapped"

# Kinds whose value may carry a unit (clause 4.5: a Property, and a ListProperty of quantities).
_UNIT_KINDS = frozenset({"Property", "ListProperty"})
# UN/CEFACT Recommendation 20 common codes are two or three upper-case letters or digits ("C62", "MTR").
_UNIT_CODE = re.compile(r"[A-Z0-9]{2,3}")

_V2_FORBIDDEN = forms.NGSIV2_FORBIDDEN
_V2_UNRESTRICTED = "TextUnrestricted"
# ISO 8601 as NGSI-v2 brokers read DateTime: a date, optionally a time (minutes, seconds, fraction), and
# optionally a zone.
_ISO_8601 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:\.\d+)?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?"
)


@dataclass
class Outcome:
    """What the rules found: issues, the paths they claim, attributes a notification says were deleted."""

    issues: list[Issue] = field(default_factory=list)
    claimed: set[PathTuple] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)

    def add(
        self, severity: Severity, code: str, message: str, path: PathTuple, *, claim: bool = True
    ) -> None:
        self.issues.append((severity, code, message, path))
        if claim:
            self.claimed.add(path)

    def is_claimed(self, path: PathTuple) -> bool:
        return any(path[: len(claimed)] == claimed for claimed in self.claimed)


def _declared(facts: Mapping[str, schemas.Attribute], name: str) -> frozenset[str]:
    attribute = facts.get(name)
    return attribute.member_names if attribute else frozenset()


def _attributes(entity: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    for name, member in entity.items():
        if name not in ngsild.ENTITY_MEMBERS:
            yield name, member


# --- NGSI-LD -----------------------------------------------------------------------------------------


def _instances(
    entity: Mapping[str, Any], form: str, facts: Mapping[str, schemas.Attribute]
) -> Iterator[tuple[str, PathTuple, dict[str, Any], str]]:
    """(attribute name, path, instance, kind) of every attribute instance written as NGSI-LD would, in the
    normalized or concise form (a concise attribute's kind is told by its value member)."""
    for name, member in _attributes(entity):
        declared = _declared(facts, name)
        items = list(enumerate(member)) if forms.is_multi_instance(member) else [(None, member)]
        for index, item in items:
            kind = forms.attribute_kind(item, declared)
            if kind is None or kind == "DateTime" or (form == forms.NORMALIZED and "type" not in item):
                continue
            path: PathTuple = (name,) if index is None else (name, index)
            yield name, path, item, kind


def _is_ngsi_null(value: Any) -> bool:
    """NGSI Null as a value member: the URI itself, or a languageMap of it (a deleted attribute)."""
    return value == ngsild.NGSI_NULL or value == {"@none": ngsild.NGSI_NULL}


def deleted_attributes(entity: Mapping[str, Any], form: str) -> set[str]:
    """Attributes a notification reports as deleted: NGSI Null for the whole attribute or its value."""
    deleted = {name for name, member in _attributes(entity) if member == ngsild.NGSI_NULL}
    for name, _path, instance, kind in _instances(entity, form, {}):
        if _is_ngsi_null(instance.get(forms.VALUE_MEMBER.get(kind, "value"))):
            deleted.add(name)
    return deleted


def _null_message(where: str) -> str:
    return (
        f"null is not an NGSI-LD value ({where}): leave the member out; to delete an attribute, an update "
        f'writes "{ngsild.NGSI_NULL}"'
    )


_NGSI_NULL_MESSAGE = (
    f'"{ngsild.NGSI_NULL}" is no attribute value: it deletes an attribute in an update, or marks a deleted '
    "one in a notification"
)


def _double_wrapped(value: Any, declared: frozenset[str]) -> str | None:
    """The kind of an NGSI-LD attribute written as a value (``{"type": "Property", "value": …}``)."""
    if not isinstance(value, dict) or "type" in declared:
        return None
    kind = value.get("type")
    if isinstance(kind, str) and kind in forms.ATTRIBUTE_KINDS and forms.VALUE_MEMBER[kind] in value:
        return kind
    return None


def ngsild_rules(
    entity: Mapping[str, Any],
    form: str,
    facts: Mapping[str, schemas.Attribute],
    *,
    in_notification: bool = False,
) -> Outcome:
    """The NGSI-LD value rules for an entity in one of the NGSI-LD forms (normalized, concise, keyValues)."""
    outcome = Outcome()
    if in_notification:
        outcome.deleted = deleted_attributes(entity, form)
    for name, member in _attributes(entity):
        if name in outcome.deleted:
            continue
        if member is None:
            outcome.add(ERROR, NULL, _null_message("a whole attribute"), (name,))
        elif member == ngsild.NGSI_NULL:
            outcome.add(ERROR, NULL, _NGSI_NULL_MESSAGE, (name,))
    instances = _instances(entity, form, facts) if form != forms.KEY_VALUES else iter(())
    for name, path, instance, kind in instances:
        if name in outcome.deleted:
            continue
        value_member = forms.VALUE_MEMBER[kind]
        value = instance.get(value_member)
        if value_member in instance and value is None:
            outcome.add(ERROR, NULL, _null_message(f"the {value_member} of a {kind}"), (*path, value_member))
        elif _is_ngsi_null(value):
            outcome.add(ERROR, NULL, _NGSI_NULL_MESSAGE, (*path, value_member))
        inner = _double_wrapped(value, _declared(facts, name))
        if inner is not None:
            message = (
                f"an attribute inside the {value_member} of {name!r} (double wrapping): write "
                f'{{"type": "{kind}", "{value_member}": …}} once, with the inner '
                f"{forms.VALUE_MEMBER[inner]!r} as its {value_member}"
            )
            outcome.add(ERROR, DOUBLE_WRAPPED, message, (*path, value_member))
        if "unitCode" in instance:
            _unit_code(outcome, instance["unitCode"], kind, (*path, "unitCode"))
    # Normalized date-times are typed values: the serialisation would only find them again.
    if form != forms.KEY_VALUES or _may_need_walk(entity):
        _walk_values(entity, outcome)
    return outcome


def _unit_code(outcome: Outcome, unit_code: Any, kind: str, path: PathTuple) -> None:
    if kind not in _UNIT_KINDS:
        outcome.add(ERROR, UNIT_CODE, f"a {kind} has no unitCode: only a Property's value has a unit", path)
    elif not isinstance(unit_code, str) or not unit_code:
        message = 'unitCode must be a UN/CEFACT unit code, a string such as "C62" (one) or "MTR" (metre)'
        outcome.add(ERROR, UNIT_CODE, message, path)
    elif not _UNIT_CODE.fullmatch(unit_code):
        message = (
            f"unitCode {unit_code!r} is not a UN/CEFACT common code (two or three upper-case letters or "
            'digits, such as "MTR" for metres or "CEL" for degrees Celsius)'
        )
        outcome.add(WARNING, UNIT_CODE, message, path, claim=False)


def is_date_time(text: Any) -> bool:
    return isinstance(text, str) and schemas.format_checker().conforms(text, "date-time")


def _needs_walk(node: Any) -> bool:
    """Whether a value holds a null or a typed value anywhere: most hold neither, and this costs less than
    the walk that builds a path for every value."""
    stack = [node]
    while stack:
        item = stack.pop()
        if item is None:
            return True
        if isinstance(item, dict):
            if "@type" in item:
                return True
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _may_need_walk(entity: Mapping[str, Any]) -> bool:
    """Whether the entity's JSON text shows a null or an ``@type`` key anywhere: one serialisation, in C,
    clears most keyValues entities at once. A string that merely contains "null" only costs the walk."""
    try:
        text = orjson.dumps(entity)
    except (TypeError, orjson.JSONEncodeError):  # not JSON (the Python API): walk it
        return True
    return b"null" in text or b'"@type":' in text


def _walk_values(entity: Mapping[str, Any], outcome: Outcome) -> None:
    """JSON null anywhere, and every ``{"@type": "DateTime", "@value": …}`` at any depth."""
    stack: list[tuple[PathTuple, Any]] = [
        ((name,), member)
        for name, member in _attributes(entity)
        if name not in outcome.deleted and _needs_walk(member)
    ]
    while stack:
        path, node = stack.pop()
        if outcome.is_claimed(path):
            continue
        if node is None:
            outcome.add(ERROR, NULL, _null_message("JSON null"), path)
        elif isinstance(node, dict):
            if node.get("@type") == "DateTime" and "@value" in node and not is_date_time(node["@value"]):
                message = (
                    'the @value of a {"@type": "DateTime"} value must be an RFC 3339 date-time with a time '
                    f"zone, e.g. 2026-11-20T09:30:00Z, got {node['@value']!r}"
                )
                outcome.add(ERROR, TYPED_VALUE, message, (*path, "@value"))
                continue
            stack.extend(((*path, key), value) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend(((*path, index), value) for index, value in enumerate(node))


# --- NGSI-v2 -----------------------------------------------------------------------------------------


def _forbidden(text: str) -> str:
    return " ".join(dict.fromkeys(_V2_FORBIDDEN.findall(text)))


def is_iso_8601(text: Any) -> bool:
    """A date or date-time in the ISO 8601 extended format that NGSI-v2 brokers accept for DateTime."""
    if not isinstance(text, str):
        return False
    match = _ISO_8601.fullmatch(text)
    if not match:
        return False
    year, month, day, hour, minute, second, _zone = match.groups()
    try:
        dt.date(int(year), int(month), int(day))
        dt.time(int(hour or 0), int(minute or 0), min(int(second or 0), 59))  # 60: a leap second
    except ValueError:
        return False
    return int(second or 0) <= 60


def _check_characters(outcome: Outcome, text: Any, what: str, path: PathTuple, hint: str = "") -> None:
    if isinstance(text, str) and _V2_FORBIDDEN.search(text):
        message = f"NGSI-v2 forbids the characters < > \" ' = ; ( ) in {what}: found {_forbidden(text)}{hint}"
        outcome.add(ERROR, V2_CHARACTERS, message, path)


def _check_string_values(outcome: Outcome, value: Any, path: PathTuple, hint: str) -> None:
    stack: list[tuple[PathTuple, Any]] = [(path, value)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, str):
            _check_characters(outcome, node, "string values", where, hint)
        elif isinstance(node, dict):
            stack.extend(((*where, key), item) for key, item in node.items())
        elif isinstance(node, list):
            stack.extend(((*where, index), item) for index, item in enumerate(node))


def ngsiv2_rules(entity: Mapping[str, Any], form: str, facts: Mapping[str, schemas.Attribute]) -> Outcome:
    """The NGSI-v2 rules for an entity in NGSI-v2 normalized or keyValues form."""
    outcome = Outcome()
    _check_characters(outcome, entity.get("id"), "entity ids", ("id",))
    _check_characters(outcome, entity.get("type"), "entity types", ("type",))
    unrestricted = ' (an attribute of type "TextUnrestricted" may hold them)'
    for name, member in _attributes(entity):
        _check_characters(outcome, name, "attribute names", (name,))
        if form == forms.NGSIV2_KEY_VALUES:
            _check_string_values(outcome, member, (name,), "")
            continue
        if not forms.is_ngsiv2_attribute(member):
            continue  # its shape is reported elsewhere
        attribute_type, value = member["type"], member["value"]
        _check_characters(outcome, attribute_type, "attribute types", (name, "type"))
        if attribute_type != _V2_UNRESTRICTED:
            _check_string_values(
                outcome, value, (name, "value"), unrestricted if isinstance(value, str) else ""
            )
        _check_v2_date_time(outcome, attribute_type, value, (name, "value"))
        # (a value that is no object is reported as the wrong JSON type for geo:json)
        problem = (
            geojson.geojson_problem(value)
            if attribute_type == "geo:json" and isinstance(value, dict)
            else None
        )
        if problem is not None:
            where, reason = problem
            message = f"a geo:json value must be GeoJSON: {reason}"
            outcome.add(ERROR, V2_GEOJSON, message, (name, "value", *where))
        declared = _declared(facts, name)
        if (
            isinstance(value, dict)
            and "type" not in declared
            and (forms.is_ngsiv2_attribute(value) or forms.is_instance(value))
        ):
            message = (
                f"an attribute inside the value of {name!r} (double wrapping): write "
                '{"type": …, "value": …} once, with the inner value as its value'
            )
            outcome.add(ERROR, V2_DOUBLE_WRAPPED, message, (name, "value"))
            outcome.claimed.add((name,))  # its type cannot fit the wrapped value either: said once
        metadata = member.get("metadata")
        for item_name, item in metadata.items() if isinstance(metadata, dict) else ():
            where = (name, "metadata", item_name)
            _check_characters(outcome, item_name, "metadata names", where)
            if not isinstance(item, dict):
                continue  # its shape is reported elsewhere
            item_type = item.get("type")
            _check_characters(outcome, item_type, "metadata types", (*where, "type"))
            if "value" in item and item_type != _V2_UNRESTRICTED:
                item_value = item["value"]
                hint = ' (a metadata item of type "TextUnrestricted" may hold them)'
                _check_string_values(
                    outcome, item_value, (*where, "value"), hint if isinstance(item_value, str) else ""
                )
            if "value" in item:
                _check_v2_date_time(outcome, item_type, item["value"], (*where, "value"))
    return outcome


def _check_v2_date_time(outcome: Outcome, v2_type: Any, value: Any, path: PathTuple) -> None:
    """A DateTime attribute's or metadata item's value: an ISO 8601 date-time, as NGSI-v2 brokers read it."""
    if v2_type == "DateTime" and isinstance(value, str) and not is_iso_8601(value):
        message = (
            f"a DateTime value must be an ISO 8601 date-time such as 2026-11-20T09:30:00Z, got {value!r}"
        )
        outcome.add(ERROR, V2_DATETIME, message, path)
