"""Entities proven valid while they are parsed: NDJSON lines decoded by msgspec straight into types generated
from the keyValues schemas.

Parsing a line with orjson alone costs more than checking the value it gives (:mod:`sdmtool.fast`); msgspec
parses and checks in one pass, in C, when it is given types instead of a schema. :func:`decoder` writes the
keyValues schema of each bundled entity type as such types: a ``Struct`` per object (unknown members
refused), ``Annotated`` constraints for ranges and lengths, and one Python regular expression per string
that holds every string condition of the schema (patterns, the ``uri`` and ``date-time`` formats as
python-jsonschema checks them, anyOf and oneOf branches) as look-aheads.

The types accept a subset of what :func:`sdmtool.derive.key_values_schema` accepts, which is what the full
check reports nothing about: never more, often less (a value written in a way the types do not cover, an
attribute whose schema they cannot express, an undeclared member, is simply not proven and goes the usual
way). Anything the translation does not understand raises :class:`sdmtool.fast.Unsupported` and leaves the
attribute out, and with it every entity that has it. Property tests hold the proof to the full check.

What the types cannot see of the text is checked on it: a repeated key (msgspec keeps the last one) is told
by counting colons in the line and in msgspec's encoding of what it read.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union

import msgspec

from sdmtool import derive, fast, forms, ngsild, payload_rules, schemas
from sdmtool.fast import Unsupported

# A number whose bound is at least this large could compare differently once an integer is made a float.
_EXACT_FLOATS = 2**53
_INT64 = (-(2**63), 2**63 - 1)
# Keys of an object value that would make it read as (or resemble) an NGSI attribute: left to the full check.
_ATTRIBUTE_MARKS = frozenset({"datasetId", *ngsild.CONCISE_KINDS})
_TYPE_VALUES_REFUSED = forms.ATTRIBUTE_KINDS | forms.NGSIV2_TYPES
_KNOWN = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",  # unknown members are refused anyway: stricter than any value of it
        "items",
        "minItems",
        "maxItems",
        "minLength",
        "maxLength",
        "pattern",
        "format",
        "enum",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "anyOf",
        "oneOf",
        "allOf",
    }
)
_STRING_KEYWORDS = frozenset({"pattern", "format", "minLength", "maxLength"})
_JSON_KINDS = ("string", "integer", "number", "boolean", "array", "object")

ProvenLine = tuple[str, str, str]  # (entity id, entity type, form)
# NGSI Null as a whole string: never an attribute's value in keyValues outside notifications.
_NGSI_NULL = f'"{ngsild.NGSI_NULL}"'
# An escape of a character that NGSI Null or a colon is written with.
_ASCII_ESCAPE = re.compile(r"\\u00[2-7][0-9A-Fa-f]")


@functools.cache
def _formats() -> dict[str, list[str]] | None:
    """The formats as Python expressions without flags (all must find a match), checked on samples."""
    try:
        expressions = fast._python_formats(python=True)
    except (Unsupported, ImportError):
        return None
    checker = schemas.format_checker()
    for name, samples in fast.FORMAT_SAMPLES.items():
        compiled = [re.compile(expression) for expression in expressions[name]]
        for text in samples:
            if all(c.search(text) for c in compiled) != checker.conforms(text, name):
                return None
    return expressions


# Common URIs, in a form Python's engine matches at once: a scheme, then either an authority of plain
# characters (a registered name, a port) and a path, or a path without one, then a query and a fragment; no
# percent-encoding, no IP literal. Every string it matches is a URI to rfc3986-validator (a property test
# says so); the others are tried against the full expression.
_PLAIN = r"A-Za-z0-9_.~!$&'()*+,;=\-"
URI_SHORTCUT = (
    rf"\A[A-Za-z][A-Za-z0-9+.\-]*:"
    rf"(?://[{_PLAIN}]*(?::[0-9]*)?(?:/[{_PLAIN}:@]*)*|[{_PLAIN}:@]+(?:/[{_PLAIN}:@]*)*)"
    rf"(?:\?[{_PLAIN}:@/?]*)?(?:\#[{_PLAIN}:@/?]*)?\Z"
)


def _search(expression: str) -> str:
    """A look-ahead at the start of the string: ``expression`` finds a match somewhere in it."""
    if _anchored(expression):
        return f"(?={expression})"
    return rf"(?=[\s\S]*?(?:{expression}))"


@functools.cache
def _anchored(expression: str) -> bool:
    """Whether every match of ``expression`` starts at the start of the string (no top-level ``|``)."""
    parsed = fast.sre_parse.parse(expression)
    return len(parsed) > 0 and parsed[0] in (
        (fast.sre.AT, fast.sre.AT_BEGINNING),
        (fast.sre.AT, fast.sre.AT_BEGINNING_STRING),
    )


def _plain_pattern(pattern: str) -> str:
    """A schema's ``pattern`` as python-jsonschema searches it, safe to embed in a larger expression."""
    expression = schemas._ecma_pattern(pattern)
    try:
        parsed = re.compile(expression)
    except re.error as error:
        raise Unsupported(f"pattern {pattern!r}: {error}") from None
    # Global flags, group names or back-references would change meaning (or clash) once embedded.
    if parsed.flags & ~re.UNICODE or parsed.groupindex or re.search(r"\\[1-9]|\(\?P=|\(\?[aiLmsux]", pattern):
        raise Unsupported(f"pattern {pattern!r} cannot be embedded")
    return expression


