"""Render findings for people (text), for programs (json) and for CI (junit, sarif, github).

Every reporter has the :data:`Reporter` signature and is listed in :data:`REPORTERS`; the exit code never
depends on the format (it is computed from the findings alone, in :mod:`sdmtool.findings`).
"""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any, TextIO
from urllib.parse import quote

from sdmtool.findings import CATEGORY_ENTITY, CATEGORY_INPUT, EXIT_SCHEMA, Finding, count, exit_code


@dataclass(frozen=True)
class Checked:
    """One entity that was read (valid or not): where it is and what it says it is."""

    source: str
    index: int | None = None  # as in Finding.index: array element / NDJSON line, None if alone in its input
    entity_id: str | None = None
    entity_type: str | None = None
    form: str | None = None  # the form it was read in (validate), as in Finding.form
    document: int | None = None  # as in Finding.document (YAML)


@dataclass(frozen=True)
class Summary:
    """What was checked, for the closing line (findings alone cannot tell how many entities were fine).

    ``inputs`` and ``checked`` list the inputs and entities themselves, in the order read; only the
    reporters in :data:`LISTS_ENTITIES` use them (the JUnit report has a test case per entity, valid or
    not). When they are empty, those reporters fall back on what the findings name.
    """

    entities: int = 0
    sources: int = 0
    inputs: tuple[str, ...] = field(default=(), repr=False)
    checked: tuple[Checked, ...] = field(default=(), repr=False)
    command: str = "validate"  # the sdmtool command that checked them (names the JUnit run)
    forms: tuple[tuple[str, int], ...] = ()  # (form, number of entities read in it), in order of first sight


Reporter = Callable[[Sequence[Finding], Summary], str]


# Control characters (a line break in a member name or a file name...) would split or garble the one line
# per finding that editors and CI parse, and a lone surrogate (a file name that is not UTF-8, read with
# surrogateescape) cannot be written as UTF-8: the text report shows them escaped.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
# What XML 1.0 cannot hold at all, even as a character reference: the controls above (but for tab, LF, CR,
# which it can), lone surrogates (a file name that is not UTF-8, read with surrogateescape), U+FFFE/U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape_char(match: re.Match[str]) -> str:
    return json.dumps(match.group())[1:-1]  # "\n", "\u0001", "\udcff"


def _printable(text: str) -> str:
    return _CONTROL.sub(_escape_char, text)


def _location(finding: Finding) -> str:
    where = _printable(finding.file or "<input>")
    if finding.document is not None:
        where += f"[{finding.document}]"  # a document of a multi-document YAML file
    if finding.line is not None:
        where += f":{finding.line}:{finding.column}"
    return where


def _shows_path(finding: Finding) -> bool:
    """Input findings (an unreadable file) have no JSON path; entity findings show "/" for the root."""
    return bool(finding.json_path) or finding.category != CATEGORY_INPUT


def _described(finding: Finding) -> str:
    """``json_path: message`` (or the message alone when there is no path to show)."""
    if _shows_path(finding):
        return f"{finding.json_path or '/'}: {finding.message}"
    return finding.message


# --- text -------------------------------------------------------------------------------------------

_RED, _YELLOW, _RESET = "\x1b[31m", "\x1b[33m", "\x1b[0m"
_SEVERITY_COLOR = {"error": _RED, "warning": _YELLOW}


def use_color(stream: TextIO, environ: dict[str, str] | None = None) -> bool:
    """Colour the text report? Only on a terminal, and never when NO_COLOR is set (https://no-color.org)
    or the terminal is dumb."""
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR") or env.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _paint(text: str, color: str | None) -> str:
    return f"{color}{text}{_RESET}" if color else text


def format_finding(finding: Finding, *, color: bool = False) -> str:
    """``file:line:column: severity: json_path: message [code]`` (the shape editors and CI parse)."""
    severity = _paint(finding.severity, _SEVERITY_COLOR.get(finding.severity) if color else None)
    parts = [_location(finding), severity]
    if _shows_path(finding):
        parts.append(_printable(finding.json_path) or "/")
    parts.append(_printable(finding.message))
    return ": ".join(parts) + f" [{finding.code}]"


