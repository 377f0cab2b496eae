"""Read entities to validate from files, directories and stdin, strictly, and locate values in them.

Fast path: orjson parses the text (it already rejects NaN/Infinity and out-of-range numbers). Only when
something needs a position (a parse error, a duplicate key, a finding) does the small position-tracking
scanner below walk the text; it also produces the parse error messages, which name the cause.
"""

from __future__ import annotations

import bisect
import json
import math
import os
import re
import stat
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson

YAML_SUFFIXES = (".yaml", ".yml")
SUFFIXES = (".json", ".jsonld", ".ndjson", ".geojson", *YAML_SUFFIXES)
STDIN = "-"
STDIN_NAME = "<stdin>"

PathKey = tuple[str | int, ...]


# --- errors ------------------------------------------------------------------------------------------


@dataclass
class ReadError(Exception):
    """An input that cannot be read or parsed; ``line``/``column`` are 1-based when known."""

    source: str
    message: str
    line: int | None = None
    column: int | None = None
    code: str = "invalid-json"
    document: int | None = None  # YAML: which document of a multi-document file (0-based)

    def __str__(self) -> str:
        where = self.source if self.document is None else f"{self.source}[{self.document}]"
        if self.line is not None:
            where += f":{self.line}:{self.column}"
        return f"{where}: {self.message}"


class _ScanError(Exception):
    def __init__(self, offset: int, message: str) -> None:
        super().__init__(message)
        self.offset = offset
        self.message = message


# --- JSON paths --------------------------------------------------------------------------------------

_BRACKET = re.compile(r"\[(?:(\d+)|'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\")\]")
_DOT_NAME = re.compile(r"\.([^.\[]+)")
_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]*")


def document_order(document: Any) -> dict[PathKey, int]:
    """Every path of a document (objects and arrays), numbered in the order it is written."""
    order: dict[PathKey, int] = {}
    stack: list[tuple[PathKey, Any]] = [((), document)]
    while stack:
        path, node = stack.pop()
        order[path] = len(order)
        if isinstance(node, Mapping):
            stack.extend(((*path, key), value) for key, value in reversed(list(node.items())))
        elif isinstance(node, list):
            stack.extend(((*path, index), value) for index, value in reversed(list(enumerate(node))))
    return order


def written_rank(order: Mapping[PathKey, int], path: PathKey) -> int:
    """Where ``path`` (or, when it is not written, its nearest written ancestor) stands in ``order``: findings
    sorted by it come in the order of the document."""
    for length in range(len(path), -1, -1):
        if path[:length] in order:
            return order[path[:length]]
    return 0


def parse_json_path(path: str | Sequence[str | int]) -> PathKey:
    """A JSON Pointer (``/a/0/b``), a JSONPath (``$.a[0].b``, ``$['a']``) or a sequence -> path tuple."""
    if not isinstance(path, str):
        return tuple(path)
    if path in ("", "$"):
        return ()
    if path.startswith("/"):
        # An array index is "0" or digits without a leading zero, in ASCII (RFC 6901); whether "0" names
        # an element or a member called "0" depends on the document: see :meth:`SourceEntity.locate`.
        return tuple(
            int(part) if _ARRAY_INDEX.fullmatch(part) else part.replace("~1", "/").replace("~0", "~")
            for part in path[1:].split("/")
        )
    if path.startswith("$"):
        parts: list[str | int] = []
        rest = path[1:]
        while rest:
            bracket = _BRACKET.match(rest)
            dotted = _DOT_NAME.match(rest)
            if bracket:
                index, single, double = bracket.groups()
                parts.append(int(index) if index is not None else (single if single is not None else double))
                rest = rest[bracket.end() :]
            elif dotted:
                parts.append(dotted.group(1))
                rest = rest[dotted.end() :]
            else:
                raise ValueError(f"not a JSON path: {path!r}")
        return tuple(parts)
    raise ValueError(f"not a JSON path: {path!r} (use /a/0/b or $.a[0].b)")


def to_json_pointer(path: Iterable[str | int]) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


# --- the position-tracking scanner -------------------------------------------------------------------

_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
# Written as "normal* (special normal*)*": a repeated alternation costs the regex engine memory per
# character, gigabytes on a string of tens of megabytes.
_STRING = re.compile(r'"[^"\\\x00-\x1f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*)*"')
_SURROGATE = re.compile("[\ud800-\udfff]")
# A line ends at LF, CRLF or a lone CR, as editors (and YAML) count lines: a file saved with CR endings is
# reported line by line, not all on line 1.
LINE_BREAK = re.compile("\r\n?|\n")
_WORD = re.compile(r"[A-Za-z_]\w*")
# What a reader takes for one number, valid or not ("01", "1.", "1e", "-", ".5", "1.2.3").
_NUMBER_TOKEN = re.compile(r"-?[0-9.][0-9.eE+\-]*|-")
_BAD_LITERALS = {
    "NaN": "NaN is not valid JSON (write null or a number)",
    "Infinity": "Infinity is not valid JSON (write a number)",
    "-Infinity": "-Infinity is not valid JSON (write a number)",
    "+": "numbers cannot start with '+'",
}
_LITERALS = {"true": True, "false": False, "null": None}

# Deepest nesting of arrays and objects accepted: orjson's limit, so that every document orjson parses
# can also be scanned for positions.
MAX_DEPTH = 1024


@dataclass
class _Duplicate:
    path: PathKey  # of the repeated member
    offset: int  # where the second occurrence of the key starts


@dataclass
class _Open:
    """An array or object being read: what it holds so far and where it is."""

    container: dict[str, Any] | list[Any]
    path: PathKey
    key: str = ""  # objects: the member whose value is being read


