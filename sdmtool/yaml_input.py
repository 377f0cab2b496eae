"""Entities written in YAML (``.yaml``/``.yml``, one or several documents), read as the JSON they stand for.

PyYAML only tokenizes and composes the text into nodes here (with the safe loader's parser: no object is
ever built from a tag); the nodes are turned into JSON values by this module, which

- resolves plain scalars by the YAML 1.2 core schema, the one that agrees with JSON: ``yes``/``no``/``on``,
  ``NO`` and unquoted dates stay strings (PyYAML's YAML 1.1 rules would turn them into booleans and
  ``datetime`` objects);
- refuses what JSON cannot hold (``.nan``/``.inf``, non-string keys, tags such as ``!!binary`` or
  ``!!python/object``, merge keys, recursive aliases, aliases that expand beyond reason) with the line and
  column, as the JSON reader refuses ``NaN``;
- reports repeated keys, and remembers where every value starts, for findings.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterator
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sdmtool.reader import (
    LINE_BREAK,
    DocumentProblem,
    Item,
    PathKey,
    ReadError,
    SourceEntity,
    entities_in,
    to_json_pointer,
)

_TAG = "tag:yaml.org,2002:"
_IMPLICIT = "tag:sdmtool:implicit"  # a scalar without an explicit tag: resolved below, by YAML 1.2 core

# YAML 1.2 core schema (10.3.2), the plain scalars that are not strings.
_NULL = re.compile(r"~|null|Null|NULL|")
_TRUE = re.compile(r"true|True|TRUE")
_FALSE = re.compile(r"false|False|FALSE")
_INT = re.compile(r"[-+]?[0-9]+")
_OCTAL = re.compile(r"0o[0-7]+")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_INFINITY = re.compile(r"[-+]?\.(?:inf|Inf|INF)")
_NAN = re.compile(r"\.(?:nan|NaN|NAN)")

# Aliases may repeat a value; beyond this many values per value written, an input is an "alias bomb".
_EXPANSION_FACTOR = 10
_EXPANSION_FLOOR = 100_000
MAX_DEPTH = 200  # PyYAML composes recursively: deeper documents would exhaust Python's stack


class _Refused(Exception):
    def __init__(self, node: Node | None, message: str) -> None:
        super().__init__(message)
        self.node = node
        self.message = message


class _CoreScalars:
    """Leaves every untagged plain scalar for YAML 1.2 core (mixed into a safe loader)."""

    def resolve(self, kind: type[Node], value: Any, implicit: Any) -> str:
        if kind is ScalarNode and implicit[0]:
            return _IMPLICIT
        return super().resolve(kind, value, implicit)  # type: ignore[misc]


class PythonLoader(_CoreScalars, yaml.SafeLoader):
    """PyYAML's own safe scanner, parser and composer."""


# libyaml's parser when PyYAML was built with it (about twice as fast here), else PyYAML's own.
_LIBYAML = getattr(yaml, "CSafeLoader", None)
Loader: type[Any] = type("LibyamlLoader", (_CoreScalars, _LIBYAML), {}) if _LIBYAML else PythonLoader


def _plain(node: ScalarNode) -> bool:
    """Unquoted: PyYAML's parser says so with no style, libyaml's with an empty one."""
    return not node.style


