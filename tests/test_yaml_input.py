"""YAML input: documents addressed as file.yaml[2], positions from the YAML marks, strict JSON semantics."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sdmtool import forms, resources, schemas, yaml_input
from sdmtool.cli import main
from sdmtool.findings import EXIT_INVALID, EXIT_OK, EXIT_USAGE, Finding
from sdmtool.reader import SourceEntity
from sdmtool.validate import validate
from sdmtool.yaml_input import resolve_plain

MODEL = """\
id: urn:ngsi-ld:MLModel:1
type: MLModel
version: "1"
"""


@pytest.fixture(autouse=True, params=["libyaml", "python"])
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test with both parsers: libyaml's (when PyYAML has it) and PyYAML's own."""
    if request.param == "python":
        monkeypatch.setattr(yaml_input, "Loader", yaml_input.PythonLoader)
    elif not hasattr(yaml, "CSafeLoader"):
        pytest.skip("PyYAML without libyaml")


def example(entity_type: str = "MLModel") -> dict[str, Any]:
    path = resources.schemas_dir() / entity_type / "examples" / "example.json"
    return json.loads(path.read_text(encoding="utf-8"))


def write(tmp_path: Path, text: str, name: str = "entities.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def errors(findings: list[Finding]) -> list[tuple[str, int | None, int | None, str, int | None]]:
    return [(f.code, f.line, f.column, f.json_path, f.document) for f in findings if f.is_error]


def test_a_single_document_is_valid_and_not_numbered(tmp_path: Path) -> None:
    path = write(tmp_path, MODEL + "dateCreated: 2026-11-20T09:30:00Z\n")
    assert validate(path) == []
    bad = write(tmp_path, MODEL + "algorithm: 12\n", "bad.yml")
    assert errors(validate(bad)) == [("schema.type", 4, 12, "/algorithm", None)]


def test_documents_are_addressed_by_number(tmp_path: Path) -> None:
    text = (
        MODEL + "---\n" + MODEL.replace('"1"', "1") + "---\n- " + MODEL.replace("\n", "\n  ").rstrip() + "\n"
    )
    path = write(tmp_path, text)
    assert errors(validate(path)) == [("schema.type", 7, 10, "/version", 1)]
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == EXIT_INVALID
    assert f"{path}[1]:7:10: error: /version: must be a string" in result.output
    assert "3 entities (3 keyValues) in 1 input" in result.output
    report = json.loads(CliRunner().invoke(main, ["validate", "--format", "json", str(path)]).output)
    assert [(e["document"], e["index"]) for e in report["entities"]] == [(0, None), (1, None), (2, 0)]


def test_empty_documents_are_skipped_but_keep_their_number(tmp_path: Path) -> None:
    path = write(tmp_path, "---\n" + MODEL + "---\n---\n" + MODEL.replace('"1"', "2") + "...\n")
    assert [(f.document, f.line) for f in validate(path)] == [(2, 9)]
    empty = write(tmp_path, "# nothing here\n", "empty.yaml")
    result = CliRunner().invoke(main, ["validate", str(empty)])
    assert result.exit_code == EXIT_USAGE and "empty input" in result.output


def test_plain_scalars_follow_the_yaml_1_2_core_schema() -> None:
    assert [resolve_plain(text) for text in ("yes", "NO", "on", "2026-11-20", "1:20", "0b1")] == [
        "yes",
        "NO",
        "on",
        "2026-11-20",
        "1:20",
        "0b1",
    ]
    assert [
        resolve_plain(text) for text in ("~", "", "null", "True", "12", "0o17", "0x1F", "1e3", "-.5")
    ] == [
        None,
        None,
        None,
        True,
        12,
        15,
        31,
        1000.0,
        -0.5,
    ]


def test_unquoted_words_and_dates_stay_strings(tmp_path: Path) -> None:
    path = write(tmp_path, MODEL.replace('"1"', "NO") + "algorithm: yes\ndateCreated: 2026-11-20T09:30:00Z\n")
    assert validate(path) == []


def test_duplicate_keys_are_reported_at_the_second_key(tmp_path: Path) -> None:
    path = write(tmp_path, MODEL + "  # a comment\nversion: '2'\n")
    assert errors(validate(path)) == [("json.duplicate-key", 5, 1, "/version", None)]
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == EXIT_INVALID


def test_tags_and_non_json_values_are_refused_where_written(tmp_path: Path) -> None:
    cases = {
        "name: !!binary aGVsbG8=\n": ("the tag !!binary is not allowed", 4, 7),
        "name: !!python/object:os.system ls\n": ("the tag !!python/object:os.system is not allowed", 4, 7),
        "name: !local x\n": ("the tag !local is not allowed", 4, 7),
        "confidence: .nan\n": ("(NaN) is not a JSON value", 4, 13),
        "confidence: -.inf\n": ("(Infinity) is not a JSON value", 4, 13),
        "12: twelve\n": ("member names must be strings", 4, 1),
        "? [a]\n: b\n": ("a key must be a string", 4, 3),
        "base: &base {a: 1}\nmore:\n  <<: *base\n": ("merge keys (<<) are not supported", 6, 3),
        # Longer than Python converts between int and str (4,300 digits), as the JSON reader says too.
        "size: " + "9" * 4301 + "\n": ("number with 4301 digits is too long", 4, 7),
        "size: 0x" + "f" * 5000 + "\n": ("is too large (more than 4300 decimal digits)", 4, 7),
        "size: !!int " + "1" * 5000 + "\n": ("number with 5000 digits is too long", 4, 7),
    }
    runner = CliRunner()
    for extra, (message, line, column) in cases.items():
        path = write(tmp_path, MODEL + extra)
        result = runner.invoke(main, ["validate", str(path)])
        assert result.exit_code == EXIT_USAGE, (extra, result.output)
        assert f"{path}:{line}:{column}: error: " in result.output, (extra, result.output)
        assert message in result.output and "[input.invalid-yaml]" in result.output, extra


def test_a_finding_on_an_alias_is_placed_where_the_alias_is_written(tmp_path: Path) -> None:
    text = (
        "id: urn:ngsi-ld:MLModel:a\ntype: MLModel\nname: &n ok\nversion: *n\n"
        "description: &d [1]\nalgorithm:   # the same array\n  *d\n"
        "inputAttributes: [*n, *d]\noutputAttributes:\n  - [2]\n  - *d\n"
    )
    findings = validate(write(tmp_path, text, "alias.yaml"))
    assert [(f.json_path, f.line, f.column) for f in findings] == [
        ("/description", 5, 14),  # the anchored value itself, from its anchor
        ("/algorithm", 7, 3),
        ("/inputAttributes/1", 8, 23),
        ("/outputAttributes/0", 10, 5),
        ("/outputAttributes/1", 11, 5),  # after an item that is itself an array
    ]


def test_aliases_are_followed_but_cycles_and_bombs_refused(tmp_path: Path) -> None:
    shared = write(tmp_path, "base: &v ['a', 'b']\nlist: [*v, *v]\n", "shared.yaml")
    (finding,) = [f for f in validate(shared) if f.code == "entity.type"]
    assert finding.document is None
    cycle = write(tmp_path, "a: &x [*x]\n", "cycle.yaml")
    assert [(f.code, f.line, f.column) for f in validate(cycle)] == [("input.invalid-yaml", 1, 4)]
    lines = ["a: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 9)]
    bomb = write(tmp_path, "\n".join(lines) + "\n", "bomb.yaml")
    started = time.perf_counter()
    (finding,) = validate(bomb)
    assert finding.code == "input.invalid-yaml" and "alias bomb" in finding.message
    assert time.perf_counter() - started < 5


def test_syntax_errors_say_where_and_why(tmp_path: Path) -> None:
    path = write(tmp_path, MODEL + "---\nname: [a, b\nalgorithm: x\n")
    findings = validate(path)
    assert [f.code for f in findings] == ["input.invalid-yaml"]
    (finding,) = findings
    assert (finding.line, finding.column, finding.document) == (6, 10, 1)
    assert "expected ',' or ']'" in finding.message
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == EXIT_USAGE
    assert f"{path}[1]:6:10: error: invalid YAML" in result.output


def test_yaml_in_directories_and_notifications(tmp_path: Path) -> None:
    (tmp_path / "tree").mkdir()
    write(tmp_path / "tree", MODEL, "a.yml")
    notification = (
        "type: Notification\nid: urn:ngsi-ld:Notification:1\nsubscriptionId: urn:ngsi-ld:Subscription:1\n"
        "notifiedAt: 2026-11-20T09:30:00Z\ndata:\n"
        "  - id: urn:ngsi-ld:MLModel:2\n    type: MLModel\n    version: 3\n"
    )
    write(tmp_path / "tree", notification, "b.yaml")
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "tree")])
    assert result.exit_code == EXIT_INVALID
    assert f"{tmp_path / 'tree' / 'b.yaml'}:8:14: error: /data/0/version: must be a string" in result.output
    assert "2 entities (2 keyValues) in 2 inputs" in result.output


