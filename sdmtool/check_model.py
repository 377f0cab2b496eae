"""The Smart Data Models contribution rules, checked on a model folder or a whole subject folder.

A model folder holds ``schema.json`` and ``examples/`` with the four example forms; the files a submission
also needs (``notes.yaml``, ``ADOPTERS.yaml``) come at publication time. The rules follow the intent of the
twelve checks the Smart Data Models initiative runs on a contribution, without their known false positives:
descriptions are judged by parsing them, not by looking for words such as "missing" in messages (so an
attribute may be called ``missingValue``); a failed rule never hides another; multi-instance NGSI-LD
attributes are checked instance by instance; formats are asserted; every ``$ref`` is resolved offline
(the common Smart Data Models schema is bundled).

Every finding has a rule id from :data:`RULES` as its code, a severity, the file, line, column and a JSON
Pointer into the schema or the example. Exit codes follow :mod:`sdmtool.findings`: rule errors are 1, a file
that cannot be read or parsed is 2, a schema that cannot be used (an unresolvable ``$ref``, not a valid
JSON Schema) is 3.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin

from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from sdmtool import build, catalog, forms, ngsild, payload_rules, reader, schemas
from sdmtool.describe import show, type_name
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

# The validator's own pieces: NGSI-LD and NGSI-v2 shape checks, schema errors explained and mapped back to
# the paths as written. (By name: the package exports a function called `validate`.)
from sdmtool.validate import (
    PathTuple,
    Problem,
    _check_ngsiv2,
    _check_normalized,
    _explain,
    _hides_value,
    _leaf_message,
    _subscription_query_problems,
    dataset_problems,
    guarded_schema_problems,
)

Locator = Callable[[PathTuple], tuple[int | None, int | None]]

# Rule id -> (severity, what it checks). "error/warning" rules give warnings for the softer cases listed.
RULES: dict[str, tuple[str, str]] = {
    "sdm.files-present": ("error", "schema.json and the four examples exist (examples/ in lower case)."),
    "sdm.publication-files": (
        "warning",
        "notes.yaml and ADOPTERS.yaml (per model) and CONTRIBUTORS.yaml (per subject), which a submission "
        "needs, are missing.",
    ),
    "sdm.json-parse": ("error", "The JSON files parse strictly (no duplicate keys)."),
    "sdm.yaml-parse": ("error", "The YAML files parse (one document, safe loading, no duplicate keys)."),
    "sdm.yaml-structure": (
        "warning",
        "notes.yaml, ADOPTERS.yaml, CONTRIBUTORS.yaml and the subject notes have the expected keys (an "
        "ADOPTERS.yaml may be empty).",
    ),
    "sdm.schema-invalid": (
        "error",
        "schema.json is a valid JSON Schema 2020-12 without a $ref loop (exit code 3).",
    ),
    "sdm.ref-unresolved": ("error", "Every $ref resolves offline (exit code 3)."),
    "sdm.schema-metadata": (
        "error/warning",
        "Header: $schema, $schemaVersion, $id (unique in the subject), title, description, modelTags, "
        "type, required with id and type; warnings: $id layout, empty modelTags, derivedFrom, license, "
        "the type property's enum.",
    ),
    "sdm.description-grammar": (
        "error/warning",
        "Every property description at any depth (items, items.anyOf, $ref targets) follows the grammar (a "
        "boolean property or items schema has none); warnings: the kind not first, property-level "
        "anyOf/oneOf branches.",
    ),
    "sdm.string-structure": (
        "error",
        "No type: string with items or properties, anywhere (also where the $refs lead).",
    ),
    "sdm.array-object-structure": (
        "error",
        "Arrays have items; objects have properties, or additionalProperties to say they are free-form "
        "(also where the $refs lead).",
    ),
    "sdm.attribute-name": (
        "error/warning",
        "Names use the characters NGSI allows (error); warnings: a capital first letter, not camelCase, a "
        "top-level name that is an NGSI-LD member name.",
    ),
    "sdm.keyvalues-example": (
        "error/warning",
        "example.json and example.jsonld are one entity each and validate against the schema (formats "
        "asserted); example.jsonld has an @context and an absolute URI id; example.json uses NGSI-v2 "
        "identifiers; no JSON null or NGSI Null; a SubscriptionQuery follows the subscription rules (q).",
    ),
    "sdm.ngsiv2-example": (
        "error/warning",
        "example-normalized.json is NGSI-v2 normalized ({type, value}, NGSI-v2 types), follows the NGSI-v2 "
        "rules (characters, DateTime, geo:json, metadata) and its values validate against the schema (a "
        "SubscriptionQuery's the subscription rules too).",
    ),
    "sdm.ngsild-example": (
        "error/warning",
        "example-normalized.jsonld is NGSI-LD normalized (kinds as the descriptions say, multi-instance "
        "attributes too, no null, no double wrapping) with an @context, and its values validate against "
        "the schema (a SubscriptionQuery's the subscription rules too).",
    ),
    "sdm.example-keys-declared": (
        "error",
        "Every member of every example, at any depth, is declared in the schema (additionalProperties: true "
        "makes an object free-form).",
    ),
    "sdm.subject-files": (
        "error",
        "Subject level: notes_context.jsonld maps terms to absolute IRIs.",
    ),
}

SCHEMA_FILE = "schema.json"
EXAMPLES_DIR = "examples"
EXAMPLE_FILES = (
    build.EXAMPLE_SOURCE,  # NGSI-v2 keyValues
    build.EXAMPLE_NORMALIZED_V2,
    build.EXAMPLE_KEY_VALUES_LD,
    build.EXAMPLE_NORMALIZED_LD,
)
MODEL_YAML_FILES = ("notes.yaml", "ADOPTERS.yaml")
# The entity type held to the subscription rules of `validate` (sdmtool.subscription_checks).
SUBSCRIPTION_QUERY = "SubscriptionQuery"
CONTRIBUTORS_FILE = "CONTRIBUTORS.yaml"

_FORMS = {
    build.EXAMPLE_SOURCE: forms.KEY_VALUES,
    build.EXAMPLE_KEY_VALUES_LD: forms.KEY_VALUES,
    build.EXAMPLE_NORMALIZED_V2: forms.NGSIV2_NORMALIZED,
    build.EXAMPLE_NORMALIZED_LD: forms.NORMALIZED,
}
_EXAMPLE_RULES = {
    build.EXAMPLE_SOURCE: "sdm.keyvalues-example",
    build.EXAMPLE_KEY_VALUES_LD: "sdm.keyvalues-example",
    build.EXAMPLE_NORMALIZED_V2: "sdm.ngsiv2-example",
    build.EXAMPLE_NORMALIZED_LD: "sdm.ngsild-example",
}

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_SCHEMA_VERSION = re.compile(r"\d{1,2}\.\d{1,2}\.\d{1,2}")
_SDM_ID = re.compile(r"https://smart-data-models\.github\.io/dataModel\.([^/]+)/([^/]+)/schema\.json")

# The kinds check #4 accepts as a piece of a description, and the keyed pieces it parses.
DESCRIPTION_KINDS = ("Property", "GeoProperty", "Relationship", "LanguageProperty", "ListProperty")
_KEYED_PIECES = ("Model:", "Units:", "Enum:", "Privacy:", "Multilingual")
_MIN_DESCRIPTION = 15

# Names of NGSI (EntityIdentifierType in the common schema): the characters NGSI-v2 brokers accept.
_NAME_CHARACTERS = re.compile(r"[\w\-.{}$+*\[\]`|~^@!,:\\]+")
_MAX_NAME = 256
# Characters NGSI-v2 brokers refuse in ids, types and attribute names.
_NGSIV2_FORBIDDEN = frozenset("<>\"'=;()")
# Members of an NGSI-LD entity or attribute instance: an attribute of that name cannot be told apart.
_NGSI_LD_MEMBER_NAMES = (
    (ngsild.ENTITY_MEMBERS - {"id", "type"}) | ngsild.INSTANCE_META_MEMBERS | ngsild.VALUE_MEMBER_NAMES
) | ngsild.INSTANCE_SYSTEM_MEMBERS

# Expected keys of the YAML files (None: a list of mappings with these keys under the given member).
_NOTES_KEYS = ("notesHeader", "notesMiddle", "notesFooter", "notesReadme")
_SUBJECT_NOTES_KEYS = ("notesPrevious", "notesEnd")
_ADOPTER_KEYS = ("adopter", "description", "mail", "organization", "project", "comments", "startDate")
_CONTRIBUTOR_KEYS = ("name", "surname", "mail", "organization", "project", "comments", "year")

# Keywords whose value is a schema, a list of schemas or a map of schemas (JSON Schema 2020-12).
_SCHEMA_KEYWORDS = (
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
    "additionalItems",
)
_SCHEMA_LIST_KEYWORDS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_MAP_KEYWORDS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")


# --- results -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckedExample:
    """One example entity that was read: where it is and what it says it is."""

    source: str
    index: int | None
    entity_id: str | None
    entity_type: str | None
    form: str  # the form its file name says: keyValues, ngsiv2 (normalized) or normalized (NGSI-LD)


@dataclass
class ModelCheck:
    """Everything one run found, with what it read (for the reports' summaries)."""

    findings: list[Finding] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    examples: list[CheckedExample] = field(default_factory=list)
    models: int = 0


class _Collector:
    def __init__(self, result: ModelCheck) -> None:
        self.result = result

    def add(
        self,
        rule: str,
        severity: Severity,
        message: str,
        file: str | None,
        path: PathTuple = (),
        *,
        locate: Locator | None = None,
        position: tuple[int | None, int | None] | None = None,
        category: str = CATEGORY_ENTITY,
        entity: Any = None,
        form: str | None = None,
        index: int | None = None,
    ) -> None:
        line, column = position or (locate(path) if locate else (None, None))
        entity_id, entity_type = entity_identity(entity)
        self.result.findings.append(
            Finding(
                severity=severity,
                code=rule,
                message=message,
                file=file,
                line=line,
                column=column,
                json_path=reader.to_json_pointer(path),
                entity_id=entity_id,
                entity_type=entity_type,
                index=index,
                category=category,
            )
        )


# --- the description grammar -------------------------------------------------------------------------


def description_problems(description: Any) -> list[tuple[Severity, str]]:
    """What is wrong with a property description, by the Smart Data Models grammar.

    The description is split on ". " into pieces; one piece must be an NGSI kind (Property, Relationship,
    GeoProperty, LanguageProperty, ListProperty); keyed pieces are written ``Key:'value'`` with no space and
    end with the closing quote; at least 15 characters. A kind that is not the first piece is a warning:
    that is where sdmtool (and the maintainers' generators) read it.
    """
    if not isinstance(description, str):
        return [(ERROR, f"the description must be a string, got {show(description)}")]
    problems: list[tuple[Severity, str]] = []
    if len(description) < _MIN_DESCRIPTION:
        problems.append((ERROR, f"description {description!r} is shorter than {_MIN_DESCRIPTION} characters"))
    pieces = description.split(". ")
    kinds = [index for index, piece in enumerate(pieces) if piece in DESCRIPTION_KINDS]
    if not kinds:
        first = pieces[0].split(".")[0].strip()
        hint = ""
        if first.lower() in {kind.lower() for kind in DESCRIPTION_KINDS}:
            hint = f" (write {first[:1].upper() + first[1:]!r} followed by '. ')"
        problems.append(
            (
                ERROR,
                f"description {show(description)} names no NGSI kind: it must contain a piece "
                f"'Property', 'Relationship', 'GeoProperty', 'LanguageProperty' or 'ListProperty' followed "
                f"by '. '{hint}",
            )
        )
    elif kinds[0] != 0:
        problems.append(
            (WARNING, f"the kind {pieces[kinds[0]]!r} should be the first piece of the description")
        )
    for piece in pieces:
        key = next((key for key in _KEYED_PIECES if piece.startswith(key)), None)
        if key is None:
            continue
        if piece[len(key) : len(key) + 1] != "'" or not piece.endswith("'") or len(piece) < len(key) + 2:
            problems.append(
                (
                    ERROR,
                    f"the piece {show(piece)} must be written {key}'…': the quote right after "
                    f"{key!r}, no space, and nothing after the closing quote",
                )
            )
    return problems


# --- reading files -----------------------------------------------------------------------------------


@dataclass
class _JsonFile:
    name: str
    document: reader.SourceEntity  # the whole document, with its positions


def _read_json(path: Path, out: _Collector) -> _JsonFile | None:
    """A JSON file's document; parse errors and duplicate keys become ``sdm.json-parse`` findings."""
    name = str(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        out.add(
            "sdm.json-parse", ERROR, f"cannot read: {error.strerror or error}", name, category=CATEGORY_INPUT
        )
        return None
    out.result.inputs.append(name)
    # The document as written: an example or a schema that is an array is one (wrong) value, not several.
    item = reader.read_document(name, data)
    if isinstance(item, reader.ReadError):
        position = (item.line, item.column)
        out.add("sdm.json-parse", ERROR, item.message, name, position=position, category=CATEGORY_INPUT)
        return None
    for problem in item.problems:
        out.add(
            "sdm.json-parse",
            ERROR,
            problem.message,
            name,
            reader.parse_json_path(problem.json_path),
            position=(problem.line, problem.column),
        )
    return _JsonFile(name, item)


@dataclass
class _YamlFile:
    name: str
    value: Any
    locate: Locator


def _no_position(_path: PathTuple) -> tuple[int | None, int | None]:
    return None, None


def _is_empty_yaml(data: bytes) -> bool:
    """Nothing but white space, comments and one document start: YAML loads it as null (no document)."""
    lines = [line.strip() for line in data.decode("utf-8", "replace").splitlines()]
    content = [line for line in lines if line and not line.startswith("#")]
    return content in ([], ["---"])


def _read_yaml(path: Path, out: _Collector) -> _YamlFile | None:
    """One YAML document, read by the project's YAML reader (safe, JSON values only, with positions);
    syntax errors, several documents and repeated keys become ``sdm.yaml-parse`` findings."""
    name = str(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        message = f"cannot read: {error.strerror or error}"
        out.add("sdm.yaml-parse", ERROR, message, name, category=CATEGORY_INPUT)
        return None
    out.result.inputs.append(name)
    if _is_empty_yaml(data):
        return _YamlFile(name, None, _no_position)  # an empty file is valid YAML (it has no keys)
    documents: list[reader.SourceEntity] = []
    for item in reader.read_bytes(name, data):
        if isinstance(item, reader.ReadError):
            position = (item.line, item.column)
            out.add("sdm.yaml-parse", ERROR, item.message, name, position=position, category=CATEGORY_INPUT)
            return None
        for problem in item.problems:
            path_in = reader.parse_json_path(problem.json_path)
            position = (problem.line, problem.column)
            out.add("sdm.yaml-parse", ERROR, problem.message, name, path_in, position=position)
        documents.append(item)
    if any(document.document is not None for document in documents):
        message = "one YAML document is expected, not several (separated by ---)"
        out.add("sdm.yaml-parse", ERROR, message, name, position=(1, 1), category=CATEGORY_INPUT)
        return None
    if len(documents) != 1 or documents[0].index is not None:  # a list at the top
        locate = documents[0].locate if documents else _no_position
        return _YamlFile(name, [document.value for document in documents], locate)
    return _YamlFile(name, documents[0].value, documents[0].locate)


# --- the YAML files' structure -----------------------------------------------------------------------


def _check_keys(
    document: _YamlFile,
    mapping: Any,
    path: PathTuple,
    expected: tuple[str, ...],
    out: _Collector,
    *,
    required: bool,
    what: str,
) -> None:
    if not isinstance(mapping, dict):
        message = f"{what} must be a mapping with the keys {', '.join(expected)}"
        out.add("sdm.yaml-structure", WARNING, message, document.name, path, locate=document.locate)
        return
    if required:
        for key in expected:
            if key not in mapping:
                message = f"{what} has no key {key!r} (its value may be empty)"
                out.add("sdm.yaml-structure", WARNING, message, document.name, path, locate=document.locate)
    for key in mapping:
        if key not in expected:
            message = f"unknown key {key!r} in {what} (expected: {', '.join(expected)})"
            out.add(
                "sdm.yaml-structure",
                WARNING,
                message,
                document.name,
                (*path, str(key)),
                locate=document.locate,
            )


def _check_people(document: _YamlFile, member: str, keys: tuple[str, ...], out: _Collector) -> None:
    """``description`` and a list of people (adopters, contributors) under ``member``, which may be empty."""
    value = document.value
    _check_keys(document, value, (), ("description", member), out, required=True, what=document.name)
    if not isinstance(value, dict):
        return
    people = value.get(member)
    if people is None:
        return
    if not isinstance(people, list):
        message = f"{member} must be a list (it may be empty)"
        out.add("sdm.yaml-structure", WARNING, message, document.name, (member,), locate=document.locate)
        return
    for index, person in enumerate(people):
        _check_keys(document, person, (member, index), keys, out, required=False, what=f"{member}[{index}]")


def _check_yaml_file(path: Path, out: _Collector, *, subject_level: bool = False) -> None:
    document = _read_yaml(path, out)
    if document is None:
        return
    name = path.name
    if name == "notes.yaml" and subject_level:
        _check_keys(document, document.value, (), _SUBJECT_NOTES_KEYS, out, required=False, what=name)
    elif name == "notes.yaml":
        _check_keys(document, document.value, (), _NOTES_KEYS, out, required=True, what=name)
    elif name == "ADOPTERS.yaml" and document.value is not None:
        # An ADOPTERS.yaml may be empty (a model without adopters yet); it only has to exist.
        _check_people(document, "currentAdopters", _ADOPTER_KEYS, out)
    elif name == CONTRIBUTORS_FILE:
        _check_people(document, "contributors", _CONTRIBUTOR_KEYS, out)


# --- walking a schema --------------------------------------------------------------------------------


def _subschemas(node: Any, path: PathTuple = ()) -> Iterator[tuple[PathTuple, dict[str, Any]]]:
    """Every schema object inside a schema document, with its path; data (enum, const, default, examples)
    is never taken for a schema."""
    stack: list[tuple[PathTuple, Any]] = [(path, node)]
    while stack:
        current_path, current = stack.pop()
        if not isinstance(current, dict):
            continue
        yield current_path, current
        found: list[tuple[PathTuple, Any]] = []
        for keyword in _SCHEMA_KEYWORDS:
            value = current.get(keyword)
            if isinstance(value, list):  # `items` as a list: the older tuple form
                found.extend(((*current_path, keyword, i), sub) for i, sub in enumerate(value))
            elif isinstance(value, dict):
                found.append(((*current_path, keyword), value))
        for keyword in _SCHEMA_LIST_KEYWORDS:
            value = current.get(keyword)
            if isinstance(value, list):
                found.extend(((*current_path, keyword, i), sub) for i, sub in enumerate(value))
        for keyword in _SCHEMA_MAP_KEYWORDS:
            value = current.get(keyword)
            if isinstance(value, dict):
                found.extend(((*current_path, keyword, name), sub) for name, sub in value.items())
        stack.extend(reversed(found))


def _as_list(value: Any) -> list[Any]:
    """A keyword's list of subschemas, or none when the schema gives something else (reported apart)."""
    return value if isinstance(value, list) else []


def _types(node: Mapping[str, Any]) -> set[str]:
    declared = node.get("type")
    if isinstance(declared, str):
        return {declared}
    if isinstance(declared, list):
        return {item for item in declared if isinstance(item, str)}
    return set()


@dataclass(frozen=True)
class _Where:
    """A place in a schema: a path in schema.json, or, inside another document reached through a
    ``$ref``, a ``$ref``'s path in schema.json plus the target's URI and the path inside it."""

    path: PathTuple
    target: str | None = None
    inner: PathTuple = ()

    @classmethod
    def elsewhere(cls, path: PathTuple, absolute: str) -> _Where:
        """The target of the absolute ``$ref`` ``absolute`` met at ``path``. A JSON Pointer fragment is
        moved into ``inner``, so that a place has one spelling however a ``$ref`` names it."""
        uri, fragment = urldefrag(absolute)
        if fragment and not fragment.startswith("/"):
            return cls(path, absolute)  # an anchor: the place it names is known by that name only
        return cls(path, uri, reader.parse_json_path(fragment) if fragment else ())

    @property
    def place(self) -> tuple[str | None, PathTuple]:
        """The place itself, whichever ``$ref`` led there: what a rule reports once."""
        return (None, self.path) if self.target is None else (self.target, self.inner)

    def step(self, *parts: str | int) -> _Where:
        if self.target is None:
            return _Where((*self.path, *parts))
        return _Where(self.path, self.target, (*self.inner, *parts))

    def at(self, path: PathTuple) -> _Where:
        """The same place, reported at ``path`` of schema.json."""
        return _Where(path, self.target, self.inner) if self.target is not None else self

    def label(self) -> str:
        """`` (in <target URI>)`` for a place in another document, else nothing."""
        if self.target is None:
            return ""
        uri, fragment = urldefrag(self.target)
        return f" (in {uri}#{fragment}{reader.to_json_pointer(self.inner)})"


@dataclass
class _Schema:
    """The model's schema.json, registered for offline ``$ref`` resolution beside the bundled schemas."""

    file: _JsonFile
    document: dict[str, Any]
    uri: str
    registry: Registry
    shared: dict[str, catalog.SchemaDocument] = field(default_factory=dict)  # by URI, for $ref walks
    usable: bool = True  # every $ref resolves and the document is a valid JSON Schema

    def locate(self, path: PathTuple) -> tuple[int | None, int | None]:
        return self.file.document.locate(path)

    def as_document(self) -> catalog.SchemaDocument:
        return catalog.SchemaDocument(self.uri, self.document, self.file.name, self.locate)

    def lookup(self, ref: str, base: str) -> tuple[Any, str, _Where | None]:
        """The target of ``ref`` met in document ``base``, the target's document URI and, when the target
        lies in schema.json itself, its place there. Raises Unresolvable."""
        resolved = self.registry.resolver(base_uri=base).lookup(ref)
        absolute = urljoin(base, ref)
        document_uri, fragment = urldefrag(absolute)
        if document_uri == self.uri and (fragment.startswith("/") or not fragment):
            return (
                resolved.contents,
                document_uri,
                _Where(reader.parse_json_path(fragment) if fragment else ()),
            )
        return resolved.contents, document_uri, None


def _follow(schema: _Schema, node: Any, where: _Where, base: str) -> tuple[Any, _Where, str] | None:
    """``node`` with its ``$ref`` chain followed; None when a ``$ref`` does not resolve (reported apart)."""
    hops = 0
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and hops < 32:
        ref = node["$ref"]
        try:
            node, target_base, local = schema.lookup(ref, base)
        except Unresolvable:
            return None
        except (TypeError, AttributeError, ValueError):
            # The resolver walks the schema's subschemas: one that breaks the metaschema (reported as
            # such) can make it fail. The $ref is then left unfollowed.
            return None
        where = local if local is not None else _Where.elsewhere(where.path, urljoin(base, ref))
        base = target_base
        hops += 1
    return node, where, base


# --- the schema rules --------------------------------------------------------------------------------


def _load_schema(folder: Path, out: _Collector, shared: list[catalog.SchemaDocument]) -> _Schema | None:
    path = folder / SCHEMA_FILE
    file = _read_json(path, out)
    if file is None:
        return None
    entity = file.document
    if not isinstance(entity.value, dict):
        message = "schema.json must hold one JSON object (a JSON Schema)"
        out.add("sdm.schema-invalid", ERROR, message, file.name, category=CATEGORY_SCHEMA)
        return None
    document = entity.value
    schema_id = document.get("$id")
    uri = schema_id if isinstance(schema_id, str) and schema_id else path.resolve().as_uri()
    resources = [(other.uri, DRAFT202012.create_resource(other.contents)) for other in shared]
    resources.append((uri, DRAFT202012.create_resource(document)))
    registry = schemas.registry().with_resources(resources)
    if next(catalog.meta_schema_errors(document, Draft202012Validator), None) is None:
        registry = registry.crawl()  # embedded $id and $anchor; a broken schema cannot be crawled
    shared_by_uri = {urldefrag(other.uri).url: other for other in shared}
    return _Schema(file, document, urldefrag(uri)[0], registry, shared_by_uri)


def _check_schema_validity(schema: _Schema, out: _Collector) -> None:
    """The JSON Schema 2020-12 metaschema (regular expressions compiled), then every ``$ref`` (of
    schema.json and of the subject's shared schemas it leads to), both as ``validate --schema`` checks."""
    for error in catalog.meta_schema_errors(schema.document, Draft202012Validator):
        path = tuple(error.absolute_path)
        message = f"not a valid JSON Schema: {_leaf_message(error)}"
        out.add(
            "sdm.schema-invalid",
            ERROR,
            message,
            schema.file.name,
            path,
            locate=schema.locate,
            category=CATEGORY_SCHEMA,
        )
        schema.usable = False
    if not schema.usable:
        return  # the $refs of a schema that breaks the metaschema cannot be walked safely
    for unresolved in catalog.unresolved_refs(schema.as_document(), schema.registry, schema.shared):
        # Reported at the $ref of schema.json that leads to it: the place a model's author can fix.
        where = f" (reached through {unresolved.via})" if unresolved.via else ""
        message = (
            f"$ref {unresolved.ref!r} cannot be resolved offline{where}: the examples are not validated "
            "against the schema"
        )
        out.add(
            "sdm.ref-unresolved",
            ERROR,
            message,
            schema.file.name,
            unresolved.entry,
            locate=schema.locate,
            category=CATEGORY_SCHEMA,
        )
        schema.usable = False
    loop = catalog.ref_loop(schema.as_document(), schema.registry) if schema.usable else None
    if loop is not None:
        message = (
            "the schema refers to itself without end (a $ref loop that never reaches deeper data): the "
            "examples are not validated against it"
        )
        out.add(
            "sdm.schema-invalid",
            ERROR,
            message,
            schema.file.name,
            loop,
            locate=schema.locate,
            category=CATEGORY_SCHEMA,
        )
        schema.usable = False


def _check_metadata(schema: _Schema, model: str, out: _Collector) -> None:
    document, name, locate = schema.document, schema.file.name, schema.locate

    def add(severity: Severity, message: str, *path: str | int) -> None:
        out.add("sdm.schema-metadata", severity, message, name, path, locate=locate)

    if document.get("$schema") != SCHEMA_DIALECT:
        add(
            ERROR,
            f"$schema must be {SCHEMA_DIALECT!r}, got {show(document.get('$schema'))}",
            "$schema",
        )
    version = document.get("$schemaVersion")
    if not (isinstance(version, str) and _SCHEMA_VERSION.fullmatch(version)):
        add(
            ERROR,
            f"$schemaVersion must be a version X.Y.Z such as '0.1.0', got {show(version)}",
            "$schemaVersion",
        )
    schema_id = document.get("$id")
    if not isinstance(schema_id, str) or not schema_id:
        add(ERROR, "$id is missing: the URL the schema is published at", "$id")
    else:
        match = _SDM_ID.fullmatch(schema_id)
        if match is None:
            add(
                WARNING,
                f"$id should be https://smart-data-models.github.io/dataModel.<Subject>/{model}/schema.json",
                "$id",
            )
        elif match.group(2) != model:
            add(WARNING, f"$id names the model {match.group(2)!r}, but the folder is {model!r}", "$id")
    title = document.get("title")
    if not isinstance(title, str) or len(title) < 15:
        add(ERROR, f"title must be at least 15 characters, got {show(title)}", "title")
    elif title != title.strip():
        add(WARNING, "title starts or ends with white space", "title")
    description = document.get("description")
    if not isinstance(description, str) or len(description) < 50:
        add(
            ERROR,
            f"the schema description must be at least 50 characters, got {show(description)}",
            "description",
        )
    if "modelTags" not in document:
        add(ERROR, "modelTags is missing (a string; it may be empty)", "modelTags")
    elif not isinstance(document["modelTags"], str):
        add(ERROR, f"modelTags must be a string, got {show(document['modelTags'])}", "modelTags")
    elif not document["modelTags"].strip():
        add(WARNING, "modelTags is empty", "modelTags")
    if "derivedFrom" not in document:
        add(WARNING, "derivedFrom is missing: the URL of the standard the model maps, or ''", "derivedFrom")
    if "license" not in document:
        add(WARNING, "license is missing: the URL of the model's LICENSE.md", "license")
    if document.get("type") != "object":
        add(ERROR, f"the schema's type must be 'object', got {show(document.get('type'))}", "type")
    required = document.get("required")
    if not isinstance(required, list):
        add(ERROR, "required is missing: an array holding at least 'id' and 'type'", "required")
    else:
        for member in ("id", "type"):
            if member not in required:
                add(ERROR, f"required must contain {member!r}", "required")
    _check_type_property(schema, model, out)


def _check_type_property(schema: _Schema, model: str, out: _Collector) -> None:
    """The entity type property says which type the entity has: ``enum: [<Model>]``."""
    places: list[tuple[PathTuple, Any]] = []
    properties = schema.document.get("properties")
    if isinstance(properties, dict) and "type" in properties:
        places.append((("properties", "type"), properties["type"]))
    for index, part in enumerate(_as_list(schema.document.get("allOf"))):
        if (
            isinstance(part, dict)
            and isinstance(part.get("properties"), dict)
            and "type" in part["properties"]
        ):
            places.append((("allOf", index, "properties", "type"), part["properties"]["type"]))
    if not places:
        message = f'no "type" property: declare {{"type": "string", "enum": ["{model}"]}}'
        out.add("sdm.schema-metadata", WARNING, message, schema.file.name, locate=schema.locate)
        return
    for path, node in places:
        enum = node.get("enum") if isinstance(node, dict) else None
        if enum != [model]:
            message = f'the "type" property should be {{"enum": ["{model}"]}}, got enum {show(enum)}'
            out.add("sdm.schema-metadata", WARNING, message, schema.file.name, path, locate=schema.locate)


_Place = tuple[str | None, PathTuple]


def _foreign_places(schema: _Schema) -> dict[_Place, tuple[_Where, dict[str, Any], str]]:
    """Every schema object in another document (a subject's shared schema, the common schema) that a
    ``$ref`` of schema.json leads to, directly or through other ``$ref``s: by its place, where it is
    reported (at the first ``$ref`` of schema.json in document order that leads there, so once however
    many lead there), the object and its base URI."""
    refs = [(path, node) for path, node in _subschemas(schema.document) if isinstance(node.get("$ref"), str)]
    # The $refs in the order they are written (a place reached by several is reported at the first).
    refs.sort(key=lambda item: tuple(part or 0 for part in schema.locate(item[0])))
    found: dict[_Place, tuple[_Where, dict[str, Any], str]] = {}
    for path, start in refs:
        stack: list[tuple[dict[str, Any], str]] = [(start, schema.uri)]
        while stack:
            node, base = stack.pop()
            ref = node.get("$ref")
            if not isinstance(ref, str):
                continue
            try:
                target, target_base, in_schema = schema.lookup(ref, base)
            except (Unresolvable, TypeError, AttributeError, ValueError):
                continue  # reported apart (or the schema is invalid, its $refs unsafe to follow)
            if in_schema is not None:
                continue  # a place in schema.json: checked where it is written
            where = _Where.elsewhere(path, urljoin(base, ref))
            if where.place in found:  # reached before, with everything below it
                continue
            places = [(where.step(*inner), sub, target_base) for inner, sub in _subschemas(target)]
            for place in places:
                found.setdefault(place[0].place, place)
            stack.extend((sub, sub_base) for _, sub, sub_base in reversed(places))
    return found


class _DescriptionWalk:
    """Check #4's walk: every property at any depth, each array's items, each items.anyOf branch and each
    ``$ref`` target; property-level anyOf/oneOf branches are checked too, as warnings.

    Each place is checked once, however many ``$ref``s lead to it: one in schema.json where it is
    written; one in another document at the first ``$ref`` of schema.json (in document order) that leads
    there, the message naming the place (its URI and JSON Pointer)."""

    def __init__(self, schema: _Schema, out: _Collector) -> None:
        self.schema = schema
        self.out = out
        # Places are keyed without the $ref that led there (_Where.place): each is walked once.
        self.walked: set[_Place] = set()  # objects whose properties were walked
        self.targets: set[_Place] = set()  # $ref targets checked
        self.items_targets: set[_Place] = set()  # $ref targets whose anyOf branches were checked as items'
        self.items_branches: set[_Place] = set()  # those branches
        self.described: set[_Place] = set()  # schema objects whose description was checked
        self.branches: list[tuple[_Where, str, Any]] = []  # property-level branches, checked last
        self.foreign = {place: where.path for place, (where, _, _) in _foreign_places(schema).items()}

    def reported_at(self, where: _Where) -> PathTuple:
        """The $ref of schema.json a place in another document is reported at: the first that leads to it
        (or to the nearest schema object holding it, for a boolean schema)."""
        for end in range(len(where.inner), -1, -1):
            path = self.foreign.get((where.target, where.inner[:end]))
            if path is not None:
                return path
        return where.path

    def report(self, where: _Where, severity: Severity, message: str, *, missing: bool = False) -> None:
        """At the description itself, or at the schema that lacks one (or the $ref leading elsewhere)."""
        if where.target is not None:
            where = where.at(self.reported_at(where))
        path = where.path if missing or where.target is not None else (*where.path, "description")
        self.out.add(
            "sdm.description-grammar",
            severity,
            message + (where if missing else where.step("description")).label(),
            self.schema.file.name,
            path,
            locate=self.schema.locate,
        )

    def check(self, where: _Where, description: Any, *, severity: Severity = ERROR, prefix: str = "") -> None:
        # One description, one verdict: a schema object may be reached as a property and as a $ref target.
        if where.place in self.described:
            return
        self.described.add(where.place)
        for problem_severity, message in description_problems(description):
            self.report(where, WARNING if severity == WARNING else problem_severity, prefix + message)

    def run(self) -> None:
        self.object(self.schema.document, _Where(()), self.schema.uri)
        # A branch also checked as an items' (a $ref target used both ways) has its error: no warning more.
        for where, keyword, description in self.branches:
            if where.place not in self.items_branches:
                prefix = f"{keyword} branch (not checked by the official suite): "
                self.check(where, description, severity=WARNING, prefix=prefix)

    def object(self, node: Any, where: _Where, base: str) -> None:
        followed = _follow(self.schema, node, where, base)
        if followed is None or not isinstance(followed[0], dict):
            return
        node, where, base = followed
        if where.place in self.walked:  # a recursive schema, or a target reached again
            return
        self.walked.add(where.place)
        for index, part in enumerate(_as_list(node.get("allOf"))):
            self.object(part, where.step("allOf", index), base)
        properties = node.get("properties")
        if isinstance(properties, dict):
            for name, sub in properties.items():
                self.member(sub, where.step("properties", name), base, f"property {name!r}")

    def member(self, node: Any, where: _Where, base: str, what: str, *, items: bool = False) -> None:
        if isinstance(node, bool):
            # Check #4 wants a description on every property and items: true or false cannot carry one.
            message = (
                f"{what} has no description: the boolean schema {show(node)} cannot carry one (write a "
                "schema object with a description)"
            )
            self.report(where, ERROR, message, missing=True)
            return
        if not isinstance(node, dict):
            return
        followed = _follow(self.schema, node, where, base)
        if followed is None:
            return
        target, target_where, target_base = followed
        own = node.get("description")
        inherited = target.get("description") if isinstance(target, dict) and target is not node else None
        if own is None and inherited is None:
            self.report(where, ERROR, f"{what} has no description", missing=True)
        if own is not None:
            self.check(where, own)
        # A $ref target's findings are at the target: said once, however many $refs lead to it (and its
        # anyOf branches as an items' once more, if one of them is an items).
        first = target is node or target_where.place not in self.targets
        first_as_items = items and (target is node or target_where.place not in self.items_targets)
        if target is not node:
            self.targets.add(target_where.place)
            if items:
                self.items_targets.add(target_where.place)
        if first and inherited is not None:
            self.check(target_where, inherited, prefix="$ref target: ")
        if not isinstance(target, dict):
            return
        if first_as_items:
            # The official suite checks an items' anyOf branches: each needs a valid description.
            for index, branch in enumerate(_as_list(target.get("anyOf"))):
                branch_where = target_where.step("anyOf", index)
                self.items_branches.add(branch_where.place)
                if not isinstance(branch, dict) or "description" not in branch:
                    message = f"anyOf branch {index} of {what} has no description"
                    self.report(branch_where, ERROR, message, missing=True)
                else:
                    self.check(branch_where, branch["description"])
        if not first:
            return
        self.object(target, target_where, target_base)
        # Property-level branches only as warnings (an items' anyOf branches are checked above).
        for keyword in ("oneOf",) if items else ("anyOf", "oneOf"):
            for index, branch in enumerate(_as_list(target.get(keyword))):
                if isinstance(branch, dict) and "description" in branch:
                    self.branches.append((target_where.step(keyword, index), keyword, branch["description"]))
        items_node = target.get("items")
        if isinstance(items_node, dict | bool):
            self.member(
                items_node, target_where.step("items"), target_base, f"the items of {what}", items=True
            )


def _schema_places(schema: _Schema) -> Iterator[tuple[_Where, dict[str, Any], str]]:
    """Every schema object of schema.json where it is written, then every one in another document that a
    ``$ref`` leads to (a subject's shared schema, the common schema): once each, as the description walk
    places them, at the first ``$ref`` of schema.json that leads there. Each with its base URI."""
    yield from ((_Where(path), node, schema.uri) for path, node in _subschemas(schema.document))
    if schema.usable:  # the $refs of an invalid schema, or one with a dangling $ref, are not followed
        yield from _foreign_places(schema).values()


def _check_structure(schema: _Schema, out: _Collector) -> None:
    """``type: string`` with items/properties; arrays without items; objects without properties."""
    name, locate = schema.file.name, schema.locate

    def add(rule: str, message: str, where: _Where) -> None:
        out.add(rule, ERROR, message + where.label(), name, where.path, locate=locate)

    for where, node, base in _schema_places(schema):
        types = _types(node)
        if "string" in types and not types & {"array", "object"}:
            for keyword in ("items", "properties"):
                if keyword in node:
                    message = f"a string has no {keyword}: type 'string' together with {keyword!r}"
                    add("sdm.string-structure", message, where.step(keyword))
        # What a $ref or a combinator brings counts as the node's own (and a branch that brings it is enough).
        applied = [part for part, _ in _expand(schema, [(node, base)])]
        if not schema.usable and any("$ref" in part for part in applied):
            continue  # what the $ref brings cannot be told
        if "array" in types and not any("items" in part or "prefixItems" in part for part in applied):
            add("sdm.array-object-structure", "an array needs items: the schema of its elements", where)
        if "object" in types and not any(map(_declares_members, applied)):
            message = (
                "an object needs properties (its members), or additionalProperties to declare it free-form"
            )
            add("sdm.array-object-structure", message, where)


def _declares_members(node: dict[str, Any]) -> bool:
    """Properties, or additionalProperties / patternProperties that declare an object free-form."""
    free_form = node.get("additionalProperties") not in (None, False) or "patternProperties" in node
    return "properties" in node or free_form


def _check_names(schema: _Schema, out: _Collector) -> None:
    name, locate = schema.file.name, schema.locate
    # The schema objects that apply to the entity itself (through allOf, $ref...): their members are its
    # attributes.
    entity_level = {id(node) for node, _ in _expand(schema, [(schema.document, schema.uri)])}
    for path, node in _subschemas(schema.document):
        properties = node.get("properties")
        if not isinstance(properties, dict):
            continue
        top_level = id(node) in entity_level
        for member in properties:
            where = (*path, "properties", member)
            bad = sorted({char for char in member if not _NAME_CHARACTERS.fullmatch(char)})
            if bad or not member or len(member) > _MAX_NAME:
                shown = "".join(bad) if bad else ""
                detail = (
                    f"the characters {shown!r} are not allowed" if bad else f"1 to {_MAX_NAME} characters"
                )
                message = f"attribute name {member!r}: {detail} (NGSI names)"
                out.add("sdm.attribute-name", ERROR, message, name, where, locate=locate)
                continue
            if member[:1].isupper():
                message = f"attribute name {member!r} starts with a capital letter: attributes are camelCase"
                out.add("sdm.attribute-name", WARNING, message, name, where, locate=locate)
            elif ("_" in member or "-" in member) and not member.startswith(("@", "_")):
                message = f"attribute name {member!r} is not camelCase"
                out.add("sdm.attribute-name", WARNING, message, name, where, locate=locate)
            if top_level and member in _NGSI_LD_MEMBER_NAMES:
                message = (
                    f"attribute name {member!r} is an NGSI-LD member name: NGSI-LD cannot tell the attribute "
                    "from the member"
                )
                out.add("sdm.attribute-name", WARNING, message, name, where, locate=locate)


# --- the examples ------------------------------------------------------------------------------------


@dataclass
class _Example:
    file: str
    entity: reader.SourceEntity
    rule: str
    form: str  # the form the file name says it holds
    # The value problems reported (shape, schema, value rules): later rules say nothing more at their paths.
    reported: list[Problem] = field(default_factory=list)
    # keyValues multi-instance attributes, {"dataset": {"@none": v, "<datasetId>": v2}}: their instances.
    datasets: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def value(self) -> Any:
        return self.entity.value

    def add(
        self,
        out: _Collector,
        severity: Severity,
        message: str,
        path: PathTuple = (),
        *,
        rule: str | None = None,
        string_index: int | None = None,
    ) -> None:
        # With string_index: at that character of the string value (a q's syntax error).
        position = self.entity.locate(path, string_index) if string_index is not None else None
        out.add(
            rule or self.rule,
            severity,
            message,
            self.file,
            path,
            locate=self.entity.locate,
            position=position,
            entity=self.value,
            form=self.form,
            index=self.entity.index,
        )


def _check_id_and_type(example: _Example, model: str, schema: _Schema | None, out: _Collector) -> None:
    """``id`` and ``type`` present (when the schema's ``required`` does not say it already)."""
    value = example.value
    required = schema.document.get("required") if schema is not None and schema.usable else None
    for member in ("id", "type"):
        if member in value:
            if not isinstance(value[member], str):
                example.add(
                    out,
                    ERROR,
                    f"{member} must be a string, got {show(value[member])}",
                    (member,),
                )
            continue
        if not (isinstance(required, list) and member in required):
            example.add(out, ERROR, f"missing {member!r}: every entity has an id and a type", (member,))
    if isinstance(value.get("type"), str) and value["type"] != model:
        message = f"the example is of type {value['type']!r}, but the model folder is {model!r}"
        example.add(out, ERROR, message, ("type",))


def _check_ngsiv2_identifiers(example: _Example, out: _Collector, outcome: payload_rules.Outcome) -> None:
    """NGSI-v2 brokers refuse ``< > " ' = ; ( )`` in ids, types and attribute names (unless the NGSI-v2
    value rules in ``outcome`` said so already, with the characters found)."""
    value = example.value
    said = {path for _, code, _, path in outcome.issues if code == payload_rules.V2_CHARACTERS}
    for member in ("id", "type"):
        text = value.get(member)
        if isinstance(text, str) and (bad := sorted(set(text) & _NGSIV2_FORBIDDEN)) and (member,) not in said:
            message = f"NGSI-v2 {member}s cannot contain {''.join(bad)!r}"
            example.add(out, ERROR, message, (member,))
    for name in value:
        if (bad := sorted(set(name) & _NGSIV2_FORBIDDEN)) and (name,) not in said:
            example.add(out, ERROR, f"NGSI-v2 attribute names cannot contain {''.join(bad)!r}", (name,))
    if "@context" in value:
        example.add(
            out,
            WARNING,
            "an NGSI-v2 example has no @context (it belongs to the .jsonld examples)",
            ("@context",),
        )


def _check_context(example: _Example, out: _Collector) -> None:
    value = example.value
    if "@context" not in value:
        example.add(out, ERROR, "missing '@context': an NGSI-LD example names its context")
        return
    context = value["@context"]
    entries = context if isinstance(context, list) else [context]
    if not entries or not all(isinstance(entry, str | dict) for entry in entries):
        message = "@context must be a URL, an object, or a non-empty array of them"
        example.add(out, ERROR, message, ("@context",))
        return
    for index, entry in enumerate(entries):
        if isinstance(entry, str) and not forms.is_absolute_uri(entry):
            where = ("@context", index) if isinstance(context, list) else ("@context",)
            example.add(out, ERROR, f"a context URL must be absolute, got {show(entry)}", where)


def _schema_errors(validator: Any, instance: Any) -> Iterator[tuple[PathTuple, str]]:
    try:
        errors = list(validator.iter_errors(instance))
    except RecursionError:
        yield (), "the schema refers to itself without end (a $ref loop): the example cannot be validated"
        return
    for error in errors:
        for path, _code, message in _explain(error):
            yield path, message


def _check_key_values(
    example: _Example, schema: _Schema | None, validator: Any, model: str, out: _Collector
) -> payload_rules.Outcome:
    value = example.value
    _check_id_and_type(example, model, schema, out)
    linked_data = example.file.endswith(".jsonld")
    if linked_data:
        _check_context(example, out)
        if "id" in value and not forms.is_absolute_uri(value["id"]):
            shown = show(value["id"])
            message = f"an NGSI-LD id must be an absolute URI such as urn:ngsi-ld:{model}:001, got {shown}"
            example.add(out, ERROR, message, ("id",))
    # The value rules `validate` holds the example to (NGSI Null and JSON null; NGSI-v2's characters for
    # keyValues that only NGSI-v2 reads, its id no URI), as it reads the example.
    facts = _facts(schema)
    problems: list[Problem] = []
    if not linked_data and forms.detect_form(value) == forms.NGSIV2_KEY_VALUES:
        # NGSI-v2 has no multi-instance attributes: {"dataset": {...}} is a value like any other there.
        outcome = payload_rules.ngsiv2_rules(value, forms.NGSIV2_KEY_VALUES, facts)
    else:
        outcome = payload_rules.ngsild_rules(value, forms.KEY_VALUES, facts)
        example.datasets = _key_values_datasets(value, facts)
        problems.extend(dataset_problems(example.datasets))
    if not linked_data:
        _check_ngsiv2_identifiers(example, out, outcome)
    if validator is not None:
        # As the data model says: a date-time is a plain string here, never {"@type": "DateTime", ...}.
        instance = {name: member for name, member in value.items() if name != "@context"}
        problems.extend(_key_values_schema_problems(validator, instance, example.datasets))
    _add_value_problems(example, problems, outcome, out)
    return outcome


def _key_values_datasets(
    value: dict[str, Any], facts: Mapping[str, schemas.Attribute]
) -> dict[str, dict[str, Any]]:
    """The multi-instance attributes of NGSI-LD keyValues, ``{"dataset": {"@none": v, "<datasetId>": v2}}``,
    by name: their instances by dataset id (not an object value whose schema declares a ``dataset``)."""
    datasets: dict[str, dict[str, Any]] = {}
    for name, member in value.items():
        if name in ngsild.ENTITY_MEMBERS:
            continue
        declared = facts[name].member_names if name in facts else frozenset()
        instances = forms.key_values_datasets(member, declared)
        if instances is not None:
            datasets[name] = instances
    return datasets


def _key_values_schema_problems(
    validator: Any, instance: dict[str, Any], datasets: dict[str, dict[str, Any]]
) -> list[Problem]:
    """Schema errors of a keyValues example; a multi-instance attribute's values are each a value of its
    schema (its {"dataset": ...} object is not): run k validates instance k of each, as `validate` does."""
    problems: list[Problem] = []
    runs = max((len(instances) for instances in datasets.values()), default=1)
    for run in range(runs):
        for name, instances in datasets.items():
            if instances:  # an empty dataset is reported as such, and its errors dropped below
                instance[name] = list(instances.values())[min(run, len(instances) - 1)]
        for path, message in _schema_errors(validator, instance):
            head = path[0] if path else None
            if head in datasets:
                ids = list(datasets[head])
                if run < len(ids):
                    problems.append(Problem(ERROR, "schema", message, (head, "dataset", ids[run], *path[1:])))
            elif run == 0:
                problems.append(Problem(ERROR, "schema", message, path))
    return problems


def _check_ngsiv2_normalized(
    example: _Example, schema: _Schema | None, validator: Any, model: str, out: _Collector
) -> tuple[set[str], payload_rules.Outcome]:
    _check_id_and_type(example, model, schema, out)
    outcome = payload_rules.ngsiv2_rules(example.value, forms.NGSIV2_NORMALIZED, _facts(schema))
    _check_ngsiv2_identifiers(example, out, outcome)
    broken = _check_shape_then_values(
        example,
        _check_ngsiv2(example.value),
        lambda problem: problem.code == "ngsiv2.attribute",
        forms.NGSIV2_NORMALIZED,
        validator,
        out,
        outcome,
    )
    return broken, outcome


def _check_ngsild_normalized(
    example: _Example, schema: _Schema | None, validator: Any, model: str, out: _Collector
) -> tuple[set[str], payload_rules.Outcome]:
    _check_id_and_type(example, model, schema, out)
    _check_context(example, out)
    facts = _facts(schema)
    outcome = payload_rules.ngsild_rules(example.value, forms.NORMALIZED, facts)
    broken = _check_shape_then_values(
        example,
        _check_normalized(example.value, facts, model),
        lambda problem: bool(problem.path) and problem.path[0] != "id" and _hides_value(problem),
        forms.NORMALIZED,
        validator,
        out,
        outcome,
    )
    return broken, outcome


def _check_shape_then_values(
    example: _Example,
    shape_problems: Iterable[Problem],
    breaks_attribute: Callable[[Problem], bool],
    form: str,
    validator: Any,
    out: _Collector,
    outcome: payload_rules.Outcome,
) -> set[str]:
    """A normalized example's shape problems, then the schema's on the values. An attribute whose shape is
    wrong (an error that ``breaks_attribute``) is reported once, by the shape rule; returns those."""
    broken: set[str] = set()
    problems: list[Problem] = []
    for problem in shape_problems:
        problems.append(problem)
        if problem.severity == ERROR and breaks_attribute(problem):
            broken.add(str(problem.path[0]))
    if validator is not None:
        model = _string_member(example.value, "type") or "model's"
        for problem in guarded_schema_problems(example.value, form, broken, validator, model):
            # A broken attribute is there: it is not "missing" as well.
            if not (
                problem.code == "schema.required" and len(problem.path) == 1 and problem.path[0] in broken
            ):
                problems.append(problem)
    _add_value_problems(example, problems, outcome, out)
    return broken


def _add_value_problems(
    example: _Example, problems: list[Problem], outcome: payload_rules.Outcome, out: _Collector
) -> None:
    """The problems found, less those at a path a value rule claims (its message says what is wrong
    there, as `validate` says it: double wrapping, NGSI Null...), then the value rules' own."""
    for problem in problems:
        if not outcome.is_claimed(problem.path):
            example.add(out, problem.severity, problem.message, problem.path)
            example.reported.append(problem)
    for severity, code, message, path in outcome.issues:
        example.add(out, severity, message, path)
        example.reported.append(Problem(severity, code, message, path))


def _facts(schema: _Schema | None) -> dict[str, schemas.Attribute]:
    if schema is None or not schema.usable:
        return {}
    try:
        return schemas.schema_attributes(schema.document, schema.registry.resolver(base_uri=schema.uri))
    except (LookupError, TypeError, AttributeError):
        # Valid JSON Schema that the attribute facts do not understand (a boolean subschema): the NGSI-LD
        # shape is still checked, only not against the kinds the descriptions name.
        return {}


# --- every member of the examples declared -----------------------------------------------------------


def _expand(schema: _Schema, nodes: list[tuple[Any, str]]) -> list[tuple[dict[str, Any], str]]:
    """The schema objects that apply at one place: through ``$ref`` and allOf/anyOf/oneOf/if-then-else."""
    result: list[tuple[dict[str, Any], str]] = []
    seen: set[int] = set()
    stack = list(reversed(nodes))
    while stack:
        node, base = stack.pop()
        if not isinstance(node, dict) or id(node) in seen:
            continue
        seen.add(id(node))
        result.append((node, base))
        # (an unusable schema, invalid or with a dangling $ref, is not followed: resolving it may fail)
        if isinstance(node.get("$ref"), str) and schema.usable:
            try:
                target, target_base, _ = schema.lookup(node["$ref"], base)
            except Unresolvable:
                pass
            else:
                stack.append((target, target_base))
        for keyword in ("allOf", "anyOf", "oneOf"):
            parts = node.get(keyword)  # a list in a valid schema; anything in an invalid one
            if isinstance(parts, list):
                stack.extend((part, base) for part in reversed(parts))
        stack.extend((node[keyword], base) for keyword in ("then", "else") if keyword in node)
    return result


def _undeclared(
    schema: _Schema, value: Any, nodes: list[tuple[Any, str]], path: PathTuple
) -> Iterator[PathTuple]:
    """Paths of the members of ``value`` that no schema object at their place declares."""
    stack: list[tuple[Any, list[tuple[Any, str]], PathTuple]] = [(value, nodes, path)]
    while stack:
        current, current_nodes, current_path = stack.pop()
        expanded = _expand(schema, current_nodes)
        if isinstance(current, dict):
            declared: dict[str, list[tuple[Any, str]]] = {}
            additional: list[tuple[Any, str]] = []
            patterns: list[tuple[str, Any, str]] = []
            free_form = False
            for node, base in expanded:
                for name, sub in (node.get("properties") or {}).items():
                    declared.setdefault(name, []).append((sub, base))
                extra = node.get("additionalProperties")
                if isinstance(extra, dict):
                    additional.append((extra, base))
                free_form = free_form or extra is True
                for pattern, sub in (node.get("patternProperties") or {}).items():
                    patterns.append((pattern, sub, base))
            for name, child in current.items():
                child_path = (*current_path, name)
                matching = [(sub, base) for pattern, sub, base in patterns if _search(pattern, name)]
                if name in declared:
                    stack.append((child, declared[name], child_path))
                elif matching:
                    stack.append((child, matching, child_path))
                elif additional:
                    stack.append((child, additional, child_path))
                elif not free_form:
                    yield child_path
        elif isinstance(current, list):
            for index, child in enumerate(current):
                item_nodes: list[tuple[Any, str]] = []
                for node, base in expanded:
                    prefix = node.get("prefixItems")
                    if isinstance(prefix, list) and index < len(prefix):
                        item_nodes.append((prefix[index], base))
                    elif isinstance(node.get("items"), dict):
                        item_nodes.append((node["items"], base))
                stack.append((child, item_nodes, (*current_path, index)))


def _search(pattern: str, name: str) -> bool:
    try:
        return re.search(pattern, name) is not None
    except re.error:
        return False


def _key_values_instances(
    value: dict[str, Any], name: str, form: str, datasets: Mapping[str, dict[str, Any]]
) -> Iterator[tuple[Any, int | str | None]]:
    """The keyValues value(s) of attribute ``name`` as written in ``form``: one per instance of a
    multi-instance NGSI-LD attribute (with its index, or its dataset id in keyValues, where ``datasets``
    holds them), else one (index None); none for a broken one."""
    member = value[name]
    if name in datasets:
        yield from ((instance, dataset_id) for dataset_id, instance in datasets[name].items())
    elif form == forms.NORMALIZED and forms.is_multi_instance(member):
        for index in range(len(member)):
            yield forms.instance_key_value(value, name, index), index
    elif form == forms.NORMALIZED:
        yield forms.to_key_values({"type": value.get("type"), name: member})[name], None
    elif form == forms.NGSIV2_NORMALIZED:
        if forms.is_ngsiv2_attribute(member):  # otherwise reported as a shape error
            yield member["value"], None
    else:
        yield member, None


def _written_path(value: dict[str, Any], form: str, path: PathTuple, index: int | str | None) -> PathTuple:
    """The path as written of what lies at ``path`` in the keyValues reduction of the example."""
    name, rest = path[0], path[1:]
    if isinstance(index, str):  # an instance of a keyValues multi-instance attribute, by its dataset id
        return (name, "dataset", index, *rest)
    if form == forms.NORMALIZED and isinstance(index, int):
        return tuple(forms.instance_original_path(value, str(name), index, list(rest)))
    if form == forms.NORMALIZED:
        return tuple(forms.original_path(value, list(path)))
    if form == forms.NGSIV2_NORMALIZED:
        return (name, "value", *rest)
    return path


def _check_keys_declared(
    example: _Example,
    schema: _Schema,
    form: str,
    broken: set[str],
    out: _Collector,
    outcome: payload_rules.Outcome,
) -> None:
    """Every member of the example, reduced to keyValues, is declared; paths are the ones written."""
    value = example.value
    root = [(schema.document, schema.uri)]

    def undeclared(name: str, path: PathTuple, index: int | str | None) -> None:
        shown = ".".join(str(part) for part in path)
        message = f"{shown!r} is not declared in the schema"
        # An undeclared attribute is pointed at by its name, in every form.
        where = (name,) if len(path) == 1 else _written_path(value, form, path, index)
        # Below a path a value rule claims (double wrapping), the members are that problem's symptoms; at
        # the path itself (a null, a forbidden character) the value's problem is another one.
        if not any(where[: len(claimed)] == claimed for claimed in outcome.claimed if claimed != where):
            example.add(out, ERROR, message, where, rule="sdm.example-keys-declared")

    for name in value:
        if name in ngsild.ENTITY_MEMBERS:
            continue
        if name in broken or example.datasets.get(name) == {}:
            # Its value cannot be read (the shape rule says why; an empty dataset has none), but its name
            # is there to be declared.
            for path in _undeclared(schema, {name: None}, root, ()):
                undeclared(name, path, None)
            continue
        for instance, index in _key_values_instances(value, name, form, example.datasets):
            if isinstance(instance, dict) and set(instance) == {"languageMap"}:
                continue  # a LanguageProperty in keyValues: its keys are language tags
            for path in _undeclared(schema, {name: instance}, root, ()):
                undeclared(name, path, index)


# --- a model folder, a subject folder ----------------------------------------------------------------


def _shared_schemas(subject: Path, out: _Collector | None = None) -> list[catalog.SchemaDocument]:
    """A subject's shared ``<subject>-schema.json`` files, under their ``$id``, for ``$ref`` resolution.

    Their problems are reported in subject mode (``out``); a single model only borrows them."""
    collector = out or _Collector(ModelCheck())
    shared: list[catalog.SchemaDocument] = []
    for path in sorted(subject.glob("*-schema.json")):
        file = _read_json(path, collector)
        if file is None or not isinstance(file.document.value, dict):
            continue
        entity = file.document
        schema_id = entity.value.get("$id")
        uri = schema_id if isinstance(schema_id, str) else path.resolve().as_uri()
        shared.append(catalog.SchemaDocument(uri, entity.value, file.name, entity.locate))
    return shared


def _check_model_folder(
    folder: Path, out: _Collector, shared: list[catalog.SchemaDocument]
) -> _Schema | None:
    model = folder.resolve().name
    out.result.models += 1
    examples_dir = folder / EXAMPLES_DIR
    if not examples_dir.is_dir():
        wrong_case = sorted(p.name for p in folder.iterdir() if p.is_dir() and p.name.lower() == EXAMPLES_DIR)
        if wrong_case:
            message = (
                f"the examples folder must be named {EXAMPLES_DIR!r} (lower case), not {wrong_case[0]!r}"
            )
            out.add("sdm.files-present", ERROR, message, str(folder / wrong_case[0]))
            # One mistake, said once: its examples are there, and checked as if it were named right.
            examples_dir = folder / wrong_case[0]
    for relative in (SCHEMA_FILE, *(f"{examples_dir.name}/{name}" for name in EXAMPLE_FILES)):
        _check_file_present(folder / relative, relative, out)
    for name in MODEL_YAML_FILES:
        path = folder / name
        if path.is_file():
            _check_yaml_file(path, out)
        else:
            message = (
                f"{name} is missing: a Smart Data Models submission needs it "
                "(its contributor writes it; its members may be empty)"
            )
            out.add("sdm.publication-files", WARNING, message, str(path))

    schema = _load_schema(folder, out, shared) if (folder / SCHEMA_FILE).is_file() else None
    validator = None
    if schema is not None:
        _check_schema_validity(schema, out)
        _check_metadata(schema, model, out)
        _DescriptionWalk(schema, out).run()
        _check_structure(schema, out)
        _check_names(schema, out)
        if schema.usable:
            validator = schemas.schema_validator(schema.document, schema.registry)

    for name in EXAMPLE_FILES:
        path = examples_dir / name
        if not path.is_file():
            continue
        file = _read_json(path, out)
        if file is None:
            continue
        entity = file.document
        example = _Example(file.name, entity, _EXAMPLE_RULES[name], _FORMS[name])
        value = entity.value
        out.result.examples.append(
            CheckedExample(
                file.name,
                entity.index,
                _string_member(value, "id"),
                _string_member(value, "type"),
                _FORMS[name],
            )
        )
        if isinstance(value, dict) and reader.is_notification(value):
            message = "an example is one entity, not a notification: write the entity of its data alone"
            example.add(out, ERROR, message)
        elif not isinstance(value, dict):
            example.add(out, ERROR, f"an example is one entity, a JSON object, got {type_name(value)}")
        else:
            _check_example(example, name, schema, validator, model, out)
    return schema


def _check_file_present(path: Path, relative: str, out: _Collector) -> None:
    """A file a model folder needs is there: a regular file (what is there instead said as it is)."""
    if path.is_file():
        return
    if path.is_dir():
        out.add("sdm.files-present", ERROR, f"{relative} is a directory, not a file", str(path))
    elif path.is_symlink():
        # Something is there that cannot be read (a dangling link, or a loop): an input problem, exit 2.
        message = f"cannot read: a dangling symbolic link (to {os.readlink(path)!r})"
        out.add("input.unreadable", ERROR, message, str(path), category=CATEGORY_INPUT)
    elif path.exists():
        out.add("sdm.files-present", ERROR, f"{relative} is not a regular file", str(path))
    else:
        message = f"{relative} is missing: a model folder has schema.json and the four examples"
        out.add("sdm.files-present", ERROR, message, str(path))


def _string_member(value: Any, member: str) -> str | None:
    found = value.get(member) if isinstance(value, dict) else None
    return found if isinstance(found, str) else None


def _check_example(
    example: _Example, name: str, schema: _Schema | None, validator: Any, model: str, out: _Collector
) -> None:
    try:
        broken: set[str] = set()  # attributes whose shape is wrong: reported once, by the shape rule
        if name == build.EXAMPLE_NORMALIZED_LD:
            broken, outcome = _check_ngsild_normalized(example, schema, validator, model, out)
        elif name == build.EXAMPLE_NORMALIZED_V2:
            broken, outcome = _check_ngsiv2_normalized(example, schema, validator, model, out)
        else:
            outcome = _check_key_values(example, schema, validator, model, out)
        if _string_member(example.value, "type") == SUBSCRIPTION_QUERY:
            # As `validate` holds a SubscriptionQuery to them: q's syntax, entities, watched attributes...
            for problem in _subscription_query_problems(
                example.value, example.form, broken, example.reported
            ):
                example.add(
                    out, problem.severity, problem.message, problem.path, string_index=problem.string_index
                )
        if schema is not None and schema.usable:
            _check_keys_declared(example, schema, example.form, broken, out, outcome)
    except (Unresolvable, re.error, LookupError) as error:
        # A schema that passed the metaschema may still hold something the validator cannot use.
        message = f"the schema cannot be used to check the examples: {error}"
        out.add(
            "sdm.schema-invalid",
            ERROR,
            message,
            schema.file.name if schema else example.file,
            category=CATEGORY_SCHEMA,
        )


def _is_model_folder(folder: Path) -> bool:
    """Whether ``folder`` holds a model; a folder that cannot be looked into counts as one (checking it
    then says why it cannot be read, instead of passing over it)."""
    try:
        return (folder / SCHEMA_FILE).is_file() or (folder / EXAMPLES_DIR).is_dir()
    except OSError:
        return True


def _unreadable(error: OSError, fallback: Path, out: _Collector) -> None:
    """A folder or file that cannot be looked into (permissions, a name too long): an input problem."""
    name = str(error.filename) if error.filename is not None else str(fallback)
    out.add(
        "input.unreadable", ERROR, f"cannot read: {error.strerror or error}", name, category=CATEGORY_INPUT
    )


def _check_subject_files(subject: Path, out: _Collector) -> None:
    contributors = subject / CONTRIBUTORS_FILE
    if contributors.is_file():
        _check_yaml_file(contributors, out)
    else:
        message = f"{CONTRIBUTORS_FILE} is missing: a Smart Data Models subject lists its contributors there"
        out.add("sdm.publication-files", WARNING, message, str(contributors))
    notes = subject / "notes.yaml"
    if notes.is_file():
        _check_yaml_file(notes, out, subject_level=True)
    notes_context = subject / "notes_context.jsonld"
    if notes_context.is_file():
        file = _read_json(notes_context, out)
        if file is not None:
            _check_notes_context(file, out)


def _check_notes_context(file: _JsonFile, out: _Collector) -> None:
    entity = file.document
    value = entity.value
    context = value.get("@context") if isinstance(value, dict) else None
    if not isinstance(context, dict):
        message = 'notes_context.jsonld must be {"@context": {term: absolute IRI}}'
        out.add("sdm.subject-files", ERROR, message, file.name, locate=entity.locate)
        return
    for term, iri in context.items():
        if not (isinstance(iri, str) and re.match(r"[A-Za-z][A-Za-z0-9+.\-]*://", iri)):
            message = f"term {term!r} must map to an absolute IRI (no compact IRI), got {show(iri)}"
            out.add("sdm.subject-files", ERROR, message, file.name, ("@context", term), locate=entity.locate)


def _check_subject_ids(checked: list[_Schema], subject: Path, out: _Collector) -> None:
    """``$id`` unique in the subject, and every ``$id`` in the same subject repository."""
    first: dict[str, str] = {}
    subjects: dict[str, str] = {}
    folder_subject = (
        subject.resolve().name.removeprefix("dataModel.")
        if subject.resolve().name.startswith("dataModel.")
        else None
    )
    for schema in checked:
        schema_id = schema.document.get("$id")
        if not isinstance(schema_id, str):
            continue
        if schema_id in first:
            message = f"$id {schema_id!r} is also the $id of {first[schema_id]}: every model needs its own"
            out.add("sdm.schema-metadata", ERROR, message, schema.file.name, ("$id",), locate=schema.locate)
        else:
            first[schema_id] = schema.file.name
        match = _SDM_ID.fullmatch(schema_id)
        if match is None:
            continue
        subjects.setdefault(match.group(1), schema.file.name)
        if folder_subject is not None and match.group(1) != folder_subject:
            message = f"$id names the subject {match.group(1)!r}, not the folder's {folder_subject!r}"
            out.add("sdm.schema-metadata", WARNING, message, schema.file.name, ("$id",), locate=schema.locate)
    if len(subjects) > 1:
        names = ", ".join(f"{name} ({where})" for name, where in subjects.items())
        for schema in checked:
            match = _SDM_ID.fullmatch(str(schema.document.get("$id")))
            if match and match.group(1) != next(iter(subjects)):
                message = f"the $ids name different subjects: {names}"
                out.add(
                    "sdm.schema-metadata", WARNING, message, schema.file.name, ("$id",), locate=schema.locate
                )


def run_checks(path: str | os.PathLike[str], *, subject: bool = False) -> ModelCheck:
    """Check a model folder (or with ``subject``, every model of a subject folder and its own files)."""
    result = _run_checks(Path(os.fsdecode(path)), subject)
    result.findings = _in_file_order(result.findings)
    return result


def _run_checks(folder: Path, subject: bool) -> ModelCheck:
    result = ModelCheck()
    out = _Collector(result)
    try:
        _check_folder(folder, subject, out)
    except OSError as error:  # Path.exists() and friends raise for EACCES and ENAMETOOLONG
        _unreadable(error, folder, out)
    return result


def _check_folder(folder: Path, subject: bool, out: _Collector) -> None:
    name = str(folder)
    if not folder.exists():
        out.add("input.file-not-found", ERROR, "no such file or directory", name, category=CATEGORY_INPUT)
        return
    if not folder.is_dir():
        what = "a subject folder" if subject else "a model folder (holding schema.json and examples/)"
        out.add("input.bad-path", ERROR, f"not a directory: expected {what}", name, category=CATEGORY_INPUT)
        return
    if subject:
        models = sorted(
            child
            for child in folder.iterdir()
            if child.is_dir() and not child.name.startswith(".") and _is_model_folder(child)
        )
        if not models:
            message = "no model folder here (a folder holding schema.json or examples/)"
            out.add("input.no-input", ERROR, message, name, category=CATEGORY_INPUT)
            return
        shared = _shared_schemas(folder, out)
        _check_subject_files(folder, out)
        checked: list[_Schema] = []
        for model in models:
            try:
                schema = _check_model_folder(model, out, shared)
            except OSError as error:  # one unreadable model: the others are still checked
                _unreadable(error, model, out)
                continue
            if schema is not None:
                checked.append(schema)
        _check_subject_ids(checked, folder, out)
        return
    if not _is_model_folder(folder):
        models = [child for child in folder.iterdir() if child.is_dir() and _is_model_folder(child)]
        hint = f": it looks like a subject folder ({len(models)} models), use --subject" if models else ""
        message = f"not a model folder (no schema.json, no examples/){hint}"
        out.add("input.bad-path", ERROR, message, name, category=CATEGORY_INPUT)
        return
    _check_model_folder(folder, out, _shared_schemas(folder.resolve().parent))


def _in_file_order(findings: list[Finding]) -> list[Finding]:
    """Grouped by file (in the order the files were checked), each file's findings by line and column; a
    finding said twice (the same rule, message and place) once."""
    files: dict[str | None, list[Finding]] = {}
    for finding in dict.fromkeys(findings):
        files.setdefault(finding.file, []).append(finding)
    return [
        finding
        for group in files.values()
        for finding in sorted(group, key=lambda f: (f.line or 0, f.column or 0))
    ]


def check_model(path: str | os.PathLike[str], subject: bool = False) -> list[Finding]:
    """The findings of :func:`run_checks`: every rule of :data:`RULES` on a model (or subject) folder."""
    return run_checks(path, subject=subject).findings
