"""The NGSI-LD query language ``q`` (ETSI GS CIM 009, clause 4.9): parser, AST and evaluator.

The parser is a hand-written recursive descent over characters rather than a tokenizer plus grammar,
because the lexical rules depend on the position: after ``==`` an unquoted ``urn:a:b`` is one URI, after
``~=`` the rest of the term is a regular expression, and ``10..20`` must not be read as the number ``10.``
followed by ``.20``.

Nothing here knows about storage or about JSON-LD. Evaluation asks a *resolver* for the values an attribute
path designates in one entity; :func:`normalized_resolver` and :func:`key_values_resolver` build resolvers
for entities held as plain dicts, and a broker can pass an ``expand`` callable so that the short names of
the query are compared with the expanded IRIs it stores.

Deliberate extensions to the printed grammar (none changes the meaning of a spec-conformant query; the
nesting one is needed by the spec's own examples):

* parentheses nest recursively (the spec's own example ``((speed>50|rpm>3000);brandName=="Mercedes")``
  needs it);
* a value list may contain unquoted URIs (``ref==urn:a,urn:b``);
* in a linked-entity path, an entity-type prefix may also precede the final attribute (``rel{T:attr}``);
* the regular expression after ``~=``/``!~=`` may be written as a JSON string; unquoted, it ends at the first
  ``;``, ``|`` or ``)`` that is not inside parentheses or a bracket expression of the regex itself. It is a
  POSIX extended expression (IEEE 1003.2, as the clause says: ``[[:alpha:]]`` works) with Python's own
  additions (``\\d``, ``(?i)``) on top.

Not accepted, because no grammar rule allows it: white space outside quoted strings, unquoted plain strings,
negated existence ``!attr`` (an Orion-LD extension).
"""

from __future__ import annotations

import calendar
import json
import math
import re
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from re import _constants as _sre  # type: ignore[attr-defined]
from re import _parser as _sre_parse  # type: ignore[attr-defined]
from typing import Any

from sdmtool.ngsild import (
    CONCISE_KINDS,
    INSTANCE_META_MEMBERS,
    INSTANCE_SYSTEM_MEMBERS,
    URI_SCHEME,
    VALUE_MEMBERS,
)

__all__ = [
    "And",
    "AttrPath",
    "Comparison",
    "Existence",
    "Literal",
    "Node",
    "Or",
    "Query",
    "QuerySyntaxError",
    "Range",
    "Regex",
    "RegexError",
    "RelationshipObject",
    "Resolver",
    "ValueList",
    "compile_pattern",
    "key_values_resolver",
    "normalized_resolver",
    "parse_query",
    "regex_tree",
    "translate_regex",
]

# Nesting is bounded so that hostile input ends in a QuerySyntaxError instead of a RecursionError.
MAX_DEPTH = 64
# Regular expressions (``~=``, ``idPattern``): what the embedded broker's linear-time matcher can run. A
# longer pattern, or one whose automaton needs more states (bounded repeats are unrolled: ``(a{100}){100}``
# needs 10,000), or groups nested deeper, is refused.
MAX_REGEX_LENGTH = 4096
MAX_REGEX_STATES = 2000
MAX_REGEX_NESTING = 100
# Entities that one evaluation of ``q`` on one entity may fetch to follow relationships (``a{b}``): a
# relationship graph crafted to branch at every hop cannot make an evaluation unbounded. Targets beyond it
# are not followed (they match nothing).
MAX_LINKED_ENTITIES = 1000


class QuerySyntaxError(ValueError):
    """``q`` does not follow the grammar; ``position`` is the 0-based index of the offending character."""

    def __init__(self, message: str, position: int, text: str = "") -> None:
        super().__init__(f"{message} at position {position}")
        self.message = message
        self.position = position
        self.text = text

    def caret(self) -> str:
        """The query on one line and a ``^`` under the offending character on the next."""
        return f"{self.text}\n{' ' * self.position}^"


# ---------------------------------------------------------------------------------------------------------
# AST


@dataclass(frozen=True)
class AttrPath:
    """``names[0]`` is the attribute, ``names[1:]`` sub-attributes (``speed.observedAt``), ``compound`` the
    members inside the value (``address[city]``); ``linked`` continues in the entity that the relationship
    ``names[0]`` points at (``a{b}``), and ``entity_types`` restricts which entities that may be."""

    names: tuple[str, ...]
    compound: tuple[str, ...] = ()
    linked: AttrPath | None = None
    entity_types: tuple[str, ...] = ()

    @property
    def attribute(self) -> str:
        return self.names[0]

    def __str__(self) -> str:
        prefix = ",".join(self.entity_types) + ":" if self.entity_types else ""
        if self.linked is not None:
            return f"{prefix}{self.names[0]}{{{self.linked}}}"
        text = prefix + ".".join(self.names)
        if self.compound:
            text += "[" + ".".join(self.compound) + "]"
        return text


@dataclass(frozen=True)
class Literal:
    """One value of the query. ``kind`` is one of number, string, boolean, uri, datetime, date, time;
    ``raw`` is the text as written, kept so that the query prints back unchanged."""

    kind: str
    value: Any
    raw: str

    def __str__(self) -> str:
        return self.raw


@dataclass(frozen=True)
class Range:
    low: Literal
    high: Literal

    def __str__(self) -> str:
        return f"{self.low}..{self.high}"


@dataclass(frozen=True)
class ValueList:
    items: tuple[Literal, ...]

    def __str__(self) -> str:
        return ",".join(str(item) for item in self.items)


@dataclass(frozen=True)
class Regex:
    """``pattern`` is the expression as Python's ``re`` reads it (POSIX bracket expressions such as
    ``[[:alpha:]]`` rewritten), ``raw`` as written in the query."""

    pattern: str
    raw: str
    compiled: re.Pattern[str] = field(compare=False, hash=False, repr=False)

    def __str__(self) -> str:
        return self.raw


Value = Literal | Range | ValueList | Regex

# A resolver returns every value the path designates in one entity: one per instance of a multi-instance
# attribute, the ``object`` URI for a relationship; an empty sequence means the attribute does not exist.
Resolver = Callable[[AttrPath], Sequence[Any]]


class Node:
    """Base of the AST nodes."""

    def evaluate(self, resolve: Resolver) -> bool:
        raise NotImplementedError

    def paths(self) -> Iterable[AttrPath]:
        raise NotImplementedError