def test_yaml_that_is_no_entity_is_passed_over_in_folders_only(tmp_path: Path) -> None:
    folder = tmp_path / "dataModel.X"
    folder.mkdir()
    write(folder, "notesReadme: something\n", "notes.yaml")
    write(folder, "currentAdopters:\n  - adopter: somebody\n", "ADOPTERS.yaml")
    write(folder, MODEL, "entity.yaml")
    assert validate(folder) == []
    # Named on the command line, it is an input like any other; and a broken file is always reported.
    notes = folder / "notes.yaml"
    assert [f.code for f in validate(notes) if f.is_error] == ["entity.type", "entity.id"]
    write(folder, "name: [unclosed\n", "broken.yaml")
    broken = str(folder / "broken.yaml")
    assert [(f.code, f.file) for f in validate(folder)] == [("input.invalid-yaml", broken)]


def test_stdin_is_read_as_yaml_when_it_starts_like_yaml() -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["validate", "-"], input="# an entity\n" + MODEL + "algorithm: 3\n")
    assert result.exit_code == EXIT_INVALID
    assert "<stdin>:5:12: error: /algorithm: must be a string" in result.output
    as_json = runner.invoke(main, ["validate", "-"], input=json.dumps(example()))
    assert as_json.exit_code == EXIT_OK, as_json.output
    broken = runner.invoke(main, ["validate", "-"], input='{"id": 1,}')
    assert broken.exit_code == EXIT_USAGE and "[input.invalid-json]" in broken.output


