"""The schemas entities are checked against: the bundled ones, plus other Smart Data Models given by the user.

``--schema FILE|DIR`` adds schemas; ``--ref-map URL_PREFIX=DIR`` says in which local folder the documents
under a URL prefix are, so that remote ``$ref``s resolve offline (the network is never used). Every
``$ref`` of a user schema, and of the documents it pulls in, is resolved when the schemas are loaded: a
``$ref`` that cannot be is reported once, where it is written (``schema.unresolved-ref``), and the schema
that needs it is not used, so that a missing document never turns into "required member missing" errors
on the entities. A schema file that is not JSON or not a JSON Schema is ``schema.invalid-schema``. Both
are schema problems: exit code 3.

Which entity type a user schema describes is read from the schema itself, first match wins: the ``enum``
(one value) or ``const`` of its ``type`` property (how every Smart Data Model pins its type, through
``allOf`` too); else the folder in its ``$id`` (``…/WeatherObserved/schema.json``); else the folder of
the file (``WeatherObserved/schema.json``). A user schema for a bundled type replaces the bundled one.
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

from jsonschema import Draft202012Validator, ValidationError, validators
from jsonschema.protocols import Validator
from referencing import Registry, Resource
from referencing.exceptions import NoSuchAnchor, NoSuchResource, PointerToNowhere, Unresolvable
from referencing.jsonschema import DRAFT202012

from sdmtool import reader, schemas
from sdmtool.findings import CATEGORY_INPUT, CATEGORY_SCHEMA, ERROR, WARNING, Finding

Locate = Callable[[Sequence[str | int]], tuple[int | None, int | None]]

INVALID_SCHEMA = "schema.invalid-schema"
UNRESOLVED_REF = "schema.unresolved-ref"
RECURSIVE_REF = "schema.recursive-ref"
DUPLICATE_TYPE = "schema.duplicate-type"
DUPLICATE_ID = "schema.duplicate-id"
NO_SCHEMA = "input.no-schema"
SCHEMA_FILE = "schema.json"
# A $dynamicRef with no $dynamicAnchor in scope resolves as a $ref (2020-12 section 8.2.3.2): both must.
_REFERENCES = ("$ref", "$dynamicRef")
# Keywords whose values are data, not schemas: a "$ref" member in them is no reference.
_DATA_KEYWORDS = frozenset({"enum", "const", "examples", "default"})


def _no_position(_path: Sequence[str | int]) -> tuple[int | None, int | None]:
    return None, None


@dataclass
class SchemaDocument:
    """A schema document read from disk: its URI, contents, file and how to locate a path in that file."""

    uri: str
    contents: Any
    file: str
    locate: Locate = _no_position


@dataclass
class UserSchema:
    entity_type: str
    document: SchemaDocument
    unresolved: list[Finding] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return not self.unresolved


def parse_ref_map(items: Iterable[str]) -> dict[str, Path]:
    """``URL_PREFIX=DIR`` items -> {prefix: folder}; ValueError with a clear message for a bad item."""
    mapping: dict[str, Path] = {}
    for item in items:
        prefix, sep, folder = item.partition("=")
        if not sep or not prefix or not folder:
            raise ValueError(
                f"{item!r} is not URL_PREFIX=DIR (e.g. https://smart-data-models.github.io/=vendor/)"
            )
        if not urlsplit(prefix).scheme:
            raise ValueError(f"{prefix!r} is not a URL prefix: it needs a scheme, such as https://")
        path = Path(folder)
        if not path.is_dir():
            raise ValueError(f"{folder!r} (for {prefix}) is not a folder")
        mapping[prefix] = path
    return mapping


def _strict_json(path: Path) -> tuple[Any, Locate] | Finding:
    """The JSON in a file, read as strictly as entities are, with positions; or why it cannot be."""
    name = str(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        message = f"cannot read the schema: {error.strerror or error}"
        return Finding(ERROR, INVALID_SCHEMA, message, file=name, category=CATEGORY_SCHEMA)
    items = list(reader.read_bytes(name, data, ndjson=False))
    if len(items) == 1 and isinstance(items[0], reader.SourceEntity) and not items[0].problems:
        entity = items[0]
        return entity.value, entity.locate
    for item in items:
        if isinstance(item, reader.ReadError):
            message = f"not a valid JSON schema file: {item.message}"
            return Finding(
                ERROR,
                INVALID_SCHEMA,
                message,
                file=name,
                line=item.line,
                column=item.column,
                category=CATEGORY_SCHEMA,
            )
        if isinstance(item, reader.SourceEntity) and item.problems:
            problem = item.problems[0]
            return Finding(
                ERROR,
                INVALID_SCHEMA,
                f"not a valid JSON schema file: {problem.message}",
                file=name,
                line=problem.line,
                column=problem.column,
                json_path=problem.json_path,
                category=CATEGORY_SCHEMA,
            )
    return _whole_file_problem(
        path, "not a valid JSON schema file: a schema is one JSON object, not an array"
    )


def _whole_file_problem(path: Path, message: str) -> Finding:
    """A schema file that is unusable as a whole: reported at its start."""
    return Finding(ERROR, INVALID_SCHEMA, message, file=str(path), line=1, column=1, category=CATEGORY_SCHEMA)


def _schema_files(path: Path) -> Iterator[tuple[Path, bool]]:
    """(file, named as a schema) for a --schema argument: the file itself, or in a folder every
    ``schema.json`` and every other ``*.json`` that turns out to declare a ``$schema``."""
    if not path.is_dir():
        yield path, True
        return
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.endswith(".json") and not name.startswith("."):
                yield Path(root) / name, name == SCHEMA_FILE


def _declared_type(node: Any, depth: int = 0) -> str | None:
    """The one value the schema's ``type`` property allows (``enum`` of one, or ``const``), through allOf."""
    if not isinstance(node, dict) or depth > 8:
        return None
    declared = (
        (node.get("properties") or {}).get("type") if isinstance(node.get("properties"), dict) else None
    )
    if isinstance(declared, dict):
        enum = declared.get("enum")
        if isinstance(enum, list) and len(enum) == 1 and isinstance(enum[0], str):
            return enum[0]
        if isinstance(declared.get("const"), str):
            return declared["const"]
    for part in node.get("allOf") or ():
        found = _declared_type(part, depth + 1)
        if found:
            return found
    return None


