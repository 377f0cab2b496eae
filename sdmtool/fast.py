"""The fast path: prove an entity valid cheaply, leaving everything else to the full check.

:func:`proven_form` answers a form only for an entity about which :func:`sdmtool.validate.check_entity`
would report nothing at all (no error, no warning); None means "not proven", and the caller runs the full
check, which produces every message, location and path. It runs jsonschema-rs on the schemas
:mod:`sdmtool.derive` generates from the keyValues schemas (keyValues, NGSI-LD normalized and NGSI-v2
normalized), so the proof and the full check read the same source.

The full check asks :func:`schema_errors` too: jsonschema-rs's errors against the keyValues schema, in the
terms of python-jsonschema's (the keyword, its value in the schema, the instance, the paths, the branches
of an anyOf), so that the same code explains both; python-jsonschema runs only for a failure the engine
reports otherwise. Property tests hold the two to the same findings.

The two engines must agree on what they are given. python-jsonschema is the reference: its ``pattern``
is Python's ``re`` (with ECMA-262's ``$``), and its ``uri`` and ``date-time`` formats are the
``rfc3986-validator`` and ``rfc3339-validator`` regular expressions. So before the schemas reach
jsonschema-rs, every ``pattern`` and those two formats are rewritten as regular expressions in the Rust
engine's syntax that match exactly the same strings: the Python expression is parsed with Python's own
parser, and each character class (``\\w``, ``\\d``, ``\\s`` included, whose Unicode meaning differs between
the engines) is written out as the explicit code points Python's ``re`` matches. A schema using anything
else (another format, a look-ahead, ``uniqueItems``...) is not given to the fast path at all.
"""

from __future__ import annotations

import array
import functools
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from re import _constants as sre  # Python's own regular expression parser: what `re` itself understands
from re import _parser as sre_parse
from typing import Any

from sdmtool import derive, forms, schemas

# Below this many entities, building the fast validators (about 0.1 s) costs more than it saves; an input of
# this many characters holds enough entities to pay for them from its first one.
MIN_ENTITIES = 200
LARGE_INPUT = 1 << 20
# Types the full check holds to rules beyond their schema (sdmtool.validate.check_entity): the subscription
# rules of SubscriptionQuery.
_MORE_RULES = frozenset({"SubscriptionQuery"})

_MAX_CODE_POINT = 0x10FFFF
_SURROGATES = (0xD800, 0xDFFF)  # no JSON string parsed here can hold one; Rust strings cannot either


class Unsupported(ValueError):
    """Something the fast path cannot hand to jsonschema-rs with the same meaning."""


# --- Python regular expressions, written for the Rust engine ------------------------------------------

Ranges = list[tuple[int, int]]


@functools.cache
def _every_character() -> str:
    """All Unicode scalar values, in order: what the category classes are read off."""
    code_points = array.array("I", range(_SURROGATES[0]))
    code_points.extend(range(_SURROGATES[1] + 1, _MAX_CODE_POINT + 1))
    return code_points.tobytes().decode("utf-32-le" if sys.byteorder == "little" else "utf-32-be")


def _code_point(index: int) -> int:
    return index if index < _SURROGATES[0] else index + (_SURROGATES[1] - _SURROGATES[0] + 1)


@functools.cache
def _category(category: Any, ascii_only: bool) -> tuple[tuple[int, int], ...]:
    """The code points Python's ``re`` puts in ``\\d``, ``\\s``, ``\\w`` (or their negations)."""
    escape = {
        sre.CATEGORY_DIGIT: r"\d",
        sre.CATEGORY_NOT_DIGIT: r"\D",
        sre.CATEGORY_SPACE: r"\s",
        sre.CATEGORY_NOT_SPACE: r"\S",
        sre.CATEGORY_WORD: r"\w",
        sre.CATEGORY_NOT_WORD: r"\W",
    }.get(category)
    if escape is None:
        raise Unsupported(f"character category {category}")
    runs = re.finditer(escape + "+", _every_character(), re.ASCII if ascii_only else 0)
    ranges: Ranges = []
    for run in runs:
        start, end = _code_point(run.start()), _code_point(run.end() - 1)
        if start < _SURROGATES[0] <= end:  # a run across the surrogates' gap is two ranges
            ranges += [(start, _SURROGATES[0] - 1), (_SURROGATES[1] + 1, end)]
        else:
            ranges.append((start, end))
    return tuple(ranges)