def test_exit_codes_for_yaml(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["validate", str(write(tmp_path, MODEL, "ok.yaml"))]).exit_code == EXIT_OK
    invalid = write(tmp_path, MODEL + "version: 1\n", "dup.yaml")
    assert runner.invoke(main, ["validate", str(invalid)]).exit_code == EXIT_INVALID
    broken = write(tmp_path, "a: [\n", "broken.yaml")
    assert runner.invoke(main, ["validate", str(broken)]).exit_code == EXIT_USAGE


# --- the same entity in JSON and in YAML gives the same findings --------------------------------------


class _Dumper(yaml.SafeDumper):
    """Quotes every string that would read back as something else under YAML 1.2 core."""


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    # PyYAML reads a raw NEL, LS or PS as a line break (YAML 1.1) and folds it: escape them (double quotes).
    breaks = any(char in text for char in "\x85\u2028\u2029")
    style = '"' if resolve_plain(text) != text or text != text.strip() or breaks else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _represent_str)

_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False, width=32)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)
_FORMS = {
    "keyValues": lambda entity: entity,
    "normalized": forms.to_normalized,
    "ngsiv2": forms.to_ngsiv2_normalized,
}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    entity_type=st.sampled_from(schemas.entity_types()),
    form=st.sampled_from(sorted(_FORMS)),
    name=st.sampled_from(["version", "name", "processedCount", "imagePath", "extra", "dateCreated"]),
    value=_VALUES,
)
def test_json_and_yaml_of_one_entity_give_the_same_findings(
    tmp_path: Path, entity_type: str, form: str, name: str, value: Any
) -> None:
    try:
        entity = _FORMS[form](example(entity_type) | {name: value})
    except forms.ConversionError:
        assume(False)  # a value NGSI-v2 cannot hold: there is no such v2 entity to read
    json_path = tmp_path / "entity.json"
    yaml_path = tmp_path / "entity.yaml"
    json_path.write_text(json.dumps(entity, indent=2), encoding="utf-8")
    yaml_path.write_text(yaml.dump(entity, Dumper=_Dumper, allow_unicode=True, sort_keys=False), "utf-8")
    from_json, from_yaml = validate(json_path), validate(yaml_path)

    def seen(findings: list[Finding]) -> list[tuple[str, str, str, str | None]]:
        return [(f.severity, f.code, f.message, f.json_path) for f in findings]

    assert seen(from_yaml) == seen(from_json)
    # Each finding is placed in both files (YAML lines differ, and are never missing where JSON has one).
    assert [f.line is None for f in from_yaml] == [f.line is None for f in from_json]


