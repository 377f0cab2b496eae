"""The MLOps wiring lint: whether a set of entities fits together as the runtime loop needs.

``validate`` checks each entity against its schema; ``lint`` checks what no single schema can see: that an
MLProcessing points at an MLModel and a SubscriptionQuery that exist, that the query delivers the model's
inputs, that the model's write-back cannot trigger the query again, alone or through the queries of other
jobs (a notification loop), that the outputs are attributes of the entity type they are written to, that the
job uses the newest model of its name, and that the query's ``q`` and entity types make sense. Entities are
read in any form :mod:`sdmtool.forms` knows (keyValues, NGSI-LD normalized or concise, NGSI-v2 normalized)
and reduced to keyValues, every instance of a multi-instance attribute kept; names are compared as IRIs,
expanded with each entity's own ``@context``. Every finding points at the member at fault as it was written
(``/watchedAttributes/value/0`` in normalized form), with its file, line and column.

Every check looks entities up by id, type or name in indexes built once, so the lint of a set takes time in
proportion to its size (loops across jobs excepted, whose graph may have as many edges as pairs of jobs).

The rules and their codes are listed in :data:`RULES`.
"""

from __future__ import annotations

import bisect
import difflib
import functools
import json
import os
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sdmtool import forms, ngsild, reader, resources, schemas
from sdmtool.describe import show
from sdmtool.findings import ERROR, WARNING, Finding, Severity
from sdmtool.linear_regex import LinearRegex, RegexTooComplex, UnsupportedRegex, compile_posix
from sdmtool.query import parse_query
from sdmtool.subscription_checks import query_syntax_problem
from sdmtool.validate import no_entities_findings, read_error_finding

PathTuple = tuple[str | int, ...]
# (line, column) of a path in the entity, or of a character of the string value there.
Locator = Callable[[PathTuple, int | None], tuple[int | None, int | None]]

# Every finding code of the lint, with what it means (the severity is in brackets when it varies).
RULES: dict[str, str] = {
    "lint.ref.missing": "A reference names an id that is not in the set of entities (error; a warning for "
    "refOutputEntity, whose entity may be created later).",
    "lint.ref.type": "A reference names an entity of the wrong type.",
    "lint.ref.absent": "An MLProcessing has no refMLModel or no refSubscriptionQuery (or an empty list "
    "there): the job cannot run.",
    "lint.not-entity": "A value of the set is no entity with an id: the wiring checks leave it out.",
    "lint.inputs.not-notified": "The SubscriptionQuery's notification.attributes or pick leaves out a model "
    "input, or its omit removes one.",
    "lint.loop": "The model's write-back triggers its own SubscriptionQuery again (error when "
    "watchedAttributes holds a model output; a warning when there are no watchedAttributes), or the "
    "write-backs of several jobs trigger one another's subscriptions in a circle (error; jobs that share a "
    "SubscriptionQuery without watchedAttributes count as several, as sdm-runtime subscribes each on its "
    "model's inputs; a warning when the circle holds only if two idPatterns, which cannot be compared, "
    "match common ids).",
    "lint.output.undeclared": "A model output is not an attribute of the entity type it is written to (of "
    "any type of an entity of several; of every alternative of a type selection).",
    "lint.model.outdated": "The MLProcessing uses an older version of a model than another MLModel of the "
    "same name in the set.",
    "lint.model.unordered": "Two MLModels of the same name have versions that cannot be ordered.",
    "lint.query.syntax": "The SubscriptionQuery's q is not a valid NGSI-LD query, or an entities[].type is "
    "no valid type selection (clause 4.17).",
    "lint.query.attribute": "The SubscriptionQuery's q reads an attribute the selected types do not declare.",
    "lint.query.unknown-type": "A type named by an entities[].type of the SubscriptionQuery has no bundled "
    "schema.",
    "lint.duplicate-id": "Two different entities have the same id; both are checked, and each reference to "
    "the id against both.",
}

# (entity type, reference member, type it must point at; None: any type, warn when absent)
REFERENCES: tuple[tuple[str, str, str | None], ...] = (
    ("MLProcessing", "refMLModel", "MLModel"),
    ("MLProcessing", "refSubscriptionQuery", "SubscriptionQuery"),
    ("MLProcessing", "refOutputEntity", None),
    ("MLModel", "refMLProcessing", "MLProcessing"),
    ("HandwritingDigit", "refMLModel", "MLModel"),
)

# System members that a broker adds: two copies of one entity that differ only there are the same entity.
_SYSTEM_MEMBERS = ("@context", "createdAt", "modifiedAt", "deletedAt")

_MISSING: Any = object()


# --- names ---------------------------------------------------------------------------------------------

# Names no context defines expand under the core @vocab, as on a broker (clause 5.5.7).
_CORE_VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"
# Contexts met in the set, each an entity's own @context: bounded, since every inline object is a new key.
_TERMS_CACHE_LIMIT = 256


class _Terms:
    """The term map of one @context, reduced to what the lint compares: attribute and type names -> IRIs.

    Built from inline objects and the bundled contexts (the subject and core ones) only: a URL without a
    bundled copy adds nothing, so its names keep their meaning in the subject context."""

    def __init__(self, terms: dict[str, str], vocab: str) -> None:
        self.terms = terms
        self.vocab = vocab
        self._expanded: dict[str, str] = {}

    def expand(self, name: str) -> str:
        cached = self._expanded.get(name)
        if cached is not None:
            return cached
        iri = self.terms.get(name)
        if iri is None:
            prefix, colon, suffix = name.partition(":")
            if not colon:
                iri = self.vocab + name
            elif prefix in self.terms and not suffix.startswith("//"):
                iri = self.terms[prefix] + suffix  # a compact IRI such as ngsi-ld:q
            else:
                iri = name  # an absolute IRI (https://…, urn:…)
        if len(self._expanded) < 4096:  # names come from the files: the cache must not grow without end
            self._expanded[name] = iri
        return iri