@dataclass(frozen=True)
class Existence(Node):
    """A bare attribute: true when the entity has it."""

    path: AttrPath

    def evaluate(self, resolve: Resolver) -> bool:
        return len(resolve(self.path)) > 0

    def paths(self) -> Iterable[AttrPath]:
        yield self.path

    def __str__(self) -> str:
        return str(self.path)


@dataclass(frozen=True)
class Comparison(Node):
    path: AttrPath
    op: str
    value: Value

    def evaluate(self, resolve: Resolver) -> bool:
        found = resolve(self.path)
        if not found:
            # Every operator, != and !~= included, requires the attribute to exist.
            return False
        candidates = list(_flatten(found))
        if self.op == "==":
            return any(_equals(c, self.value) for c in candidates)
        if self.op == "!=":
            return not any(_equals(c, self.value) for c in candidates)
        if self.op in ("~=", "!~="):
            assert isinstance(self.value, Regex)
            # Relationships compare their object URI with == and != only.
            strings = [c for c in candidates if isinstance(c, str) and not isinstance(c, RelationshipObject)]
            if not strings:
                return False
            matched = any(self.value.compiled.search(s) is not None for s in strings)
            return matched if self.op == "~=" else not matched
        assert isinstance(self.value, Literal)
        return any(_ordered(c, self.op, self.value) for c in candidates)

    def paths(self) -> Iterable[AttrPath]:
        yield self.path

    def __str__(self) -> str:
        return f"{self.path}{self.op}{self.value}"


@dataclass(frozen=True)
class And(Node):
    operands: tuple[Node, ...]

    def evaluate(self, resolve: Resolver) -> bool:
        return all(o.evaluate(resolve) for o in self.operands)

    def paths(self) -> Iterable[AttrPath]:
        for o in self.operands:
            yield from o.paths()

    def __str__(self) -> str:
        # An Or inside an And needs its parentheses back; everything else binds at least as tightly.
        return ";".join(f"({o})" if isinstance(o, Or) else str(o) for o in self.operands)


@dataclass(frozen=True)
class Or(Node):
    operands: tuple[Node, ...]

    def evaluate(self, resolve: Resolver) -> bool:
        return any(o.evaluate(resolve) for o in self.operands)

    def paths(self) -> Iterable[AttrPath]:
        for o in self.operands:
            yield from o.paths()

    def __str__(self) -> str:
        return "|".join(str(o) for o in self.operands)


@dataclass(frozen=True)
class Query:
    """A parsed ``q``: ``text`` as given, ``root`` the expression tree."""

    text: str
    root: Node

    def evaluate(self, resolve: Resolver | Mapping[str, Any]) -> bool:
        """True if the entity matches. ``resolve`` is a :data:`Resolver`, or a keyValues-like mapping
        (attribute name -> value, relationships as their object URI)."""
        if isinstance(resolve, Mapping):
            resolve = key_values_resolver(resolve)
        return self.root.evaluate(resolve)

    def paths(self) -> list[AttrPath]:
        return list(self.root.paths())

    def attribute_names(self) -> frozenset[str]:
        """The attributes the query reads in the entity itself (not in linked entities)."""
        return frozenset(p.attribute for p in self.root.paths())

    def __str__(self) -> str:
        return str(self.root)


# ---------------------------------------------------------------------------------------------------------
# Parser

_NUMBER_RE = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
# Named fields, so that an invalid value is reported at the field that is out of range.
_DATE_PART = r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"
_OFFSET_PART = r"(?:Z|[+-](?P<offset_hour>[0-9]{2}):?(?P<offset_minute>[0-9]{2}))?"
_DATETIME_RE = re.compile(
    _DATE_PART
    + r"T(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2})(?:[.,][0-9]+)?)?"
    + _OFFSET_PART
)
_DATE_RE = re.compile(_DATE_PART)
_TIME_RE = re.compile(
    r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})(?:[.,][0-9]+)?" + _OFFSET_PART
)
# Each field's valid range; the day's upper bound depends on the month.
_FIELD_RANGES = {
    "year": (1, 9999),
    "month": (1, 12),
    "day": (1, 31),
    "hour": (0, 23),
    "minute": (0, 59),
    "second": (0, 59),
    "offset_hour": (0, 23),
    "offset_minute": (0, 59),
}


def _field_problem(match: re.Match[str]) -> tuple[str, int] | None:
    """The first field of a matched date, time or date-time that is out of range: (message, its index)."""
    fields = match.groupdict()
    for name, (low, high) in _FIELD_RANGES.items():
        text = fields.get(name)
        if text is None:
            continue
        if name == "day" and low <= int(fields["month"]) <= 12:
            high = calendar.monthrange(int(fields["year"]) or 4, int(fields["month"]))[1]
        if not low <= int(text) <= high:
            width = len(text)
            shown = f"{low:0{width}d}-{high:0{width}d}"
            return f"{name.replace('_', ' ')} {text} is out of range ({shown})", match.start(name)
    return None


_URI_SCHEME_RE = re.compile(URI_SCHEME)

# Characters that end a value: the logical operators, a closing parenthesis, a list separator.
_TERMINATORS = frozenset(";|),")
_OPERATORS = ("==", "!=", ">=", "<=", "!~=", "~=", ">", "<")
_COMPARABLE_KINDS = frozenset({"number", "string", "datetime", "date", "time"})


def _is_name_start(ch: str) -> bool:
    return ch.isalpha()  # unicodeLetter: the general categories L*


def _is_name_char(ch: str) -> bool:
    # unicodeNumber is any general category N* (Nd, Nl, No: '²', '½', 'Ⅻ'); str.isdigit is a narrower set.
    return ch.isalpha() or ch == "_" or _is_unicode_number(ch)


def _is_ascii_digit(ch: str) -> bool:
    return ch != "" and "0" <= ch <= "9"


def _is_unicode_number(ch: str) -> bool:
    return ch != "" and unicodedata.category(ch)[0] == "N"