class _Scanner:
    """JSON reader that records where each value starts, and says where and why a document is broken.

    Iterative (an explicit stack, no recursion), so the nesting depth is limited by :data:`MAX_DEPTH`
    and not by Python's recursion limit. It runs only when orjson failed or a position is needed, so
    clarity beats speed here.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.positions: dict[PathKey, int] = {}
        self.duplicates: list[_Duplicate] = []
        self.value: Any = None

    def skip_ws(self, offset: int) -> int:
        match = _WS.match(self.text, offset)
        offset = match.end() if match else offset
        if self.text.startswith(("//", "/*"), offset):
            raise _ScanError(offset, "comments are not allowed in JSON")
        return offset

    def parse(self, offset: int, path: PathKey = ()) -> tuple[Any, int]:
        """The JSON value starting at ``offset`` (after whitespace), and the offset just after it."""
        text = self.text
        stack: list[_Open] = []
        while True:
            # Read the start of one value: a scalar entirely, an array or object up to its first member.
            offset = self.skip_ws(offset)
            self.positions[path] = offset
            if offset >= len(text):
                raise _ScanError(offset, "unexpected end of input: expected a JSON value")
            char = text[offset]
            value: Any
            if char in "[{":
                if len(stack) >= MAX_DEPTH:
                    raise _ScanError(
                        offset, f"nesting is too deep: more than {MAX_DEPTH} levels of arrays and objects"
                    )
                opened = _Open({} if char == "{" else [], path)
                offset = self.skip_ws(offset + 1)
                if text.startswith("}" if char == "{" else "]", offset):
                    value, offset = opened.container, offset + 1
                else:
                    stack.append(opened)
                    if char == "{":
                        opened.key, offset = self.key(offset, opened)
                        path = (*opened.path, opened.key)
                    else:
                        path = (*opened.path, 0)
                    continue
            else:
                value, offset = self.scalar(offset)
            # A value is complete: store it in its container, then find what comes next.
            while True:
                if not stack:
                    return value, offset
                current = stack[-1]
                container = current.container
                offset = self.skip_ws(offset)
                if isinstance(container, dict):
                    container[current.key] = value
                    if text.startswith(",", offset):
                        current.key, offset = self.key(offset + 1, current)
                        path = (*current.path, current.key)
                        break
                    if text.startswith("}", offset):
                        value, offset = stack.pop().container, offset + 1
                        continue
                    if offset >= len(text):
                        raise _ScanError(offset, "unexpected end of input: unterminated object")
                    raise _ScanError(offset, f"expected ',' or '}}' after the value of {current.key!r}")
                container.append(value)
                if text.startswith(",", offset):
                    offset = self.skip_ws(offset + 1)
                    if text.startswith("]", offset):
                        raise _ScanError(offset, "trailing comma before ']'")
                    path = (*current.path, len(container))
                    break
                if text.startswith("]", offset):
                    value, offset = stack.pop().container, offset + 1
                    continue
                if offset >= len(text):
                    raise _ScanError(offset, "unexpected end of input: unterminated array")
                raise _ScanError(offset, "expected ',' or ']' after an array element")

    def key(self, offset: int, current: _Open) -> tuple[str, int]:
        """An object member's key and the offset after its ':'; records a repeated key."""
        text = self.text
        offset = self.skip_ws(offset)
        if offset >= len(text):
            raise _ScanError(offset, "unexpected end of input: unterminated object")
        char = text[offset]
        if char != '"':
            if char == "}":
                raise _ScanError(offset, "trailing comma before '}'")
            if char == "'":
                raise _ScanError(offset, "object keys must use double quotes, not single quotes")
            raise _ScanError(offset, "expected an object key in double quotes")
        key_offset = offset
        key, offset = self.string(offset)
        offset = self.skip_ws(offset)
        if not text.startswith(":", offset):
            raise _ScanError(offset, f"expected ':' after the key {key!r}")
        if key in current.container:
            self.duplicates.append(_Duplicate((*current.path, key), key_offset))
        return key, offset + 1

    def scalar(self, offset: int) -> tuple[Any, int]:
        text = self.text
        char = text[offset]
        if char == '"':
            return self.string(offset)
        for literal, message in _BAD_LITERALS.items():
            if text.startswith(literal, offset):
                raise _ScanError(offset, message)
        number = _NUMBER.match(text, offset)
        token = _NUMBER_TOKEN.match(text, offset)
        if token and (not number or token.end() > number.end()):
            raise _ScanError(offset, _bad_number(token.group()))
        if number:
            return self.number(number.group(), offset), number.end()
        for literal, value in _LITERALS.items():
            if text.startswith(literal, offset):
                return value, offset + len(literal)
        if char == "'":
            raise _ScanError(offset, "strings must use double quotes, not single quotes")
        if char in "}]":
            raise _ScanError(offset, f"unexpected {char!r}: expected a JSON value (a trailing comma?)")
        word = _WORD.match(text, offset)
        if word:
            raise _ScanError(offset, f"unexpected word {word.group()!r}: expected a JSON value")
        raise _ScanError(offset, f"unexpected character {char!r}: expected a JSON value")

    @staticmethod
    def number(literal: str, offset: int) -> int | float:
        if any(c in literal for c in ".eE"):
            value = float(literal)
            if math.isinf(value):
                raise _ScanError(offset, f"number {_abbreviate(literal)} is out of range (beyond ±1.8e308)")
            return value
        try:
            return int(literal)  # exact, however long: no silent rounding to a float
        except ValueError:  # longer than Python's limit for int(str)
            digits = len(literal.lstrip("-"))
            raise _ScanError(offset, f"number with {digits} digits is too long") from None

    def string(self, offset: int) -> tuple[str, int]:
        match = _STRING.match(self.text, offset)
        if match:
            value = json.loads(match.group())
            surrogate = _SURROGATE.search(value)
            if surrogate:
                raise _ScanError(
                    offset,
                    f"invalid string: \\u{ord(surrogate.group()):04x} is half of a surrogate pair, "
                    "not a character",
                )
            return value, match.end()
        # Find why: walk to the first offending character.
        index = offset + 1
        text = self.text
        while index < len(text):
            char = text[index]
            if char == '"':
                break
            if char == "\\":
                escape = text[index + 1 : index + 2]
                if escape == "u":
                    if not re.fullmatch(r"[0-9a-fA-F]{4}", text[index + 2 : index + 6]):
                        raise _ScanError(index, "invalid \\u escape: four hexadecimal digits expected")
                    index += 6
                    continue
                if escape not in '"\\/bfnrt' or not escape:
                    raise _ScanError(index, f"invalid escape '\\{escape}' in string")
                index += 2
                continue
            if char == "\n":
                raise _ScanError(index, "unterminated string (a line break inside a string must be \\n)")
            if ord(char) < 0x20:
                raise _ScanError(index, f"control character U+{ord(char):04X} in string: escape it")
            index += 1
        raise _ScanError(offset, "unterminated string")

    def document(self, start: int = 0, end: int | None = None) -> tuple[Any, int]:
        """One JSON value between ``start`` and ``end``; anything but whitespace after it is an error."""
        end = len(self.text) if end is None else end
        offset = self.skip_ws(start)
        if offset >= end:
            raise _ScanError(offset, "empty input: expected a JSON value")
        self.value, offset = self.parse(offset)
        after = self.skip_ws(offset)
        if after < end:
            raise _ScanError(after, "extra data after the JSON value (one entity, an array, or NDJSON lines)")
        return self.value, offset