@dataclass(frozen=True)
class StringRule:
    """What a string must meet: a length, and expressions that must each find a match (``re.search``)."""

    min_length: int = 0
    max_length: int | None = None
    patterns: tuple[str, ...] = ()

    def both(self, other: StringRule) -> StringRule:
        highs = [high for high in (self.max_length, other.max_length) if high is not None]
        return StringRule(
            max(self.min_length, other.min_length), min(highs, default=None), self.patterns + other.patterns
        )

    def lookaheads(self) -> str:
        """The rule as look-aheads at the start of the string (to be combined with others)."""
        parts = []
        if self.max_length is not None and self.min_length > self.max_length:
            return "(?!)"  # no string is that long and that short
        if self.min_length or self.max_length is not None:
            high = "" if self.max_length is None else self.max_length
            parts.append(rf"(?=[\s\S]{{{self.min_length},{high}}}\Z)")
        parts.extend(_search(pattern) for pattern in self.patterns)
        return "".join(parts)

    def meta(self) -> dict[str, Any]:
        """The rule as msgspec constraints: lengths are counted natively, one expression is searched."""
        meta: dict[str, Any] = {}
        if self.max_length is not None and self.min_length > self.max_length:
            raise Unsupported("no string meets the lengths")
        if self.min_length:
            meta["min_length"] = self.min_length
        if self.max_length is not None:
            meta["max_length"] = self.max_length
        if len(self.patterns) == 1:
            meta["pattern"] = self.patterns[0]
        elif self.patterns:
            meta["pattern"] = r"\A" + "".join(_search(pattern) for pattern in self.patterns)
        return meta