def entity_type_of(schema: Mapping[str, Any], file: Path) -> str | None:
    """Which entity type a schema describes (see the module documentation for the order)."""
    declared = _declared_type(schema)
    if declared:
        return declared
    schema_id = schema.get("$id")
    if isinstance(schema_id, str):
        parts = [part for part in urlsplit(schema_id).path.split("/") if part]
        if len(parts) >= 2 and parts[-1] == SCHEMA_FILE:
            return parts[-2]
    if file.name == SCHEMA_FILE and file.parent.name:
        return file.resolve().parent.name
    return None


def meta_schema_errors(contents: Any, dialect: type[Validator] | None = None) -> Iterator[ValidationError]:
    """Where a schema breaks the metaschema of ``dialect`` (default: the dialect it names, 2020-12 when it
    names none we know), formats asserted as for the entities (a ``pattern`` must be a valid regex)."""
    named = contents.get("$schema") if isinstance(contents, dict) else None
    # A $schema that is no string names no dialect: the 2020-12 metaschema then reports it.
    cls = dialect or (
        validators.validator_for(contents, default=Draft202012Validator)
        if isinstance(named, str)
        else Draft202012Validator
    )
    return cls(cls.META_SCHEMA, format_checker=schemas.format_checker()).iter_errors(contents)


def _meta_schema_problem(document: SchemaDocument) -> Finding | None:
    """A document that is no valid JSON Schema of its dialect: its first metaschema error."""
    error = next(meta_schema_errors(document.contents), None)
    if error is None:
        return None
    path = tuple(error.absolute_path)
    line, column = document.locate(path)
    message = f"not a valid JSON Schema: {error.message}"
    return Finding(
        ERROR,
        INVALID_SCHEMA,
        message,
        file=document.file,
        line=line,
        column=column,
        json_path=reader.to_json_pointer(path),
        category=CATEGORY_SCHEMA,
    )