@functools.cache
def _bundled_context(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except (OSError, ValueError):
        return None  # a broken installation: the names keep their meaning without that context
    return document.get("@context") if isinstance(document, dict) else None


def _known_context(url: str) -> Any:
    """The @context of a URL with a bundled copy (any version of the core context), else None."""
    files = resources.local_context_files()
    path = files.get(url)
    if path is None and resources.is_core_context_url(url):
        path = resources.core_context_path()
    return _bundled_context(str(path)) if path is not None else None


class _TermsBuilder:
    """Applies context entries in order, as a JSON-LD processor does for term definitions."""

    def __init__(self) -> None:
        self.terms: dict[str, str] = {}
        self.vocab = _CORE_VOCAB
        self._loading: list[str] = []

    def apply(self, entry: Any) -> None:
        if isinstance(entry, list):
            for item in entry:
                self.apply(item)
        elif isinstance(entry, str) and entry not in self._loading:
            document = _known_context(entry)
            if document is not None:
                self._loading.append(entry)  # a context that includes itself is applied once
                self.apply(document)
                self._loading.pop()
        elif isinstance(entry, dict):
            vocab = entry.get("@vocab")
            if isinstance(vocab, str):
                self.vocab = self._resolve(vocab, entry, frozenset())
            for term, definition in entry.items():
                if term.startswith("@"):
                    continue
                if definition is None:
                    self.terms.pop(term, None)  # a null definition clears the term
                    continue
                raw = definition.get("@id", term) if isinstance(definition, dict) else definition
                if isinstance(raw, str) and not raw.startswith("@"):
                    self.terms[term] = self._resolve(raw, entry, frozenset({term}))

    def _resolve(self, value: str, local: Mapping[str, Any], visiting: frozenset[str]) -> str:
        """The IRI of a definition: a term (of this object or an earlier context), a compact IRI whose prefix
        is one, an absolute IRI, or a name under @vocab."""
        prefix, colon, suffix = value.partition(":")
        if colon and suffix.startswith("//"):
            return value
        looked_up = self._lookup(prefix if colon else value, local, visiting)
        if colon:
            return looked_up + suffix if looked_up is not None else value
        return looked_up if looked_up is not None else self.vocab + value

    def _lookup(self, term: str, local: Mapping[str, Any], visiting: frozenset[str]) -> str | None:
        if term in local and term not in visiting:
            definition = local[term]
            raw = definition.get("@id") if isinstance(definition, dict) else definition
            if isinstance(raw, str) and not raw.startswith("@"):
                return self._resolve(raw, local, visiting | {term})
        return self.terms.get(term)


_TERMS: dict[str, _Terms] = {}


def _terms_for(context: Any) -> _Terms:
    """Names as a broker reads them in an entity with this @context: the subject context first (the one
    sdm-runtime sends, so the names of an entity without @context mean what they mean to the runtime), then
    the entity's own entries, then the core context, which NGSI-LD always applies last."""
    key = json.dumps(context, sort_keys=True, default=str)
    cached = _TERMS.get(key)
    if cached is not None:
        return cached
    builder = _TermsBuilder()
    builder.apply(resources.SUBJECT_CONTEXT_URL)
    if context is not None:
        builder.apply(context)
    builder.apply(resources.CORE_CONTEXT_URL)
    terms = _Terms(builder.terms, builder.vocab)
    if len(_TERMS) >= _TERMS_CACHE_LIMIT:
        _TERMS.clear()
    _TERMS[key] = terms
    return terms


def expand(name: str) -> str:
    """The IRI a broker stores for a name written without an @context of its own (``predictedDigit`` and its
    full IRI are the same attribute): the names of the schemas, and those the lint looks up."""
    return _terms_for(None).expand(name)


@functools.cache
def _known_types() -> dict[str, str]:
    """IRI -> bundled type name."""
    return {expand(name): name for name in schemas.entity_types()}


@functools.cache
def _declared(entity_type: str) -> frozenset[str]:
    """The IRIs of the attributes a bundled type declares."""
    return frozenset(expand(name) for name in schemas.attributes(entity_type))


# --- versions ----------------------------------------------------------------------------------------

_VERSION = re.compile(r"[vV]?([0-9]+(?:\.[0-9]+)*)(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?")


@dataclass(frozen=True, order=True)
class _Version:
    release: tuple[int, ...]
    pre: tuple[Any, ...]  # (1,) for a release, (0, identifiers) for a pre-release: a release sorts after
    build: str = field(default="", compare=False)


def parse_version(text: str) -> _Version | None:
    """``1.2.0``, ``v2``, ``12``, ``1.0.0-rc.1``, ``1.0.0+cc555ead`` (semantic versions, trailing zeros
    optional) -> an orderable key; None when the text is no version."""
    match = _VERSION.fullmatch(text.strip())
    if not match:
        return None
    release = [int(part) for part in match.group(1).split(".")]
    while len(release) > 1 and release[-1] == 0:
        release.pop()  # 1.2 == 1.2.0
    pre_release = match.group(2)
    if pre_release is None:
        pre: tuple[Any, ...] = (1,)
    else:
        # Numeric identifiers compare as numbers and sort before alphanumeric ones (semver 11.4).
        pre = (0, tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre_release.split(".")))
    return _Version(tuple(release), pre, match.group(3) or "")


def compare_versions(a: str, b: str) -> int | None:
    """-1, 0 or 1 as ``a`` is older than, as new as, or newer than ``b``; None when they cannot be ordered
    (one is no version, or both are one version with different build metadata)."""
    key_a, key_b = parse_version(a), parse_version(b)
    if key_a is None or key_b is None:
        return None if a != b else 0
    if key_a == key_b:
        return 0 if key_a.build == key_b.build else None
    return -1 if key_a < key_b else 1


# A model's version: parsed (None when it is no version, then equal only to the same text) and as written.
_VersionKey = tuple[_Version | None, str]


class _VersionGroup:
    """The versions of the MLModels of one name, each parsed once: which is newest, and which cannot be
    ordered with which, are looked up, not compared pair by pair (a name may have thousands of versions)."""

    def __init__(self, models: Iterable[_Entity]) -> None:
        self.keys: dict[int, _VersionKey] = {}  # model seq -> its version
        self.unparsed: dict[str, list[_Entity]] = {}  # text -> models, texts in the order met
        self.parsed: dict[_Version, dict[str, list[_Entity]]] = {}  # version -> build -> models
        ranked: list[tuple[_Version, _Entity]] = []  # in the order of the set
        for model in models:
            text = model.get("version")
            if not isinstance(text, str):
                continue
            parsed = parse_version(text)
            self.keys[model.seq] = (parsed, text)
            if parsed is None:
                self.unparsed.setdefault(text, []).append(model)
            else:
                self.parsed.setdefault(parsed, {}).setdefault(parsed.build, []).append(model)
                ranked.append((parsed, model))
        # Newest first; of equal versions, the first met (sorted() is stable, reverse included).
        self.ranked = sorted(ranked, key=lambda item: item[0], reverse=True)
        self.parsed_in_order = [model for _, model in ranked]
        self.count = len(self.keys)
        self.count_unparsed = sum(len(models) for models in self.unparsed.values())
        self.count_parsed = {
            version: sum(map(len, builds.values())) for version, builds in self.parsed.items()
        }

    def text(self, model: _Entity) -> str:
        return self.keys[model.seq][1]

    def newer_than(self, model: _Entity, key: _VersionKey) -> _Entity | None:
        """The newest model of the name when it is newer than ``model`` (copies of its id left out)."""
        version = key[0]
        if version is None:
            return None
        for other_version, other in self.ranked:
            if not other_version > version:
                return None
            if other.id != model.id:  # another copy of its id: lint.duplicate-id says so
                return other
        return None

    @staticmethod
    def _unordered(key: _VersionKey, other: _VersionKey) -> bool:
        """As compare_versions(...) is None, from the parsed keys."""
        if key[0] is None or other[0] is None:
            return key[1] != other[1]
        return key[0] == other[0] and key[0].build != other[0].build

    def unordered_with(
        self, model: _Entity, key: _VersionKey, copies: Iterable[_Entity]
    ) -> tuple[_Entity, int] | None:
        """A model whose version cannot be ordered with ``model``'s, and how many there are (copies of its
        id left out), counted from the group's indexes."""
        version, text = key
        if version is None:  # no version: unordered with every other text
            count = self.count - len(self.unparsed.get(text, []))
            others = (models for other_text, models in self.unparsed.items() if other_text != text)
            sources: list[Iterable[_Entity]] = [
                (other for models in others for other in models),
                self.parsed_in_order,
            ]
        else:  # a version: unordered with the texts that are none, and with its own other builds
            builds = self.parsed.get(version, {})
            count = self.count_unparsed + self.count_parsed[version] - len(builds.get(version.build, []))
            sources = [
                (other for models in self.unparsed.values() for other in models),
                (other for build, models in builds.items() if build != version.build for other in models),
            ]
        own = [copy for copy in copies if copy is not model and copy.seq in self.keys]
        count -= sum(self._unordered(key, self.keys[copy.seq]) for copy in own)
        if count <= 0:
            return None
        # The first met in each source (copies of its id left out), and of those the first in the set.
        firsts = [next((other for other in source if other.id != model.id), None) for source in sources]
        found = [other for other in firsts if other is not None]
        return (min(found, key=lambda other: other.seq), count) if found else None


# --- the entities of the set -------------------------------------------------------------------------

# One value of a member: its keyValues path and the value. A multi-instance attribute (an NGSI-LD array of
# instances with datasetId, {"dataset": {...}} in keyValues) has one per instance, at /name/dataset/<id>.
Instance = tuple[PathTuple, Any]


def _is_dataset(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("dataset"), dict)


def _instances(name: str, value: Any) -> list[Instance]:
    if _is_dataset(value):
        return [((name, "dataset", dataset_id), item) for dataset_id, item in value["dataset"].items()]
    return [((name,), value)]


