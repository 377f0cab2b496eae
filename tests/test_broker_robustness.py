"""The embedded broker under hostile or unlucky input: malformed and oversized bodies, NGSI-LD Null where it
does not belong, evil ``q`` and ``idPattern``, pagination edges, receivers that hang, fail or are the broker
itself, restarts with notifications still queued, races. Everything over real HTTP on 127.0.0.1, with
bounded waits."""

from __future__ import annotations

import asyncio
import json
import random
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reference_runtime.broker import contexts
from reference_runtime.broker.notifier import NOTIFIER_HEADER
from sdmtool.linear_regex import LinearRegex, UnsupportedRegex
from tests.support import api_client, assert_problem

if TYPE_CHECKING:
    from conftest import NotificationReceiver, RunningServer

JSON = {"Content-Type": "application/json"}


def subscription(endpoint: str, **members: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "Subscription",
        "entities": [{"type": "T"}],
        "notification": {"endpoint": {"uri": endpoint}},
    }
    body.update(members)
    return body


def subscribe(api: httpx.Client, endpoint: str, **members: Any) -> str:
    response = api.post("/subscriptions", json=subscription(endpoint, **members))
    assert response.status_code == 201, response.text
    return response.headers["Location"].rsplit("/", 1)[-1]


def stats(api: httpx.Client, sub_id: str) -> dict[str, Any]:
    response = api.get(f"/subscriptions/{sub_id}")
    assert response.status_code == 200, response.text
    return response.json()["notification"]  # type: ignore[no-any-return]


