"""The reader on hostile input: every problem a clear finding at the right place, nothing lost, no crash."""

from __future__ import annotations

import io
import json
import os
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from sdmtool import reader, resources
from sdmtool.cli import main
from sdmtool.findings import EXIT_OK, EXIT_USAGE
from sdmtool.validate import validate, validate_items


def example(entity_type: str = "MLModel") -> dict[str, Any]:
    path = resources.schemas_dir() / entity_type / "examples" / "example.json"
    return json.loads(path.read_text(encoding="utf-8"))


def items(data: bytes | str, name: str = "t.json") -> list[reader.Item]:
    return list(reader.read_bytes(name, data.encode() if isinstance(data, str) else data))


def read_error(data: bytes | str, name: str = "t.json") -> reader.ReadError:
    (item,) = items(data, name)
    assert isinstance(item, reader.ReadError), item
    return item


def validate_text(text: str, name: str = "t.json") -> list[Any]:
    return list(validate_items(reader.read_bytes(name, text.encode())))


def entity(data: bytes | str, name: str = "t.json") -> reader.SourceEntity:
    (item,) = items(data, name)
    assert isinstance(item, reader.SourceEntity), item
    return item


# --- nesting -----------------------------------------------------------------------------------------


def test_deep_nesting_that_parses_keeps_every_location() -> None:
    # orjson accepts 1024 levels; the recursive scanner gave up near 500 (or earlier, on a deep stack) and
    # then every finding of the entity lost its line and column.
    deep = "[" * 900 + "]" * 900
    text = json.dumps(example() | {"version": 12}).replace('"version"', f'"deep": {deep}, "version"')
    findings = validate_text(text)
    (version,) = [f for f in findings if f.json_path == "/version"]
    assert (version.line, version.column) == (1, text.index("12") + 1)
    assert all(f.line is not None for f in findings)


def test_too_deep_nesting_is_reported_where_it_happens() -> None:
    error = read_error('{"a": ' + "[" * 2000 + "]" * 2000 + "}")
    assert "nesting is too deep" in error.message and "1024" in error.message
    # the container that goes one level too deep (the object is level 1), not line 1 column 1
    assert (error.line, error.column) == (1, len('{"a": ') + 1024)


# --- numbers -----------------------------------------------------------------------------------------


def test_integers_beyond_64_bits_are_read_exactly() -> None:
    # orjson turns them into floats without a word: the message then quoted a number never written.
    text = json.dumps(example() | {"version": 18446744073709551617})
    assert entity(text).value["version"] == 18446744073709551617
    (finding,) = validate_text(text)
    assert 'write "18446744073709551617" instead of 18446744073709551617' in finding.message
    assert entity("[-9223372036854775809]").value == -9223372036854775809


def test_numbers_that_cannot_be_read_are_input_errors() -> None:
    too_long = read_error('{"n": 1' + "0" * 5000 + "}")  # used to be a ValueError traceback
    assert (too_long.line, too_long.column) == (1, 7) and "5001 digits" in too_long.message
    overflow = read_error('{"n": 1e999}')
    assert (overflow.line, overflow.column) == (1, 7) and "out of range" in overflow.message


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        ('{"n": 01}', "leading zeros"),
        ('{"n": 1.}', "decimal point"),
        ('{"n": .5}', "0.5, not .5"),
        ('{"n": 1e}', "exponent"),
        ('{"n": -}', "'-'"),
    ],
)
def test_broken_numbers_say_why(text: str, cause: str) -> None:
    error = read_error(text)
    assert (error.line, error.column) == (1, 7)
    assert "invalid number" in error.message and cause in error.message


def test_lone_surrogate_escape_is_an_error() -> None:
    error = read_error('{"a": "x\\ud800"}')
    assert (error.line, error.column) == (1, 7) and "surrogate" in error.message