@dataclass(eq=False)
class _Entity:
    """One entity of the set: as written (for paths) and reduced to keyValues (for the checks)."""

    raw: dict[str, Any]
    kv: dict[str, Any]
    form: str
    id: str
    types: tuple[str, ...]  # bundled type names where the type is bundled, else the names as written
    type_iris: frozenset[str]
    terms: _Terms  # the entity's own @context: how the names written in it read
    source: str | None
    index: int | None
    locate: Locator | None
    seq: int
    document: int | None = None  # a YAML document of a multi-document file, as Finding.document
    # The JSON pointer of a path as written (under a notification's /data/3, a Feature's properties).
    pointer: Callable[[PathTuple], str] = reader.to_json_pointer
    partial: bool = False  # an entity of a notification: only the notified attributes are there
    members: dict[str, str] = field(default_factory=dict)  # expanded IRI -> member name as written

    def __post_init__(self) -> None:
        for name in self.kv:
            if name not in forms.ENTITY_MEMBERS:
                self.members.setdefault(self.terms.expand(name), name)

    def is_a(self, entity_type: str) -> bool:
        return entity_type in self.types

    @property
    def type_label(self) -> str:
        return "/".join(self.types) or "entity"

    @property
    def label(self) -> str:
        return f"{self.type_label} {self.id}"

    def expand(self, name: str) -> str:
        """The IRI of an attribute name written in this entity (a member, or an item of a list of names)."""
        return self.terms.expand(name)

    def key(self, name: str) -> str:
        """The member as written for an attribute name (it may be written as its IRI, or an alias)."""
        return self.members.get(expand(name), name)

    def instances(self, name: str) -> list[Instance]:
        """Every value of a member, with its path (none when it is absent)."""
        value = self.kv.get(self.key(name), _MISSING)
        return [] if value is _MISSING else _instances(name, value)

    def get(self, name: str) -> Any:
        """The value of a member; of a multi-instance attribute, its default instance (else the first)."""
        value = self.kv.get(self.key(name), _MISSING)
        if _is_dataset(value):
            dataset = value["dataset"]
            return dataset["@none"] if "@none" in dataset else next(iter(dataset.values()), _MISSING)
        return value

    def has_list(self, name: str) -> bool:
        return any(isinstance(value, list) for _, value in self.instances(name))

    def strings(self, name: str) -> list[tuple[PathTuple, str]]:
        """(path, item) for the strings of a list attribute, in every instance."""
        return [
            ((*path, index), item)
            for path, value in self.instances(name)
            if isinstance(value, list)
            for index, item in enumerate(value)
            if isinstance(item, str)
        ]

    def written_path(self, path: PathTuple) -> PathTuple:
        """Path in the document as written for a path in the keyValues reduction."""
        if path and isinstance(path[0], str):
            path = (self.key(path[0]), *path[1:])
        if self.form in (forms.NORMALIZED, forms.CONCISE):
            return tuple(forms.original_path(self.raw, path))
        head = self.raw.get(path[0]) if path else None
        if self.form == forms.KEY_VALUES and forms.is_date_time_wrapper(head):
            return (path[0], "@value", *path[1:])
        if self.form == forms.NGSIV2_NORMALIZED and forms.is_ngsiv2_attribute(head):
            return (path[0], "value", *path[1:])
        return path


def _reduce(entity: dict[str, Any]) -> tuple[dict[str, Any], str]:
    form = forms.detect_form(entity)
    if form in (forms.NORMALIZED, forms.CONCISE):
        reduced = forms.to_key_values(entity)
    elif form == forms.NGSIV2_NORMALIZED:
        reduced = forms.from_ngsiv2_normalized(entity)
    else:
        reduced = {
            name: member["@value"] if forms.is_date_time_wrapper(member) else member
            for name, member in entity.items()
        }
    return reduced, form


def _types(entity: Mapping[str, Any], terms: _Terms) -> tuple[tuple[str, ...], frozenset[str]]:
    """The entity's type names (bundled names where known) and their IRIs."""
    value = entity.get("type")
    names = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    labels: dict[str, str] = {}
    for name in names:
        if isinstance(name, str):
            iri = terms.expand(name)
            labels.setdefault(iri, _known_types().get(iri, name))
    return tuple(dict.fromkeys(labels.values())), frozenset(labels)


def _names(values: Iterable[str]) -> str:
    return ", ".join(values)


def _did_you_mean(word: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.75)
    return f" (did you mean {close[0]}?)" if close else ""


# Ids compared with a missing reference: every id of the type up to this many, else those that sort next to
# it (by their beginning, and by their end): a typo keeps one of the two, and the suggestion costs the same
# whatever the size of the set.
_SUGGESTION_POOL = 16


def _neighbours(ordered: Sequence[str], word: str) -> Sequence[str]:
    at = bisect.bisect_left(ordered, word)
    half = _SUGGESTION_POOL // 4
    return ordered[max(0, at - half) : at + half]


# --- entity selection (entities[] of a SubscriptionQuery) --------------------------------------------


@dataclass(frozen=True)
class _Selector:
    """One entities[] item of a SubscriptionQuery, read as a broker reads it."""

    path: PathTuple  # of the selector, in the keyValues reduction
    text: str  # its type, as written
    # Type IRIs: an entity is selected when it has every type of one group (an empty group: any type).
    # None: no valid type selection, which a broker refuses.
    groups: tuple[frozenset[str], ...] | None
    names: tuple[str, ...]  # the type names of the selection, as written
    name_groups: tuple[tuple[str, ...], ...]  # the groups as written, in order (empty for "*")
    problem: str | None
    id: Any
    id_pattern: Any

    def match_id(self, entity_id: str) -> bool | None:
        """Whether the selector takes an entity of that id; None when it cannot be told."""
        # As the broker: with an id, the id decides and idPattern is not looked at.
        if self.id is not _MISSING:
            return bool(self.id == entity_id)
        if not isinstance(self.id_pattern, str):
            return True
        if self.pattern is None:
            return None  # a broker refuses it; whether it would match is unknown
        try:
            return self.pattern.search(entity_id) is not None
        except RegexTooComplex:
            return False  # as the broker's subscriptions take it: no match, no notification

    @functools.cached_property
    def pattern(self) -> LinearRegex | None:
        """The idPattern compiled, kept by the selector: a set may have more patterns than the shared
        cache of compiled patterns holds, and each is matched against many ids."""
        try:
            return compile_posix(self.id_pattern) if isinstance(self.id_pattern, str) else None
        except UnsupportedRegex:
            return None

    def select(self, entity: _Entity) -> bool | None:
        """Whether the selector takes the entity; None when it cannot be told."""
        if self.groups is None or not any(group <= entity.type_iris for group in self.groups):
            return False
        return self.match_id(entity.id)

    def selects(self, entity: _Entity) -> bool:
        return self.select(entity) is not False  # unknown: assume it does

    def may_select_what(self, other: _Selector, blind: bool = False) -> bool | None:
        """Whether an entity of a single type the two selections share may be selected by both; None when
        only assumed: two different idPatterns, which cannot be compared (they may share ids or not).
        ``blind``: as if the other's idPattern were none of this one's (when this one has no id)."""
        if self.groups is None or other.groups is None:
            return False
        if not any(not a or not b or a & b for a in self.groups for b in other.groups):
            return False
        if self.id is not _MISSING and isinstance(self.id, str):
            return other.match_id(self.id)
        if other.id is not _MISSING and isinstance(other.id, str):
            return self.match_id(other.id)
        if isinstance(self.id_pattern, str) and isinstance(other.id_pattern, str):
            return True if self.id_pattern == other.id_pattern and not blind else None
        return True  # no pattern on one side: it takes what the other pattern does


def _selector(query: _Entity, path: PathTuple, item: Mapping[str, Any]) -> _Selector:
    text = item["type"]
    groups: tuple[frozenset[str], ...] | None = None
    names: tuple[str, ...] = ()
    name_groups: tuple[tuple[str, ...], ...] = ()
    problem = None
    if text.strip() == "*":
        groups = (frozenset(),)  # every type
    else:
        try:
            parsed = ngsild.parse_type_selection(text)
        except ValueError as exc:
            problem = str(exc)
        else:
            groups = tuple(frozenset(query.expand(name) for name in group) for group in parsed)
            names = tuple(dict.fromkeys(name for group in parsed for name in group))
            name_groups = tuple(tuple(dict.fromkeys(group)) for group in parsed)
    return _Selector(
        path, text, groups, names, name_groups, problem, item.get("id", _MISSING), item.get("idPattern")
    )