def wait_until(check: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def nested(depth: int) -> bytes:
    """An entity whose attribute value is ``depth`` arrays deep (the body is 3 levels deeper)."""
    return b'{"id":"urn:ngsi-ld:T:deep","type":"T","a":{"value":' + b"[" * depth + b"]" * depth + b"}}"


# -------------------------------------------------------------------------------------------- request bodies


@pytest.mark.parametrize("depth", [98, 150, 260, 600, 1000])
def test_deeply_nested_bodies_are_refused_not_crashed(shared_api: httpx.Client, depth: int) -> None:
    # Before: 252..1021 levels were read by orjson and then failed to be written (500 "Recursion limit
    # reached") or blew Python's recursion limit (the connection was reset without an answer).
    response = shared_api.post("/entities", content=nested(depth), headers=JSON)
    if depth + 2 <= 100:
        assert response.status_code == 201, response.text
        got = shared_api.get("/entities", params={"type": "T", "id": "urn:ngsi-ld:T:deep"})
        assert got.status_code == 200 and len(got.json()) == 1, got.text
        assert shared_api.delete("/entities/urn:ngsi-ld:T:deep").status_code == 204
        return
    assert "nested deeper than 100" in assert_problem(response, 400, "BadRequestData")["detail"]
    upsert = shared_api.post("/entityOperations/upsert", content=b"[" + nested(depth) + b"]", headers=JSON)
    assert_problem(upsert, 400, "BadRequestData")
    fragment = b'{"a":{"value":' + b"[" * depth + b"]" * depth + b"}}"
    patch = shared_api.patch("/entities/urn:ngsi-ld:T:deep/attrs", content=fragment, headers=JSON)
    assert_problem(patch, 400, "BadRequestData")
    sub = b'{"type":"Subscription","description":' + b"[" * depth + b"]" * depth + b"}"
    assert_problem(shared_api.post("/subscriptions", content=sub, headers=JSON), 400, "BadRequestData")


def test_deep_context_is_refused(shared_api: httpx.Client) -> None:
    body = b'{"id":"urn:ngsi-ld:T:ctx","type":"T","@context":' + b"[" * 500 + b"]" * 500 + b"}"
    response = shared_api.post("/entities", content=body, headers={"Content-Type": "application/ld+json"})
    assert_problem(response, 400, "BadRequestData")


def test_oversized_bodies_get_413(broker_factory: Callable[..., RunningServer]) -> None:
    broker = broker_factory(max_body_bytes=2048)
    with api_client(broker.url) as api:
        big = orjson.dumps({"id": "urn:ngsi-ld:T:big", "type": "T", "a": "x" * 4096})
        assert_problem(api.post("/entities", content=big, headers=JSON), 413, "PayloadTooLarge")

        def chunks() -> Iterator[bytes]:  # no Content-Length: refused while streaming
            yield big[:1000]
            yield big[1000:]

        assert_problem(api.post("/entities", content=chunks(), headers=JSON), 413, "PayloadTooLarge")
        small = {"id": "urn:ngsi-ld:T:small", "type": "T", "a": "x" * 100}
        assert api.post("/entities", json=small).status_code == 201
        assert_problem(
            api.patch("/entities/urn:ngsi-ld:T:small/attrs", content=big, headers=JSON),
            413,
            "PayloadTooLarge",
        )


@pytest.mark.parametrize(
    ("content", "headers", "status", "name"),
    [
        (b"{not json", JSON, 400, "InvalidRequest"),
        (b"", JSON, 400, "InvalidRequest"),
        (b"   ", JSON, 400, "InvalidRequest"),
        (b"\xff\xfe{}", JSON, 400, "InvalidRequest"),
        (b'{"id": NaN}', JSON, 400, "InvalidRequest"),
        (b"[]", JSON, 400, "BadRequestData"),
        (b'"urn:ngsi-ld:T:1"', JSON, 400, "BadRequestData"),
        (b"null", JSON, 400, "BadRequestData"),
        (b'{"id":"urn:ngsi-ld:T:1","type":"T"}', {}, 415, "UnsupportedMediaType"),
        (b'{"id":"urn:ngsi-ld:T:1","type":"T"}', {"Content-Type": "text/plain"}, 415, "UnsupportedMediaType"),
        (
            b"id=urn:ngsi-ld:T:1",
            {"Content-Type": "application/x-www-form-urlencoded"},
            415,
            "UnsupportedMediaType",
        ),
        (
            b'{"id":"urn:ngsi-ld:T:1","type":"T"}',
            {"Content-Type": "application/merge-patch+json"},
            415,
            "UnsupportedMediaType",
        ),
        (
            b'{"id":"urn:ngsi-ld:T:1","type":"T"}',
            {"Content-Type": "application/ld+json"},
            400,
            "BadRequestData",
        ),
        (b'{"id":"not a uri","type":"T"}', JSON, 400, "BadRequestData"),
        (b'{"id":"urn:ngsi-ld:null","type":"T"}', JSON, 400, "BadRequestData"),
        (b'{"id":42,"type":"T"}', JSON, 400, "BadRequestData"),
        (b'{"id":"urn:ngsi-ld:T:1","type":"T","a b":1}', JSON, 400, "BadRequestData"),
        (b'{"id":"urn:ngsi-ld:T:1","type":"T","a=b":1}', JSON, 400, "BadRequestData"),
        (b'{"id":"urn:ngsi-ld:T:1","type":"T","":1}', JSON, 400, "BadRequestData"),
        (b'{"id":"urn:ngsi-ld:T:1","type":"T","a":"urn:ngsi-ld:null"}', JSON, 400, "BadRequestData"),
        (
            b'{"id":"urn:ngsi-ld:T:1","type":"T","a":{"type":"Property","value":"urn:ngsi-ld:null"}}',
            JSON,
            400,
            "BadRequestData",
        ),
        (
            b'{"id":"urn:ngsi-ld:T:1","type":"T","a":[{"value":1},{"value":2}]}',
            JSON,
            400,
            "BadRequestData",
        ),
    ],
)
def test_malformed_entity_bodies(
    shared_api: httpx.Client, content: bytes, headers: dict[str, str], status: int, name: str
) -> None:
    assert_problem(shared_api.post("/entities", content=content, headers=headers), status, name)


@pytest.mark.parametrize(
    ("attribute", "status"),
    [
        ({"type": ["Property"], "value": 1}, 400),
        ({"type": {"Property": 1}, "value": 1}, 400),
        ({"type": 5, "value": 1}, 400),
        ([{"type": ["Property"], "value": 1}], 201),  # not instances: a concise array value
        ({"value": {"type": ["Point"], "coordinates": [1, 2]}}, 201),  # not GeoJSON: a compound value
        ({"type": "GeoProperty", "value": {"type": {"a": 1}, "coordinates": [1, 2]}}, 400),
        ({"type": "Property", "value": 1, "sub": {"type": [1], "value": 2}}, 400),
    ],
)
def test_members_of_the_wrong_json_type_are_refused_not_500(
    shared_api: httpx.Client, attribute: Any, status: int
) -> None:
    # Before: a list or an object where a kind name was expected was looked up in a set: TypeError, 500
    # (and Starlette then dropped the client's connection).
    entity_id = f"urn:ngsi-ld:T:wrongtype-{zlib.crc32(orjson.dumps(attribute))}"
    response = shared_api.post("/entities", json={"id": entity_id, "type": "T", "a": attribute})
    if status == 201:
        assert response.status_code == 201, response.text
    else:
        assert_problem(response, status, "BadRequestData")
    fragment = shared_api.post(f"/entities/{entity_id}/attrs", json={"b": attribute})
    assert fragment.status_code in (204, 400, 404), fragment.text
    sub = subscription("http://127.0.0.1:9/x")
    sub["notification"]["format"] = attribute
    assert_problem(shared_api.post("/subscriptions", json=sub), 400, "BadRequestData")


def test_ngsi_ld_null_deletes_and_is_never_stored(api: httpx.Client) -> None:
    assert api.post(
        "/entities", json={"id": "urn:ngsi-ld:T:n", "type": "T", "a": 1, "b": 2, "c": 3}
    ).is_success
    url = "/entities/urn:ngsi-ld:T:n"
    # Where nothing can be deleted, the NGSI-LD Null is refused rather than stored as a value (which every
    # reader, notifications included, would take for "deleted").
    assert_problem(api.post(f"{url}/attrs", json={"a": "urn:ngsi-ld:null"}), 400, "BadRequestData")
    assert_problem(api.patch(f"{url}/attrs/a", json={"value": "urn:ngsi-ld:null"}), 400, "BadRequestData")
    batch = api.post(
        "/entityOperations/upsert", json=[{"id": "urn:ngsi-ld:T:n", "type": "T", "a": "urn:ngsi-ld:null"}]
    )
    assert batch.status_code == 207
    # In a PATCH it deletes, bare or as the value of a normalized attribute.
    assert api.patch(f"{url}/attrs", json={"a": "urn:ngsi-ld:null"}).status_code == 204
    assert api.patch(url, json={"b": {"type": "Property", "value": "urn:ngsi-ld:null"}}).status_code == 204
    got = api.get(url, params={"options": "keyValues"}).json()
    assert got == {"id": "urn:ngsi-ld:T:n", "type": "T", "c": 3}


def test_multi_instance_attributes(api: httpx.Client) -> None:
    entity = {
        "id": "urn:ngsi-ld:T:multi",
        "type": "T",
        "p": [
            {"type": "Property", "value": 1},
            {"type": "Property", "value": 2, "datasetId": "urn:ngsi-ld:Dataset:b"},
        ],
    }
    assert api.post("/entities", json=entity).status_code == 201
    found = api.get("/entities", params={"type": "T", "q": "p==2"}).json()
    assert [e["id"] for e in found] == ["urn:ngsi-ld:T:multi"]
    assert api.get("/entities", params={"type": "T", "q": "p==1;p==2"}).json() != []
    key_values = api.get("/entities/urn:ngsi-ld:T:multi", params={"options": "keyValues"}).json()
    assert key_values["p"] == {"dataset": {"@none": 1, "urn:ngsi-ld:Dataset:b": 2}}
    deleted = api.delete(
        "/entities/urn:ngsi-ld:T:multi/attrs/p", params={"datasetId": "urn:ngsi-ld:Dataset:b"}
    )
    assert deleted.status_code == 204
    assert api.get("/entities/urn:ngsi-ld:T:multi", params={"options": "keyValues"}).json()["p"] == 1
    duplicated = {"id": "urn:ngsi-ld:T:multi2", "type": "T", "p": [{"value": 1, "datasetId": "urn:a:b"}] * 2}
    assert_problem(api.post("/entities", json=duplicated), 400, "BadRequestData")


# --------------------------------------------------------------------------------------- q and idPattern


EVIL_PATTERNS = [r"(a+)+$", r"(a|a)*$", r"(a*)*b", r".*.*.*b", r"(.*a){12}b", r"(\w+\s?)+$", r"^(a|aa)+$"]


@pytest.mark.parametrize("pattern", EVIL_PATTERNS)
def test_catastrophic_regexes_answer_at_once(shared_api: httpx.Client, pattern: str) -> None:
    # Before: Python's backtracking re ran on the event loop; (a+)+$ against 25 characters took seconds per
    # entity and froze every other request of the broker meanwhile.
    value = "a" * 40 + "!"
    entity = {"id": "urn:ngsi-ld:Redos:1", "type": "Redos", "name": value}
    assert shared_api.post("/entityOperations/upsert", json=[entity]).is_success
    expected = re.search(pattern, "a" * 8 + "!") is not None  # same answer as re, on a text re can afford
    expected_id = re.search(pattern, "urn:ngsi-ld:Redos:1") is not None
    started = time.monotonic()
    by_q = shared_api.get("/entities", params={"type": "Redos", "q": f"name~={pattern}"})
    by_id = shared_api.get("/entities", params={"type": "Redos", "idPattern": pattern})
    elapsed = time.monotonic() - started
    assert by_q.status_code == 200 and by_id.status_code == 200, by_q.text + by_id.text
    assert elapsed < 2.0
    assert (by_q.json() != []) == expected
    assert (by_id.json() != []) == expected_id


def test_a_regex_too_costly_on_a_long_text_is_a_too_complex_query(shared_api: httpx.Client) -> None:
    # Linear in the text, but ~2,000 automaton steps per character for a pattern whose state sets never
    # repeat: on 50,000 characters that was 10 s of a blocked event loop; now the search gives up.
    rng = random.Random(3)
    entity = {
        "id": "urn:ngsi-ld:Long:1",
        "type": "Long",
        "name": "".join(rng.choice("ab") for _ in range(50_000)),
    }
    assert shared_api.post("/entityOperations/upsert", json=[entity]).is_success
    started = time.monotonic()
    response = shared_api.get("/entities", params={"type": "Long", "q": "name~=a.{1900}c"})
    assert time.monotonic() - started < 5.0
    assert "too costly" in assert_problem(response, 403, "TooComplexQuery")["detail"]
    fine = shared_api.get("/entities", params={"type": "Long", "q": "name~=^[ab]+$"})
    assert [e["id"] for e in fine.json()] == ["urn:ngsi-ld:Long:1"]


def test_a_subscription_with_an_evil_q_does_not_freeze_writes(
    api: httpx.Client, notification_receiver: NotificationReceiver
) -> None:
    subscribe(api, notification_receiver.endpoint(), q="name~=(a+)+$")
    started = time.monotonic()
    for number in range(5):
        entity = {"id": f"urn:ngsi-ld:T:w{number}", "type": "T", "name": "a" * 5000 + "!"}
        assert api.post("/entities", json=entity).status_code == 201
    assert api.post("/entities", json={"id": "urn:ngsi-ld:T:yes", "type": "T", "name": "aaa"}).is_success
    assert time.monotonic() - started < 3.0
    received = notification_receiver.wait_for(1)
    notification_receiver.assert_nothing_more(1, settle=0.2)
    assert received[0].body["data"][0]["id"] == "urn:ngsi-ld:T:yes"


@pytest.mark.parametrize(
    "pattern",
    [r"(a)\1", r"(?=a)b", r"(?<!a)b", r"a*+", r"(?>a+)", r"(a)?(?(1)b|c)", r"(a{50}){50}", "a" * 5000],
)
def test_regexes_a_finite_automaton_cannot_run_are_refused(shared_api: httpx.Client, pattern: str) -> None:
    by_q = shared_api.get("/entities", params={"type": "T", "q": f"name~={json.dumps(pattern)}"})
    assert "invalid q" in assert_problem(by_q, 400, "BadRequestData")["detail"]
    by_id = shared_api.get("/entities", params={"type": "T", "idPattern": pattern})
    assert "invalid idPattern" in assert_problem(by_id, 400, "BadRequestData")["detail"]
    sub = subscription("http://127.0.0.1:9/x", q=f"name~={json.dumps(pattern)}")
    assert_problem(shared_api.post("/subscriptions", json=sub), 400, "BadRequestData")
    sub = subscription("http://127.0.0.1:9/x", entities=[{"type": "T", "idPattern": pattern}])
    assert_problem(shared_api.post("/subscriptions", json=sub), 400, "BadRequestData")


def test_id_pattern_and_q_read_regexes_as_posix(shared_api: httpx.Client) -> None:
    # '$' is the very end (Python's would also match before a final line break), '.' matches a line break,
    # and [[:digit:]] is a POSIX class: idPattern and q (the same translation) agree.
    entities = [
        {"id": "urn:ngsi-ld:Posix:7", "type": "Posix", "name": "line\n"},
        {"id": "urn:ngsi-ld:Posix:x", "type": "Posix", "name": "a\nb"},
    ]
    assert shared_api.post("/entityOperations/upsert", json=entities).is_success

    def ids(**params: str) -> list[str]:
        response = shared_api.get("/entities", params={"type": "Posix", **params})
        assert response.status_code == 200, response.text
        return sorted(entity["id"].rsplit(":", 1)[-1] for entity in response.json())

    assert ids(idPattern="Posix:[[:digit:]]$") == ["7"]
    assert ids(q='name~="line$"') == []
    assert ids(q='name~="^a.b$"') == ["x"]


def test_type_selections_bind_semicolon_tighter_and_honour_parentheses(shared_api: httpx.Client) -> None:
    entities = [
        {"id": "urn:ngsi-ld:Sel:1", "type": ["SelA", "SelB"]},
        {"id": "urn:ngsi-ld:Sel:2", "type": ["SelC"]},
        {"id": "urn:ngsi-ld:Sel:3", "type": ["SelA"]},
        {"id": "urn:ngsi-ld:Sel:4", "type": ["SelA", "SelC"]},
    ]
    assert shared_api.post("/entityOperations/upsert", json=entities).is_success

    def ids(selection: str) -> list[str]:
        response = shared_api.get("/entities", params={"type": selection})
        assert response.status_code == 200, response.text
        return sorted(entity["id"].rsplit(":", 1)[-1] for entity in response.json())

    assert ids("SelA;(SelB|SelC)") == ["1", "4"]  # clause 4.17: A and (B or C)
    assert ids("SelA;SelB|SelC") == ["1", "2", "4"]  # (A and B) or C
    assert ids("(SelB,SelC);SelA") == ["1", "4"]
    for broken in ("((SelA)", "SelA;", "SelA)", "SelA||SelB"):
        response = shared_api.get("/entities", params={"type": broken})
        assert "invalid entity type selection" in assert_problem(response, 400, "BadRequestData")["detail"]
    # A selection whose expansion would be huge is refused before it is built, and not echoed whole.
    huge = "(" + "|".join(f"A{i}" for i in range(128)) + ");(" + ";".join(f"B{i}" for i in range(3000)) + ")"
    started = time.monotonic()
    problem = assert_problem(shared_api.get("/entities", params={"type": huge}), 400, "BadRequestData")
    assert time.monotonic() - started < 2.0
    assert "more than 10000 type names" in problem["detail"] and len(problem["detail"]) < 300


def test_patch_null_removes_an_optional_subscription_member(shared_api: httpx.Client) -> None:
    sub = subscription("http://127.0.0.1:9/x", q="name==1", throttling=5)
    created = shared_api.post("/subscriptions", json=sub)
    assert created.status_code == 201, created.text
    location = "/subscriptions/" + created.headers["Location"].rsplit("/", 1)[-1]
    assert shared_api.patch(location, json={"q": None}).status_code == 204
    stored = shared_api.get(location).json()
    assert "q" not in stored and stored["throttling"] == 5
    refused = shared_api.patch(location, json={"notification": None})
    assert "mandatory" in assert_problem(refused, 400, "BadRequestData")["detail"]
    refused = shared_api.patch(location, json={"entities": None})
    assert "'entities' or 'watchedAttributes'" in assert_problem(refused, 400, "BadRequestData")["detail"]
    assert shared_api.get(location).json()["entities"] == sub["entities"]  # a refused PATCH changes nothing


@pytest.mark.parametrize(
    "q",
    [
        "(" * 65 + "a" + ")" * 65,
        "(" * 3000 + "a" + ")" * 3000,
        "a" + "{b" * 100 + "}" * 100,
        ";".join(["a==1"] * 500),
        "a==" + ",".join(["1"] * 1000),
        "a~=",
        "a~=[",
        "a~=(",
        "a==urn:ngsi-ld:null",
    ],
)
def test_evil_q_strings_get_a_problem_or_an_answer(shared_api: httpx.Client, q: str) -> None:
    started = time.monotonic()
    response = shared_api.get("/entities", params={"type": "T", "q": q})
    assert time.monotonic() - started < 2.0
    if response.status_code != 200:
        assert_problem(response, 400, "BadRequestData")


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        ("GET", "/entities/urn:ngsi-ld:T:1", {"pick": "name"}),
        ("GET", "/entities/urn:ngsi-ld:T:1", {"omit": "name"}),
        ("GET", "/entities", {"type": "T", "join": "inline"}),
        ("GET", "/entities", {"type": "T", "datasetId": "urn:x"}),
        ("GET", "/entities", {"type": "T", "expandValues": "name"}),
        ("GET", "/entities/urn:ngsi-ld:T:1", {"jsonKeys": "name"}),
        ("POST", "/entityOperations/query", {}),
        ("POST", "/entityOperations/merge", {}),
    ],
)
def test_what_the_broker_does_not_implement_is_refused_not_ignored(
    shared_api: httpx.Client, method: str, path: str, params: dict[str, str]
) -> None:
    body = {"type": "Query", "entities": [{"type": "T"}]} if path.endswith("query") else [{"id": "urn:x:1"}]
    response = shared_api.request(method, path, params=params, json=body if method == "POST" else None)
    assert "does not implement" in assert_problem(response, 422, "OperationNotSupported")["detail"]


