"""The MLOps loop end to end on real digits: embedded broker, model service, consumer, over loopback."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from reference_runtime.app import create_app
from reference_runtime.dataset import holdout
from reference_runtime.inference import load_classifier
from reference_runtime.service import ModelService, ServiceConfig
from reference_runtime.subscriptions import deterministic_id
from sdmtool import validate
from tests import support
from tests.conftest import NotificationReceiver, RunningServer, loopback_socket
from tests.support import Broker, holdout_png

QUERY_ID = "urn:ngsi-ld:SubscriptionQuery:test"
PROCESSING_ID = "urn:ngsi-ld:MLProcessing:test"


@pytest.fixture
def classifier_and_model() -> tuple[Any, dict[str, Any]]:
    return load_classifier(None)


@pytest.fixture
def start_runtime(
    serve_app: Callable[..., RunningServer], broker_url: str, classifier_and_model: tuple[Any, dict[str, Any]]
) -> Callable[..., RunningServer]:
    def start(**settings: Any) -> RunningServer:
        classifier, entity = classifier_and_model
        sock = loopback_socket()
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = ServiceConfig(broker_url=broker_url, public_url=url, status_interval=0.1, **settings)
        return serve_app(create_app(ModelService(config, classifier, entity)), sock)

    return start


provision = partial(support.provision, query_id=QUERY_ID, processing_id=PROCESSING_ID)


def publish_digits(broker: Broker, folder: Path, count: int, offset: int = 0) -> dict[str, int]:
    _, labels = holdout()
    truth = {}
    for index in range(offset, offset + count):
        path = folder / f"digit-{index}.png"
        path.write_bytes(holdout_png(index))
        entity_id = f"urn:ngsi-ld:HandwritingDigit:t{index}"
        broker.create(
            {
                "id": entity_id,
                "type": "HandwritingDigit",
                "imagePath": path.as_uri(),
                "imageMetadata": {"mediaType": "image/png", "width": 28, "height": 28},
            }
        )
        truth[entity_id] = int(labels[index])
    return truth


def test_digits_are_predicted_and_written_back_without_loops(
    broker_url: str,
    start_runtime: Callable[[], RunningServer],
    notification_receiver: NotificationReceiver,
    classifier_and_model: tuple[Any, dict[str, Any]],
    tmp_path: Path,
) -> None:
    classifier, model = classifier_and_model
    broker = Broker(broker_url)
    start_runtime()

    # The runtime registered its MLModel (steps 6-7), pointing at the artifact it serves.
    registered = broker.get_kv(model["id"])
    assert registered["modelSha256"] == model["modelSha256"]
    assert registered["modelUrl"].endswith("/artifacts/digits-cnn.onnx")
    artifact = httpx.get(registered["modelUrl"])
    assert artifact.status_code == 200 and artifact.content == classifier.model_path.read_bytes()

    broker.subscribe(
        {
            "type": "Subscription",
            "entities": [{"type": "HandwritingDigit"}],
            "watchedAttributes": ["predictedDigit"],
            "notification": {
                "format": "keyValues",
                "attributes": ["predictedDigit"],
                "endpoint": {"uri": notification_receiver.endpoint(), "accept": "application/json"},
            },
        }
    )
    provision(broker, model["id"])
    broker.wait_for(PROCESSING_ID, lambda e: e.get("processingStatus") == "active")

    count = 20
    truth = publish_digits(broker, tmp_path, count)
    received = notification_receiver.wait_for(count, timeout=20)
    predicted = {e["id"]: e["predictedDigit"] for r in received for e in r.body["data"]}
    assert predicted.keys() == truth.keys()
    assert sum(predicted[k] == truth[k] for k in truth) >= count - 1

    # What was written is exactly what the model says for that image, with every output the model declares.
    first = broker.get_kv("urn:ngsi-ld:HandwritingDigit:t0")
    offline = classifier.predict(holdout_png(0))
    assert first["predictedDigit"] == offline.digit
    assert first["confidence"] == pytest.approx(offline.confidence, abs=1e-6)
    assert len(first["digitScores"]) == 10 and sum(first["digitScores"]) == pytest.approx(1.0, abs=1e-4)
    assert first["refMLModel"] == model["id"] and first["modelVersion"] == model["version"]
    assert first["imagePath"] == (tmp_path / "digit-0.png").as_uri()
    normalized = broker.get("urn:ngsi-ld:HandwritingDigit:t0")
    assert normalized["refMLModel"]["type"] == "Relationship"
    assert normalized["datePredicted"]["value"]["@type"] == "DateTime"

    # Loop guard: the write-back did not trigger the data subscription again.
    data_sub = next(s for s in broker.subscriptions() if s["id"] == deterministic_id("data", PROCESSING_ID))
    assert data_sub["watchedAttributes"] == ["imagePath"]
    time.sleep(0.3)
    data_sub = next(s for s in broker.subscriptions() if s["id"] == data_sub["id"])
    assert data_sub["notification"]["timesSent"] == count
    notification_receiver.assert_nothing_more(count)

    # The job's counters follow the work.
    status = broker.wait_for(PROCESSING_ID, lambda e: e.get("processedCount") == count)
    assert status["failedCount"] == 0 and status["processingStatus"] == "active"
    assert "dateLastProcessed" in status

    # Every entity the loop touched is valid against the schemas.
    for entity_type in ("MLModel", "MLProcessing", "SubscriptionQuery", "HandwritingDigit"):
        for options in ({}, {"options": "keyValues"}, {"options": "concise"}):
            params = {"type": entity_type, "limit": 1000, **options}
            entities = broker.http.get("/entities", params=params).json()
            assert entities
            assert [f for f in validate(entities) if f.is_error] == [], options


def test_a_missing_image_is_counted_as_failed(
    broker_url: str,
    start_runtime: Callable[[], RunningServer],
    classifier_and_model: tuple[Any, dict],
    tmp_path: Path,
) -> None:
    broker = Broker(broker_url)
    start_runtime()
    provision(broker, classifier_and_model[1]["id"])
    broker.wait_for(PROCESSING_ID, lambda e: e.get("processingStatus") == "active")
    broker.create(
        {
            "id": "urn:ngsi-ld:HandwritingDigit:gone",
            "type": "HandwritingDigit",
            "imagePath": (tmp_path / "nowhere.png").as_uri(),
        }
    )
    status = broker.wait_for(PROCESSING_ID, lambda e: e.get("failedCount") == 1)
    assert "nowhere.png" in status["lastError"]
    assert "predictedDigit" not in broker.get_kv("urn:ngsi-ld:HandwritingDigit:gone")


def test_results_go_to_the_output_entity_when_one_is_named(
    broker_url: str,
    start_runtime: Callable[[], RunningServer],
    classifier_and_model: tuple[Any, dict],
    tmp_path: Path,
) -> None:
    broker = Broker(broker_url)
    start_runtime()
    target = "urn:ngsi-ld:HandwritingDigit:latest-result"
    broker.create({"id": target, "type": "HandwritingDigit"})
    provision(broker, classifier_and_model[1]["id"], refOutputEntity=target)
    broker.wait_for(PROCESSING_ID, lambda e: e.get("processingStatus") == "active")
    truth = publish_digits(broker, tmp_path, 1)
    ((source_id, label),) = truth.items()
    result = broker.wait_for(target, lambda e: "predictedDigit" in e)
    assert result["predictedDigit"] == label
    assert "predictedDigit" not in broker.get_kv(source_id)


def test_a_query_that_would_loop_fails_the_job(
    broker_url: str,
    start_runtime: Callable[[], RunningServer],
    classifier_and_model: tuple[Any, dict],
) -> None:
    broker = Broker(broker_url)
    start_runtime()
    # Slide 19 of the talk watches the outputs; the runtime must refuse to subscribe that way.
    provision(
        broker, classifier_and_model[1]["id"], query={"watchedAttributes": ["predictedDigit", "confidence"]}
    )
    status = broker.wait_for(PROCESSING_ID, lambda e: e.get("processingStatus") == "failed")
    assert "loop" in status["lastError"]
    assert not any(s["id"] == deterministic_id("data", PROCESSING_ID) for s in broker.subscriptions())


def test_a_restarted_runtime_takes_its_jobs_back_without_duplicates(
    broker_url: str,
    start_runtime: Callable[[], RunningServer],
    classifier_and_model: tuple[Any, dict],
    tmp_path: Path,
) -> None:
    broker = Broker(broker_url)
    first = start_runtime()
    provision(broker, classifier_and_model[1]["id"])
    broker.wait_for(PROCESSING_ID, lambda e: e.get("processingStatus") == "active")
    publish_digits(broker, tmp_path, 2)
    broker.wait_for(PROCESSING_ID, lambda e: e.get("processedCount") == 2)
    first.stop()

    start_runtime()  # a new process would do the same: register again, reconcile the existing job
    truth = publish_digits(broker, tmp_path, 1, offset=2)
    ((entity_id, label),) = truth.items()
    assert broker.wait_for(entity_id, lambda e: "predictedDigit" in e)["predictedDigit"] == label
    assert broker.wait_for(PROCESSING_ID, lambda e: e.get("processedCount") == 3)["failedCount"] == 0
    ids = [s["id"] for s in broker.subscriptions()]
    assert len(ids) == len(set(ids)) == 2  # one control and one data subscription, whatever happened


def test_reconciliation_repairs_subscriptions_and_retires_jobs(
    broker_url: str, start_runtime: Callable[..., RunningServer], classifier_and_model: tuple[Any, dict]
) -> None:
    broker = Broker(broker_url)
    start_runtime(reconcile_interval=0.2)
    provision(broker, classifier_and_model[1]["id"])
    broker.wait_for(PROCESSING_ID, lambda e: e.get("processingStatus") == "active")
    data_id = deterministic_id("data", PROCESSING_ID)

    def data_subscription() -> dict[str, Any] | None:
        return next((s for s in broker.subscriptions() if s["id"] == data_id), None)

    def eventually(check: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.05)

    # Deleted behind the runtime's back (an operator, a broker that lost it): recreated.
    assert broker.http.delete(f"/subscriptions/{data_id}").status_code == 204
    eventually(lambda: data_subscription() is not None, "the data subscription to come back")

    # Pointed elsewhere (another runtime registered the same model with another URL): restored.
    original_uri = data_subscription()["notification"]["endpoint"]["uri"]
    hijacked = {**data_subscription(), "notification": {"endpoint": {"uri": "http://127.0.0.1:9/elsewhere"}}}
    for member in ("status", "createdAt", "modifiedAt"):
        hijacked.pop(member, None)
    hijacked["notification"]["format"] = "keyValues"
    assert broker.http.delete(f"/subscriptions/{data_id}").status_code == 204
    broker.subscribe(hijacked)
    eventually(
        lambda: (
            (data_subscription() or {}).get("notification", {}).get("endpoint", {}).get("uri") == original_uri
        ),
        "the endpoint to be restored",
    )

    # The SubscriptionQuery changed: the data subscription follows it.
    new_q = 'imageMetadata[mediaType]=="image/png"'
    response = broker.http.post(
        f"/entities/{QUERY_ID}/attrs", json={"q": {"type": "Property", "value": new_q}}
    )
    assert response.status_code == 204, response.text
    eventually(lambda: (data_subscription() or {}).get("q") == new_q, "the new q")

    # The MLProcessing is deleted: the job and its subscription go away.
    assert broker.http.delete(f"/entities/{PROCESSING_ID}").status_code == 204
    eventually(lambda: data_subscription() is None, "the data subscription to be deleted")


def test_entities_created_before_the_job_are_caught_up(
    broker_url: str,
    start_runtime: Callable[..., RunningServer],
    classifier_and_model: tuple[Any, dict],
    tmp_path: Path,
) -> None:
    broker = Broker(broker_url)
    truth = publish_digits(broker, tmp_path, 3)  # no job yet: nobody is notified of these
    start_runtime()
    provision(broker, classifier_and_model[1]["id"])
    for entity_id, label in truth.items():
        assert broker.wait_for(entity_id, lambda e: "predictedDigit" in e)["predictedDigit"] == label
    status = broker.wait_for(PROCESSING_ID, lambda e: e.get("processedCount") == 3)
    assert status["failedCount"] == 0