def _may_overlap(
    first: Sequence[_Selector] | None, second: Sequence[_Selector] | None, blind: bool = False
) -> bool | None:
    """Whether an entity may be selected by both queries (no selector: any entity); None when only
    assumed (see :meth:`_Selector.may_select_what`)."""
    if not first or not second:
        return True
    return _any(a.may_select_what(b, blind) for a in first for b in second)


def _any(verdicts: Iterable[bool | None]) -> bool | None:
    """True if one verdict is, else None if one cannot be told, else False."""
    result: bool | None = False
    for verdict in verdicts:
        if verdict:
            return True
        if verdict is None:
            result = None
    return result


# --- the checks --------------------------------------------------------------------------------------


class _Linter:
    def __init__(self) -> None:
        self.entities: list[_Entity] = []
        # Every entity of an id: two that differ are both checked, and a reference to the id against each.
        self.by_id: dict[str, list[_Entity]] = {}
        self.findings: list[tuple[int, int, Finding]] = []  # (entity seq, rank, finding)
        self.count = 0  # entities met, duplicates included: the order of the findings
        self.skipped: list[Finding] = []  # values that are no entity with an id
        self.jobs: list[_Job] = []
        # Indexes built once, on first use, so that no check looks at every entity of the set.
        self._models_by_name: dict[str, list[_Entity]] | None = None
        self._version_groups: dict[str, _VersionGroup] = {}
        self._processings_by_query: dict[str, list[str]] | None = None
        self._ids_by_type: dict[str, tuple[list[str], list[str]]] = {}
        self._selectors: dict[int, list[_Selector] | None] = {}

    # Building the set ----------------------------------------------------------------------------------

    def add(
        self,
        value: Any,
        *,
        source: str | None,
        index: int | None,
        locate: Locator | None,
        document: int | None = None,
        pointer: Callable[[PathTuple], str] = reader.to_json_pointer,
        partial: bool = False,
    ) -> str | None:
        """Adds an entity to the set; returns the form it is written in (None: not one the lint can use)."""
        # What is not an entity with an id cannot be referenced: said here, `sdmtool validate` says why.
        if not isinstance(value, dict) or not isinstance(value.get("id"), str):
            self.skipped.append(_skipped(value, source, index, locate, document, pointer))
            return None
        try:
            kv, form = _reduce(value)
        except (TypeError, ValueError, KeyError, AttributeError):
            return None  # a shape the forms cannot reduce: validate's business
        terms = _terms_for(value.get("@context"))
        types, type_iris = _types(value, terms)
        entity = _Entity(
            raw=value,
            kv=kv,
            form=form,
            id=value["id"],
            types=types,
            type_iris=type_iris,
            terms=terms,
            source=source,
            index=index,
            locate=locate,
            seq=self.count,
            document=document,
            pointer=pointer,
            partial=partial,
        )
        self.count += 1
        copies = self.by_id.setdefault(entity.id, [])
        comparable = _comparable(kv)
        if any(_comparable(copy.kv) == comparable for copy in copies):
            return form  # the same entity in another form (the examples folder) or a second copy
        if copies:
            # Which copy a broker would keep depends on the order of the writes: check both, so that the
            # outcome does not depend on the order of the files.
            self.report(
                WARNING,
                "lint.duplicate-id",
                f"{entity.id} is also defined at {_where(copies[0])} with different content: the lint "
                "checks both, and each reference to the id against both",
                entity,
                ("id",),
            )
        copies.append(entity)
        self.entities.append(entity)
        return form

    # Reporting -----------------------------------------------------------------------------------------

    def report(
        self,
        severity: Severity,
        code: str,
        message: str,
        entity: _Entity,
        path: PathTuple,
        *,
        string_index: int | None = None,
    ) -> None:
        written = entity.written_path(path)
        line, column = entity.locate(written, string_index) if entity.locate else (None, None)
        finding = Finding(
            severity=severity,
            code=code,
            message=message,
            file=entity.source,
            line=line,
            column=column,
            json_path=entity.pointer(written),
            entity_id=entity.id,
            entity_type=entity.type_label,
            form=entity.form,
            index=entity.index,
            document=entity.document,
        )
        self.findings.append((entity.seq, len(self.findings), finding))

    def run(self) -> list[Finding]:
        for entity in self.entities:
            self.references(entity)
            if entity.is_a("SubscriptionQuery"):
                self.query(entity)
            if entity.is_a("MLProcessing"):
                self.wiring(entity)
        self.loops_across_jobs()
        unique: dict[tuple[Any, ...], tuple[int, int, Finding]] = {}
        for seq, rank, finding in self.findings:
            key = (seq, finding.code, finding.json_path, finding.message)
            unique.setdefault(key, (seq, rank, finding))
        ordered = sorted(
            unique.values(),
            key=lambda item: (item[0], item[2].line or 0, item[2].column or 0, item[1]),
        )
        return [finding for _, _, finding in ordered]

    # Indexes -------------------------------------------------------------------------------------------

    def models_named(self, name: str) -> list[_Entity]:
        if self._models_by_name is None:
            self._models_by_name = {}
            for entity in self.entities:
                model_name = entity.get("name") if entity.is_a("MLModel") else None
                if isinstance(model_name, str):
                    self._models_by_name.setdefault(model_name, []).append(entity)
        return self._models_by_name.get(name, [])

    def processings_of(self, query_id: str) -> list[str]:
        """The ids of the MLProcessings whose refSubscriptionQuery names the query, in the set's order."""
        if self._processings_by_query is None:
            users: dict[str, dict[str, None]] = {}
            for entity in self.entities:
                if entity.is_a("MLProcessing"):
                    for _, value in entity.instances("refSubscriptionQuery"):
                        for ref in value if isinstance(value, list) else [value]:
                            if isinstance(ref, str):
                                users.setdefault(ref, {})[entity.id] = None
            self._processings_by_query = {ref: list(ids) for ref, ids in users.items()}
        return self._processings_by_query.get(query_id, [])

    def suggestion(self, ref: str, target_type: str) -> str:
        """`` (did you mean …?)`` for a reference to an id of that type that is not in the set."""
        index = self._ids_by_type.get(target_type)
        if index is None:
            ids = sorted({entity.id for entity in self.entities if entity.is_a(target_type)})
            index = ids, sorted(entity_id[::-1] for entity_id in ids)
            self._ids_by_type[target_type] = index
        ids, reversed_ids = index
        if len(ids) <= _SUGGESTION_POOL:
            return _did_you_mean(ref, ids)
        candidates = [*_neighbours(ids, ref), *(i[::-1] for i in _neighbours(reversed_ids, ref[::-1]))]
        return _did_you_mean(ref, dict.fromkeys(candidates))

    def selectors(self, query: _Entity) -> list[_Selector] | None:
        """The entity selectors of a SubscriptionQuery; None when it has no entities (any entity)."""
        if query.seq in self._selectors:
            return self._selectors[query.seq]
        lists = [(path, value) for path, value in query.instances("entities") if isinstance(value, list)]
        selectors: list[_Selector] | None = None
        if lists:
            selectors = [
                _selector(query, (*path, position), item)
                for path, value in lists
                for position, item in enumerate(value)
                if isinstance(item, dict) and isinstance(item.get("type"), str)
            ]
        self._selectors[query.seq] = selectors
        return selectors

    # Rule 1: references --------------------------------------------------------------------------------

    def references(self, entity: _Entity) -> None:
        for owner_type, member, target_type in REFERENCES:
            if not entity.is_a(owner_type):
                continue
            instances = entity.instances(member)
            # An empty list names no entity: the job has no model (or query) all the same.
            if all(value == [] for _, value in instances):
                if owner_type == "MLProcessing" and target_type is not None:
                    self.absent(entity, member)
                continue
            for path, value in instances:  # every instance of a multi-instance attribute is a reference
                refs = [((*path, i), item) for i, item in enumerate(value)] if isinstance(value, list) else []
                for ref_path, ref in refs or [(path, value)]:
                    if isinstance(ref, str):  # else not a URI: `sdmtool validate` says so
                        self.reference(entity, owner_type, member, ref, target_type, ref_path)

    def absent(self, entity: _Entity, member: str) -> None:
        if entity.partial:
            return  # a notification carries only the attributes it was asked for
        consequence = {
            "refMLModel": "no runtime takes the job up",
            "refSubscriptionQuery": "the runtime has no data to subscribe to and fails the job",
        }[member]
        self.report(
            WARNING, "lint.ref.absent", f"{entity.label} has no {member}: {consequence}", entity, (member,)
        )

    def reference(
        self,
        entity: _Entity,
        owner_type: str,
        member: str,
        ref: str,
        target_type: str | None,
        path: PathTuple,
    ) -> None:
        targets = self.by_id.get(ref)
        where = f"{member} of {owner_type} {entity.id}"
        if not targets:
            if target_type is None:
                message = (
                    f"{where} points at {ref}, which is not in the set: results are written with "
                    "POST /entities/{id}/attrs, which fails until that entity exists"
                )
                self.report(WARNING, "lint.ref.missing", message, entity, path)
                return
            message = f"{where} points at {ref}: no {target_type} with that id in the set"
            self.report(ERROR, "lint.ref.missing", message + self.suggestion(ref, target_type), entity, path)
            return
        for target in targets:
            if target_type is not None and not target.is_a(target_type):
                message = f"{where} points at {ref}, which is a {target.type_label}, not a {target_type}"
                self.report(ERROR, "lint.ref.type", message, entity, path)

    def resolved(self, entity: _Entity, member: str, target_type: str) -> list[_Entity]:
        """The entities of the right type a reference names: of every instance, every copy of the id."""
        found: dict[int, _Entity] = {}
        for _, ref in entity.instances(member):
            for target in self.by_id.get(ref, []) if isinstance(ref, str) else []:
                if target.is_a(target_type):
                    found.setdefault(target.seq, target)
        return list(found.values())

    # Rules 2 to 5: one MLProcessing job ----------------------------------------------------------------

    def wiring(self, processing: _Entity) -> None:
        models = self.resolved(processing, "refMLModel", "MLModel")
        queries = self.resolved(processing, "refSubscriptionQuery", "SubscriptionQuery")
        for model in models:
            self.versions(processing, model)
            for query in queries:
                job = _Job(self, processing, model, query)
                self.jobs.append(job)
                job.inputs_notified()
                job.loop()
                job.outputs_declared()

    def versions(self, processing: _Entity, model: _Entity) -> None:
        name, version = model.get("name"), model.get("version")
        if not isinstance(name, str) or not isinstance(version, str):
            return
        group = self.version_group(name)
        key = group.keys.get(model.seq)
        if key is None:
            return  # not in the group (cannot happen: every MLModel of the name is): nothing to compare
        unordered = group.unordered_with(model, key, self.by_id.get(model.id, []))
        if unordered is not None:
            other, count = unordered
            more = (
                f" ({count - 1} more MLModels of that name cannot be ordered with it either)"
                if count > 1
                else ""
            )
            message = (
                f"{processing.label} uses MLModel {model.id} version {version}, and MLModel {other.id} "
                f"has the same name {show(name)} and version {group.text(other)}: the two versions "
                f"cannot be ordered, so which one is newer is unknown{more}"
            )
            self.report(WARNING, "lint.model.unordered", message, processing, ("refMLModel",))
        latest = group.newer_than(model, key)
        if latest is not None:
            message = (
                f"{processing.label} uses MLModel {model.id} version {version}, older than MLModel "
                f"{latest.id} version {group.text(latest)} with the same name {show(name)}: point "
                "refMLModel at the newer model, or remove the old one"
            )
            self.report(WARNING, "lint.model.outdated", message, processing, ("refMLModel",))

    def version_group(self, name: str) -> _VersionGroup:
        group = self._version_groups.get(name)
        if group is None:
            group = self._version_groups[name] = _VersionGroup(self.models_named(name))
        return group

    # Rule 3 across jobs: a loop through the queries of several jobs ------------------------------------

    def loops_across_jobs(self) -> None:
        """Each loop that no single job closes (job -> the jobs its write-back notifies -> ... -> itself),
        once, at the SubscriptionQuery of its first job. Jobs that notify one another through more than one
        loop (a knot: a strongly connected component) are one finding, with the shortest loop through the
        first job and the other jobs named: their loops may be as many as the ways round the knot. A loop
        that runs only if idPatterns that cannot be compared share ids is a warning, the others errors."""
        # Numbered in the order of the ids, so that the loop reported does not depend on the order of the
        # files (sorted() is stable: jobs of equal ids keep the order of the set).
        jobs = sorted(self.jobs, key=lambda job: job.order)
        # IRI -> selection key -> the jobs whose subscription that IRI notifies: whether a write-back lands
        # where a query selects is decided once per key, never per pair of jobs (pairs may be millions),
        # and by the keys blind to idPatterns for a job that only compares patterns with patterns.
        watching: dict[str, dict[Any, list[int]]] = {}
        watching_blind: dict[str, dict[Any, list[int]]] = {}
        by_pattern: dict[str, dict[Any, set[int]]] = {}  # idPattern -> selection key -> jobs
        by_query: dict[int, list[int]] = {}
        for number, job in enumerate(jobs):
            for iri in job.trigger_iris:
                watching.setdefault(iri, {}).setdefault(job.selection_key, []).append(number)
                watching_blind.setdefault(iri, {}).setdefault(job.blind_key, []).append(number)
            for pattern in job.patterns:
                by_pattern.setdefault(pattern, {}).setdefault(job.selection_key, set()).add(number)
            by_query.setdefault(job.query.seq, []).append(number)
        # edges[j]: the jobs that the write-back of job j notifies; sure[j]: those it surely notifies.
        edges: list[list[int]] = []
        sure: list[list[int]] = []
        for number, job in enumerate(jobs):
            blind = job.compares_blind
            verdicts: dict[Any, bool | None] = {}  # this job's only: a cache of pairs would hold millions
            hit: set[int] = set()
            assumed: set[int] = set()
            for iri in job.output_iris:
                for key, members in (watching_blind if blind else watching).get(iri, {}).items():
                    if key in verdicts:
                        verdict = verdicts[key]
                    else:
                        verdict = verdicts[key] = job.feeds(jobs[members[0]], blind)
                    if verdict:
                        hit.update(members)
                    elif verdict is None:
                        assumed.update(members)
            if blind and assumed:
                # Blind, a query of this job's own idPattern was assumed to overlap: it surely does.
                for pattern in job.patterns:
                    for group in by_pattern[pattern].values():
                        same = assumed & group
                        if same and job.feeds(jobs[next(iter(same))]):
                            hit |= same
                            assumed -= same
            if job.query.instances("watchedAttributes"):
                # One watched list for every job of the query: an output of this job that another job of
                # the query watches is watched by this job too, which rule 3 reports (fixing that breaks
                # this loop). Without watchedAttributes, sdm-runtime makes each job a subscription of its
                # own, watching its model's inputs: those loop like the subscriptions of two queries.
                hit.difference_update(by_query[job.query.seq])
                assumed.difference_update(by_query[job.query.seq])
            hit.discard(number)
            assumed.discard(number)
            sure.append(sorted(hit))
            edges.append(sorted(hit | assumed))
        reported: set[int] = set()
        for component in _strongly_connected(sure):
            if len(component) > 1:
                reported.update(component)
                self.report_component(jobs, sure, sure, component)
        if sum(map(len, sure)) == sum(map(len, edges)):
            return  # no loop is only assumed
        for component in _strongly_connected(edges):
            # A knot with a sure loop is an error already; the loops it holds that are only assumed are
            # left out, so as not to report one knot twice.
            if len(component) > 1 and reported.isdisjoint(component):
                self.report_component(jobs, edges, sure, component)

    def report_component(
        self,
        jobs: Sequence[_Job],
        edges: Sequence[list[int]],
        sure: Sequence[list[int]],
        component: list[int],
    ) -> None:
        ordered = sorted(component)
        cycle = _shortest_cycle(edges, set(component), ordered[0])
        others = [jobs[n] for n in ordered if n not in cycle]
        steps = [(n, cycle[(i + 1) % len(cycle)]) for i, n in enumerate(cycle)]
        assumed = [(jobs[a], jobs[b]) for a, b in steps if b not in set(sure[a])]
        self.report_cycle([jobs[n] for n in cycle], others, assumed)

    def report_cycle(self, jobs: list[_Job], others: list[_Job], assumed: list[tuple[_Job, _Job]]) -> None:
        # What each job writes that notifies the next.
        written = [
            [name for iri, name in job.output_iris.items() if iri in jobs[(i + 1) % len(jobs)].trigger_iris]
            for i, job in enumerate(jobs)
        ]
        steps = [f"{jobs[-1].target_label} change"]
        for job, names in zip(jobs, written, strict=True):
            steps.append(
                f"SubscriptionQuery {job.query.id} → MLProcessing {job.processing.id} → MLModel "
                f"{job.model.id} writes {_names(names)} → {job.target_label} change"
            )
        steps.append(f"SubscriptionQuery {jobs[0].query.id}")
        first = jobs[0]
        chain = " → ".join(steps)
        message = (
            f"notification loop through {len(jobs)} jobs, though no job notifies itself: {chain}; each "
            "job's write-back notifies the next: watch only attributes that no job of the loop writes (or "
            "write the results where the next query does not select)"
        )
        # Jobs of one query without watchedAttributes: the loop the runtime's per-job subscriptions make.
        shared: dict[str, list[str]] = {}
        for job in jobs:
            shared.setdefault(job.query.id, []).append(f"MLProcessing {job.processing.id}")
        for query_id, served in shared.items():
            if len(served) > 1:
                message += (
                    f"; SubscriptionQuery {query_id} has no watchedAttributes and serves "
                    f"{_names(dict.fromkeys(served))}: sdm-runtime subscribes each job on its own, watching "
                    "its model's inputs, so give each job a SubscriptionQuery of its own"
                )
        if others:
            named = _names(dict.fromkeys(f"MLProcessing {job.processing.id}" for job in others[:5]))
            more = f" and {len(others) - 5} more" if len(others) > 5 else ""
            message += (
                f"; {len(jobs) + len(others)} jobs notify one another in all: other loops run through "
                f"{named}{more}"
            )
        if assumed:
            # Said once per pair of queries, whichever way round the loop crosses it.
            pairs: dict[tuple[bool, frozenset[str]], str] = {}
            for a, b in assumed:
                if all(target.ref is None for target in a.targets):
                    key = (True, frozenset((a.query.id, b.query.id)))
                    pair = (
                        f"the idPatterns of SubscriptionQuery {a.query.id} and SubscriptionQuery {b.query.id}"
                    )
                else:
                    key = (False, frozenset((a.processing.id, b.query.id)))
                    pair = (
                        f"the idPattern of SubscriptionQuery {b.query.id} and the ids MLProcessing "
                        f"{a.processing.id} writes to"
                    )
                pairs.setdefault(key, pair)
            message = (
                f"possible {message}; it loops only if {' and if '.join(pairs.values())} match common ids, "
                "which cannot be told from patterns"
            )
        # At the watched attribute that closes the loop (absent: the runtime watches the model inputs).
        closing = {jobs[-1].model.expand(name) for name in written[-1]}
        path: PathTuple = ("watchedAttributes",)
        for item_path, name in first.query.strings("watchedAttributes"):
            if first.query.expand(name) in closing:
                path = item_path
                break
        self.report(WARNING if assumed else ERROR, "lint.loop", message, first.query, path)

    # Rule 6: the SubscriptionQuery itself --------------------------------------------------------------

    def query(self, query: _Entity) -> None:
        known = _bundled_types()
        selected: list[str] = []
        for selector in self.selectors(query) or []:
            where = f"entities[{selector.path[-1]}].type of SubscriptionQuery {query.id}"
            written = show(selector.text, limit=None)
            type_path = (*selector.path, "type")
            if selector.problem is not None:
                message = (
                    f"{where} is {written}, no type selection (clause 4.17): {selector.problem}; a broker "
                    "refuses a subscription made from it"
                )
                self.report(ERROR, "lint.query.syntax", message, query, type_path)
                continue
            if not selector.names:
                selected.append("*")  # every type: any attribute may be there
            for name in selector.names:
                entity_type = _known_types().get(query.expand(name), name)
                selected.append(entity_type)
                if entity_type in known:
                    continue
                what = written if selector.names == (selector.text,) else f"{written}, which names {name}"
                message = (
                    f"{where} is {what}, a type without a bundled schema"
                    f"{_did_you_mean(entity_type, known)}: its attributes cannot be checked"
                )
                self.report(WARNING, "lint.query.unknown-type", message, query, type_path)
        for path, q in query.instances("q"):
            if isinstance(q, str):
                self.query_q(query, path, q, selected)

    def query_q(self, query: _Entity, path: PathTuple, q: str, selected: list[str]) -> None:
        syntax_problem = query_syntax_problem(q)
        if syntax_problem is not None:
            # The validator's wording (position and caret excerpt), placed at the offending character.
            message = f"SubscriptionQuery {query.id}: {syntax_problem.message}"
            self.report(
                ERROR,
                "lint.query.syntax",
                message,
                query,
                path,
                string_index=syntax_problem.string_index,
            )
            return
        parsed = parse_query(q)
        schema_types = [name for name in dict.fromkeys(selected) if name in _bundled_types()]
        if not schema_types or len(schema_types) < len(set(selected)):
            return  # a type without a schema may have any attribute: nothing to tell
        declared = frozenset().union(*(_declared(entity_type) for entity_type in schema_types))
        for name in sorted(parsed.attribute_names()):
            if name in forms.ENTITY_MEMBERS or query.expand(name) in declared:
                continue
            types = " or ".join(schema_types)
            candidates = {name for entity_type in schema_types for name in schemas.attributes(entity_type)}
            message = (
                f"q of SubscriptionQuery {query.id} reads {name!r}, which {types} does not "
                f"declare{_did_you_mean(name, candidates)}: no entity without it matches, so the model may "
                "never be notified"
            )
            self.report(WARNING, "lint.query.attribute", message, query, path)


