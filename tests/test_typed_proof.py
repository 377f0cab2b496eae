"""Lines proven valid while parsed (sdmtool.typed_proof) against the full check: a proven line is one the full
check reports nothing about, and the generated types read strings, numbers and texts as the schemas do."""

from __future__ import annotations

import copy
import importlib
import json
import re
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_fast import (
    DATE_CHARACTERS,
    EXAMPLES,
    FAST_TYPES,
    SETTINGS,
    TRICKY,
    URI_CHARACTERS,
    key_values,
    mutated,
)

import sdmtool
from sdmtool import fast, forms, reader, schemas, typed_proof
from sdmtool.validate import check_entity, validate_items

validate_module = importlib.import_module("sdmtool.validate")


def _prove(line: str) -> Any:
    prove = typed_proof.line_prover()
    assert prove is not None
    return prove(line)


def _full_check(line: str) -> list[Any]:
    """Every finding of the full check on one NDJSON line, no proof involved."""
    return list(validate_items(reader.read_bytes("entities.ndjson", line.encode("utf-8", "surrogatepass"))))


# --- proven lines against the full check -----------------------------------------------------------------


@st.composite
def written(draw: st.DrawFn, entity: Any) -> str:
    """``entity`` as one NDJSON line, in one of the ways JSON writers lay it out, maybe edited as text."""
    separators = draw(st.sampled_from([(",", ":"), (", ", ": "), (" , ", " : ")]))
    line = json.dumps(entity, separators=separators, ensure_ascii=draw(st.booleans()))
    edit = draw(st.sampled_from(["none", "none", "repeat", "escape", "space", "crlf"]))
    if edit == "repeat" and line.startswith("{") and len(line) > 2:  # a key written twice
        first = next(iter(entity), None) if isinstance(entity, dict) else None
        if first is not None:
            line = "{" + json.dumps(first) + ":" + json.dumps(draw(st.sampled_from(TRICKY))) + "," + line[1:]
    elif edit == "escape":  # a character written as an escape
        line = line.replace(draw(st.sampled_from([":", "u", "l", "/"])), "\\u00" + "3a", 1)
    elif edit == "space":
        line = " \t" + line + "  "
    elif edit == "crlf":
        line += "\r"
    return line


def _in_form(entity: dict[str, Any], form: str) -> dict[str, Any]:
    return forms.to_normalized(entity) if form == forms.NORMALIZED else entity


@SETTINGS
@given(st.data())
def test_a_proven_line_is_one_the_full_check_is_silent_about(data: st.DataObject) -> None:
    form = data.draw(st.sampled_from(typed_proof.FORMS))
    entity = data.draw(mutated(_in_form(data.draw(key_values()), form)))
    line = data.draw(written(entity))
    proven = _prove(line)
    if proven is not None:
        assert _full_check(line) == [], line
        _, read_in = check_entity(json.loads(line), check_json=False)
        assert proven == (entity["id"], entity["type"], read_in)


@SETTINGS
@given(st.data())
def test_valid_entities_written_plainly_are_proven(data: st.DataObject) -> None:
    form = data.draw(st.sampled_from(typed_proof.FORMS))
    entity = _in_form(data.draw(key_values()), form)
    line = json.dumps(entity, separators=data.draw(st.sampled_from([(",", ":"), (", ", ": ")])))
    with_attributes = len(entity) > 2
    assert _prove(line) == (entity["id"], entity["type"], form if with_attributes else forms.KEY_VALUES)