def test_a_subscription_id_that_is_no_uri_is_a_bad_request(shared_api: httpx.Client) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        response = shared_api.request(
            method, "/subscriptions/notauri", json={} if method == "PATCH" else None
        )
        assert "not an absolute URI" in assert_problem(response, 400, "BadRequestData")["detail"]


def test_linear_regex_agrees_with_re() -> None:
    atoms = ["a", "b", ".", "[ab]", "[^a]", r"\d", r"\w", r"\s", r"\b", r"\B", "^", "$", "(a|bc)"]
    atoms += ["(?:ab|a)", r"[a-c\d]", "A", r"\W", r"\S", "\n", "(?i:a)", "(?s:.)", r"[^\w]", r"\A", r"\Z"]
    quantifiers = ["", "", "*", "+", "?", "{2}", "{1,3}", "*?", "{0,2}"]
    rng = random.Random(7)
    texts = ["", "a", "ab", "aab", "ba", "A", "a\n", "\na", "a\nb", "x1 y", "bcbc", "é_", "aaaaab", "abab\n"]
    checked = 0
    for _ in range(600):
        parts = []
        for _ in range(rng.randint(1, 4)):
            atom = rng.choice(atoms)
            parts.append(
                atom if atom in ("^", "$", r"\b", r"\B", r"\A", r"\Z") else atom + rng.choice(quantifiers)
            )
            if rng.random() < 0.15:
                parts = ["(" + "".join(parts) + ")" + rng.choice(["*", "+", "?", ""])]
        pattern = rng.choice(["", "", "(?i)", "(?m)"]) + rng.choice(["", "|"]).join(parts)
        try:
            expected = re.compile(pattern)
        except re.error:
            with pytest.raises(UnsupportedRegex):
                LinearRegex(pattern)
            continue
        linear = LinearRegex(pattern)
        for text in [*texts, "".join(rng.choice("ab\n1 xA_") for _ in range(rng.randint(0, 8)))]:
            assert (linear.search(text) is not None) == (expected.search(text) is not None), (pattern, text)
            checked += 1
    assert checked > 5000


