"""Conversions between entity representations, driven by the schemas.

keyValues is the pivot: every other form is produced from it or reduced to it. What an attribute becomes
(Property, Relationship, GeoProperty, a DateTime-typed value) is read from the schema of the entity's type
(:mod:`sdmtool.schemas`), never from a per-model table; unknown types fall back on conservative guesses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sdmtool import ngsild, schemas

NORMALIZED = "normalized"
KEY_VALUES = "keyValues"
NGSIV2_NORMALIZED = "ngsiv2-normalized"
NGSIV2_KEY_VALUES = "ngsiv2-keyValues"
CONCISE = "concise"

# What each form is called in messages. "normalized", "concise" and "keyValues" are the NGSI-LD forms.
FORM_LABELS = {
    NORMALIZED: "NGSI-LD normalized",
    CONCISE: "NGSI-LD concise",
    KEY_VALUES: "NGSI-LD keyValues",
    NGSIV2_NORMALIZED: "NGSI-v2 normalized",
    NGSIV2_KEY_VALUES: "NGSI-v2 keyValues",
}
# Earlier names still accepted where a form is given (``--form ngsiv2``).
FORM_ALIASES = {"ngsiv2": NGSIV2_NORMALIZED}
NGSILD_FORMS = frozenset({NORMALIZED, CONCISE, KEY_VALUES})
NGSIV2_FORMS = frozenset({NGSIV2_NORMALIZED, NGSIV2_KEY_VALUES})

# Entity members that are not attributes: left untouched by every conversion. NGSI-LD system members
# (createdAt, ...) ride along as they are.
ENTITY_MEMBERS = ngsild.ENTITY_MEMBERS

# The attribute kinds a document may use and the member that carries each one's value: the NGSI-LD kinds
# and, unlike the broker, their older names (ngsild.KIND_ALIASES).
VALUE_MEMBER = {
    **ngsild.VALUE_MEMBERS,
    **{alias: ngsild.VALUE_MEMBERS[kind] for alias, kind in ngsild.KIND_ALIASES.items()},
}
ATTRIBUTE_KINDS = frozenset(VALUE_MEMBER)

# keyValues keeps these kinds wrapped in their value member, since the bare value would be ambiguous.
_KEY_VALUES_WRAPPED = ngsild.KEY_VALUES_WRAPPED | {
    alias for alias, kind in ngsild.KIND_ALIASES.items() if kind in ngsild.KEY_VALUES_WRAPPED
}

_REF_NAME = re.compile(r"^ref[A-Z0-9]")
# Characters NGSI-v2 brokers refuse in ids, types, names and string values, except in TextUnrestricted.
NGSIV2_FORBIDDEN = re.compile(r"[<>\"'=;()]")
# Lenient: anything but white space after the scheme (the broker also refuses what RFC 3986 excludes).
_ABSOLUTE_URI = re.compile(ngsild.URI_SCHEME + r"\S+")  # whole string: fullmatch, not `$`

PathPart = str | int


def json_pointer(path: Sequence[PathPart]) -> str:
    """``("a", 0, "b/c")`` -> ``/a/0/b~1c`` (RFC 6901), as findings show paths."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


Refusal = tuple[Sequence[Sequence[PathPart]], str]  # where (paths) and why


class ConversionError(ValueError):
    """The entity cannot be written in the target form without changing or losing data.

    Every value in the way is said at once: ``refusals`` pair the paths (in the keyValues reduction of the
    entity) with the reason; ``paths`` lists them all.
    """

    def __init__(self, refusals: Sequence[Refusal]) -> None:
        self.refusals = [([tuple(path) for path in paths], reason) for paths, reason in refusals]
        self.paths = [path for paths, _ in self.refusals for path in paths]
        super().__init__(
            "; ".join(f"{', '.join(map(json_pointer, paths))}: {reason}" for paths, reason in self.refusals)
        )


# --- what the schema knows ---------------------------------------------------------------------------