def _plural(number: int, word: str, plural: str | None = None) -> str:
    return f"{number} {word if number == 1 else (plural or word + 's')}"


def summary_line(findings: Sequence[Finding], summary: Summary, *, color: bool = False) -> str:
    errors, warnings = count(findings)
    entities = _plural(summary.entities, "entity", "entities")
    if summary.forms:
        entities += " (" + ", ".join(f"{number} {form}" for form, number in summary.forms) + ")"
    checked = f"{entities} in {_plural(summary.sources, 'input')}"
    if not errors and not warnings:
        return f"{checked}: all valid"
    error_text = _paint(_plural(errors, "error"), _RED if color and errors else None)
    warning_text = _paint(_plural(warnings, "warning"), _YELLOW if color and warnings else None)
    return f"{checked}: {error_text}, {warning_text}"


def render_text(findings: Sequence[Finding], summary: Summary, *, color: bool = False) -> str:
    """One line per finding and the summary; ``color`` adds ANSI colours (errors red, warnings yellow)."""
    lines = [format_finding(finding, color=color) for finding in findings]
    lines.append(summary_line(findings, summary, color=color))
    return "\n".join(lines) + "\n"


# --- json -------------------------------------------------------------------------------------------


def render_json(findings: Sequence[Finding], summary: Summary) -> str:
    errors, warnings = count(findings)
    document = {
        "findings": [finding.to_dict() for finding in findings],
        "summary": {
            "entities": summary.entities,
            "sources": summary.sources,
            "errors": errors,
            "warnings": warnings,
        },
        "forms": dict(summary.forms),
        "exit_code": exit_code(findings),
    }
    document["entities"] = [
        {
            "file": entity.source,
            "document": entity.document,
            "index": entity.index,
            "entity_id": entity.entity_id,
            "entity_type": entity.entity_type,
            "form": entity.form,
        }
        for entity in summary.checked
    ]
    return _utf8_json(document)


def _utf8_json(document: Any) -> str:
    """Indented JSON, non-ASCII text as it is; a lone surrogate (only ever inside a string) as a \\u escape,
    which keeps the output valid UTF-8 and reads back as the same string."""
    return _SURROGATE.sub(_escape_char, json.dumps(document, indent=2, ensure_ascii=False)) + "\n"


# --- where a file is, for CI ------------------------------------------------------------------------

_STDIN_NAME = "<stdin>"  # sdmtool.reader.STDIN_NAME (not imported: the reader is heavy and unneeded here)


def _repo_path(name: str) -> str:
    """``name`` relative to the current directory, with forward slashes, when it lies below it (CI tools
    match annotations and alerts against paths relative to the checkout); otherwise absolute."""
    absolute = os.path.abspath(name)
    try:
        relative = os.path.relpath(absolute, os.getcwd())
    except ValueError:  # another drive (Windows)
        return PurePath(absolute).as_posix()
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return PurePath(absolute).as_posix()
    return PurePath(relative).as_posix()


def _name_bytes(name: str) -> bytes:
    """The bytes of a file name: a name that is not UTF-8 was decoded with surrogate escapes, which give
    back its bytes; any other lone surrogate (not from the file system) is kept as its UTF-8 pattern."""
    try:
        return os.fsencode(name)
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogatepass")


def _artifact_uri(name: str) -> str:
    """A URI reference for the file: relative (percent-encoded) below the current directory, else a
    ``file:`` URI."""
    path = _repo_path(name)
    if not PurePath(path).is_absolute():
        return quote(_name_bytes(path), safe="/")
    try:
        return Path(path).as_uri()
    except UnicodeEncodeError:
        return "file://" + ("" if path.startswith("/") else "/") + quote(_name_bytes(path), safe="/:")