@functools.cache
def _bundled_types() -> frozenset[str]:
    return frozenset(schemas.entity_types())


def _strongly_connected(edges: Sequence[Sequence[int]]) -> list[list[int]]:
    """Tarjan's strongly connected components, without recursion (a chain of jobs may be long)."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    components: list[list[int]] = []
    for root in range(len(edges)):
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(edges[successor])))
                    advanced = True
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
    return components


def _shortest_cycle(edges: Sequence[Sequence[int]], members: set[int], start: int) -> list[int]:
    """The shortest cycle through ``start`` inside its strongly connected component (breadth first)."""
    parent: dict[int, int] = {start: start}
    frontier = [start]
    while frontier:
        following: list[int] = []
        for node in frontier:
            for successor in edges[node]:
                if successor == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parent[path[-1]])
                    return path[::-1]
                if successor in members and successor not in parent:
                    parent[successor] = node
                    following.append(successor)
        frontier = following
    return [start]  # not reached: every member of a component lies on a cycle through each other one


def _comparable(kv: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in kv.items() if name not in _SYSTEM_MEMBERS}


def _where(entity: _Entity) -> str:
    where = entity.source or "<input>"
    if entity.index is not None:
        where += f" (entity {entity.index})"
    return where


def _name_list(value: Any) -> list[tuple[int | None, str]] | None:
    """(index, name) of the names of notification.pick or omit: a list, or a comma-separated string as in
    a query's parameters; None when there is none."""
    if isinstance(value, list):
        return [(index, name) for index, name in enumerate(value) if isinstance(name, str)]
    if isinstance(value, str):
        return [(None, name.strip()) for name in value.split(",") if name.strip()]
    return None