class _Retriever:
    """Documents under a mapped URL prefix, read from the local folder; remembers why a URI failed."""

    def __init__(self, ref_map: Mapping[str, Path]) -> None:
        # Longest prefix first: a more specific mapping wins.
        self.ref_map = sorted(ref_map.items(), key=lambda item: -len(item[0]))
        self.documents: dict[str, SchemaDocument] = {}
        self.why: dict[str, str] = {}

    def local_path(self, uri: str) -> Path | None:
        for prefix, folder in self.ref_map:
            if uri.startswith(prefix):
                relative = posixpath.normpath(unquote(uri[len(prefix) :]).lstrip("/"))
                if relative.startswith("..") or not relative or relative == ".":
                    return None
                return folder / relative
        return None

    def __call__(self, uri: str) -> Resource[Any]:
        if uri in self.documents:
            return Resource.from_contents(self.documents[uri].contents, default_specification=DRAFT202012)
        path = self.local_path(uri)
        if path is None:
            self.why[uri] = "no --ref-map prefix covers it (the network is never used)"
            raise NoSuchResource(ref=uri)
        if not path.is_file():
            self.why[uri] = f"it maps to {path}, which does not exist"
            raise NoSuchResource(ref=uri)
        loaded = _strict_json(path)
        if isinstance(loaded, Finding):
            self.why[uri] = f"it maps to {path}, which is not valid JSON ({loaded.message})"
            raise NoSuchResource(ref=uri)
        contents, locate = loaded
        self.documents[uri] = SchemaDocument(uri, contents, str(path), locate)
        return Resource.from_contents(contents, default_specification=DRAFT202012)


def _refs(contents: Any, base: str) -> Iterator[tuple[tuple[str | int, ...], str, str]]:
    """(path of the $ref or $dynamicRef member, the reference, the base URI it is relative to) in one
    document."""
    stack: list[tuple[tuple[str | int, ...], Any, str]] = [((), contents, base)]
    while stack:
        path, node, node_base = stack.pop()
        if isinstance(node, dict):
            if path and isinstance(node.get("$id"), str):
                node_base = urljoin(node_base, node["$id"])
            for keyword in _REFERENCES:
                if isinstance(node.get(keyword), str):
                    yield (*path, keyword), node[keyword], node_base
            stack.extend(
                ((*path, key), value, node_base) for key, value in node.items() if key not in _DATA_KEYWORDS
            )
        elif isinstance(node, list):
            stack.extend(((*path, index), value, node_base) for index, value in enumerate(node))


class Catalog:
    """Entity type -> schema: the bundled schemas, overridden and extended by user schemas.

    The default (no user schema) answers exactly as :mod:`sdmtool.schemas` does.
    """

    def __init__(
        self,
        user_schemas: Sequence[UserSchema] = (),
        registry: Registry | None = None,
        problems: Sequence[Finding] = (),
    ) -> None:
        self.user: dict[str, UserSchema] = {schema.entity_type: schema for schema in user_schemas}
        self.registry = registry
        self.problems = tuple(problems)
        self._validators: dict[str, Any] = {}
        self._attributes: dict[str, dict[str, schemas.Attribute]] = {}
        self._entity_types = tuple(sorted({*schemas.entity_types(), *self.user}))  # asked for every entity

    def without_problems(self) -> Catalog:
        """The same schemas, with the problems left out (they are reported once)."""
        quiet = Catalog(list(self.user.values()), self.registry)
        quiet._validators, quiet._attributes = self._validators, self._attributes
        return quiet

    def entity_types(self) -> tuple[str, ...]:
        return self._entity_types

    def is_user(self, entity_type: str) -> bool:
        return entity_type in self.user

    def usable(self, entity_type: str) -> bool:
        """False when the type's user schema has an unresolved $ref: no entity is checked against it."""
        schema = self.user.get(entity_type)
        return schema is None or schema.usable

    def attributes(self, entity_type: str) -> dict[str, schemas.Attribute]:
        schema = self.user.get(entity_type)
        if schema is None:
            return schemas.attributes(entity_type)
        if not schema.usable or self.registry is None:
            return {}
        if entity_type not in self._attributes:
            resolver = self.registry.resolver(base_uri=schema.document.uri)
            try:
                found = schemas.schema_attributes(schema.document.contents, resolver)
            except (LookupError, Unresolvable, TypeError, AttributeError):
                found = {}  # facts are a help to the NGSI-LD checks; the schema itself still validates
            self._attributes[entity_type] = found
        return self._attributes[entity_type]

    def validator(self, entity_type: str) -> Any:
        """The user schema's validator, or None for a bundled type (the caller's default applies)."""
        schema = self.user.get(entity_type)
        if schema is None or not schema.usable or self.registry is None:
            return None
        if entity_type not in self._validators:
            contents = schema.document.contents
            cls = validators.validator_for(contents, default=Draft202012Validator)
            if cls is Draft202012Validator:
                made = schemas.schema_validator(contents, self.registry)
            else:
                made = cls(contents, registry=self.registry, format_checker=schemas.format_checker())
            self._validators[entity_type] = made
        return self._validators[entity_type]