# ------------------------------------------------------------------------------------------------ pagination


PARAMETER_CASES = [
    ({"limit": "0"}, 400),
    ({"limit": "0", "count": "true"}, 200),
    ({"limit": "-1"}, 400),
    ({"offset": "-1"}, 400),
    ({"offset": "100000000000000"}, 200),
    ({"offset": "1" * 40}, 400),
    ({"limit": "1001"}, 400),
    ({"limit": "1e2"}, 400),
    ({"limit": "\u0663"}, 400),  # an Arabic-Indic 3, which int() accepts
    ({"limit": " 5"}, 400),
    ({"limit": "1_0"}, 400),
    ({"limit": ""}, 400),
    ({"id": "not-a-uri"}, 400),
    ({"id": "urn:ngsi-ld:T:p0,,urn:ngsi-ld:T:p1"}, 200),
    ({"attrs": ","}, 400),
    ({"type": "T;"}, 400),
    ({"idPattern": "["}, 400),
]


def test_pagination_and_parameter_edges(api: httpx.Client) -> None:
    for number in range(3):
        entity = {"id": f"urn:ngsi-ld:T:p{number}", "type": "T", "n": number}
        assert api.post("/entities", json=entity).is_success
    for params, status in PARAMETER_CASES:
        response = api.get("/entities", params={"type": "T", **params})
        if status != 200:
            assert_problem(response, status, "BadRequestData")
            continue
        assert response.status_code == 200, (params, response.text)
        if params.get("count") == "true":
            assert response.json() == [] and response.headers["NGSILD-Results-Count"] == "3"
        elif "offset" in params:
            assert response.json() == []
        else:
            assert [e["id"] for e in response.json()] == ["urn:ngsi-ld:T:p0", "urn:ngsi-ld:T:p1"]