def _bad_number(token: str) -> str:
    """Why a number-like token is no JSON number."""
    shown = _abbreviate(token)
    if re.match(r"-?0[0-9]", token):
        return f"invalid number {shown}: no leading zeros in JSON numbers"
    if token.startswith("."):
        return f"invalid number {shown}: write a digit before the decimal point (0.5, not .5)"
    if re.search(r"\.(?![0-9])", token):
        return f"invalid number {shown}: a digit must follow the decimal point"
    if re.search(r"[eE][+-]?(?![0-9])", token):
        return f"invalid number {shown}: the exponent has no digits"
    if token.startswith("-") and not token[1:2].isdigit():
        return f"invalid number {shown}: '-' must be followed by a digit"
    return f"invalid number {shown}"


def _abbreviate(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- sources -----------------------------------------------------------------------------------------


_DIGITS_AS_ZEROS = bytes.maketrans(b"123456789", b"000000000")
_LONG_DIGIT_RUN = b"0" * 19


def _long_digit_run(encoded: bytes) -> bool:
    """Whether 19 digits follow each other in ``encoded``: far faster in C than any regular expression."""
    return _LONG_DIGIT_RUN in encoded.translate(_DIGITS_AS_ZEROS)


def _encoded(chunk: str) -> bytes:
    return chunk.encode("utf-8", "surrogatepass")


class _Text:
    """A decoded input with lazy line/column arithmetic."""

    def __init__(self, name: str, text: str, encoded: bytes | None = None) -> None:
        self.name = name
        self.text = text
        self.encoded = encoded  # the UTF-8 bytes it was decoded from, when at hand
        self._line_starts: list[int] | None = None
        self._long_digit_runs: bool | None = None

    @property
    def long_digit_runs(self) -> bool:
        """Whether 19 digits follow each other somewhere: one pass over the whole text, in C, spares the
        slower per-document search for integers orjson cannot hold (most texts have none)."""
        if self._long_digit_runs is None:
            self._long_digit_runs = _long_digit_run(self.encoded or _encoded(self.text))
        return self._long_digit_runs

    def line_column(self, offset: int) -> tuple[int, int]:
        if self._line_starts is None:
            self._line_starts = [0] + [m.end() for m in LINE_BREAK.finditer(self.text)]
        line = bisect.bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1] + 1


class _Segment:
    """One JSON document inside a text: the whole file, or one NDJSON line. Positions computed lazily."""

    def __init__(self, text: _Text, start: int = 0, end: int | None = None, line: int | None = None) -> None:
        self.text = text
        self.start = start
        self.end = len(text.text) if end is None else end
        self._scanner: _Scanner | None = None
        self.parsed_by_orjson = False  # integers within 64 bits: what the fast path (sdmtool.fast) needs
        self.value: Any = None  # what orjson read, when it did
        self.line = line  # the line number of a segment that is one line (NDJSON)
        self._literal: bool | None = None  # no escape in the segment's text (see _offset_along)
        self._arrays: dict[int, list[int]] = {}  # where the elements of the arrays walked start
        self._objects: dict[int, dict[str, int]] = {}  # where the members of the objects walked start

    def line_column(self, offset: int) -> tuple[int, int]:
        """(line, column) of an offset in the text; a one-line segment needs no table of the whole text."""
        if self.line is not None and self.start <= offset <= self.end:
            return self.line, offset - self.start + 1
        return self.text.line_column(offset)

    def scan(self) -> _Scanner:
        """Scan the segment once; offsets recorded by the scanner are relative to ``self.start``."""
        if self._scanner is None:
            scanner = _Scanner(self.text.text[self.start : self.end])
            scanner.document()
            self._scanner = scanner
        return self._scanner

    def offset_of(self, path: PathKey) -> int | None:
        """Where the value at ``path`` starts, or its nearest existing ancestor (for missing members)."""
        if self._scanner is None and self.parsed_by_orjson:
            # Well-formed, and free of repeated keys (else the scanner has run to find them): walking the
            # tokens along the path costs a fraction of a full scan.
            text = self.text.text
            if self._literal is None:
                self._literal = text.find("\\", self.start, self.end) == -1
            start = _WS.match(text, self.start).end()
            return _offset_along(
                text,
                start,
                path,
                self.value,
                self.end,
                literal=self._literal,
                arrays=self._arrays,
                objects=self._objects,
            )
        try:
            positions = self.scan().positions
        except _ScanError:
            return None
        for length in range(len(path), -1, -1):
            prefix = path[:length]
            if prefix in positions:
                return self.start + positions[prefix]
        return None


# What the walk along a path looks at: whole strings (so that brackets inside them do not count), whole
# arrays and objects that hold no other (one step over most NGSI-LD attributes), and the punctuation of
# the others; numbers, literals and blanks are skipped by the search itself.
_STRING_TOKEN = r'"[^"\\]*(?:\\.[^"\\]*)*"'
_FLAT_MEMBERS = rf'(?:[^"\[\]{{}}]++|{_STRING_TOKEN})*+'
_STRUCTURE = re.compile(rf"{_STRING_TOKEN}|\{{{_FLAT_MEMBERS}\}}|\[{_FLAT_MEMBERS}\]|[\[\]{{}},]")


def _member_offsets(text: str, offset: int) -> dict[str, int]:
    """Where the value of each member of the object opening at ``offset`` starts (one walk of it)."""
    members: dict[str, int] = {}
    depth = 0
    at_key = True
    for token in _STRUCTURE.finditer(text, offset + 1):
        char = text[token.start()]
        if token.end() - token.start() > 1 and char != '"':
            at_key = False  # a whole array or object: a member's value
        elif char == '"':
            if depth == 0 and at_key:
                written = token.group()
                key = written[1:-1] if "\\" not in written else json.loads(written)
                colon = text.index(":", token.end())
                members.setdefault(key, _WS.match(text, colon + 1).end())
                at_key = False
        elif char in "[{":
            depth += 1
        elif char in "]}":
            if depth == 0:
                return members
            depth -= 1
        elif depth == 0:  # a comma between members
            at_key = True
    return members


