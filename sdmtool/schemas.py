"""Bundled JSON Schemas: loading, an offline ``$ref`` registry, cached validators and derived facts.

Everything that depends on "what does the model say about attribute X" (NGSI-LD kind, date-time,
JSON type) is derived here from the schemas, so that the form conversions and the build never carry a
hand-written list per model.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from sdmtool import resources

if TYPE_CHECKING:  # referencing does not re-export its Resolver class; only annotations need it
    from referencing._core import Resolver

KIND_PROPERTY = "Property"
KIND_RELATIONSHIP = "Relationship"
KIND_GEOPROPERTY = "GeoProperty"
_KINDS = (KIND_PROPERTY, KIND_RELATIONSHIP, KIND_GEOPROPERTY)

# `id` and `type` are the entity's identity, not attributes: NGSI-LD never wraps them.
CORE_MEMBERS = frozenset({"id", "type", "@context"})

# The first piece of an SDM description ("Relationship. Model:'...'. Free text") names the kind.
_FIRST_PIECE = re.compile(r"^\s*([A-Za-z]+)\s*\.")


class UnknownEntityType(LookupError):
    """No bundled schema for this entity type."""


def _read_json(path: Any) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


@functools.cache
def entity_types() -> tuple[str, ...]:
    """Entity types with a bundled schema, sorted."""
    return tuple(resources.model_names())


@functools.cache
def load_schema(entity_type: str) -> dict[str, Any]:
    if entity_type not in entity_types():
        raise UnknownEntityType(entity_type)
    return _read_json(resources.schema_path(entity_type))


@functools.cache
def load_common_schema() -> dict[str, Any]:
    return _read_json(resources.common_schema_path())


@functools.cache
def registry() -> Registry:
    """Every bundled schema under its ``$id`` plus the common schema under its public URL.

    With no ``retrieve`` callable the registry cannot fetch anything: an unknown ``$ref`` fails loudly
    instead of silently going to the network.
    """
    resources_by_uri: list[tuple[str, Resource[Any]]] = [
        (
            resources.COMMON_SCHEMA_URL,
            Resource.from_contents(load_common_schema(), default_specification=DRAFT202012),
        )
    ]
    for entity_type in entity_types():
        schema = load_schema(entity_type)
        resource = Resource.from_contents(schema, default_specification=DRAFT202012)
        resources_by_uri.append((schema.get("$id") or resources.schema_path(entity_type).as_uri(), resource))
    return Registry().with_resources(resources_by_uri).crawl()


def _one_line(check: Callable[[object], bool]) -> Callable[[object], bool]:
    def checked(instance: object) -> bool:
        # The date-time and URI validators match with a regex ending in `$`, which also matches before a
        # final line break: "2026-11-20T09:30:00Z\n" would pass.
        if isinstance(instance, str) and instance.endswith("\n"):
            return False
        return check(instance)

    return checked


@functools.cache
def format_checker() -> FormatChecker:
    """Draft 2020-12 formats (date-time, uri, regex, ...) asserted rather than just annotated."""
    checker = FormatChecker(formats=())
    for name, (check, raises) in Draft202012Validator.FORMAT_CHECKER.checkers.items():
        # A regular expression may end with a line break; no value of the other formats does.
        checker.checkers[name] = (check if name == "regex" else _one_line(check), raises)
    return checker


def _ecma_pattern(pattern: str) -> str:
    """A JSON Schema ``pattern`` (ECMA-262) as a Python regex: there `$` matches only at the very end,
    whereas Python's `$` also matches before a final line break ("^[0-9a-f]{64}$" would accept a hash
    followed by a newline). Each `$` outside a character class becomes `\\Z`."""
    out: list[str] = []
    escaped = in_class = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "$":
            char = r"\Z"
        out.append(char)
    return "".join(out)


@functools.cache
def _compiled_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(_ecma_pattern(pattern))


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _compiled_pattern(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


# Draft 2020-12 with ECMA-262 semantics for `pattern`.
_Validator = validators.extend(Draft202012Validator, {"pattern": _pattern})


@functools.cache
def validator(entity_type: str) -> Draft202012Validator:
    """A compiled validator per type; building one costs more than validating an entity, hence the cache."""
    return schema_validator(load_schema(entity_type), registry())


def schema_validator(schema: dict[str, Any], schema_registry: Registry) -> Draft202012Validator:
    """A validator for any schema that checks as :func:`validator` does (formats, ECMA-262 patterns)."""
    return _Validator(schema, registry=schema_registry, format_checker=format_checker())


def resolve(node: dict[str, Any], resolver: Resolver[Any]) -> tuple[dict[str, Any], Resolver[Any]]:
    """Follow ``$ref`` chains and return the target with the resolver to use inside it."""
    hops = 0
    while isinstance(node, dict) and "$ref" in node and hops < 32:
        try:
            resolved = resolver.lookup(node["$ref"])
        except Unresolvable as error:  # pragma: no cover - the bundle is checked by the tests
            raise LookupError(f"unresolvable $ref {node['$ref']!r}") from error
        node, resolver = resolved.contents, resolved.resolver
        hops += 1
    return node, resolver


def _merged_properties(
    node: dict[str, Any], resolver: Resolver[Any], seen: frozenset[int] = frozenset()
) -> Iterator[tuple[str, dict[str, Any], Resolver[Any]]]:
    """(name, subschema, resolver for it) of the properties a schema node declares, through allOf and $ref.
    A node met again on the way down (an allOf that leads back to itself) adds nothing new: not followed."""
    node, resolver = resolve(node, resolver)
    if id(node) in seen or not isinstance(node, dict):
        return
    seen = seen | {id(node)}
    properties = node.get("properties")
    for name, sub in (properties if isinstance(properties, dict) else {}).items():
        yield name, sub, resolver
    parts = node.get("allOf")
    for part in parts if isinstance(parts, list) else ():
        yield from _merged_properties(part, resolver, seen)


def _schema_uri(entity_type: str) -> str:
    return load_schema(entity_type).get("$id") or resources.schema_path(entity_type).as_uri()


def _root_resolver(entity_type: str) -> Resolver[Any]:
    return registry().resolver(base_uri=_schema_uri(entity_type))


@dataclass(frozen=True)
class Attribute:
    """What the schema says about one top-level attribute, merged over every place that declares it."""

    name: str
    kind: str
    date_time: bool
    json_types: frozenset[str]
    uri: bool
    description: str
    member_names: frozenset[str] = frozenset()  # properties declared for an object value


def _description(node: dict[str, Any], resolver: Resolver[Any]) -> str:
    # A $ref sibling description wins (SDM puts the kind next to the $ref), then the target's.
    if isinstance(node.get("description"), str):
        return node["description"]
    target, _ = resolve(node, resolver)
    return target.get("description", "") if isinstance(target, dict) else ""


def kind_of_description(description: str) -> str | None:
    match = _FIRST_PIECE.match(description or "")
    if match and match.group(1) in _KINDS:
        return match.group(1)
    return None


def _json_types(node: dict[str, Any], resolver: Resolver[Any]) -> tuple[set[str], bool, bool]:
    """Declared JSON types, whether a string is a URI, whether it is a date-time (through anyOf/oneOf)."""
    node, resolver = resolve(node, resolver)
    types: set[str] = set()
    declared = node.get("type")
    if isinstance(declared, str):
        types.add(declared)
    elif isinstance(declared, list):
        types.update(t for t in declared if isinstance(t, str))
    uri = node.get("format") in {"uri", "iri"}
    date_time = node.get("format") == "date-time"
    for keyword in ("anyOf", "oneOf", "allOf"):
        for part in node.get(keyword) or ():
            sub_types, sub_uri, sub_dt = _json_types(part, resolver)
            types |= sub_types
            uri = uri or sub_uri
            date_time = date_time or sub_dt
    return types, uri, date_time


def _looks_geo(node: dict[str, Any], resolver: Resolver[Any]) -> bool:
    """GeoJSON geometries as SDM writes them (Location-Commons): alternatives typed Point, Polygon, ..."""
    node, resolver = resolve(node, resolver)
    for keyword in ("oneOf", "anyOf"):
        for part in node.get(keyword) or ():
            part, _ = resolve(part, resolver)
            geo_type = ((part.get("properties") or {}).get("type") or {}).get("enum") or ()
            if any(t in {"Point", "Polygon", "LineString", "MultiPolygon"} for t in geo_type):
                return True
    return False


@functools.cache
def attributes(entity_type: str) -> dict[str, Attribute]:
    """Every top-level attribute of the type (common ones included), ``id`` and ``type`` excluded."""
    return schema_attributes(load_schema(entity_type), _root_resolver(entity_type))


def schema_attributes(schema: dict[str, Any], root_resolver: Resolver[Any]) -> dict[str, Attribute]:
    """:func:`attributes` of any schema (one that is not bundled, say); ``root_resolver`` resolves its
    ``$ref``s."""
    found: dict[str, Attribute] = {}
    for name, sub, resolver in _merged_properties(schema, root_resolver):
        if name in CORE_MEMBERS:
            continue
        description = _description(sub, resolver)
        kind = kind_of_description(description) or KIND_PROPERTY
        if kind == KIND_PROPERTY and (name == "location" or _looks_geo(sub, resolver)):
            kind = KIND_GEOPROPERTY
        types, uri, date_time = _json_types(sub, resolver)
        previous = found.get(name)
        if previous is not None:
            # A later allOf branch refines an earlier one (the model overriding GSMA-Commons):
            # the more specific declaration wins, JSON types accumulate.
            types |= previous.json_types
        members = frozenset(member for member, _, _ in _merged_properties(sub, resolver))
        if previous is not None:
            members |= previous.member_names
        found[name] = Attribute(name, kind, date_time, frozenset(types), uri, description, members)
    return found


def attribute_kinds(entity_type: str) -> dict[str, str]:
    """Attribute name -> "Property" / "Relationship" / "GeoProperty", from the description grammar."""
    return {name: attr.kind for name, attr in attributes(entity_type).items()}


def date_time_attributes(entity_type: str) -> frozenset[str]:
    """Top-level attributes declared ``format: date-time`` (wrapped as DateTime in normalized form)."""
    return frozenset(name for name, attr in attributes(entity_type).items() if attr.date_time)


def iter_schema_nodes(entity_type: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every named property and every ``items`` node at any depth: (schema path, member name, node).

    The schema path is a readable pointer such as ``/metrics/items/metricName``; ``$ref`` targets are
    followed (the GSMA-Commons part is walked too), ``items`` nodes carry the name of their array.
    """
    seen: set[int] = set()

    def walk(
        node: Any, resolver: Resolver[Any], path: str, name: str
    ) -> Iterator[tuple[str, str, dict[str, Any]]]:
        if not isinstance(node, dict):
            return
        if "$ref" in node:
            target, target_resolver = resolve(node, resolver)
            if id(target) in seen:
                return
            seen.add(id(target))
            yield from walk(target, target_resolver, path, name)
            seen.discard(id(target))
        for sub_name, sub in (node.get("properties") or {}).items():
            sub_path = f"{path}/{sub_name}"
            yield sub_path, sub_name, sub
            yield from walk(sub, resolver, sub_path, sub_name)
        items = node.get("items")
        if isinstance(items, dict):
            items_path = f"{path}/items"
            yield items_path, name, items
            yield from walk(items, resolver, items_path, name)
        for keyword in ("allOf", "anyOf", "oneOf"):
            for index, part in enumerate(node.get(keyword) or ()):
                yield from walk(part, resolver, f"{path}/{keyword}/{index}", name)

    yield from walk(load_schema(entity_type), _root_resolver(entity_type), "", "")


def all_member_names(entity_type: str) -> set[str]:
    """Every property name the schema declares at any depth (what a JSON-LD context must cover)."""
    return {name for path, name, _ in iter_schema_nodes(entity_type) if not path.endswith("/items")}


def common_member_names() -> set[str]:
    """Names declared by the GSMA-Commons block every model pulls in."""
    commons = load_common_schema()["definitions"]["GSMA-Commons"]
    return set((commons.get("properties") or {}).keys())