def _mark(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


# Python's limit for int <-> str conversion (0: none): a larger integer is refused, as the JSON reader does.
_INT_DIGITS = sys.get_int_max_str_digits()
_INT_LIMIT = 10**_INT_DIGITS if _INT_DIGITS else None


def resolve_plain(text: str) -> Any:
    """The JSON value of an untagged plain scalar under the YAML 1.2 core schema (NaN/inf included)."""
    if _NULL.fullmatch(text):
        return None
    if _TRUE.fullmatch(text):
        return True
    if _FALSE.fullmatch(text):
        return False
    if _INT.fullmatch(text):
        return int(text)
    if _OCTAL.fullmatch(text):
        return int(text[2:], 8)
    if _HEX.fullmatch(text):
        return int(text[2:], 16)
    if _FLOAT.fullmatch(text):
        return float(text)
    if _INFINITY.fullmatch(text):
        return -math.inf if text.startswith("-") else math.inf
    if _NAN.fullmatch(text):
        return math.nan
    return text


def _scalar(node: ScalarNode) -> Any:
    try:
        value = _scalar_value(node)
    except ValueError:  # a decimal integer longer than Python's limit for int(str), as JSON's reader says
        digits = sum(char.isdigit() for char in node.value)
        raise _Refused(node, f"number with {digits} digits is too long") from None
    if isinstance(value, int) and _INT_LIMIT is not None and abs(value) >= _INT_LIMIT:
        # A hexadecimal or octal one has no such limit, but could not be written in decimal either.
        raise _Refused(
            node, f"number {node.value[:12]}… is too large (more than {_INT_DIGITS} decimal digits)"
        )
    return value


def _scalar_value(node: ScalarNode) -> Any:
    tag = node.tag
    if tag == _IMPLICIT:
        value = resolve_plain(node.value) if _plain(node) else node.value
    elif tag == _TAG + "str":
        value = node.value
    elif tag in (_TAG + "int", _TAG + "float", _TAG + "bool", _TAG + "null"):
        value = resolve_plain(node.value)
        wanted = {"int": int, "float": (int, float), "bool": bool, "null": type(None)}[tag[len(_TAG) :]]
        if not isinstance(value, wanted) or (tag.endswith("int") and isinstance(value, bool)):
            raise _Refused(node, f"{node.value!r} is not a valid {tag[len(_TAG) :]}")
        if tag.endswith("float"):
            value = float(value)
    else:
        raise _Refused(node, _tag_message(tag))
    if isinstance(value, float) and not math.isfinite(value):
        literal = "NaN" if math.isnan(value) else "Infinity"
        raise _Refused(node, f"{node.value} ({literal}) is not a JSON value: write a number, or null")
    return value


def _tag_message(tag: str) -> str:
    shown = "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag
    return f"the tag {shown} is not allowed: entities are plain JSON data (objects, arrays, strings, numbers)"


# Between a key (or an item) and its value: the indicators ':' '-' ',' '[' '?', space, comments.
_BEFORE_VALUE = re.compile(r"(?:[\s:,\[?-]|#[^\n]*)*")
_ALIAS = re.compile(r"\*[^\s,\[\]{}]*")


class _Builder:
    """JSON values from composed nodes, with positions and repeated keys."""

    def __init__(self, node_count: int, text: str, restore: dict[int, str] | None = None) -> None:
        self.text = text
        self.restore = restore  # the stand-ins of the Unicode line breaks (see _hide_unicode_breaks)
        self.end = 0  # where the text of the value built last ends
        self.built: set[int] = set()  # nodes met once: meeting one again is meeting an alias of it
        self.positions: dict[PathKey, tuple[int, int]] = {}
        # Where each string value is written, to point inside, with the column of the collection holding it
        # (a block scalar's explicit indentation is relative to it; -1 at the top).
        self.strings: dict[PathKey, tuple[ScalarNode, int]] = {}
        self.duplicates: list[tuple[PathKey, int, int]] = []
        self.budget = max(_EXPANSION_FLOOR, _EXPANSION_FACTOR * node_count)

    def build(
        self,
        node: Node,
        path: PathKey = (),
        active: frozenset[int] = frozenset(),
        after: int | None = None,
        parent_indent: int = -1,
    ) -> Any:
        """The JSON value of ``node`` at ``path``; ``after``: where the text before it ends (the end of its
        key, or of the item before it), to find an alias of the node where the alias is written."""
        self.budget -= 1
        if self.budget < 0:
            raise _Refused(node, "aliases expand to too many values (an alias bomb?): write the values out")
        if len(path) > MAX_DEPTH:
            raise _Refused(node, f"nesting is too deep: more than {MAX_DEPTH} levels")
        alias = self.alias_at(after) if id(node) in self.built else None
        self.built.add(id(node))
        self.positions.setdefault(path, _mark(node) if alias is None else _line_column(self.text, alias))
        value = self.value(node, path, active, parent_indent)
        # Where the text of this value ends (the alias, not its anchor): the next item is looked for after it.
        written = _ALIAS.match(self.text, alias) if alias is not None else None
        self.end = written.end() if written else node.end_mark.index
        return value

    def value(self, node: Node, path: PathKey, active: frozenset[int], parent_indent: int = -1) -> Any:
        if isinstance(node, ScalarNode):
            value = _scalar(node)
            if isinstance(value, str):
                self.strings.setdefault(path, (node, parent_indent))
                if self.restore:
                    value = value.translate(self.restore)
            return value
        if id(node) in active:
            raise _Refused(node, "an alias refers to a value that contains it: JSON cannot hold a cycle")
        active = active | {id(node)}
        if isinstance(node, SequenceNode):
            if node.tag not in (_TAG + "seq",):
                raise _Refused(node, _tag_message(node.tag))
            items, after = [], node.start_mark.index
            for index, item in enumerate(node.value):
                items.append(self.build(item, (*path, index), active, after, node.start_mark.column))
                after = self.end
            return items
        assert isinstance(node, MappingNode)
        if node.tag != _TAG + "map":
            raise _Refused(node, _tag_message(node.tag))
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self.key(key_node)
            if key in result:
                line, column = _mark(key_node)
                self.duplicates.append(((*path, key), line, column))
            result[key] = self.build(
                value_node, (*path, key), active, key_node.end_mark.index, node.start_mark.column
            )
        return result

    def alias_at(self, after: int | None) -> int | None:
        """Where the alias (``*name``) written first after ``after`` starts, past the punctuation, space and
        comments between a key or an item and its value; None if something else comes first."""
        if after is None:
            return None
        match = _BEFORE_VALUE.match(self.text, after)
        offset = match.end() if match else after
        return offset if self.text.startswith("*", offset) else None

    def key(self, node: Node) -> str:
        if not isinstance(node, ScalarNode):
            raise _Refused(node, "a key must be a string, not an array or an object")
        if node.tag == _IMPLICIT and _plain(node) and node.value == "<<":
            raise _Refused(node, "merge keys (<<) are not supported: write the members out")
        value = _scalar(node)
        if not isinstance(value, str):
            raise _Refused(node, f"member names must be strings in JSON: quote the key, '{node.value}'")
        return value.translate(self.restore) if self.restore else value


def _count_nodes(root: Node) -> int:
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, MappingNode):
            for key, value in node.value:
                stack.extend((key, value))
    return len(seen)