def test_subscription_pagination(api: httpx.Client) -> None:
    for _ in range(5):
        subscribe(api, "http://127.0.0.1:9/x")
    assert len(api.get("/subscriptions", params={"limit": 2, "offset": 4}).json()) == 1
    assert api.get("/subscriptions", params={"offset": 99}).json() == []
    counted = api.get("/subscriptions", params={"limit": 0, "count": "true"})
    assert counted.json() == [] and counted.headers["NGSILD-Results-Count"] == "5"
    assert_problem(api.get("/subscriptions", params={"limit": "-3"}), 400, "BadRequestData")


# ------------------------------------------------------------------------------------- subscription endpoints


@pytest.mark.parametrize(
    ("uri", "status", "name"),
    [
        ("ftp://127.0.0.1/x", 422, "OperationNotSupported"),
        ("mqtt://127.0.0.1:1883/topic", 422, "OperationNotSupported"),
        ("urn:ngsi-ld:Endpoint:1", 422, "OperationNotSupported"),
        ("not a uri", 400, "BadRequestData"),
        ("", 400, "BadRequestData"),
        ("/relative/path", 400, "BadRequestData"),
        ("http://[::1/broken", 400, "BadRequestData"),
        ("http:///no-host", 400, "BadRequestData"),
        ("http://127.0.0.1:99999/port", 400, "BadRequestData"),
    ],
)
def test_non_http_endpoints_are_refused(shared_api: httpx.Client, uri: str, status: int, name: str) -> None:
    assert_problem(shared_api.post("/subscriptions", json=subscription(uri)), status, name)


