"""Report formats of ``sdmtool validate``: text, json, junit, sarif, github.

How each format is checked:

- junit: parsed with xml.etree, turned into a plain tree and validated against
  ``tests/fixtures/junit.schema.json``, a JSON Schema written for these tests that says what the JUnit XSD
  (junit-10.xsd of Jenkins' xUnit plugin) says; what no XSD says (counts agree with the test cases, one
  <failure> per error finding) is asserted explicitly below.
- sarif: validated against ``tests/fixtures/sarif-2.1.0-subset.schema.json``, a subset of the official
  SARIF 2.1.0 schema written for these tests (no network), with its ``uri``/``uri-reference`` formats
  checked; GitHub code scanning's extra demands (a location and a start line on every result) are asserted.
- github: each line parsed back as the Actions runner parses a workflow command.
- every format, fed arbitrary text (hypothesis), must stay well-formed; the exit code never depends on it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sdmtool
from sdmtool import report, resources
from sdmtool.cli import main
from sdmtool.findings import (
    CATEGORY_ENTITY,
    CATEGORY_INPUT,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_USAGE,
    Finding,
    exit_code,
)
from sdmtool.report import REPORTERS, Checked, Summary, render

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).parent.parent
FORMATS = sorted(REPORTERS)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _validator(name: str) -> jsonschema.protocols.Validator:
    schema = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=jsonschema.FormatChecker())


SARIF_SCHEMA = _validator("sarif-2.1.0-subset.schema.json")
JUNIT_SCHEMA = _validator("junit.schema.json")


def example(entity_type: str) -> dict[str, Any]:
    path = resources.schemas_dir() / entity_type / "examples" / "example.json"
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Valid, invalid (an error and a warning), an array, NDJSON, broken JSON and a missing file, in the
    current directory (paths are given relative, as CI gives them)."""
    monkeypatch.chdir(tmp_path)
    model = example("MLModel")
    processing = example("MLProcessing")
    Path("valid.json").write_text(json.dumps(model, indent=2), encoding="utf-8")
    Path("invalid.json").write_text(
        json.dumps(model | {"version": 12, "colour": "blue"}, indent=2), encoding="utf-8"
    )
    Path("array.json").write_text(json.dumps([processing, {"type": "Nope"}]), encoding="utf-8")
    twice = json.dumps(model | {"version": 12})
    Path("dump.ndjson").write_text(f"{twice}\n{twice}\n", encoding="utf-8")
    Path("broken.json").write_text('{"id": "urn:x",', encoding="utf-8")
    return {
        "valid": "valid.json",
        "invalid": "invalid.json",
        "array": "array.json",
        "ndjson": "dump.ndjson",
        "broken": "broken.json",
        "missing": "missing.json",
    }


def everything(inputs: dict[str, str]) -> list[str]:
    return [inputs[name] for name in ("valid", "invalid", "array", "ndjson", "broken", "missing")]


def as_tree(element: ET.Element) -> dict[str, Any]:
    """An XML element as JSON data, for the JUnit schema."""
    return {
        "tag": element.tag,
        "attrib": dict(element.attrib),
        "text": element.text,
        "children": [as_tree(child) for child in element],
    }


def check_junit(text: str) -> ET.Element:
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    root = ET.fromstring(text.encode("utf-8"))  # the bytes a file would hold: must be UTF-8 and well-formed
    errors = sorted(JUNIT_SCHEMA.iter_errors(as_tree(root)), key=str)
    assert not errors, errors[0]
    # What no XSD says: the counts are those of the children.
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for suite in root.iter("testsuite"):
        cases = suite.findall("testcase")
        failed = [case for case in cases if case.find("failure") is not None and case.find("error") is None]
        broken = [case for case in cases if case.find("error") is not None]
        counts = {"tests": len(cases), "failures": len(failed), "errors": len(broken)}
        assert {name: int(suite.get(name, "")) for name in counts} == counts
        for name, number in counts.items():
            totals[name] += number
    assert {name: int(root.get(name, "")) for name in totals} == totals
    return root


