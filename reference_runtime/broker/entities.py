"""NGSI-LD entity representations (ETSI GS CIM 009 clause 4.5): reading request bodies, applying updates,
and writing the normalized, concise and keyValues forms.

Entities are stored *expanded and normalized*: ``type`` is a list of IRIs, every attribute is a list of
instances under its IRI, every sub-attribute an instance under its IRI, and each instance carries
``createdAt``/``modifiedAt``. Entity-level members keep their plain names (``id``, ``type``, ``scope``,
``expiresAt``, ``createdAt``, ``modifiedAt``); they never contain ':' while IRIs always do, so the two cannot
collide. Request bodies may be normalized or concise (``{"value": …}``, ``{"object": …}``, bare values).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from sdmtool.describe import show
from sdmtool.ngsild import (
    CONCISE_KINDS,
    ENTITY_MEMBERS,
    GEOJSON_GEOMETRY_TYPES,
    INSTANCE_META_MEMBERS,
    INSTANCE_SYSTEM_MEMBERS,
    KEY_VALUES_WRAPPED,
    NGSI_NULL,
    URI_SCHEME,
    VALUE_MEMBER_NAMES,
    VALUE_MEMBERS,
    parse_type_selection,
)

from .errors import bad_request

# The kinds are known by their current names only (VALUE_MEMBERS): unlike the validator, the broker refuses
# the older names of sdmtool.ngsild.KIND_ALIASES.

# showChanges: value member -> the member that carries the previous value.
_PREVIOUS = {
    "value": "previousValue",
    "object": "previousObject",
    "languageMap": "previousLanguageMap",
    "json": "previousJson",
    "vocab": "previousVocab",
    "valueList": "previousValueList",
    "objectList": "previousObjectList",
}
# Keys of a stored entity that are not attributes.
ENTITY_KEYS = frozenset({"id", "type", "scope", "expiresAt", "createdAt", "modifiedAt"})
_OUTPUT_ONLY = frozenset(_PREVIOUS.values())
_INSTANCE_KEYS = (
    frozenset({"type"}) | VALUE_MEMBER_NAMES | INSTANCE_META_MEMBERS | INSTANCE_SYSTEM_MEMBERS | _OUTPUT_ONLY
)
# Names that can never be attributes of an entity (clause 4.6.2 reserves the member names).
_RESERVED_ATTRIBUTE_NAMES = frozenset(
    {"id", "type", "scope", "@context", "@id", "@type"}
    | VALUE_MEMBER_NAMES
    | INSTANCE_META_MEMBERS
    | {"instanceId"}
)
_GEO_PROPERTY_NAMES = frozenset({"location", "observationSpace", "operationSpace"})
_FORBIDDEN_NAME_CHARS = re.compile(r"[<>\"'=;()\s]")
# Strict: none of the characters RFC 3986 excludes after the scheme (the validator takes any non-blank).
_URI_RE = re.compile(URI_SCHEME + r"[^\s<>\"{}|\\^`]+")
_MAX_SUB_ATTRIBUTE_DEPTH = 8


class TermMap(Protocol):
    def expand(self, name: str) -> str: ...

    def compact(self, iri: str) -> str: ...


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def is_uri(value: Any) -> bool:
    return isinstance(value, str) and _URI_RE.fullmatch(value) is not None


def is_datetime(value: Any) -> bool:
    if not isinstance(value, str) or "T" not in value:
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def is_geojson(value: Any) -> bool:
    if not isinstance(value, Mapping) or not isinstance(value.get("type"), str):
        return False
    if value["type"] not in GEOJSON_GEOMETRY_TYPES:
        return False
    if value["type"] == "GeometryCollection":
        return isinstance(value.get("geometries"), list)
    return isinstance(value.get("coordinates"), list)


def check_name(name: Any, where: str) -> str:
    if not isinstance(name, str) or not name:
        raise bad_request(f"{where}: names must be non-empty strings")
    bad = _FORBIDDEN_NAME_CHARS.search(name)
    if bad:
        raise bad_request(f"{where}: {name!r} contains the forbidden character {bad.group()!r}")
    return name


def is_attribute_key(key: str) -> bool:
    return key not in ENTITY_KEYS


# ---------------------------------------------------------------------------------------------------------
# Request bodies -> stored form


def parse_entity(body: Any, ctx: TermMap, now: str) -> dict[str, Any]:
    """A complete entity of a create/upsert/replace request, expanded and normalized."""
    if not isinstance(body, Mapping):
        raise bad_request("an entity must be a JSON object")
    entity_id = body.get("id")
    if entity_id is None:
        raise bad_request("the entity has no 'id'")
    if not is_uri(entity_id):
        raise bad_request(f"entity id {entity_id!r} is not an absolute URI")
    if entity_id == NGSI_NULL:
        raise bad_request(f"{NGSI_NULL} is the NGSI-LD Null, not an entity id")
    doc: dict[str, Any] = {"id": entity_id, "type": parse_types(body.get("type"), ctx)}
    if "scope" in body:
        scope = body["scope"]
        if not (
            isinstance(scope, str) or (isinstance(scope, list) and all(isinstance(s, str) for s in scope))
        ):
            raise bad_request("'scope' must be a string or an array of strings")
        doc["scope"] = scope
    if isinstance(body.get("expiresAt"), str):
        if not is_datetime(body["expiresAt"]):
            raise bad_request("'expiresAt' must be a date-time")
        doc["expiresAt"] = body["expiresAt"]
    for iri, instances in parse_fragment(body, ctx, allow_delete=False).items():
        assert instances is not None
        doc[iri] = [stamp(i, None, now) for i in instances]
    doc["createdAt"] = doc["modifiedAt"] = now
    return doc


def parse_types(raw: Any, ctx: TermMap) -> list[str]:
    if raw is None:
        raise bad_request("the entity has no 'type'")
    names = [raw] if isinstance(raw, str) else raw
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise bad_request("'type' must be a string or a non-empty array of strings")
    return list(dict.fromkeys(ctx.expand(check_name(n, "entity type")) for n in names))


def parse_fragment(
    body: Mapping[str, Any], ctx: TermMap, *, allow_delete: bool
) -> dict[str, list[Any] | None]:
    """The attributes of a body, by IRI; None marks an attribute to delete (NGSI-LD Null)."""
    attrs: dict[str, list[Any] | None] = {}
    for name, raw in body.items():
        if name in ENTITY_MEMBERS:
            # id, type and scope are the caller's; system members a client may send are ignored (as Orion-LD
            # drops them silently).
            continue
        if name == "expiresAt" and isinstance(raw, str):
            continue  # the entity-level member (1.9), handled by the caller
        where = f"attribute {name!r}"
        check_name(name, where)
        if name in _RESERVED_ATTRIBUTE_NAMES:
            raise bad_request(f"{where}: {name!r} is a reserved member name and cannot be an attribute")
        attrs[ctx.expand(name)] = parse_attribute(name, raw, ctx, where, allow_delete=allow_delete)
    return attrs


def parse_attribute(
    name: str, raw: Any, ctx: TermMap, where: str, *, allow_delete: bool = False, depth: int = 0
) -> list[dict[str, Any]] | None:
    if allow_delete and (raw is None or raw == NGSI_NULL or _is_null_instance(raw)):
        return None
    if raw is None:
        raise bad_request(f"{where}: null is not a valid attribute")
    if raw == NGSI_NULL:
        raise bad_request(f"{where}: {NGSI_NULL} (NGSI-LD Null) deletes an attribute; it is not a value")
    if isinstance(raw, list) and raw and all(_looks_like_instance(e) for e in raw):
        instances = [_parse_instance(name, e, ctx, where, depth) for e in raw]
        dataset_ids = [i.get("datasetId") for i in instances]
        if len(set(dataset_ids)) != len(dataset_ids):
            raise bad_request(f"{where}: instances of a multi-attribute need distinct datasetIds")
        return instances
    if isinstance(raw, Mapping):
        return [_parse_instance(name, raw, ctx, where, depth)]
    if name in _GEO_PROPERTY_NAMES:
        raise bad_request(f"{where}: must be a GeoProperty with a GeoJSON geometry value")
    return [{"type": "Property", "value": raw}]


def _is_null_instance(raw: Any) -> bool:
    """``{"value": "urn:ngsi-ld:null"}`` and the like: the normalized way to delete an attribute."""
    if not isinstance(raw, Mapping) or "datasetId" in raw:
        return False
    members = [m for m in VALUE_MEMBER_NAMES if m in raw]
    return len(members) == 1 and raw[members[0]] == NGSI_NULL


def _looks_like_instance(raw: Any) -> bool:
    if not isinstance(raw, Mapping):
        return False
    if "type" in raw:
        return isinstance(raw["type"], str) and raw["type"] in VALUE_MEMBERS
    return any(member in raw for member in VALUE_MEMBER_NAMES)


def _parse_instance(
    name: str, raw: Mapping[str, Any], ctx: TermMap, where: str, depth: int
) -> dict[str, Any]:
    kind = raw.get("type")
    if kind is not None and not isinstance(kind, str):
        raise bad_request(f"{where}: 'type' must be one of {', '.join(VALUE_MEMBERS)}, not {kind!r}")
    if kind is None:
        # Concise: the value member says the kind; the first present in the order of VALUE_MEMBERS, which
        # decides how a body with several is reported.
        for member in VALUE_MEMBERS.values():
            if member in raw:
                kind = CONCISE_KINDS[member]
                break
        else:
            # A concise compound value: the whole object is the value.
            if name in _GEO_PROPERTY_NAMES:
                raise bad_request(f"{where}: must be a GeoProperty with a GeoJSON geometry value")
            return {"type": "Property", "value": dict(raw)}
        if kind == "Property" and is_geojson(raw["value"]):
            kind = "GeoProperty"
    elif kind in GEOJSON_GEOMETRY_TYPES and is_geojson(raw):
        return {"type": "GeoProperty", "value": dict(raw)}  # concise GeoProperty written as bare GeoJSON
    elif kind not in VALUE_MEMBERS:
        raise bad_request(f"{where}: 'type' must be one of {', '.join(VALUE_MEMBERS)}, not {kind!r}")
    member = VALUE_MEMBERS[kind]
    if name in _GEO_PROPERTY_NAMES and kind != "GeoProperty":
        raise bad_request(f"{where}: must be a GeoProperty")
    if member not in raw:
        raise bad_request(f"{where}: a {kind} needs a '{member}' member")
    stray = [m for m in VALUE_MEMBER_NAMES if m in raw and m != member]
    if stray:
        raise bad_request(f"{where}: a {kind} cannot have {', '.join(repr(s) for s in sorted(stray))}")
    if raw[member] == NGSI_NULL:
        raise bad_request(f"{where}: {NGSI_NULL} (NGSI-LD Null) deletes an attribute; it is not a value")
    _check_value(kind, member, raw[member], where)
    instance: dict[str, Any] = {"type": kind, member: copy.deepcopy(raw[member])}
    for key, value in raw.items():
        if (
            key in ("type", member)
            or key in INSTANCE_SYSTEM_MEMBERS
            or key in _OUTPUT_ONLY
            or key == "@context"
        ):
            continue
        if key in INSTANCE_META_MEMBERS:
            _check_meta(kind, key, value, where)
            instance[key] = value
            continue
        sub_where = f"{where}, sub-attribute {key!r}"
        check_name(key, sub_where)
        if key in _RESERVED_ATTRIBUTE_NAMES:
            raise bad_request(f"{sub_where}: reserved member name")
        if depth >= _MAX_SUB_ATTRIBUTE_DEPTH:
            raise bad_request(f"{sub_where}: sub-attributes nested too deeply")
        sub = parse_attribute(key, value, ctx, sub_where, depth=depth + 1)
        assert sub is not None
        if len(sub) != 1:
            raise bad_request(f"{sub_where}: a sub-attribute cannot have several instances")
        instance[ctx.expand(key)] = sub[0]
    return instance


def _check_value(kind: str, member: str, value: Any, where: str) -> None:
    ok = True
    if kind == "Property" or kind == "JsonProperty":
        ok = value is not None
    elif kind == "GeoProperty":
        ok = is_geojson(value)
    elif kind == "Relationship":
        ok = is_uri(value) or (isinstance(value, list) and bool(value) and all(is_uri(v) for v in value))
    elif kind == "LanguageProperty":
        ok = (
            isinstance(value, Mapping)
            and bool(value)
            and all(
                isinstance(v, str) or (isinstance(v, list) and all(isinstance(s, str) for s in v))
                for v in value.values()
            )
        )
    elif kind == "VocabProperty":
        ok = isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))
    elif kind == "ListProperty":
        ok = isinstance(value, list)
    elif kind == "ListRelationship":
        ok = isinstance(value, list) and all(
            is_uri(v) or (isinstance(v, Mapping) and is_uri(v.get("object"))) for v in value
        )
    if not ok:
        expected = {
            "Property": "a non-null value",
            "JsonProperty": "a non-null JSON value",
            "GeoProperty": "a GeoJSON geometry",
            "Relationship": "an absolute URI",
            "LanguageProperty": "an object of language tag -> string",
            "VocabProperty": "a string or an array of strings",
            "ListProperty": "an array",
            "ListRelationship": "an array of URIs",
        }[kind]
        raise bad_request(f"{where}: '{member}' of a {kind} must be {expected}")


def _check_meta(kind: str, key: str, value: Any, where: str) -> None:
    if key == "observedAt" and not is_datetime(value):
        raise bad_request(f"{where}: 'observedAt' must be a date-time")
    if key == "unitCode" and (kind != "Property" or not isinstance(value, str)):
        raise bad_request(f"{where}: 'unitCode' must be a string on a Property")
    if key == "datasetId" and not is_uri(value):
        raise bad_request(f"{where}: 'datasetId' must be an absolute URI")
    if key == "objectType" and kind not in ("Relationship", "ListRelationship"):
        raise bad_request(f"{where}: 'objectType' belongs to relationships only")


# ---------------------------------------------------------------------------------------------------------
# Updates


def stamp(instance: dict[str, Any], previous: Mapping[str, Any] | None, now: str) -> dict[str, Any]:
    """Set the system timestamps of an instance (and its sub-attributes), keeping earlier createdAt."""
    stamped = dict(instance)
    stamped["createdAt"] = previous.get("createdAt", now) if previous else now
    stamped["modifiedAt"] = now
    for key, value in instance.items():
        if key not in _INSTANCE_KEYS and isinstance(value, dict):
            old_sub = previous.get(key) if previous else None
            stamped[key] = stamp(value, old_sub if isinstance(old_sub, Mapping) else None, now)
    return stamped


def strip_system(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: strip_system(v) for k, v in value.items() if k not in ("createdAt", "modifiedAt")}
    if isinstance(value, list):
        return [strip_system(v) for v in value]
    return value


def _instance_key(instance: Mapping[str, Any]) -> str | None:
    return instance.get("datasetId")


def _find(instances: list[dict[str, Any]], dataset_id: str | None) -> int:
    for index, instance in enumerate(instances):
        if _instance_key(instance) == dataset_id:
            return index
    return -1


class UpdateOutcome:
    """What an update did, in the shape of an NGSI-LD UpdateResult (clause 5.2.18)."""

    def __init__(self) -> None:
        self.updated: list[str] = []
        self.not_updated: list[tuple[str, str]] = []

    def result(self, ctx: TermMap) -> dict[str, Any]:
        return {
            "updated": [ctx.compact(i) for i in self.updated],
            "notUpdated": [{"attributeName": ctx.compact(i), "reason": r} for i, r in self.not_updated],
        }


def append_attributes(
    doc: dict[str, Any], fragment: Mapping[str, list[Any] | None], now: str, *, overwrite: bool = True
) -> tuple[dict[str, Any], UpdateOutcome]:
    """POST /entities/{id}/attrs: add attributes, replacing instances with the same datasetId."""
    new = copy.deepcopy(doc)
    outcome = UpdateOutcome()
    for iri, incoming in fragment.items():
        assert incoming is not None
        instances = new.setdefault(iri, [])
        for instance in incoming:
            index = _find(instances, _instance_key(instance))
            if index < 0:
                instances.append(stamp(instance, None, now))
            elif overwrite:
                instances[index] = stamp(instance, instances[index], now)
            else:
                outcome.not_updated.append((iri, "attribute already exists and noOverwrite was requested"))
                continue
        if not any(i == iri for i, _ in outcome.not_updated):
            outcome.updated.append(iri)
    new["modifiedAt"] = now
    return new, outcome


def update_attributes(
    doc: dict[str, Any], fragment: Mapping[str, list[Any] | None], now: str, *, append_missing: bool = False
) -> tuple[dict[str, Any], UpdateOutcome]:
    """PATCH /entities/{id}/attrs: replace existing attributes; unknown ones are reported (Orion-LD and the
    spec before 1.9.1) or appended (``append_missing``, the 1.9.1 text). NGSI-LD Null deletes."""
    new = copy.deepcopy(doc)
    outcome = UpdateOutcome()
    for iri, incoming in fragment.items():
        if incoming is None:
            if iri in new and is_attribute_key(iri):
                del new[iri]
                outcome.updated.append(iri)
            else:
                outcome.not_updated.append((iri, "attribute not found"))
            continue
        instances = new.get(iri)
        if instances is None and not append_missing:
            outcome.not_updated.append((iri, "attribute not found"))
            continue
        instances = new.setdefault(iri, [])
        missing = False
        for instance in incoming:
            index = _find(instances, _instance_key(instance))
            if index >= 0:
                instances[index] = stamp(instance, instances[index], now)
            elif append_missing:
                instances.append(stamp(instance, None, now))
            else:
                missing = True
        if missing:
            outcome.not_updated.append((iri, "no instance with that datasetId"))
        else:
            outcome.updated.append(iri)
    new["modifiedAt"] = now
    return new, outcome


def _merge_instance(old: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(old)
    if patch.get("type") != old.get("type"):
        for member in VALUE_MEMBER_NAMES:
            merged.pop(member, None)
    for key, value in patch.items():
        if key not in _INSTANCE_KEYS and isinstance(old.get(key), Mapping) and isinstance(value, Mapping):
            merged[key] = _merge_instance(old[key], value)
        else:
            merged[key] = value
    return merged


def merge_attributes(
    doc: dict[str, Any], fragment: Mapping[str, list[Any] | None], now: str
) -> tuple[dict[str, Any], UpdateOutcome]:
    """PATCH /entities/{id} (merge) and PATCH /entities/{id}/attrs/{attr}: merge members into existing
    instances, append new attributes, delete on NGSI-LD Null."""
    new = copy.deepcopy(doc)
    outcome = UpdateOutcome()
    for iri, incoming in fragment.items():
        if incoming is None:
            if new.pop(iri, None) is not None:
                outcome.updated.append(iri)
            continue
        instances = new.setdefault(iri, [])
        for instance in incoming:
            index = _find(instances, _instance_key(instance))
            if index < 0:
                instances.append(stamp(instance, None, now))
            else:
                merged = _merge_instance(instances[index], instance)
                instances[index] = stamp(merged, instances[index], now)
        outcome.updated.append(iri)
    new["modifiedAt"] = now
    return new, outcome


def changed_attributes(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> set[str]:
    """IRIs of attributes created or changed by a write; system timestamps do not count as a change, so
    writing the same value again changes nothing (and notifies nobody)."""
    changed = set()
    for key, instances in new.items():
        if not is_attribute_key(key):
            continue
        if old is None or key not in old:
            changed.add(key)
            continue
        before = sorted((strip_system(i) for i in old[key]), key=lambda i: str(i.get("datasetId")))
        after = sorted((strip_system(i) for i in instances), key=lambda i: str(i.get("datasetId")))
        if before != after:
            changed.add(key)
    return changed


# ---------------------------------------------------------------------------------------------------------
# Type selection (``type=`` of a query, ``entities[].type`` of a subscription; clause 4.17)


def parse_type_selector(text: str) -> list[list[str]]:
    """A type selection (clause 4.17, :func:`sdmtool.ngsild.parse_type_selection`) -> OR of AND-groups of
    checked type names; a 400 saying what is wrong otherwise."""
    try:
        groups = parse_type_selection(text)
    except ValueError as exc:
        raise bad_request(f"invalid entity type selection {show(text)}: {exc}") from None
    return [[check_name(name, "entity type") for name in group] for group in groups]


def types_match(entity_types: Collection[str], selector: Iterable[Iterable[str]]) -> bool:
    return any(all(t in entity_types for t in group) for group in selector)


# ---------------------------------------------------------------------------------------------------------
# Stored form -> response bodies


def render_entity(
    doc: Mapping[str, Any],
    ctx: TermMap,
    *,
    fmt: str = "normalized",
    attrs: Collection[str] | None = None,
    sys_attrs: bool = False,
    previous: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The entity in ``fmt`` (normalized, concise, keyValues), compacted with ``ctx``; ``attrs`` (IRIs)
    restricts the attributes; ``previous`` (the entity before the write) adds ``previousValue`` & co."""
    types = [ctx.compact(t) for t in doc["type"]]
    out: dict[str, Any] = {"id": doc["id"], "type": types[0] if len(types) == 1 else types}
    for key in ("scope", "expiresAt"):
        if key in doc:
            out[key] = doc[key]
    if sys_attrs:
        out["createdAt"] = doc["createdAt"]
        out["modifiedAt"] = doc["modifiedAt"]
    for iri, instances in doc.items():
        if not is_attribute_key(iri) or (attrs is not None and iri not in attrs):
            continue
        old = previous.get(iri) if previous is not None else None
        out[ctx.compact(iri)] = _render_attribute(instances, ctx, fmt, sys_attrs, old)
    return out