def _normalise(ranges: Iterable[tuple[int, int]]) -> Ranges:
    merged: Ranges = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def _complement(ranges: Ranges) -> Ranges:
    result: Ranges = []
    start = 0
    for low, high in _normalise([*ranges, _SURROGATES]):
        if low > start:
            result.append((start, low - 1))
        start = high + 1
    if start <= _MAX_CODE_POINT:
        result.append((start, _MAX_CODE_POINT))
    return result


def _char(code: int, python: bool = False) -> str:
    return f"\\U{code:08X}" if python else f"\\x{{{code:X}}}"


def _class(ranges: Ranges, python: bool = False) -> str:
    ranges = _normalise(ranges)
    if not ranges:
        return f"[^{_char(0, python)}-{_char(_MAX_CODE_POINT, python)}]"  # matches nothing
    if len(ranges) == 1 and ranges[0][0] == ranges[0][1]:
        return _char(ranges[0][0], python)
    members = (
        _char(lo, python) if lo == hi else f"{_char(lo, python)}-{_char(hi, python)}" for lo, hi in ranges
    )
    return "[" + "".join(members) + "]"


class _Translator:
    """Writes a parsed Python expression in the Rust ``regex`` crate's syntax, with the same matches (with
    ``python``, in Python's own syntax: for the case-folding and the explicit character classes).

    ``upper_case_input``: the expression is matched against ``text.upper()``, as python-jsonschema does for
    date-times; each letter then also stands for its lower-case form. Only upper-case ASCII letters are
    accepted in such an expression (the tests check that no other character upper-cases into one of
    them).
    """

    def __init__(self, flags: int, upper_case_input: bool, python: bool = False) -> None:
        if flags & (re.IGNORECASE | re.MULTILINE | re.LOCALE):
            raise Unsupported("IGNORECASE, MULTILINE and LOCALE are not supported")
        self.ascii_only = bool(flags & re.ASCII)
        self.dot_all = bool(flags & re.DOTALL)
        self.upper_case_input = upper_case_input
        self.python = python
        self.end = r"\Z" if python else r"\z"

    def char_class(self, ranges: Ranges) -> str:
        return _class(ranges, self.python)

    def letters(self, ranges: Ranges) -> Ranges:
        if not self.upper_case_input:
            return ranges
        result: Ranges = []
        for low, high in ranges:
            for code in range(low, min(high, 0x7F) + 1):
                char = chr(code)
                if char.islower():
                    raise Unsupported("a lower-case letter in an expression matched against upper case")
                if char.isupper():
                    result.append((ord(char.lower()),) * 2)
            if high > 0x7F:
                raise Unsupported("non-ASCII characters in an expression matched against upper case")
            result.append((low, high))
        return result

    def sequence(self, items: Any, *, top: bool = False) -> str:
        nodes = list(items)
        parts = []
        for position, (op, argument) in enumerate(nodes):
            last = top and position == len(nodes) - 1
            parts.append(self.node(op, argument, last=last))
        return "".join(parts)

    def node(self, op: Any, argument: Any, *, last: bool = False) -> str:
        if op is sre.LITERAL:
            return self.char_class(self.letters([(argument, argument)]))
        if op is sre.NOT_LITERAL:
            return self.char_class(_complement(self.letters([(argument, argument)])))
        if op is sre.ANY:
            return self.char_class(_complement([] if self.dot_all else [(10, 10)]))
        if op is sre.IN:
            return self.char_class(self.members(argument))
        if op is sre.BRANCH:
            return "(?:" + "|".join(self.sequence(branch) for branch in argument[1]) + ")"
        if op is sre.SUBPATTERN:
            _, add_flags, del_flags, pattern = argument
            if add_flags or del_flags:
                raise Unsupported("inline flags in a group")
            return "(?:" + self.sequence(pattern) + ")"
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            low, high, pattern = argument
            # Greedy or lazy changes which match is found, never whether one is.
            if op is sre.POSSESSIVE_REPEAT:
                raise Unsupported("possessive repetition")
            upper = "" if high is sre.MAXREPEAT else str(high)
            return "(?:" + self.sequence(pattern) + f"){{{low},{upper}}}"
        if op is sre.AT:
            if argument in (sre.AT_BEGINNING, sre.AT_BEGINNING_STRING):
                return r"\A"
            if argument is sre.AT_END_STRING:
                return self.end
            if argument is sre.AT_END and last:
                # Python's `$` also matches before a final line break; at the very end of the expression,
                # consuming that line break changes nothing.
                return rf"(?:\n?{self.end})"
        raise Unsupported(f"regular expression construct {op} {argument!r}")

    def members(self, items: Any) -> Ranges:
        ranges: Ranges = []
        negate = False
        for op, argument in items:
            if op is sre.NEGATE:
                negate = True
            elif op is sre.LITERAL:
                ranges += self.letters([(argument, argument)])
            elif op is sre.RANGE:
                ranges += self.letters([argument])
            elif op is sre.CATEGORY:
                ranges += self.letters(list(_category(argument, self.ascii_only)))
            else:
                raise Unsupported(f"character class member {op}")
        ranges = [r for r in _normalise(ranges) if not (r[0] >= _SURROGATES[0] and r[1] <= _SURROGATES[1])]
        return _complement(ranges) if negate else ranges