def _element_offsets(text: str, offset: int) -> list[int]:
    """Where each element of the array opening at ``offset`` starts, and last where the array closes."""
    start = _WS.match(text, offset + 1).end()
    if text.startswith("]", start):
        return [start]
    starts = [start]
    depth = 0
    for token in _STRUCTURE.finditer(text, start):
        char = text[token.start()]
        if token.end() - token.start() > 1:
            continue  # a string, or a whole array or object: one element, or inside one
        if char in "[{":
            depth += 1
        elif char in "]}":
            if depth == 0:
                starts.append(token.start())
                return starts
            depth -= 1
        elif char == "," and depth == 0:
            starts.append(_WS.match(text, token.end()).end())
    return starts


def _only_key(text: str, offset: int, end: int, name: str) -> int | None:
    """Where the value of key ``name`` starts if ``"name"`` is written once only between ``offset`` and
    ``end``; None if it is not, or is no key there."""
    quoted = f'"{name}"'
    first = text.find(quoted, offset, end)
    if first == -1 or text.find(quoted, first + 1, end) != -1:
        return None
    colon = _WS.match(text, first + len(quoted)).end()
    return _WS.match(text, colon + 1).end() if text.startswith(":", colon) else None


_UNKNOWN = object()


def _offset_along(
    text: str,
    offset: int,
    path: PathKey,
    document: Any = _UNKNOWN,
    end: int | None = None,
    *,
    literal: bool = False,
    arrays: dict[int, list[int]] | None = None,
    objects: dict[int, dict[str, int]] | None = None,
) -> int:
    """Where the value at ``path`` starts in the well-formed JSON value starting at ``offset``, without
    repeated keys; for a missing member or element, where its nearest existing ancestor starts.

    With the ``document`` parsed from it, where its text ``end``s and ``literal`` (no escape anywhere in
    it): a member known to be there whose key is written once only in the value holding it is found by a
    plain search, not by a walk. ``arrays`` and ``objects`` keep where the elements of each array walked
    start and the members of each object walked, so that locating every element of a long array, or every
    member of an entity with many attributes, costs one walk of it, not one per finding."""
    node = document
    for part in path:
        opener = text[offset]
        found = None
        if opener == "{" and isinstance(part, str):
            # An object met once is searched (fast, in C); met again (several findings in one entity), its
            # members are walked once and kept: a search per finding would rescan a large entity each time.
            members = objects.get(offset) if objects is not None else None
            if members:
                found = members.get(part)
            else:
                if literal and end is not None and type(node) is dict and part in node:
                    found = _only_key(text, offset, end, part)
                if objects is not None and (found is None or offset in objects):
                    members = objects[offset] = _member_offsets(text, offset)
                    found = members.get(part)
                elif objects is not None:
                    objects[offset] = {}  # met once
                elif found is None:
                    found = _member_offsets(text, offset).get(part)
        elif opener == "[" and isinstance(part, int) and part >= 0:
            starts = arrays.get(offset) if arrays is not None else None
            if starts is None:
                starts = _element_offsets(text, offset)
                if arrays is not None:
                    arrays[offset] = starts
            if part < len(starts) - 1:
                found = starts[part]
                end = starts[part + 1]  # the element ends before the next one starts (or the ']')
        if found is None:
            return offset
        offset = found
        node = node[part] if type(node) in (dict, list) else _UNKNOWN
    return offset


@dataclass
class DocumentProblem:
    """Something wrong in the text that does not stop reading (a duplicate key)."""

    code: str
    message: str
    json_path: str
    line: int | None
    column: int | None


@dataclass
class SourceEntity:
    """One entity read from an input, with what is needed to point back into the text."""

    value: Any
    source: str
    index: int | None = None  # element of a top-level array / NDJSON line number (0-based); None if alone
    problems: list[DocumentProblem] = field(default_factory=list)
    _segment: _Segment | None = None
    _prefix: PathKey = ()
    _translate: Callable[[PathKey], PathKey] | None = None
    # Where the entity sits in an envelope: "/data/3" for an entity of a notification's data, the prefix
    # of every JSON path reported for it. ``in_notification``: NGSI Null may stand for a deleted attribute.
    pointer_prefix: str = ""
    in_notification: bool = False
    document: int | None = None  # YAML: which document of a multi-document file (0-based)
    # Text that is not JSON (YAML): (line, column) of a path from the document's root, nearest ancestor,
    # or of a character of the string there (see :meth:`locate`).
    _positions: Callable[[PathKey, int | None], tuple[int | None, int | None]] | None = None

    @property
    def input_size(self) -> int:
        """Characters of the JSON text the entity was read from (0 for YAML)."""
        return len(self._segment.text.text) if self._segment is not None else 0

    @property
    def parsed_by_orjson(self) -> bool:
        """Read by orjson, not by the scanner or as YAML: its integers fit in 64 bits."""
        return self._segment is not None and self._segment.parsed_by_orjson

    def json_pointer(self, path: PathKey) -> str:
        """The JSON pointer of an entity-relative path as it is written: under the entity's envelope (a
        notification's ``/data/3``), and in a GeoJSON Feature, under ``properties`` but for the id."""
        if self._translate is not None:
            path = self._translate(path)
        return self.pointer_prefix + to_json_pointer(path)

    def locate(
        self, json_path: str | Sequence[str | int], string_index: int | None = None
    ) -> tuple[int | None, int | None]:
        """(line, column), 1-based, where the value at ``json_path`` (entity-relative) starts; with
        ``string_index``, where that character of the string value is written (escapes and all)."""
        if self._segment is None and self._positions is None:
            return None, None
        path = parse_json_path(json_path)
        if isinstance(json_path, str):
            path = _typed_path(self.value, path)
        if self._translate is not None:
            path = self._translate(path)
        if self._positions is not None:
            return self._positions(self._prefix + path, string_index)
        assert self._segment is not None
        offset = self._segment.offset_of(self._prefix + path)
        if offset is None:
            return None, None
        if string_index is not None:
            offset = string_character(self._segment.text.text, offset, string_index) or offset
        return self._segment.line_column(offset)