def _render_attribute(
    instances: list[dict[str, Any]], ctx: TermMap, fmt: str, sys_attrs: bool, old: list[Any] | None
) -> Any:
    if fmt == "keyValues":
        if len(instances) == 1:
            return _key_value(instances[0])
        return {"dataset": {i.get("datasetId", "@none"): _key_value(i) for i in instances}}
    rendered = []
    for instance in instances:
        before = None
        if old is not None:
            index = _find(old, _instance_key(instance))
            before = old[index] if index >= 0 else None
        rendered.append(_render_instance(instance, ctx, fmt, sys_attrs, before))
    return rendered[0] if len(rendered) == 1 else rendered


def _key_value(instance: Mapping[str, Any]) -> Any:
    kind = instance.get("type", "Property")
    member = VALUE_MEMBERS.get(kind, "value")
    value = instance.get(member)
    if kind in KEY_VALUES_WRAPPED:
        return {member: value}
    return value


def _render_instance(
    instance: Mapping[str, Any], ctx: TermMap, fmt: str, sys_attrs: bool, before: Mapping[str, Any] | None
) -> Any:
    out: dict[str, Any] = {}
    for key, value in instance.items():
        if key in ("createdAt", "modifiedAt"):
            if sys_attrs:
                out[key] = value
        elif key in _INSTANCE_KEYS:
            out[key] = value
        else:
            out[ctx.compact(key)] = _render_instance(value, ctx, fmt, sys_attrs, None)
    if before is not None:
        member = VALUE_MEMBERS.get(instance.get("type", ""), "value")
        if before.get(member) != instance.get(member) and member in before:
            out[_PREVIOUS[member]] = before[member]
    if fmt != "concise":
        return out
    kind = out.pop("type", "Property")
    if kind == "Property" and list(out) == ["value"]:
        value = out["value"]
        # A bare object or array of objects would read back as attributes, so those keep {"value": …}.
        ambiguous = isinstance(value, Mapping) or (
            isinstance(value, list) and any(isinstance(v, Mapping) for v in value)
        )
        if not ambiguous:
            return value
    return out