# --- encodings ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "bom", "name"),
    [
        ("utf-16-le", b"\xff\xfe", "UTF-16 LE"),
        ("utf-16-be", b"\xfe\xff", "UTF-16 BE"),
        ("utf-32-le", b"\xff\xfe\x00\x00", "UTF-32 LE"),
        ("utf-16-le", b"", "UTF-16 LE"),
        ("utf-16-be", b"", "UTF-16 BE"),
    ],
)
def test_utf16_and_utf32_are_named(encoding: str, bom: bytes, name: str) -> None:
    error = read_error(bom + '{"id": "urn:x:1"}'.encode(encoding))
    assert error.code == "not-utf8" and name in error.message and "save it as UTF-8" in error.message


def test_invalid_utf8_column_counts_characters() -> None:
    error = read_error(b'{\n "name": "\xc3\xa9\xc3\xa9\xff"}')
    # line 2 is ` "name": "éé` then the bad byte: 12 characters (14 bytes) before it
    assert (error.line, error.column) == (2, 13)


def test_huge_string_costs_no_huge_memory() -> None:
    # A repeated alternation in a regex allocates per character: ~120 MB for this 1 MB string.
    text = '{"a": 1, "a": "' + "x" * 1_000_000 + '"}'
    tracemalloc.start()
    try:
        item = entity(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [problem.json_path for problem in item.problems] == ["/a"]
    assert peak < 30_000_000


# --- NDJSON and documents ----------------------------------------------------------------------------


def test_ndjson_with_a_broken_first_line_reads_the_rest() -> None:
    good = json.dumps(example())
    bad = json.dumps(example() | {"version": 2})
    for name in ("dump.json", reader.STDIN_NAME):
        found = items(f'{{"broken": \n{good}\n{bad}\n', name)
        assert isinstance(found[0], reader.ReadError) and found[0].line == 1
        assert [item.index for item in found[1:]] == [1, 2]


def test_pretty_printed_document_in_an_ndjson_file() -> None:
    # Read line by line: ~50 errors and five bogus "entities" (the lines that parse alone, like `"CNN"`).
    text = json.dumps(example() | {"version": 12}, indent=2)
    (item,) = items(text, "dump.ndjson")
    assert isinstance(item, reader.SourceEntity) and item.value["version"] == 12
    (finding,) = validate_text(text, "dump.ndjson")
    line = next(number for number, row in enumerate(text.split("\n"), 1) if '"version"' in row)
    assert (finding.json_path, finding.line) == ("/version", line)


def test_a_broken_pretty_printed_array_stays_one_document() -> None:
    lines = "\n".join(json.dumps(example()) for _ in range(3))
    error = read_error(f"[\n{lines}\n]")  # commas forgotten: most lines parse alone
    assert (error.line, error.column) == (3, 1) and "expected ','" in error.message


def test_feature_collection_without_an_array_of_features() -> None:
    # used to yield no entity at all: "0 entities ... all valid", exit 0
    error = read_error('{"type": "FeatureCollection",\n "features": {"type": "Feature"}}', "x.geojson")
    assert error.code == "invalid-geojson" and (error.line, error.column) == (2, 14)


# --- locations ---------------------------------------------------------------------------------------


def test_member_named_like_an_index_is_located(tmp_path: Path) -> None:
    text = (
        '{\n "id": "urn:ngsi-ld:MLModel:1",\n "type": "MLModel",\n "0": 1,\n "²": 2,\n'
        ' "x": {"1": [5, {"1": 0}]}\n}'
    )
    path = tmp_path / "digits.json"
    path.write_text(text, encoding="utf-8")
    # "²".isdigit() is True: int("²") raised a ValueError; "/0" was taken for an array index
    by_path = {f.json_path: (f.line, f.column) for f in validate(path)}
    assert by_path == {"/0": (4, 7), "/²": (5, 7), "/x": (6, 7)}
    item = entity(text)
    assert item.locate("/x/1/1/1") == (6, 23)
    assert item.locate("$.x['1'][1]['1']") == (6, 23)
    assert item.locate("/x/1/01") == item.locate("/x/1")  # "01" is no index: nearest ancestor


# --- inputs ------------------------------------------------------------------------------------------


def test_empty_path_is_not_the_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bad.json").write_text("{")
    monkeypatch.chdir(tmp_path)
    (error,) = list(reader.read([""]))
    assert isinstance(error, reader.ReadError) and error.code == "bad-path"


def test_stdin_twice_and_stdin_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    found = list(reader.read(["-", "-"], stdin=io.BytesIO(json.dumps(example()).encode())))
    assert isinstance(found[0], reader.SourceEntity)
    assert isinstance(found[1], reader.ReadError) and "more than once" in found[1].message
    monkeypatch.setattr("sys.stdin", None)  # the process was started with stdin closed
    (error,) = list(reader.read(["-"]))
    assert isinstance(error, reader.ReadError) and "closed" in error.message


def test_symbolic_links(tmp_path: Path) -> None:
    loop = tmp_path / "loop.json"
    loop.symlink_to(loop)
    (error,) = list(reader.read([loop]))
    assert isinstance(error, reader.ReadError) and "no such file" not in error.message
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "dangling.json").symlink_to(tmp_path / "nowhere.json")
    (error,) = list(reader.read([folder]))
    assert isinstance(error, reader.ReadError) and "broken symbolic link" in error.message


def test_special_files_in_a_directory_are_reported_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.json")  # reading it would block the walk forever
    (tmp_path / "a.json").write_text(json.dumps(example()))
    found = list(reader.expand_inputs([tmp_path]))
    assert found[0] == tmp_path / "a.json"
    assert isinstance(found[1], reader.ReadError) and "not a regular file" in found[1].message


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_an_endless_device_named_explicitly_is_refused_not_read() -> None:
    (error,) = list(reader.expand_inputs(["/dev/zero"]))
    assert isinstance(error, reader.ReadError) and error.code == "unreadable" and "a device" in error.message
    result = CliRunner().invoke(main, ["validate", "/dev/zero"])
    assert result.exit_code == EXIT_USAGE and "/dev/zero: error: a device, not a file" in result.output
    # What is worth reading stays readable: /dev/null (an empty input) and a terminal (typed input).
    assert list(reader.expand_inputs([os.devnull])) == [Path(os.devnull)]
    leader, follower = os.openpty()
    try:
        terminal = os.ttyname(follower)
        assert list(reader.expand_inputs([terminal])) == [Path(terminal)]
    finally:
        os.close(leader)
        os.close(follower)


def test_unlistable_directory_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.json").write_text(json.dumps(example()))
    real_walk = os.walk

    def walk(top: Any, onerror: Any = None, **options: Any) -> Any:
        # As a permission-denied subdirectory shows up (root cannot be denied anything, so simulated).
        if onerror is not None:
            onerror(PermissionError(13, "Permission denied", str(tmp_path / "secret")))
        return real_walk(top, onerror=onerror, **options)

    monkeypatch.setattr(reader.os, "walk", walk)
    found = list(reader.expand_inputs([tmp_path]))
    assert isinstance(found[0], reader.ReadError) and found[0].source == str(tmp_path / "secret")
    assert "Permission denied" in found[0].message
    assert found[1] == tmp_path / "a.json"


# --- the command line --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text"), [("e.ndjson", "[]\n"), ("e.json", "[]\n[]\n"), ("<stdin>", "[]\n[]\n")]
)
def test_ndjson_lines_of_empty_arrays_hold_no_entity_and_are_no_parse_error(name: str, text: str) -> None:
    assert items(text, name) == []
    (finding,) = validate_items(reader.read_bytes(name, text.encode()), input_names=[name])
    assert (finding.code, finding.severity, finding.file) == ("input.no-entities", "warning", name)
    # Lines with nothing on them are still no input at all.
    assert read_error("\n \n", "e.ndjson").message == "empty input: no JSON lines"


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=30), ascii_only=st.booleans(), data=st.data())
def test_a_character_of_a_json_string_is_found_where_it_is_written(
    text: str, ascii_only: bool, data: st.DataObject
) -> None:
    written = "x: " + json.dumps(text, ensure_ascii=ascii_only)
    index = data.draw(st.integers(0, len(text)))
    offset = reader.string_character(written, 3, index)
    assert offset is not None
    # What is written before that offset is the first `index` characters, escapes and all.
    assert json.loads(written[3:offset] + '"') == text[:index]
    assert reader.string_character(written, 3, len(text) + 1) is None  # past the end: no such character