class _Translator:
    """One entity type's keyValues schema, as msgspec types."""

    def __init__(self, entity_type: str, formats: dict[str, list[str]]) -> None:
        self.entity_type = entity_type
        self.formats = formats
        self.structs = 0
        self.fields = 0

    # --- strings: every condition as look-aheads at the start --------------------------------------

    def string_condition(self, schema: Any) -> StringRule | None:
        """What a string must meet to meet ``schema``, when ``schema`` accepts strings only; None when it
        accepts something else."""
        if not isinstance(schema, dict):
            return None
        keys = self.keywords(schema)
        if "anyOf" in keys or "oneOf" in keys or "allOf" in keys:
            rest = {key: schema[key] for key in keys if key not in ("anyOf", "oneOf", "allOf")}
            rule = StringRule()
            if rest:
                base = self.string_condition(rest)
                if base is None:
                    return None
                rule = base
            for keyword in ("allOf", "anyOf", "oneOf"):
                if keyword not in keys:
                    continue
                branches = [self.string_condition(branch) for branch in schema[keyword]]
                if not branches or any(branch is None for branch in branches):
                    return None
                conditions = [branch.lookaheads() for branch in branches if branch is not None]
                if keyword == "allOf":
                    for branch in branches:
                        assert branch is not None
                        rule = rule.both(branch)
                    continue
                if keyword == "anyOf":
                    either = "|".join(conditions)
                else:  # exactly one branch
                    either = "|".join(
                        condition
                        + "".join(
                            f"(?!{other})" for position, other in enumerate(conditions) if position != index
                        )
                        for index, condition in enumerate(conditions)
                    )
                rule = rule.both(StringRule(patterns=(rf"\A(?:{either})",)))
            return rule
        if schema.get("type") != "string":
            only_strings = set(keys) == {"enum"} and all(isinstance(v, str) for v in schema["enum"])
            if not only_strings:
                return None
        if set(keys) - _STRING_KEYWORDS - {"type", "enum"}:
            return None
        patterns: list[str] = []
        if "enum" in keys:
            values = schema["enum"]
            if not all(isinstance(value, str) for value in values):
                raise Unsupported("an enum of strings and other values")
            patterns.append(r"\A(?:" + "|".join(re.escape(value) for value in values) + r")\Z")
        if "pattern" in keys:
            patterns.append(_plain_pattern(schema["pattern"]))
        if "format" in keys:
            if schema["format"] not in self.formats:
                raise Unsupported(f"format {schema['format']!r}")
            full = "".join(_search(expression) for expression in self.formats[schema["format"]])
            patterns.append(
                rf"\A(?:(?={URI_SHORTCUT})|{full})" if schema["format"] == "uri" else rf"\A{full}"
            )
        return StringRule(schema.get("minLength", 0), schema.get("maxLength"), tuple(patterns))

    @staticmethod
    def keywords(schema: dict[str, Any]) -> list[str]:
        keys = [key for key in schema if key not in derive._ANNOTATIONS]
        unknown = set(keys) - _KNOWN
        if unknown:
            raise Unsupported(f"keywords {sorted(unknown)}")
        return keys

    @staticmethod
    def string_type(rule: StringRule) -> Any:
        meta = rule.meta()
        return Annotated[str, msgspec.Meta(**meta)] if meta else str

    # --- any value --------------------------------------------------------------------------------------

    def annotation(self, schema: Any) -> Any:
        """The msgspec type of the values ``schema`` accepts (a subset of them)."""
        if not isinstance(schema, dict):
            raise Unsupported("a boolean schema")
        condition = self.string_condition(schema)
        if condition is not None:
            keys = set(self.keywords(schema))
            # An enum alone reads best (and fastest) as a Literal.
            if "enum" in keys and keys <= {"type", "enum"}:
                if not schema["enum"]:
                    raise Unsupported("an empty enum")
                return Literal[tuple(schema["enum"])]  # type: ignore[valid-type]
            return self.string_type(condition)
        keys = self.keywords(schema)
        for keyword in ("anyOf", "oneOf"):
            if keyword in keys:
                if set(keys) != {keyword}:
                    raise Unsupported(f"{keyword} beside other keywords")
                return self.union(schema[keyword])
        if "allOf" in keys:
            if set(keys) != {"allOf"} or len(schema["allOf"]) != 1:
                raise Unsupported("allOf of several schemas")
            return self.annotation(schema["allOf"][0])
        kind = schema.get("type")
        if kind == "integer":
            return self.integer(schema)
        if kind == "number":
            return Union[self.integer(schema), self.floats(schema)]  # noqa: UP007 (a runtime type)
        if kind == "boolean":
            if set(keys) != {"type"}:
                raise Unsupported("a boolean with constraints")
            return bool
        if kind == "array":
            return self.array(schema)
        if kind == "object":
            return self.struct(schema)
        raise Unsupported(f"type {kind!r}")

    def union(self, branches: list[Any]) -> Any:
        """anyOf / oneOf of branches of different JSON types: one of them, and exactly one, holds."""
        kinds = [self.kind(branch) for branch in branches]
        if len(set(kinds)) != len(kinds) or ("integer" in kinds and "number" in kinds):
            raise Unsupported("branches of the same JSON type")
        members = tuple(self.annotation(branch) for branch in branches)
        return Union[members]  # noqa: UP007 (a runtime type)

    def kind(self, schema: Any) -> str:
        if not isinstance(schema, dict):
            raise Unsupported("a boolean schema")
        if self.string_condition(schema) is not None:
            return "string"
        kind = schema.get("type")
        if kind not in _JSON_KINDS:
            raise Unsupported(f"a branch of type {kind!r}")
        return str(kind)

    @staticmethod
    def bounds(schema: dict[str, Any], integers: bool) -> dict[str, Any]:
        meta: dict[str, Any] = {}
        for keyword, name in (
            ("minimum", "ge"),
            ("maximum", "le"),
            ("exclusiveMinimum", "gt"),
            ("exclusiveMaximum", "lt"),
        ):
            if keyword not in schema:
                continue
            bound = schema[keyword]
            if isinstance(bound, bool) or not isinstance(bound, int | float) or not math.isfinite(bound):
                raise Unsupported(f"{keyword} {bound!r}")
            if abs(bound) >= _EXACT_FLOATS:
                raise Unsupported(f"{keyword} {bound!r}: too large to compare exactly")
            if integers and not float(bound).is_integer():
                # The integers above a bound of 2.5 are those from 3 on: the same test, in integers.
                bound = math.ceil(bound) if name in ("ge", "gt") else math.floor(bound)
                name = {"gt": "ge", "lt": "le"}.get(name, name)
            if name in meta:  # minimum 5 and exclusiveMinimum 2.5: both hold, the tighter one counts
                bound = max(bound, meta[name]) if name == "ge" else min(bound, meta[name])
            meta[name] = int(bound) if integers else float(bound)
        return meta

    def integer(self, schema: dict[str, Any]) -> Any:
        """Integers within 64 bits only: longer ones are read apart from the JSON text (see
        :mod:`sdmtool.reader`), which the proof leaves to the full check."""
        keys = set(self.keywords(schema))
        if keys - {"type", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}:
            raise Unsupported("an integer with other constraints")
        meta = self.bounds(schema, integers=True)
        meta["ge"] = max(meta.get("ge", _INT64[0]), meta.pop("gt", _INT64[0] - 1) + 1, _INT64[0])
        meta["le"] = min(meta.get("le", _INT64[1]), meta.pop("lt", _INT64[1] + 1) - 1, _INT64[1])
        return Annotated[int, msgspec.Meta(**meta)]

    def floats(self, schema: dict[str, Any]) -> Any:
        meta = self.bounds(schema, integers=False)
        return Annotated[float, msgspec.Meta(**meta)] if meta else float

    def array(self, schema: dict[str, Any]) -> Any:
        keys = set(self.keywords(schema))
        if keys - {"type", "items", "minItems", "maxItems"} or "items" not in keys:
            raise Unsupported("an array without items, or with other constraints")
        item = self.annotation(schema["items"])
        meta = {}
        if "minItems" in keys:
            meta["min_length"] = schema["minItems"]
        if "maxItems" in keys:
            meta["max_length"] = schema["maxItems"]
        return Annotated[list[item], msgspec.Meta(**meta)] if meta else list[item]  # type: ignore[valid-type]

    def struct(self, schema: dict[str, Any]) -> Any:
        """An object: its declared members only, none of them shaped like an NGSI attribute's."""
        keys = set(self.keywords(schema))
        if keys - {"type", "properties", "required", "additionalProperties"}:
            raise Unsupported("an object with other constraints")
        properties = schema.get("properties", {})
        required = set(schema.get("required", ()))
        if required - set(properties):
            raise Unsupported("a required member that is not declared")
        fields = []
        for name, member in properties.items():
            if name in _ATTRIBUTE_MARKS or name.startswith("@"):
                raise Unsupported(f"a member {name!r}")
            annotation = self.annotation(member)
            if name == "type" and not self.safe_type_member(annotation):
                raise Unsupported("a member `type` that could name an attribute kind")
            fields.append(self.field(name, annotation, name in required))
        return self.new_struct("Value", fields)

    @staticmethod
    def safe_type_member(annotation: Any) -> bool:
        """A ``type`` member limited to values that are no NGSI-LD attribute kind or NGSI-v2 type."""
        values = getattr(annotation, "__args__", None)
        if getattr(annotation, "__origin__", None) is not Literal or not values:
            return False
        return not set(values) & _TYPE_VALUES_REFUSED

    def new_struct(self, label: str, fields: list[tuple[str, Any, Any]], **tagging: str) -> Any:
        """A Struct of ``fields`` that refuses any other member; ``tagging``: its tag_field and tag."""
        self.structs += 1
        name = f"{self.entity_type}{label}{self.structs}"
        return msgspec.defstruct(name, fields, forbid_unknown_fields=True, kw_only=True, **tagging)  # type: ignore[arg-type]

    def field(self, name: str, annotation: Any, required: bool) -> tuple[str, Any, Any]:
        self.fields += 1
        attribute = f"member{self.fields}"  # any JSON key, under a Python identifier
        if required:
            return attribute, annotation, msgspec.field(name=name)
        return attribute, annotation | msgspec.UnsetType, msgspec.field(name=name, default=msgspec.UNSET)

    # --- the entity -------------------------------------------------------------------------------------

    def entity(self, form: str) -> Any:
        """The Struct of an entity of this type in ``form`` (keyValues or NGSI-LD normalized), tagged by its
        ``type``."""
        _, required = derive._declarations(self.entity_type)
        if set(required) & ngsild.ENTITY_MEMBERS - {"id", "type"}:
            raise Unsupported("a required entity member other than id and type")
        id_schema = derive._member_schema(self.entity_type, "id") or {}
        id_condition = self.string_condition({"allOf": [derive._ABSOLUTE_URI, id_schema]})
        if id_condition is None:
            raise Unsupported("an id that is not a string")
        fields = [("id", self.string_type(id_condition), msgspec.field(name="id"))]
        fields.append(self.field("@context", _CONTEXT, False))
        expressed = set()
        for name, fact in schemas.attributes(self.entity_type).items():
            if name in ngsild.ENTITY_MEMBERS:
                continue
            schema = derive._member_schema(self.entity_type, name) or {}
            try:
                # Never NGSI Null (urn:ngsi-ld:null): refused on the line's text, which is cheaper.
                annotation = (
                    self.annotation(schema) if form == forms.KEY_VALUES else self.instance(fact, schema)
                )
            except Unsupported:
                continue  # an entity with this attribute is not proven: the full check reads it
            fields.append(self.field(name, annotation, name in required))
            expressed.add(name)
        if set(required) - {"id", "type"} - expressed:
            raise Unsupported("a required attribute the types cannot express")
        return self.new_struct(form, fields, tag_field="type", tag=self.entity_type)

    @functools.cached_property
    def uri_rule(self) -> StringRule:
        """An absolute URI, as the derived schemas require of ids and relationship targets."""
        rule = self.string_condition(derive._ABSOLUTE_URI)
        assert rule is not None
        return rule

    @functools.cached_property
    def date_time_type(self) -> Any:
        """A date-time string (``observedAt``), the same for every attribute instance."""
        rule = self.string_condition({"type": "string", "format": "date-time"})
        assert rule is not None
        return self.string_type(rule)

    def instance(self, fact: schemas.Attribute, schema: dict[str, Any]) -> Any:
        """One NGSI-LD attribute instance of the kind its description gives (as :func:`derive._instance`):
        its value (a date-time wrapped as NGSI-LD writes it), ``observedAt``, ``datasetId``, ``unitCode``;
        no sub-attribute."""
        uri = self.uri_rule
        if fact.kind == schemas.KIND_RELATIONSHIP:
            value_member, value = "object", self.targets(schema, uri)
        elif fact.kind == schemas.KIND_PROPERTY and fact.date_time:
            written = self.string_condition(schema)
            if written is None:
                raise Unsupported("a date-time that is no string")
            value_member, value = "value", self.date_time_wrapper(written)
        elif fact.kind == schemas.KIND_PROPERTY:
            value_member, value = "value", self.annotation(schema)
        else:
            raise Unsupported(f"a {fact.kind}")
        fields = [
            self.field(value_member, value, True),
            self.field("observedAt", self.date_time_type, False),
            self.field("datasetId", self.string_type(uri), False),
        ]
        if fact.kind in payload_rules._UNIT_KINDS:
            unit = StringRule(patterns=(_plain_pattern(f"^(?:{payload_rules._UNIT_CODE.pattern})$"),))
            fields.append(self.field("unitCode", self.string_type(unit), False))
        return self.new_struct(fact.kind, fields, tag_field="type", tag=fact.kind)

    def targets(self, schema: dict[str, Any], uri: StringRule) -> Any:
        """A Relationship's ``object``: one URI, or a non-empty list of them, as its schema says."""
        target = self.string_condition(schema)
        if target is not None:
            return self.string_type(uri.both(target))
        items = {"allOf": [derive._ABSOLUTE_URI, schema.get("items", {})]}
        if schema.get("type") != "array" or self.string_condition(items) is None:
            raise Unsupported("a relationship to something else than URIs")
        return self.array({**schema, "items": items, "minItems": max(1, schema.get("minItems", 0))})

    def date_time_wrapper(self, rule: StringRule) -> Any:
        fields = [
            self.field("@type", Literal["DateTime"], True),
            self.field("@value", self.string_type(rule), True),
        ]
        return self.new_struct("DateTime", fields)