@functools.cache
def translate_regex(
    pattern: str, flags: int = 0, *, upper_case_input: bool = False, python: bool = False
) -> str:
    """A Rust ``regex`` expression that ``find``s a match in exactly the strings where Python's
    ``re.compile(pattern, flags).search`` does (of ``text.upper()`` with ``upper_case_input``); with
    ``python``, a Python expression, without flags, that does the same."""
    try:
        parsed = sre_parse.parse(pattern, flags)
    except re.error as error:
        raise Unsupported(f"not a Python regular expression: {error}") from None
    translator = _Translator(parsed.state.flags, upper_case_input, python)
    return translator.sequence(parsed, top=True)


# --- formats, as python-jsonschema checks them ---------------------------------------------------------

# `schemas.format_checker` refuses a final line break in every format but regex.
_NO_FINAL_LINE_BREAK = r"(?:\A|[^\n])\z"
# The same for Python's backtracking engine, which would try the expression above at every position.
_NO_FINAL_LINE_BREAK_PYTHON = r"\A(?:[\s\S]*[^\n])?\Z"
# rfc3339-validator also checks the calendar: no year 0, no 30 February, 29 February in leap years only.
_YEAR = r"(?:[0-9]{3}[1-9]|[0-9]{2}[1-9][0-9]|[0-9][1-9][0-9]{2}|[1-9][0-9]{3})"
_LEAP_YEAR = r"(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
_CALENDAR = (
    rf"\A(?:{_YEAR}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
    rf"|{_YEAR}-(?:0[13-9]|1[0-2])-(?:29|30)"
    rf"|{_YEAR}-(?:0[13578]|1[02])-31"
    rf"|{_LEAP_YEAR}-02-29)"
)