def _describe(ch: str) -> str:
    if ch.isspace():
        return "white space (not allowed outside quoted strings)"
    return repr(ch)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    # -- helpers

    def error(self, message: str, position: int | None = None) -> QuerySyntaxError:
        return QuerySyntaxError(message, self.pos if position is None else position, self.text)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def unexpected(self, expected: str) -> QuerySyntaxError:
        if self.at_end():
            return self.error(f"unexpected end of query, expected {expected}")
        return self.error(f"unexpected {_describe(self.peek())}, expected {expected}")

    def expect(self, ch: str, expected: str) -> None:
        if self.peek() != ch:
            raise self.unexpected(expected)
        self.pos += 1

    # -- Query = term-or-group *(LogicalOp term-or-group); ';' binds tighter than '|'

    def parse(self) -> Node:
        if not self.text:
            raise self.error("empty query")
        node = self.parse_or(0)
        if not self.at_end():
            if self.peek() == ")":
                raise self.error("unbalanced ')'")
            raise self.unexpected("';', '|' or the end of the query")
        return node

    def parse_or(self, depth: int) -> Node:
        operands = [self.parse_and(depth)]
        while self.peek() == "|":
            self.pos += 1
            operands.append(self.parse_and(depth))
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def parse_and(self, depth: int) -> Node:
        operands = [self.parse_primary(depth)]
        while self.peek() == ";":
            self.pos += 1
            operands.append(self.parse_primary(depth))
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def parse_primary(self, depth: int) -> Node:
        if self.peek() == "(":
            if depth >= MAX_DEPTH:
                raise self.error(f"parentheses nested deeper than {MAX_DEPTH}")
            opened = self.pos
            self.pos += 1
            node = self.parse_or(depth + 1)
            if self.peek() != ")":
                if self.at_end():
                    raise self.error("'(' is never closed", opened)
                raise self.unexpected("';', '|' or ')'")
            self.pos += 1
            return node
        return self.parse_term()

    # -- QueryTerm

    def parse_term(self) -> Node:
        if self.peek() == "!":
            raise self.error("negated existence '!attr' is an Orion-LD extension, not NGSI-LD q")
        path = self.parse_attribute(0)
        if self.at_end() or self.peek() in ";|)":
            return Existence(path)
        op_pos = self.pos
        op = self.parse_operator()
        if op in ("~=", "!~="):
            return Comparison(path, op, self.parse_regex())
        if op in ("==", "!="):
            return Comparison(path, op, self.parse_equality_value())
        value = self.parse_value(allow_uri=False)
        if value.kind not in _COMPARABLE_KINDS:
            raise self.error(
                f"'{op}' compares numbers, strings, dates and times, not a {value.kind}", op_pos + len(op)
            )
        self.expect_end_of_term()
        return Comparison(path, op, value)

    def parse_operator(self) -> str:
        for op in _OPERATORS:
            if self.text.startswith(op, self.pos):
                self.pos += len(op)
                return op
        if self.peek() == "=":
            raise self.error("'=' is not an operator, use '=='")
        raise self.unexpected("an operator (==, !=, >, >=, <, <=, ~=, !~=), ';', '|' or ')'")

    def expect_end_of_term(self) -> None:
        if not self.at_end() and self.peek() not in ";|)":
            raise self.unexpected("';', '|', ')' or the end of the query after the value")

    # -- Attribute = AttrName "{" LinkedEntityPath "}" / ValuePath

    def parse_name(self, what: str = "an attribute name") -> str:
        start = self.pos
        if not _is_name_start(self.peek()):
            raise self.unexpected(what)
        self.pos += 1
        while _is_name_char(self.peek()):
            self.pos += 1
        return self.text[start : self.pos]

    def parse_attribute(self, depth: int, entity_types: tuple[str, ...] = ()) -> AttrPath:
        if depth >= MAX_DEPTH:
            raise self.error(f"linked entity paths nested deeper than {MAX_DEPTH}")
        first = self.parse_name()
        if self.peek() == "{":
            self.pos += 1
            linked = self.parse_linked_path(depth + 1)
            self.expect("}", "'}'")
            return AttrPath((first,), linked=linked, entity_types=entity_types)
        names = [first]
        while self.peek() == "." and not self.text.startswith("..", self.pos):
            self.pos += 1
            names.append(self.parse_name("a sub-attribute name after '.'"))
        compound: list[str] = []
        if self.peek() == "[":
            self.pos += 1
            compound.append(self.parse_name("a member name after '['"))
            while self.peek() == ".":
                self.pos += 1
                compound.append(self.parse_name("a member name after '.'"))
            self.expect("]", "'.' or ']'")
        return AttrPath(tuple(names), tuple(compound), entity_types=entity_types)

    def parse_linked_path(self, depth: int) -> AttrPath:
        # Optional "Type1,Type2:" prefix: a name followed by ',' or ':' can only be an entity type. The
        # printed grammar puts it only before a further hop ("T:rel{…}"); it is accepted before a final
        # value path too ("T:attr"), where it filters the linked entity just the same.
        save = self.pos
        first = self.parse_name()
        if self.peek() in (",", ":"):
            types = [first]
            while self.peek() == ",":
                self.pos += 1
                types.append(self.parse_name("an entity type after ','"))
            self.expect(":", "':' after the entity types")
            return self.parse_attribute(depth, tuple(types))
        self.pos = save
        return self.parse_attribute(depth)

    # -- values

    def parse_equality_value(self) -> Literal | Range | ValueList:
        first_pos = self.pos
        first = self.parse_value(allow_uri=True)
        if self.text.startswith("..", self.pos):
            dots = self.pos
            self.pos += 2
            second_pos = self.pos
            second = self.parse_value(allow_uri=False)
            for bound, where in ((first, first_pos), (second, second_pos)):
                if bound.kind not in _COMPARABLE_KINDS:
                    raise self.error(
                        f"a range needs numbers, strings, dates or times, not a {bound.kind}", where
                    )
            if first.kind != second.kind:
                raise self.error(f"range bounds differ in type ({first.kind} .. {second.kind})", dots)
            self.expect_end_of_term()
            return Range(first, second)
        if self.peek() == ",":
            items = [first]
            while self.peek() == ",":
                self.pos += 1
                items.append(self.parse_value(allow_uri=True))
            self.expect_end_of_term()
            return ValueList(tuple(items))
        if not self.at_end() and self.peek() not in ";|)":
            raise self.unexpected("',', '..', ';', '|', ')' or the end of the query after the value")
        return first

    def parse_value(self, *, allow_uri: bool) -> Literal:
        ch = self.peek()
        start = self.pos
        if ch == "":
            raise self.unexpected("a value")
        if ch == '"':
            raw, decoded = self.parse_quoted()
            return Literal("string", decoded, raw)
        if _is_ascii_digit(ch) or ch == "-":
            return self.parse_number_or_temporal()
        if _is_unicode_number(ch):
            raise self.error(
                f"{ch!r} is not a digit of a number: numbers are written with the ASCII digits 0-9"
            )
        if ch.isalpha():
            word_end = start
            while word_end < len(self.text) and self.text[word_end].isalnum():
                word_end += 1
            word = self.text[start:word_end]
            following = self.text[word_end : word_end + 1]
            if word in ("true", "false") and (
                following == "" or following in _TERMINATORS or following == "."
            ):
                self.pos = word_end
                return Literal("boolean", word == "true", word)
            if allow_uri and _URI_SCHEME_RE.match(self.text, start):
                return self.parse_uri()
            if allow_uri:
                raise self.error("unquoted string value; write strings in double quotes")
            raise self.error(
                "unquoted string value; write strings in double quotes (URIs are allowed only "
                "after == and !=)"
            )
        raise self.unexpected('a value (number, "string", true, false, date, time or URI)')

    def parse_quoted(self) -> tuple[str, str]:
        start = self.pos
        i = start + 1
        text = self.text
        while i < len(text):
            c = text[i]
            if c == "\\":
                i += 2
                continue
            if c == '"':
                raw = text[start : i + 1]
                try:
                    decoded = json.loads(raw)
                except json.JSONDecodeError as exc:
                    # exc.pos is at the offending escape (its backslash, or for \u the 'u' after it).
                    where = start + exc.pos
                    if text[where] != "\\" and text[where - 1] == "\\":
                        where -= 1
                    raise self.error(f"invalid quoted string ({exc.msg})", where) from None
                self.pos = i + 1
                return raw, decoded
            if ord(c) < 0x20:
                raise self.error("control character inside a quoted string", i)
            i += 1
        raise self.error("quoted string is never closed", start)

    def parse_number_or_temporal(self) -> Literal:
        start = self.pos
        text = self.text
        for regex, kind in ((_DATETIME_RE, "datetime"), (_TIME_RE, "time"), (_DATE_RE, "date")):
            m = regex.match(text, start)
            if m:
                raw = m.group()
                problem = _field_problem(m)
                if problem is not None:
                    raise self.error(f"invalid {kind} {raw!r}: {problem[0]}", problem[1])
                self.pos = m.end()
                try:
                    if kind == "datetime":
                        value: Any = _parse_datetime(raw)
                    else:
                        value = _parse_time(raw) if kind == "time" else date.fromisoformat(raw)
                except (ValueError, OverflowError):  # overflow: year 1 or 9999 shifted out by its offset
                    raise self.error(f"invalid {kind} {raw!r}", start) from None
                return Literal(kind, value, raw)
        m = _NUMBER_RE.match(text, start)
        if not m:
            raise self.error("'-' must be followed by a digit (0-9)", start + 1)
        raw = m.group()
        self.pos = m.end()
        number: int | float
        if re.fullmatch(r"-?[0-9]+", raw):
            try:
                number = int(raw)
            except ValueError:  # more digits than int() accepts by default
                number = float(raw)
        else:
            number = float(raw)
        return Literal("number", number, raw)

    def parse_uri(self) -> Literal:
        start = self.pos
        text = self.text
        i = start
        while i < len(text) and text[i] not in _TERMINATORS:
            if text[i].isspace() or text[i] in '"<>\\^`{}':
                raise self.error(f"{_describe(text[i])} is not allowed in an unquoted URI", i)
            i += 1
        raw = text[start:i]
        scheme_end = raw.index(":")
        if scheme_end == len(raw) - 1:
            raise self.error("URI has nothing after its scheme", i)
        self.pos = i
        return Literal("uri", raw, raw)

    def parse_regex(self) -> Regex:
        start = self.pos
        offsets: list[int] | None = None  # where each character of a quoted pattern is written
        if self.peek() == '"':
            raw, pattern = self.parse_quoted()
            offsets = _decoded_offsets(raw)
        else:
            pattern = self.scan_unquoted_regex()
            raw = pattern
            if not pattern:
                raise self.unexpected("a regular expression")
        try:
            python_pattern = translate_regex(pattern)
            compiled = re.compile(python_pattern)
        except RegexError as exc:
            offset = exc.offset or 0
            where = start + (offsets[min(offset, len(offsets) - 1)] if offsets is not None else offset)
            message = f"invalid regular expression ({exc.message})"
            raise self.error(message, min(where, len(self.text))) from None
        except (re.error, OverflowError, RecursionError, ValueError) as exc:
            raise self.error(f"invalid regular expression ({exc})", start) from None
        self.expect_end_of_term()
        return Regex(python_pattern, raw, compiled)

    def scan_unquoted_regex(self) -> str:
        # Parentheses and bracket expressions of the regex itself may contain ';', '|' and ')'.
        text = self.text
        start = i = self.pos
        depth = 0
        while i < len(text):
            c = text[i]
            if c == "\\":
                i += 2
                continue
            if c == "[":
                close = _bracket_end(text, i)
                if close < 0:
                    raise self.error("'[' in the regular expression is never closed", i)
                i = close + 1
                continue
            if c == "(":
                depth += 1
            elif c == ")":
                if depth == 0:
                    break
                depth -= 1
            elif c in ";|" and depth == 0:
                break
            i += 1
        i = min(i, len(text))
        self.pos = i
        return text[start:i]