# --- junit ------------------------------------------------------------------------------------------


def _xml_text(text: str) -> str:
    """Text XML can carry: controls and lone surrogates escaped as the text report shows them."""
    return _NOT_XML.sub(_escape_char, text)


def _xml_line(text: str) -> str:
    """One line of XML text: every control character escaped, line breaks too."""
    return _xml_text(_printable(text))


@dataclass
class _Case:
    name: str
    findings: list[Finding] = field(default_factory=list)


def _case_name(source: str, document: int | None, index: int | None, entity_id: str | None) -> str:
    if entity_id:
        return entity_id
    if document is not None:
        source = f"{source}[{document}]"  # a YAML document, as locations show it
    return f"{source}[{index}]" if index is not None else source


def _junit_suites(findings: Sequence[Finding], summary: Summary) -> dict[str, dict[Any, _Case]]:
    """Input name -> test cases (one per entity, one for the input itself when it could not be read)."""
    suites: dict[str, dict[Any, _Case]] = {name: {} for name in summary.inputs}
    for entity in summary.checked:
        cases = suites.setdefault(entity.source, {})
        key = ("entity", entity.document, entity.index)
        name = _case_name(entity.source, entity.document, entity.index, entity.entity_id)
        cases.setdefault(key, _Case(name))
    for finding in findings:
        source = finding.file or "<input>"
        cases = suites.setdefault(source, {})
        if finding.category == CATEGORY_INPUT and finding.index is None and finding.entity_id is None:
            # The input itself, or one YAML document of it that could not be read.
            key: Any = ("input", finding.document)
            name = _case_name(source, finding.document, None, None)
        else:
            key = ("entity", finding.document, finding.index)
            name = _case_name(source, finding.document, finding.index, finding.entity_id)
        cases.setdefault(key, _Case(name)).findings.append(finding)
    for cases in suites.values():
        # An id met twice in one input (the same entity in two NDJSON lines): tell the cases apart.
        seen: dict[str, int] = {}
        for case in cases.values():
            seen[case.name] = seen.get(case.name, 0) + 1
        for key, case in cases.items():
            if seen[case.name] > 1 and key[0] == "entity" and key[1:] != (None, None):
                case.name = f"{case.name} [{':'.join(str(part) for part in key[1:] if part is not None)}]"
    return suites


def render_junit(findings: Sequence[Finding], summary: Summary) -> str:
    """JUnit XML: a ``<testsuite>`` per input, a ``<testcase>`` per entity.

    An error finding about the data is a ``<failure>``; one about the input (unreadable, not JSON) or the
    schemas is an ``<error>`` (the test could not run), in a test case named after the input. Warnings go
    to the test case's ``<system-out>``, one line each, and do not fail it.
    """
    root = ET.Element("testsuites", name=f"sdmtool {summary.command}")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for source, cases in _junit_suites(findings, summary).items():
        suite = ET.SubElement(root, "testsuite", name=_xml_line(source))
        counts = {"tests": len(cases), "failures": 0, "errors": 0}
        for case in cases.values():
            element = ET.SubElement(suite, "testcase", name=_xml_line(case.name), classname=_xml_line(source))
            element.set("time", "0")
            failed = broken = False
            warnings = []
            for finding in case.findings:
                if not finding.is_error:
                    warnings.append(_xml_line(format_finding(finding)))
                    continue
                tag = "failure" if finding.category == CATEGORY_ENTITY else "error"
                failed |= tag == "failure"
                broken |= tag == "error"
                detail = ET.SubElement(
                    element, tag, message=_xml_line(_described(finding)), type=_xml_line(finding.code)
                )
                detail.text = _xml_line(format_finding(finding))
            if warnings:
                ET.SubElement(element, "system-out").text = "\n".join(warnings)
            # A case that could not run is an error, not a failure, even if some data was checked too.
            if broken:
                counts["errors"] += 1
            elif failed:
                counts["failures"] += 1
        for name, number in counts.items():
            suite.set(name, str(number))
            totals[name] += number
        suite.set("skipped", "0")
        suite.set("time", "0")
        suite.set("file", _xml_line(source))
    for name, number in totals.items():
        root.set(name, str(number))
    root.set("time", "0")
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# --- sarif ------------------------------------------------------------------------------------------