class ProvenEntity:
    """An entity proven valid as it was read (see :mod:`sdmtool.typed_proof`): where it is, and what."""

    __slots__ = ("entity_id", "entity_type", "form", "index", "source")

    def __init__(self, source: str, index: int, entity_id: str, entity_type: str, form: str) -> None:
        self.source = source
        self.index = index
        self.entity_id = entity_id
        self.entity_type = entity_type
        self.form = form


# Given an input's name and length: a function that proves one NDJSON line valid (the id, type and form of
# its entity, or None), or None when the lines of that input are not to be proven.
LineProof = Callable[[str, int], Callable[[str], "tuple[str, str, str] | None"] | None]

# ProvenEntity items only come when the reader is given a LineProof.
Item = SourceEntity | ReadError | ProvenEntity


def _typed_path(value: Any, path: PathKey) -> PathKey:
    """A path parsed from text, with each part typed as the document needs: ``/a/0`` is element 0 of an
    array but the member "0" of an object."""
    typed: list[str | int] = []
    node = value
    for part in path:
        if isinstance(node, list) and isinstance(part, str) and _ARRAY_INDEX.fullmatch(part):
            part = int(part)
        elif isinstance(node, dict) and isinstance(part, int):
            part = str(part)
        typed.append(part)
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            node = None
    return tuple(typed)


# An integer of 19 digits or more may not fit in 64 bits; orjson would make it a float silently.
_LONG_INTEGER = re.compile(r"(?:^|[\[:,])[ \t\n\r]*-?[0-9]{19,}(?![0-9.eE])")


def _may_have_duplicates(chunk: str, value: Any) -> bool:
    """orjson keeps the last of repeated keys silently, and a key left out takes its colon with it. Every
    other colon is in a string, which orjson writes back with the same colons unless the text escaped one
    (``\\u003a``). So the same count of colons in the text and in orjson's output of what it read proves
    there is no repeat; anything else goes to the scanner, which finds them exactly."""
    if "\\" in chunk and "\\u003" in chunk:
        return True
    try:
        compact = orjson.dumps(value)
    except orjson.JSONEncodeError:  # an integer beyond 64 bits: the scanner has read this text already
        return True
    return chunk.count(":") != compact.count(b":")


def _parse_segment(text: _Text, segment: _Segment) -> Any:
    """Parse one document strictly; raise ReadError with line/column and cause."""
    chunk = text.text[segment.start : segment.end]
    orjson_error: orjson.JSONDecodeError | None = None
    try:
        value = orjson.loads(chunk)
    except orjson.JSONDecodeError as error:
        orjson_error = error
    else:
        # One pass over the whole text serves every document of it; one line of many is looked at alone.
        whole = segment.start == 0 and segment.end == len(text.text)
        digit_runs = text.long_digit_runs if whole else _long_digit_run(_encoded(chunk))
        if not digit_runs or not _LONG_INTEGER.search(chunk):
            segment.parsed_by_orjson = True
            segment.value = value
            return value
    # Slow path, for broken input (the scanner says where and why) and for integers beyond 64 bits, which
    # orjson rounds to a float without a word: the scanner reads them exactly.
    try:
        scanner = segment.scan()
    except _ScanError as scan_error:
        line, column = segment.line_column(segment.start + scan_error.offset)
        raise ReadError(text.name, scan_error.message, line, column) from None
    if orjson_error is None or orjson_error.msg.startswith("number"):
        return scanner.value
    # The scanner accepted what orjson refused for another reason: trust orjson.
    line, column = segment.line_column(segment.start + orjson_error.pos)
    raise ReadError(text.name, str(orjson_error.msg), line, column)


def _duplicate_problems(segment: _Segment, prefix: PathKey) -> list[DocumentProblem]:
    problems = []
    for duplicate in segment.scan().duplicates:
        if duplicate.path[: len(prefix)] != prefix:
            continue
        line, column = segment.line_column(segment.start + duplicate.offset)
        relative = duplicate.path[len(prefix) :]
        problems.append(
            DocumentProblem(
                "duplicate-key",
                f"duplicate key {duplicate.path[-1]!r}: parsers keep only one of the values",
                to_json_pointer(relative),
                line,
                column,
            )
        )
    return problems


def _feature_translator(feature: dict[str, Any]) -> Callable[[PathKey], PathKey]:
    def translate(path: PathKey) -> PathKey:
        if not path:
            return path
        if path[0] == "id" or (path[0] == "type" and "type" not in (feature.get("properties") or {})):
            return path
        return ("properties", *path)

    return translate


def string_character(text: str, quote: int, index: int) -> int | None:
    """The offset in ``text`` of character ``index`` of the JSON string whose opening quote is at
    ``quote``, each escape read as the one character it stands for (a surrogate pair as one); None when
    there is no string there or it is shorter."""
    if not text.startswith('"', quote):
        return None
    offset = quote + 1
    for _ in range(index):
        if offset >= len(text) or text[offset] == '"':
            return None
        if text[offset] != "\\":
            offset += 1
        elif not text.startswith("u", offset + 1):
            offset += 2
        else:
            high = _hex(text[offset + 2 : offset + 6])
            offset += 6
            low = _hex(text[offset + 2 : offset + 6]) if text.startswith("\\u", offset) else -1
            if 0xD800 <= high < 0xDC00 and 0xDC00 <= low < 0xE000:
                offset += 6  # the low half: one character with the high one
    return offset


def _hex(digits: str) -> int:
    try:
        return int(digits, 16)
    except ValueError:
        return -1