# An inline @context: a URL, or a list of URLs and term definitions; anything else is left to the full check.
_TERMS = dict[str, Union[str, dict[str, str]]]  # noqa: UP007 (a runtime type)
_CONTEXT = Union[str, list[Union[str, _TERMS]], _TERMS]  # noqa: UP007 (a runtime type)


@functools.cache
def entity_struct(entity_type: str, form: str = forms.KEY_VALUES) -> Any:
    """The msgspec type of ``entity_type``'s entities in ``form`` (keyValues or NGSI-LD normalized) that are
    proven valid; None when the type cannot be written so (or is held to rules beyond its schema)."""
    formats = _formats()
    if formats is None or entity_type in fast._MORE_RULES or entity_type not in schemas.entity_types():
        return None
    try:
        return _Translator(entity_type, formats).entity(form)
    except (Unsupported, derive.UnsupportedSchema, TypeError, re.error):
        return None


FORMS = (forms.KEY_VALUES, forms.NORMALIZED)


@functools.cache
def _decoder(entity_types: tuple[str, ...], form: str) -> msgspec.json.Decoder[Any] | None:
    structs = tuple(struct for name in entity_types if (struct := entity_struct(name, form)) is not None)
    if not structs:
        return None
    return msgspec.json.Decoder(Union[structs] if len(structs) > 1 else structs[0])  # noqa: UP007


