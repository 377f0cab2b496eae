"""SubscriptionQuery -> NGSI-LD Subscription translation, including the loop guard."""

from __future__ import annotations

import datetime as dt

import pytest

from reference_runtime.subscriptions import (
    SubscriptionQueryError,
    control_subscription,
    data_subscription,
    deterministic_id,
    same_subscription,
    selected_outputs,
)

MODEL = {
    "id": "urn:ngsi-ld:MLModel:m",
    "type": "MLModel",
    "inputAttributes": ["imagePath"],
    "outputAttributes": ["predictedDigit", "confidence"],
}
ENDPOINT = "http://127.0.0.1:5001/notify/data"
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def translate(query: dict, **kwargs: object) -> dict:
    return data_subscription(
        query,
        model=MODEL,
        processing_id="urn:ngsi-ld:MLProcessing:p",
        endpoint_uri=ENDPOINT,
        now=NOW,
        **kwargs,
    )


def test_members_are_copied_and_endpoint_replaced() -> None:
    query = {
        "id": "urn:ngsi-ld:SubscriptionQuery:q",
        "type": "SubscriptionQuery",
        "subscriptionName": "digits",
        "entities": [{"type": "HandwritingDigit", "idPattern": "urn:ngsi-ld:HandwritingDigit:.*"}],
        "watchedAttributes": ["imagePath"],
        "q": 'imageMetadata[mediaType]=="image/png"',
        "notification": {
            "attributes": ["imagePath", "imageMetadata"],
            "format": "simplified",
            "endpoint": {"uri": "http://consumer.example/notify", "accept": "application/ld+json"},
        },
        "throttling": "2",
        "expiresAt": "2030-01-01T00:00:00Z",
        "geoQ": '{"geometry": "Point", "coordinates": [1, 2], "georel": "near;maxDistance==10"}',
    }
    sub = translate(query)
    assert sub == {
        "id": deterministic_id("data", "urn:ngsi-ld:MLProcessing:p"),
        "type": "Subscription",
        "subscriptionName": "digits",
        "entities": [{"type": "HandwritingDigit", "idPattern": "urn:ngsi-ld:HandwritingDigit:.*"}],
        "watchedAttributes": ["imagePath"],
        "q": 'imageMetadata[mediaType]=="image/png"',
        "geoQ": {"geometry": "Point", "coordinates": [1, 2], "georel": "near;maxDistance==10"},
        "throttling": 2.0,
        "expiresAt": "2030-01-01T00:00:00Z",
        "notification": {
            "endpoint": {"uri": ENDPOINT, "accept": "application/json"},
            "attributes": ["imagePath", "imageMetadata"],
            "format": "keyValues",
        },
    }


def test_model_inputs_are_watched_by_default() -> None:
    sub = translate({"entities": [{"type": "HandwritingDigit"}]})
    assert sub["watchedAttributes"] == ["imagePath"]
    assert sub["notification"]["format"] == "normalized"


def test_watching_an_output_is_a_loop() -> None:
    # The talk's slide 19 watches the outputs: used verbatim, each prediction would trigger the next.
    with pytest.raises(SubscriptionQueryError, match=r"predictedDigit.*loop"):
        translate(
            {
                "entities": [{"type": "HandwritingDigit"}],
                "watchedAttributes": ["predictedDigit", "confidence"],
            }
        )


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"entities": []}, "entities must be a non-empty list"),
        ({"entities": [{"id": "urn:x:1"}]}, r"entities\[0\] needs a type"),
        ({"entities": [{"type": "T"}], "q": "a=="}, "q is not a valid NGSI-LD query"),
        ({"entities": [{"type": "T"}], "throttling": 0}, "greater than 0"),
        ({"entities": [{"type": "T"}], "throttling": "soon"}, "number of seconds"),
        ({"entities": [{"type": "T"}], "expiresAt": "2020-01-01T00:00:00Z"}, "in the past"),
        ({"entities": [{"type": "T"}], "expiresAt": "tomorrow"}, "not a date-time"),
        ({"entities": [{"type": "T"}], "geoQ": "near me"}, "geoQ must be an object"),
        ({"entities": [{"type": "T"}], "geoQ": {"geometry": "Point"}}, "geometry, coordinates and georel"),
        ({"entities": [{"type": "T"}], "csf": "x"}, "csf is not supported"),
        ({"entities": [{"type": "T"}], "temporalQ": {}}, "temporalQ is not supported"),
        ({"entities": [{"type": "T"}], "watchedAttributes": []}, "non-empty list"),
        (
            {"entities": [{"type": "T"}], "notification": {"attributes": ["imageMetadata"]}},
            "does not deliver the model input.*imagePath",
        ),
        ({"entities": [{"type": "T"}], "notification": {"format": "xml"}}, "not an NGSI-LD format"),
    ],
)
def test_unsafe_or_malformed_queries_are_refused(query: dict, message: str) -> None:
    with pytest.raises(SubscriptionQueryError, match=message):
        translate(query)


def test_ids_are_deterministic_and_distinct() -> None:
    assert deterministic_id("data", "a") == deterministic_id("data", "a")
    assert deterministic_id("data", "a") != deterministic_id("data", "b")
    assert deterministic_id("data", "a") != deterministic_id("control", "a")


def test_control_subscription_does_not_watch_status_members() -> None:
    sub = control_subscription("urn:ngsi-ld:MLModel:m", "http://127.0.0.1:5001/notify/control")
    assert sub["q"] == 'refMLModel=="urn:ngsi-ld:MLModel:m"'
    assert sub["entities"] == [{"type": "MLProcessing"}]
    for status_member in ("processingStatus", "processedCount", "failedCount", "lastError"):
        assert status_member not in sub["watchedAttributes"]


def test_same_subscription_ignores_broker_added_members() -> None:
    wanted = translate({"entities": [{"type": "T"}]})
    stored = {**wanted, "status": "active", "notification": {**wanted["notification"], "timesSent": 3}}
    assert same_subscription(stored, wanted)
    assert not same_subscription({**stored, "q": "a==1"}, wanted)


def test_selected_outputs_follow_the_model() -> None:
    assert selected_outputs(MODEL, {"predictedDigit": 3, "confidence": 0.9, "digitScores": [0.1]}) == {
        "predictedDigit": 3,
        "confidence": 0.9,
    }
