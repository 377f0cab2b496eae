"""The NGSI-LD q parser and evaluator (sdmtool.query), on the examples of clause 4.9 and beyond."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdmtool.query import (
    MAX_DEPTH,
    MAX_LINKED_ENTITIES,
    And,
    AttrPath,
    Comparison,
    Existence,
    Literal,
    Or,
    QuerySyntaxError,
    Range,
    Regex,
    ValueList,
    compile_pattern,
    key_values_resolver,
    normalized_resolver,
    parse_query,
)

# ------------------------------------------------------------------------------------------------ parsing


def assert_syntax_error(text: str, position: int, fragment: str) -> QuerySyntaxError:
    """``text`` is refused with a message holding ``fragment``, pointing at ``position``."""
    with pytest.raises(QuerySyntaxError) as info:
        parse_query(text)
    assert info.value.position == position, info.value
    assert fragment in info.value.message
    return info.value


def test_spec_example_equality_number() -> None:
    q = parse_query("temperature==20")
    assert q.root == Comparison(AttrPath(("temperature",)), "==", Literal("number", 20, "20"))


def test_spec_example_not_equal_string() -> None:
    q = parse_query('brandName!="Mercedes"')
    assert q.root == Comparison(AttrPath(("brandName",)), "!=", Literal("string", "Mercedes", '"Mercedes"'))


def test_spec_example_and() -> None:
    q = parse_query('speed>50;brandName!="Mercedes"')
    assert isinstance(q.root, And)
    first, second = q.root.operands
    assert first == Comparison(AttrPath(("speed",)), ">", Literal("number", 50, "50"))
    assert isinstance(second, Comparison) and second.op == "!="


def test_spec_example_nested_parentheses() -> None:
    q = parse_query('((speed>50|rpm>3000);brandName=="Mercedes")')
    assert isinstance(q.root, And)
    inner, brand = q.root.operands
    assert isinstance(inner, Or)
    assert [o.path.attribute for o in inner.operands] == ["speed", "rpm"]  # type: ignore[attr-defined]
    assert isinstance(brand, Comparison) and brand.value == Literal("string", "Mercedes", '"Mercedes"')


def test_spec_example_group_or() -> None:
    q = parse_query("(temperature>=20;temperature<=25)|capacity<=10")
    assert isinstance(q.root, Or)
    group, capacity = q.root.operands
    assert isinstance(group, And) and [o.op for o in group.operands] == [">=", "<="]  # type: ignore[attr-defined]
    assert isinstance(capacity, Comparison) and capacity.op == "<="


def test_spec_example_range() -> None:
    q = parse_query("temperature==10..20")
    assert q.root == Comparison(
        AttrPath(("temperature",)), "==", Range(Literal("number", 10, "10"), Literal("number", 20, "20"))
    )


def test_spec_example_value_list() -> None:
    q = parse_query('color=="black","red"')
    assert isinstance(q.root, Comparison)
    assert q.root.value == ValueList(
        (Literal("string", "black", '"black"'), Literal("string", "red", '"red"'))
    )


def test_spec_example_unquoted_uri() -> None:
    q = parse_query("language==urn:ngsi-ld:lang:Spanish")
    assert q.root == Comparison(
        AttrPath(("language",)), "==", Literal("uri", "urn:ngsi-ld:lang:Spanish", "urn:ngsi-ld:lang:Spanish")
    )


def test_spec_example_compound_member() -> None:
    q = parse_query('address[city]=="Berlin"')
    assert isinstance(q.root, Comparison)
    assert q.root.path == AttrPath(("address",), ("city",))


def test_spec_example_sub_attribute_datetime() -> None:
    q = parse_query("speed.observedAt>=2017-12-24T12:00:00Z")
    assert isinstance(q.root, Comparison)
    assert q.root.path == AttrPath(("speed", "observedAt"))
    assert q.root.value == Literal(
        "datetime", datetime(2017, 12, 24, 12, 0, tzinfo=UTC), "2017-12-24T12:00:00Z"
    )


def test_relationship_example_quoted_uri() -> None:
    q = parse_query('isParked=="urn:ngsi-ld:OffStreetParking:Downtown1"')
    assert isinstance(q.root, Comparison) and q.root.value.kind == "string"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("a==true", "boolean"),
        ("a==false", "boolean"),
        ("a==-1.5e3", "number"),
        ("a==0", "number"),
        ("a==2020-01-31", "date"),
        ("a==12:30:00Z", "time"),
        ("a==2020-01-31T10:00:00+02:00", "datetime"),
        ('a=="with \\"escapes\\" and ;|)"', "string"),
    ],
)
def test_value_kinds(text: str, kind: str) -> None:
    root = parse_query(text).root
    assert isinstance(root, Comparison) and isinstance(root.value, Literal)
    assert root.value.kind == kind


def test_bare_attribute_is_existence() -> None:
    assert parse_query("refMLModel").root == Existence(AttrPath(("refMLModel",)))


def test_linked_entity_path() -> None:
    root = parse_query('refModel{Building,House:owner{name}}=="x"').root
    assert isinstance(root, Comparison)
    assert root.path.linked is not None
    assert root.path.linked.entity_types == ("Building", "House")
    assert root.path.linked.linked == AttrPath(("name",))


def test_regex_quoted_and_unquoted() -> None:
    unquoted = parse_query("name~=(?i)^mer(c|k)|x==1").root
    assert isinstance(unquoted, Or)
    regex = unquoted.operands[0].value  # type: ignore[attr-defined]
    # POSIX '.' matches a line break: the pattern Python runs says so in front.
    assert isinstance(regex, Regex) and regex.pattern == "(?s)(?i)^mer(c|k)"
    assert regex.raw == "(?i)^mer(c|k)"
    quoted = parse_query('name!~="a;b|c"').root
    assert isinstance(quoted, Comparison) and quoted.value.pattern == "(?s)a;b|c"  # type: ignore[union-attr]


def test_unicode_attribute_names() -> None:
    root = parse_query("température>20;名前_2").root
    assert isinstance(root, And)
    assert [p.attribute for p in root.paths()] == ["température", "名前_2"]


# ------------------------------------------------------------------------------------------------ precedence


def test_and_binds_tighter_than_or() -> None:
    root = parse_query("a;b|c;d").root
    assert isinstance(root, Or)
    assert all(isinstance(o, And) for o in root.operands)
    assert [[p.attribute for p in o.paths()] for o in root.operands] == [["a", "b"], ["c", "d"]]


def test_or_then_and_without_parentheses() -> None:
    root = parse_query("a|b;c").root
    assert isinstance(root, Or)
    assert isinstance(root.operands[0], Existence)
    assert isinstance(root.operands[1], And)


def test_parentheses_override_precedence() -> None:
    root = parse_query("(a|b);c").root
    assert isinstance(root, And) and isinstance(root.operands[0], Or)


def test_precedence_in_evaluation() -> None:
    # a;b|c with only c present: (a and b) or c -> true; a;(b|c) would be false.
    assert parse_query("a;b|c").evaluate({"c": 1})
    assert not parse_query("a;(b|c)").evaluate({"c": 1})


@pytest.mark.parametrize(
    "text",
    [
        "temperature==20",
        'speed>50;brandName!="Mercedes"',
        '(speed>50|rpm>3000);brandName=="Mercedes"',
        "a|b;c|d",
        "temperature==10..20",
        'color=="black","red"',
        "language==urn:ngsi-ld:lang:Spanish",
        'address[city.district]=="Mitte"',
        "speed.observedAt>=2017-12-24T12:00:00Z",
        "a{b{c}}==1",
    ],
)
def test_printing_round_trips(text: str) -> None:
    q = parse_query(text)
    assert parse_query(str(q)).root == q.root


# ------------------------------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("", 0, "empty"),
        ("temperature==", 13, "end of query"),
        ("speed>>50", 6, "'>'"),
        ("a=1", 1, "'=='"),
        ("a==b", 3, "double quotes"),
        ("(a==1", 0, "never closed"),
        ("a==1)", 4, "unbalanced"),
        ("a == 1", 1, "white space"),
        ("a>true", 2, "numbers, strings"),
        ("a==1..true", 6, "range"),
        ('a==1.."x"', 4, "differ"),
        ("a.", 2, "sub-attribute"),
        ("!a", 0, "Orion-LD"),
        ("a==007", 4, "'0'"),
        ("a[b", 3, "']'"),
        ('a=="open', 3, "never closed"),
        ("a;;b", 2, "attribute name"),
        ("a~=x(", 4, "regular expression"),
        ("a==urn:", 7, "after its scheme"),
        ("a==2020-13-01", 8, "month 13 is out of range"),
        ("()", 1, "attribute name"),
    ],
)
def test_error_positions(text: str, position: int, fragment: str) -> None:
    error = assert_syntax_error(text, position, fragment)
    assert f"position {position}" in str(error)
    caret_line = error.caret().splitlines()[-1]
    assert caret_line == " " * position + "^"


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    with pytest.raises(QuerySyntaxError, match="nested deeper"):
        parse_query("(" * 5000 + "a" + ")" * 5000)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_text_raises_only_query_syntax_error(text: str) -> None:
    try:
        q = parse_query(text)
    except QuerySyntaxError as exc:
        assert 0 <= exc.position <= len(text)
        return
    # Whatever parses also evaluates without raising.
    q.evaluate({})
    q.evaluate({"a": 1, "b": "x"})


_ALPHABET = st.sampled_from(
    [
        *'abc.,;|()[]{}=!<>~"-:0123456789TZ &^+',
        "urn:x:y",
        "2020-01-01",
        "..",
        "==",
        "~=",
        "[:alpha:]",
        "0001-01-01T00:00:00",
        "+01:00",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_ALPHABET, max_size=25).map("".join))
def test_query_like_text_raises_only_query_syntax_error(text: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning (e.g. from re) would reach the user's terminal
        try:
            q = parse_query(text)
        except QuerySyntaxError as exc:
            assert 0 <= exc.position <= len(text)
            return
    q.evaluate({"a": [1, "x", "0001-01-01T00:00:00+01:00"], "b": {"c": "2020-01-01"}})
    assert parse_query(str(q)).root == q.root


# ------------------------------------------------------------------------------------------------ evaluation

VEHICLE = {
    "id": "urn:ngsi-ld:Vehicle:A4567",
    "type": "Vehicle",
    "brandName": {"type": "Property", "value": "Mercedes"},
    "speed": {"type": "Property", "value": 80, "observedAt": "2017-12-24T13:00:00Z"},
    "rpm": {"type": "Property", "value": 2000},
    "color": {"type": "Property", "value": ["red", "silver"]},
    "isParked": {"type": "Relationship", "object": "urn:ngsi-ld:OffStreetParking:Downtown1"},
    "address": {"type": "Property", "value": {"city": "Berlin", "street": {"name": "Unter den Linden"}}},
    "name": {"type": "LanguageProperty", "languageMap": {"en": "car", "de": "Auto"}},
    "available": {"type": "Property", "value": True},
    "inService": {"type": "Property", "value": {"@type": "DateTime", "@value": "2016-05-01T00:00:00Z"}},
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("speed==80", True),
        ("speed==80.0", True),
        ('speed=="80"', False),
        ('brandName!="Mercedes"', False),
        ('speed>50;brandName!="Mercedes"', False),
        ('((speed>50|rpm>3000);brandName=="Mercedes")', True),
        ("(speed>=20;speed<=25)|rpm<=2000", True),
        ("speed==70..90", True),
        ("speed==81..90", False),
        ('color=="black","red"', True),
        ('color=="red"', True),
        ('color!="red"', False),
        ('color=="blue"', False),
        ("isParked==urn:ngsi-ld:OffStreetParking:Downtown1", True),
        ('isParked=="urn:ngsi-ld:OffStreetParking:Downtown1"', True),
        ("isParked==urn:ngsi-ld:OffStreetParking:Other", False),
        ('address[city]=="Berlin"', True),
        ('address[street.name]=="Unter den Linden"', True),
        ('address[city]=="Paris"', False),
        ("speed.observedAt>=2017-12-24T12:00:00Z", True),
        ("speed.observedAt>2018-01-01T00:00:00Z", False),
        ("speed.observedAt<2017-12-25", True),
        ('name[de]=="Auto"', True),
        ('name=="car"', True),
        ('name[en]=="Auto"', False),
        ("available==true", True),
        ("available==1", False),
        ("inService<2017-01-01T00:00:00Z", True),
        ("brandName~=^Merc", True),
        ('brandName~="(?i)^MERC"', True),
        ("brandName!~=^Merc", False),
        ("speed~=8", False),
        ("rpm", True),
        ("temperature", False),
        ('temperature!="x"', False),
        ("speed>50;rpm<3000;available==true", True),
        ('brandName>"A"', True),
        ("speed>79.5", True),
    ],
)
def test_evaluate_normalized(text: str, expected: bool) -> None:
    assert parse_query(text).evaluate(normalized_resolver(VEHICLE)) is expected


def test_evaluate_key_values_mapping() -> None:
    kv = {"speed": 80, "brandName": "Mercedes", "isParked": "urn:ngsi-ld:OffStreetParking:Downtown1"}
    assert parse_query("speed>50;isParked==urn:ngsi-ld:OffStreetParking:Downtown1").evaluate(kv)
    assert parse_query("speed>50").evaluate(key_values_resolver(kv))
    assert not parse_query("speed.observedAt>2000-01-01T00:00:00Z").evaluate(kv)


def test_evaluate_with_expansion_and_multi_instance() -> None:
    vocab = "https://example.org/"
    entity = {
        "id": "urn:ngsi-ld:T:1",
        "type": [vocab + "T"],
        vocab + "temperature": [
            {"type": "Property", "value": 10, "datasetId": "urn:ngsi-ld:Dataset:a"},
            {"type": "Property", "value": 30},
        ],
    }
    resolve = normalized_resolver(entity, expand=lambda name: vocab + name)
    assert parse_query("temperature>25").evaluate(resolve)
    assert parse_query("temperature<15").evaluate(resolve)
    assert parse_query("temperature.datasetId==urn:ngsi-ld:Dataset:a").evaluate(resolve)
    assert not parse_query("temperature>40").evaluate(resolve)


def test_evaluate_linked_entity() -> None:
    building = {
        "id": "urn:ngsi-ld:Building:1",
        "type": "Building",
        "height": {"type": "Property", "value": 30},
    }
    sensor = {
        "id": "urn:ngsi-ld:Sensor:1",
        "type": "Sensor",
        "in": {"type": "Relationship", "object": building["id"]},
    }
    store = {building["id"]: building}
    resolve = normalized_resolver(sensor, fetch=store.get)
    assert parse_query("in{height}>20").evaluate(resolve)
    assert parse_query("in{Building:height}>20").evaluate(resolve)
    assert not parse_query("in{House:height}>20").evaluate(resolve)
    assert not parse_query("in{height}>40").evaluate(resolve)
    assert not parse_query("in{height}>20").evaluate(normalized_resolver(sensor))  # no fetch: no match


def test_ordering_never_mixes_types() -> None:
    entity = {
        "a": {"type": "Property", "value": "2020-01-01T00:00:00Z"},
        "b": {"type": "Property", "value": 3},
    }
    resolve = normalized_resolver(entity)
    assert parse_query("a>2019-01-01T00:00:00Z").evaluate(resolve)
    assert not parse_query("a>5").evaluate(resolve)
    assert not parse_query('b>"1"').evaluate(resolve)
    assert parse_query("a==2020-01-01").evaluate(resolve) is True
    assert parse_query("a>12:00:00").evaluate(resolve) is False


def test_attribute_names_and_immutability() -> None:
    q = parse_query('(a>1|b.observedAt<2020-01-01);c[d]=="x"')
    assert q.attribute_names() == frozenset({"a", "b", "c"})
    with pytest.raises(AttributeError):
        q.text = "other"  # type: ignore[misc]
    assert hash(q.root) == hash(parse_query('(a>1|b.observedAt<2020-01-01);c[d]=="x"').root)


def test_date_literal_value() -> None:
    root = parse_query("a==2020-02-29").root
    assert isinstance(root, Comparison) and root.value == Literal("date", date(2020, 2, 29), "2020-02-29")


# ------------------------------------------------------------------------------------------ audit fixes


@pytest.mark.parametrize(
    ("text", "position"), [("a<0001-01-01T00:00:00+01:00", 2), ("a==9999-12-31T23:59:59-01:00", 3)]
)
def test_date_time_out_of_range_after_its_offset_is_a_syntax_error(text: str, position: int) -> None:
    assert_syntax_error(text, position, "invalid datetime")


def test_out_of_range_date_time_values_never_match_instead_of_raising() -> None:
    q = parse_query("a>2000-01-01T00:00:00Z")
    assert q.evaluate({"a": "0001-01-01T00:00:00+01:00"}) is False
    assert q.evaluate({"a": "2001-01-01T00:00:00+01:00"}) is True


@pytest.mark.parametrize(
    ("pattern", "matching", "other"),
    [
        ("^[[:upper:]][[:lower:]]+$", "Mercedes", "mercedes"),
        ("^[[:digit:][:space:]]+$", "12 34", "12a"),
        ("^[^[:alnum:]]$", "-", "x"),
        ("^[[:xdigit:]]{4}$", "0aF9", "0aG9"),
        ("^[[:punct:]]+$", "!-/[`~", "a!"),
        ("^[a-z&~|]+$", "a&b~c|d", "a^b"),
        ("^[--/]$", ".", "0"),
        ("^[]x]$", "]", "y"),
        ("^[[.-.]x]$", "-", "y"),
    ],
)
def test_posix_bracket_expressions(pattern: str, matching: str, other: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Python would warn about a nested set or a set operation
        q = parse_query(f"name~={pattern}")
    assert q.evaluate({"name": matching}) is True
    assert q.evaluate({"name": other}) is False
    assert str(q) == f"name~={pattern}"  # printed as written


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("a~=[[:letter:]]", 4, "unknown character class [:letter:]"),
        ("a~=x[[.ab.]]", 5, "collating element"),
        ('a~="[[:alpha:]"', 4, "never closed"),
    ],
)
def test_posix_bracket_errors(text: str, position: int, fragment: str) -> None:
    assert_syntax_error(text, position, fragment)


def test_compile_pattern_for_id_patterns() -> None:
    assert compile_pattern("^urn:ngsi-ld:[[:alpha:]]+:").search("urn:ngsi-ld:Vehicle:1")
    with pytest.raises(ValueError, match="missing \\)"):
        compile_pattern("urn:(a")
    with pytest.raises(ValueError, match="unknown character class"):
        compile_pattern("[[:nope:]]")


def test_broker_evaluates_q_with_this_parser() -> None:
    # The embedded broker runs the parsed query, swapping only the regex engine for a linear-time one.
    from reference_runtime.broker.subscriptions import checked_query

    q = checked_query("name~=^[[:upper:]][[:lower:]]+$;speed>50")
    assert q.root == parse_query("name~=^[[:upper:]][[:lower:]]+$;speed>50").root
    assert q.evaluate({"name": "Mercedes", "speed": 80}) is True
    assert q.evaluate({"name": "mercedes", "speed": 80}) is False


# ------------------------------------------------------------------------------------ linked paths, bounded


def _counting_fetch(entities: list[dict]) -> tuple[list[str], Callable[[str], dict | None]]:
    by_id = {e["id"]: e for e in entities}
    calls: list[str] = []

    def fetch(uri: str) -> dict | None:
        calls.append(uri)
        return by_id.get(uri)

    return calls, fetch


def _chain(levels: int, tail: str = "x") -> str:
    return "r{" * levels + tail + "}" * levels


def test_self_referencing_relationships_are_followed_once() -> None:
    # Before: r pointing twice at its own entity doubled the work at every hop (2**18 fetches for 18 hops).
    me = {
        "id": "urn:L:1",
        "type": "T",
        "r": {"type": "Relationship", "object": ["urn:L:1", "urn:L:1"]},
        "x": {"type": "Property", "value": 2},
    }
    calls, fetch = _counting_fetch([me])
    resolve = normalized_resolver(me, fetch=fetch)
    assert parse_query(_chain(18) + "==2").evaluate(resolve) is True
    assert parse_query(_chain(18) + "==3").evaluate(resolve) is False
    assert parse_query(_chain(MAX_DEPTH - 1)).evaluate(resolve) is True
    assert calls == ["urn:L:1"]


def test_relationship_cycles_fetch_each_entity_once() -> None:
    a = {"id": "urn:A", "type": "T", "r": {"type": "Relationship", "object": ["urn:B", "urn:B", "urn:A"]}}
    b = {
        "id": "urn:B",
        "type": "T",
        "r": {"type": "Relationship", "object": ["urn:A", "urn:B"]},
        "x": {"type": "Property", "value": 7},
    }
    calls, fetch = _counting_fetch([a, b])
    assert parse_query(_chain(30) + "==7").evaluate(normalized_resolver(a, fetch=fetch)) is True
    assert sorted(calls) == ["urn:A", "urn:B"]


def test_linked_fetches_are_capped_per_evaluation() -> None:
    targets = [f"urn:T:{i}" for i in range(MAX_LINKED_ENTITIES + 500)]
    hub = {"id": "urn:hub", "type": "T", "r": {"type": "Relationship", "object": targets}}
    leaves = [{"id": t, "type": "T", "x": {"type": "Property", "value": 1}} for t in targets]
    calls, fetch = _counting_fetch([hub, *leaves])
    resolve = normalized_resolver(hub, fetch=fetch)
    assert parse_query("r{x}==1").evaluate(resolve) is True
    assert parse_query("r{r{x}}==1").evaluate(resolve) is False  # the leaves have no r
    assert len(calls) == MAX_LINKED_ENTITIES
    assert calls == targets[:MAX_LINKED_ENTITIES]


def test_honest_chains_still_resolve_through_distinct_entities() -> None:
    a = {"id": "urn:A", "type": "A", "r": {"type": "Relationship", "object": "urn:B"}}
    b = {"id": "urn:B", "type": "B", "s": {"type": "Relationship", "object": ["urn:C", "urn:D"]}}
    c = {"id": "urn:C", "type": "C", "x": {"type": "Property", "value": 1}}
    d = {"id": "urn:D", "type": "D", "x": {"type": "Property", "value": 5}}
    calls, fetch = _counting_fetch([a, b, c, d])
    resolve = normalized_resolver(a, fetch=fetch)
    assert parse_query("r{s{x}}==5").evaluate(resolve) is True
    assert parse_query("r{s{C:x}}==5").evaluate(resolve) is False
    assert parse_query("r{s{x}}==1;r{s{x}}>4").evaluate(resolve) is True
    assert calls == ["urn:B", "urn:C", "urn:D"]


# --------------------------------------------------------------------------- relationships compare by ==/!=


RELATED = {
    "id": "urn:a",
    "type": "T",
    "rel": {"type": "Relationship", "object": "urn:b"},
    "rels": {"object": ["urn:b", "urn:c"]},  # concise
    "p": {"type": "Property", "value": "urn:b"},
}
TARGET = {"id": "urn:b", "type": "T", "color": {"type": "Property", "value": "red"}}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('rel=="urn:b"', True),
        ("rel==urn:b", True),
        ("rel!=urn:c", True),
        ("rel==urn:x,urn:b", True),
        ('rel>"urn:a"', False),
        ('rel<"urn:z"', False),
        ('rel>="urn:b"', False),
        ('rel<="urn:b"', False),
        ('rel=="urn:a".."urn:z"', False),
        ('rel~="urn"', False),
        ('rel!~="zzz"', False),
        ("rels==urn:c", True),
        ('rels>"urn:a"', False),
        ('p>"urn:a"', True),  # a Property holding a URI string is a string
        ('p~="urn"', True),
        ('rel{color}=="red"', True),
        ('rels{color}=="red"', True),
        ('p{color}=="red"', False),  # only a Relationship is followed
        ("p{color}", False),
    ],
)
def test_relationships_compare_only_with_equality_and_only_they_are_followed(
    text: str, expected: bool
) -> None:
    resolve = normalized_resolver(RELATED, fetch=lambda uri: TARGET if uri == "urn:b" else None)
    assert parse_query(text).evaluate(resolve) is expected


# ------------------------------------------------------------------------------------------ POSIX semantics


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("b$", "ab\n", False),
        ("b$", "ab", True),
        ("b\\n$", "ab\n", True),
        ("a.b", "a\nb", True),
        ("^a.*z$", "a\nb\nz", True),
        ("[$]", "a$", True),
        ("\\$", "a$", True),
        ("(?m)^b$", "a\nb\nc", True),  # Python's multi-line mode, asked for, is kept
    ],
)
def test_dollar_is_the_very_end_and_dot_matches_a_line_break(
    pattern: str, value: str, expected: bool
) -> None:
    from reference_runtime.broker.subscriptions import linear_query
    from sdmtool.linear_regex import compile_posix

    text = "a~=" + json.dumps(pattern)
    entity = {"id": "urn:x", "type": "T", "a": {"type": "Property", "value": value}}
    assert parse_query(text).evaluate(normalized_resolver(entity)) is expected
    assert linear_query(text).evaluate(normalized_resolver(entity)) is expected  # the broker's engine
    assert bool(compile_pattern(pattern).search(value)) is expected  # idPattern in sdmtool validate
    assert bool(compile_posix(pattern).search(value)) is expected  # idPattern in the broker


# ------------------------------------------------------------------- one decision on regexes, positions


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ('a~="(?=a)"', 4, "lookahead"),
        ("a~=x(?<!a)", 4, "lookahead"),
        ('a~="(a)\\\\1"', 7, "backreferences"),
        ("a~=(a)\\1", 6, "backreferences"),
        ("a~=.{0,5000}", 4, "more than 2000 states"),
        ("a~=(a{100}){100}", 11, "more than 2000 states"),
        ("a~=a*+", 5, "possessive"),  # the '+' that makes it possessive
        ("a~=(?>a)", 3, "atomic"),
        ("a~=" + "(" * 101 + "a" + ")" * 101, 103, "nested deeper than 100"),
        ('a~="\\u00e9(?=x)"', 10, "lookahead"),
    ],
)
def test_regexes_the_broker_refuses_are_syntax_errors_at_the_offending_character(
    text: str, position: int, fragment: str
) -> None:
    from reference_runtime.broker.subscriptions import checked_query

    assert_syntax_error(text, position, fragment)
    with pytest.raises(Exception, match=fragment):  # the broker: 400 for the same reason
        checked_query(text)


@pytest.mark.parametrize(
    "pattern",
    [
        ".{0,999}",  # 1,999 states and the final one: the largest accepted
        ".{0,1000}",
        "(a{20}){99}",
        "(a{20}){100}",
        "(?=a)",
        "(a)\\1",
        "(?P<n>a)(?P=n)",
        "(?(1)a|b)",
        "a++",
        "[[:alpha:]]+$",
        "(" * 100 + ")" * 100,
        "(" * 101 + ")" * 101,
        "a" * 1999,
        "a" * 2000,
        "x" * 4097,
        "(?i)Ab\\d\\s\\w\\b",
        "a{,3}",
    ],
)
def test_validator_and_broker_accept_and_refuse_the_same_regexes(pattern: str) -> None:
    from sdmtool.linear_regex import UnsupportedRegex, compile_posix

    def accepted_by_validator() -> bool:
        try:
            parse_query("a~=" + json.dumps(pattern))
            compile_pattern(pattern)
        except (QuerySyntaxError, ValueError):
            return False
        return True

    def accepted_by_broker() -> bool:
        try:
            compile_posix(pattern)
        except UnsupportedRegex:
            return False
        return True

    assert accepted_by_validator() == accepted_by_broker()
    expected = not any(
        marker in pattern for marker in ("{0,1000}", "{100}", "?=", "\\1", "?P=", "?(", "++", "x" * 4097)
    ) and pattern not in ("(" * 101 + ")" * 101, "a" * 2000)
    assert accepted_by_validator() is expected


# ------------------------------------------------------------------------ errors at the offending character


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ('a=="ab\\qc"', 6, "Invalid \\escape"),
        ('a=="x\\u12"', 5, "Invalid \\uXXXX escape"),
        ('a~="abc(d"', 7, "missing )"),
        ('a~="\\"ab(c"', 8, "missing )"),
        ("a~=[[:alpha:]](", 14, "missing )"),
        ("a~=[[:digit:]]x[z-a]", 16, "bad character range"),
        ("a==2020-01-01T25:00:00Z", 14, "hour 25 is out of range (00-23)"),
        ("a==2020-13-01", 8, "month 13 is out of range (01-12)"),
        ("a==2021-02-29", 11, "day 29 is out of range (01-28)"),
        ("a==0000-01-01", 3, "year 0000 is out of range"),
        ("a>2020-01-01T10:61", 16, "minute 61"),
        ("a>2020-01-01T10:00:00+24:00", 22, "offset hour 24"),
        ("a<12:00:60", 8, "second 60"),
    ],
)
def test_error_points_at_the_offending_character_inside_a_token(
    text: str, position: int, fragment: str
) -> None:
    assert_syntax_error(text, position, fragment)


# ---------------------------------------------------------------------------------------- Unicode numbers


@pytest.mark.parametrize("name", ["a²", "a½", "aⅫ", "a١٢", "x_2"])
def test_attribute_names_take_every_unicode_number(name: str) -> None:
    root = parse_query(f"{name}==1").root
    assert isinstance(root, Comparison) and root.path == AttrPath((name,))


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("a==²", 3, "'²' is not a digit of a number: numbers are written with the ASCII digits 0-9"),
        ("a==١", 3, "ASCII digits 0-9"),
        ("a>Ⅻ", 2, "ASCII digits 0-9"),
        ("a==-²", 4, "'-' must be followed by a digit (0-9)"),
        ("²a==1", 0, "attribute name"),
    ],
)
def test_numbers_use_ascii_digits(text: str, position: int, fragment: str) -> None:
    assert_syntax_error(text, position, fragment)


def test_list_relationship_items_written_as_objects_are_relationships() -> None:
    entity = {
        "id": "urn:a",
        "type": "T",
        "rl": {"type": "ListRelationship", "objectList": [{"object": "urn:b"}]},
    }
    linked = {"id": "urn:b", "type": "T", "name": {"type": "Property", "value": "bee"}}
    resolve = normalized_resolver(entity, fetch=lambda uri: linked if uri == "urn:b" else None)
    assert parse_query('rl=="urn:b"').evaluate(resolve)
    assert parse_query('rl{name}=="bee"').evaluate(resolve)
    assert not parse_query('rl>"urn:a"').evaluate(resolve)  # a relationship is compared by == and != only