@pytest.mark.parametrize(
    ("text", "path", "value", "index"),
    [
        ('q: "abc\\\n   def"\n', ("q",), "abcdef", 3),  # an escaped line break stands for nothing
        ("q: abc   \n  def\n", ("q",), "abc def", 4),  # trailing spaces before a folded break
        ("q: 'it''s   \n   x'\n", ("q",), "it's x", 5),
        ('q: "a\n\n  b"\n', ("q",), "a\nb", 2),  # an empty line folds into a line break
        ("a:\n  q: |2\n      x==1\n", ("a", "q"), "  x==1\n", 2),  # explicit indentation, nested
        ("q: |\n  ab\n  cd\n", ("q",), "ab\ncd\n", 3),
    ],
)
def test_a_character_of_a_string_is_located_where_it_is_written(
    text: str, path: tuple[str, ...], value: str, index: int
) -> None:
    (entity,) = yaml_input.read_yaml("q.yaml", text)
    found: Any = entity.value
    for key in path:
        found = found[key]
    assert found == value
    line, column = entity.locate(path, index)
    assert line is not None and column is not None
    assert text.split("\n")[line - 1][column - 1] == value[index]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    value=st.text(alphabet='ab=~ \n\t\\"é', min_size=1, max_size=40),
    style=st.sampled_from(['"', "'", "|", ">", None]),
    width=st.integers(min_value=8, max_value=30),
)
def test_every_visible_character_of_a_dumped_string_is_located_on_it(
    value: str, style: str | None, width: int
) -> None:
    text = yaml.safe_dump({"n": {"q": value}}, default_style=style, width=width, allow_unicode=True)
    (entity,) = yaml_input.read_yaml("q.yaml", text)
    assert entity.value["n"]["q"] == value
    lines = text.split("\n")
    written_style = yaml.compose(text).value[0][1].value[0][1].style  # PyYAML may choose another style
    for index, char in enumerate(value):
        if char in " \t\n":
            continue  # white space may be folded into a line break: it has no character of its own
        line, column = entity.locate(("n", "q"), index)
        assert line is not None and column is not None
        written = lines[line - 1][column - 1]
        # A character written as an escape is located at its backslash.
        assert written == char or (written_style == '"' and written == "\\"), (index, text)


def test_unicode_line_breaks_are_ordinary_characters(tmp_path: Path) -> None:
    # YAML 1.2 reads NEL, LS and PS as text; PyYAML (YAML 1.1) would fold them into spaces, refuse them in a
    # plain scalar and count lines by them.
    text = (
        "id: urn:ngsi-ld:MLModel:1\ntype: MLModel\n"
        "name: Caf\u00e9\u2028Menu\ndescription: 'a\x85b'\nalgorithm: \"c\u2029d\"\nversion: 12\n"
    )
    (entity,) = yaml_input.read_yaml("m.yaml", text)
    assert isinstance(entity, SourceEntity)
    assert entity.value["name"] == "Caf\u00e9\u2028Menu"
    assert entity.value["description"] == "a\x85b"
    assert entity.value["algorithm"] == "c\u2029d"
    (finding,) = [f for f in validate(write(tmp_path, text)) if f.json_path == "/version"]
    assert (finding.line, finding.column) == (6, 10)  # LS, PS and NEL end no line, as in a JSON file


def test_a_character_yaml_does_not_allow_is_located(tmp_path: Path) -> None:
    path = write(tmp_path, MODEL + 'name: "x\x7fy"\n')
    (finding,) = validate(path)
    assert (finding.code, finding.line, finding.column) == ("input.invalid-yaml", 4, 9)
    assert "U+007F is not allowed" in finding.message


def test_a_private_use_character_written_as_an_escape_is_kept_beside_a_line_separator() -> None:
    # The stand-in of U+2028 must not be a character the text writes as an escape.
    text = 'id: urn:ngsi-ld:MLModel:1\ntype: MLModel\nname: "\\U000F0000"\ndescription: "a\u2028b"\n'
    (entity,) = yaml_input.read_yaml("m.yaml", text)
    assert isinstance(entity, SourceEntity)
    assert (entity.value["name"], entity.value["description"]) == ("\U000f0000", "a\u2028b")


def test_a_character_of_a_block_scalar_holding_a_line_separator_is_located() -> None:
    text = 'id: urn:ngsi-ld:X:1\ntype: X\nq: |-\n  a=="x\u2028y";b>>1\n'
    (entity,) = yaml_input.read_yaml("q.yaml", text)
    assert isinstance(entity, SourceEntity)
    assert entity.locate(("q",), 11) == (4, 14)  # the second '>'


def test_a_refused_character_after_wide_characters_is_located_by_character() -> None:
    (error,) = yaml_input.read_yaml("w.yaml", 'a: "\U0001f600\U0001f600\x7fy"\n')
    assert (error.line, error.column) == (1, 7)  # not the UTF-8 byte offset libyaml counts