SARIF_SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
# Until the project's metadata names a home page (pyproject [project.urls]), the models' own documentation.
_DEFAULT_INFORMATION_URI = "https://github.com/smart-data-models/dataModel.MachineLearning"

# One short description per finding code: SARIF rules, shown by GitHub code scanning beside each alert.
RULE_DESCRIPTIONS: dict[str, str] = {
    "schema.type": "A value has the wrong JSON type for the data model.",
    "schema.required": "A member the data model requires is missing.",
    "schema.additionalProperties": "A member is not allowed by the data model.",
    "schema.format": "A value does not have the format the data model requires (date-time, URI...).",
    "schema.enum": "A value is not one of those the data model allows.",
    "schema.const": "A value differs from the one the data model requires.",
    "schema.pattern": "A string does not match the pattern the data model requires.",
    "schema.anyOf": "A value matches none of the forms the data model allows.",
    "schema.oneOf": "A value does not match exactly one of the forms the data model allows.",
    "schema.undeclared": "An attribute is not declared in the data model (a typo?).",
    "entity.type": "The entity type is missing or not a string.",
    "entity.unknown-type": "The entity type is not one of the known data models.",
    "entity.not-object": "An entity is not a JSON object.",
    "entity.id": "The entity id is missing.",
    "ngsi-ld.attribute": "An NGSI-LD attribute does not have the shape its kind requires.",
    "ngsi-ld.kind": "An NGSI-LD attribute is not of the kind (Property, Relationship...) its model says.",
    "ngsi-ld.object": "An NGSI-LD Relationship object is not an absolute URI (or is an empty list).",
    "ngsi-ld.id": "An NGSI-LD entity id is not an absolute URI.",
    "ngsi-ld.datetime": "A date-time in normalized form is a plain string, not an NGSI-LD DateTime.",
    "ngsi-ld.dataset": "A multi-instance NGSI-LD attribute has two instances with the same datasetId.",
    "ngsiv2.attribute": "An NGSI-v2 attribute is not a {type, value, metadata} object.",
    "ngsiv2.type": "An NGSI-v2 attribute's value does not fit its declared NGSI-v2 type.",
    "ngsiv2.metadata": "An NGSI-v2 attribute's metadata is not an object of {type, value} items.",
    "json.value": "A value JSON cannot represent (NaN, Infinity, a Python object).",
    "json.depth": "A value is nested too deeply.",
    "json.key": "An object key is not a string.",
    "json.number": "An integer too long to be read.",
    "json.duplicate-key": "An object has the same key twice; parsers keep only one value.",
    "input.invalid-json": "The input is not valid JSON.",
    "input.not-utf8": "The input is not UTF-8 text.",
    "input.invalid-geojson": "The GeoJSON input is malformed.",
    "input.unreadable": "The input cannot be read.",
    "input.file-not-found": "The input does not exist.",
    "input.bad-path": "The input path is not valid.",
    "input.no-input": "No JSON input was found.",
    "input.no-entities": "The inputs held no entity: nothing was checked.",
    "input.no-schema": "A --schema folder holds no JSON Schema.",
    "input.not-entity": "A JSON Schema document, not an entity: skipped.",
    "input.invalid-yaml": "The input is not valid YAML, or holds what JSON cannot (a tag, NaN, a cycle...).",
    "input.invalid-notification": "The data of a notification is not an array of entities.",
    "ngsi-ld.null": "JSON null, or NGSI Null (urn:ngsi-ld:null) where no attribute is deleted.",
    "ngsi-ld.typed-value": 'A {"@type": "DateTime", "@value": ...} value holds no valid date-time.',
    "ngsi-ld.double-wrapped": "An NGSI-LD attribute is written inside another attribute's value.",
    "ngsi-ld.unit-code": "A unitCode is not a UN/CEFACT code string, or is on a kind that has no unit.",
    "ngsiv2.characters": "NGSI-v2 forbids < > \" ' = ; ( ) in ids, types, names and string values.",
    "ngsiv2.datetime": "An NGSI-v2 DateTime value is not an ISO 8601 date-time.",
    "ngsiv2.geojson": "An NGSI-v2 geo:json value is not GeoJSON.",
    "ngsiv2.double-wrapped": "An NGSI-v2 attribute is written inside another attribute's value.",
    "form.file-name": "The file name announces another form than the entity is written in.",
    "schema.unresolved-ref": "A $ref of a schema cannot be resolved offline (exit code 3).",
    "schema.invalid-schema": "A schema file is not JSON or not a valid JSON Schema (exit code 3).",
    "schema.duplicate-type": "Two schema files describe the same entity type; the first is used.",
    "schema.duplicate-id": "Two schema files have the same $id; a $ref to it reaches the first.",
}
_FAMILY_DESCRIPTIONS = {
    "schema": "A value does not satisfy the JSON Schema keyword '{rest}' of the data model.",
    "entity": "The entity is malformed ({rest}).",
    "ngsi-ld": "The entity does not follow the NGSI-LD normalized form ({rest}).",
    "ngsiv2": "The entity does not follow the NGSI-v2 normalized form ({rest}).",
    "json": "The JSON text has a problem ({rest}).",
    "input": "The input cannot be used ({rest}).",
}