def _python_formats(python: bool = False) -> dict[str, list[str]]:
    """Each format python-jsonschema asserts here, as the Rust expressions that all must find a match (with
    ``python``: Python expressions without flags, for :mod:`sdmtool.typed_proof`)."""
    import jsonschema._format as jsonschema_formats
    import rfc3339_validator
    import rfc3986_validator

    # Which library python-jsonschema picked depends on what is installed (rfc3987 would take `uri` over).
    if getattr(jsonschema_formats, "validate_rfc3986", None) is not rfc3986_validator.validate_rfc3986 or (
        hasattr(jsonschema_formats, "rfc3987")
    ):
        raise Unsupported("python-jsonschema checks `uri` with another library")
    if getattr(jsonschema_formats, "validate_rfc3339", None) is not rfc3339_validator.validate_rfc3339:
        raise Unsupported("python-jsonschema checks `date-time` with another library")
    uri = rfc3986_validator.URI_RE_COMP
    date_time = rfc3339_validator.RFC3339_REGEX
    no_final_line_break = _NO_FINAL_LINE_BREAK_PYTHON if python else _NO_FINAL_LINE_BREAK
    return {
        "uri": [r"\A" + translate_regex(uri.pattern, uri.flags, python=python), no_final_line_break],
        "date-time": [
            r"\A" + translate_regex(date_time.pattern, date_time.flags, upper_case_input=True, python=python),
            _CALENDAR,  # the same in both syntaxes
            no_final_line_break,
        ],
    }


# --- schemas, as jsonschema-rs must read them -------------------------------------------------------

_SUBSCHEMA = ("not", "if", "then", "else", "items", "additionalProperties")
_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_SUBSCHEMA_MAPS = ("properties", "$defs")
_DATA = (
    "type",
    "enum",
    "const",
    "required",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
)


# Marks the checks engine_schema writes for a ``pattern`` or a ``format`` (an unknown keyword, which
# jsonschema-rs ignores): which keyword of the schema a failed check stands for, and with which value.
_STANDS_FOR = "x-stands-for"


def engine_schema(node: Any, formats: dict[str, list[str]]) -> Any:
    """``node`` with its patterns and formats in the Rust engine's terms; Unsupported for any keyword
    whose meaning the engines could read differently (or that is not checked to read the same).

    Each ``pattern`` or ``format`` becomes checks appended to the node's ``allOf``, each marked with the
    keyword and value it stands for (see :func:`schema_errors`)."""
    if isinstance(node, bool):
        return node
    if not isinstance(node, dict):
        raise Unsupported(f"not a schema: {node!r}")
    result: dict[str, Any] = {}
    checks: list[dict[str, Any]] = []
    for key, value in node.items():
        if key in derive._ANNOTATIONS:
            continue
        if key in _DATA:
            result[key] = value
        elif key == "$ref":
            if not (isinstance(value, str) and value.startswith("#/$defs/")):
                raise Unsupported(f"$ref {value!r}: only the schema's own definitions")
            result[key] = value
        elif key in _SUBSCHEMA:
            result[key] = engine_schema(value, formats)
        elif key in _SUBSCHEMA_LISTS:
            result[key] = [engine_schema(item, formats) for item in value]
        elif key in _SUBSCHEMA_MAPS:
            result[key] = {name: engine_schema(sub, formats) for name, sub in value.items()}
        elif key == "pattern":
            translated = translate_regex(schemas._ecma_pattern(value))
            checks.append({"pattern": translated, _STANDS_FOR: ["pattern", value]})
        elif key == "format":
            if value not in formats:
                raise Unsupported(f"format {value!r}")
            stands_for = ["format", value]
            checks += [{"pattern": expression, _STANDS_FOR: stands_for} for expression in formats[value]]
        else:
            raise Unsupported(f"keyword {key!r}")
    if checks:
        result["allOf"] = [*result.get("allOf", []), *checks]
    return result


# --- the validators ----------------------------------------------------------------------------------

Check = Callable[[Any], bool]


def _engine_validator(schema: dict[str, Any]) -> Any:
    import jsonschema_rs  # 30 ms of start-up: only when the fast path is used

    engine = {"$schema": derive.DRAFT, **schema}
    # The `regex` crate: linear time, and no look-around, which the translations never need.
    return jsonschema_rs.validator_for(
        engine, validate_formats=False, pattern_options=jsonschema_rs.RegexOptions()
    )