def _entities_of(
    value: Any, text: _Text, segment: _Segment, *, index: int | None, check_duplicates: bool
) -> Iterator[Item]:
    """The entities in one parsed document: an entity, an array of them, or a GeoJSON FeatureCollection."""
    duplicates_possible = check_duplicates and _may_have_duplicates(
        text.text[segment.start : segment.end], value
    )
    if type(value) is dict and "data" not in value and value.get("type") not in _GEOJSON_CONTAINERS:
        # One plain entity, by far the most common document (an NDJSON line): no envelope to look into.
        problems = _duplicate_problems(segment, ()) if duplicates_possible else []
        return iter((SourceEntity(value, text.name, index, problems, segment),))

    def make(entity: Any, prefix: PathKey, entity_index: int | None, translate: Any = None) -> SourceEntity:
        problems = _duplicate_problems(segment, prefix) if duplicates_possible else []
        return SourceEntity(entity, text.name, entity_index, problems, segment, prefix, translate)

    return entities_in(
        value,
        index,
        make,
        lambda path: _line_column_of(segment, path),
        text.name,
        single=lambda: _geojson_or_entity(value, text, segment, index, make),  # GeoJSON: JSON only
    )


# Builds the SourceEntity for a value at a path of the document, as the reader of each syntax does.
MakeEntity = Callable[[Any, PathKey, int | None], SourceEntity]


def entities_in(
    value: Any,
    index: int | None,
    make: MakeEntity,
    locate: Callable[[PathKey], tuple[int | None, int | None]],
    source: str,
    *,
    document: int | None = None,
    single: Callable[[], Iterator[Item]] | None = None,
) -> Iterator[Item]:
    """The entities of one parsed document (JSON or YAML): each element of an array, the ``data`` of a
    notification (paths from the notification, ``/data/3``), else ``single()`` (default: one entity)."""

    def notified(position: PathKey, entity_index: int | None) -> Iterator[Item]:
        notification = value if not position else value[position[0]]
        data = notification.get("data")
        if not isinstance(data, list):
            line, column = locate((*position, "data"))
            message = "the data of a notification must be an array of entities"
            yield ReadError(source, message, line, column, code="invalid-notification", document=document)
            return
        for place, entity in enumerate(data):
            made = make(entity, (*position, "data", place), place if entity_index is None else entity_index)
            made.pointer_prefix = f"/data/{place}"
            made.in_notification = True
            yield made

    if isinstance(value, list):
        for position, item in enumerate(value):
            if is_notification(item):
                yield from notified((position,), position)
            else:
                yield make(item, (position,), position)
    elif is_notification(value):
        yield from notified((), index)
    elif single is not None:
        yield from single()
    else:
        yield make(value, (), index)


_GEOJSON_CONTAINERS = ("FeatureCollection", "Feature")


def _geojson_or_entity(
    value: Any, text: _Text, segment: _Segment, index: int | None, make: Callable[..., SourceEntity]
) -> Iterator[Item]:
    """A GeoJSON FeatureCollection's Features, a Feature's entity, or the value itself as one entity."""
    if isinstance(value, dict) and value.get("type") == "FeatureCollection" and "features" in value:
        features = value.get("features")
        if not isinstance(features, list):
            # Not a single entity to check: saying nothing would pass the input as valid.
            line, column = _line_column_of(segment, ("features",))
            message = "the features of a GeoJSON FeatureCollection must be an array of Features"
            yield ReadError(text.name, message, line, column, code="invalid-geojson")
            return
        for position, feature in enumerate(features):
            yield make(_feature_entity(feature), ("features", position), position, _translator(feature))
        return
    is_feature = isinstance(value, dict) and value.get("type") == "Feature"
    if is_feature and isinstance(value.get("properties"), dict):
        yield make(_feature_entity(value), (), index, _translator(value))
        return
    yield make(value, (), index)


def is_notification(value: Any) -> bool:
    """An NGSI-LD Notification (clause 5.3.1: ``"type": "Notification"``, entities in ``data``) or an NGSI-v2
    notification (``subscriptionId`` and ``data``, no entity ``id`` or ``type``)."""
    if not isinstance(value, dict) or "data" not in value:
        return False
    if value.get("type") == "Notification":
        return True
    return "subscriptionId" in value and "type" not in value and "id" not in value


def _line_column_of(segment: _Segment, path: PathKey) -> tuple[int | None, int | None]:
    offset = segment.offset_of(path)
    return segment.line_column(offset) if offset is not None else (None, None)


def _translator(feature: Any) -> Callable[[PathKey], PathKey] | None:
    return _feature_translator(feature) if isinstance(feature, dict) else None


def _feature_entity(feature: Any) -> Any:
    """NGSI-LD GeoJSON representation: the entity is the Feature's id plus its properties."""
    if not isinstance(feature, dict) or not isinstance(feature.get("properties"), dict):
        return feature
    entity: dict[str, Any] = {}
    if "id" in feature:
        entity["id"] = feature["id"]
    entity.update(feature["properties"])
    return entity


# Byte order marks, and the first bytes of a JSON text in each encoding without one (RFC 4627, 3): the
# first two characters of a JSON text are ASCII, so the zero bytes give the encoding away.
_UTF16_32_MARKS = (
    (b"\x00\x00\xfe\xff", "UTF-32 BE"),
    (b"\xff\xfe\x00\x00", "UTF-32 LE"),
    (b"\xfe\xff", "UTF-16 BE"),
    (b"\xff\xfe", "UTF-16 LE"),
)
_UTF16_32_PATTERNS = (
    (re.compile(rb"\x00\x00\x00[^\x00]"), "UTF-32 BE"),
    (re.compile(rb"[^\x00]\x00\x00\x00"), "UTF-32 LE"),
    (re.compile(rb"\x00[^\x00]\x00[^\x00]"), "UTF-16 BE"),
    (re.compile(rb"[^\x00]\x00[^\x00]\x00"), "UTF-16 LE"),
)


def _wrong_encoding(data: bytes) -> str | None:
    """The UTF-16/UTF-32 encoding the data is written in, with how it shows, or None."""
    for mark, encoding in _UTF16_32_MARKS:
        if data.startswith(mark):
            return f"{encoding} (it starts with a {encoding[:6]} byte order mark)"
    for pattern, encoding in _UTF16_32_PATTERNS:
        if pattern.match(data):
            return encoding
    return None