BUNDLED = Catalog()


@dataclass(frozen=True)
class UnresolvedRef:
    """A ``$ref`` that does not resolve offline: where it is written, and how the root document reaches it."""

    document: SchemaDocument  # the document the $ref is written in
    path: reader.PathKey  # of the $ref member in that document
    ref: str
    target: str  # the document it refers to (no fragment)
    error: Unresolvable
    entry: (
        reader.PathKey
    )  # of the $ref of the root document through which ``document`` is reached (or ``path``)
    via: str  # the reference (with its fragment) that led to ``document``; "" for the root itself


def unresolved_refs(
    root: SchemaDocument, registry: Registry, local: Mapping[str, SchemaDocument]
) -> list[UnresolvedRef]:
    """Every $ref of ``root``, and of the ``local`` documents (by URI) it reaches, that ``registry`` cannot
    resolve; each document is walked once. ``local`` may grow while resolving (a retriever's documents)."""
    found: list[UnresolvedRef] = []
    queue: list[tuple[SchemaDocument, reader.PathKey, str]] = [(root, (), "")]
    seen = {root.uri}
    while queue:
        document, entry, via = queue.pop()
        for path, ref, base in _refs(document.contents, document.uri):
            target = urldefrag(urljoin(base, ref)).url
            try:
                registry.resolver(base_uri=base).lookup(ref)
            except Unresolvable as error:
                found.append(UnresolvedRef(document, path, ref, target, error, entry or path, via))
                continue
            reached = local.get(target)
            if reached is not None and target not in seen:
                seen.add(target)
                queue.append((reached, entry or path, urljoin(base, ref)))
    return found


# The keywords whose subschemas apply to the instance where they stand (JSON Schema 2020-12, sections 10.2
# and 8.2.3): a cycle through them alone never reaches deeper data, so validating never ends.
_IN_PLACE_LISTS = ("allOf", "anyOf", "oneOf")
_IN_PLACE_SCHEMAS = ("not", "if", "then", "else")


def ref_loop(root: SchemaDocument, registry: Registry) -> reader.PathKey | None:
    """The path of the first ``$ref`` of ``root`` (in document order) that leads, through ``$ref`` and the
    keywords that stay on the same instance, into a cycle: a schema whose validation never ends. None when
    there is none. Run after :func:`unresolved_refs` found nothing (an unresolvable $ref is skipped)."""
    order = reader.document_order(root.contents)
    for path, ref, base in sorted(
        _refs(root.contents, root.uri), key=lambda f: reader.written_rank(order, f[0])
    ):
        try:
            start = registry.resolver(base_uri=base).lookup(ref)
        except Unresolvable:
            continue
        if _cycles(start.contents, start.resolver):
            return path
    return None


def _cycles(node: Any, resolver: Any) -> bool:
    """Whether the in-place subschemas reached from ``node`` come back to one on the way (depth first)."""
    on_path: set[int] = set()
    done: set[int] = set()
    stack: list[tuple[Any, Any, bool]] = [(node, resolver, False)]
    while stack:
        current, current_resolver, leaving = stack.pop()
        if leaving:
            on_path.discard(id(current))
            done.add(id(current))
            continue
        if not isinstance(current, dict) or id(current) in done:
            continue
        if id(current) in on_path:
            return True
        on_path.add(id(current))
        stack.append((current, current_resolver, True))
        nexts: list[Any] = [current.get(keyword) for keyword in _IN_PLACE_SCHEMAS]
        for keyword in _IN_PLACE_LISTS:
            branches = current.get(keyword)
            nexts.extend(branches if isinstance(branches, list) else ())
        dependent = current.get("dependentSchemas")  # on the same instance, when a member is present
        nexts.extend(dependent.values() if isinstance(dependent, dict) else ())
        for child in nexts:
            if isinstance(child, dict):
                # A subschema with its own $id is the base of the references inside it.
                child_resolver = (
                    current_resolver.in_subresource(DRAFT202012.create_resource(child))
                    if isinstance(child.get("$id"), str)
                    else current_resolver
                )
                stack.append((child, child_resolver, False))
        if isinstance(current.get("$ref"), str):
            try:
                resolved = current_resolver.lookup(current["$ref"])
            except Unresolvable:
                continue
            stack.append((resolved.contents, resolved.resolver, False))
    return False