# Strings on which the engines must judge each format alike.
FORMAT_SAMPLES = {
    "uri": ["urn:ngsi-ld:MLModel:1", "https://a.example/x?y#z", "http://a:b/", "a b:c", "x", "é:x", "u:x\n"],
    "date-time": [
        "2026-11-20T09:30:00Z",
        "2024-02-29t10:00:00.5+01:00",
        "2023-02-29T00:00:00Z",
        "0000-01-01T00:00:00Z",
        "2026-11-20 09:30:00Z",
        "2026-11-20T09:30:00Z\n",
    ],
}


def _self_check(formats: dict[str, list[str]]) -> None:
    """A last guard against a change in either library: sample strings judged alike by both engines."""
    checker = schemas.format_checker()
    for name, strings in FORMAT_SAMPLES.items():
        checks = [{"pattern": expression} for expression in formats[name]]
        check = _engine_validator({"type": "string", "allOf": checks}).is_valid
        for text in strings:
            if check(text) != checker.conforms(text, name):
                raise Unsupported(f"the engines disagree on {name} {text!r}")


@functools.cache
def _formats() -> dict[str, list[str]] | None:
    """The formats in the Rust engine's terms, or None when the fast path must stay off."""
    try:
        formats = _python_formats()
        _self_check(formats)
    except (Unsupported, ImportError):
        return None
    return formats


@functools.cache
def _form_validator(entity_type: str, form: str, detected: bool = True) -> Any:
    """The compiled schema of one type in one form (``detected``: as the detector would read it, or
    forced); None when that type is always checked in full."""
    formats = _formats()
    if formats is None or entity_type in _MORE_RULES or entity_type not in schemas.entity_types():
        return None
    try:
        schema = engine_schema(derive.schema_of_form(form, entity_type, detected=detected), formats)
    except (Unsupported, derive.UnsupportedSchema):
        return None
    return _engine_validator(schema)


def _check(entity_type: str, form: str, detected: bool = True) -> Check | None:
    """The proof for one type in one form; None when that type is always checked in full."""
    validator = _form_validator(entity_type, form, detected)
    return None if validator is None else validator.is_valid  # type: ignore[no-any-return]


# The entity-level keywords of the generated schemas: their errors name no member, or (an undeclared
# member) name it in the error.
_ENTITY_KEYWORDS = frozenset({"required", "additionalProperties"})


def unproven_members(entity: dict[str, Any], form: str, detected: bool = True) -> set[str] | None:
    """The members of ``entity`` that fail their part of the schema generated for ``form``: every other
    member is one the full check would report nothing about. None when that cannot be told."""
    validator = _form_validator(entity["type"], form, detected)
    if validator is None:
        return None
    failing: set[str] = set()
    try:
        for error in validator.iter_errors(entity):
            if error.instance_path:
                failing.add(str(error.instance_path[0]))
            elif error.schema_path and error.schema_path[-1] in _ENTITY_KEYWORDS:
                failing.update(getattr(error.kind, "unexpected", ()))  # undeclared members
            else:
                return None
    except (ValueError, TypeError, OverflowError):
        return None
    return failing


# --- explaining errors ---------------------------------------------------------------------------------

# The keywords whose failures are explained from the engine's report, with the branches of an anyOf or a
# oneOf. Any other failure (a `not`, a false schema...) is left to python-jsonschema.
_EXPLAINED = frozenset({*_DATA, "pattern", "format", "anyOf", "oneOf"})
_BRANCHING = ("anyOf", "oneOf")


class _Unexplained(Exception):
    """An error the engine reports in terms python-jsonschema would not."""


