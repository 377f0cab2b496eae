"""NGSI-LD vocabulary (ETSI GS CIM 009): attribute kinds and value members, system members, NGSI-LD Null.

One copy for everything that reads or writes NGSI-LD: the form conversions and the validator
(:mod:`sdmtool.forms`, :mod:`sdmtool.validate`), the ``q`` evaluator (:mod:`sdmtool.query`) and the embedded
broker (:mod:`reference_runtime.broker`). Where those deliberately differ (the validator accepts the older
kind names of :data:`KIND_ALIASES`, the broker does not; the broker is stricter about URIs than the
validator) the difference is made, and said, where it is used; this module holds the vocabulary itself.
"""

from __future__ import annotations

import re

# --- attributes (clause 4.5) -----------------------------------------------------------------------------

# Attribute kind -> the member that carries its value. The broker lists the kinds in this order in its error
# messages, and tries the value members of a concise body in this order.
VALUE_MEMBERS: dict[str, str] = {
    "Property": "value",
    "GeoProperty": "value",
    "Relationship": "object",
    "LanguageProperty": "languageMap",
    "JsonProperty": "json",
    "VocabProperty": "vocab",
    "ListProperty": "valueList",
    "ListRelationship": "objectList",
}
# The value members; an attribute instance has exactly one of them, the one of its kind.
VALUE_MEMBER_NAMES = frozenset(VALUE_MEMBERS.values())

# Earlier names of a kind -> its current name: "VocabularyProperty" is the 1.7 name of VocabProperty.
# The validator and the form conversions accept them; the broker does not.
KIND_ALIASES: dict[str, str] = {"VocabularyProperty": "VocabProperty"}

# Concise form: without a ``type``, the value member present says what the attribute is (a Property whose
# value is a GeoJSON geometry being a GeoProperty). The order decides only for an invalid attribute with
# several value members; the validator and the ``q`` evaluator try them in this one.
CONCISE_KINDS: dict[str, str] = {
    "value": "Property",
    "object": "Relationship",
    "languageMap": "LanguageProperty",
    "valueList": "ListProperty",
    "objectList": "ListRelationship",
    "json": "JsonProperty",
    "vocab": "VocabProperty",
}

# Kinds whose keyValues form keeps the value member (``{"languageMap": {...}}``): the bare value would read
# as another kind's.
KEY_VALUES_WRAPPED = frozenset({"LanguageProperty", "JsonProperty", "VocabProperty"})

# --- members that are not attributes ---------------------------------------------------------------------

# System-generated temporal members of entities, attribute instances and subscriptions (clause 4.8).
SYSTEM_TIMESTAMPS = frozenset({"createdAt", "modifiedAt", "deletedAt"})
# Members of an entity as written that are not attributes.
ENTITY_MEMBERS = frozenset({"id", "type", "@context", "scope"}) | SYSTEM_TIMESTAMPS
# Members of an attribute instance that are neither its value nor a sub-attribute.
INSTANCE_META_MEMBERS = frozenset({"observedAt", "unitCode", "datasetId", "objectType", "valueType"})
INSTANCE_SYSTEM_MEMBERS = SYSTEM_TIMESTAMPS | {"instanceId"}

# --- values ----------------------------------------------------------------------------------------------

# NGSI-LD Null: written in an update, it deletes the attribute it stands for; it is never a value.
NGSI_NULL = "urn:ngsi-ld:null"

# The geometry types of GeoJSON (RFC 7946 3.1), the values of a GeoProperty (clause 4.7).
GEOJSON_GEOMETRY_TYPES = frozenset(
    {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection"}
)

# Start of an absolute URI (an entity id, a datasetId, a Relationship's object): a scheme and ':' (RFC 3986
# 3.1). What may follow is each user's own rule.
URI_SCHEME = r"[A-Za-z][A-Za-z0-9+.\-]*:"

# --- type selections (clause 4.17) ---------------------------------------------------------------

_TYPE_TOKEN = re.compile(r"[|,;()]|[^|,;()\s]+")
_TYPE_OPERATORS = frozenset("|,;()")
# (A|B);(C|D);... multiplies the groups: bounded, as a broker bounds them.
_MAX_TYPE_GROUPS = 256
_MAX_TYPE_NAMES = 10_000


def parse_type_selection(text: str) -> list[list[str]]:
    """A type selection (clause 4.17) -> the groups of types an entity must all have, one group sufficing:
    ``A;(B|C)`` -> ``[["A", "B"], ["A", "C"]]``. ``;`` (all of) binds tighter than ``|`` and ``,`` (any of).
    Raises ValueError saying what is wrong."""
    tokens = _TYPE_TOKEN.findall(text)
    at = 0

    def peek() -> str | None:
        return tokens[at] if at < len(tokens) else None

    def bounded(groups: list[list[str]]) -> list[list[str]]:
        if len(groups) > _MAX_TYPE_GROUPS:
            raise ValueError(f"more than {_MAX_TYPE_GROUPS} alternatives")
        return groups

    def any_of(depth: int) -> list[list[str]]:
        nonlocal at
        groups = all_of(depth)
        while peek() in ("|", ","):
            at += 1
            groups = bounded(groups + all_of(depth))
        return groups

    def all_of(depth: int) -> list[list[str]]:
        nonlocal at
        groups = operand(depth)
        while peek() == ";":
            at += 1
            right = operand(depth)
            # Bounded before the product is built: its size is known from the factors.
            bounded([[]] * (len(groups) * len(right)))
            names = len(right) * sum(map(len, groups)) + len(groups) * sum(map(len, right))
            if names > _MAX_TYPE_NAMES:
                raise ValueError(f"more than {_MAX_TYPE_NAMES} type names once expanded")
            groups = [[*left, *more] for left in groups for more in right]
        return groups

    def operand(depth: int) -> list[list[str]]:
        nonlocal at
        token = peek()
        if token is None:
            raise ValueError("a type name is missing at the end")
        at += 1
        if token == "(":
            if depth >= 32:
                raise ValueError("parentheses nested too deeply")
            groups = any_of(depth + 1)
            if peek() != ")":
                raise ValueError("a '(' is not closed")
            at += 1
            return groups
        if token in _TYPE_OPERATORS:
            raise ValueError(f"a type name is missing before {token!r}")
        return [[token]]

    groups = any_of(0)
    if peek() is not None:
        raise ValueError(f"unexpected {peek()!r}")
    return [list(dict.fromkeys(group)) for group in groups]
