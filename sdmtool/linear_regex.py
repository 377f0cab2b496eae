"""Regular expressions from clients (``q`` ``~=``/``!~=``, ``idPattern``) matched in linear time.

Python's ``re`` backtracks: ``name~=(a+)+$`` against 30 ``a`` takes minutes, and even ``.*.*.*b`` against
1,000 characters takes half a minute, all of it on the broker's event loop (``re`` holds the GIL), so one
query, or one subscription evaluated on every write, would stop the broker. NGSI-LD regular expressions are
POSIX extended expressions (IEEE 1003.2), which need no backtracking: this module parses a pattern with
Python's own parser (same syntax, same errors) and runs it as a Thompson automaton whose state sets are
cached as they are met (a lazy DFA, as RE2 does), so a search costs time proportional to the text whatever
the pattern. What POSIX does not have and a finite automaton cannot do is refused with a clear message:
backreferences, lookaround, atomic groups and possessive quantifiers.

A search only answers *whether* the pattern occurs in the text (``search`` returns a true value or None),
which is all that ``~=``, ``!~=`` and ``idPattern`` ask. The embedded broker matches with it, and so does
``sdmtool lint`` when it decides whether a SubscriptionQuery selects an entity: a pattern read from a file
must not hang the lint either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from re import _constants as sre  # type: ignore[attr-defined]
from typing import Any

from sdmtool.query import MAX_REGEX_LENGTH, MAX_REGEX_STATES, RegexError, regex_tree, translate_regex

__all__ = [
    "MAX_STATES",
    "LinearRegex",
    "RegexTooComplex",
    "UnsupportedRegex",
    "compile_linear",
    "compile_posix",
]

# What is refused (syntax, constructs, size: bounded repeats are unrolled, so ``(a{100}){100}`` would need
# 10,000 states) is decided by sdmtool.query.regex_tree, the function the q parser (and so ``sdmtool
# validate``) uses too; the builder's own checks below are only a backstop.
MAX_STATES = MAX_REGEX_STATES
MAX_PATTERN_LENGTH = MAX_REGEX_LENGTH
# Cached transitions per pattern; cleared when full (the automaton itself never changes).
_CACHE_LIMIT = 20_000
# Automaton states one search may step through outside the cache. A search is linear in the text, but with
# a pattern near MAX_STATES whose state sets never repeat (``a.{1900}c``) each character costs ~2,000 steps:
# 50 kB of text would take seconds. Past this budget (a fraction of a second) the search gives up.
MAX_SEARCH_WORK = 2_000_000

_CHAR, _SPLIT, _ASSERT, _MATCH = range(4)
_UNSUPPORTED = {
    sre.GROUPREF: "backreferences",
    sre.GROUPREF_EXISTS: "conditional groups",
    sre.ASSERT: "lookahead/lookbehind assertions",
    sre.ASSERT_NOT: "negative lookahead/lookbehind assertions",
    sre.ATOMIC_GROUP: "atomic groups",
    sre.POSSESSIVE_REPEAT: "possessive quantifiers",
}
_ASCII_SPACE = frozenset(" \t\n\r\f\v")


class UnsupportedRegex(ValueError):
    """The pattern is invalid, uses a feature POSIX regular expressions do not have, or is too large."""


class RegexTooComplex(ValueError):
    """A search that would take more than :data:`MAX_SEARCH_WORK` steps: this pattern on this text."""


def _is_word(ch: str, ascii_only: bool) -> bool:
    return (ch.isalnum() or ch == "_") and (not ascii_only or ch.isascii())


def _category(code: Any, ascii_only: bool) -> Callable[[str], bool]:
    if code in (sre.CATEGORY_DIGIT, sre.CATEGORY_NOT_DIGIT):

        def test(ch: str) -> bool:
            return ("0" <= ch <= "9") if ascii_only else ch.isdecimal()

    elif code in (sre.CATEGORY_SPACE, sre.CATEGORY_NOT_SPACE):

        def test(ch: str) -> bool:
            return ch in _ASCII_SPACE if ascii_only else ch.isspace()

    elif code in (sre.CATEGORY_WORD, sre.CATEGORY_NOT_WORD):

        def test(ch: str) -> bool:
            return _is_word(ch, ascii_only)

    else:
        raise UnsupportedRegex(f"unsupported character category {code}")
    if code in (sre.CATEGORY_NOT_DIGIT, sre.CATEGORY_NOT_SPACE, sre.CATEGORY_NOT_WORD):
        return lambda ch: not test(ch)
    return test


def _variants(ch: str, ignore_case: bool) -> tuple[str, ...]:
    if not ignore_case:
        return (ch,)
    return tuple({ch, ch.lower(), ch.upper(), ch.casefold()})


class _Builder:
    """Thompson construction, built backwards from the match state (each piece gets its continuation)."""

    def __init__(self) -> None:
        self.kinds: list[int] = []
        self.outs: list[list[int]] = []
        self.preds: list[Callable[[str], bool] | None] = []
        self.asserts: list[Any] = []

    def new(
        self, kind: int, outs: list[int], pred: Callable[[str], bool] | None = None, at: Any = None
    ) -> int:
        if len(self.kinds) >= MAX_STATES:
            raise UnsupportedRegex(f"the regular expression is too large (more than {MAX_STATES} states)")
        self.kinds.append(kind)
        self.outs.append(outs)
        self.preds.append(pred)
        self.asserts.append(at)
        return len(self.kinds) - 1

    def sequence(self, items: Iterable[tuple[Any, Any]], nxt: int, flags: int) -> int:
        for op, av in reversed(list(items)):
            nxt = self.item(op, av, nxt, flags)
        return nxt

    def item(self, op: Any, av: Any, nxt: int, flags: int) -> int:
        ignore_case = bool(flags & sre.SRE_FLAG_IGNORECASE)
        ascii_only = bool(flags & sre.SRE_FLAG_ASCII)
        if op in _UNSUPPORTED:
            raise UnsupportedRegex(
                f"{_UNSUPPORTED[op]} are not supported: NGSI-LD regular expressions are POSIX extended ones"
            )
        if op is sre.LITERAL:
            accepted = frozenset(_variants(chr(av), ignore_case))
            return self.new(_CHAR, [nxt], accepted.__contains__)
        if op is sre.NOT_LITERAL:
            refused = frozenset(_variants(chr(av), ignore_case))
            return self.new(_CHAR, [nxt], lambda ch: ch not in refused)
        if op is sre.ANY:
            if flags & sre.SRE_FLAG_DOTALL:
                return self.new(_CHAR, [nxt], lambda ch: True)
            return self.new(_CHAR, [nxt], lambda ch: ch != "\n")
        if op is sre.IN:
            return self.new(_CHAR, [nxt], self.char_class(av, ignore_case, ascii_only))
        if op is sre.BRANCH:
            split = self.new(_SPLIT, [])
            self.outs[split] = [self.sequence(alternative, nxt, flags) for alternative in av[1]]
            return split
        if op is sre.SUBPATTERN:
            _group, add_flags, del_flags, sub = av
            return self.sequence(sub, nxt, (flags | add_flags) & ~del_flags)
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
            low, high, sub = av
            result = nxt
            if high == sre.MAXREPEAT:
                loop = self.new(_SPLIT, [])
                self.outs[loop] = [self.sequence(sub, loop, flags), nxt]
                result = loop
            else:
                for _ in range(high - low):
                    optional = self.new(_SPLIT, [])
                    self.outs[optional] = [self.sequence(sub, result, flags), nxt]
                    result = optional
            for _ in range(low):
                result = self.sequence(sub, result, flags)
            return result
        if op is sre.AT:
            return self.new(_ASSERT, [nxt], at=(av, bool(flags & sre.SRE_FLAG_MULTILINE), ascii_only))
        raise UnsupportedRegex(f"unsupported regular expression construct {op}")

    def char_class(self, items: list[tuple[Any, Any]], ignore_case: bool, ascii_only: bool) -> Any:
        negate = False
        chars: set[str] = set()
        ranges: list[tuple[int, int]] = []
        tests: list[Callable[[str], bool]] = []
        for op, av in items:
            if op is sre.NEGATE:
                negate = True
            elif op is sre.LITERAL:
                chars.update(_variants(chr(av), ignore_case))
            elif op is sre.RANGE:
                ranges.append(av)
            elif op is sre.CATEGORY:
                tests.append(_category(av, ascii_only))
            else:
                raise UnsupportedRegex(f"unsupported character class item {op}")
        frozen = frozenset(chars)

        def member(ch: str) -> bool:
            if ch in frozen:
                return True
            for candidate in _variants(ch, ignore_case):
                code = ord(candidate)
                if any(low <= code <= high for low, high in ranges):
                    return True
            return any(test(ch) for test in tests)

        if negate:
            return lambda ch: not member(ch)
        return member


def _assertion_holds(at: tuple[Any, bool, bool], text: str, pos: int) -> bool:
    code, multiline, ascii_only = at
    n = len(text)
    if code is sre.AT_BEGINNING_STRING:
        return pos == 0
    if code is sre.AT_END_STRING:
        return pos == n
    if code in (sre.AT_BEGINNING, sre.AT_BEGINNING_LINE):
        return pos == 0 or ((multiline or code is sre.AT_BEGINNING_LINE) and text[pos - 1] == "\n")
    if code in (sre.AT_END, sre.AT_END_LINE):
        if pos == n:
            return True
        if multiline or code is sre.AT_END_LINE:
            return text[pos] == "\n"
        return pos == n - 1 and text[pos] == "\n"
    if code in (sre.AT_BOUNDARY, sre.AT_NON_BOUNDARY):
        if n == 0:
            return False  # as Python's re: neither \b nor \B matches in an empty string
        before = pos > 0 and _is_word(text[pos - 1], ascii_only)
        after = pos < n and _is_word(text[pos], ascii_only)
        return (before != after) == (code is sre.AT_BOUNDARY)
    raise UnsupportedRegex(f"unsupported anchor {code}")


class LinearRegex:
    """A compiled pattern; ``search(text)`` is true-valued when the pattern occurs somewhere in ``text``."""

    def __init__(self, pattern: str) -> None:
        if not isinstance(pattern, str):
            raise UnsupportedRegex("a regular expression must be a string")
        try:
            parsed = regex_tree(pattern)
        except RegexError as exc:
            raise UnsupportedRegex(str(exc)) from None
        self.pattern = pattern
        builder = _Builder()
        self._match = builder.new(_MATCH, [])
        try:
            self._start = builder.sequence(parsed, self._match, parsed.state.flags)
        except RecursionError:
            raise UnsupportedRegex("the regular expression is nested too deeply") from None
        self._kinds = builder.kinds
        self._outs = builder.outs
        self._preds = builder.preds
        self._asserts = [(i, at) for i, at in enumerate(builder.asserts) if at is not None]
        self._assert_index = {state: index for index, (state, _) in enumerate(self._asserts)}
        self._closures: dict[tuple[frozenset[int], tuple[bool, ...]], frozenset[int]] = {}
        self._steps: dict[tuple[frozenset[int], str, tuple[bool, ...]], frozenset[int]] = {}

    def __repr__(self) -> str:
        return f"LinearRegex({self.pattern!r})"

    def _context(self, text: str, pos: int) -> tuple[bool, ...]:
        return tuple(_assertion_holds(at, text, pos) for _, at in self._asserts)

    def _closure(self, states: frozenset[int], context: tuple[bool, ...]) -> frozenset[int]:
        key = (states, context)
        cached = self._closures.get(key)
        if cached is not None:
            return cached
        kinds, outs = self._kinds, self._outs
        result: set[int] = set()
        seen: set[int] = set()
        stack = list(states)
        while stack:
            state = stack.pop()
            if state in seen:
                continue
            seen.add(state)
            kind = kinds[state]
            if kind == _SPLIT:
                stack.extend(outs[state])
            elif kind == _ASSERT:
                if context[self._assert_index[state]]:
                    stack.extend(outs[state])
            else:
                result.add(state)
        closed = frozenset(result)
        if len(self._closures) >= _CACHE_LIMIT:
            self._closures.clear()
        self._closures[key] = closed
        return closed

    def search(self, text: str) -> bool | None:
        """True if the pattern matches anywhere in ``text``, else None (the truthiness of ``re.search``)."""
        has_asserts = bool(self._asserts)
        no_context: tuple[bool, ...] = ()
        start = frozenset({self._start})
        current = self._closure(start, self._context(text, 0) if has_asserts else no_context)
        match = self._match
        if match in current:
            return True
        steps = self._steps
        kinds, outs, preds = self._kinds, self._outs, self._preds
        work = 0
        for pos, ch in enumerate(text):
            context = self._context(text, pos + 1) if has_asserts else no_context
            key = (current, ch, context)
            following = steps.get(key)
            if following is None:
                work += len(current)
                if work > MAX_SEARCH_WORK:
                    raise RegexTooComplex(
                        f"a regular expression too costly on a text of {len(text)} characters (more than "
                        f"{MAX_SEARCH_WORK:,} automaton steps)"
                    )
                moved = {
                    outs[state][0]
                    for state in current
                    if kinds[state] == _CHAR and preds[state](ch)  # type: ignore[misc]
                }
                moved.add(self._start)  # a search may begin at every position
                following = self._closure(frozenset(moved), context)
                if len(steps) >= _CACHE_LIMIT:
                    steps.clear()
                steps[key] = following
            current = following
            if match in current:
                return True
        return None


_COMPILED: dict[str, LinearRegex] = {}


def compile_linear(pattern: str) -> LinearRegex:
    """A (cached) :class:`LinearRegex`; raises :class:`UnsupportedRegex`."""
    compiled = _COMPILED.get(pattern)
    if compiled is None:
        compiled = LinearRegex(pattern)
        if len(_COMPILED) >= 1024:
            _COMPILED.clear()
        _COMPILED[pattern] = compiled
    return compiled


def compile_posix(pattern: str) -> LinearRegex:
    """A POSIX regular expression as a client writes it (``idPattern``), translated as ``q`` patterns are
    (``[[:alpha:]]``, ``$`` at the very end, ``.`` matching a line break) and compiled; raises
    :class:`UnsupportedRegex` with the offending position."""
    compiled = _POSIX.get(pattern)
    if compiled is None:
        try:
            compiled = compile_linear(translate_regex(pattern))
        except RegexError as exc:
            raise UnsupportedRegex(str(exc)) from None
        if len(_POSIX) >= 1024:
            _POSIX.clear()
        _POSIX[pattern] = compiled
    return compiled


_POSIX: dict[str, LinearRegex] = {}