@dataclass(frozen=True)
class _Target:
    """Where a job writes its results: refOutputEntity (``entity`` None when it is not in the set), or,
    without it (``ref`` None), the entity whose change notified the job."""

    ref: str | None
    entity: _Entity | None = None


@dataclass(eq=False)
class _Job:
    """One MLProcessing with its MLModel and SubscriptionQuery resolved."""

    linter: _Linter
    processing: _Entity
    model: _Entity
    query: _Entity

    @functools.cached_property
    def inputs(self) -> list[str]:
        return [name for _, name in self.model.strings("inputAttributes")]

    @functools.cached_property
    def outputs(self) -> list[tuple[PathTuple, str]]:
        return self.model.strings("outputAttributes")

    @functools.cached_property
    def output_iris(self) -> dict[str, str]:
        """IRI -> the output as the model names it."""
        iris: dict[str, str] = {}
        for _, name in self.outputs:
            iris.setdefault(self.model.expand(name), name)
        return iris

    @functools.cached_property
    def selectors(self) -> list[_Selector] | None:
        return self.linter.selectors(self.query)

    @functools.cached_property
    def trigger_iris(self) -> frozenset[str]:
        """The attributes whose change notifies the job: watchedAttributes, or without them the model inputs,
        which sdm-runtime watches instead. The model's own outputs are left out: rule 3 reports them (and
        the runtime refuses such a subscription), so the loops through other jobs are those left once that
        is fixed."""
        if self.query.has_list("watchedAttributes"):
            watched = {self.query.expand(name) for _, name in self.query.strings("watchedAttributes")}
        elif self.query.instances("watchedAttributes"):
            return frozenset()  # no list: a broker refuses it
        else:
            watched = {self.model.expand(name) for name in self.inputs}
        return frozenset(watched - self.output_iris.keys())

    @functools.cached_property
    def targets(self) -> list[_Target]:
        refs = [ref for _, ref in self.processing.instances("refOutputEntity") if isinstance(ref, str)]
        if not refs:
            return [_Target(None)]
        targets: list[_Target] = []
        for ref in dict.fromkeys(refs):
            copies = self.linter.by_id.get(ref)
            if copies:
                targets.extend(_Target(ref, entity) for entity in copies)
            else:
                targets.append(_Target(ref))  # not in the set: where it lies cannot be told
        return targets

    def label(self, target: _Target) -> str:
        if target.entity is not None:
            return target.entity.label
        return target.ref or " or ".join(self.selected_types()) or "entity"

    @property
    def target_label(self) -> str:
        return self.label(self.targets[0])

    def selected_types(self) -> list[str]:
        names = (name for selector in self.selectors or [] for name in selector.names)
        return list(dict.fromkeys(_known_types().get(self.query.expand(name), name) for name in names))

    def selects(self, entity: _Entity) -> bool:
        """Whether the query's entity selectors match an entity (no selector: any entity)."""
        if not self.selectors:
            return True
        return any(selector.selects(entity) for selector in self.selectors)

    @property
    def order(self) -> tuple[str, str, str]:
        """Ids, not places in the set: a loop is reported at one query whatever the order of the files."""
        return self.query.id, self.processing.id, self.model.id

    @functools.cached_property
    def selection_key(self) -> Any:
        """Equal for queries whose selectors are equal (most queries of a set select the same type)."""
        if not self.selectors:
            return None
        return tuple((s.groups, repr(s.id), repr(s.id_pattern)) for s in self.selectors)

    @functools.cached_property
    def blind_key(self) -> Any:
        """The selection key with each idPattern reduced to there being one: equal for queries that differ
        only in their patterns, which compare alike with a query of other patterns and no id."""
        if not self.selectors:
            return None
        return tuple((s.groups, repr(s.id), isinstance(s.id_pattern, str)) for s in self.selectors)

    @functools.cached_property
    def patterns(self) -> frozenset[str]:
        return frozenset(s.id_pattern for s in self.selectors or [] if isinstance(s.id_pattern, str))

    @functools.cached_property
    def compares_blind(self) -> bool:
        """Whether the other queries' idPatterns matter to this job only where they equal its own: it
        writes where its query selects, and selects by no id (an id is matched against the patterns)."""
        return all(target.ref is None for target in self.targets) and not any(
            s.id is not _MISSING and isinstance(s.id, str) for s in self.selectors or []
        )

    def feeds(self, other: _Job, blind: bool = False) -> bool | None:
        """Whether what this job writes lands on an entity the other job's query selects; None when that
        is only assumed (idPatterns that cannot be compared). ``blind``: see :attr:`compares_blind`."""
        return _any(
            _may_overlap(self.selectors, other.selectors, blind)
            if target.ref is None
            else target.entity is not None and other.select(target.entity)
            for target in self.targets
        )

    def select(self, entity: _Entity) -> bool | None:
        """Whether the query's entity selectors match an entity (no selector: any entity); None when that
        cannot be told."""
        if not self.selectors:
            return True
        return _any(selector.select(entity) for selector in self.selectors)

    def chain(self, target: str, outputs: Sequence[str]) -> str:
        return (
            f"{target} change → SubscriptionQuery {self.query.id} → MLProcessing {self.processing.id} → "
            f"MLModel {self.model.id} writes {_names(outputs)} → {target} change"
        )

    def used_by(self) -> str:
        return f"MLModel {self.model.id} (used by MLProcessing {self.processing.id})"

    # Rule 2 --------------------------------------------------------------------------------------------

    def inputs_notified(self) -> None:
        for path, notification in self.query.instances("notification"):
            if isinstance(notification, dict):
                self.delivered(path, notification)

    def delivered(self, path: PathTuple, notification: Mapping[str, Any]) -> None:
        """notification.attributes and pick restrict what a notification carries, omit removes from it."""
        inputs = {self.model.expand(name): name for name in self.inputs}
        attributes = notification.get("attributes")
        # Both keep only what they name (no notification.attributes: every attribute is delivered).
        restrictions = (
            (
                "attributes",
                _name_list(attributes) if isinstance(attributes, list) else None,
                "does not deliver the input(s)",
                "add them, or drop notification.attributes to deliver every attribute",
            ),
            (
                "pick",
                _name_list(notification.get("pick")),
                "leaves out the input(s)",
                "a notification carries only the picked members: add them to pick",
            ),
        )
        for member, names, verb, advice in restrictions:
            if names is None:
                continue
            kept = {self.query.expand(name) for _, name in names}
            missing = [name for iri, name in inputs.items() if iri not in kept]
            if missing:
                message = (
                    f"notification.{member} of SubscriptionQuery {self.query.id} {verb} "
                    f"{_names(missing)} of {self.used_by()}: {advice}"
                )
                self.linter.report(ERROR, "lint.inputs.not-notified", message, self.query, (*path, member))
        omitted = [
            (index, inputs[self.query.expand(name)])
            for index, name in _name_list(notification.get("omit")) or []
            if self.query.expand(name) in inputs
        ]
        if omitted:
            message = (
                f"notification.omit of SubscriptionQuery {self.query.id} removes the input(s) "
                f"{_names(dict.fromkeys(name for _, name in omitted))} of {self.used_by()} from every "
                "notification: take them out of omit"
            )
            first = omitted[0][0]
            where = (*path, "omit") if first is None else (*path, "omit", first)
            self.linter.report(ERROR, "lint.inputs.not-notified", message, self.query, where)

    # Rule 3 --------------------------------------------------------------------------------------------

    def loop(self) -> None:
        outputs = self.output_iris
        if not outputs:
            return
        # The targets the query selects, so that writing to them notifies the job again.
        selected = [
            target
            for target in self.targets
            if target.ref is None or (target.entity is not None and self.selects(target.entity))
        ]
        inputs = _names(self.inputs) or "the model inputs"
        if self.query.has_list("watchedAttributes"):
            looping = [
                (path, name)
                for path, name in self.query.strings("watchedAttributes")
                if self.query.expand(name) in outputs
            ]
            if not looping:
                return
            names = list(dict.fromkeys(outputs[self.query.expand(name)] for _, name in looping))
            head = (
                f"watchedAttributes of SubscriptionQuery {self.query.id} holds the output(s) {_names(names)} "
                f"of MLModel {self.model.id}"
            )
            unknown = [
                target.ref for target in self.targets if target.ref is not None and target.entity is None
            ]
            if selected:
                message = f"notification loop: {head}: {self.chain(self.label(selected[0]), names)}"
            elif unknown:
                message = (
                    f"{head}: MLProcessing {self.processing.id} writes them to {_names(unknown)}, which is "
                    "not in the set, so whether the query selects it cannot be told: it loops if it does"
                )
            else:
                where = _names(dict.fromkeys(target.ref or "" for target in self.targets))
                message = (
                    f"{head}: MLProcessing {self.processing.id} writes them to {where}, which the query does "
                    "not select, so it does not loop yet"
                )
            message += f"; sdm-runtime refuses this subscription: watch the inputs ({inputs}) instead"
            self.linter.report(ERROR, "lint.loop", message, self.query, looping[0][0])
            return
        if self.query.instances("watchedAttributes") or not selected:
            return
        names = list(outputs.values())
        advice = f"add watchedAttributes {show(self.inputs, limit=None)}"
        sharing = [ref for ref in self.linter.processings_of(self.query.id) if ref != self.processing.id]
        if sharing:
            # The watchedAttributes of a shared query apply to every job of it, whose inputs may differ.
            served = _names(f"MLProcessing {ref}" for ref in sharing[:5])
            more = f" and {len(sharing) - 5} more" if len(sharing) > 5 else ""
            advice = (
                f"give MLProcessing {self.processing.id} a SubscriptionQuery of its own with "
                f"watchedAttributes {show(self.inputs, limit=None)}: this one also serves {served}{more}, "
                "and its watchedAttributes would apply to each"
            )
        message = (
            f"notification loop: SubscriptionQuery {self.query.id} has no watchedAttributes, so every "
            f"attribute change notifies, the model's write-back included: "
            f"{self.chain(self.label(selected[0]), names)}; sdm-runtime watches the model inputs ({inputs}) "
            f"instead, but a subscription made from this query as it is loops: {advice}"
        )
        self.linter.report(WARNING, "lint.loop", message, self.query, ("watchedAttributes",))

    # Rule 4 --------------------------------------------------------------------------------------------

    def type_groups(self) -> list[list[str]]:
        """The alternatives of the query's type selections, each the types an entity it selects has at once
        (``A;B``: one group of two types; ``(A|B)``: two groups), as bundled type names where known."""
        groups: dict[tuple[str, ...], None] = {}
        for selector in self.selectors or []:
            for group in selector.name_groups:
                names = (_known_types().get(self.query.expand(name), name) for name in group)
                groups.setdefault(tuple(dict.fromkeys(names)), None)
        return [list(group) for group in groups]

    def outputs_declared(self) -> None:
        for target in self.targets:
            if target.ref is not None:
                if target.entity is None:
                    continue  # reported by the reference check; its type is unknown
                groups = [list(target.entity.types)]  # an entity has all its types at once
                what = f"the type of {target.ref}, where MLProcessing {self.processing.id} writes the results"
            else:
                groups = self.type_groups()
                what = (
                    f"the type SubscriptionQuery {self.query.id} selects, where MLProcessing "
                    f"{self.processing.id} writes the results"
                )
            for types in groups:
                # An entity of several types may have the attributes of each; a type without a bundled
                # schema (or "*") may have any attribute. So each alternative is checked as a whole.
                if not types or any(entity_type not in _bundled_types() for entity_type in types):
                    continue
                declared = frozenset().union(*(_declared(entity_type) for entity_type in types))
                label = types[0] if len(types) == 1 else f"any of {_names(types)}"
                for path, name in self.outputs:
                    if self.model.expand(name) in declared:
                        continue
                    candidates = [attribute for t in types for attribute in schemas.attributes(t)]
                    message = (
                        f"output {name!r} of MLModel {self.model.id} is not an attribute of {label} "
                        f"({what}){_did_you_mean(name, candidates)}"
                    )
                    self.linter.report(ERROR, "lint.output.undeclared", message, self.model, path)