def _decoded_offsets(raw: str) -> list[int]:
    """For a JSON string as written (quotes included, already known to be valid), the index in ``raw`` of
    each character it decodes to, plus that of the closing quote."""
    offsets: list[int] = []
    i = 1
    while i < len(raw) - 1:
        offsets.append(i)
        if raw[i] != "\\":
            i += 1
        elif raw[i + 1] != "u":
            i += 2
        elif (
            0xD800 <= int(raw[i + 2 : i + 6], 16) <= 0xDBFF
            and raw.startswith("\\u", i + 6)
            and 0xDC00 <= int(raw[i + 8 : i + 12], 16) <= 0xDFFF
        ):
            i += 12  # a surrogate pair written as two escapes decodes to one character
        else:
            i += 6
    offsets.append(i)
    return offsets


def _bracket_end(text: str, start: int) -> int:
    """Index of the ']' closing the bracket expression opened at ``start`` (POSIX: a leading ']' or '^]'
    is literal, and ``[:alpha:]``, ``[.-.]``, ``[=e=]`` inside it are single items), or -1."""
    i = start + 1
    if i < len(text) and text[i] == "^":
        i += 1
    if i < len(text) and text[i] == "]":
        i += 1
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "[" and text[i + 1 : i + 2] in (":", ".", "="):
            close = text.find(text[i + 1] + "]", i + 2)
            if close >= 0:
                i = close + 2
                continue
        if c == "]":
            return i
        i += 1
    return -1