@dataclass(frozen=True)
class EngineError:
    """One failed keyword as jsonschema-rs reports it, with the attributes of a python-jsonschema
    ``ValidationError`` that :mod:`sdmtool.validate` reads to explain it."""

    validator: str  # the keyword
    validator_value: Any
    instance: Any
    absolute_path: tuple[str | int, ...]
    schema: Any  # the schema node holding the keyword
    context: tuple[EngineError, ...] = ()  # anyOf / oneOf: the errors of every branch
    relative_schema_path: tuple[int, ...] = ()  # in a context: the branch it comes from
    message: str = ""  # only read for keywords that are never explained here


@functools.cache
def _explainer(entity_type: str) -> tuple[Any, dict[str, Any]] | None:
    """The compiled bundled keyValues schema of ``entity_type`` and the schema it was compiled from."""
    formats = _formats()
    if formats is None or entity_type not in schemas.entity_types():
        return None
    try:
        schema = engine_schema(derive.inline_schema(entity_type), formats)
    except (Unsupported, derive.UnsupportedSchema):
        return None
    return _engine_validator(schema), schema


def _node(schema: Any, path: Iterable[str | int]) -> Any:
    for part in path:
        schema = schema[part]
    return schema


def _converted(
    errors: Iterable[Any], schema: dict[str, Any], instance: Any, branch: tuple[int, ...] = ()
) -> list[EngineError]:
    """jsonschema-rs errors as python-jsonschema reports them; a ``format`` failing several of the checks
    it was written as is reported once."""
    found: list[EngineError] = []
    formats_reported: set[tuple[Any, ...]] = set()
    for error in errors:
        schema_path = error.schema_path
        if not schema_path or schema_path[-1] not in _EXPLAINED:
            raise _Unexplained
        keyword = schema_path[-1]
        holder = _node(schema, schema_path[:-1])
        value = holder[keyword]
        if _STANDS_FOR in holder:  # a check written for a pattern or a format: [..., "allOf", k, "pattern"]
            keyword, value = holder[_STANDS_FOR]
            holder = _node(schema, schema_path[:-3])
            if keyword == "format":
                reported = (keyword, *schema_path[:-3], "@", *error.instance_path)
                if reported in formats_reported:
                    continue
                formats_reported.add(reported)
        path = tuple(error.instance_path)
        context: tuple[EngineError, ...] = ()
        if keyword in _BRANCHING:
            branches = getattr(error.kind, "context", None) or ()
            context = tuple(
                sub
                for index, errors_of_branch in enumerate(branches)
                for sub in _converted(errors_of_branch, schema, instance, (index,))
            )
        found.append(EngineError(keyword, value, _node(instance, path), path, holder, context, branch))
    return found


def schema_errors(entity_type: str, instance: Any) -> list[EngineError] | None:
    """The errors of ``instance`` (a keyValues entity) against the bundled schema of ``entity_type``, as
    python-jsonschema would report them; None when explaining them takes python-jsonschema."""
    explainer = _explainer(entity_type)
    if explainer is None:
        return None
    validator, schema = explainer
    try:
        return _converted(validator.iter_errors(instance), schema, instance)
    except (ValueError, TypeError, OverflowError, _Unexplained):  # a value the engine cannot take...
        return None


def fast_types(form: str = forms.KEY_VALUES) -> tuple[str, ...]:
    """The entity types the fast path can prove valid in ``form``."""
    return tuple(name for name in schemas.entity_types() if _check(name, form) is not None)


def proven_form(entity: Any, form: str | None = None, *, first: str = forms.KEY_VALUES) -> str | None:
    """The form ``entity`` (parsed from JSON text) is in when the full check would report nothing about it;
    None when that is not proven.

    ``form`` is the form the caller forces, or None to detect it as the full check does, trying ``first``
    first (the form of the previous entity: inputs seldom mix forms).
    """
    return _proof(entity, form, first)[0]


