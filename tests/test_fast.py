"""The fast path (sdmtool.fast) against the full check: it may prove an entity valid only when the full
check reports nothing about it, and the two engines must read patterns and formats alike."""

from __future__ import annotations

import copy
import importlib
import json
import re
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sdmtool
from sdmtool import derive, fast, forms, ngsild, reader, resources, schemas
from sdmtool.validate import check_entity

FAST_TYPES = ("MLModel", "HandwritingDigit", "MLProcessing")
EXAMPLES = {
    name: json.loads((resources.schemas_dir() / name / "examples" / "example.json").read_text())
    for name in (*FAST_TYPES, "SubscriptionQuery")
}
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Values that sit on the edges the full check draws: formats, kinds, wrappers, NGSI Null, JSON types.
TRICKY: list[Any] = [
    None,
    "",
    "x",
    "12",
    "é",
    "x\n",
    "urn:ngsi-ld:MLModel:1",
    "urn:ngsi-ld:null",
    "http://a:b/",
    "https://a.example/x?y=1#z",
    "a b:c",
    "é:x",
    "2026-11-20T09:30:00Z",
    "2024-02-29t10:00:00.5+01:00",
    "2023-02-29T00:00:00Z",
    "2026-11-20T09:30:00Z\n",
    "2026-11-20",
    0,
    1,
    1.0,
    9,
    12,
    -1,
    0.5,
    1e20,
    True,
    False,
    [],
    [1],
    ["urn:ngsi-ld:MLProcessing:1"],
    ["", "x"],
    {},
    {"type": "Property", "value": 1},
    {"type": "Relationship", "object": "urn:ngsi-ld:X:1"},
    {"type": "Text", "value": "x"},
    {"value": "x"},
    {"object": "urn:ngsi-ld:X:1"},
    {"datasetId": "urn:ngsi-ld:Dataset:1"},
    {"@type": "DateTime", "@value": "2026-11-20T09:30:00Z"},
    {"@type": "DateTime", "@value": "yesterday"},
    {"@none": "urn:ngsi-ld:null"},
    [{"type": "Property", "value": 1}],
    [{"type": "x"}],
    {"type": "Point", "coordinates": [1, 2]},
    # keyValues multi-attributes (clause 4.5): the full check validates each value, not the object
    {"dataset": {"@none": 1, "urn:ngsi-ld:Dataset:1": "x"}},
    {"dataset": {"@none": {"width": "x"}}},
    {"dataset": {"urn:ngsi-ld:Dataset:1": "onnx"}},
    {"dataset": {}},
]
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)
values = st.sampled_from(TRICKY) | json_values


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path] if path else []
    if isinstance(node, dict):
        for key, child in node.items():
            found += _paths(child, (*path, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found += _paths(child, (*path, index))
    return found


def _set(entity: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    node: Any = entity
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def _delete(entity: dict[str, Any], path: tuple[Any, ...]) -> None:
    node: Any = entity
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]


@st.composite
def key_values(draw: st.DrawFn, types: tuple[str, ...] = FAST_TYPES) -> dict[str, Any]:
    """A valid keyValues entity: an example with some optional attributes left out."""
    entity_type = draw(st.sampled_from(types))
    entity = copy.deepcopy(EXAMPLES[entity_type])
    entity["id"] = f"urn:ngsi-ld:{entity_type}:{draw(st.integers(0, 99))}"
    required = {"id", "type", *schemas.load_schema(entity_type).get("required", [])}
    for name in list(entity):
        if name not in required and draw(st.booleans()) and draw(st.booleans()):
            del entity[name]
    return entity


@st.composite
def mutated(draw: st.DrawFn, entity: dict[str, Any]) -> dict[str, Any]:
    """At most one change, anywhere in the entity: a new value, a removal, or a new member."""
    entity = copy.deepcopy(entity)
    action = draw(st.sampled_from(["none", "set", "set", "set", "delete", "add"]))
    paths = _paths(entity)
    if action == "set":
        _set(entity, draw(st.sampled_from(paths)), draw(values))
    elif action == "delete":
        _delete(entity, draw(st.sampled_from(paths)))
    elif action == "add":
        path = draw(st.sampled_from([(), *[p for p in paths if isinstance(_get(entity, p), dict)]]))
        name = draw(
            st.sampled_from(["extra", "unitCode", "observedAt", "datasetId", "value", "object", "type"])
        )
        _set(entity, (*path, name), draw(values))
    return entity


def _get(entity: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        entity = entity[part]
    return entity


def _as_json(entity: Any) -> Any:
    """What the reader would hand over: parsed from JSON text by orjson."""
    return orjson.loads(orjson.dumps(entity))


def _full_check_is_silent(entity: Any, form: str | None = None) -> tuple[bool, str | None]:
    problems, chosen = check_entity(entity, form=form, check_json=False)
    return not problems, chosen


# Members of an NGSI-LD attribute: a keyValues value holding an object with one of them resembles an
# attribute, which the fast path leaves to the full check by design (sdmtool.derive._plain_value); so is a
# multi-attribute's `dataset` (sdmtool.derive._not_datasets).
_ATTRIBUTE_MEMBERS = {"datasetId", "type", "dataset", *ngsild.CONCISE_KINDS}


def _resembles_an_attribute(value: Any) -> bool:
    if isinstance(value, dict):
        return bool(_ATTRIBUTE_MEMBERS & set(value)) or any(map(_resembles_an_attribute, value.values()))
    return isinstance(value, list) and any(map(_resembles_an_attribute, value))


def _assert_agree(entity: Any, form: str | None = None) -> None:
    """Sound always (proven means the full check is silent); complete except for the resemblances."""
    entity = _as_json(entity)
    proven = fast.proven_form(entity, form)
    silent, chosen = _full_check_is_silent(entity, form)
    if chosen not in derive.FORMS:  # concise: always the full check
        assert proven is None
        return
    if proven is not None or not silent:
        assert proven is None or silent, (proven, check_entity(entity, form=form, check_json=False)[0])
    elif chosen == forms.KEY_VALUES:
        attributes = [v for k, v in entity.items() if k not in forms.ENTITY_MEMBERS]
        assert any(map(_resembles_an_attribute, attributes)), "the fast path declined a valid entity"
    elif not any(isinstance(v, list) for k, v in entity.items() if k not in forms.ENTITY_MEMBERS):
        # A multi-instance attribute (a list of instances, even of one) is left to the full check by design
        # (sdmtool.derive); anything else valid must be proven.
        raise AssertionError(f"the fast path declined a valid {chosen} entity")
    if proven is not None:
        assert proven == chosen


# --- the fast path against the full check ---------------------------------------------------------------


@SETTINGS
@given(st.data())
def test_key_values_agree_on_valid_entities_and_single_mutations(data: st.DataObject) -> None:
    entity = data.draw(mutated(data.draw(key_values())))
    _assert_agree(entity)


@SETTINGS
@given(st.data())
def test_normalized_agree_on_valid_entities_and_single_mutations(data: st.DataObject) -> None:
    entity = data.draw(mutated(forms.to_normalized(data.draw(key_values()))))
    _assert_agree(entity)


@SETTINGS
@given(st.data())
def test_ngsiv2_agree_on_valid_entities_and_single_mutations(data: st.DataObject) -> None:
    entity = forms.to_ngsiv2_normalized(data.draw(key_values()))
    for name in [
        n for n, member in entity.items() if isinstance(member, dict) and member["type"] == "DateTime"
    ]:
        del entity[name]  # DateTime attributes are always left to the full check
    _assert_agree(data.draw(mutated(entity)))


@SETTINGS
@given(st.data())
def test_a_forced_form_agrees_too(data: st.DataObject) -> None:
    form = data.draw(st.sampled_from([forms.KEY_VALUES, forms.NORMALIZED]))
    entity = data.draw(key_values())
    entity = forms.to_normalized(entity) if form == forms.NORMALIZED else entity
    _assert_agree(data.draw(mutated(entity)), form)


@pytest.mark.parametrize("name", FAST_TYPES)
def test_the_examples_are_proven_in_every_form(name: str) -> None:
    folder = resources.schemas_dir() / name / "examples"
    assert fast.proven_form(_as_json(EXAMPLES[name])) == forms.KEY_VALUES
    normalized = json.loads((folder / "example-normalized.jsonld").read_text())
    assert fast.proven_form(normalized) == forms.NORMALIZED


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_what_the_fast_path_declines_it_never_proves_wrongly(data: st.DataObject) -> None:
    """Shapes outside the fast path (multi-instance, other kinds, SubscriptionQuery): only soundness."""
    entity = forms.to_normalized(data.draw(key_values((*FAST_TYPES, "SubscriptionQuery"))))
    name = data.draw(st.sampled_from([n for n in entity if n not in forms.ENTITY_MEMBERS]))
    entity[name] = data.draw(
        st.sampled_from(
            [
                [entity[name], {**entity[name], "datasetId": "urn:ngsi-ld:Dataset:1"}],
                {"type": "LanguageProperty", "languageMap": {"en": "x"}},
                {"type": "ListProperty", "valueList": [1]},
                entity[name],
            ]
        )
    )
    entity = _as_json(entity)
    if fast.proven_form(entity) is not None:
        assert _full_check_is_silent(entity)[0]


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_a_key_values_multi_attribute_is_never_proven_wrongly(data: st.DataObject) -> None:
    """``{"dataset": {...}}`` passes an object schema that allows any member, but the full check validates
    each of its values against the attribute's schema (clause 4.5): the proof must not stand in for it."""
    entity = data.draw(key_values())
    name = data.draw(st.sampled_from([n for n in entity if n not in forms.ENTITY_MEMBERS]))
    entity[name] = {"dataset": {"@none": entity[name], "urn:ngsi-ld:Dataset:1": data.draw(values)}}
    entity = _as_json(entity)
    if fast.proven_form(entity) is not None or fast.proven_form(entity, forms.KEY_VALUES) is not None:
        assert _full_check_is_silent(entity, forms.KEY_VALUES)[0]


def test_an_invalid_key_values_multi_attribute_is_not_proven() -> None:
    entity = EXAMPLES["HandwritingDigit"] | {"imageMetadata": {"dataset": {"@none": {"width": "x"}}}}
    assert fast.proven_form(_as_json(entity)) is None
    assert fast.proven_form(_as_json(entity), forms.KEY_VALUES) is None
    problems, _ = check_entity(_as_json(entity), check_json=False)
    assert [p.path for p in problems] == [("imageMetadata", "dataset", "@none", "width")]


def test_subscription_queries_are_left_to_the_full_check() -> None:
    assert fast.proven_form(_as_json(EXAMPLES["SubscriptionQuery"])) is None
    assert "SubscriptionQuery" not in fast.fast_types()


# --- the engines read the keyValues schemas alike ------------------------------------------------------


@pytest.fixture(scope="module")
def rust_key_values() -> dict[str, Any]:
    import jsonschema_rs

    formats = fast._formats()
    assert formats is not None
    checks = {}
    for name in FAST_TYPES:
        schema = {"$schema": derive.DRAFT, **fast.engine_schema(derive.inline_schema(name), formats)}
        checks[name] = jsonschema_rs.validator_for(
            schema, pattern_options=jsonschema_rs.RegexOptions()
        ).is_valid
    return checks


@SETTINGS
@given(data=st.data())
def test_jsonschema_rs_and_python_jsonschema_agree_on_the_key_values_schemas(
    data: st.DataObject, rust_key_values: dict[str, Any]
) -> None:
    entity = _as_json(data.draw(mutated(data.draw(key_values()))))
    expected = (
        schemas.validator(entity["type"]).is_valid(entity) if entity.get("type") in FAST_TYPES else None
    )
    if expected is None:
        return
    assert rust_key_values[entity["type"]](entity) == expected


URI_CHARACTERS = "abcxyz019:/?#[]@!$&'()*+,;=%-._~ é\n\t"
DATE_CHARACTERS = "0123456789-:T tZz.+é"


@settings(max_examples=400, deadline=None)
@given(
    st.text(URI_CHARACTERS, max_size=14)
    | st.sampled_from(["urn:x", "http://[::1]:80/", "a:%zz", "http://a:b/"])
)
def test_uri_is_read_alike(text: str) -> None:
    _assert_format_agrees("uri", text)


@settings(max_examples=400, deadline=None)
@given(
    st.text(DATE_CHARACTERS, max_size=26)
    | st.builds(
        "{:04d}-{:02d}-{:02d}{}{:02d}:{:02d}:{:02d}{}".format,
        st.integers(0, 9999),
        st.integers(0, 13),
        st.integers(0, 32),
        st.sampled_from("Tt "),
        st.integers(0, 24),
        st.integers(0, 60),
        st.integers(0, 60),
        st.sampled_from(["Z", "z", "+01:00", "-23:59", ".123Z", "", "Z\n", "+24:00"]),
    )
)
def test_date_time_is_read_alike(text: str) -> None:
    _assert_format_agrees("date-time", text)


def _assert_format_agrees(name: str, text: str) -> None:
    import jsonschema_rs

    formats = fast._formats()
    assert formats is not None
    schema = {"allOf": [{"pattern": pattern} for pattern in formats[name]]}
    rust = jsonschema_rs.validator_for(schema, pattern_options=jsonschema_rs.RegexOptions())
    assert rust.is_valid(text) == schemas.format_checker().conforms(text, name), text


def test_the_calendar_matches_rfc3339_validator_for_every_year() -> None:
    import jsonschema_rs

    calendar = jsonschema_rs.validator_for(
        {"pattern": fast._CALENDAR}, pattern_options=jsonschema_rs.RegexOptions()
    )
    checker = schemas.format_checker()
    days = [(year, 2, day) for year in range(10000) for day in (28, 29, 30)]
    days += [
        (year, month, day)
        for year in (1, 4, 100, 400, 1900, 2000, 2023, 2024)
        for month in range(1, 13)
        for day in range(32)
    ]
    for year, month, day in days:
        text = f"{year:04d}-{month:02d}-{day:02d}T00:00:00Z"
        assert calendar.is_valid(text) == checker.conforms(text, "date-time"), text


def test_only_t_and_z_upper_case_into_the_date_time_alphabet() -> None:
    """What makes the date-time translation exact: python-jsonschema upper-cases the text first."""
    alphabet = set("0123456789-:T.Z+")
    changed = {
        chr(code)
        for code in range(0x110000)
        if not 0xD800 <= code <= 0xDFFF
        and chr(code).upper() != chr(code)
        and set(chr(code).upper()) <= alphabet
    }
    assert changed == {"t", "z"}


@pytest.mark.parametrize(
    ("pattern", "texts"),
    [
        (r"^[\w\-.]+$", ["abc", "a_b", "é", "ǅ", "²", "٣", "a b", "", "a\n", "\u00a0"]),
        (r"^\S+$", ["a", "a b", "\x1c", "\u2028", "x\u00a0", "ok\n"]),
        (r"^\d{2}$", ["12", "١٢", "1", "123"]),
        (r"^(?:ab|c)*[^x]?$", ["abab", "abx", "c", "x", "\n"]),
        (r"colou?r", ["color", "a colour b", "colr"]),
    ],
)
def test_translated_patterns_match_what_python_matches(pattern: str, texts: list[str]) -> None:
    import jsonschema_rs

    rust = jsonschema_rs.validator_for(
        {"pattern": fast.translate_regex(schemas._ecma_pattern(pattern))},
        pattern_options=jsonschema_rs.RegexOptions(),
    )
    python = re.compile(schemas._ecma_pattern(pattern))
    for text in texts:
        assert rust.is_valid(text) == bool(python.search(text)), (pattern, text)


@pytest.mark.parametrize("pattern", [r"(?=a)b", r"(a)\1", r"\bword", r"(?i)abc"])
def test_constructs_the_engines_could_read_apart_are_refused(pattern: str) -> None:
    with pytest.raises(fast.Unsupported):
        fast.translate_regex(pattern)


def test_keywords_without_a_checked_translation_are_refused() -> None:
    formats = fast._formats()
    assert formats is not None
    for schema in ({"uniqueItems": True}, {"format": "email"}, {"multipleOf": 0.1}):
        with pytest.raises(fast.Unsupported):
            fast.engine_schema(schema, formats)


# --- the reader and the CLI --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "duplicate"),
    [
        ('{"a": 1, "b": 2}', False),
        ('{"a": 1, "a" : 2}', True),
        ('{"a": 1, "a":2}', True),
        ('{"a": "x\\":", "b": {"c": 1, "c": 2}}', True),
        ('{"a": "\\u0022:", "a": 1}', True),
        ('{"k\\\\": 1, "k\\\\" \n: 2}', True),
        ('{"a": {"b": [1, {"c": 1}]}, "d": "\\": x"}', False),
        # A colon escaped in a string and a repeated key: one more colon read, one fewer written back.
        ('{"a": "\\u003a", "b": 1, "b": 2}', True),
        ('{"a": "x:y", "b": "\\u003A"}', False),
        ('{"u": "http://x", "u": "http://y"}', True),
    ],
)
def test_duplicate_keys_are_always_found(text: str, duplicate: bool) -> None:
    # As a document, and (on one line) as two NDJSON lines.
    ndjson = [] if "\n" in text else [("x.ndjson", f"{text}\n{text}\n")]
    for name, data in [("x.json", text), *ndjson]:
        for item in reader.read_bytes(name, data.encode()):
            assert isinstance(item, reader.SourceEntity)
            assert bool(item.problems) == duplicate


def _ndjson(tmp_path: Any, entities: list[dict[str, Any]], name: str = "many.ndjson") -> Any:
    path = tmp_path / name
    path.write_text("".join(json.dumps(entity) + "\n" for entity in entities))
    return path


def _broken_and_fine(count: int) -> list[dict[str, Any]]:
    entities = []
    for index in range(count):
        entity = copy.deepcopy(EXAMPLES[FAST_TYPES[index % 3]])
        entity["id"] = f"urn:ngsi-ld:{entity['type']}:{index}"
        if index % 7 == 3:
            entity["name"] = 12
        if index % 11 == 5:
            entity["typo"] = "x"
        entities.append(forms.to_normalized(entity) if index % 2 else entity)
    return entities


def test_the_findings_are_the_same_with_and_without_the_fast_path(tmp_path: Any, monkeypatch: Any) -> None:
    path = _ndjson(tmp_path, _broken_and_fine(fast.MIN_ENTITIES + 120))
    with_fast = sdmtool.validate(path)
    monkeypatch.setattr(fast, "MIN_ENTITIES", 10**9)
    without = sdmtool.validate(path)
    assert with_fast == without
    assert any(f.code == "schema.type" for f in with_fast)
    assert any(f.code == "schema.undeclared" for f in with_fast)


def test_the_fast_path_is_used_after_the_first_entities(tmp_path: Any, monkeypatch: Any) -> None:
    calls: list[str | None] = []
    original = fast._proof

    def counting(entity: Any, form: str | None, first: str) -> tuple[str | None, str | None]:
        proof = original(entity, form, first)
        calls.append(proof[0])
        return proof

    monkeypatch.setattr(fast, "_proof", counting)
    entities = [EXAMPLES["MLModel"]] * (fast.MIN_ENTITIES + 5)
    assert sdmtool.validate(_ndjson(tmp_path, entities)) == []
    assert calls == [forms.KEY_VALUES] * 5
    # A file named for a form is compared with it by the full check: no fast path there.
    calls.clear()
    assert sdmtool.validate(_ndjson(tmp_path, entities, "example.jsonld")) == []
    assert calls == []


# --- errors explained from jsonschema-rs's report -----------------------------------------------------


@SETTINGS
@given(st.data())
def test_engine_explanations_are_the_full_checks(data: st.DataObject) -> None:
    """With jsonschema-rs finding the schema errors, every finding (code, message, path, order) is the
    one python-jsonschema's errors give, in both forms, after one or two changes."""
    form = data.draw(st.sampled_from([forms.KEY_VALUES, forms.NORMALIZED]))
    entity = data.draw(key_values())
    entity = forms.to_normalized(entity) if form == forms.NORMALIZED else entity
    entity = data.draw(mutated(data.draw(mutated(entity))))
    entity = _as_json(entity)
    with_engine = check_entity(entity, check_json=False, engine=True)
    assert with_engine == check_entity(entity, check_json=False)


def test_errors_are_explained_by_the_engine_branches_included() -> None:
    entity = _as_json({**EXAMPLES["MLModel"], "version": 3, "dateCreated": "yesterday"})
    errors = fast.schema_errors("MLModel", entity)
    assert errors is not None
    assert [(e.validator, e.absolute_path, e.validator_value) for e in errors] == [
        ("format", ("dateCreated",), "date-time"),  # three checks fail; one error
        ("type", ("version",), "string"),
    ]
    # No branch of the id's anyOf matches: the error carries each branch's errors, as python-jsonschema's.
    (error, *_) = fast.schema_errors("MLModel", {**entity, "id": 3}) or [None]
    assert error is not None and (error.validator, error.absolute_path) == ("anyOf", ("id",))
    assert {(sub.relative_schema_path, sub.validator) for sub in error.context} == {
        ((0,), "type"),
        ((1,), "type"),
    }
    assert fast.schema_errors("MLProcessing", _as_json(EXAMPLES["MLProcessing"])) == []


def test_the_engine_explains_in_a_long_run(tmp_path: Any, monkeypatch: Any) -> None:
    calls: list[str] = []
    original = fast.schema_errors

    def counting(entity_type: str, instance: Any) -> Any:
        calls.append(entity_type)
        return original(entity_type, instance)

    monkeypatch.setattr(fast, "schema_errors", counting)
    broken = {**EXAMPLES["MLModel"], "version": 3}
    findings = sdmtool.validate(_ndjson(tmp_path, [broken] * (fast.MIN_ENTITIES + 3)))
    assert calls == ["MLModel"] * 3  # the first entities are too few to compile for
    assert [f.code for f in findings] == ["schema.type"] * (fast.MIN_ENTITIES + 3)


def test_the_form_is_detected_once_per_entity_not_proven(tmp_path: Any, monkeypatch: Any) -> None:
    broken = {**EXAMPLES["MLModel"], "version": 3}
    path = _ndjson(tmp_path, [broken] * 6)
    monkeypatch.setattr(fast, "MIN_ENTITIES", 0)
    calls: list[str] = []
    original = forms.detect_form

    def counting(entity: Any) -> str:
        calls.append(original(entity))
        return calls[-1]

    monkeypatch.setattr(forms, "detect_form", counting)
    findings = sdmtool.validate(path)
    assert [f.code for f in findings] == ["schema.type"] * 6
    assert calls == [forms.KEY_VALUES] * 6


@SETTINGS
@given(st.data())
def test_leaving_out_the_proven_members_changes_no_finding(data: st.DataObject) -> None:
    """The full check of an entity without the members the fast path proved (told that they are there)
    finds exactly what it finds on the whole entity, in each form, detected or forced."""
    form = data.draw(st.sampled_from([forms.KEY_VALUES, forms.NORMALIZED, forms.NGSIV2_NORMALIZED]))
    forced = data.draw(st.booleans())
    entity = data.draw(key_values())
    if form != forms.KEY_VALUES:
        entity = (forms.to_normalized if form == forms.NORMALIZED else forms.to_ngsiv2_normalized)(entity)
    entity = _as_json(data.draw(mutated(data.draw(mutated(entity)))))
    if type(entity.get("type")) is not str:
        return
    read_as = form if forced else forms.detect_form(entity)
    failing = fast.unproven_members(entity, read_as, not forced) if read_as in derive.FORMS else None
    if failing is None:
        return
    proven = {n for n in entity if n not in forms.ENTITY_MEMBERS and n not in failing}
    pruned = {name: member for name, member in entity.items() if name not in proven}
    whole = check_entity(entity, form=form if forced else None, check_json=False)
    assert (
        check_entity(
            pruned,
            form=form if forced else None,
            check_json=False,
            detected=None if forced else read_as,
            proven_members=proven,
        )
        == whole
    )


@pytest.mark.parametrize("form", [forms.NORMALIZED, forms.KEY_VALUES])
def test_only_the_failing_members_are_checked_in_full(form: str, tmp_path: Any, monkeypatch: Any) -> None:
    # In keyValues the whole entity is checked: finding its failing members would cost more than it saves.
    broken = {**EXAMPLES["MLModel"], "version": 3}
    if form == forms.NORMALIZED:
        broken = forms.to_normalized(broken)
    path = _ndjson(tmp_path, [broken] * 3)
    monkeypatch.setattr(fast, "MIN_ENTITIES", 0)
    seen: list[set[str]] = []
    original = check_entity

    def recording(entity: Any, **options: Any) -> Any:
        seen.append(set(entity))
        return original(entity, **options)

    monkeypatch.setattr(importlib.import_module("sdmtool.validate"), "check_entity", recording)
    assert [f.code for f in sdmtool.validate(path)] == ["schema.type"] * 3
    expected = {"id", "type", "version"} if form == forms.NORMALIZED else set(broken)
    assert seen == [expected] * 3


def test_a_large_input_takes_the_fast_path_from_its_first_entity(tmp_path: Any, monkeypatch: Any) -> None:
    calls: list[str | None] = []
    original = fast._proof

    def counting(entity: Any, form: str | None, first: str) -> tuple[str | None, str | None]:
        calls.append(original(entity, form, first)[0])
        return calls[-1], None

    monkeypatch.setattr(fast, "_proof", counting)
    # Lines proven as they are read never reach this gate (tests/test_typed_proof.py): not here.
    monkeypatch.setattr(importlib.import_module("sdmtool.validate"), "line_proof", lambda *args: None)
    path = _ndjson(tmp_path, [EXAMPLES["MLModel"]] * 5)
    assert sdmtool.validate(path) == [] and calls == []  # small: the full check
    monkeypatch.setattr(fast, "LARGE_INPUT", path.stat().st_size)
    assert sdmtool.validate(path) == [] and calls == [forms.KEY_VALUES] * 5


def test_an_integer_beyond_64_bits_in_a_large_input_is_read_exactly(tmp_path: Any, monkeypatch: Any) -> None:
    # orjson would round 10**20 to the float 1e+20, and the message would show that: the line goes the
    # general way, which reads it exactly (each line is looked at alone, not the whole text once).
    digit = EXAMPLES["HandwritingDigit"]
    lines = [json.dumps(digit)] * 40
    lines[29] = json.dumps({**digit, "predictedDigit": 0}).replace(
        '"predictedDigit": 0', '"predictedDigit": ' + "1" + "0" * 20
    )
    path = tmp_path / "digits.ndjson"
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(fast, "LARGE_INPUT", path.stat().st_size)
    (finding,) = sdmtool.validate(path)
    assert (finding.code, finding.json_path, finding.line) == ("schema.maximum", "/predictedDigit", 30)
    assert finding.message.endswith("got 100000000000000000000")  # not 1e+20
    assert finding.column == lines[29].index('"predictedDigit"') + len('"predictedDigit": ') + 1