def test_unreachable_and_failing_receivers_are_counted_not_retried(
    api: httpx.Client, notification_receiver: NotificationReceiver
) -> None:
    refused = subscribe(api, "http://127.0.0.1:9/nobody")
    notification_receiver.status_code = 500
    failing = subscribe(api, notification_receiver.endpoint())
    assert api.post("/entities", json={"id": "urn:ngsi-ld:T:r", "type": "T", "a": 1}).status_code == 201
    notification_receiver.wait_for(1)
    for sub_id in (refused, failing):
        wait_until(lambda sub_id=sub_id: stats(api, sub_id)["timesSent"] == 1, f"the attempt of {sub_id}")
        assert stats(api, sub_id)["timesFailed"] == 1 and stats(api, sub_id)["status"] == "failed"
    notification_receiver.assert_nothing_more(1)  # no retry
    assert api.get("/entities/urn:ngsi-ld:T:r").status_code == 200


def test_an_endpoint_at_the_broker_itself_cannot_loop(broker_url: str) -> None:
    with api_client(broker_url) as api:
        own = subscription(broker_url + "/ngsi-ld/v1/entities", entities=[{"type": "Notification"}])
        assert "loop" in assert_problem(api.post("/subscriptions", json=own), 400, "BadRequestData")["detail"]
    # The same broker under another name (here: the client called it by another Host): the subscription is
    # created, but the broker refuses the notifications it sends to itself. Before, each notification was
    # stored as a new Notification entity, which notified again: ~40 entities a second, without end.
    with api_client(broker_url, Host="broker.example:1026") as api:
        notification = {
            "attributes": ["subscriptionId"],
            "endpoint": {"uri": broker_url + "/ngsi-ld/v1/entities"},
        }
        sub_id = subscribe(
            api, "", entities=[{"type": "Notification"}, {"type": "T"}], notification=notification
        )
        assert (
            api.post("/entities", json={"id": "urn:ngsi-ld:T:loop", "type": "T", "a": 1}).status_code == 201
        )
        wait_until(lambda: stats(api, sub_id)["timesSent"] >= 1, "the notification")
        time.sleep(0.3)
        assert stats(api, sub_id)["timesSent"] == 1 and stats(api, sub_id)["timesFailed"] == 1
        counted = api.get("/entities", params={"type": "Notification", "count": "true", "limit": 0})
        assert counted.headers["NGSILD-Results-Count"] == "0"
    # Another client may still send that header name, with a value that is not this broker's id.
    with api_client(broker_url) as api:
        other = api.post(
            "/entities", json={"id": "urn:ngsi-ld:T:other", "type": "T"}, headers={NOTIFIER_HEADER: "someone"}
        )
        assert other.status_code == 201