def _schema_facts(entity: Mapping[str, Any]) -> dict[str, schemas.Attribute]:
    entity_type = entity.get("type")
    if isinstance(entity_type, str) and entity_type in schemas.entity_types():
        return schemas.attributes(entity_type)
    return {}


def _declared_members(facts: Mapping[str, schemas.Attribute], name: str) -> frozenset[str]:
    attribute = facts.get(name)
    return attribute.member_names if attribute else frozenset()


def _type_name(member: dict[str, Any]) -> str | None:
    """A member's ``type`` when it is a string: a list or an object there is a mistake to report, and
    must not be looked up in a set (it is unhashable)."""
    kind = member.get("type")
    return kind if isinstance(kind, str) else None


def is_absolute_uri(value: Any) -> bool:
    return isinstance(value, str) and bool(_ABSOLUTE_URI.fullmatch(value))


def is_geojson_geometry(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and _type_name(value) in ngsild.GEOJSON_GEOMETRY_TYPES
        and ("coordinates" in value or "geometries" in value)
    )


def is_date_time_wrapper(value: Any) -> bool:
    """``{"@type": "DateTime", "@value": …}``: how NGSI-LD writes a date-time value, keyValues included."""
    return _is_date_time_wrapper(value)


def _is_date_time_wrapper(value: Any) -> bool:
    return isinstance(value, dict) and value.get("@type") == "DateTime" and "@value" in value


def _guess_kind(name: str, value: Any) -> str:
    """Kind of an attribute the schema does not describe (unknown type or undeclared attribute)."""
    if _REF_NAME.match(name) and (
        is_absolute_uri(value)
        or (isinstance(value, list) and value and all(is_absolute_uri(v) for v in value))
    ):
        return "Relationship"
    if name == "location" or is_geojson_geometry(value):
        return "GeoProperty"
    return "Property"


# --- the shape of one attribute as written -----------------------------------------------------------


def is_instance(member: Any) -> bool:
    """Normalized/concise attribute instance (an object typed with an NGSI-LD kind, or with a datasetId)."""
    return isinstance(member, dict) and (_type_name(member) in ATTRIBUTE_KINDS or "datasetId" in member)


def is_multi_instance(member: Any) -> bool:
    return isinstance(member, list) and bool(member) and all(is_instance(item) for item in member)


def attribute_kind(member: Any, declared: frozenset[str] = frozenset()) -> str | None:
    """The kind an attribute is written as (normalized or concise), or None when it is a keyValues value.

    ``declared`` are the member names the schema declares for the attribute's own object value: an
    object attribute that really has a ``value`` member is then read as keyValues, not as concise.
    """
    if not isinstance(member, dict):
        return None
    if _type_name(member) in ATTRIBUTE_KINDS:
        return member["type"]
    if "type" in member:
        # NGSI-LD: an object value with a `type` that is no kind is a keyValues value (e.g. GeoJSON).
        return None
    for value_member, kind in ngsild.CONCISE_KINDS.items():
        if value_member in member and value_member not in declared:
            if kind in _KEY_VALUES_WRAPPED and len(member) == 1:
                # `{"languageMap": {...}}` alone is already the keyValues form of a LanguageProperty.
                return None
            return kind
    if _is_date_time_wrapper(member):
        return "DateTime"
    return None


def _instance_key_value(member: Any, declared: frozenset[str]) -> Any:
    kind = attribute_kind(member, declared)
    if kind is None:
        return member
    if kind == "DateTime":
        return member["@value"]
    value_member = VALUE_MEMBER[kind]
    if value_member not in member:
        # Malformed (a Property without value...): leave it for the validator to report.
        return member
    value = member[value_member]
    if kind in _KEY_VALUES_WRAPPED:
        return {value_member: value}
    if kind == "ListRelationship" and isinstance(value, list):
        return [item.get("object", item) if isinstance(item, dict) else item for item in value]
    if _is_date_time_wrapper(value):
        return value["@value"]
    return value


