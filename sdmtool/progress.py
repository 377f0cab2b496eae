"""A live count of the entities checked, on standard error, for long runs at a terminal.

Silent when standard error is not a terminal (CI logs, pipes, tests) and for runs shorter than
:data:`DELAY_SECONDS`, so it never mixes with a report written to standard output.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

if TYPE_CHECKING:
    from tqdm import tqdm

T = TypeVar("T")

DELAY_SECONDS = 1.0  # a run that ends before this never shows a bar
REFRESH_SECONDS = 0.25
_BATCH = 256  # entities between two updates: per-entity calls would cost more than the fast path itself


def wanted(stream: TextIO | None = None, environ: dict[str, str] | None = None) -> bool:
    """Whether to show progress: stderr is a terminal, TERM is not "dumb" and SDMTOOL_NO_PROGRESS is unset."""
    stream = sys.stderr if stream is None else stream
    environ = dict(os.environ) if environ is None else environ
    if environ.get("SDMTOOL_NO_PROGRESS") or environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _terminal_size(stream: TextIO) -> os.terminal_size | None:
    try:
        size = os.get_terminal_size(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return None
    return size if size.columns and size.lines else None


class Progress:
    """Counts items as they stream through :meth:`wrap`; draws a bar only when enabled."""

    def __init__(self, *, enabled: bool, unit: str = "entities", stream: TextIO | None = None) -> None:
        self.enabled = enabled
        self.unit = unit
        self.stream = sys.stderr if stream is None else stream
        self._bar: tqdm[Any] | None = None
        self._pending = 0

    def __enter__(self) -> Progress:
        if self.enabled:
            from tqdm import tqdm  # imported only when drawn: it costs ~50 ms of start-up

            sized = _terminal_size(self.stream) is not None
            self._bar = tqdm(
                file=self.stream,
                unit=f" {self.unit}",
                unit_scale=True,
                delay=DELAY_SECONDS,
                mininterval=REFRESH_SECONDS,
                leave=False,  # the report's summary line says the totals
                # A pseudo-terminal without a size (CI runners, `script`) reports 0 columns and 0 rows:
                # tqdm would then draw nothing at all.
                ncols=None if sized else 80,
                nrows=None if sized else 24,
                dynamic_ncols=sized,
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def advance(self, count: int = 1) -> None:
        if self._bar is None:
            return
        self._pending += count
        if self._pending >= _BATCH:
            self._bar.update(self._pending)
            self._pending = 0

    def describe(self, text: str) -> None:
        """Names what is being read (a file), shown beside the count at the next refresh."""
        if self._bar is not None:
            self._bar.set_postfix_str(text, refresh=False)

    def wrap(self, items: Iterator[T]) -> Iterator[T]:
        for item in items:
            self.advance()
            yield item