def _is_empty(node: Node) -> bool:
    """A document with nothing in it (``---`` at the end of a file): no entity, nothing to report."""
    return isinstance(node, ScalarNode) and node.tag == _IMPLICIT and node.value == "" and _plain(node)


# YAML 1.2 reads NEL, LS and PS as ordinary characters; PyYAML, a YAML 1.1 parser, as line breaks (so that
# it would fold them into spaces, refuse them in a plain scalar and count lines by them).
_UNICODE_BREAKS = "\x85\u2028\u2029"


def _hide_unicode_breaks(text: str) -> tuple[str, dict[int, str] | None]:
    """``text`` with each Unicode line break replaced by a private-use character it does not contain (one
    character for one: every offset stays), and the table that turns them back; the text itself when it has
    none."""
    present = [char for char in _UNICODE_BREAKS if char in text]
    if not present:
        return text, None
    stand_ins: list[str] = []
    lowered = text.lower()
    code = 0xF0000  # Supplementary Private Use Area-A: printable to PyYAML, and no break
    while len(stand_ins) < len(present):
        # Neither written nor written as an escape (\U000F0000): no character of the value can be one.
        if chr(code) not in text and f"{code:08x}" not in lowered:
            stand_ins.append(chr(code))
        code += 1
    hidden = text.translate({ord(char): stand_in for char, stand_in in zip(present, stand_ins, strict=True)})
    return hidden, {ord(stand_in): char for char, stand_in in zip(present, stand_ins, strict=True)}


def _compose(name: str, text: str) -> tuple[list[Node], ReadError | None]:
    """Every document's root node, up to the first syntax error (returned, not raised)."""
    nodes: list[Node] = []
    loader = None
    try:
        loader = Loader(text)  # PyYAML's own reader checks the characters here, libyaml's while parsing
        while loader.check_node():
            nodes.append(loader.get_node())
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        cause = error.problem or error.context or "invalid YAML"
        if error.context and error.problem:
            cause = f"{error.problem} ({error.context})"
        return nodes, ReadError(name, f"invalid YAML: {cause}", line, column, code="invalid-yaml")
    except yaml.reader.ReaderError as error:  # a character YAML does not allow (a control character)
        position = error.position
        if _LIBYAML is not None and isinstance(loader, _LIBYAML):
            # libyaml counts the UTF-8 bytes it was given, not characters.
            position = len(text.encode("utf-8", "surrogatepass")[:position].decode("utf-8", "ignore"))
        line, column = _line_column(text, position)
        code = error.character if isinstance(error.character, int) else ord(error.character)
        message = f"invalid YAML: the character U+{code:04X} is not allowed ({error.reason})"
        return nodes, ReadError(name, message, line, column, code="invalid-yaml")
    except yaml.YAMLError as error:
        return nodes, ReadError(name, f"invalid YAML: {error}", code="invalid-yaml")
    except RecursionError:
        message = "nesting is too deep for a YAML document"
        return nodes, ReadError(name, message, code="invalid-yaml")
    finally:
        if loader is not None:
            loader.dispose()
    return nodes, None