def _decode(name: str, data: bytes) -> _Text:
    encoding = _wrong_encoding(data)
    if encoding is not None:
        message = f"not UTF-8: the text is {encoding}; JSON must be UTF-8: save it as UTF-8"
        raise ReadError(name, message, 1, 1, "not-utf8")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # a UTF-8 BOM is tolerated (editors on Windows write one)
    try:
        return _Text(name, data.decode("utf-8"), data)
    except UnicodeDecodeError as error:
        before = data[: error.start]
        line = before.count(b"\n") + 1
        # Columns count characters, as everywhere else: decode what precedes the bad byte on its line.
        line_start = before.rfind(b"\n") + 1
        column = len(before[line_start:].decode("utf-8", errors="replace")) + 1
        message = f"not UTF-8: invalid byte 0x{data[error.start]:02x}"
        raise ReadError(name, message, line, column, "not-utf8") from None


def _parses_alone(line: str) -> bool:
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return True


def _looks_like_ndjson(text: _Text) -> bool:
    """Several top-level values, one per line (stdin or a .json file holding NDJSON).

    Called only when the text is not one JSON document. The first line parsing alone is enough (the rest
    of the text is then "extra data"); otherwise most lines must parse alone, so that NDJSON whose first
    line is broken is still read line by line, while a broken pretty-printed document (whose lines rarely
    parse alone, and which opens and closes with a bracket on a line of its own) is one document.
    """
    lines = [line.strip() for line in text.text.split("\n") if line.strip()]
    if len(lines) < 2:
        return False
    if _parses_alone(lines[0]):
        return True
    if lines[0] in ("[", "{") or lines[-1] in ("]", "}"):
        return False
    return 2 * sum(1 for line in lines if line[:1] in "{[" and _parses_alone(line)) > len(lines)


_NON_BLANK_LINE = re.compile(r"^.*\S.*$", re.MULTILINE)


def _pretty_printed(text: _Text) -> bool:
    """One JSON document over several lines, whatever the file is called: read line by line, each of
    its lines would be an error (or a bogus entity such as a lone string)."""
    lines = _NON_BLANK_LINE.finditer(text.text)
    first, second = next(lines, None), next(lines, None)
    if second is None or first is None or _parses_alone(first.group()):
        return False
    return _parses_alone(text.text)


# How a YAML text can start and a JSON text cannot: a comment, a directive, a document marker, a block
# sequence item, or an unquoted key.
_YAML_START = re.compile(r"#|%YAML|---|- |-$|[A-Za-z_@$][^:\s{}\[\],\"']*:(?:\s|$)")


def _starts_like_yaml(text: str) -> bool:
    """Stdin has no file name to tell YAML by: its first line does."""
    stripped = text.lstrip()
    return bool(_YAML_START.match(stripped))


def read_bytes(
    name: str,
    data: bytes,
    *,
    ndjson: bool | None = None,
    found_in_folder: bool = False,
    skip_non_entities: bool = False,
    line_proof: LineProof | None = None,
) -> Iterator[Item]:
    """Entities of one input. Parse problems come out as :class:`ReadError` items, not exceptions.

    ``found_in_folder``: the file was met walking a directory, where YAML files are often no entities
    (``notes.yaml``, CI configuration): their documents without ``id`` or ``type`` are passed over.
    ``skip_non_entities``: so are JSON and YAML documents named on their own (what a pre-commit hook
    is given: ``package.json``, CI configuration); NDJSON lines are entities whatever they hold.
    ``line_proof``: NDJSON lines it proves come out as :class:`ProvenEntity` items.
    """
    try:
        text = _decode(name, data)
    except ReadError as error:
        yield error
        return
    if name.endswith(YAML_SUFFIXES) or (name == STDIN_NAME and _starts_like_yaml(text.text)):
        from sdmtool import yaml_input  # only YAML inputs pay for loading the YAML parser

        yield from yaml_input.read_yaml(name, text.text, only_entities=found_in_folder or skip_non_entities)
        return
    if ndjson is None:
        ndjson = name.endswith(".ndjson") and not _pretty_printed(text)
    if not ndjson:
        segment = _Segment(text)
        try:
            value = _parse_segment(text, segment)
        except ReadError as error:
            if not _looks_like_ndjson(text):
                yield error
                return
            ndjson = True
        else:
            if not skip_non_entities or may_hold_entities(value):
                yield from _entities_of(value, text, segment, index=None, check_duplicates=True)
            return
    yield from _ndjson_items(text, line_proof)


def read_document(name: str, data: bytes) -> SourceEntity | ReadError:
    """One JSON document as it is, whatever it holds (an array is not split into entities): a schema, an
    example file. Repeated keys are its problems; a text that is no JSON is the ReadError."""
    try:
        text = _decode(name, data)
        segment = _Segment(text)
        value = _parse_segment(text, segment)
    except ReadError as error:
        return error
    problems = _duplicate_problems(segment, ()) if _may_have_duplicates(text.text, value) else []
    return SourceEntity(value, name, None, problems, segment)


def may_hold_entities(value: Any) -> bool:
    """A document that can be entities: an array, or an object with an ``id``, a ``type`` or ``data``."""
    return isinstance(value, list) or (isinstance(value, dict) and not value.keys().isdisjoint(_ENTITY_KEYS))


_ENTITY_KEYS = frozenset({"id", "type", "data"})


def _ndjson_items(text: _Text, line_proof: LineProof | None = None) -> Iterator[Item]:
    """What each line of an NDJSON text holds. Most lines are one well-formed entity without repeated keys
    or long integers: those the line proof proves valid come out as such, the others are read with as
    little as possible around orjson; any other line is read the general way, which says what is wrong and
    where."""
    source, name = text.text, text.name
    prove = line_proof(name, len(source)) if line_proof is not None else None

    loads = orjson.loads
    start, number, length = 0, 0, len(source)
    blank = True  # no line with a JSON value yet (lines holding empty arrays still count as read)
    while start <= length:
        end = source.find("\n", start)
        end = length if end == -1 else end
        line = source[start:end]
        if line and not line.isspace():
            blank = False
            proven = prove(line) if prove is not None else None
            if proven is not None:
                yield ProvenEntity(name, number, *proven)
                number += 1
                start = end + 1
                continue
            segment = _Segment(text, start, end, line=number + 1)
            try:
                # orjson rounds an integer beyond 64 bits to a float: such lines go the general way.
                value = None if _long_digit_run(_encoded(line)) else loads(line)
            except orjson.JSONDecodeError:
                value = None
            if (
                type(value) is dict
                and "data" not in value
                and value.get("type") not in _GEOJSON_CONTAINERS
                and not _may_have_duplicates(line, value)
            ):
                segment.parsed_by_orjson = True
                segment.value = value
                yield SourceEntity(value, name, number, [], segment)
            else:
                try:
                    value = _parse_segment(text, segment)
                except ReadError as error:
                    yield error
                else:
                    yield from _entities_of(value, text, segment, index=number, check_duplicates=True)
        number += 1
        start = end + 1
    if blank:
        yield ReadError(name, "empty input: no JSON lines", 1, 1)