# --- inputs ------------------------------------------------------------------------------------------


def _item_locator(item: reader.SourceEntity) -> Locator:
    return item.locate


def lint_items(
    items: Iterable[reader.Item | Mapping[str, Any]],
    *,
    input_names: Collection[str] = (),
    on_entity: Callable[[reader.SourceEntity, str | None], None] | None = None,
) -> list[Finding]:
    """Findings for the whole set: what :func:`sdmtool.reader.read` yields, or entities (dicts).
    ``input_names``: the inputs read (the reader's ``on_input``), named by the warning that none held an
    entity. ``on_entity`` is called with each entity read and the form it was found in (None: no entity
    the wiring can use)."""
    linter = _Linter()
    unreadable: list[Finding] = []
    read = 0
    for position, item in enumerate(items):
        read += 1
        if isinstance(item, reader.ReadError):
            unreadable.append(read_error_finding(item))
        elif isinstance(item, reader.SourceEntity):
            form = linter.add(
                item.value,
                source=item.source,
                index=item.index,
                locate=_item_locator(item),
                document=item.document,
                pointer=item.json_pointer,
                partial=item.in_notification,
            )
            if on_entity is not None:
                on_entity(item, form)
        else:
            value = dict(item) if isinstance(item, Mapping) else item
            linter.add(value, source=None, index=position, locate=None)
    if not read:  # an empty dump (a broker query without its Link header) must not pass in silence
        return no_entities_findings(list(input_names))
    return unreadable + linter.skipped + linter.run()