# POSIX character classes (IEEE 1003.2, POSIX locale) as the body of a Python character set.
_POSIX_CLASSES = {
    "alpha": "A-Za-z",
    "digit": "0-9",
    "alnum": "0-9A-Za-z",
    "upper": "A-Z",
    "lower": "a-z",
    "space": " \\t\\n\\r\\f\\v",
    "blank": " \\t",
    "punct": "!-/:-@\\[-`{-~",
    "xdigit": "0-9A-Fa-f",
    "cntrl": "\\x00-\\x1f\\x7f",
    "print": " -~",
    "graph": "!-~",
}
# Characters that a Python character set reads as syntax (or warns about, as future set operations).
_SET_SPECIAL = frozenset("\\]^-[&~|")


class RegexError(ValueError):
    """A regular expression that NGSI-LD ``q``/``idPattern`` (and so the embedded broker) refuses.

    ``offset``: the 0-based index of the offending character in the pattern (None when unknown); ``syntax``:
    the pattern does not parse (rather than using something a finite automaton cannot run, or being too
    large)."""

    def __init__(self, message: str, offset: int | None, *, syntax: bool = False) -> None:
        super().__init__(message if offset is None else f"{message} at position {offset}")
        self.message = message
        self.offset = offset
        self.syntax = syntax


# Group headers written as one token: (?:  (?P<n>  (?P=n)  (?#…)  (?=  (?!  (?<=  (?<!  (?>  (?i)  (?i:  (?(1)
_GROUP_HEAD = re.compile(r"\(\?(?:P<[^>]*>|P=[^)]*\)|#[^)]*\)|[=!:>]|<[=!]|[aiLmsux-]*[:)]|\([^)]*\))?")
_LEADING_FLAGS = re.compile(r"(?:\(\?[aiLmsux]+\))+")
_REPEAT = re.compile(r"\{[0-9]*(?:,[0-9]*)?\}")
_SUPPORTED_AT = frozenset(
    {
        _sre.AT_BEGINNING,
        _sre.AT_BEGINNING_LINE,
        _sre.AT_BEGINNING_STRING,
        _sre.AT_END,
        _sre.AT_END_LINE,
        _sre.AT_END_STRING,
        _sre.AT_BOUNDARY,
        _sre.AT_NON_BOUNDARY,
    }
)
_SUPPORTED_CATEGORIES = frozenset(
    {
        _sre.CATEGORY_DIGIT,
        _sre.CATEGORY_NOT_DIGIT,
        _sre.CATEGORY_SPACE,
        _sre.CATEGORY_NOT_SPACE,
        _sre.CATEGORY_WORD,
        _sre.CATEGORY_NOT_WORD,
    }
)
_UNSUPPORTED_REGEX = {
    _sre.GROUPREF: "backreferences",
    _sre.GROUPREF_EXISTS: "conditional groups",
    _sre.ASSERT: "lookahead/lookbehind assertions",
    _sre.ASSERT_NOT: "negative lookahead/lookbehind assertions",
    _sre.ATOMIC_GROUP: "atomic groups",
    _sre.POSSESSIVE_REPEAT: "possessive quantifiers",
}
# The translation at most doubles a pattern ('$' -> '\\Z'), plus the '(?s)' in front.
_MAX_PYTHON_LENGTH = 2 * MAX_REGEX_LENGTH + 4


def _regex_states(items: Any, depth: int = 0) -> int:
    """How many states the Thompson automaton of :mod:`sdmtool.linear_regex` needs for a parsed
    sequence, counted as it builds them; raises RegexError for what it cannot build."""
    total = 0
    for op, av in items:
        if op in _UNSUPPORTED_REGEX:
            raise RegexError(
                f"{_UNSUPPORTED_REGEX[op]} are not supported: NGSI-LD regular expressions are POSIX "
                "extended ones",
                None,
            )
        if op in (_sre.LITERAL, _sre.NOT_LITERAL, _sre.ANY):
            total += 1
        elif op is _sre.AT:
            if av not in _SUPPORTED_AT:
                raise RegexError(f"unsupported anchor {av}", None)
            total += 1
        elif op is _sre.IN:
            for item_op, item_av in av:
                if item_op is _sre.CATEGORY and item_av not in _SUPPORTED_CATEGORIES:
                    raise RegexError(f"unsupported character category {item_av}", None)
                if item_op not in (_sre.NEGATE, _sre.LITERAL, _sre.RANGE, _sre.CATEGORY):
                    raise RegexError(f"unsupported character class item {item_op}", None)
            total += 1
        elif op is _sre.BRANCH:
            total += 1 + sum(_regex_states(alternative, depth + 1) for alternative in av[1])
        elif op is _sre.SUBPATTERN:
            total += _regex_states(av[3], depth + 1)
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT):
            low, high, sub = av
            size = _regex_states(sub, depth + 1)
            if high == _sre.MAXREPEAT:
                total += 1 + size + low * size  # a loop split, one copy to loop on, ``low`` copies
            else:
                total += (high - low) * (1 + size) + low * size  # an optional split per optional copy
        else:
            raise RegexError(f"unsupported regular expression construct {op}", None)
    return total


def _group_nesting_problem(pattern: str) -> int | None:
    """Index of the first '(' nested deeper than MAX_REGEX_NESTING in a Python-syntax pattern, or None.
    Checked before parsing, so that Python's recursive parser and the automaton builder never run out of
    stack (where that happens depends on the caller's stack: the answer would not be the same everywhere)."""
    depth = 0
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            i += 1
            if pattern[i : i + 1] == "^":
                i += 1
            if pattern[i : i + 1] == "]":
                i += 1
            while i < len(pattern) and pattern[i] != "]":
                i += 2 if pattern[i] == "\\" else 1
        elif c == "(":
            depth += 1
            if depth > MAX_REGEX_NESTING:
                return i
        elif c == ")":
            depth = max(depth - 1, 0)
        i += 1
    return None


def regex_tree(pattern: str) -> Any:
    """Parse a Python-syntax pattern (what :func:`translate_regex` makes of a POSIX one) and decide whether
    it is accepted: the one decision that both this parser and the embedded broker's linear-time matcher
    (which builds its automaton from the tree returned) follow. Raises :class:`RegexError` with the index
    in ``pattern`` where it is known."""
    if len(pattern) > _MAX_PYTHON_LENGTH:
        raise RegexError(f"the regular expression is longer than {MAX_REGEX_LENGTH} characters", None)
    deep = _group_nesting_problem(pattern)
    if deep is not None:
        raise RegexError(f"groups nested deeper than {MAX_REGEX_NESTING}", deep)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the translation leaves no nested set to warn about
            parsed = _sre_parse.parse(pattern, 0)
    except re.error as exc:
        raise RegexError(exc.msg, exc.pos, syntax=True) from None
    except (OverflowError, RecursionError, ValueError) as exc:
        raise RegexError(str(exc) or type(exc).__name__, None, syntax=True) from None
    if 1 + _regex_states(parsed) > MAX_REGEX_STATES:  # 1: the final (matching) state
        raise RegexError(f"the regular expression is too large (more than {MAX_REGEX_STATES} states)", None)
    return parsed


