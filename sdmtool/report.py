"""Render findings for people (text) and for programs (json); other formats plug into ``REPORTERS``."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from sdmtool.findings import Finding, count, exit_code


@dataclass(frozen=True)
class Summary:
    """What was checked, for the closing line (findings alone cannot tell how many entities were fine)."""

    entities: int = 0
    sources: int = 0


Reporter = Callable[[Sequence[Finding], Summary], str]


# Control characters (a line break in a member name or a file name...) would split or garble the one line
# per finding that editors and CI parse: the text report shows them escaped.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _printable(text: str) -> str:
    return _CONTROL.sub(lambda match: json.dumps(match.group())[1:-1], text)


def _location(finding: Finding) -> str:
    where = _printable(finding.file or "<input>")
    if finding.line is not None:
        where += f":{finding.line}:{finding.column}"
    return where


def format_finding(finding: Finding) -> str:
    """``file:line:column: severity: json_path: message [code]`` (the shape editors and CI parse)."""
    parts = [_location(finding), finding.severity]
    if finding.json_path or finding.category != "input":
        parts.append(_printable(finding.json_path) or "/")
    parts.append(_printable(finding.message))
    return ": ".join(parts) + f" [{finding.code}]"


def _plural(number: int, word: str, plural: str | None = None) -> str:
    return f"{number} {word if number == 1 else (plural or word + 's')}"


def summary_line(findings: Sequence[Finding], summary: Summary) -> str:
    errors, warnings = count(findings)
    checked = f"{_plural(summary.entities, 'entity', 'entities')} in {_plural(summary.sources, 'input')}"
    if not errors and not warnings:
        return f"{checked}: all valid"
    return f"{checked}: {_plural(errors, 'error')}, {_plural(warnings, 'warning')}"


def render_text(findings: Sequence[Finding], summary: Summary) -> str:
    lines = [format_finding(finding) for finding in findings]
    lines.append(summary_line(findings, summary))
    return "\n".join(lines) + "\n"


def render_json(findings: Sequence[Finding], summary: Summary) -> str:
    errors, warnings = count(findings)
    document = {
        "findings": [finding.to_dict() for finding in findings],
        "summary": {**asdict(summary), "errors": errors, "warnings": warnings},
        "exit_code": exit_code(findings),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


# Later: junit, sarif, github (workflow commands). Each is one function with the Reporter signature.
REPORTERS: dict[str, Reporter] = {"text": render_text, "json": render_json}


def render(name: str, findings: Sequence[Finding], summary: Summary) -> str:
    try:
        reporter = REPORTERS[name]
    except KeyError:
        raise ValueError(f"unknown report format {name!r}: expected one of {', '.join(REPORTERS)}") from None
    return reporter(findings, summary)
