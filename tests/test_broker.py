"""The embedded NGSI-LD broker over real HTTP (uvicorn on loopback), with a real notification receiver."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import orjson
import pytest

from sdmtool.resources import CORE_CONTEXT_URL, SUBJECT_CONTEXT_URL, subject_context_path
from tests.support import CONTEXT_REL, ERRORS, LINK, api_client, assert_problem

if TYPE_CHECKING:  # the fixtures' types; conftest is not imported at run time
    from conftest import NotificationReceiver, RunningServer

pytestmark = pytest.mark.skipif(
    not subject_context_path().is_file(), reason="the bundled subject context is not generated yet"
)

SDM = "https://smartdatamodels.org/dataModel.MachineLearning/"
DEFAULT_VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"
MODEL_ID = "urn:ngsi-ld:MLModel:HandwrittenDigitPrediction"


def digit(number: int, **attrs: Any) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "id": f"urn:ngsi-ld:HandwritingDigit:{number:04d}",
        "type": "HandwritingDigit",
        "imagePath": {"type": "Property", "value": f"file:///data/digits/{number:04d}.png"},
        "refMLModel": {"type": "Relationship", "object": MODEL_ID},
    }
    entity.update(attrs)
    return entity


def create(api: httpx.Client, entity: dict[str, Any]) -> httpx.Response:
    response = api.post("/entities", json=entity, headers={"Link": LINK})
    assert response.status_code == 201, response.text
    return response


def subscribe(api: httpx.Client, receiver: NotificationReceiver, **members: Any) -> str:
    body: dict[str, Any] = {
        "type": "Subscription",
        "entities": [{"type": "HandwritingDigit"}],
        "notification": {"endpoint": {"uri": receiver.endpoint(), "accept": "application/json"}},
    }
    notification = members.pop("notification", {})
    body.update(members)
    body["notification"].update(notification)
    response = api.post("/subscriptions", json=body, headers={"Link": LINK})
    assert response.status_code == 201, response.text
    return response.headers["Location"].rsplit("/", 1)[-1]


def wait_for_stats(
    api: httpx.Client, sub_id: str, predicate: Callable[[dict[str, Any]], bool], timeout: float = 5.0
) -> dict[str, Any]:
    """The subscription's notification statistics once ``predicate`` holds: the receiver may see a
    notification a moment before the broker has recorded the answer."""
    deadline = time.monotonic() + timeout
    while True:
        stats: dict[str, Any] = api.get(f"/subscriptions/{sub_id}").json()["notification"]
        if predicate(stats):
            return stats
        if time.monotonic() > deadline:
            raise AssertionError(f"statistics never matched: {stats}")
        time.sleep(0.02)


# ------------------------------------------------------------------------------------------------ entities


def test_create_and_retrieve(api: httpx.Client) -> None:
    response = create(api, digit(7, confidence=0.9))  # concise: a bare value is a Property
    assert response.headers["Location"] == "/ngsi-ld/v1/entities/urn:ngsi-ld:HandwritingDigit:0007"

    got = api.get("/entities/urn:ngsi-ld:HandwritingDigit:0007", headers={"Link": LINK})
    assert got.status_code == 200
    assert got.headers["content-type"] == "application/json"
    assert got.headers["Link"] == LINK
    assert got.json() == {
        "id": "urn:ngsi-ld:HandwritingDigit:0007",
        "type": "HandwritingDigit",
        "imagePath": {"type": "Property", "value": "file:///data/digits/0007.png"},
        "refMLModel": {"type": "Relationship", "object": MODEL_ID},
        "confidence": {"type": "Property", "value": 0.9},
    }
    key_values = api.get(
        "/entities/urn:ngsi-ld:HandwritingDigit:0007",
        params={"options": "keyValues", "attrs": "confidence,refMLModel"},
        headers={"Link": LINK},
    ).json()
    assert key_values == {
        "id": "urn:ngsi-ld:HandwritingDigit:0007",
        "type": "HandwritingDigit",
        "refMLModel": MODEL_ID,
        "confidence": 0.9,
    }
    concise = api.get(
        "/entities/urn:ngsi-ld:HandwritingDigit:0007", params={"format": "concise"}, headers={"Link": LINK}
    ).json()
    assert concise["confidence"] == 0.9 and concise["refMLModel"] == {"object": MODEL_ID}


def test_retrieve_as_json_ld(api: httpx.Client) -> None:
    create(api, digit(1))
    got = api.get(
        "/entities/urn:ngsi-ld:HandwritingDigit:0001", headers={"Link": LINK, "Accept": "application/ld+json"}
    )
    assert got.headers["content-type"] == "application/ld+json"
    assert got.json()["@context"] == SUBJECT_CONTEXT_URL
    assert "Link" not in got.headers
    not_acceptable = api.get("/entities/urn:ngsi-ld:HandwritingDigit:0001", headers={"Accept": "text/html"})
    assert_problem(not_acceptable, 406, "NotAcceptable")


def test_create_with_body_context(api: httpx.Client) -> None:
    entity = {**digit(2), "@context": [SUBJECT_CONTEXT_URL, CORE_CONTEXT_URL]}
    response = api.post(
        "/entities", content=orjson.dumps(entity), headers={"Content-Type": "application/ld+json"}
    )
    assert response.status_code == 201, response.text
    got = api.get("/entities/urn:ngsi-ld:HandwritingDigit:0002", headers={"Link": LINK}).json()
    assert got["type"] == "HandwritingDigit" and "imagePath" in got


def test_query_by_type_and_q(api: httpx.Client) -> None:
    for number in range(5):
        create(
            api, digit(number, annotatedDigit=number, confidence={"type": "Property", "value": number / 10})
        )
    create(api, {"id": "urn:ngsi-ld:MLModel:x", "type": "MLModel", "algorithm": "CNN"})

    def ids(**params: Any) -> list[str]:
        response = api.get("/entities", params=params, headers={"Link": LINK})
        assert response.status_code == 200, response.text
        return [e["id"][-1] for e in response.json()]

    assert ids(type="HandwritingDigit") == ["0", "1", "2", "3", "4"]
    assert ids(type="HandwritingDigit", q="annotatedDigit>=3") == ["3", "4"]
    assert ids(type="HandwritingDigit", q="annotatedDigit==1..2|confidence>0.35") == ["1", "2", "4"]
    assert ids(type="HandwritingDigit", q=f"refMLModel=={MODEL_ID};annotatedDigit<1") == ["0"]
    assert ids(type="HandwritingDigit", limit=2, offset=1) == ["1", "2"]
    assert ids(type="HandwritingDigit,MLModel", q="algorithm") == ["x"]
    assert ids(idPattern="HandwritingDigit:000[24]") == ["2", "4"]
    assert ids(q='imagePath=="file:///data/digits/0003.png"') == ["3"]

    counted = api.get("/entities", params={"type": "MLModel", "count": "true"}, headers={"Link": LINK})
    assert counted.headers["NGSILD-Results-Count"] == "1"
    key_values = api.get(
        "/entities",
        params={"type": "HandwritingDigit", "options": "keyValues", "limit": 1},
        headers={"Link": LINK},
    ).json()
    assert key_values[0]["annotatedDigit"] == 0 and key_values[0]["refMLModel"] == MODEL_ID

    bad_q = api.get(
        "/entities", params={"type": "HandwritingDigit", "q": "annotatedDigit>>3"}, headers={"Link": LINK}
    )
    assert "position 15" in assert_problem(bad_q, 400, "BadRequestData")["detail"]
    assert_problem(api.get("/entities"), 400, "BadRequestData")


def test_context_mismatch_yields_no_match(api: httpx.Client) -> None:
    create(api, {"id": MODEL_ID, "type": "MLModel", "algorithm": "CNN"})
    # Without the Link header the core @vocab applies: MLModel means .../default-context/MLModel.
    assert api.get("/entities", params={"type": "MLModel"}).json() == []
    assert len(api.get("/entities", params={"type": "MLModel"}, headers={"Link": LINK}).json()) == 1
    assert len(api.get("/entities", params={"type": SDM + "MLModel"}).json()) == 1
    # Retrieved without the context, terms come back as IRIs.
    expanded = api.get(f"/entities/{MODEL_ID}").json()
    assert expanded["type"] == SDM + "MLModel" and SDM + "algorithm" in expanded
    # Created without a context, the entity lives under the default vocabulary.
    create_plain = api.post("/entities", json={"id": "urn:ngsi-ld:MLModel:plain", "type": "MLModel"})
    assert create_plain.status_code == 201
    plain = api.get("/entities", params={"type": DEFAULT_VOCAB + "MLModel"}).json()
    assert [e["id"] for e in plain] == ["urn:ngsi-ld:MLModel:plain"]


def test_append_patch_delete(api: httpx.Client) -> None:
    create(api, digit(3))
    entity_url = "/entities/urn:ngsi-ld:HandwritingDigit:0003"
    appended = api.post(
        f"{entity_url}/attrs",
        json={"predictedDigit": {"type": "Property", "value": 3, "observedAt": "2026-01-01T00:00:00Z"}},
        headers={"Link": LINK},
    )
    assert appended.status_code == 204, appended.text
    patched = api.patch(f"{entity_url}/attrs", json={"predictedDigit": 8}, headers={"Link": LINK})
    assert patched.status_code == 204
    partial = api.patch(
        f"{entity_url}/attrs",
        json={"predictedDigit": 5, "unknownAttr": {"type": "Property", "value": 1}},
        headers={"Link": LINK},
    )
    assert partial.status_code == 207
    assert partial.json() == {
        "updated": ["predictedDigit"],
        "notUpdated": [{"attributeName": "unknownAttr", "reason": "attribute not found"}],
    }
    got = api.get(entity_url, params={"options": "keyValues"}, headers={"Link": LINK}).json()
    assert got["predictedDigit"] == 5 and "unknownAttr" not in got

    no_overwrite = api.post(
        f"{entity_url}/attrs",
        params={"options": "noOverwrite"},
        json={"predictedDigit": 1},
        headers={"Link": LINK},
    )
    assert no_overwrite.status_code == 207
    assert (
        api.patch(f"{entity_url}/attrs/predictedDigit", json={"value": 6}, headers={"Link": LINK}).status_code
        == 204
    )
    assert (
        api.get(entity_url, params={"options": "keyValues"}, headers={"Link": LINK}).json()["predictedDigit"]
        == 6
    )
    assert api.delete(f"{entity_url}/attrs/predictedDigit", headers={"Link": LINK}).status_code == 204
    assert "predictedDigit" not in api.get(entity_url, headers={"Link": LINK}).json()

    assert api.delete(entity_url).status_code == 204
    assert_problem(api.get(entity_url), 404, "ResourceNotFound")
    assert_problem(api.delete(entity_url), 404, "ResourceNotFound")
    assert_problem(api.post(f"{entity_url}/attrs", json={"a": 1}), 404, "ResourceNotFound")


def test_multi_instance_write_back(api: httpx.Client) -> None:
    create(api, digit(4))
    for model in ("a", "b"):
        response = api.post(
            "/entities/urn:ngsi-ld:HandwritingDigit:0004/attrs",
            json={
                "predictedDigit": {
                    "type": "Property",
                    "value": 4,
                    "datasetId": f"urn:ngsi-ld:MLModel:{model}",
                }
            },
            headers={"Link": LINK},
        )
        assert response.status_code == 204
    got = api.get("/entities/urn:ngsi-ld:HandwritingDigit:0004", headers={"Link": LINK}).json()
    assert [i["datasetId"] for i in got["predictedDigit"]] == [
        "urn:ngsi-ld:MLModel:a",
        "urn:ngsi-ld:MLModel:b",
    ]
    key_values = api.get(
        "/entities/urn:ngsi-ld:HandwritingDigit:0004", params={"options": "keyValues"}, headers={"Link": LINK}
    ).json()
    assert key_values["predictedDigit"] == {
        "dataset": {"urn:ngsi-ld:MLModel:a": 4, "urn:ngsi-ld:MLModel:b": 4}
    }


@pytest.mark.parametrize(
    ("entity", "fragment"),
    [
        ({"type": "HandwritingDigit"}, "no 'id'"),
        ({"id": "not a uri", "type": "HandwritingDigit"}, "absolute URI"),
        ({"id": "urn:ngsi-ld:X:1"}, "no 'type'"),
        ({"id": "urn:ngsi-ld:X:1", "type": "X", "a": {"type": "Property"}}, "'value'"),
        ({"id": "urn:ngsi-ld:X:1", "type": "X", "a": {"type": "Relationship", "object": "nope"}}, "URI"),
        (
            {
                "id": "urn:ngsi-ld:X:1",
                "type": "X",
                "a": {"type": "Property", "value": 1, "object": "urn:a:b"},
            },
            "cannot",
        ),
        ({"id": "urn:ngsi-ld:X:1", "type": "X", "a": {"type": "Thing", "value": 1}}, "'type' must be"),
        ({"id": "urn:ngsi-ld:X:1", "type": "X", "a": {"value": 1, "observedAt": "yesterday"}}, "observedAt"),
        ({"id": "urn:ngsi-ld:X:1", "type": "X", "location": {"value": 1}}, "GeoProperty"),
        ({"id": "urn:ngsi-ld:X:1", "type": "X", "a(b)": 1}, "forbidden character"),
        ({"id": "urn:ngsi-ld:X:1", "type": "X", "value": 1}, "reserved"),
        ({"id": "urn:ngsi-ld:X:1", "type": "X", "a": None}, "null"),
    ],
)
def test_create_rejects_bad_shapes(shared_api: httpx.Client, entity: dict[str, Any], fragment: str) -> None:
    problem = assert_problem(shared_api.post("/entities", json=entity), 400, "BadRequestData")
    assert fragment in problem["detail"]


def test_error_statuses(api: httpx.Client) -> None:
    create(api, digit(5))
    assert_problem(api.post("/entities", json=digit(5), headers={"Link": LINK}), 409, "AlreadyExists")
    assert_problem(api.get("/entities/urn:ngsi-ld:HandwritingDigit:9999"), 404, "ResourceNotFound")
    not_json = api.post("/entities", content=b"{not json", headers={"Content-Type": "application/json"})
    assert_problem(not_json, 400, "InvalidRequest")
    text = api.post("/entities", content=b"id=1", headers={"Content-Type": "text/plain"})
    assert_problem(text, 415, "UnsupportedMediaType")
    assert_problem(api.put("/subscriptions"), 405, "MethodNotAllowed")
    tenant = api.get("/entities", params={"type": "X"}, headers={"NGSILD-Tenant": "other"})
    assert_problem(tenant, 501, "NoMultiTenantSupport")


def test_content_type_and_context_rules(api: httpx.Client) -> None:
    with_context = {**digit(6), "@context": SUBJECT_CONTEXT_URL}
    body = orjson.dumps(with_context)
    mixed = api.post("/entities", content=body, headers={"Content-Type": "application/ld+json", "Link": LINK})
    assert_problem(mixed, 400, "BadRequestData")
    json_with_context = api.post("/entities", content=body, headers={"Content-Type": "application/json"})
    assert_problem(json_with_context, 400, "BadRequestData")
    ld_without_context = api.post(
        "/entities", content=orjson.dumps(digit(6)), headers={"Content-Type": "application/ld+json"}
    )
    assert_problem(ld_without_context, 400, "BadRequestData")
    unknown = api.post(
        "/entities",
        json=digit(6),
        headers={"Link": f'<https://example.org/unknown.jsonld>; rel="{CONTEXT_REL}"'},
    )
    problem = assert_problem(unknown, 503, "LdContextNotAvailable")
    assert "https://example.org/unknown.jsonld" in problem["detail"]
    assert "--context URL=FILE" in problem["detail"]  # how to make it known
    protected = api.post(
        "/entities",
        content=orjson.dumps(
            {**digit(6), "@context": [CORE_CONTEXT_URL, {"status": "https://example.org/s"}]}
        ),
        headers={"Content-Type": "application/ld+json"},
    )
    assert "protected" in assert_problem(protected, 400, "BadRequestData")["detail"]


@pytest.mark.parametrize(
    "core",
    [
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld",
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.6.jsonld",
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.9.jsonld",
    ],
)
def test_every_name_of_the_core_context_is_the_core_context(api: httpx.Client, core: str) -> None:
    # Clients name the core context by any of its published URLs; the broker applies its own copy.
    body = {**digit(7), "@context": [SUBJECT_CONTEXT_URL, core]}
    created = api.post(
        "/entities", content=orjson.dumps(body), headers={"Content-Type": "application/ld+json"}
    )
    assert created.status_code == 201, created.text
    link = f'<{core}>; rel="{CONTEXT_REL}"; type="application/ld+json"'
    found = api.get("/entities", params={"type": SDM + "HandwritingDigit"}, headers={"Link": link})
    assert found.status_code == 200, found.text
    assert [entity["id"] for entity in found.json()] == [digit(7)["id"]]


def test_batch_upsert(api: httpx.Client) -> None:
    batch = [digit(n) for n in range(3)]
    first = api.post("/entityOperations/upsert", json=batch, headers={"Link": LINK})
    assert first.status_code == 201 and len(first.json()) == 3
    again = api.post("/entityOperations/upsert", json=batch, headers={"Link": LINK})
    assert again.status_code == 204
    created = api.post("/entityOperations/create", json=[digit(2), digit(3)], headers={"Link": LINK})
    assert created.status_code == 207
    assert created.json()["success"] == ["urn:ngsi-ld:HandwritingDigit:0003"]
    assert created.json()["errors"][0]["error"]["type"] == ERRORS + "AlreadyExists"


def test_batch_update_with_no_overwrite_keeps_what_exists_and_succeeds(api: httpx.Client) -> None:
    create(api, digit(5, predictedDigit={"type": "Property", "value": 5}))
    update = {
        "id": digit(5)["id"],
        "type": "HandwritingDigit",
        "predictedDigit": {"type": "Property", "value": 6},
        "confidence": {"type": "Property", "value": 0.9},
    }
    response = api.post(
        "/entityOperations/update", json=[update], params={"options": "noOverwrite"}, headers={"Link": LINK}
    )
    assert response.status_code == 204, response.text  # every entity succeeded
    stored = api.get(f"/entities/{digit(5)['id']}", params={"options": "keyValues"}, headers={"Link": LINK})
    assert (stored.json()["predictedDigit"], stored.json()["confidence"]) == (5, 0.9)


# ---------------------------------------------------------------------------------------------- subscriptions


def test_subscription_crud(api: httpx.Client, notification_receiver: NotificationReceiver) -> None:
    sub_id = subscribe(
        api,
        notification_receiver,
        id="urn:ngsi-ld:Subscription:digits",
        watchedAttributes=["imagePath"],
        q=f"refMLModel=={MODEL_ID}",
        throttling=0.5,
    )
    assert sub_id == "urn:ngsi-ld:Subscription:digits"
    got = api.get(f"/subscriptions/{sub_id}", headers={"Link": LINK})
    assert got.status_code == 200
    sub = got.json()
    assert sub["entities"] == [{"type": "HandwritingDigit"}]
    assert sub["watchedAttributes"] == ["imagePath"]
    assert sub["q"] == f"refMLModel=={MODEL_ID}"
    assert sub["status"] == "active" and sub["isActive"] is True
    assert sub["notification"]["timesSent"] == 0
    assert sub["notification"]["endpoint"]["uri"] == notification_receiver.endpoint()
    # Compacted per request: without the context the type is an IRI.
    assert api.get(f"/subscriptions/{sub_id}").json()["entities"] == [{"type": SDM + "HandwritingDigit"}]

    duplicate = api.post(
        "/subscriptions",
        json={
            "type": "Subscription",
            "id": sub_id,
            "entities": [{"type": "X"}],
            "notification": {"endpoint": {"uri": "http://127.0.0.1:9/x"}},
        },
    )
    assert_problem(duplicate, 409, "AlreadyExists")
    generated = subscribe(api, notification_receiver)
    assert generated.startswith("urn:ngsi-ld:Subscription:")
    assert [s["id"] for s in api.get("/subscriptions").json()] == [sub_id, generated]
    assert api.patch(f"/subscriptions/{sub_id}", json={"isActive": False}).status_code == 204
    assert api.get(f"/subscriptions/{sub_id}").json()["status"] == "paused"
    assert api.delete(f"/subscriptions/{sub_id}").status_code == 204
    assert_problem(api.get(f"/subscriptions/{sub_id}"), 404, "ResourceNotFound")
    assert_problem(api.delete(f"/subscriptions/{sub_id}"), 404, "ResourceNotFound")


ENDPOINT = {"endpoint": {"uri": "http://127.0.0.1:9/notify"}}


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"entities": [{"type": "X"}], "notification": ENDPOINT}, 400, "'type'"),
        ({"type": "Subscription", "notification": ENDPOINT}, 400, "'entities' or 'watchedAttributes'"),
        (
            {"type": "Subscription", "watchedAttributes": [], "notification": ENDPOINT},
            400,
            "watchedAttributes",
        ),
        ({"type": "Subscription", "entities": [{"type": "X"}]}, 400, "'notification'"),
        ({"type": "Subscription", "entities": [{"type": "X"}], "notification": {"endpoint": {}}}, 400, "uri"),
        ({"type": "Subscription", "entities": [{}], "notification": ENDPOINT}, 400, "'type' is required"),
        (
            {"type": "Subscription", "entities": [{"type": "X"}], "notification": ENDPOINT, "throttling": 0},
            400,
            "throttling",
        ),
        (
            {"type": "Subscription", "entities": [{"type": "X"}], "notification": ENDPOINT, "q": "a>>1"},
            400,
            "position 2",
        ),
        (
            {
                "type": "Subscription",
                "entities": [{"type": "X"}],
                "notification": ENDPOINT,
                "expiresAt": "2000-01-01T00:00:00Z",
            },
            400,
            "past",
        ),
        (
            {
                "type": "Subscription",
                "entities": [{"type": "X"}],
                "notification": ENDPOINT,
                "timeInterval": 5,
            },
            422,
            "timeInterval",
        ),
        (
            {"type": "Subscription", "entities": [{"type": "X"}], "notification": ENDPOINT, "bogus": 1},
            400,
            "bogus",
        ),
    ],
)
def test_subscription_validation(
    shared_api: httpx.Client, body: dict[str, Any], status: int, fragment: str
) -> None:
    name = "OperationNotSupported" if status == 422 else "BadRequestData"
    assert fragment in assert_problem(shared_api.post("/subscriptions", json=body), status, name)["detail"]


def test_notification_on_create_and_watched_change(
    api: httpx.Client, notification_receiver: NotificationReceiver
) -> None:
    sub_id = subscribe(
        api,
        notification_receiver,
        watchedAttributes=["imagePath"],
        notification={"attributes": ["imagePath", "refMLModel"], "format": "keyValues"},
    )
    create(api, digit(10, annotatedDigit=1))
    first = notification_receiver.wait_for(1)[0]
    assert first.path == "/notify" and first.query == ""
    body = first.body
    assert body["type"] == "Notification" and body["subscriptionId"] == sub_id
    assert body["id"].startswith("urn:ngsi-ld:Notification:") and body["notifiedAt"].endswith("Z")
    # notification.attributes filters the data; keyValues simplifies it.
    assert body["data"] == [
        {
            "id": "urn:ngsi-ld:HandwritingDigit:0010",
            "type": "HandwritingDigit",
            "imagePath": "file:///data/digits/0010.png",
            "refMLModel": MODEL_ID,
        }
    ]
    assert first.headers["content-type"] == "application/json"
    assert first.headers["link"] == LINK

    entity_url = "/entities/urn:ngsi-ld:HandwritingDigit:0010/attrs"
    # The loop guard: writing an unwatched attribute (a prediction) notifies nobody...
    api.post(entity_url, json={"predictedDigit": 1, "confidence": 0.99}, headers={"Link": LINK})
    # ...and neither does writing the watched attribute with the same value.
    api.patch(entity_url, json={"imagePath": "file:///data/digits/0010.png"}, headers={"Link": LINK})
    notification_receiver.assert_nothing_more(1)
    api.patch(entity_url, json={"imagePath": "file:///data/digits/new.png"}, headers={"Link": LINK})
    second = notification_receiver.wait_for(2)[1].body
    assert second["data"][0]["imagePath"] == "file:///data/digits/new.png"
    assert "predictedDigit" not in second["data"][0]

    stats = wait_for_stats(api, sub_id, lambda s: s["timesSent"] == 2)
    assert stats["timesFailed"] == 0 and stats["status"] == "ok"
    assert stats["lastSuccess"] == stats["lastNotification"]


def test_normalized_data_with_body_context(
    api: httpx.Client, notification_receiver: NotificationReceiver
) -> None:
    subscribe(
        api,
        notification_receiver,
        notification={"endpoint": {"uri": notification_receiver.endpoint(), "accept": "application/ld+json"}},
    )
    create(api, digit(11))
    received = notification_receiver.wait_for(1)[0]
    assert received.headers["content-type"] == "application/ld+json"
    assert "link" not in received.headers
    assert received.body["@context"] == SUBJECT_CONTEXT_URL
    assert received.body["data"][0]["refMLModel"] == {"type": "Relationship", "object": MODEL_ID}
    assert received.body["data"][0]["imagePath"]["type"] == "Property"


def test_subscription_q_and_context_of_subscription(
    api: httpx.Client, notification_receiver: NotificationReceiver
) -> None:
    subscribe(api, notification_receiver, q="annotatedDigit>5")
    # A subscription made without the context watches default-context types: it never fires here.
    plain = api.post(
        "/subscriptions",
        json={
            "type": "Subscription",
            "entities": [{"type": "HandwritingDigit"}],
            "notification": {"endpoint": {"uri": notification_receiver.endpoint("/plain")}},
        },
    )
    assert plain.status_code == 201
    create(api, digit(20, annotatedDigit=2))
    create(api, digit(21, annotatedDigit=9))
    received = notification_receiver.wait_for(1)
    notification_receiver.assert_nothing_more(1)
    assert received[0].body["data"][0]["id"] == "urn:ngsi-ld:HandwritingDigit:0021"
    assert received[0].path == "/notify"


def test_failed_notifications_are_counted(
    api: httpx.Client, notification_receiver: NotificationReceiver
) -> None:
    notification_receiver.status_code = 204  # Stellio counts anything but 200 as a failure
    sub_id = subscribe(api, notification_receiver)
    create(api, digit(30))
    notification_receiver.wait_for(1)

    stats = wait_for_stats(api, sub_id, lambda s: s["timesSent"] == 1)
    assert stats["status"] == "failed" and stats["timesFailed"] == 1 and "lastFailure" in stats


def test_throttling(api: httpx.Client, notification_receiver: NotificationReceiver) -> None:
    subscribe(api, notification_receiver, throttling=30)
    create(api, digit(40))
    create(api, digit(41))
    notification_receiver.wait_for(1)
    notification_receiver.assert_nothing_more(1)


def test_order_per_subscription(api: httpx.Client, notification_receiver: NotificationReceiver) -> None:
    subscribe(
        api, notification_receiver, watchedAttributes=["annotatedDigit"], notification={"format": "keyValues"}
    )
    create(api, digit(50, annotatedDigit=0))
    for value in range(1, 10):
        response = api.patch(
            "/entities/urn:ngsi-ld:HandwritingDigit:0050/attrs",
            json={"annotatedDigit": value},
            headers={"Link": LINK},
        )
        assert response.status_code == 204
    received = notification_receiver.wait_for(10)
    assert [r.body["data"][0]["annotatedDigit"] for r in received] == list(range(10))


def test_many_concurrent_writes(broker_url: str, notification_receiver: NotificationReceiver) -> None:
    with api_client(broker_url) as api:
        subscribe(
            api, notification_receiver, watchedAttributes=["imagePath"], notification={"format": "keyValues"}
        )

    async def write_all() -> list[int]:
        limits = httpx.Limits(max_connections=20)
        async with httpx.AsyncClient(
            base_url=broker_url + "/ngsi-ld/v1", trust_env=False, limits=limits
        ) as client:

            async def one(number: int) -> int:
                created = await client.post("/entities", json=digit(number), headers={"Link": LINK})
                written = await client.post(
                    f"/entities/urn:ngsi-ld:HandwritingDigit:{number:04d}/attrs",
                    json={"predictedDigit": number % 10},
                    headers={"Link": LINK},
                )
                return created.status_code * 1000 + written.status_code

            return await asyncio.gather(*(one(n) for n in range(250)))

    statuses = asyncio.run(write_all())
    assert set(statuses) == {201204}
    with api_client(broker_url) as api:
        counted = api.get(
            "/entities",
            params={"type": "HandwritingDigit", "count": "true", "limit": 0},
            headers={"Link": LINK},
        )
        assert counted.headers["NGSILD-Results-Count"] == "250"
    notification_receiver.wait_for(250, timeout=20)
    notification_receiver.assert_nothing_more(250, settle=0.2)


def test_persistence_across_restart(
    broker_factory: Callable[..., RunningServer], tmp_path: Path, notification_receiver: NotificationReceiver
) -> None:
    db_path = tmp_path / "persist" / "broker.sqlite"
    first = broker_factory(db_path)
    with api_client(first.url) as api:
        create(api, digit(60, annotatedDigit=6))
        sub_id = subscribe(api, notification_receiver, watchedAttributes=["annotatedDigit"])
        create(api, digit(61))  # no annotatedDigit: not notified
    first.stop()

    second = broker_factory(db_path)
    with api_client(second.url) as api:
        got = api.get(
            "/entities/urn:ngsi-ld:HandwritingDigit:0060",
            params={"options": "keyValues"},
            headers={"Link": LINK},
        )
        assert got.status_code == 200 and got.json()["annotatedDigit"] == 6
        assert api.get(f"/subscriptions/{sub_id}").status_code == 200
        api.patch(
            "/entities/urn:ngsi-ld:HandwritingDigit:0060/attrs",
            json={"annotatedDigit": 7},
            headers={"Link": LINK},
        )
        received = notification_receiver.wait_for(1)
        assert received[0].body["subscriptionId"] == sub_id
        assert received[0].body["data"][0]["annotatedDigit"]["value"] == 7


def test_orion_quirk_switches(
    broker_factory: Callable[..., RunningServer], notification_receiver: NotificationReceiver
) -> None:
    broker = broker_factory(notify_same_value=True, append_subscription_id=True, patch_appends_missing=True)
    with api_client(broker.url) as api:
        sub_id = subscribe(api, notification_receiver, watchedAttributes=["imagePath"])
        create(api, digit(70))
        api.patch(
            "/entities/urn:ngsi-ld:HandwritingDigit:0070/attrs",
            json={"imagePath": "file:///data/digits/0070.png", "newOne": 1},
            headers={"Link": LINK},
        )
        received = notification_receiver.wait_for(2)
        assert received[1].query == f"subscriptionId={sub_id}".replace(":", "%3A")
        got = api.get("/entities/urn:ngsi-ld:HandwritingDigit:0070", headers={"Link": LINK}).json()
        assert got["newOne"] == {"type": "Property", "value": 1}