@pytest.mark.parametrize(
    "line",
    [
        '{"id":"urn:ngsi-ld:HandwritingDigit:1","type":"HandwritingDigit","predictedDigit":1,"predictedDigit":2}',
        '{"id":"urn:ngsi-ld:HandwritingDigit:1","type":"HandwritingDigit","modelVersion":"a\\u003ab",'
        '"modelVersion":"c"}',
        '{"id":"urn:ngsi-ld:HandwritingDigit:1","type":"HandwritingDigit","modelVersion":"urn:ngsi-ld:null"}',
        '{"id":"urn:ngsi-ld:HandwritingDigit:1","type":"HandwritingDigit","modelVersion":"urn:ngsi-ld:nul\\u006c"}',
        '{"id":"urn:ngsi-ld:HandwritingDigit:1","type":"HandwritingDigit","predictedDigit":1.0}',
        '{"id":"urn:ngsi-ld:HandwritingDigit:1","type":"HandwritingDigit","sizeBytes":1}',
        '{"id":"urn:ngsi-ld:HandwritingDigit:1","type":"HandwritingDigit","imageMetadata":{"width":'
        "123456789012345678901234567890}}",
        '{"id":"urn:ngsi-ld:HandwritingDigit:1","type":"HandwritingDigit","confidence":NaN}',
        '{"id":"urn:ngsi-ld:HandwritingDigit:1","type":"HandwritingDigit"} trailing',
        '{"id":"HandwritingDigit-1","type":"HandwritingDigit"}',
        '{"id":"urn:ngsi-ld:SubscriptionQuery:1","type":"SubscriptionQuery"}',
        '{"id":"urn:ngsi-ld:HandwritingDigit:1","type":"HandwritingDigit","imageMetadata":{"datasetId":"x"}}',
        '{"id":"urn:ngsi-ld:HandwritingDigit:1","type":"HandwritingDigit","modelVersion":'
        '{"@type":"DateTime","@value":"2026-11-20T09:30:00Z"}}',
        '{"id":"urn:ngsi-ld:HandwritingDigit:1","type":"HandwritingDigit","modelVersion":null}',
        '{"id":"urn:ngsi-ld:HandwritingDigit:1","type":"HandwritingDigit","@context":{"a":null}}',
        '[{"id":"urn:ngsi-ld:HandwritingDigit:1","type":"HandwritingDigit"}]',
        '{"id":"urn:ngsi-ld:HandwritingDigit:1","type":"HandwritingDigit","datePredicted":"2026-11-20T09:30:00Z\\n"}',
        '{"id":"urn:ngsi-ld:HandwritingDigit:1","type":"HandwritingDigit","imagePath":"http://a:b/"}',
    ],
)
def test_what_the_types_cannot_vouch_for_is_not_proven(line: str) -> None:
    """Repeated keys (also behind an escaped colon), NGSI Null (also escaped), an integer written as a
    float, an undeclared member, a long integer, no JSON, an id that is no URI, a type with rules beyond
    its schema, a value resembling an attribute, a wrapped date-time, null, an array, formats."""
    assert _prove(line) is None


@pytest.mark.parametrize("form", typed_proof.FORMS)
def test_every_attribute_of_the_examples_is_expressed(form: str) -> None:
    for name in FAST_TYPES:
        struct = typed_proof.entity_struct(name, form)
        assert struct is not None
        assert set(EXAMPLES[name]) - {"type"} <= set(struct.__struct_encode_fields__), name
        line = json.dumps(_in_form(EXAMPLES[name], form))
        assert _prove(line) == (EXAMPLES[name]["id"], name, form)
    assert typed_proof.entity_struct("SubscriptionQuery", form) is None  # subscription rules: the full check


def test_a_forced_form_proves_that_form_only() -> None:
    normalized = json.dumps(forms.to_normalized(EXAMPLES["MLModel"]))
    key_values_line = json.dumps(EXAMPLES["MLModel"])
    only_key_values = typed_proof.line_prover(form=forms.KEY_VALUES)
    only_normalized = typed_proof.line_prover(form=forms.NORMALIZED)
    assert only_key_values is not None and only_normalized is not None
    assert only_key_values(normalized) is None and only_key_values(key_values_line) is not None
    assert only_normalized(key_values_line) is None and only_normalized(normalized) is not None


def test_user_schemas_take_their_types_out_of_the_proof() -> None:
    prove = typed_proof.line_prover(lambda name: name == "MLModel")
    assert prove is not None
    assert prove(json.dumps(EXAMPLES["MLModel"])) is None
    assert prove(json.dumps(EXAMPLES["HandwritingDigit"])) is not None


# --- the translation of schemas -------------------------------------------------------------------------