def _nearest(positions: dict[PathKey, tuple[int, int]], path: PathKey) -> tuple[int | None, int | None]:
    for length in range(len(path), -1, -1):
        found = positions.get(path[:length])
        if found is not None:
            return found
    return None, None


def _string_offset(
    text: str, node: ScalarNode, index: int, parent_indent: int = -1, value: str | None = None
) -> int | None:
    """Where character ``index`` of a string scalar is written in ``text``; None when it cannot be told.

    Each style is read as YAML writes it: escapes in double quotes (an escaped line break stands for
    nothing), ``''`` in single quotes, line folding in flow scalars (white space around a line break is no
    content; a break stands for a space, or for a line break per empty line after it), the content lines of
    a block scalar (``|``, ``>``) after their indentation, explicit (``|2``: relative to ``parent_indent``,
    the column of the collection holding the scalar) or detected."""
    start, end = node.start_mark.index, node.end_mark.index
    raw = text[start:end]
    style = node.style or ""
    if style in ("|", ">"):
        return _block_offset(raw, node.value if value is None else value, index, parent_indent, start)
    for position, offset in enumerate(_flow_offsets(raw, style)):
        if position == index:
            return start + offset
    return None


def _block_offset(raw: str, value: str, index: int, parent_indent: int, start: int) -> int | None:
    """Character ``index`` of the block scalar written as ``raw`` whose value is ``value``. Each content
    line (after the indentation) is written in the value as it is; what lies between two of them is what
    the line breaks fold into (line breaks, a space for ``>``), placed at the break that ends the line."""
    offset = raw.find("\n") + 1  # the content starts on the line after the indicators
    if not offset:
        return None
    lines = raw[offset:].split("\n")
    header = re.match(r"[|>]([+-]?)([1-9]?)([+-]?)", raw)
    explicit = header.group(2) if header else ""
    if explicit:
        # YAML: the content is indented by the indicator beyond the enclosing collection (at least 1).
        indent = max(parent_indent + 1, 1) + int(explicit) - 1
    else:
        indent = min((len(line) - len(line.lstrip(" ")) for line in lines if line.strip()), default=0)
    found = 0  # where in the value the text after the last content line placed starts
    line_break = offset - 1  # the break before the current line
    for line in lines:
        content = line[indent:]
        if content:
            at = value.find(content, found)
            if at < 0:
                return None
            if index < at:
                return start + line_break  # folded white space between two lines
            if index < at + len(content):
                return start + offset + indent + index - at
            found = at + len(content)
        line_break = offset + len(line)
        offset += len(line) + 1
    return start + line_break if index >= found else None


def _flow_offsets(raw: str, style: str) -> Iterator[int]:
    """The offset in ``raw`` (a plain, single- or double-quoted scalar as written) of each character of its
    value, then of its end."""
    quoted = style in ("'", '"')
    i = 1 if quoted else 0
    end = len(raw) - 1 if quoted else len(raw)
    while i < end:
        char = raw[i]
        if char in " \t":
            blank_end = i
            while blank_end < end and raw[blank_end] in " \t":
                blank_end += 1
            if blank_end < end and raw[blank_end] == "\n":
                i = blank_end  # white space before a line break is no content
                continue
            yield i
            i += 1
        elif char == "\n":
            # A line break and the indentation after it fold into one space, or into one line break per
            # empty line that follows; those characters are placed at the break.
            line_break = i
            empty, i = _skip_line_breaks(raw, i, end)
            for _ in range(max(empty, 1)):
                yield line_break
        elif style == "'" and raw.startswith("''", i):
            yield i
            i += 2
        elif style == '"' and char == "\\":
            following = raw[i + 1 : i + 2]
            if following == "\n":
                # An escaped line break stands for nothing; the indentation after it is dropped, while each
                # empty line after it still stands for a line break.
                escape = i
                empty, i = _skip_line_breaks(raw, i + 1, end)
                for _ in range(empty):
                    yield escape
                continue
            yield i
            i += {"x": 4, "u": 6, "U": 10}.get(following, 2)
        else:
            yield i
            i += 1
    yield min(i, end)