def _skipped(
    value: Any,
    source: str | None,
    index: int | None,
    locate: Locator | None,
    document: int | None,
    pointer: Callable[[PathTuple], str],
) -> Finding:
    """The warning that a value is no entity the wiring can be checked with."""
    if isinstance(value, dict) and "$schema" in value and "id" not in value:
        what = "a JSON Schema document, not an entity"
    elif isinstance(value, dict):
        what = "an entity without a string id"
    else:
        what = f"not an entity: {show(value)}"
    line, column = locate((), None) if locate else (None, None)
    return Finding(
        WARNING,
        "lint.not-entity",
        f"{what}: left out of the wiring checks (sdmtool validate says what is wrong)",
        file=source,
        line=line,
        column=column,
        json_path=pointer(()),
        index=index,
        document=document,
    )


def _items(obj_or_paths: Any, names: list[str]) -> Iterator[reader.Item | Mapping[str, Any]]:
    """What to lint: the entities given, or those read from the paths given (their names into ``names``)."""
    if isinstance(obj_or_paths, Mapping):
        yield obj_or_paths
        return
    if isinstance(obj_or_paths, str | os.PathLike):
        yield from reader.read([obj_or_paths], on_input=names.append)
        return
    if isinstance(obj_or_paths, bytes | bytearray | memoryview) or not isinstance(obj_or_paths, Iterable):
        message = (
            "lint() takes an entity (a dict), a list of entities, a path or a list of paths, "
            f"not {type(obj_or_paths).__name__}"
        )
        raise TypeError(message)
    for item in obj_or_paths:
        if isinstance(item, str | os.PathLike):
            yield from reader.read([item], on_input=names.append)
        else:
            yield item


def lint(
    obj_or_paths: Mapping[str, Any] | Sequence[Any] | str | os.PathLike[str],
) -> list[Finding]:
    """Lint the MLOps wiring of a set of entities: a dict, a list of dicts, a path, or a list of paths
    (files, directories, ``-`` for stdin, a broker dump), in any form. Returns every finding; the set is
    consistent when none is an error."""
    names: list[str] = []
    items = list(_items(obj_or_paths, names))  # TypeError before anything is read
    return lint_items(items, input_names=names)