def _proof(entity: Any, form: str | None, first: str) -> tuple[str | None, str | None]:
    """:func:`proven_form`, and the form :func:`sdmtool.forms.detect_form` gave if it had to be asked."""
    if type(entity) is not dict:
        return None, None
    entity_type = entity.get("type")
    if type(entity_type) is not str:
        return None, None
    if form is not None:
        proven = form in derive.FORMS and _passes(entity, entity_type, form, False)
        return (form if proven else None), None
    if _passes(entity, entity_type, first, True):
        return first, None
    # A proof in a detected form implies the detector reads that form: no other form can pass.
    detected = forms.detect_form(entity)
    if detected != first and detected in derive.FORMS and _passes(entity, entity_type, detected, True):
        return detected, detected
    return None, detected


def _passes(entity: dict[str, Any], entity_type: str, form: str, detected: bool) -> bool:
    check = _check(entity_type, form, detected)
    if check is None:
        return False
    try:
        return check(entity)
    except (ValueError, TypeError, OverflowError):  # a value the engine cannot take: the full check can
        return False


# The forms in which leaving the proven members out pays: an attribute costs the full check of a normalized
# entity several times what it costs in keyValues, where finding the failing members (an engine pass that
# collects every error) costs more than the full check spends on the members it would leave out.
_PRUNED_FORMS = frozenset({forms.NORMALIZED, forms.NGSIV2_NORMALIZED})


class Gate:
    """Where :func:`sdmtool.validate.validate_items` asks the fast path, one entity read at a time.

    The fast path is for many entities: the first :data:`MIN_ENTITIES` ones of small inputs go to the full
    check, and so does every entity whose findings would depend on more than its value (duplicate keys, a
    notification's deleted attributes, a file name that announces a form, user schemas).
    """

    def __init__(self, form: str | None, *, user_type: Callable[[str], bool] = lambda name: False) -> None:
        self.form = form
        self.user_type = user_type  # types whose schema the user gave: checked in full
        self.seen = 0
        self.last = forms.KEY_VALUES
        self.named: dict[str, bool] = {}
        # Past the first entities (or in a large input): the engine's validators are worth compiling, for
        # the explanations of the full check too.
        self.warm = False
        # The last entity a proof was tried on, and the form the detector gave if it was asked: what the
        # full check of that entity would otherwise work out again.
        self._tried: tuple[Any, str | None] = (None, None)

    def detected_form(self, entity: Any) -> str | None:
        """What :func:`sdmtool.forms.detect_form` says of ``entity``, if the proof already asked it."""
        tried, detected = self._tried
        return detected if tried is entity else None

    def unproven_members(self, entity: Any) -> set[str] | None:
        """The members of ``entity`` (just not proven valid) that the full check must look at: the others
        pass their part of the schema of the form the full check reads it in. None: all of them."""
        tried, detected = self._tried
        form = self.form or detected
        if tried is not entity or form not in _PRUNED_FORMS:
            return None
        return unproven_members(entity, form, self.form is None)

    def proven_form(self, item: Any) -> str | None:
        """The form of ``item`` (a :class:`sdmtool.reader.SourceEntity`) when proven valid, else None."""
        self.seen += 1
        if not self.warm:
            if self.seen <= MIN_ENTITIES and item.input_size < LARGE_INPUT:
                return None
            self.warm = True
        if item.problems or item.in_notification or item.pointer_prefix or not item.parsed_by_orjson:
            return None
        entity_type = item.value.get("type") if type(item.value) is dict else None
        if type(entity_type) is not str or self.user_type(entity_type):
            return None
        source = item.source
        if source not in self.named:
            self.named[source] = forms.form_named_by(source) is not None
        if self.named[source] and self.form is None:
            return None  # the full check compares the form found with the file name
        proven, detected = _proof(item.value, self.form, self.last)
        self._tried = (item.value, detected)
        # The form to try first next time: the one the last entity was in, proven or not (the lines proven
        # as they were read never come here, so an input of invalid normalized entities would otherwise be
        # tried as keyValues first every time).
        if proven is not None or detected in derive.FORMS:
            self.last = proven or detected
        return proven