def _unresolved_ref_findings(
    root: SchemaDocument, registry: Registry, retriever: _Retriever, entity_type: str
) -> list[Finding]:
    """Every $ref of ``root`` and of the local documents it reaches that cannot be resolved, as findings."""
    findings: list[Finding] = []
    for unresolved in unresolved_refs(root, registry, retriever.documents):
        document, ref, target = unresolved.document, unresolved.ref, unresolved.target
        if isinstance(unresolved.error, PointerToNowhere):
            reason = f"{target or document.uri} has nothing at #{urldefrag(ref).fragment}"
        elif isinstance(unresolved.error, NoSuchAnchor):
            reason = f"{target or document.uri} has no anchor {urldefrag(ref).fragment!r}"
        else:
            reason = retriever.why.get(target, "it cannot be resolved offline")
        line, column = document.locate(unresolved.path)
        message = f"unresolved {unresolved.path[-1]} {ref!r}: {reason}"
        if document is not root:
            message += f" (needed by {root.file})"
        message += f"; no {entity_type} entity is checked against this schema"
        findings.append(
            Finding(
                ERROR,
                UNRESOLVED_REF,
                message,
                file=document.file,
                line=line,
                column=column,
                json_path=reader.to_json_pointer(unresolved.path),
                category=CATEGORY_SCHEMA,
            )
        )
    return findings


def _ref_loop_findings(root: SchemaDocument, registry: Registry, entity_type: str) -> list[Finding]:
    """A ``$ref`` loop that validation would follow without end, as the finding (reported once)."""
    path = ref_loop(root, registry)
    if path is None:
        return []
    line, column = root.locate(path)
    message = (
        f"the schema refers to itself without end (a $ref loop that never reaches deeper data): no "
        f"{entity_type} entity is checked against it"
    )
    pointer = reader.to_json_pointer(path)
    return [
        Finding(
            ERROR,
            RECURSIVE_REF,
            message,
            file=root.file,
            line=line,
            column=column,
            json_path=pointer,
            category=CATEGORY_SCHEMA,
        )
    ]