def _stat_problem(path: Path, error: OSError) -> ReadError:
    if isinstance(error, FileNotFoundError):
        if path.is_symlink():
            return ReadError(str(path), "broken symbolic link: its target does not exist", code="unreadable")
        return ReadError(str(path), "no such file or directory", code="file-not-found")
    return ReadError(str(path), f"cannot read: {error.strerror or error}", code="unreadable")


def _walk(directory: Path) -> Iterator[Path | ReadError]:
    """Data files under a directory, sorted for stable reports; what cannot be listed or read is reported.

    Dot-directories (.git, .venv, ...) are never data. Symbolic links to files are read; links to
    directories are not followed (as find and most tools do), which also keeps link loops harmless.
    """
    unreadable: list[OSError] = []
    for root, dirs, files in os.walk(directory, onerror=unreadable.append):
        for error in unreadable:
            yield _stat_problem(Path(error.filename or root), error)
        unreadable.clear()
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for file_name in sorted(files):
            if not file_name.endswith(SUFFIXES) or file_name.startswith("."):
                continue
            path = Path(root) / file_name
            try:
                mode = path.stat().st_mode
            except OSError as error:
                yield _stat_problem(path, error)
                continue
            if stat.S_ISREG(mode):
                yield path
            else:
                # A FIFO would block the walk forever; a device could be endless.
                message = "not a regular file (a FIFO, socket or device): not read"
                yield ReadError(str(path), message, code="unreadable")
    for error in unreadable:  # the directory itself could not be listed
        yield _stat_problem(Path(error.filename or directory), error)


def expand_inputs(inputs: Iterable[str | os.PathLike[str]]) -> Iterator[str | Path | ReadError]:
    """Paths to read, directories expanded; missing or unusable inputs come out as ReadError. A file named
    twice, or named and met again in a named directory, is read once: its entities count once."""
    stdin_seen = False
    files_seen: set[tuple[int, int]] = set()

    def first_time(path: Path, status: os.stat_result | None = None) -> bool:
        try:
            status = status or path.stat()
        except OSError:
            return True  # reading it will say what is wrong
        if not stat.S_ISREG(status.st_mode):
            return True  # a pipe or a device is a stream: another name is another read
        identity = (status.st_dev, status.st_ino)
        if identity in files_seen:
            return False
        files_seen.add(identity)
        return True

    for item in inputs:
        name = os.fsdecode(item)
        if name == STDIN:
            if stdin_seen:
                message = "'-' (stdin) is given more than once: it can be read only once"
                yield ReadError(STDIN_NAME, message, code="bad-path")
            else:
                stdin_seen = True
                yield STDIN
            continue
        if not name:
            # Path("") is the current directory: an empty argument (an unset variable...) must not
            # silently validate whatever lies there.
            yield ReadError("''", "empty path", code="bad-path")
            continue
        path = Path(name)
        try:
            status = path.stat()
        except OSError as error:
            yield _stat_problem(path, error)
            continue
        except ValueError as error:  # a NUL character in the path
            yield ReadError(repr(name), f"not a valid path: {error}", code="bad-path")
            continue
        mode = status.st_mode
        if stat.S_ISDIR(mode):
            found = False
            for found_item in _walk(path):
                found = True
                if isinstance(found_item, ReadError) or first_time(found_item):
                    yield found_item
            if not found:
                message = f"no {', '.join(SUFFIXES)} files in this directory"
                yield ReadError(str(path), message, code="no-input")
        elif (stat.S_ISCHR(mode) or stat.S_ISBLK(mode)) and not _readable_device(path):
            message = "a device, not a file: not read (a device such as /dev/zero never ends)"
            yield ReadError(str(path), message, code="unreadable")
        elif first_time(path, status):
            yield path  # a FIFO named explicitly is fine: `sdmtool validate <(curl ...)`


def _readable_device(path: Path) -> bool:
    """The devices worth reading when named: /dev/null (empty) and a terminal (typed until end of file)."""
    try:
        if os.path.samefile(path, os.devnull):
            return True
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        return os.isatty(descriptor)
    finally:
        os.close(descriptor)


def _read_stdin(stdin: BinaryIO | None) -> bytes | ReadError:
    stream = stdin
    if stream is None:
        # sys.stdin is None when the process was started with stdin closed.
        stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        return ReadError(STDIN_NAME, "cannot read: stdin is closed", code="unreadable")
    try:
        return stream.read()
    except OSError as error:
        return ReadError(STDIN_NAME, f"cannot read: {error.strerror or error}", code="unreadable")


def read(
    inputs: Iterable[str | os.PathLike[str]],
    *,
    stdin: BinaryIO | None = None,
    on_input: Callable[[str], None] | None = None,
    line_proof: LineProof | None = None,
    skip_non_entities: bool = False,
) -> Iterator[Item]:
    """Every entity of every input, in order; unreadable inputs come out as ReadError items.

    ``on_input`` is called with the name of each input as it is read, including inputs that hold no
    entity (an empty array), which the items alone would not show. ``line_proof`` and
    ``skip_non_entities``: see :func:`read_bytes`.
    """
    inputs = list(inputs)
    named = {os.fsdecode(given) for given in inputs}
    for item in expand_inputs(inputs):
        if isinstance(item, ReadError):
            yield item
            continue
        if item == STDIN:
            name, data = STDIN_NAME, _read_stdin(stdin)
        else:
            name = str(item)
            try:
                data = Path(item).read_bytes()
            except OSError as error:
                data = ReadError(name, f"cannot read: {error.strerror or error}", code="unreadable")
        if on_input is not None:
            on_input(name)
        if isinstance(data, ReadError):
            yield data
        else:
            in_folder = item != STDIN and name not in named
            yield from read_bytes(
                name,
                data,
                found_in_folder=in_folder,
                skip_non_entities=skip_non_entities,
                line_proof=line_proof,
            )