def _attribute_key_value(member: Any, declared: frozenset[str]) -> Any:
    if is_multi_instance(member):
        # keyValues of a multi-attribute: {"dataset": {"@none": default, "<datasetId>": value, ...}}.
        dataset: dict[str, Any] = {}
        for item in member:
            dataset[str(item.get("datasetId", "@none"))] = _instance_key_value(item, declared)
        return {"dataset": dataset}
    return _instance_key_value(member, declared)


def key_values_datasets(value: Any, declared: frozenset[str] = frozenset()) -> dict[str, Any] | None:
    """The instances of a keyValues multi-attribute, ``{"dataset": {"@none": v, "<datasetId>": v2}}``
    (clause 4.5, simplified representation), by dataset id; None for any other value, and for an object
    value whose schema declares a ``dataset`` member of its own (``declared``)."""
    if (
        isinstance(value, dict)
        and len(value) == 1
        and isinstance(value.get("dataset"), dict)
        and "dataset" not in declared
    ):
        return value["dataset"]  # type: ignore[no-any-return]
    return None


def original_path(entity: Mapping[str, Any], path: Sequence[PathPart]) -> list[PathPart]:
    """Map a path in ``to_key_values(entity)`` back to the path of the same value in ``entity``.

    This is how a schema error found on the keyValues reduction points at ``/attr/value/...`` or
    ``/attr/object`` in the document the user wrote.
    """
    path = list(path)
    if not path or not isinstance(path[0], str) or path[0] in ENTITY_MEMBERS:
        return path
    name, rest = path[0], path[1:]
    if name not in entity:
        return path
    member = entity[name]
    declared = _declared_members(_schema_facts(entity), name)
    if is_multi_instance(member):
        if len(rest) >= 2 and rest[0] == "dataset":
            for index, item in enumerate(member):
                if str(item.get("datasetId", "@none")) == rest[1]:
                    return [name, index, *_instance_path(item, rest[2:], declared)]
        return path
    return [name, *_instance_path(member, rest, declared)]


def instance_key_value(entity: Mapping[str, Any], name: str, index: int) -> Any:
    """keyValues value of one instance of a multi-instance attribute (``entity[name][index]``).

    The keyValues form of the whole attribute, ``{"dataset": {...}}``, is no value a schema describes:
    each instance is validated on its own, with this value.
    """
    return _instance_key_value(entity[name][index], _declared_members(_schema_facts(entity), name))