def check_sarif(text: str) -> dict[str, Any]:
    text.encode("utf-8")  # no lone surrogate: the file is UTF-8
    log = json.loads(text)
    errors = sorted(SARIF_SCHEMA.iter_errors(log), key=str)
    assert not errors, errors[0]
    (run,) = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert len({rule["id"] for rule in rules}) == len(rules)
    for result in run["results"]:
        # GitHub code scanning rejects the whole upload if one result has no location or no start line.
        (location,) = result["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"]["uri"]
        assert physical["region"]["startLine"] >= 1
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    return log


_COMMAND = re.compile(r"::(error|warning) ([^:]*)::(.*)")


def _unescape_property(value: str) -> str:
    # As the Actions runner does (ActionCommand.cs), %25 last.
    for escaped, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        value = value.replace(escaped, char)
    return value


def parse_github(line: str) -> tuple[str, dict[str, str], str]:
    """(severity, properties, message) of one workflow command, parsed as the runner parses it."""
    match = _COMMAND.fullmatch(line)
    assert match, line
    severity, listed, data = match.groups()
    properties = {}
    for pair in listed.split(","):
        name, _, value = pair.partition("=")
        properties[name] = _unescape_property(value)
    for escaped, char in (("%0D", "\r"), ("%0A", "\n"), ("%25", "%")):
        data = data.replace(escaped, char)
    return severity, properties, data


# --- every format, through the command ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["valid"], EXIT_OK),
        (["valid", "invalid"], EXIT_INVALID),
        (["array"], EXIT_INVALID),
        (["valid", "broken"], EXIT_USAGE),
        (["missing"], EXIT_USAGE),
        (["valid", "invalid", "array", "ndjson", "broken", "missing"], EXIT_USAGE),
    ],
)
def test_exit_code_is_the_same_in_every_format(
    runner: CliRunner, inputs: dict[str, str], names: list[str], expected: int
) -> None:
    paths = [inputs[name] for name in names]
    for output_format in FORMATS:
        result = runner.invoke(main, ["validate", "--format", output_format, *paths])
        assert result.exit_code == expected, (output_format, result.output)
        assert "Traceback" not in result.output


def test_json_summary_keeps_its_members(runner: CliRunner, inputs: dict[str, str]) -> None:
    result = runner.invoke(main, ["validate", "--format", "json", *everything(inputs)])
    document = json.loads(result.output)
    assert set(document["summary"]) == {"entities", "sources", "errors", "warnings"}
    assert document["summary"]["sources"] == 6 and document["exit_code"] == EXIT_USAGE == result.exit_code


def test_json_report_lists_entities_and_forms_for_every_command(runner: CliRunner, tmp_path: Path) -> None:
    # No entity read: the list is there, empty.
    (tmp_path / "empty.json").write_text("[]")
    document = json.loads(
        runner.invoke(main, ["validate", "--format", "json", str(tmp_path / "empty.json")]).output
    )
    assert (document["entities"], document["forms"]) == ([], {})
    examples = resources.schemas_dir() / "MLModel" / "examples"
    expected = {"keyValues": 2, "normalized": 1, "ngsiv2-normalized": 1}
    for command in (["lint", str(examples)], ["check-model", str(examples.parent)]):
        document = json.loads(runner.invoke(main, [command[0], "--format", "json", *command[1:]]).output)
        assert document["forms"] == expected, command
        assert sorted(entity["form"] for entity in document["entities"]) == sorted(
            form for form, number in expected.items() for _ in range(number)
        ), command


def test_text_report_has_no_colour_off_a_terminal(runner: CliRunner, inputs: dict[str, str]) -> None:
    result = runner.invoke(main, ["validate", *everything(inputs)])
    assert "\x1b" not in result.output
    lines = result.output.splitlines()
    assert lines[-1] == "6 entities (6 keyValues) in 6 inputs: 7 errors, 1 warning"
    assert re.search(
        r"^invalid\.json:\d+:\d+: warning: /colour: 'colour' is not declared", result.output, re.M
    )
    assert re.search(r"^invalid\.json:\d+:\d+: error: /version: must be a string", result.output, re.M)