def describe_code(code: str) -> str:
    """A one-sentence description of a finding code (codes not listed get one from their family)."""
    if code in RULE_DESCRIPTIONS:
        return RULE_DESCRIPTIONS[code]
    if code.startswith("sdm."):  # the rules of check-model describe themselves
        from sdmtool.check_model import RULES

        if code in RULES:
            return RULES[code][1]
    family, _, rest = code.partition(".")
    template = _FAMILY_DESCRIPTIONS.get(family)
    return template.format(rest=rest or code) if template else f"sdmtool finding {code}."


def _information_uri() -> str:
    try:
        from importlib.metadata import PackageNotFoundError, metadata

        meta = metadata("sdmtool")
    except (ImportError, PackageNotFoundError):
        return _DEFAULT_INFORMATION_URI
    for entry in meta.get_all("Project-URL") or []:
        label, _, url = entry.partition(",")
        if label.strip().lower() in {"homepage", "home", "repository", "source", "documentation"}:
            return url.strip()
    return meta.get("Home-page") or _DEFAULT_INFORMATION_URI


def _rule_name(code: str) -> str:
    """``schema.additionalProperties`` -> ``SchemaAdditionalProperties`` (SARIF rule names are
    identifiers)."""
    words = re.split(r"[^0-9A-Za-z]+", code)
    return "".join(word[:1].upper() + word[1:] for word in words if word)


def _sarif_location(finding: Finding) -> dict[str, Any]:
    # GitHub code scanning rejects a whole upload if one result has no physical location, or one without a
    # start line: a finding about a whole file (an unreadable one) points at its line 1.
    location: dict[str, Any] = {
        "physicalLocation": {
            "artifactLocation": {"uri": _artifact_uri(finding.file or "<input>")},
            "region": {"startLine": finding.line or 1},
        }
    }
    if finding.line is not None and finding.column is not None:
        location["physicalLocation"]["region"]["startColumn"] = finding.column
    if _shows_path(finding):
        path = finding.json_path or "/"
        last = path.rsplit("/", 1)[-1].replace("~1", "/").replace("~0", "~")
        location["logicalLocations"] = [
            {"name": last or path, "fullyQualifiedName": path, "kind": "object" if path == "/" else "value"}
        ]
    return location