def test_a_file_named_twice_is_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "dump"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps(example() | {"version": 1}))
    monkeypatch.chdir(tmp_path)
    named = ["dump/a.json", "dump/a.json", "./dump/a.json", "dump", str(folder / "a.json")]
    result = CliRunner().invoke(main, ["validate", *named])
    assert result.output.count("[schema.type]") == 1
    assert "1 entity (1 keyValues) in 1 input: 1 error, 0 warnings" in result.output
    # Another file with the same content is another input.
    (folder / "b.json").write_text((folder / "a.json").read_text())
    assert len(validate(["dump/a.json", "dump"])) == 2


def test_cli_counts_inputs_without_entities(tmp_path: Path) -> None:
    (tmp_path / "empty.json").write_text("[]")
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "empty.json")])
    assert result.exit_code == EXIT_OK  # a warning: nothing was checked
    empty = tmp_path / "empty.json"
    assert (
        f"{empty}: warning: no entity in the input: nothing was checked [input.no-entities]" in result.output
    )
    assert "0 entities in 1 input: 0 errors, 1 warning" in result.output
    # Several inputs: a warning at each of them; so in the Python API.
    (tmp_path / "empty.yaml").write_text("[]\n")
    names = [str(tmp_path / name) for name in ("empty.json", "empty.yaml")]
    result = CliRunner().invoke(main, ["validate", *names])
    for name in names:
        message = "no entity in any of the 2 inputs, this one included: nothing was checked"
        assert f"{name}: warning: {message} [input.no-entities]" in result.output
    assert "0 entities in 2 inputs: 0 errors, 2 warnings" in result.output
    assert [(f.code, f.file) for f in validate(names)] == [("input.no-entities", name) for name in names]
    # One input holding an entity is enough: nothing to warn about.
    (tmp_path / "one.json").write_text(json.dumps(example()))
    assert validate([*names, str(tmp_path / "one.json")]) == []
    (finding,) = validate(names[0])
    assert finding.code == "input.no-entities" and finding.file == names[0]