def key_values_instances(entity: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    """The instances of ``entity[name]`` when it is a keyValues multi-attribute (``{"dataset": {...}}``),
    by dataset id; None otherwise. Each is validated on its own, as the instances of a normalized one."""
    return key_values_datasets(entity.get(name), _declared_members(_schema_facts(entity), name))


def instance_original_path(
    entity: Mapping[str, Any], name: str, index: int, rest: Sequence[PathPart]
) -> list[PathPart]:
    """Path in ``entity`` of what lies at ``rest`` in :func:`instance_key_value` of that instance."""
    declared = _declared_members(_schema_facts(entity), name)
    return [name, index, *_instance_path(entity[name][index], list(rest), declared)]


def _instance_path(member: Any, rest: list[PathPart], declared: frozenset[str]) -> list[PathPart]:
    kind = attribute_kind(member, declared)
    if kind is None:
        return rest
    if kind == "DateTime":
        return ["@value", *rest]
    value_member = VALUE_MEMBER[kind]
    if value_member not in member:
        return rest
    if kind in _KEY_VALUES_WRAPPED:
        return rest  # the keyValues form keeps the value member: same path
    if kind == "ListRelationship" and rest and isinstance(rest[0], int):
        item = member[value_member][rest[0]] if rest[0] < len(member[value_member]) else None
        if isinstance(item, dict) and "object" in item:
            return [value_member, rest[0], "object", *rest[1:]]
    if not rest and _is_date_time_wrapper(member[value_member]):
        return [value_member, "@value"]
    return [value_member, *rest]


# --- public conversions ------------------------------------------------------------------------------


def to_key_values(entity: dict[str, Any]) -> dict[str, Any]:
    """NGSI-LD normalized or concise (or already keyValues) -> keyValues.

    Property/GeoProperty -> value (DateTime objects unwrapped to their string), Relationship -> object,
    LanguageProperty -> ``{"languageMap": ...}`` kept as is, multi-instance -> ``{"dataset": {...}}``.
    Sub-attributes and metadata (observedAt, unitCode, ...) are dropped: keyValues cannot carry them.
    Members already in keyValues form stay as they are.
    """
    facts = _schema_facts(entity)
    result: dict[str, Any] = {}
    for name, member in entity.items():
        if name in ENTITY_MEMBERS:
            result[name] = member
        else:
            result[name] = _attribute_key_value(member, _declared_members(facts, name))
    return result


def _wrap(kind: str, value: Any, *, date_time: bool) -> dict[str, Any]:
    if kind == "Relationship":
        return {"type": "Relationship", "object": value}
    if kind == "GeoProperty":
        return {"type": "GeoProperty", "value": value}
    if isinstance(value, dict) and len(value) == 1 and "languageMap" in value:
        return {"type": "LanguageProperty", "languageMap": value["languageMap"]}
    if date_time and isinstance(value, str):
        return {"type": "Property", "value": {"@type": "DateTime", "@value": value}}
    return {"type": "Property", "value": value}


def to_normalized(entity: dict[str, Any], *, context: str | list[Any] | None = None) -> dict[str, Any]:
    """keyValues -> NGSI-LD normalized, the kind of each attribute taken from the schema of its type.

    ``context`` becomes the ``@context`` member (placed last); without it an existing ``@context`` is kept.
    """
    facts = _schema_facts(entity)
    result: dict[str, Any] = {}
    existing_context = entity.get("@context")
    for name, value in entity.items():
        if name == "@context":
            continue
        if name in ENTITY_MEMBERS:
            result[name] = value
            continue
        attribute = facts.get(name)
        kind = attribute.kind if attribute else _guess_kind(name, value)
        date_time = bool(attribute and attribute.date_time)
        datasets = key_values_datasets(value, attribute.member_names if attribute else frozenset())
        if datasets is not None:
            instances = []
            for dataset_id, item in datasets.items():
                instance = _wrap(kind, item, date_time=date_time)
                if dataset_id != "@none":
                    instance["datasetId"] = dataset_id
                instances.append(instance)
            result[name] = instances
        else:
            result[name] = _wrap(kind, value, date_time=date_time)
    if context is not None:
        result["@context"] = context
    elif existing_context is not None:
        result["@context"] = existing_context
    return result


def _ngsiv2_type(value: Any, attribute: schemas.Attribute | None, name: str) -> str:
    kind = attribute.kind if attribute else _guess_kind(name, value)
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int | float):
        return "Number"
    if isinstance(value, str):
        if attribute and attribute.date_time:
            return "DateTime"
        # NGSI-v2 has no Relationship type; SDM reviewers ask for URI for references (and URLs).
        if NGSIV2_FORBIDDEN.search(value):
            return "TextUnrestricted"  # the only type whose strings may hold them
        if kind == "Relationship" or (attribute and attribute.uri):
            return "URI"
        return "Text"
    if kind == "GeoProperty" or is_geojson_geometry(value):
        return "geo:json"
    return "StructuredValue"


_V2_FORBIDDEN_REASON = "NGSI-v2 forbids the characters < > \" ' = ; ( ) in"