def _regex_tokens(pattern: str) -> list[tuple[int, int, int]]:
    """The written pattern cut into tokens (an atom, an escape, a bracket expression, a group header, ')',
    a repeat): (start, end, groups open after it)."""
    tokens: list[tuple[int, int, int]] = []
    depth = 0
    i = 0
    while i < len(pattern):
        start = i
        c = pattern[i]
        if c == "\\":
            following = pattern[i + 1 : i + 2]
            i += {"x": 4, "u": 6, "U": 10}.get(following, 2)
            if following.isdigit():
                while i < len(pattern) and pattern[i].isdigit() and i < start + 4:
                    i += 1
        elif c == "[":
            end = _bracket_end(pattern, i)
            i = end + 1 if end >= 0 else len(pattern)
        elif c == "(":
            head = _GROUP_HEAD.match(pattern, i)
            i = head.end() if head else i + 1
            if not pattern[start:i].endswith(")"):
                depth += 1
        elif c == ")":
            depth = max(depth - 1, 0)
            i += 1
        else:
            repeat = _REPEAT.match(pattern, i) if c == "{" else None
            i = repeat.end() if repeat else i + 1
        tokens.append((start, min(i, len(pattern)), depth))
    return tokens


def _refusal_offset(pattern: str) -> int:
    """Where a written pattern that parses but is refused (unsupported construct, too many states) goes
    wrong: the start of the first token whose prefix (with its groups closed) is refused."""
    tokens = _regex_tokens(pattern)

    def refused(count: int) -> bool:
        _start, end, depth = tokens[count - 1]
        try:
            regex_tree(_translate(pattern[:end] + ")" * depth)[0])
        except RegexError as exc:
            return not exc.syntax
        return False

    low, high = 1, len(tokens)  # refused(len(tokens)): the whole pattern is refused
    while low < high:
        middle = (low + high) // 2
        if refused(middle):
            high = middle
        else:
            low = middle + 1
    return tokens[high - 1][0] if tokens else 0


def _translate(pattern: str) -> tuple[str, list[int]]:
    """A POSIX extended regular expression as Python's ``re`` must read it to mean what POSIX means, and
    for each character of the result the index in ``pattern`` it comes from (plus the end).

    ``.`` matches a line break (``(?s)`` in front) and ``$`` only the very end of the text (``\\Z``:
    Python's ``$`` also matches before a final line break), unless the pattern asks for Python's multi-line
    mode; bracket expressions are rewritten (``[[:alpha:]]`` -> ``[A-Za-z]``; ``[`` ``&`` ``~`` ``|`` and a
    literal ``-`` escaped, which Python would read as nested sets or set operations). The rest is left
    alone: the extensions Python adds (``\\d``, ``(?i)``) keep working."""
    out: list[str] = ["(?s)"]
    origins: list[int] = [0] * 4

    def emit(text: str, origin: int) -> None:
        out.append(text)
        origins.extend([origin] * len(text))

    flags = _LEADING_FLAGS.match(pattern)
    multiline = flags is not None and "m" in flags.group()
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            for k, char in enumerate(pattern[i : i + 2]):
                emit(char, i + k)
            i += 2
        elif c == "[":
            end = _bracket_end(pattern, i)
            if end < 0:
                raise RegexError("'[' is never closed", i, syntax=True)
            emit("[", i)
            _python_set(pattern, i + 1, end, emit)
            emit("]", end)
            i = end + 1
        elif c == "$" and not multiline:
            emit("\\Z", i)
            i += 1
        else:
            emit(c, i)
            i += 1
    origins.append(len(pattern))
    return "".join(out), origins


def _python_set(pattern: str, start: int, end: int, emit: Callable[[str, int], None]) -> None:
    """The body ``pattern[start:end]`` of a bracket expression, emitted as the body of a Python set."""
    i = start
    if pattern[i : i + 1] == "^":
        emit("^", i)
        i += 1
    # Items: (kind, text, origin); kind "char" a literal character, "raw" an escape or a class, "dash".
    items: list[tuple[str, str, int]] = []
    if pattern[i : i + 1] in ("]", "-"):
        items.append(("char", pattern[i], i))  # literal in the first place
        i += 1
    while i < end:
        c = pattern[i]
        if c == "\\":
            items.append(("raw", pattern[i : i + 2], i))
            i += 2
        elif (
            c == "["
            and pattern[i + 1 : i + 2] in (":", ".", "=")
            and pattern.find(pattern[i + 1] + "]", i + 2) >= 0
        ):
            kind = pattern[i + 1]
            close = pattern.find(kind + "]", i + 2)
            name = pattern[i + 2 : close]
            if kind == ":":
                if name not in _POSIX_CLASSES:
                    known = ", ".join(f"[:{n}:]" for n in _POSIX_CLASSES)
                    raise RegexError(f"unknown character class [:{name}:], known: {known}", i, syntax=True)
                items.append(("raw", _POSIX_CLASSES[name], i))
            elif len(name) == 1:
                items.append(("char", name, i))  # a collating element or equivalence class of one character
            else:
                raise RegexError(f"unsupported collating element [{kind}{name}{kind}]", i, syntax=True)
            i = close + 2
        elif c == "-":
            items.append(("dash", c, i))
            i += 1
        else:
            items.append(("char", c, i))
            i += 1
    previous_is_endpoint = False
    after_range = False
    for index, (kind, text, origin) in enumerate(items):
        following = items[index + 1] if index + 1 < len(items) else None
        if kind == "dash":
            # A range operator between two single characters; anywhere else a literal '-'.
            is_range = previous_is_endpoint and following is not None and following[0] != "dash"
            emit("-" if is_range else "\\-", origin)
            previous_is_endpoint = False
            after_range = is_range
            continue
        emit("\\" + text if kind == "char" and text in _SET_SPECIAL else text, origin)
        previous_is_endpoint = not after_range and (kind == "char" or len(text) == 2)
        after_range = False