_PATTERNS = ["^[a-z]+$", "b", "^x|y", "^[0-9]{2,3}$", "é$", r"^\w+$", r"\d"]
string_schemas = st.recursive(
    st.fixed_dictionaries(
        {"type": st.just("string")},
        optional={
            "minLength": st.integers(0, 3),
            "maxLength": st.integers(0, 6),
            "pattern": st.sampled_from(_PATTERNS),
            "format": st.sampled_from(["uri", "date-time"]),
            "enum": st.lists(st.sampled_from(["a", "bb", "x:y", "2026-11-20T09:30:00Z", "ab"]), min_size=1),
        },
    ),
    lambda children: st.builds(
        lambda keyword, branches: {keyword: branches},
        st.sampled_from(["anyOf", "oneOf", "allOf"]),
        st.lists(children, min_size=1, max_size=3),
    ),
    max_leaves=4,
)
texts = (
    st.sampled_from([t for t in TRICKY if isinstance(t, str)] + ["a", "bb", "ab", "x:y", "123", "b\n"])
    | st.text(URI_CHARACTERS, max_size=10)
    | st.text("ab1\n é", max_size=5)
)


@settings(max_examples=400, deadline=None)
@given(string_schemas, texts)
def test_string_rules_read_strings_as_python_jsonschema_does(schema: dict[str, Any], text: str) -> None:
    """Lengths, patterns, formats, enums, and anyOf / oneOf / allOf of them: the same verdict."""
    formats = typed_proof._formats()
    assert formats is not None
    translator = typed_proof._Translator("Test", formats)
    try:
        annotation = translator.annotation(schema)
    except fast.Unsupported:  # refused (no string is long enough and short enough): nothing proven
        return
    try:
        msgspec.json.decode(json.dumps(text), type=annotation)
        accepted = True
    except msgspec.ValidationError:
        accepted = False
    # The full check's validator: ECMA-262 patterns, formats asserted.
    expected = schemas._Validator(schema, format_checker=schemas.format_checker()).is_valid(text)
    assert accepted == expected, (schema, text)


@settings(max_examples=400, deadline=None)
@given(
    st.from_regex(typed_proof.URI_SHORTCUT, fullmatch=True)
    | st.text(URI_CHARACTERS, max_size=14)
    | st.text(DATE_CHARACTERS, max_size=26)
)
def test_formats_are_read_as_python_jsonschema_reads_them(text: str) -> None:
    """The shortcut for plain URIs only takes URIs, and the expressions of both formats, written for
    Python, judge as the format checker does."""
    checker = schemas.format_checker()
    if re.search(typed_proof.URI_SHORTCUT, text):
        assert checker.conforms(text, "uri"), text
    formats = typed_proof._formats()
    assert formats is not None
    for name in ("uri", "date-time"):
        found = all(re.search(expression, text) for expression in formats[name])
        assert found == checker.conforms(text, name), (name, text)


@pytest.mark.parametrize(
    ("schema", "good", "bad"),
    [
        ({"type": "integer", "minimum": 0.5, "exclusiveMaximum": 3}, [1, 2], [0, 3, 1.5, True, "1"]),
        ({"type": "number", "minimum": 0, "maximum": 1}, [0, 1, 0.5], [-1, 1.5, "x", False]),
        ({"type": "integer", "minimum": 5, "exclusiveMinimum": 2.5, "maximum": 3.5}, [], [3, 4, 5]),
        ({"type": "integer", "exclusiveMinimum": 2.5, "minimum": 1, "maximum": 8.5}, [3, 8], [1, 2, 9]),
        ({"type": "array", "items": {"type": "boolean"}, "minItems": 1}, [[True]], [[], [1], "x"]),
        ({"anyOf": [{"type": "string"}, {"type": "integer"}]}, ["x", 1], [1.5, None, []]),
        ({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}, [{"a": "x"}], [{}]),
        ({"type": "object", "properties": {"type": {"enum": ["Point"]}}}, [{"type": "Point"}], [{"b": 1}]),
        ({"enum": ["a", "b"]}, ["a"], ["c", 1]),
    ],
)
def test_other_values_are_read_as_their_schema_says(
    schema: dict[str, Any], good: list[Any], bad: list[Any]
) -> None:
    formats = typed_proof._formats()
    assert formats is not None
    annotation = typed_proof._Translator("Test", formats).annotation(schema)
    decoder = msgspec.json.Decoder(annotation)
    for value in good:
        decoder.decode(json.dumps(value))
    for value in bad:
        with pytest.raises(msgspec.ValidationError):
            decoder.decode(json.dumps(value))


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string", "format": "email"},
        {"type": "string", "pattern": "(a)\\1"},
        {"type": "string", "pattern": "(?i)a"},
        {"type": "array"},
        {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        {"type": "object", "properties": {"datasetId": {"type": "string"}}},
        {"type": "object", "properties": {"value": {"type": "string"}}},
        {"type": "object", "properties": {"type": {"type": "string"}}},
        {"type": "object", "properties": {"type": {"enum": ["Property"]}}},
        {"type": "object", "properties": {"@type": {"type": "string"}}},
        {"type": "object", "required": ["a"]},
        {"anyOf": [{"type": "integer"}, {"type": "number"}]},
        {
            "anyOf": [
                {"type": "array", "items": {"type": "string"}},
                {"type": "array", "items": {"type": "integer"}},
            ]
        },
        {"type": "number", "maximum": 2**60},
        {"type": ["string", "null"]},
        {},
        True,
    ],
)
def test_what_the_types_cannot_say_exactly_is_refused(schema: Any) -> None:
    formats = typed_proof._formats()
    assert formats is not None
    with pytest.raises(fast.Unsupported):
        typed_proof._Translator("Test", formats).annotation(schema)