class GatedReceiver:
    """A receiver that holds every request until ``release()`` (bounded: 15 s at most), then answers 200."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.arrived: list[Any] = []
        self.lock = threading.Lock()

    def app(self) -> Starlette:
        async def hold(request: Request) -> Response:
            body = orjson.loads(await request.body())
            with self.lock:
                self.arrived.append(body)
            deadline = time.monotonic() + 15
            while not self.gate.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            return Response(status_code=200)

        return Starlette(routes=[Route("/{path:path}", hold, methods=["POST"])])

    def release(self) -> None:
        self.gate.set()

    def ids(self) -> list[str]:
        with self.lock:
            return [entity["id"] for body in self.arrived for entity in body["data"]]


@pytest.fixture
def gated(serve_app: Callable[..., RunningServer]) -> Iterator[tuple[GatedReceiver, str]]:
    receiver = GatedReceiver()
    url = serve_app(receiver.app()).url
    yield receiver, url
    receiver.release()


def test_receivers_that_hang_do_not_starve_the_others(
    api: httpx.Client, gated: tuple[GatedReceiver, str], notification_receiver: NotificationReceiver
) -> None:
    # Before: the notifier's one HTTP client allowed 100 connections; 100 receivers that hang held them all,
    # and the healthy receiver's notification waited for a free one until its timeout: counted as failed.
    receiver, url = gated
    for index in range(101):
        subscribe(api, f"{url}/hang/{index}")
    healthy = subscribe(api, notification_receiver.endpoint())
    started = time.monotonic()
    assert api.post("/entities", json={"id": "urn:ngsi-ld:T:h", "type": "T", "a": 1}).status_code == 201
    notification_receiver.wait_for(1, timeout=3)
    assert time.monotonic() - started < 3
    wait_until(lambda: len(receiver.ids()) == 101, "every hanging receiver to be called")
    receiver.release()
    wait_until(lambda: stats(api, healthy)["timesSent"] == 1, "the healthy notification to be recorded")
    assert stats(api, healthy)["status"] == "ok"


def test_a_slow_receiver_has_a_bounded_queue(
    broker_factory: Callable[..., RunningServer], gated: tuple[GatedReceiver, str]
) -> None:
    receiver, url = gated
    broker = broker_factory(max_pending_notifications=3)
    with api_client(broker.url) as api:
        sub_id = subscribe(api, url + "/slow", watchedAttributes=["n"])
        assert api.post("/entities", json={"id": "urn:ngsi-ld:T:q", "type": "T", "n": 0}).status_code == 201
        wait_until(lambda: len(receiver.ids()) == 1, "the first notification to be in flight")
        for value in range(1, 10):  # 3 wait behind the one in flight, 6 are dropped
            assert api.patch("/entities/urn:ngsi-ld:T:q/attrs", json={"n": value}).status_code == 204
        assert stats(api, sub_id)["timesFailed"] == 6
        receiver.release()
        wait_until(lambda: stats(api, sub_id)["timesSent"] == 10, "every notification to be accounted for")
        assert stats(api, sub_id)["timesFailed"] == 6
        assert len(receiver.ids()) == 4


def test_queued_notifications_of_a_deleted_subscription_are_dropped(
    api: httpx.Client, gated: tuple[GatedReceiver, str]
) -> None:
    receiver, url = gated
    sub_id = subscribe(api, url + "/gone", watchedAttributes=["n"])
    assert api.post("/entities", json={"id": "urn:ngsi-ld:T:d", "type": "T", "n": 0}).status_code == 201
    wait_until(lambda: len(receiver.ids()) == 1, "the first notification to be in flight")
    for value in range(1, 4):
        assert api.patch("/entities/urn:ngsi-ld:T:d/attrs", json={"n": value}).status_code == 204
    assert api.delete(f"/subscriptions/{sub_id}").status_code == 204
    receiver.release()
    time.sleep(0.3)
    assert len(receiver.ids()) == 1


def test_notifications_queued_at_shutdown_are_sent_after_a_restart(
    broker_factory: Callable[..., RunningServer], gated: tuple[GatedReceiver, str], tmp_path: Any
) -> None:
    # Before: they lived only in memory; a broker stopped while a receiver was slow lost them for good (and
    # with them, the runtime's predictions for those entities).
    receiver, url = gated
    db_path = tmp_path / "restart" / "broker.sqlite"
    first = broker_factory(db_path)
    with api_client(first.url) as api:
        sub_id = subscribe(
            api, url + "/later", notification={"endpoint": {"uri": url + "/later", "timeout": 20000}}
        )
        for number in range(4):
            entity = {"id": f"urn:ngsi-ld:T:s{number}", "type": "T", "a": number}
            assert api.post("/entities", json=entity).status_code == 201
        wait_until(lambda: len(receiver.ids()) == 1, "the first notification to be in flight")
    first.stop()  # the broker gives up on the one in flight; three never left
    receiver.release()
    assert receiver.ids() == ["urn:ngsi-ld:T:s0"]

    second = broker_factory(db_path)
    expected = {f"urn:ngsi-ld:T:s{number}" for number in range(4)}
    wait_until(lambda: set(receiver.ids()) == expected, "the queued notifications after the restart")
    with api_client(second.url) as api:
        wait_until(lambda: stats(api, sub_id)["timesSent"] == 4, "the deliveries to be counted")
        assert stats(api, sub_id)["timesFailed"] == 0
    time.sleep(0.2)
    assert sorted(receiver.ids()) == ["urn:ngsi-ld:T:s0", *sorted(expected)]  # at least once: s0 twice


def test_many_subscriptions_all_notified(
    api: httpx.Client, notification_receiver: NotificationReceiver
) -> None:
    for index in range(200):
        subscribe(api, notification_receiver.endpoint(f"/many/{index}"))
    assert api.post("/entities", json={"id": "urn:ngsi-ld:T:m", "type": "T", "a": 1}).status_code == 201
    received = notification_receiver.wait_for(200, timeout=15)
    assert len({r.path for r in received}) == 200
    notification_receiver.assert_nothing_more(200, settle=0.2)


# ---------------------------------------------------------------------------------------------- concurrency


def test_parallel_creates_of_the_same_id_give_exactly_one_201(broker_url: str) -> None:
    async def race() -> dict[str, list[int]]:
        async with httpx.AsyncClient(
            base_url=broker_url + "/ngsi-ld/v1", trust_env=False, limits=httpx.Limits(max_connections=40)
        ) as client:
            entity = {"id": "urn:ngsi-ld:T:race", "type": "T", "a": 1}
            sub = subscription("http://127.0.0.1:9/x", id="urn:ngsi-ld:Subscription:race")
            batch = [{"id": "urn:ngsi-ld:T:race-batch", "type": "T"}]
            results = {}
            for name, path, body in (
                ("entity", "/entities", entity),
                ("subscription", "/subscriptions", sub),
                ("batch", "/entityOperations/create", batch),
                ("upsert", "/entityOperations/upsert", [{"id": "urn:ngsi-ld:T:race-up", "type": "T"}]),
            ):
                responses = await asyncio.gather(*(client.post(path, json=body) for _ in range(40)))
                results[name] = sorted(r.status_code for r in responses)
            return results

    results = asyncio.run(race())
    assert results["entity"] == [201] + [409] * 39
    assert results["subscription"] == [201] + [409] * 39
    assert results["batch"] == [201] + [207] * 39
    assert results["upsert"] == [201] + [204] * 39


# ------------------------------------------------------------------------------------------------- memory


def test_term_caches_stay_bounded(
    broker_factory: Callable[..., RunningServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(contexts, "_TERM_CACHE_LIMIT", 50)
    broker = broker_factory()
    with api_client(broker.url) as api:
        for index in range(120):  # every distinct type or attribute name used to stay in memory forever
            assert (
                api.get("/entities", params={"type": f"Type{index}", "attrs": f"a{index}"}).status_code == 200
            )
        core = broker.server.config.app.state.broker.loader.core()
        assert len(core._expanded) <= 50