def translate_regex(pattern: str) -> str:
    """A POSIX regular expression as written in ``q`` or ``idPattern``, checked and translated for Python's
    ``re`` (see :func:`_translate`); what the embedded broker refuses is refused here too
    (:func:`regex_tree`). Raises :class:`RegexError` whose ``offset`` is the offending character in
    ``pattern``."""
    if len(pattern) > MAX_REGEX_LENGTH:
        raise RegexError(
            f"the regular expression is longer than {MAX_REGEX_LENGTH} characters", MAX_REGEX_LENGTH
        )
    python, origins = _translate(pattern)
    try:
        regex_tree(python)
    except RegexError as exc:
        if exc.offset is not None:
            offset = origins[min(exc.offset, len(origins) - 1)]
        else:
            offset = _refusal_offset(pattern)
        raise RegexError(exc.message, offset, syntax=exc.syntax) from None
    return python


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """An NGSI-LD regular expression (POSIX, as ``idPattern`` and ``~=`` take) compiled for Python's ``re``;
    raises ValueError (a :class:`RegexError`) with the cause and position."""
    python = translate_regex(pattern)
    try:
        return re.compile(python)
    except re.error as exc:
        raise RegexError(exc.msg, None, syntax=True) from None
    except (OverflowError, RecursionError) as exc:
        raise RegexError(str(exc) or type(exc).__name__, None, syntax=True) from None


def parse_query(text: str) -> Query:
    """Parse ``q``; raise :class:`QuerySyntaxError` with the position of the first offending character."""
    if not isinstance(text, str):
        raise TypeError(f"q must be a string, not {type(text).__name__}")
    return Query(text, _Parser(text).parse())


# ---------------------------------------------------------------------------------------------------------
# Evaluation helpers


def _parse_datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace(",", "."))
    # NGSI-LD date-times are UTC; a value without an offset is read as UTC so that comparisons never mix
    # naive and aware datetimes (which would raise TypeError).
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _parse_time(text: str) -> time:
    value = time.fromisoformat(text.replace(",", "."))
    if value.tzinfo is not None:
        offset = value.utcoffset()
        anchored = datetime.combine(date(2000, 1, 1), value.replace(tzinfo=None))
        if offset is not None:
            anchored -= offset
        value = anchored.time()
    return value


def _is_number(value: Any) -> bool:
    # bool is an int subclass in Python, but true is not 1 in JSON.
    return isinstance(value, int | float) and not isinstance(value, bool)


def _coerce(candidate: Any, kind: str) -> Any:
    """The candidate as a value comparable with a literal of ``kind``, or None when the types differ."""
    if kind == "number":
        return (
            candidate
            if _is_number(candidate) and not (isinstance(candidate, float) and math.isnan(candidate))
            else None
        )
    if kind in ("string", "uri"):
        return candidate if isinstance(candidate, str) else None
    if kind == "boolean":
        return candidate if isinstance(candidate, bool) else None
    if not isinstance(candidate, str | datetime | date | time):
        return None
    try:
        if kind == "datetime":
            if isinstance(candidate, datetime):
                return candidate if candidate.tzinfo else candidate.replace(tzinfo=UTC)
            if isinstance(candidate, str) and "T" in candidate:
                return _parse_datetime(candidate)
            return None
        if kind == "date":
            if isinstance(candidate, datetime):
                return candidate.date()
            if isinstance(candidate, date):
                return candidate
            if isinstance(candidate, str):
                if "T" in candidate:
                    return _parse_datetime(candidate).date()
                return date.fromisoformat(candidate)
            return None
        if kind == "time":
            if isinstance(candidate, time):
                return candidate
            if isinstance(candidate, str) and "T" not in candidate and ":" in candidate:
                return _parse_time(candidate)
            return None
    except (ValueError, OverflowError):
        return None
    return None


def _literal_equals(candidate: Any, literal: Literal) -> bool:
    if literal.kind in ("string", "uri", "boolean", "number"):
        coerced = _coerce(candidate, literal.kind)
        return coerced is not None and coerced == literal.value
    coerced = _coerce(candidate, literal.kind)
    if coerced is not None:
        return bool(coerced == literal.value)
    # A date-time stored as text equals the same text written in quotes; keep that symmetric here.
    return isinstance(candidate, str) and candidate == literal.raw


def _equals(candidate: Any, value: Value) -> bool:
    if isinstance(value, Literal):
        return _literal_equals(candidate, value)
    if isinstance(value, ValueList):
        return any(_literal_equals(candidate, item) for item in value.items)
    if isinstance(value, Range):
        return _ordered(candidate, ">=", value.low) and _ordered(candidate, "<=", value.high)
    return False


def _ordered(candidate: Any, op: str, literal: Literal) -> bool:
    if isinstance(candidate, RelationshipObject):
        return False  # relationships compare their object URI with == and != only (ranges included)
    coerced = _coerce(candidate, literal.kind)
    if coerced is None:
        return False
    try:
        if op == ">":
            return bool(coerced > literal.value)
        if op == ">=":
            return bool(coerced >= literal.value)
        if op == "<":
            return bool(coerced < literal.value)
        if op == "<=":
            return bool(coerced <= literal.value)
    except TypeError:
        return False
    return False


def _flatten(values: Iterable[Any]) -> Iterable[Any]:
    """Array values compare element by element (== on an array tests membership)."""
    for v in values:
        if isinstance(v, list):
            yield from v
        else:
            yield v


def _unwrap(value: Any) -> Any:
    """``{"@type": "DateTime", "@value": "…"}`` compares as its ``@value``."""
    if isinstance(value, Mapping) and "@value" in value:
        return value["@value"]
    return value


# ---------------------------------------------------------------------------------------------------------
# Resolvers for entities held as dicts

# Attribute members that are not sub-attributes: ``speed.observedAt`` reads the member itself. Not valueType:
# ``speed.valueType`` is looked up as a sub-attribute of that name.
_ATTRIBUTE_MEMBERS = (INSTANCE_META_MEMBERS - {"valueType"}) | INSTANCE_SYSTEM_MEMBERS


def _identity(name: str) -> str:
    return name


def _member_path(value: Any, members: Sequence[str]) -> list[Any]:
    current = [_unwrap(value)]
    for member in members:
        following: list[Any] = []
        for item in current:
            items = item if isinstance(item, list) else [item]
            for element in items:
                if isinstance(element, Mapping) and member in element:
                    following.append(_unwrap(element[member]))
        current = following
    return current


