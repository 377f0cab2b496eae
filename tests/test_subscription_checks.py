"""Subscription checks (sdmtool.subscription_checks) through `sdmtool validate`: one test per rule, each with
the finding's code, JSON path and location in the file, on NGSI-LD Subscription payloads (the ETSI test-suite
bodies in tests/fixtures/etsi-subscriptions and hand-written ones) and on SubscriptionQuery entities in every
form."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import sdmtool
from sdmtool.cli import main
from sdmtool.findings import Finding
from sdmtool.forms import to_ngsiv2_normalized, to_normalized
from sdmtool.subscription_checks import (
    check_subscription,
    check_subscription_query,
    is_subscription,
    query_syntax_problem,
)

ETSI = Path(__file__).parent / "fixtures" / "etsi-subscriptions"

BASE: dict[str, Any] = {
    "id": "urn:ngsi-ld:Subscription:1",
    "type": "Subscription",
    "entities": [{"type": "Building"}],
    "notification": {"format": "keyValues", "endpoint": {"uri": "http://127.0.0.1:1111/notify"}},
}


def _write(tmp_path: Path, document: Any, name: str = "sub.json") -> tuple[Path, str]:
    text = json.dumps(document, indent=2, ensure_ascii=False)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path, text


def _position(text: str, needle: str, after: str = "") -> tuple[int, int]:
    """1-based (line, column) of ``needle`` in ``text`` (first occurrence after ``after``)."""
    offset = text.index(needle, text.index(after) if after else 0)
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _only(findings: list[Finding], code: str) -> Finding:
    matching = [f for f in findings if f.code == code]
    assert len(matching) == 1, [(f.code, f.json_path, f.message) for f in findings]
    return matching[0]


def _subscription(**changes: Any) -> dict[str, Any]:
    document = json.loads(json.dumps(BASE))
    for name, value in changes.items():
        if value is _DELETE:
            document.pop(name, None)
        else:
            document[name] = value
    return document


_DELETE = object()


# ------------------------------------------------------------------------------------ ETSI test-suite bodies


@pytest.mark.parametrize(
    "name",
    [
        "subscription.jsonld",
        "subscription-building-entities-active-watchedAttributes-query.jsonld",
        "subscription-building-entities-active-endpoint-info.jsonld",
    ],
)
def test_etsi_valid_subscriptions_have_no_findings(name: str) -> None:
    assert sdmtool.validate(ETSI / name) == []


@pytest.mark.parametrize(
    ("name", "code", "pointer", "needle"),
    [
        ("subscription-invalid-negative-throttling.jsonld", "subscription.number", "/throttling", "-30"),
        (
            "subscription-invalid-throttling-timeInterval.jsonld",
            "subscription.time-interval",
            "/throttling",
            "30\n",
        ),
        (
            "subscription-invalid-pick-and-attributes.json",
            "subscription.conflict",
            "/notification/pick",
            '["id"]',
        ),
        (
            "subscription-invalid-same-member-pick-omit.json",
            "subscription.conflict",
            "/notification/omit/0",
            '"id"]\n    }',
        ),
    ],
)
def test_etsi_invalid_subscriptions(name: str, code: str, pointer: str, needle: str) -> None:
    findings = sdmtool.validate(ETSI / name)
    finding = _only(findings, code)
    assert finding.severity == "error"
    assert finding.json_path == pointer
    text = (ETSI / name).read_text(encoding="utf-8")
    assert (finding.line, finding.column) == _position(text, needle)
    assert [f.code for f in findings] == [code]


def test_etsi_null_expires_at_is_a_warning() -> None:
    findings = sdmtool.validate(ETSI / "subscription-building-entities-active.json")
    finding = _only(findings, "subscription.null")
    assert (finding.severity, finding.json_path, finding.line, finding.column) == (
        "warning",
        "/expiresAt",
        4,
        17,
    )


def test_subscription_is_no_longer_an_unknown_entity_type(tmp_path: Path) -> None:
    path, _ = _write(tmp_path, BASE)
    assert sdmtool.validate(path) == []
    assert is_subscription(BASE)
    assert is_subscription({**BASE, "type": "https://uri.etsi.org/ngsi-ld/Subscription"})
    assert not is_subscription({**BASE, "type": "SubscriptionQuery"})


# ------------------------------------------------------------------------------------------- one rule each


def test_rule_query_syntax_points_at_the_offending_character(tmp_path: Path) -> None:
    q = 'brandName=="Merc;edes";speed>>50'
    path, text = _write(tmp_path, _subscription(q=q))
    finding = _only(sdmtool.validate(path), "query.syntax")
    assert finding.json_path == "/q"
    # The JSON text escapes the two quotes: the column still lands on the second '>'.
    assert (finding.line, finding.column) == _position(text, ">50")
    assert "at position 29" in finding.message
    assert "speed>‸>50" in finding.message


# The same kind of q (wrong at its second '>') written with escapes JSON allows: the column is where that
# character is written.
@pytest.mark.parametrize(
    "written",
    [
        "a\\u003d=1;b>>1",
        'a==\\"\\u00e9\\/x\\";b>>1',
        'a==\\"\\ud83d\\ude00\\";b>>1',
        'a==\\"😀\\";b>>1',
    ],
)
def test_query_syntax_column_in_a_string_with_escapes(written: str, tmp_path: Path) -> None:
    head = '{"id": "urn:ngsi-ld:SubscriptionQuery:1", "type": "SubscriptionQuery", '
    text = head + '"entities": [{"type": "HandwritingDigit"}],\n "q": "' + written + '"}'
    path = tmp_path / "q.json"
    path.write_text(text, encoding="utf-8")
    finding = _only(sdmtool.validate(path), "query.syntax")
    assert (finding.line, finding.column) == (2, len(' "q": "') + written.index(">>") + 2)


QUERY_YAML = (
    "id: urn:ngsi-ld:SubscriptionQuery:1\ntype: SubscriptionQuery\nentities:\n  - type: HandwritingDigit\n"
)


# q as each YAML scalar style writes it, and where its second '>' is: (line, column).
@pytest.mark.parametrize(
    ("written", "where"),
    [
        ("q: a==1;b>>1\n", (5, 11)),
        ("q: 'a==\"it''s\";b>>1'\n", (5, 18)),
        ('q: "a\\x3d=1;b>>1"\n', (5, 15)),
        ("q: >-\n  a==1;b>>1\n", (6, 10)),
        ("q: |-\n    a==1;b>>1\n", (6, 12)),
        ('q: a=="x\n   y";b>>1\n', (6, 9)),  # a plain scalar folded over two lines
    ],
)
def test_query_syntax_column_in_each_yaml_style(written: str, where: tuple[int, int], tmp_path: Path) -> None:
    path = tmp_path / "q.yaml"
    path.write_text(QUERY_YAML + written)
    finding = _only(sdmtool.validate(path), "query.syntax")
    assert (finding.line, finding.column) == where


def test_query_syntax_problem_offsets_and_excerpt() -> None:
    assert query_syntax_problem("speed>50") is None
    problem = query_syntax_problem("a==")
    assert problem is not None
    assert (problem.code, problem.path, problem.string_index) == ("query.syntax", ("q",), 3)
    assert problem.message.endswith("at position 3: a==‸(end)")
    long_q = "a" * 50 + "==" + "b" * 50
    problem = query_syntax_problem(long_q)
    assert problem is not None and problem.message.endswith(f"…{'a' * 28}==‸{'b' * 30}…")


def test_rule_selection_needs_entities_or_watched_attributes(tmp_path: Path) -> None:
    path, _ = _write(tmp_path, _subscription(entities=_DELETE))
    finding = _only(sdmtool.validate(path), "subscription.selection")
    assert (finding.severity, finding.json_path, finding.line, finding.column) == ("error", "", 1, 1)
    path, _ = _write(tmp_path, _subscription(entities=_DELETE, watchedAttributes=["speed"]))
    assert sdmtool.validate(path) == []


@pytest.mark.parametrize(
    ("changes", "pointer", "needle"),
    [
        ({"timeInterval": 10, "watchedAttributes": ["speed"]}, "/watchedAttributes", '[\n    "speed"'),
        ({"timeInterval": 10, "throttling": 5}, "/throttling", "5\n"),
        ({"timeInterval": 10, "entities": _DELETE, "watchedAttributes": _DELETE}, "/timeInterval", "10"),
    ],
)
def test_rule_time_interval(tmp_path: Path, changes: dict[str, Any], pointer: str, needle: str) -> None:
    path, text = _write(tmp_path, _subscription(**changes))
    findings = sdmtool.validate(path)
    finding = _only(findings, "subscription.time-interval")
    assert (finding.json_path, (finding.line, finding.column)) == (pointer, _position(text, needle))
    assert all(f.code == "subscription.time-interval" for f in findings)


@pytest.mark.parametrize(
    ("document", "pointer"),
    [
        (_subscription(entities=[]), "/entities"),
        (_subscription(watchedAttributes=[]), "/watchedAttributes"),
        (
            _subscription(notification={"attributes": [], "endpoint": {"uri": "http://h/n"}}),
            "/notification/attributes",
        ),
        (
            _subscription(notification={"endpoint": {"uri": "http://h/n", "receiverInfo": []}}),
            "/notification/endpoint/receiverInfo",
        ),
    ],
)
def test_rule_empty_arrays(tmp_path: Path, document: dict[str, Any], pointer: str) -> None:
    path, text = _write(tmp_path, document)
    findings = sdmtool.validate(path)
    finding = _only(findings, "subscription.empty-array")
    assert finding.json_path == pointer
    assert (finding.line, finding.column) == _position(text, "[]")


def test_rule_expires_at_in_the_past_is_a_warning(tmp_path: Path) -> None:
    path, text = _write(tmp_path, _subscription(expiresAt="2020-08-01T22:07:00Z"))
    findings = sdmtool.validate(path)
    finding = _only(findings, "subscription.expired")
    assert finding.severity == "warning"
    assert (finding.json_path, finding.line, finding.column) == ("/expiresAt", *_position(text, '"2020-08'))
    # The moment of the check decides.
    document = _subscription(expiresAt="2030-01-01T00:00:00Z")
    assert check_subscription(document, now=datetime(2029, 1, 1, tzinfo=UTC)) == []
    late = check_subscription(document, now=datetime(2030, 1, 1, tzinfo=UTC))
    assert [(p.code, p.path) for p in late] == [("subscription.expired", ("expiresAt",))]


def test_rule_expires_at_must_be_a_date_time(tmp_path: Path) -> None:
    path, text = _write(tmp_path, _subscription(expiresAt="tomorrow"))
    finding = _only(sdmtool.validate(path), "subscription.date-time")
    assert (finding.json_path, finding.line, finding.column) == ("/expiresAt", *_position(text, '"tomorrow"'))


@pytest.mark.parametrize(
    ("receiver_info", "pointer", "needle", "fragment"),
    [
        (
            {"X-Key": "v"},
            "/notification/endpoint/receiverInfo",
            '{\n        "X-Key"',
            '[{"key": "X-Key", "value": "v"}]',
        ),
        (
            [{"key": "X-Key"}],
            "/notification/endpoint/receiverInfo/0/value",
            '{\n          "key"',
            "needs 'value'",
        ),
        (
            [{"key": "X-Key", "value": 3}],
            "/notification/endpoint/receiverInfo/0/value",
            "3",
            "must be a string",
        ),
        (
            [{"key": "X", "value": "v", "other": 1}],
            "/notification/endpoint/receiverInfo/0/other",
            "1\n",
            "not a member",
        ),
        (["X-Key: v"], "/notification/endpoint/receiverInfo/0", '"X-Key: v"', "must be an object"),
    ],
)
def test_rule_receiver_info_key_value_pairs(
    tmp_path: Path, receiver_info: Any, pointer: str, needle: str, fragment: str
) -> None:
    endpoint = {"uri": "http://h/n", "receiverInfo": receiver_info}
    path, text = _write(tmp_path, _subscription(notification={"endpoint": endpoint}))
    finding = _only(sdmtool.validate(path), "subscription.key-value")
    assert finding.json_path == pointer
    assert (finding.line, finding.column) == _position(text, needle, after='"receiverInfo"')
    assert fragment in finding.message


@pytest.mark.parametrize(
    ("geo_q", "pointer", "needle", "fragment"),
    [
        ("near", "/geoQ", '"near"', "must be an object"),
        (
            {"geometry": "Circle", "coordinates": [1, 2], "georel": "within"},
            "/geoQ/geometry",
            '"Circle"',
            "must be one of Point",
        ),
        (
            {"geometry": "Point", "coordinates": [1], "georel": "within"},
            "/geoQ/coordinates",
            "[\n      1\n",
            "2 or 3",
        ),
        (
            {"geometry": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]], "georel": "within"},
            "/geoQ/coordinates/0/3",
            "[\n          0,\n          1\n",
            "closed",
        ),
        (
            {"geometry": "LineString", "coordinates": [[0, 0]], "georel": "within"},
            "/geoQ/coordinates",
            "[\n      [",
            "at least 2 positions",
        ),
        (
            {"geometry": "Point", "coordinates": [1, 2], "georel": "near"},
            "/geoQ/georel",
            '"near"',
            "maxDistance",
        ),
    ],
)
def test_rule_geo_query_shape(tmp_path: Path, geo_q: Any, pointer: str, needle: str, fragment: str) -> None:
    path, text = _write(tmp_path, _subscription(geoQ=geo_q))
    finding = _only(sdmtool.validate(path), "subscription.geoq")
    assert finding.json_path == pointer
    assert (finding.line, finding.column) == _position(text, needle, after='"geoQ"')
    assert fragment in finding.message


def test_valid_geo_queries_pass() -> None:
    for geo_q in (
        {"geometry": "Point", "coordinates": [8.68, 49.41], "georel": "near;maxDistance==2000"},
        {"geometry": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]], "georel": "within"},
        {
            "geometry": "MultiPoint",
            "coordinates": "[[1, 2], [3, 4]]",
            "georel": "intersects",
            "geoproperty": "loc",
        },
    ):
        assert check_subscription(_subscription(geoQ=geo_q)) == [], geo_q


@pytest.mark.parametrize(
    ("coordinates", "fragment"),
    [
        ("[NaN, 1]", "NaN is not a JSON number"),
        ("[1, Infinity]", "Infinity is not a JSON number"),
        ("[" * 5000 + "]" * 5000, "nested deeper than 32 levels"),  # json.loads would exhaust the stack
        ("[1, 2", "not JSON"),
    ],
)
def test_geo_query_coordinates_as_a_string_are_strict_json(coordinates: str, fragment: str) -> None:
    geo_q = {"geometry": "Point", "coordinates": coordinates, "georel": "within"}
    (problem,) = [p for p in check_subscription(_subscription(geoQ=geo_q)) if p.code == "subscription.geoq"]
    assert problem.path == ("geoQ", "coordinates")
    assert fragment in problem.message


def test_a_null_time_interval_does_not_hide_the_missing_selection() -> None:
    findings = check_subscription(_subscription(entities=_DELETE, timeInterval=None))
    assert "subscription.selection" in {f.code for f in findings}


@pytest.mark.parametrize(
    ("notification", "pointer", "after", "needle"),
    [
        # A missing member is located at the object that lacks it, a null one at the null.
        ({"format": "keyValues"}, "/notification/endpoint", '"notification"', "{"),
        ({"endpoint": {"accept": "application/json"}}, "/notification/endpoint/uri", '"endpoint"', "{"),
        ({"endpoint": None}, "/notification/endpoint", '"endpoint"', "null"),
    ],
)
def test_rule_required_members(
    tmp_path: Path, notification: dict[str, Any], pointer: str, after: str, needle: str
) -> None:
    path, text = _write(tmp_path, _subscription(notification=notification))
    finding = _only(sdmtool.validate(path), "subscription.required")
    assert (finding.severity, finding.json_path) == ("error", pointer)
    assert (finding.line, finding.column) == _position(text, needle, after=after)


def test_rule_notification_is_required(tmp_path: Path) -> None:
    path, _ = _write(tmp_path, _subscription(notification=_DELETE))
    finding = _only(sdmtool.validate(path), "subscription.required")
    assert (finding.json_path, finding.line, finding.column) == ("/notification", 1, 1)


@pytest.mark.parametrize(
    ("document", "pointer", "needle", "severity"),
    [
        (_subscription(id="Subscription-1"), "/id", '"Subscription-1"', "error"),
        (
            _subscription(notification={"endpoint": {"uri": "/notify"}}),
            "/notification/endpoint/uri",
            '"/notify"',
            "error",
        ),
        (_subscription(entities=[{"type": "T", "id": "T1"}]), "/entities/0/id", '"T1"', "error"),
        (
            _subscription(notification={"endpoint": {"uri": "urn:x:y"}}),
            "/notification/endpoint/uri",
            '"urn:x:y"',
            "warning",
        ),
    ],
)
def test_rule_uris(
    tmp_path: Path, document: dict[str, Any], pointer: str, needle: str, severity: str
) -> None:
    path, text = _write(tmp_path, document)
    finding = _only(sdmtool.validate(path), "subscription.uri")
    assert (finding.severity, finding.json_path) == (severity, pointer)
    assert (finding.line, finding.column) == _position(text, needle)


@pytest.mark.parametrize(
    ("document", "pointer", "needle"),
    [
        (
            _subscription(notification={"format": "simple", "endpoint": {"uri": "http://h/n"}}),
            "/notification/format",
            '"simple"',
        ),
        (
            _subscription(notification={"endpoint": {"uri": "http://h/n", "accept": "text/plain"}}),
            "/notification/endpoint/accept",
            '"text/plain"',
        ),
        (_subscription(notificationTrigger=["entityChanged"]), "/notificationTrigger/0", '"entityChanged"'),
    ],
)
def test_rule_known_values(tmp_path: Path, document: dict[str, Any], pointer: str, needle: str) -> None:
    path, text = _write(tmp_path, document)
    finding = _only(sdmtool.validate(path), "subscription.enum")
    assert finding.json_path == pointer
    assert (finding.line, finding.column) == _position(text, needle)


@pytest.mark.parametrize(
    ("document", "pointer", "needle", "fragment"),
    [
        (_subscription(throttling=0), "/throttling", "0\n", "greater than 0 (seconds), got 0"),
        (_subscription(timeInterval="5"), "/timeInterval", '"5"', "remove the quotes"),
        (
            _subscription(notification={"endpoint": {"uri": "http://h/n", "timeout": -1}}),
            "/notification/endpoint/timeout",
            "-1",
            "milliseconds",
        ),
    ],
)
def test_rule_positive_numbers(
    tmp_path: Path, document: dict[str, Any], pointer: str, needle: str, fragment: str
) -> None:
    path, text = _write(tmp_path, document)
    finding = _only(sdmtool.validate(path), "subscription.number")
    assert finding.json_path == pointer
    assert (finding.line, finding.column) == _position(text, needle)
    assert fragment in finding.message


@pytest.mark.parametrize(
    ("document", "pointer", "needle"),
    [
        (_subscription(q=42), "/q", "42"),
        (_subscription(isActive="yes"), "/isActive", '"yes"'),
        (_subscription(entities=["Building"]), "/entities/0", '"Building"'),
        (_subscription(notification="http://h/n"), "/notification", '"http://h/n"'),
    ],
)
def test_rule_member_types(tmp_path: Path, document: dict[str, Any], pointer: str, needle: str) -> None:
    path, text = _write(tmp_path, document)
    finding = _only(sdmtool.validate(path), "subscription.type")
    assert finding.json_path == pointer
    assert (finding.line, finding.column) == _position(text, needle)


@pytest.mark.parametrize(
    ("document", "pointer", "fragment"),
    [
        (_subscription(name="legacy"), "/name", "renamed it 'subscriptionName'"),
        (
            _subscription(
                notification={"endPoint": {"uri": "http://h/n"}, "endpoint": {"uri": "http://h/n"}}
            ),
            "/notification/endPoint",
            "did you mean 'endpoint'",
        ),
        (
            _subscription(entities=[{"type": "T", "idpattern": ".*"}]),
            "/entities/0/idpattern",
            "did you mean 'idPattern'",
        ),
    ],
)
def test_rule_unknown_members_are_warnings(
    tmp_path: Path, document: dict[str, Any], pointer: str, fragment: str
) -> None:
    path, text = _write(tmp_path, document)
    finding = _only(sdmtool.validate(path), "subscription.unknown-member")
    assert (finding.severity, finding.json_path) == ("warning", pointer)
    name = pointer.rsplit("/", 1)[1]
    line, column = _position(text, f'"{name}": ')
    assert (finding.line, finding.column) == (line, column + len(name) + 4)
    assert fragment in finding.message


def test_rule_show_changes_with_key_values_is_a_warning(tmp_path: Path) -> None:
    notification = {"format": "keyValues", "showChanges": True, "endpoint": {"uri": "http://h/n"}}
    path, text = _write(tmp_path, _subscription(notification=notification))
    finding = _only(sdmtool.validate(path), "subscription.conflict")
    assert (finding.severity, finding.json_path) == ("warning", "/notification/showChanges")
    assert (finding.line, finding.column) == _position(text, "true")


def test_rule_id_pattern_is_a_regular_expression(tmp_path: Path) -> None:
    path, text = _write(tmp_path, _subscription(entities=[{"type": "T", "idPattern": "urn:(a"}]))
    finding = _only(sdmtool.validate(path), "subscription.id-pattern")
    assert finding.json_path == "/entities/0/idPattern"
    assert (finding.line, finding.column) == _position(text, '"urn:(a"')
    assert (
        check_subscription(_subscription(entities=[{"type": "T", "idPattern": "^urn:[[:alnum:]]+$"}])) == []
    )


def test_cli_exit_codes_for_subscriptions(tmp_path: Path) -> None:
    runner = CliRunner()
    good, _ = _write(tmp_path, BASE, "good.json")
    bad, _ = _write(tmp_path, _subscription(q="a=1"), "bad.json")
    assert runner.invoke(main, ["validate", str(good)]).exit_code == 0
    result = runner.invoke(main, ["validate", str(bad)])
    assert result.exit_code == 1
    first = result.output.splitlines()[0]
    assert first.startswith(f"{bad}:15:10: error: /q: q is not a valid NGSI-LD query")
    assert first.endswith("'=' is not an operator, use '==' at position 1: a‸=1 [query.syntax]")


# ------------------------------------------------------------------------------------ SubscriptionQuery forms

QUERY: dict[str, Any] = {
    "id": "urn:ngsi-ld:SubscriptionQuery:x",
    "type": "SubscriptionQuery",
    "entities": [{"type": "HandwritingDigit"}],
    "watchedAttributes": ["imagePath"],
    "q": 'imageMetadata[mediaType]=="image/png";width>>5',
    "expiresAt": "2020-01-01T00:00:00Z",
}


def _ngsiv2(entity: dict[str, Any]) -> dict[str, Any]:
    converted = to_ngsiv2_normalized(entity)
    converted["q"]["type"] = "TextUnrestricted"  # NGSI-v2 forbids = " ; > in a Text value
    return converted


@pytest.mark.parametrize(
    ("convert", "suffix"),
    [(lambda e: e, ""), (to_normalized, "/value"), (_ngsiv2, "/value")],
    ids=["keyValues", "normalized", "ngsiv2-normalized"],
)
def test_subscription_query_in_every_form(tmp_path: Path, convert: Any, suffix: str) -> None:
    path, text = _write(tmp_path, convert(dict(QUERY)))
    findings = sdmtool.validate(path)
    syntax = _only(findings, "query.syntax")
    assert syntax.json_path == "/q" + suffix
    assert (syntax.line, syntax.column) == _position(text, ">5")
    expired = _only(findings, "subscription.expired")
    assert expired.severity == "warning"
    assert expired.json_path.startswith("/expiresAt" + suffix)
    assert (expired.line, expired.column) == _position(text, '"2020-01-01T')


def test_subscription_query_rules_the_schema_cannot_express(tmp_path: Path) -> None:
    query = {**QUERY, "q": "imagePath", "expiresAt": "2099-01-01T00:00:00Z", "timeInterval": 5}
    path, text = _write(tmp_path, to_normalized(query))
    findings = sdmtool.validate(path)
    finding = _only(findings, "subscription.time-interval")
    assert finding.json_path == "/watchedAttributes/value"
    assert (finding.line, finding.column) == _position(text, "[", after='"watchedAttributes"')
    assert {f.code for f in findings} == {"subscription.time-interval", "schema.undeclared"}


def test_subscription_query_schema_findings_are_not_repeated(tmp_path: Path) -> None:
    query = {**QUERY, "q": "imagePath", "expiresAt": "2099-01-01T00:00:00Z", "throttling": 0, "entities": []}
    path, _ = _write(tmp_path, query)
    codes = sorted((f.code, f.json_path) for f in sdmtool.validate(path))
    assert codes == [("schema.exclusiveMinimum", "/throttling"), ("schema.minItems", "/entities")]


def test_subscription_query_without_selection_is_a_warning() -> None:
    problems = check_subscription_query({"id": "urn:x:1", "type": "SubscriptionQuery", "q": "a==1"})
    assert [(p.severity, p.code, p.path) for p in problems] == [("warning", "subscription.selection", ())]


# ------------------------------------------------------------------------------------------------- property

_KEYS = st.sampled_from(
    [
        "id",
        "type",
        "entities",
        "watchedAttributes",
        "q",
        "geoQ",
        "timeInterval",
        "throttling",
        "expiresAt",
        "notification",
        "endpoint",
        "uri",
        "receiverInfo",
        "key",
        "value",
        "attributes",
        "pick",
        "omit",
        "format",
        "geometry",
        "coordinates",
        "georel",
        "idPattern",
        "showChanges",
        "x",
    ]
)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.sampled_from(
        ["Subscription", "Point", "near", "2020-01-01T00:00:00Z", "http://h/n", "a>>1", "[[:x:]"]
    )
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=5),
    max_leaves=25,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(_KEYS, _JSON, max_size=8))
def test_checks_never_raise_on_arbitrary_json(document: dict[str, Any]) -> None:
    for payload in ({**document, "type": "Subscription"}, document):
        for problem in check_subscription(payload):
            assert problem.severity in ("error", "warning")
            assert problem.code.startswith(("subscription.", "query."))
        check_subscription_query(payload)
    findings = sdmtool.validate({**document, "id": "urn:x:1", "type": "SubscriptionQuery"})
    assert all(isinstance(f, Finding) for f in findings)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_query_syntax_problem_never_raises(q: str) -> None:
    problem = query_syntax_problem(q)
    if problem is not None:
        assert problem.code == "query.syntax"
        assert "‸" in problem.message
        assert problem.string_index is not None and 0 <= problem.string_index <= len(q)


def test_pick_and_omit_of_the_wrong_type_do_not_crash() -> None:
    # Found by the arbitrary-JSON property: an omit that is no list beside a pick.
    checks = check_subscription(
        {
            "type": "Subscription",
            "notification": {"omit": False, "pick": [], "endpoint": {"uri": "http://x/"}},
        }
    )
    assert any(check.path == ("notification", "omit") for check in checks)