# --- in a run ---------------------------------------------------------------------------------------------


def _large_ndjson(tmp_path: Any, monkeypatch: Any, broken_every: int = 7) -> tuple[Any, list[dict[str, Any]]]:
    entities = []
    for index in range(300):
        entity = copy.deepcopy(EXAMPLES[FAST_TYPES[index % 3]])
        entity["id"] = f"urn:ngsi-ld:{entity['type']}:{index}"
        if broken_every and index % broken_every == 3:
            entity["name" if entity["type"] != "HandwritingDigit" else "predictedDigit"] = 12
        entities.append(entity)
    path = tmp_path / "dump.ndjson"
    path.write_text("".join(json.dumps(entity) + "\n" for entity in entities))
    monkeypatch.setattr(fast, "LARGE_INPUT", 1)
    return path, entities


def test_the_findings_are_the_same_with_and_without_the_proof(tmp_path: Any, monkeypatch: Any) -> None:
    path, _ = _large_ndjson(tmp_path, monkeypatch)
    calls: list[str] = []
    original = typed_proof.line_prover

    def counting(*args: Any) -> Any:
        prove = original(*args)
        assert prove is not None

        def proving(line: str) -> Any:
            calls.append(line)
            return prove(line)

        return proving

    monkeypatch.setattr(typed_proof, "line_prover", counting)
    with_proof = sdmtool.validate(path)
    assert len(calls) == 300
    monkeypatch.setattr(validate_module, "line_proof", lambda *args: None)
    assert with_proof == sdmtool.validate(path)
    broken = [f"urn:ngsi-ld:{FAST_TYPES[i % 3]}:{i}" for i in range(300) if i % 7 == 3]
    assert [f.entity_id for f in with_proof] == broken
    assert {f.code for f in with_proof} == {"schema.type", "schema.maximum"}


def test_small_inputs_and_files_named_for_a_form_are_read_in_full(tmp_path: Any) -> None:
    proof = validate_module.line_proof(None)
    assert proof is not None
    assert proof("dump.ndjson", fast.LARGE_INPUT - 1) is None
    assert proof("example-normalized.jsonld", fast.LARGE_INPUT) is None
    assert proof("dump.ndjson", fast.LARGE_INPUT) is not None
    assert validate_module.line_proof(forms.CONCISE) is None
    assert validate_module.line_proof(forms.NGSIV2_NORMALIZED) is None
    assert validate_module.line_proof(forms.KEY_VALUES) is not None


def test_proven_entities_are_counted_and_listed(tmp_path: Any, monkeypatch: Any) -> None:
    from click.testing import CliRunner

    from sdmtool.cli import main

    path, entities = _large_ndjson(tmp_path, monkeypatch, broken_every=0)
    result = CliRunner().invoke(main, ["validate", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["summary"]["entities"] == 300
    listed = [(entry["entity_id"], entry["entity_type"], entry["form"]) for entry in report["entities"]]
    assert listed == [(e["id"], e["type"], forms.KEY_VALUES) for e in entities]