def test_cli_control_characters_stay_on_one_line(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text(json.dumps(example() | {"a\nb": 1, "c\u2028d": 2}))
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == EXIT_OK
    lines = result.output.splitlines()
    assert len(lines) == 3 and "/a\\nb" in lines[0] and "/c\\u2028d" in lines[1]


def test_cli_hostile_inputs_exit_cleanly(tmp_path: Path) -> None:
    cases = {
        "deep.json": "[" * 100_000,
        "big.json": '{"n": ' + "9" * 5000 + "}",
        "utf16.json": '{"id": 1}'.encode("utf-16"),
        "key.json": '{"id": "urn:ngsi-ld:MLModel:1", "type": "MLModel", "²": 1}',
        "attr.json": '{"id": "urn:ngsi-ld:MLModel:1", "type": "MLModel", "name": {"type": ["Property"]}}',
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
    result = CliRunner().invoke(main, ["validate", "--format", "json", str(tmp_path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    document = json.loads(result.output)
    assert document["exit_code"] == EXIT_USAGE == result.exit_code
    assert {Path(f["file"]).name for f in document["findings"]} == set(cases)
    assert all(f["line"] for f in document["findings"])
    assert any(f["category"] == "entity" for f in document["findings"])


# --- the walk along a path agrees with the full scanner ------------------------------------------------

_json_documents = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4)
    ),
    max_leaves=12,
)


def _paths_in(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths_in(child, (*path, key))
        found.append((*path, "absent"))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths_in(child, (*path, index))
        found.append((*path, len(value)))
    return found


@settings(max_examples=300, deadline=None)
@given(
    _json_documents,
    st.sampled_from([None, 0, 2]),
    st.booleans(),
    st.sampled_from([(", ", ": "), (",", ":"), (" ,  ", " :\t")]),
)
def test_walking_to_a_path_finds_what_the_scanner_records(
    value: Any, indent: int | None, ascii_only: bool, separators: tuple[str, str]
) -> None:
    """Every value, and for a missing member or element its nearest ancestor, is found at the offset the
    full scanner records, whatever the layout, escapes and brackets inside strings."""
    text = "  " + json.dumps(value, indent=indent, ensure_ascii=ascii_only, separators=separators)
    scanner = reader._Scanner(text)
    scanner.document()
    for path in _paths_in(value):
        expected = next(
            scanner.positions[path[:length]]
            for length in range(len(path), -1, -1)
            if path[:length] in scanner.positions
        )
        assert reader._offset_along(text, 2, path) == expected, path
        # Knowing what was parsed, a key written once is found by a search: the same offsets.
        assert reader._offset_along(text, 2, path, value, len(text)) == expected, path


def test_locations_in_ndjson_come_from_the_walk_without_a_full_scan(tmp_path: Path) -> None:
    lines = ['{"id": "urn:ngsi-ld:MLModel:1", "type": "MLModel", "version": 3}'] * 2
    (tmp_path / "two.ndjson").write_text("\n".join(lines) + "\n")
    items = list(reader.read([tmp_path / "two.ndjson"]))
    second = items[1]
    assert isinstance(second, reader.SourceEntity)
    assert second.locate("/version") == (2, lines[1].index("3}") + 1)
    assert second.locate("/absent") == (2, 1)
    assert second._segment is not None and second._segment._scanner is None


def test_every_element_of_a_long_array_is_located_with_one_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    # Before: each entity of a JSON array was located by walking the array from its start, so 8,000
    # entities with a finding each took minutes; now the element starts are found once per array.
    entities = [
        {"id": f"urn:ngsi-ld:T:{n}", "type": "T", "tags": ["a", {"b": n}], "n": n} for n in range(300)
    ]
    text = json.dumps(entities, indent=1)
    walks = 0
    real = reader._element_offsets

    def counted(text: str, offset: int) -> list[int]:
        nonlocal walks
        walks += 1
        return real(text, offset)

    monkeypatch.setattr(reader, "_element_offsets", counted)
    lines = text.split("\n")
    for number, item in enumerate(items(text, "array.json")):
        assert isinstance(item, reader.SourceEntity)
        line, column = item.locate("/n")
        assert lines[line - 1][column - 1 :].startswith(str(number)), number
        line, column = item.locate("/tags/1/b")
        assert lines[line - 1][column - 1 :].startswith(str(number)), number
    assert walks == 1 + 300  # the entities' array once, then each entity's own "tags"


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_lines_end_at_lf_crlf_or_cr(newline: str) -> None:
    text = newline.join(
        ["{", '  "id": "urn:ngsi-ld:MLModel:1",', '  "type": "MLModel",', '  "version": 1', "}"]
    )
    (finding,) = validate_text(text)
    assert (finding.json_path, finding.line, finding.column) == ("/version", 4, 14)
    (error,) = validate_text(text.replace('"version": 1', '"version": 1,'))
    assert (error.code, error.line, error.column) == ("input.invalid-json", 5, 1)


@pytest.mark.parametrize("escape", ["", "\\\\"])
def test_every_member_of_a_large_object_is_located_with_one_walk(
    monkeypatch: pytest.MonkeyPatch, escape: str
) -> None:
    # Before: each finding searched (or walked) the entity from its start: 15,000 findings in one entity
    # took from 4 s to 2 minutes (with a backslash anywhere); now the members are walked once.
    members = {f"a{n}": {"type": "Property", "value": f"v{n}{escape}"} for n in range(400)}
    text = json.dumps({"id": "urn:ngsi-ld:T:1", "type": "T", **members}, indent=1)
    walks = 0
    real = reader._member_offsets

    def counted(text: str, offset: int) -> dict[str, int]:
        nonlocal walks
        walks += 1
        return real(text, offset)

    monkeypatch.setattr(reader, "_member_offsets", counted)
    (item,) = items(text)
    assert isinstance(item, reader.SourceEntity)
    lines = text.split("\n")
    for number in range(400):
        line, column = item.locate(f"/a{number}/value")
        assert lines[line - 1][column - 1 :].startswith(f'"v{number}'), number
    assert walks <= 1 + 400  # the entity once; each attribute object at most once