def render_sarif(findings: Sequence[Finding], summary: Summary) -> str:
    """SARIF 2.1.0, one run, for GitHub code scanning (github/codeql-action/upload-sarif)."""
    from sdmtool import __version__

    rules: dict[str, dict[str, Any]] = {}
    results = []
    for finding in findings:
        rule = rules.get(finding.code)
        if rule is None:
            rule = rules[finding.code] = {
                "id": finding.code,
                "name": _rule_name(finding.code),
                "shortDescription": {"text": describe_code(finding.code)},
                "defaultConfiguration": {"level": finding.severity},
            }
        elif finding.is_error:
            rule["defaultConfiguration"]["level"] = "error"
        properties = {
            "jsonPath": (finding.json_path or "/") if _shows_path(finding) else None,
            "entityId": finding.entity_id,
            "entityType": finding.entity_type,
            "form": finding.form,
            "index": finding.index,
            "category": finding.category,
        }
        results.append(
            {
                "ruleId": finding.code,
                "ruleIndex": list(rules).index(finding.code),
                "level": finding.severity,
                "message": {"text": _described(finding)},
                "locations": [_sarif_location(finding)],
                "properties": {name: value for name, value in properties.items() if value is not None},
            }
        )
    code = exit_code(findings)
    errors, warnings = count(findings)
    run = {
        "tool": {
            "driver": {
                "name": "sdmtool",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": _information_uri(),
                "rules": list(rules.values()),
            }
        },
        "invocations": [{"executionSuccessful": code != EXIT_SCHEMA, "exitCode": code}],
        "columnKind": "unicodeCodePoints",  # Finding.column counts characters, not UTF-16 units
        "results": results,
        "properties": {
            "entities": summary.entities,
            "inputs": summary.sources,
            "errors": errors,
            "warnings": warnings,
        },
    }
    document = {"$schema": SARIF_SCHEMA_URI, "version": "2.1.0", "runs": [run]}
    return _utf8_json(document)


# --- github -----------------------------------------------------------------------------------------


def _command_data(text: str) -> str:
    """Escaped as @actions/core escapes a command's message, then any other control character shown as
    the text report shows it (a NUL or an escape sequence has no business in a CI log)."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return _printable(text)  # and the log stays UTF-8


def _command_property(text: str) -> str:
    return _command_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(finding: Finding) -> str:
    """``::error file=F,line=L,col=C,title=CODE::JSON_PATH: message`` (a GitHub Actions annotation)."""
    properties = []
    if finding.file and finding.file != _STDIN_NAME:
        properties.append(("file", _repo_path(finding.file)))
    if finding.line is not None:
        properties.append(("line", str(finding.line)))
        if finding.column is not None:
            properties.append(("col", str(finding.column)))
    properties.append(("title", finding.code))
    listed = ",".join(f"{name}={_command_property(value)}" for name, value in properties)
    return f"::{finding.severity} {listed}::{_command_data(_described(finding))}"


def render_github(findings: Sequence[Finding], summary: Summary) -> str:
    lines = [format_github(finding) for finding in findings]
    lines.append(summary_line(findings, summary))
    return "\n".join(lines) + "\n"


REPORTERS: dict[str, Reporter] = {
    "text": render_text,
    "json": render_json,
    "junit": render_junit,
    "sarif": render_sarif,
    "github": render_github,
}
# Reporters that need Summary.inputs and Summary.checked (the CLI only collects them for these).
LISTS_ENTITIES = frozenset({"junit", "json"})


def render(name: str, findings: Sequence[Finding], summary: Summary, *, color: bool = False) -> str:
    """The report ``name`` (a key of :data:`REPORTERS`); ``color`` applies to the text report only."""
    try:
        reporter = REPORTERS[name]
    except KeyError:
        raise ValueError(f"unknown report format {name!r}: expected one of {', '.join(REPORTERS)}") from None
    if name == "text":
        return render_text(findings, summary, color=color)
    return reporter(findings, summary)