def key_values_resolver(entity: Mapping[str, Any]) -> Resolver:
    """Resolver for a keyValues entity: sub-attribute names and compound members both walk nested objects."""

    def resolve(path: AttrPath) -> Sequence[Any]:
        if path.linked is not None or path.entity_types:
            return []  # keyValues carries no relationship targets to follow
        if path.attribute not in entity:
            return []
        return _member_path(entity[path.attribute], [*path.names[1:], *path.compound])

    return resolve


class RelationshipObject(str):
    """The object URI of a Relationship, as a resolver returns it: it equals (``==``, ``!=``) the URI, but
    ordering comparisons and regular expressions never match it (clause 4.9), and only it is followed by a
    linked path ``a{b}``."""

    __slots__ = ()


def normalized_resolver(
    entity: Mapping[str, Any],
    *,
    expand: Callable[[str], str] = _identity,
    fetch: Callable[[str], Mapping[str, Any] | None] | None = None,
) -> Resolver:
    """Resolver for a normalized (or concise) entity. ``expand`` maps a short name of the query to the key
    the entity uses (identity for compact entities, the context's expansion for expanded ones); ``fetch``
    returns the entity a relationship points at, for ``a{b}`` paths (without it those paths match nothing).
    Entity types are compared after ``expand`` as well.

    Following relationships is bounded: each target is fetched once and each (entity, remaining path) is
    resolved once per resolver, and at most :data:`MAX_LINKED_ENTITIES` entities are fetched, so that
    relationships that point back at their entity, or at many others, cannot make one evaluation explode."""
    links = _Links(expand, fetch) if fetch is not None else None

    def resolve(path: AttrPath) -> Sequence[Any]:
        return _resolve(entity, path, expand, links, 0)

    return resolve


class _Links:
    """The relationship targets met while evaluating one query on one entity."""

    def __init__(
        self, expand: Callable[[str], str], fetch: Callable[[str], Mapping[str, Any] | None]
    ) -> None:
        self.expand = expand
        self.fetch = fetch
        self.entities: dict[str, Mapping[str, Any] | None] = {}
        # (target, id(path)) -> (path, values); the path is kept so that its id cannot be reused.
        self.resolved: dict[tuple[str, int], tuple[AttrPath, list[Any]]] = {}

    def entity(self, uri: str) -> Mapping[str, Any] | None:
        if uri not in self.entities:
            if len(self.entities) >= MAX_LINKED_ENTITIES:
                return None
            self.entities[uri] = self.fetch(uri)
        return self.entities[uri]

    def values(self, uri: str, path: AttrPath, depth: int) -> list[Any]:
        key = (uri, id(path))
        done = self.resolved.get(key)
        if done is None:
            linked = self.entity(uri)
            found = [] if linked is None else _resolve(linked, path, self.expand, self, depth + 1)
            done = self.resolved[key] = (path, found)
        return done[1]


def _instances(attribute: Any) -> list[Any]:
    if isinstance(attribute, list):
        return attribute
    return [attribute]


def _attribute_value(instance: Any) -> list[Any]:
    """The comparable value(s) of one attribute instance; a Relationship's object URIs as
    :class:`RelationshipObject`."""
    if not isinstance(instance, Mapping):
        return [instance]  # concise form: the bare value
    # Its type decides when it is a current kind name; any other (an older name too), the member it has.
    member = VALUE_MEMBERS.get(instance.get("type", ""))
    if member is None:
        for candidate in CONCISE_KINDS:
            if candidate in instance:
                member = candidate
                break
        else:
            return [instance]  # a concise compound value
    if member not in instance:
        return []
    value = _unwrap(instance[member])
    if member in ("object", "objectList"):
        if isinstance(value, str):
            return [RelationshipObject(value)]
        if isinstance(value, list):
            return [[_relationship_object(v) for v in value]]
    return [value]


def _relationship_object(item: Any) -> Any:
    """An item of an ``objectList``: a URI, or ``{"object": URI}`` (both are written, clause 4.5.21)."""
    if isinstance(item, str):
        return RelationshipObject(item)
    if isinstance(item, Mapping) and isinstance(item.get("object"), str):
        return RelationshipObject(item["object"])
    return item


def _resolve(
    entity: Mapping[str, Any],
    path: AttrPath,
    expand: Callable[[str], str],
    links: _Links | None,
    depth: int,
) -> list[Any]:
    if path.entity_types:
        types = entity.get("type")
        entity_types = set(types) if isinstance(types, list) else {types}
        if not entity_types & {expand(t) for t in path.entity_types}:
            return []
    key = expand(path.attribute)
    if key not in entity or key in ("id", "type", "@context"):
        return []
    instances = _instances(entity[key])
    if path.linked is not None:
        if links is None or depth >= MAX_DEPTH:
            return []
        # Only a Relationship is followed (a Property whose value is a URI is no link), each target once.
        targets = dict.fromkeys(
            target
            for instance in instances
            for target in _flatten(_attribute_value(instance))
            if isinstance(target, RelationshipObject)
        )
        found: list[Any] = []
        for target in targets:
            found.extend(links.values(target, path.linked, depth))
        return found
    values: list[Any] = []
    for instance in instances:
        nodes: list[Any] = [instance]
        members: list[Any] | None = None  # set once the path reaches a member such as observedAt
        for name in path.names[1:]:
            if members is not None:
                members = []  # nothing lies below a member
                break
            if name in _ATTRIBUTE_MEMBERS:
                members = [_unwrap(n[name]) for n in nodes if isinstance(n, Mapping) and name in n]
                continue
            sub_key = expand(name)
            nodes = [
                s for n in nodes if isinstance(n, Mapping) and sub_key in n for s in _instances(n[sub_key])
            ]
        if members is not None:
            for m in members:
                values.extend(_member_path(m, path.compound) if path.compound else [m])
            continue
        for node in nodes:
            if _is_language(node):
                values.extend(_language_values(node, path.compound))
                continue
            for v in _attribute_value(node):
                values.extend(_member_path(v, path.compound) if path.compound else [v])
    return values


def _is_language(instance: Any) -> bool:
    return isinstance(instance, Mapping) and (
        instance.get("type") == "LanguageProperty" or ("languageMap" in instance and "value" not in instance)
    )


def _language_values(instance: Mapping[str, Any], compound: Sequence[str]) -> list[Any]:
    """``name[en]`` reads one language; a bare ``name`` compares against every language's text."""
    language_map = instance.get("languageMap")
    if not isinstance(language_map, Mapping):
        return []
    if compound:
        if len(compound) == 1 and compound[0] in language_map:
            return [language_map[compound[0]]]
        return []
    return list(language_map.values())