def load_catalog(
    schema_paths: Iterable[str | os.PathLike[str]] = (), ref_map: Mapping[str, Path] | None = None
) -> Catalog:
    """The bundled schemas plus those under ``schema_paths``; problems found are in ``Catalog.problems``."""
    problems: list[Finding] = []
    supporting: list[SchemaDocument] = []
    # (type, document, why it cannot be used): an unusable schema of a known type leaves that type unchecked,
    # rather than checked against the bundled schema it was meant to replace, or reported as unknown.
    documents: list[tuple[str, SchemaDocument, list[Finding]]] = []

    def unusable(entity_type: str | None, path: Path, contents: Any, problem: Finding) -> None:
        if entity_type is None:
            problems.append(problem)
            return
        message = f"{problem.message}; no {entity_type} entity is checked against this schema"
        finding = dataclasses.replace(problem, message=message)
        uri = path.resolve().as_uri()
        documents.append((entity_type, SchemaDocument(uri, contents, str(path)), [finding]))

    read_files: set[Path] = set()  # a file named twice (a folder and a file in it) is read once
    for given in schema_paths:
        found_before = len(problems) + len(documents) + len(supporting)
        repeated = False
        for path, named in _schema_files(Path(given)):
            if path.resolve() in read_files:
                repeated = True
                continue
            read_files.add(path.resolve())
            loaded = _strict_json(path)
            if isinstance(loaded, Finding):
                if named:
                    # A schema.json in a <Type>/ folder names its type even when it cannot be read.
                    unusable(entity_type_of({}, path), path, {}, loaded)
                continue
            contents, locate = loaded
            if not named and not (isinstance(contents, dict) and "$schema" in contents):
                continue  # an example or another JSON file in the folder: not a schema
            if not isinstance(contents, dict):
                message = "not a valid JSON Schema: a schema is a JSON object"
                unusable(entity_type_of({}, path), path, {}, _whole_file_problem(path, message))
                continue
            uri = contents.get("$id") if isinstance(contents.get("$id"), str) else path.resolve().as_uri()
            document = SchemaDocument(urldefrag(uri).url, contents, str(path), locate)
            entity_type = entity_type_of(contents, path)
            problem = _meta_schema_problem(document)
            if problem is not None:
                unusable(entity_type, path, contents, problem)
                continue
            if entity_type is None and not named:
                # Shared definitions beside the models (a common-schema.json): a $ref target, no model.
                supporting.append(document)
                continue
            if entity_type is None:
                message = (
                    "cannot tell which entity type this schema describes: give its 'type' property an "
                    "enum of one value, or an $id ending in /<Type>/schema.json"
                )
                problems.append(_whole_file_problem(path, message))
                continue
            documents.append((entity_type, document, []))
        found = repeated or len(problems) + len(documents) + len(supporting) > found_before
        if Path(given).is_dir() and not found:
            # A mistyped folder would otherwise validate against the bundled schemas alone, in silence.
            message = "no JSON Schema in this folder (a schema.json, or a *.json that declares $schema)"
            problems.append(Finding(ERROR, NO_SCHEMA, message, file=str(given), category=CATEGORY_INPUT))
    documents, supporting, id_problems = _distinct_ids(documents, supporting)
    problems.extend(id_problems)
    retriever = _Retriever(ref_map or {})
    bundled = schemas.registry()
    # A --ref-map prefix is where the user says those documents are: it wins over a bundled copy.
    kept = [uri for uri in bundled if retriever.local_path(uri) is None]
    registry: Registry = Registry(retrieve=retriever).with_resources(  # type: ignore[call-arg]
        [(uri, bundled[uri]) for uri in kept]
        + [
            (document.uri, Resource.from_contents(document.contents, default_specification=DRAFT202012))
            for document in [*supporting, *(document for _, document, why in documents if not why)]
        ]
    )
    user_schemas: dict[str, UserSchema] = {}
    for entity_type, document, why in documents:
        if entity_type in user_schemas:
            message = (
                f"a second schema for {entity_type!r}: {user_schemas[entity_type].document.file} is used, "
                "this one is not"
            )
            problems.append(
                Finding(WARNING, DUPLICATE_TYPE, message, file=document.file, category=CATEGORY_SCHEMA)
            )
            continue
        unusable_because = why or _unresolved_ref_findings(document, registry, retriever, entity_type)
        if not unusable_because:
            unusable_because = _ref_loop_findings(document, registry, entity_type)
        user_schemas[entity_type] = UserSchema(entity_type, document, unusable_because)
        problems.extend(user_schemas[entity_type].unresolved)
    # Everything retrieved while checking goes into the registry the validators use: no lookup repeats.
    registry = registry.with_resources(
        (uri, Resource.from_contents(document.contents, default_specification=DRAFT202012))
        for uri, document in retriever.documents.items()
    )
    return Catalog(list(user_schemas.values()), registry, problems)


def _with_base(document: SchemaDocument) -> SchemaDocument:
    """The document with its URI written as its ``$id``: the base its relative ``$ref``s resolve against,
    for the validator as for the up-front check (a schema without ``$id`` is known by its file URI)."""
    if document.contents.get("$id") == document.uri:
        return document
    return dataclasses.replace(document, contents={**document.contents, "$id": document.uri})


def _distinct_ids(
    documents: list[tuple[str, SchemaDocument, list[Finding]]], supporting: list[SchemaDocument]
) -> tuple[list[tuple[str, SchemaDocument, list[Finding]]], list[SchemaDocument], list[Finding]]:
    """Every usable document under a URI of its own. A document whose ``$id`` another one given before it
    already has is known by its file URI instead (its own ``$ref``s still resolve inside it), with a
    warning: a ``$ref`` to that ``$id`` reaches the first one only."""
    first_file: dict[str, str] = {}
    problems: list[Finding] = []

    def distinct(document: SchemaDocument) -> SchemaDocument:
        if document.uri in first_file:
            message = (
                f"$id {document.uri!r} is also the $id of {first_file[document.uri]}: a $ref to it reaches "
                "that file only; give each schema its own $id"
            )
            line, column = document.locate(("$id",))
            problems.append(
                Finding(
                    WARNING,
                    DUPLICATE_ID,
                    message,
                    file=document.file,
                    line=line,
                    column=column,
                    json_path="/$id",
                    category=CATEGORY_SCHEMA,
                )
            )
            document = dataclasses.replace(document, uri=Path(document.file).resolve().as_uri())
        first_file.setdefault(document.uri, document.file)
        return _with_base(document)

    # In the order given: models first as they were listed, then shared definitions found beside them.
    kept = [(name, distinct(document) if not why else document, why) for name, document, why in documents]
    return kept, [distinct(document) for document in supporting], problems