def test_text_report_colours_on_a_terminal(
    runner: CliRunner, inputs: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = runner.invoke(main, ["validate", inputs["invalid"], inputs["broken"]]).output
    monkeypatch.setattr("sdmtool.cli.use_color", lambda stream: True)
    coloured = runner.invoke(main, ["validate", inputs["invalid"], inputs["broken"]])
    assert coloured.exit_code == EXIT_USAGE
    assert "\x1b[31merror\x1b[0m" in coloured.output and "\x1b[33mwarning\x1b[0m" in coloured.output
    assert coloured.output.splitlines()[-1].endswith(": \x1b[31m2 errors\x1b[0m, \x1b[33m1 warning\x1b[0m")
    assert ANSI.sub("", coloured.output) == plain
    # The other formats are never coloured.
    for output_format in ("json", "junit", "sarif", "github"):
        result = runner.invoke(main, ["validate", "--format", output_format, inputs["invalid"]])
        assert "\x1b" not in result.output


class _Stream:
    def __init__(self, tty: bool | None) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        if self.tty is None:
            raise ValueError("I/O operation on closed file")
        return self.tty


def test_use_color() -> None:
    assert report.use_color(_Stream(True), {})
    assert not report.use_color(_Stream(False), {})
    assert not report.use_color(_Stream(None), {})
    assert not report.use_color(object(), {})  # type: ignore[arg-type]
    assert not report.use_color(_Stream(True), {"NO_COLOR": "1"})
    assert report.use_color(_Stream(True), {"NO_COLOR": ""})  # https://no-color.org: set and not empty
    assert not report.use_color(_Stream(True), {"TERM": "dumb"})


def test_junit_report(runner: CliRunner, inputs: dict[str, str]) -> None:
    result = runner.invoke(main, ["validate", "--format", "junit", *everything(inputs)])
    assert result.exit_code == EXIT_USAGE
    root = check_junit(result.output)
    suites = root.findall("testsuite")
    # One suite per input, in the order given; a missing file still has its suite.
    assert [suite.get("name") for suite in suites] == everything(inputs)
    assert all(suite.get("file") == suite.get("name") for suite in suites)
    by_name = {suite.get("name"): suite for suite in suites}
    model_id = example("MLModel")["id"]
    processing_id = example("MLProcessing")["id"]
    # One test case per entity, valid ones too, named by entity id or file[index].
    assert [case.get("name") for case in by_name["valid.json"]] == [model_id]
    assert [case.get("name") for case in by_name["array.json"]] == [processing_id, "array.json[1]"]
    # The same id twice in one input: the cases are told apart by index.
    assert [case.get("name") for case in by_name["dump.ndjson"]] == [f"{model_id} [0]", f"{model_id} [1]"]
    (valid_case,) = by_name["valid.json"]
    assert list(valid_case) == []
    # A failure per error finding: code, file:line:column, JSON path and message.
    (invalid_case,) = by_name["invalid.json"]
    (failure,) = invalid_case.findall("failure")
    assert failure.get("type") == "schema.type"
    assert failure.get("message", "").startswith("/version: must be a string")
    assert re.fullmatch(
        r"invalid\.json:\d+:\d+: error: /version: must be a string.* \[schema\.type\]", failure.text or ""
    )
    # Warnings go to system-out and do not fail the case.
    (output,) = invalid_case.findall("system-out")
    assert "/colour:" in (output.text or "") and "[schema.undeclared]" in (output.text or "")
    assert [child.tag for child in invalid_case] == ["failure", "system-out"]
    unknown = by_name["array.json"][1]
    assert [f.get("type") for f in unknown.findall("failure")] == ["entity.id", "entity.unknown-type"]
    # Unreadable inputs: an <error> in a case named after the input.
    for name, code in (("broken.json", "input.invalid-json"), ("missing.json", "input.file-not-found")):
        (case,) = by_name[name]
        assert case.get("name") == name
        (error,) = case.findall("error")
        assert error.get("type") == code and (error.text or "").startswith(name)
    assert by_name["broken.json"].get("errors") == "1" and by_name["broken.json"].get("failures") == "0"
    assert root.get("tests") == "8" and root.get("failures") == "4" and root.get("errors") == "2"


def test_junit_all_valid_and_empty_inputs(runner: CliRunner, inputs: dict[str, str]) -> None:
    Path("empty.json").write_text("[]", encoding="utf-8")
    result = runner.invoke(main, ["validate", "--format", "junit", inputs["valid"], "empty.json"])
    assert result.exit_code == EXIT_OK
    root = check_junit(result.output)
    assert [(s.get("name"), s.get("tests")) for s in root] == [("valid.json", "1"), ("empty.json", "0")]
    assert root.find(".//failure") is None and root.find(".//error") is None


def test_junit_from_findings_alone() -> None:
    # Through the API, without the list of entities read: the cases are those the findings name.
    findings = [
        Finding("error", "schema.type", "bad", file="a.json", line=2, column=3, json_path="/x", index=0),
        Finding(
            "warning", "schema.undeclared", "typo?", file="a.json", json_path="/y", index=1, entity_id="urn:b"
        ),
        Finding("error", "input.unreadable", "cannot read", file="b.json", category=CATEGORY_INPUT),
        Finding("error", "entity.id", "no id", json_path="/id"),
    ]
    root = check_junit(render("junit", findings, Summary(entities=2, sources=2)))
    assert [(s.get("name"), [c.get("name") for c in s]) for s in root] == [
        ("a.json", ["a.json[0]", "urn:b"]),
        ("b.json", ["b.json"]),
        ("<input>", ["<input>"]),
    ]
    summary = Summary(2, 1, inputs=("a.json",), checked=(Checked("a.json", 0, "urn:a"), Checked("a.json", 1)))
    root = check_junit(render("junit", findings[:2], summary))
    assert [c.get("name") for c in root.iter("testcase")] == ["urn:a", "a.json[1]"]


def test_sarif_report(runner: CliRunner, inputs: dict[str, str]) -> None:
    result = runner.invoke(main, ["validate", "--format", "sarif", *everything(inputs)])
    assert result.exit_code == EXIT_USAGE
    log = check_sarif(result.output)
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "sdmtool" and driver["version"] == sdmtool.__version__
    assert driver["informationUri"].startswith("https://")
    # One rule per code met, each with a short description.
    codes = [rule["id"] for rule in driver["rules"]]
    assert set(codes) == {
        "schema.type",
        "schema.undeclared",
        "entity.id",
        "entity.unknown-type",
        "input.invalid-json",
        "input.file-not-found",
    }
    assert all(rule["shortDescription"]["text"].endswith(".") for rule in driver["rules"])
    results = run["results"]
    assert len(results) == 8
    assert [r["level"] for r in results].count("warning") == 1
    first = results[0]
    assert first["ruleId"] == "schema.type" and first["level"] == "error"
    assert first["message"]["text"].startswith("/version: must be a string")
    physical = first["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "invalid.json"
    assert physical["region"]["startLine"] > 1 and physical["region"]["startColumn"] > 1
    assert first["locations"][0]["logicalLocations"] == [
        {"name": "version", "fullyQualifiedName": "/version", "kind": "value"}
    ]
    assert first["properties"]["jsonPath"] == "/version"
    assert first["properties"]["entityId"] == example("MLModel")["id"]
    missing = next(r for r in results if r["ruleId"] == "input.file-not-found")
    assert missing["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "missing.json"},
        "region": {"startLine": 1},
    }
    assert "jsonPath" not in missing["properties"] and "logicalLocations" not in missing["locations"][0]
    assert run["invocations"] == [{"executionSuccessful": True, "exitCode": EXIT_USAGE}]
    assert run["columnKind"] == "unicodeCodePoints"


def test_sarif_all_valid(runner: CliRunner, inputs: dict[str, str]) -> None:
    result = runner.invoke(main, ["validate", "--format", "sarif", inputs["valid"]])
    assert result.exit_code == EXIT_OK
    log = check_sarif(result.output)
    assert log["runs"][0]["results"] == [] and log["runs"][0]["tool"]["driver"]["rules"] == []


def test_sarif_uris(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    outside = tmp_path.parent / "elsewhere dir" / "x.json"
    names = ["./sub/a b#%.json", str(tmp_path / "sub" / "c.json"), str(outside), "<stdin>", "n\udcffa.json"]
    findings = [Finding("error", "schema.type", "m", file=name, line=1, column=1) for name in names]
    log = check_sarif(render("sarif", findings, Summary()))
    uris = [
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]
    ]
    assert uris[:2] == ["sub/a%20b%23%25.json", "sub/c.json"]
    assert uris[2] == outside.as_uri() and uris[2].startswith("file:///")
    assert uris[3] == "%3Cstdin%3E"
    assert uris[4] == "n%FFa.json"  # a file name that is not UTF-8: its bytes, percent-encoded


def test_rule_descriptions() -> None:
    assert report.describe_code("schema.type") == report.RULE_DESCRIPTIONS["schema.type"]
    assert "'maxLength'" in report.describe_code("schema.maxLength")
    assert "NGSI-LD" in report.describe_code("ngsi-ld.something-new")
    assert report.describe_code("odd") == "sdmtool finding odd."


def test_github_report(runner: CliRunner, inputs: dict[str, str]) -> None:
    result = runner.invoke(main, ["validate", "--format", "github", *everything(inputs)])
    assert result.exit_code == EXIT_USAGE
    *commands, summary = result.output.splitlines()
    assert summary == "6 entities (6 keyValues) in 6 inputs: 7 errors, 1 warning"
    parsed = [parse_github(line) for line in commands]
    assert len(parsed) == 8
    severity, properties, message = parsed[0]
    assert (
        severity == "error" and properties["file"] == "invalid.json" and properties["title"] == "schema.type"
    )
    assert int(properties["line"]) > 1 and int(properties["col"]) > 1
    assert message.startswith("/version: must be a string")
    assert [p[0] for p in parsed].count("warning") == 1
    severity, properties, message = parsed[-1]
    assert properties == {"file": "missing.json", "title": "input.file-not-found"}
    assert message == "no such file or directory"


def test_github_escaping() -> None:
    finding = Finding(
        "warning",
        "schema.type",
        "100% sure:\nnot, really\r\x1b[2J",
        file="dir/we,ird:na%me.json",
        line=3,
        column=7,
        json_path="/a,b/c:d",
    )
    line = report.format_github(finding)
    assert "\n" not in line and "\r" not in line and "\x1b" not in line
    assert line.startswith("::warning file=dir/we%2Cird%3Ana%25me.json,line=3,col=7,title=schema.type::")
    _, properties, message = parse_github(line)
    assert properties["file"] == "dir/we,ird:na%me.json"
    # The runner gets back the message as written, but for the escape character, shown as \u001b.
    assert message == "/a,b/c:d: 100% sure:\nnot, really\r\\u001b[2J"
    # Standard input has no file to annotate.
    line = report.format_github(
        Finding("error", "input.invalid-json", "bad", file="<stdin>", line=1, column=2, category="input")
    )
    assert line == "::error line=1,col=2,title=input.invalid-json::bad"


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown report format 'xml'"):
        render("xml", [], Summary())


# --- hostile text never breaks a format -------------------------------------------------------------

_NASTY = st.sampled_from(
    list("<&>\"'%:,;=[]{}\\/\r\n\t\x00\x01\x08\x0b\x1b\x7f\x85\u2028\u2029\ufeff\ufffe\uffff")
)
_TEXT = st.text(
    alphabet=st.one_of(_NASTY, st.characters(exclude_categories=()), st.sampled_from(["é", "😀", "\ud800"])),
    max_size=30,
)


@st.composite
def _findings(draw: st.DrawFn) -> list[Finding]:
    findings = []
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        line = draw(st.none() | st.integers(min_value=1, max_value=10**6))
        findings.append(
            Finding(
                severity=draw(st.sampled_from(["error", "warning"])),
                code=draw(st.sampled_from(["schema.type", "input.invalid-json", "json.duplicate-key"])),
                message=draw(_TEXT),
                file=draw(st.none() | _TEXT),
                line=line,
                column=None if line is None else draw(st.integers(min_value=1, max_value=10**6)),
                json_path=draw(_TEXT),
                entity_id=draw(st.none() | _TEXT),
                entity_type=draw(st.none() | _TEXT),
                index=draw(st.none() | st.integers(min_value=0, max_value=5)),
                category=draw(st.sampled_from([CATEGORY_ENTITY, CATEGORY_INPUT])),
            )
        )
    return findings


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(findings=_findings(), entities=st.integers(min_value=0, max_value=9))
def test_arbitrary_text_never_breaks_a_format(findings: list[Finding], entities: int) -> None:
    summary = Summary(entities=entities, sources=len({f.file for f in findings}))
    errors = sum(f.is_error for f in findings)

    root = check_junit(render("junit", findings, summary))
    assert len(root.findall(".//failure")) + len(root.findall(".//error")) == errors
    for element in root.iter("testcase"):
        assert element.get("name")  # never empty, whatever the id or file name

    log = check_sarif(render("sarif", findings, summary))
    assert len(log["runs"][0]["results"]) == len(findings)

    rendered = render("json", findings, summary)
    rendered.encode("utf-8")  # a file name that is not UTF-8 (lone surrogates) is written as \u escapes
    document = json.loads(rendered)
    assert len(document["findings"]) == len(findings) and document["exit_code"] == exit_code(findings)
    assert [f["file"] for f in document["findings"]] == [f.file for f in findings]  # the same names back

    github = render("github", findings, summary)
    github.encode("utf-8")  # the log stays UTF-8, whatever the file names
    # One line per finding and the summary, by any Unicode idea of a line break (U+2028, NEL, VT...).
    lines = github.splitlines()
    assert github.endswith("\n") and len(lines) == len(findings) + 1
    for line, finding in zip(lines, findings, strict=False):
        severity, properties, _ = parse_github(line)
        assert severity == finding.severity and properties["title"] == finding.code

    for color in (False, True):
        text = render("text", findings, summary, color=color)
        text.encode("utf-8")  # printable on any UTF-8 terminal or log
        assert text.endswith("\n") and len(text.splitlines()) == len(findings) + 1


@pytest.mark.parametrize("output_format", sorted(REPORTERS))
def test_a_file_name_that_is_not_utf8_keeps_every_report_utf8(output_format: str) -> None:
    # Such a name reaches us with its bad byte as a lone surrogate (surrogateescape): '\udcff' for 0xFF.
    finding = Finding(
        severity="error", code="schema.type", message="m", file="bad\udcffname.json", line=1, column=1
    )
    text = render(output_format, [finding], Summary(entities=1, sources=1))
    text.encode("utf-8")
    if output_format == "json":
        assert json.loads(text)["findings"][0]["file"] == "bad\udcffname.json"  # the same name back
    if output_format == "text":
        assert text.startswith("bad\\udcffname.json:1:1: error")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_a_report_that_cannot_be_written_is_an_error_not_a_traceback() -> None:
    example = resources.schemas_dir() / "MLModel" / "examples" / "example.json"
    command = [sys.executable, "-m", "sdmtool.cli", "validate", str(example)]
    with open("/dev/full", "w") as full:  # every write fails: no space left on device
        result = subprocess.run(command, stdout=full, stderr=subprocess.PIPE, text=True, check=False)
    assert result.returncode == EXIT_USAGE
    assert result.stderr == "Error: cannot write the report: No space left on device\n"


# --- pre-commit ---------------------------------------------------------------------------------------


def test_pre_commit_hooks() -> None:
    hooks = {
        hook["id"]: hook for hook in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text("utf-8"))
    }
    assert sorted(hooks) == ["sdmtool-lint", "sdmtool-validate"]
    for hook in hooks.values():
        program, command, *options = hook["entry"].split()
        assert program == "sdmtool" and command in main.commands, hook["entry"]
        known = {name for parameter in main.commands[command].params for name in parameter.opts}
        assert set(options) <= known, hook["entry"]
        assert hook["language"] == "python" and hook["name"] and hook["description"]
    files = re.compile(hooks["sdmtool-validate"]["files"])
    for name in ("a.json", "dir/b.jsonld", "c.ndjson", "d.geojson", "e.yaml", "f.yml"):
        assert files.search(name), name
    for name in ("a.json.txt", "jsonld", "e.JSON5", "notes.md"):
        assert not files.search(name), name
    # The lint sees the whole set (its folders are the hook's args), never only the staged files.
    assert hooks["sdmtool-lint"]["pass_filenames"] is False


def test_the_validate_hook_passes_over_the_other_files_of_a_repository(
    runner: CliRunner, tmp_path: Path
) -> None:
    hook = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text("utf-8"))[0]
    files = {
        "package.json": '{"name": "app", "version": "1.0.0"}',
        ".pre-commit-config.yaml": "repos: []\n",
        "ci.yml": "name: ci\non: push\njobs: {}\n",
        "entities/model.json": json.dumps(example("MLModel")),
        "entities/bad.json": json.dumps(example("MLModel") | {"version": 1}),
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    staged = [str(tmp_path / name) for name in files]
    result = runner.invoke(main, [*hook["entry"].split()[1:], *staged])
    assert result.exit_code == EXIT_INVALID, result.output
    (finding,) = result.output.splitlines()[:-1]
    assert finding.startswith(f"{staged[-1]}:1:") and finding.endswith("[schema.type]")
    # Named without the option, a configuration file is no entity: an error.
    result = runner.invoke(main, ["validate", staged[0]])
    assert "[entity.type]" in result.output


@pytest.mark.parametrize("command", ["validate", "lint"])
def test_junit_run_is_named_after_the_command(
    runner: CliRunner, inputs: dict[str, str], command: str
) -> None:
    # Alone, the valid MLModel passes validate; lint reports its MLProcessing reference as dangling.
    result = runner.invoke(main, [command, "--format", "junit", inputs["valid"]])
    assert result.exit_code == {"validate": 0, "lint": 1}[command], result.output
    assert check_junit(result.output).get("name") == f"sdmtool {command}"


def test_junit_has_a_case_per_yaml_document(runner: CliRunner, tmp_path: Path) -> None:
    dump = tmp_path / "entities.yaml"
    dump.write_text(
        "id: urn:ngsi-ld:MLModel:a\ntype: MLModel\n---\n"
        "id: urn:ngsi-ld:MLModel:b\ntype: MLModel\nversion: 12\n---\n"
        "type: MLModel\nversion: '3'\n",
        encoding="utf-8",
    )
    result = runner.invoke(main, ["validate", "--format", "junit", str(dump)])
    assert result.exit_code == 1, result.output
    cases = {case.get("name"): case for case in check_junit(result.output).iter("testcase")}
    assert list(cases) == ["urn:ngsi-ld:MLModel:a", "urn:ngsi-ld:MLModel:b", f"{dump}[2]"]
    assert len(cases["urn:ngsi-ld:MLModel:a"]) == 0  # valid: passes
    assert [f.get("type") for f in cases["urn:ngsi-ld:MLModel:b"]] == ["schema.type"]
    assert [f.get("type") for f in cases[f"{dump}[2]"]] == ["schema.required"]


def test_junit_names_a_yaml_document_that_does_not_parse(runner: CliRunner, tmp_path: Path) -> None:
    dump = tmp_path / "entities.yaml"
    dump.write_text("id: urn:ngsi-ld:MLModel:a\ntype: MLModel\nversion: '1'\n---\nid: [unclosed\n")
    result = runner.invoke(main, ["validate", "--format", "junit", str(dump)])
    assert result.exit_code == EXIT_USAGE, result.output
    cases = {case.get("name"): case for case in check_junit(result.output).iter("testcase")}
    assert list(cases) == ["urn:ngsi-ld:MLModel:a", f"{dump}[1]"]
    assert [e.get("type") for e in cases[f"{dump}[1]"]] == ["input.invalid-yaml"]