def line_prover(
    skip_type: Callable[[str], bool] = lambda name: False, form: str | None = None
) -> Callable[[str], ProvenLine | None] | None:
    """A function that returns (id, type, form) of an NDJSON line holding one entity, in keyValues or
    NGSI-LD normalized form (``form`` forces one), that the full check would report nothing about, else
    None; None when no bundled type can be proven so. Types for which ``skip_type`` is true are never
    proven (their schema was given by the user)."""
    entity_types = tuple(name for name in schemas.entity_types() if not skip_type(name))
    decoders = [
        (decoder.decode, each)
        for each in FORMS
        if form in (None, each) and (decoder := _decoder(entity_types, each)) is not None
    ]
    if not decoders:
        return None
    encode = msgspec.json.encode
    errors = (msgspec.ValidationError, msgspec.DecodeError)

    def prove(line: str) -> ProvenLine | None:
        for position, (decode, form_of_line) in enumerate(decoders):
            try:
                entity = decode(line)
            except errors:
                continue
            encoded = encode(entity)
            # A repeated key is dropped silently; an escaped colon would hide that in the count.
            if encoded.count(b":") != line.count(":") or _NGSI_NULL in line:
                return None
            # (a backslash is found at C speed; a two-character needle is searched several times slower)
            if "\\" in line and _ASCII_ESCAPE.search(line):
                return None  # an escaped colon, or an NGSI Null written with escapes
            if form_of_line == forms.NORMALIZED and encoded.count(b'"type":') < 2:
                continue  # no attribute: read as keyValues
            if position:  # inputs seldom mix forms: this one first from now on
                decoders.insert(0, decoders.pop(position))
            return entity.id, type(entity).__struct_config__.tag, form_of_line
        return None

    return prove