def _skip_line_breaks(raw: str, i: int, end: int) -> tuple[int, int]:
    """From the line break at ``i``: (how many empty lines follow it, where the next content starts)."""
    empty = 0
    i += 1
    while True:
        j = i
        while j < end and raw[j] in " \t":
            j += 1
        if j < end and raw[j] == "\n":
            empty += 1
            i = j + 1
            continue
        return empty, j


def _line_column(text: str, offset: int) -> tuple[int, int]:
    breaks = list(LINE_BREAK.finditer(text, 0, offset))
    line_start = breaks[-1].end() if breaks else 0
    return len(breaks) + 1, offset - line_start + 1


def _document_entities(
    name: str, text: str, node: Node, document: int | None, restore: dict[int, str] | None = None
) -> Iterator[Item]:
    builder = _Builder(_count_nodes(node), text, restore)
    try:
        value = builder.build(node)
    except _Refused as refused:
        line, column = _mark(refused.node) if refused.node is not None else (None, None)
        yield ReadError(name, refused.message, line, column, code="invalid-yaml", document=document)
        return
    positions, strings = builder.positions, builder.strings

    def locate(path: PathKey, string_index: int | None = None) -> tuple[int | None, int | None]:
        if string_index is not None and (written := strings.get(path)) is not None:
            node = written[0]
            value = node.value.translate(restore) if restore else node.value  # as written in ``text``
            offset = _string_offset(text, node, string_index, written[1], value)
            if offset is not None:
                return _line_column(text, offset)
        return _nearest(positions, path)

    def make(entity: Any, prefix: PathKey, index: int | None) -> SourceEntity:
        problems = [
            DocumentProblem(
                "duplicate-key",
                f"duplicate key {path[-1]!r}: parsers keep only one of the values",
                to_json_pointer(path[len(prefix) :]),
                line,
                column,
            )
            for path, line, column in builder.duplicates
            if path[: len(prefix)] == prefix and len(path) > len(prefix)
        ]
        return SourceEntity(
            entity,
            name,
            index,
            problems,
            _prefix=prefix,
            document=document,
            _positions=locate,
        )

    # YAML has no GeoJSON reading: a value that is no array or notification is one entity.
    yield from entities_in(value, None, make, lambda path: _nearest(positions, path), name, document=document)


def _holds_entities(node: Node) -> bool:
    """A document that can be entities (see :func:`sdmtool.reader.may_hold_entities`)."""
    if isinstance(node, SequenceNode):
        return True
    if not isinstance(node, MappingNode):
        return False
    keys = {key.value for key, _ in node.value if isinstance(key, ScalarNode)}
    return bool(keys & {"id", "type", "data"})


def read_yaml(name: str, text: str, *, only_entities: bool = False) -> Iterator[Item]:
    """The entities of a YAML text: each document an entity, an array of entities or a notification.

    The documents of a multi-document file are numbered from 0 (``file.yaml[2]`` is the third); a file
    with one document is not numbered. ``only_entities`` passes over the documents that cannot be
    entities (see :func:`_holds_entities`); a syntax error is reported all the same.
    """
    hidden, restore = _hide_unicode_breaks(text)
    nodes, error = _compose(name, hidden)
    if only_entities and error is None and not any(_holds_entities(node) for node in nodes):
        return
    numbered = len(nodes) + (error is not None) > 1
    found = False
    for number, node in enumerate(nodes):
        if _is_empty(node) or (only_entities and not _holds_entities(node)):
            continue
        found = True
        yield from _document_entities(name, text, node, number if numbered else None, restore)
    if error is not None:
        if numbered and error.line is not None:
            error.document = len(nodes)
        yield error
    elif not found:
        yield ReadError(name, "empty input: no YAML document", 1, 1, code="invalid-yaml")