def _forbidden_strings(value: Any, path: tuple[PathPart, ...]) -> list[tuple[tuple[PathPart, ...], str]]:
    """(path, text) of every string at any depth of ``value`` that holds a character NGSI-v2 forbids."""
    found = []
    stack: list[tuple[tuple[PathPart, ...], Any]] = [(path, value)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, str):
            if NGSIV2_FORBIDDEN.search(node):
                found.append((where, node))
        elif isinstance(node, dict):
            stack.extend(((*where, key), item) for key, item in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend(((*where, index), item) for index, item in reversed(list(enumerate(node))))
    return found


def _characters(texts: Sequence[str]) -> str:
    return " ".join(dict.fromkeys(NGSIV2_FORBIDDEN.findall("".join(texts))))


def _v2_name_refusals(entity: Mapping[str, Any]) -> list[Refusal]:
    """NGSI-v2 refuses the forbidden characters in ids, types and attribute names, with no exemption."""
    refusals: list[Refusal] = []
    for member, what in (("id", "entity ids"), ("type", "entity types")):
        text = entity.get(member)
        if isinstance(text, str) and NGSIV2_FORBIDDEN.search(text):
            refusals.append(([(member,)], f"{_V2_FORBIDDEN_REASON} {what}: found {_characters([text])}"))
    names = [name for name in entity if name not in ENTITY_MEMBERS and NGSIV2_FORBIDDEN.search(name)]
    if names:
        refusals.append(([(n,) for n in names], f"{_V2_FORBIDDEN_REASON} attribute names"))
    return refusals


def _v2_single_value(name: str, value: Any, declared: frozenset[str]) -> tuple[Any, Refusal | None]:
    """The one value NGSI-v2 can hold for an attribute. NGSI-v2 has no multi-instance attributes: only a
    lone default instance (no datasetId) converts, as its value; dropping instances would lose data."""
    datasets = key_values_datasets(value, declared)
    if datasets is None:
        return value, None
    if list(datasets) == ["@none"]:
        return datasets["@none"], None
    instances = ", ".join(
        "no datasetId" if dataset_id == "@none" else f"datasetId {dataset_id}" for dataset_id in datasets
    )
    reason = (
        f"attribute {name!r} is a multi-instance attribute ({instances}): NGSI-v2 has none, and one "
        "plain value would drop instances or their datasetId"
    )
    return value, ([(name,)], reason)


def to_ngsiv2_normalized(entity: dict[str, Any]) -> dict[str, Any]:
    """keyValues (or NGSI-LD) -> NGSI-v2 normalized: ``{"type": <v2 type>, "value": v}`` per attribute.

    Raises :class:`ConversionError` for what NGSI-v2 cannot hold: a multi-instance attribute, or a
    character NGSI-v2 forbids anywhere but in an attribute whose value is one string (``TextUnrestricted``
    exempts only such a value: an object or array holding one has no v2 type that allows it).
    """
    key_values = to_key_values(entity)
    facts = _schema_facts(key_values)
    refusals = _v2_name_refusals(key_values)
    result: dict[str, Any] = {}
    for name, value in key_values.items():
        if name == "@context":
            continue  # NGSI-v2 has no JSON-LD
        if name in ENTITY_MEMBERS:
            result[name] = value
            continue
        value, refusal = _v2_single_value(name, value, _declared_members(facts, name))
        if refusal is not None:
            refusals.append(refusal)
            continue
        v2_type = _ngsiv2_type(value, facts.get(name), name)
        found = [] if isinstance(value, str) else _forbidden_strings(value, (name,))
        if found:
            reason = (
                f"{_V2_FORBIDDEN_REASON} string values: found {_characters([t for _, t in found])} in "
                f"attribute {name!r}, a {v2_type}; TextUnrestricted exempts only an attribute whose value "
                "is one string, so this value cannot be written in NGSI-v2"
            )
            refusals.append(([path for path, _ in found], reason))
        result[name] = {"type": v2_type, "value": value}
    if refusals:
        raise ConversionError(refusals)
    return result


_NGSIV2_MEMBERS = frozenset({"type", "value", "metadata"})


def is_ngsiv2_attribute(member: Any) -> bool:
    """``{"type": "Text", "value": ...[, "metadata": {...}]}`` with a type that is no NGSI-LD kind."""
    return (
        isinstance(member, dict)
        and "value" in member
        and isinstance(member.get("type"), str)
        and member["type"] not in ATTRIBUTE_KINDS
        and set(member) <= _NGSIV2_MEMBERS
    )


def from_ngsiv2_normalized(entity: dict[str, Any]) -> dict[str, Any]:
    """NGSI-v2 normalized -> keyValues: each attribute's ``value`` (metadata dropped)."""
    return {
        name: member["value"] if name not in ENTITY_MEMBERS and is_ngsiv2_attribute(member) else member
        for name, member in entity.items()
    }


# --- form detection: an ordered list of recognisers, first match wins --------------------------------


def _written_typed(member: Any) -> bool:
    """An attribute written with a ``type`` member (its instances, for a list): what normalized form does for
    every attribute, and concise form may do for some (a wrong kind still counts: it is a normalized typo)."""
    if isinstance(member, list):
        return bool(member) and all(isinstance(item, dict) and "type" in item for item in member)
    return isinstance(member, dict) and "type" in member


def _looks_normalized(entity: Mapping[str, Any]) -> bool:
    """Some attribute is an NGSI-LD instance and every attribute is written typed. An entity that mixes
    typed and bare attributes is concise (clause 4.5.3 lets concise form keep the type of some)."""
    some_instance = False
    for name, member in entity.items():
        if name in ENTITY_MEMBERS:
            continue
        if not _written_typed(member):
            return False  # a keyValues entity, at its first bare value
        some_instance = some_instance or is_instance(member) or is_multi_instance(member)
    return some_instance


# NGSI-v2 attribute types (NGSI-v2 specification, "Special attribute types", and the SDM rules).
NGSIV2_TYPES = frozenset(
    {
        "Text",
        "TextUnrestricted",
        "URI",
        "DateTime",
        "Number",
        "Integer",
        "Float",
        "Boolean",
        "StructuredValue",
        "None",
        "geo:json",
        "geo:point",
        "geo:line",
        "geo:box",
        "geo:polygon",
    }
)


def _ngsiv2_like(member: Any, declared: frozenset[str]) -> bool:
    """Written as an NGSI-v2 attribute, maybe a broken one (a v2 type without value, an extra member...)."""
    if not isinstance(member, dict) or "value" in declared:
        return False  # the schema says the attribute's own value has a `value` member: keyValues
    kind = _type_name(member)
    if kind is None or kind in ATTRIBUTE_KINDS:
        return False
    return "value" in member or kind in NGSIV2_TYPES


def _kind_outside_ngsild(member: Any) -> bool:
    """An object whose ``type`` is a string but no NGSI-LD attribute kind."""
    if not isinstance(member, dict):
        return False
    kind = member.get("type")
    return isinstance(kind, str) and kind not in ATTRIBUTE_KINDS


def _looks_ngsiv2(entity: Mapping[str, Any]) -> bool:
    # One keyValues object attribute with type+value is not enough: at least half of the attributes must
    # be written the NGSI-v2 way (one of them completely), so that an NGSI-v2 entity with a broken
    # attribute is still read as NGSI-v2 and the broken attribute reported, not every other one.
    if "@context" in entity or not any(isinstance(m, dict) and "type" in m for m in entity.values()):
        return False  # no object with a type: nothing written the NGSI-v2 way
    attributes = [(name, member) for name, member in entity.items() if name not in ENTITY_MEMBERS]
    # An NGSI-LD attribute is no NGSI-v2 one whatever its schema says: the cheap test first.
    candidates = [(name, member) for name, member in attributes if _kind_outside_ngsild(member)]
    if not candidates:
        return False
    facts = _schema_facts(entity)
    like = [member for name, member in candidates if _ngsiv2_like(member, _declared_members(facts, name))]
    if not like:
        return False
    # More NGSI-v2 attributes than NGSI-LD ones: an NGSI-v2 entity with an NGSI-LD type written by mistake.
    instances = sum(1 for _, member in attributes if is_instance(member) or is_multi_instance(member))
    return (
        bool(like)
        and 2 * len(like) >= len(attributes)
        and len(like) > instances
        and any(map(is_ngsiv2_attribute, like))
    )


# Later forms (concise, GeoJSON...) slot in here, before the keyValues catch-all.
def _looks_concise(entity: Mapping[str, Any]) -> bool:
    """Some attribute is written as a concise NGSI-LD attribute (``{"object": …}``, ``{"value": …}`` with
    sub-attributes, ``{"languageMap": …}`` with more members), not as a bare keyValues value."""
    facts = _schema_facts(entity)
    return any(
        attribute_kind(member, _declared_members(facts, name)) not in (None, "DateTime")
        for name, member in entity.items()
        if isinstance(member, dict) and name not in ENTITY_MEMBERS  # only objects have a kind
    )


def _looks_ngsiv2_key_values(entity: Mapping[str, Any]) -> bool:
    """keyValues whose id is no URI and that has no ``@context``: NGSI-LD requires a URI id (clause 4.5.1),
    NGSI-v2 does not (``MLModel.01``). keyValues with a URI id and no ``@context`` reads the same in both
    and is taken for NGSI-LD, as a broker's keyValues output is (``--form ngsiv2-keyValues`` forces v2)."""
    entity_id = entity.get("id")
    return "@context" not in entity and isinstance(entity_id, str) and not is_absolute_uri(entity_id)


FORM_DETECTORS: list[tuple[str, Callable[[Mapping[str, Any]], bool]]] = [
    (NGSIV2_NORMALIZED, _looks_ngsiv2),
    (NORMALIZED, _looks_normalized),
    (CONCISE, _looks_concise),
    (NGSIV2_KEY_VALUES, _looks_ngsiv2_key_values),
    (KEY_VALUES, lambda entity: True),
]
FORMS = (NORMALIZED, CONCISE, KEY_VALUES, NGSIV2_NORMALIZED, NGSIV2_KEY_VALUES)


def canonical_form(form: str) -> str:
    """A form name as :data:`FORMS` spells it (``ngsiv2`` -> ``ngsiv2-normalized``); others unchanged."""
    return FORM_ALIASES.get(form, form)


# --- what a file name says (the Smart Data Models example files) ---------------------------------------

# example.json: NGSI-v2 keyValues; example-normalized.json: NGSI-v2 normalized; example.jsonld: NGSI-LD
# keyValues (or concise); example-normalized.jsonld: NGSI-LD normalized. Other names say nothing, except
# a stem ending in "normalized", "keyValues" or "concise" (after '-', '_' or '.').
_NAMED_STEM = re.compile(r"(?:.*[-_.])?(normalized|keyvalues|concise)", re.IGNORECASE)


def form_named_by(file_name: str) -> str | None:
    """The form a file name announces by the Smart Data Models convention, or None."""
    base = file_name.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, suffix = base.rpartition(".")
    if not dot or suffix.lower() not in ("json", "jsonld"):
        return None
    linked_data = suffix.lower() == "jsonld"
    match = _NAMED_STEM.fullmatch(stem)
    if stem.lower() == "example":
        shape = "keyvalues"
    elif match:
        shape = match.group(1).lower()
    else:
        return None
    if shape == "normalized":
        return NORMALIZED if linked_data else NGSIV2_NORMALIZED
    if shape == "concise":
        return CONCISE if linked_data else None
    return KEY_VALUES if linked_data else NGSIV2_KEY_VALUES


def name_allows(named: str, detected: str, entity: Mapping[str, Any]) -> bool:
    """Whether an entity detected in ``detected`` form fits a file named for ``named``.

    keyValues without ``@context`` and with a URI id reads the same in NGSI-LD and NGSI-v2, so it fits a
    name of either; an NGSI-LD keyValues file may be concise (the Smart Data Models ``example.jsonld``).
    """
    if named == detected:
        return True
    if named == NGSIV2_KEY_VALUES:
        return detected == KEY_VALUES and "@context" not in entity
    if named == KEY_VALUES:
        return detected == CONCISE
    if named == CONCISE:
        return detected == KEY_VALUES  # concise with only plain values is keyValues
    return False


def detect_form(entity: Mapping[str, Any]) -> str:
    """The first form of :data:`FORM_DETECTORS` the entity looks like; NGSI-LD keyValues in the end."""
    for form, recognises in FORM_DETECTORS:
        if recognises(entity):
            return form
    return KEY_VALUES
