"""The MLOps wiring lint: whether a set of entities fits together as the runtime loop needs.

``validate`` checks each entity against its schema; ``lint`` checks what no single schema can see: that an
MLProcessing points at an MLModel and a SubscriptionQuery that exist, that the query delivers the model's
inputs, that the model's write-back cannot trigger the query again (a notification loop), that the outputs
are attributes of the entity type they are written to, that the job uses the newest model of its name, and
that the query's ``q`` and entity types make sense. Entities are read in any form :mod:`sdmtool.forms`
knows (keyValues, NGSI-LD normalized or concise, NGSI-v2 normalized) and reduced to keyValues; every finding
points at the member at fault as it was written (``/watchedAttributes/value/0`` in normalized form), with
its file, line and column.

The rules and their codes are listed in :data:`RULES`.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sdmtool import forms, reader, schemas
from sdmtool.describe import show
from sdmtool.findings import ERROR, WARNING, Finding, Severity
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
    "lint.ref.absent": "An MLProcessing has no refMLModel or no refSubscriptionQuery: the job cannot run.",
    "lint.not-entity": "A value of the set is no entity with an id: the wiring checks leave it out.",
    "lint.inputs.not-notified": "The SubscriptionQuery's notification.attributes leaves out a model input.",
    "lint.loop": "The model's write-back triggers its own SubscriptionQuery again (error when "
    "watchedAttributes holds a model output; a warning when there are no watchedAttributes).",
    "lint.output.undeclared": "A model output is not an attribute of the entity type it is written to.",
    "lint.model.outdated": "The MLProcessing uses an older version of a model than another MLModel of the "
    "same name in the set.",
    "lint.model.unordered": "Two MLModels of the same name have versions that cannot be ordered.",
    "lint.query.syntax": "The SubscriptionQuery's q is not a valid NGSI-LD query.",
    "lint.query.attribute": "The SubscriptionQuery's q reads an attribute the selected types do not declare.",
    "lint.query.unknown-type": "An entities[].type of the SubscriptionQuery has no bundled schema.",
    "lint.duplicate-id": "Two different entities have the same id; the first one is used.",
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


def expand(name: str) -> str:
    """The IRI a broker stores for a term (``predictedDigit`` and its full IRI are the same attribute).

    The runtime's loop guard compares names this way; this is its function, imported late because
    ``reference_runtime.subscriptions`` imports :mod:`sdmtool` itself.
    """
    from reference_runtime.subscriptions import expand_attribute

    return expand_attribute(name)


@functools.cache
def _compact_type(name: str) -> str:
    """A bundled type name for a type written as its IRI, else the name as it is."""
    iri = expand(name)
    for known in schemas.entity_types():
        if expand(known) == iri:
            return known
    return name


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


# --- the entities of the set -------------------------------------------------------------------------


@dataclass
class _Entity:
    """One entity of the set: as written (for paths) and reduced to keyValues (for the checks)."""

    raw: dict[str, Any]
    kv: dict[str, Any]
    form: str
    id: str
    types: tuple[str, ...]
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
                self.members.setdefault(expand(name), name)

    def is_a(self, entity_type: str) -> bool:
        return entity_type in self.types

    @property
    def type_label(self) -> str:
        return "/".join(self.types) or "entity"

    @property
    def label(self) -> str:
        return f"{self.type_label} {self.id}"

    def key(self, name: str) -> str:
        """The member as written for an attribute name (it may be written as its IRI)."""
        return self.members.get(expand(name), name)

    def get(self, name: str) -> Any:
        return self.kv.get(self.key(name), _MISSING)

    def strings(self, name: str) -> list[tuple[int, str]]:
        """(index, item) for the strings of a list attribute."""
        value = self.get(name)
        if not isinstance(value, list):
            return []
        return [(index, item) for index, item in enumerate(value) if isinstance(item, str)]

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


def _types(entity: Mapping[str, Any]) -> tuple[str, ...]:
    value = entity.get("type")
    names = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    return tuple(dict.fromkeys(_compact_type(name) for name in names if isinstance(name, str)))


def _names(values: Iterable[str]) -> str:
    return ", ".join(values)


def _did_you_mean(word: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.75)
    return f" (did you mean {close[0]}?)" if close else ""


# --- the checks --------------------------------------------------------------------------------------


class _Linter:
    def __init__(self) -> None:
        self.entities: list[_Entity] = []
        self.by_id: dict[str, _Entity] = {}
        self.findings: list[tuple[int, int, Finding]] = []  # (entity seq, rank, finding)
        self.count = 0  # entities met, duplicates included: the order of the findings
        self.skipped: list[Finding] = []  # values that are no entity with an id

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
        entity = _Entity(
            raw=value,
            kv=kv,
            form=form,
            id=value["id"],
            types=_types(value),
            source=source,
            index=index,
            locate=locate,
            seq=self.count,
            document=document,
            pointer=pointer,
            partial=partial,
        )
        self.count += 1
        first = self.by_id.get(entity.id)
        if first is not None:
            if _comparable(first.kv) != _comparable(kv):
                self.report(
                    WARNING,
                    "lint.duplicate-id",
                    f"{entity.id} is also defined at {_where(first)} with different content: "
                    "the lint uses the first one",
                    entity,
                    ("id",),
                )
            return form  # the same entity in another form (the examples folder) or a second copy
        self.entities.append(entity)
        self.by_id[entity.id] = entity
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
        unique: dict[tuple[Any, ...], tuple[int, int, Finding]] = {}
        for seq, rank, finding in self.findings:
            key = (finding.code, finding.entity_id, finding.json_path, finding.message)
            unique.setdefault(key, (seq, rank, finding))
        ordered = sorted(
            unique.values(),
            key=lambda item: (item[0], item[2].line or 0, item[2].column or 0, item[1]),
        )
        return [finding for _, _, finding in ordered]

    # Rule 1: references --------------------------------------------------------------------------------

    def references(self, entity: _Entity) -> None:
        for owner_type, member, target_type in REFERENCES:
            if not entity.is_a(owner_type):
                continue
            value = entity.get(member)
            if value is _MISSING:
                if owner_type == "MLProcessing" and target_type is not None:
                    self.absent(entity, member)
                continue
            refs = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
            for position, ref in refs:
                if not isinstance(ref, str):
                    continue  # not a URI: `sdmtool validate` says so
                path: PathTuple = (member,) if position is None else (member, position)
                self.reference(entity, owner_type, member, ref, target_type, path)

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
        target = self.by_id.get(ref)
        where = f"{member} of {owner_type} {entity.id}"
        if target is None:
            if target_type is None:
                message = (
                    f"{where} points at {ref}, which is not in the set: results are written with "
                    "POST /entities/{id}/attrs, which fails until that entity exists"
                )
                self.report(WARNING, "lint.ref.missing", message, entity, path)
                return
            candidates = [other.id for other in self.entities if other.is_a(target_type)]
            message = f"{where} points at {ref}: no {target_type} with that id in the set"
            self.report(ERROR, "lint.ref.missing", message + _did_you_mean(ref, candidates), entity, path)
            return
        if target_type is not None and not target.is_a(target_type):
            message = f"{where} points at {ref}, which is a {target.type_label}, not a {target_type}"
            self.report(ERROR, "lint.ref.type", message, entity, path)

    def resolved(self, entity: _Entity, member: str, target_type: str) -> _Entity | None:
        ref = entity.get(member)
        target = self.by_id.get(ref) if isinstance(ref, str) else None
        return target if target is not None and target.is_a(target_type) else None

    # Rules 2 to 5: one MLProcessing job ----------------------------------------------------------------

    def wiring(self, processing: _Entity) -> None:
        model = self.resolved(processing, "refMLModel", "MLModel")
        query = self.resolved(processing, "refSubscriptionQuery", "SubscriptionQuery")
        if model is not None:
            self.versions(processing, model)
        if model is None or query is None:
            return
        job = _Job(self, processing, model, query)
        job.inputs_notified()
        job.loop()
        job.outputs_declared()

    def versions(self, processing: _Entity, model: _Entity) -> None:
        name, version = model.get("name"), model.get("version")
        if not isinstance(name, str) or not isinstance(version, str):
            return
        newer: list[tuple[_Entity, str]] = []
        for other in self.entities:
            other_version = other.get("version")
            if other is model or not other.is_a("MLModel") or other.get("name") != name:
                continue
            if not isinstance(other_version, str):
                continue
            order = compare_versions(version, other_version)
            if order is None:
                message = (
                    f"{processing.label} uses MLModel {model.id} version {version}, and MLModel {other.id} "
                    f"has the same name {show(name)} and version {other_version}: the two versions cannot "
                    "be ordered, so which one is newer is unknown"
                )
                self.report(WARNING, "lint.model.unordered", message, processing, ("refMLModel",))
            elif order < 0:
                newer.append((other, other_version))
        if newer:
            latest, latest_version = newer[0]
            for other, other_version in newer[1:]:
                if compare_versions(latest_version, other_version) == -1:
                    latest, latest_version = other, other_version
            message = (
                f"{processing.label} uses MLModel {model.id} version {version}, older than MLModel "
                f"{latest.id} version {latest_version} with the same name {show(name)}: point refMLModel "
                "at the newer model, or remove the old one"
            )
            self.report(WARNING, "lint.model.outdated", message, processing, ("refMLModel",))

    # Rule 6: the SubscriptionQuery itself --------------------------------------------------------------

    def query(self, query: _Entity) -> None:
        known = schemas.entity_types()
        selected: list[str] = []
        selectors = query.get("entities")
        for position, selector in enumerate(selectors if isinstance(selectors, list) else []):
            if not isinstance(selector, dict) or not isinstance(selector.get("type"), str):
                continue
            entity_type = _compact_type(selector["type"])
            selected.append(entity_type)
            if entity_type not in known:
                written = show(selector["type"], limit=None)
                message = (
                    f"entities[{position}].type of SubscriptionQuery {query.id} is {written}, a type without "
                    f"a bundled schema{_did_you_mean(entity_type, known)}: its attributes cannot be checked"
                )
                self.report(
                    WARNING, "lint.query.unknown-type", message, query, ("entities", position, "type")
                )
        q = query.get("q")
        if not isinstance(q, str):
            return
        syntax_problem = query_syntax_problem(q)
        if syntax_problem is not None:
            # The validator's wording (position and caret excerpt), placed at the offending character.
            message = f"SubscriptionQuery {query.id}: {syntax_problem.message}"
            self.report(
                ERROR,
                "lint.query.syntax",
                message,
                query,
                ("q",),
                string_index=syntax_problem.string_index,
            )
            return
        parsed = parse_query(q)
        schema_types = [name for name in dict.fromkeys(selected) if name in known]
        if not schema_types or len(schema_types) < len(set(selected)):
            return  # a type without a schema may have any attribute: nothing to tell
        declared = {expand(name) for entity_type in schema_types for name in schemas.attributes(entity_type)}
        for name in sorted(parsed.attribute_names()):
            if name in forms.ENTITY_MEMBERS or expand(name) in declared:
                continue
            types = " or ".join(schema_types)
            candidates = {name for entity_type in schema_types for name in schemas.attributes(entity_type)}
            message = (
                f"q of SubscriptionQuery {query.id} reads {name!r}, which {types} does not "
                f"declare{_did_you_mean(name, candidates)}: no entity without it matches, so the model may "
                "never be notified"
            )
            self.report(WARNING, "lint.query.attribute", message, query, ("q",))


def _comparable(kv: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in kv.items() if name not in _SYSTEM_MEMBERS}


def _where(entity: _Entity) -> str:
    where = entity.source or "<input>"
    if entity.index is not None:
        where += f" (entity {entity.index})"
    return where


@dataclass
class _Job:
    """One MLProcessing with its MLModel and SubscriptionQuery resolved."""

    linter: _Linter
    processing: _Entity
    model: _Entity
    query: _Entity

    @property
    def inputs(self) -> list[str]:
        return [name for _, name in self.model.strings("inputAttributes")]

    @property
    def outputs(self) -> list[tuple[int, str]]:
        return self.model.strings("outputAttributes")

    def selectors(self) -> list[dict[str, Any]]:
        value = self.query.get("entities")
        if not isinstance(value, list):
            return []
        return [s for s in value if isinstance(s, dict) and isinstance(s.get("type"), str)]

    def selected_types(self) -> list[str]:
        return list(dict.fromkeys(_compact_type(selector["type"]) for selector in self.selectors()))

    def selects(self, entity: _Entity) -> bool:
        """Whether the query's entity selectors match an entity (no selector: any entity)."""
        selectors = self.selectors()
        if not selectors:
            return True
        for selector in selectors:
            if not entity.is_a(_compact_type(selector["type"])):
                continue
            if "id" in selector and selector["id"] != entity.id:
                continue
            pattern = selector.get("idPattern")
            if isinstance(pattern, str):
                try:
                    if not re.search(pattern, entity.id):
                        continue
                except re.error:
                    pass  # a broker refuses it; whether it would match is unknown: assume it does
            return True
        return False

    def chain(self, target: str, outputs: Sequence[str]) -> str:
        return (
            f"{target} change → SubscriptionQuery {self.query.id} → MLProcessing {self.processing.id} → "
            f"MLModel {self.model.id} writes {_names(outputs)} → {target} change"
        )

    def names(self) -> str:
        return (
            f"SubscriptionQuery {self.query.id}, MLModel {self.model.id} "
            f"(used by MLProcessing {self.processing.id})"
        )

    # Rule 2 --------------------------------------------------------------------------------------------

    def inputs_notified(self) -> None:
        notification = self.query.get("notification")
        if not isinstance(notification, dict) or not isinstance(notification.get("attributes"), list):
            return  # no notification.attributes: every attribute is delivered
        delivered = {expand(name) for name in notification["attributes"] if isinstance(name, str)}
        missing = [name for name in self.inputs if expand(name) not in delivered]
        if missing:
            message = (
                f"notification.attributes of SubscriptionQuery {self.query.id} does not deliver the input(s) "
                f"{_names(missing)} of MLModel {self.model.id} (used by MLProcessing {self.processing.id}): "
                "add them, or drop notification.attributes to deliver every attribute"
            )
            path = ("notification", "attributes")
            self.linter.report(ERROR, "lint.inputs.not-notified", message, self.query, path)

    # Rule 3 --------------------------------------------------------------------------------------------

    def write_target(self) -> tuple[str | None, bool]:
        """Who receives the results, for a message, and whether the query selects it (so that writing to
        it can notify the job again). (None, False) when refOutputEntity is not in the set."""
        ref = self.processing.get("refOutputEntity")
        if isinstance(ref, str):
            target = self.linter.by_id.get(ref)
            if target is None:
                return None, False
            return target.label, self.selects(target)
        return " or ".join(self.selected_types()) or "entity", True

    def loop(self) -> None:
        outputs = {expand(name): name for _, name in self.outputs}
        if not outputs:
            return
        target, selected = self.write_target()
        inputs = _names(self.inputs) or "the model inputs"
        watched_value = self.query.get("watchedAttributes")
        if isinstance(watched_value, list):
            looping = [
                (index, name)
                for index, name in self.query.strings("watchedAttributes")
                if expand(name) in outputs
            ]
            if not looping:
                return
            names = list(dict.fromkeys(outputs[expand(name)] for _, name in looping))
            head = (
                f"watchedAttributes of SubscriptionQuery {self.query.id} holds the output(s) {_names(names)} "
                f"of MLModel {self.model.id}"
            )
            if selected and target is not None:
                message = f"notification loop: {head}: {self.chain(target, names)}"
            else:
                where = self.processing.get("refOutputEntity")
                message = (
                    f"{head}: MLProcessing {self.processing.id} writes them to {where}, which the query does "
                    "not select, so it does not loop yet"
                )
            message += f"; sdm-runtime refuses this subscription: watch the inputs ({inputs}) instead"
            path = ("watchedAttributes", looping[0][0])
            self.linter.report(ERROR, "lint.loop", message, self.query, path)
            return
        if watched_value is not _MISSING or not selected or target is None:
            return
        names = list(outputs.values())
        message = (
            f"notification loop: SubscriptionQuery {self.query.id} has no watchedAttributes, so every "
            f"attribute change notifies, the model's write-back included: {self.chain(target, names)}; "
            f"sdm-runtime watches the model inputs ({inputs}) instead, but a subscription made from this "
            f"query as it is loops: add watchedAttributes {show(self.inputs, limit=None)}"
        )
        self.linter.report(WARNING, "lint.loop", message, self.query, ("watchedAttributes",))

    # Rule 4 --------------------------------------------------------------------------------------------

    def outputs_declared(self) -> None:
        ref = self.processing.get("refOutputEntity")
        if isinstance(ref, str):
            target = self.linter.by_id.get(ref)
            if target is None:
                return  # reported by the reference check; its type is unknown
            types = list(target.types)
            what = f"the type of {ref}, where MLProcessing {self.processing.id} writes the results"
        else:
            types = self.selected_types()
            what = (
                f"the type SubscriptionQuery {self.query.id} selects, where MLProcessing "
                f"{self.processing.id} writes the results"
            )
        for entity_type in types:
            if entity_type not in schemas.entity_types():
                continue
            attributes = schemas.attributes(entity_type)
            declared = {expand(name) for name in attributes}
            for index, name in self.outputs:
                if expand(name) in declared:
                    continue
                message = (
                    f"output {name!r} of MLModel {self.model.id} is not an attribute of {entity_type} "
                    f"({what}){_did_you_mean(name, attributes)}"
                )
                self.linter.report(
                    ERROR, "lint.output.undeclared", message, self.model, ("outputAttributes", index)
                )


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
