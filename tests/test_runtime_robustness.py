"""The model service under hostile or unlucky input: malformed notifications, images that are not what they
claim (a directory, a huge file, a FIFO, a non-image, a URL that hangs, a data: URI that is not base64),
jobs wired to the wrong entities, repeated and reordered notifications, tricky ``/predict`` bodies.

Real broker and runtime over loopback HTTP, bounded waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reference_runtime.app import create_app
from reference_runtime.dataset import holdout
from reference_runtime.images import MAX_IMAGE_BYTES, ImageSourceError, decode_data_uri, load_image
from reference_runtime.inference import load_classifier
from reference_runtime.service import ModelService, ServiceConfig
from reference_runtime.subscriptions import SubscriptionQueryError, data_subscription, deterministic_id
from tests import support
from tests.conftest import RunningServer, loopback_socket
from tests.support import Broker, holdout_png

QUERY_ID = "urn:ngsi-ld:SubscriptionQuery:robust"
PROCESSING_ID = "urn:ngsi-ld:MLProcessing:robust"
DATA_SUBSCRIPTION = deterministic_id("data", PROCESSING_ID)
JSON = {"Content-Type": "application/json"}


def label(index: int) -> int:
    return int(holdout()[1][index])


@pytest.fixture(scope="module")
def classifier_and_model() -> tuple[Any, dict[str, Any]]:
    return load_classifier(None)


@pytest.fixture
def broker(broker_url: str) -> Iterator[Broker]:
    client = Broker(broker_url, trust_env=False)
    yield client
    client.http.close()


@pytest.fixture
def runtime(
    serve_app: Callable[..., RunningServer], broker_url: str, classifier_and_model: tuple[Any, dict[str, Any]]
) -> tuple[ModelService, str]:
    """A started model service (no periodic reconciliation during a test) and its URL."""
    classifier, model = classifier_and_model
    sock = loopback_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = ServiceConfig(
        broker_url=broker_url, public_url=url, status_interval=0.1, reconcile_interval=3600
    )
    service = ModelService(config, classifier, model)
    serve_app(create_app(service), sock)
    return service, url


def provision(
    broker: Broker, model_id: str, *, entities: list[dict[str, Any]] | None = None, **processing: Any
) -> None:
    """The job of this module: its SubscriptionQuery notifies imagePath alone."""
    query: dict[str, Any] = {"notification": {"attributes": ["imagePath"], "format": "keyValues"}}
    if entities:
        query["entities"] = entities
    support.provision(
        broker, model_id, query_id=QUERY_ID, processing_id=PROCESSING_ID, query=query, **processing
    )


def active_job(broker: Broker, runtime: tuple[ModelService, str]) -> ModelService:
    service, _ = runtime
    provision(broker, service.model_id)
    broker.wait_for(PROCESSING_ID, lambda e: e.get("processingStatus") == "active")
    return service


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.text
    problem = response.json()
    assert problem["type"].startswith(support.ERRORS)
    assert problem["status"] == status
    assert isinstance(problem["title"], str) and problem["title"]
    assert isinstance(problem["detail"], str) and problem["detail"]
    return problem


# ---------------------------------------------------------------------------------- notification receivers


MALFORMED = [
    b"not json",
    b"",
    b"[]",
    b'"x"',
    b"null",
    b'{"data": 5}',
    b'{"data": "abc"}',
    b'{"data": {"id": "urn:ngsi-ld:X:1"}}',
    b'{"data": [5, null, "x", []]}',
    b'{"data": [{"type": "HandwritingDigit"}]}',
    b'{"subscriptionId": [1], "data": []}',
    b'{"subscriptionId": "urn:ngsi-ld:Subscription:unknown", "data": [{"id": "urn:a:b"}]}',
    b"[" * 2000 + b"]" * 2000,
]


def test_receivers_answer_200_to_malformed_notifications(runtime: tuple[ModelService, str]) -> None:
    _, url = runtime
    for body in MALFORMED:
        # One connection per request: after some of these the runtime drops the connection (see
        # test_a_malformed_control_item_does_not_stop_the_valid_ones).
        for path in ("/notify/control", "/notify/data"):
            response = httpx.post(url + path, content=body, headers=JSON, trust_env=False)
            assert response.status_code == 200, (path, body[:60])
    health = httpx.get(url + "/health", trust_env=False)
    assert health.status_code == 200 and health.json()["jobs"] == {}


def test_data_receiver_answers_200_when_data_is_not_a_list(
    broker: Broker, runtime: tuple[ModelService, str]
) -> None:
    active_job(broker, runtime)
    _, url = runtime
    for data in (b"5", b"true"):
        body = b'{"subscriptionId": "%s", "data": %s}' % (DATA_SUBSCRIPTION.encode(), data)
        response = httpx.post(url + "/notify/data", content=body, headers=JSON, trust_env=False)
        assert response.status_code == 200


def test_a_malformed_control_item_does_not_stop_the_valid_ones(
    broker: Broker, runtime: tuple[ModelService, str]
) -> None:
    service, url = runtime
    # Wired to another model, so the broker does not notify this runtime; the forged notification does.
    provision(broker, service.model_id, refMLModel="urn:ngsi-ld:MLModel:other")
    valid = {
        "id": PROCESSING_ID,
        "type": "MLProcessing",
        "refMLModel": service.model_id,
        "refSubscriptionQuery": QUERY_ID,
    }
    notification = {"subscriptionId": "urn:ngsi-ld:Subscription:x", "data": [5, {"type": "X"}, valid]}
    assert httpx.post(url + "/notify/control", json=notification, trust_env=False).status_code == 200
    deadline = time.monotonic() + 1.5
    while broker.subscription(DATA_SUBSCRIPTION) is None:
        assert time.monotonic() < deadline, "the valid MLProcessing of the notification was never activated"
        time.sleep(0.05)


def test_the_same_digit_notified_twice_is_predicted_once(
    broker: Broker, runtime: tuple[ModelService, str], tmp_path: Path
) -> None:
    service = active_job(broker, runtime)
    path = tmp_path / "twice.png"
    path.write_bytes(holdout_png(0))
    entity_id = "urn:ngsi-ld:HandwritingDigit:twice"
    broker.create({"id": entity_id, "type": "HandwritingDigit", "imagePath": path.as_uri()})
    broker.wait_for(PROCESSING_ID, lambda e: e.get("processedCount") == 1)
    duplicate = {
        "id": "urn:ngsi-ld:Notification:dup",
        "type": "Notification",
        "subscriptionId": DATA_SUBSCRIPTION,
        "data": [{"id": entity_id, "type": "HandwritingDigit", "imagePath": path.as_uri()}] * 3,
    }
    for _ in range(2):
        assert httpx.post(runtime[1] + "/notify/data", json=duplicate, trust_env=False).status_code == 200
    asyncio.run_coroutine_threadsafe(service.drain(), _loop_of(service)).result(timeout=5)
    time.sleep(0.3)  # a status flush
    status = broker.get_kv(PROCESSING_ID)
    assert status["processedCount"] == 1 and status["failedCount"] == 0
    assert broker.get_kv(entity_id)["predictedDigit"] == label(0)


def _loop_of(service: ModelService) -> asyncio.AbstractEventLoop:
    return service._tasks[0].get_loop()


def test_entities_that_cannot_be_predicted_are_counted_not_fatal(
    broker: Broker, runtime: tuple[ModelService, str], tmp_path: Path
) -> None:
    active_job(broker, runtime)
    folder = tmp_path / "a-directory.png"
    folder.mkdir()
    huge = tmp_path / "huge.png"
    with huge.open("wb") as handle:
        handle.truncate(MAX_IMAGE_BYTES + 1)  # sparse: costs no disk
    text = tmp_path / "text.png"
    text.write_text("not an image")
    locations = {
        "dir": folder.as_uri(),
        "huge": huge.as_uri(),
        "text": text.as_uri(),
        "nobase64": "data:image/png;base64,@@@@",
        "emptydata": "data:image/png;base64,",
        "ftp": "ftp://127.0.0.1/x.png",
        "relative": "digits/x.png",
        "otherhost": "file://elsewhere/x.png",
    }
    for name, location in locations.items():
        broker.create(
            {"id": f"urn:ngsi-ld:HandwritingDigit:{name}", "type": "HandwritingDigit", "imagePath": location}
        )
    status = broker.wait_for(PROCESSING_ID, lambda e: e.get("failedCount") == len(locations))
    assert status["processedCount"] == 0 and status["processingStatus"] == "active"
    # The service still works.
    good = tmp_path / "good.png"
    good.write_bytes(holdout_png(1))
    broker.create(
        {"id": "urn:ngsi-ld:HandwritingDigit:good", "type": "HandwritingDigit", "imagePath": good.as_uri()}
    )
    assert broker.wait_for("urn:ngsi-ld:HandwritingDigit:good", lambda e: "predictedDigit" in e)[
        "predictedDigit"
    ] == label(1)


class SlowImages:
    """Serves PNG bytes after a delay (``/slow/<index>?delay=s``), or never (``/hang``, bounded to 10 s)."""

    def __init__(self) -> None:
        self.stop = threading.Event()

    def app(self) -> Starlette:
        async def slow(request: Request) -> Response:
            await asyncio.sleep(float(request.query_params.get("delay", "1")))
            return Response(holdout_png(int(request.path_params["index"])), media_type="image/png")

        async def hang(request: Request) -> Response:
            deadline = time.monotonic() + 10
            while not self.stop.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            return Response(status_code=504)

        return Starlette(
            routes=[Route("/slow/{index:int}", slow), Route("/hang", hang)],
        )


@pytest.fixture
def images_server(serve_app: Callable[..., RunningServer]) -> Iterator[str]:
    server = SlowImages()
    url = serve_app(server.app()).url
    yield url
    server.stop.set()


def test_an_image_url_that_hangs_times_out(images_server: str) -> None:
    async def fetch() -> None:
        async with httpx.AsyncClient(timeout=0.5, trust_env=False) as client:
            await load_image(images_server + "/hang", client)

    started = time.monotonic()
    with pytest.raises(ImageSourceError):
        asyncio.run(fetch())
    assert time.monotonic() - started < 3


def test_a_file_uri_to_a_fifo_is_not_read_without_limit(tmp_path: Path) -> None:
    fifo = tmp_path / "image.png"
    os.mkfifo(fifo)
    stop = threading.Event()

    def writer() -> None:  # feeds the FIFO once a reader opens it; gives up after 5 s without one
        deadline = time.monotonic() + 5
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: no reader yet
                time.sleep(0.01)
                continue
            os.set_blocking(fd, True)
            with contextlib.suppress(OSError), os.fdopen(fd, "wb") as handle:
                chunk = b"\0" * 65536
                for _ in range((MAX_IMAGE_BYTES // len(chunk)) + 2):
                    handle.write(chunk)
            return

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()

    async def read() -> bytes:
        async with httpx.AsyncClient(trust_env=False) as client:
            return await asyncio.wait_for(load_image(fifo.as_uri(), client), timeout=5)

    try:
        with pytest.raises(ImageSourceError):
            asyncio.run(read())
    finally:
        stop.set()
        thread.join(timeout=6)


def test_a_data_uri_that_is_not_base64_is_decoded_as_octets() -> None:
    assert decode_data_uri("data:,%E2%82%AC") == "€".encode()
    with pytest.raises(ImageSourceError):
        decode_data_uri("data:image/png," + "%41" * (MAX_IMAGE_BYTES + 10))


# -------------------------------------------------------------------------------------- order of results


def test_a_stale_prediction_never_overwrites_a_newer_one(
    broker: Broker, runtime: tuple[ModelService, str], images_server: str, tmp_path: Path
) -> None:
    service = active_job(broker, runtime)
    assert label(0) != label(1)
    fast = tmp_path / "fast.png"
    fast.write_bytes(holdout_png(1))
    entity_id = "urn:ngsi-ld:HandwritingDigit:order"
    broker.create(
        {"id": entity_id, "type": "HandwritingDigit", "imagePath": f"{images_server}/slow/0?delay=1.0"}
    )
    time.sleep(0.2)  # the slow image is being fetched
    broker.patch(entity_id, {"imagePath": fast.as_uri()})
    broker.wait_for(entity_id, lambda e: e.get("predictedDigit") is not None)
    asyncio.run_coroutine_threadsafe(service.drain(), _loop_of(service)).result(timeout=5)  # the slow one too
    final = broker.get_kv(entity_id)
    assert final["imagePath"] == fast.as_uri()
    assert final["predictedDigit"] == label(1)


def test_returning_to_an_earlier_image_is_predicted_again(
    broker: Broker, runtime: tuple[ModelService, str], tmp_path: Path
) -> None:
    active_job(broker, runtime)
    first, second = tmp_path / "a.png", tmp_path / "b.png"
    first.write_bytes(holdout_png(0))
    second.write_bytes(holdout_png(1))
    entity_id = "urn:ngsi-ld:HandwritingDigit:aba"
    broker.create({"id": entity_id, "type": "HandwritingDigit", "imagePath": first.as_uri()})
    broker.wait_for(entity_id, lambda e: e.get("predictedDigit") == label(0))
    broker.patch(entity_id, {"imagePath": second.as_uri()})
    broker.wait_for(entity_id, lambda e: e.get("predictedDigit") == label(1))
    broker.patch(entity_id, {"imagePath": first.as_uri()})
    broker.wait_for(entity_id, lambda e: e.get("predictedDigit") == label(0), timeout=1.5)


def test_catch_up_honours_id_patterns_as_the_broker_does(
    broker: Broker, runtime: tuple[ModelService, str], tmp_path: Path
) -> None:
    service, _ = runtime
    path = tmp_path / "early.png"
    path.write_bytes(holdout_png(2))
    entity_id = "urn:ngsi-ld:HandwritingDigit:early-1"
    broker.create({"id": entity_id, "type": "HandwritingDigit", "imagePath": path.as_uri()})
    provision(
        broker,
        service.model_id,
        entities=[{"type": "HandwritingDigit", "idPattern": "HandwritingDigit:early"}],
    )
    broker.wait_for(PROCESSING_ID, lambda e: e.get("processingStatus") == "active")
    assert broker.wait_for(entity_id, lambda e: "predictedDigit" in e, timeout=1.5)[
        "predictedDigit"
    ] == label(2)


# ----------------------------------------------------------------------------------------- job wiring


def test_a_job_whose_query_is_missing_or_of_another_type_fails_cleanly(
    broker: Broker, runtime: tuple[ModelService, str]
) -> None:
    service, _ = runtime
    broker.create(
        {
            "id": "urn:ngsi-ld:MLProcessing:missing",
            "type": "MLProcessing",
            "refMLModel": service.model_id,
            "refSubscriptionQuery": "urn:ngsi-ld:SubscriptionQuery:nowhere",
        }
    )
    missing = broker.wait_for(
        "urn:ngsi-ld:MLProcessing:missing", lambda e: e.get("processingStatus") == "failed"
    )
    assert "nowhere" in missing["lastError"]
    broker.create(
        {
            "id": "urn:ngsi-ld:MLProcessing:wrongtype",
            "type": "MLProcessing",
            "refMLModel": service.model_id,
            "refSubscriptionQuery": service.model_id,  # an MLModel, not a SubscriptionQuery
        }
    )
    wrong = broker.wait_for(
        "urn:ngsi-ld:MLProcessing:wrongtype", lambda e: e.get("processingStatus") == "failed"
    )
    assert "not a SubscriptionQuery" in wrong["lastError"]
    for processing_id in ("urn:ngsi-ld:MLProcessing:missing", "urn:ngsi-ld:MLProcessing:wrongtype"):
        assert broker.subscription(deterministic_id("data", processing_id)) is None
    assert service.jobs == {}


def test_the_loop_guard_also_sees_outputs_written_as_iris() -> None:
    model = {
        "id": "urn:ngsi-ld:MLModel:m",
        "inputAttributes": ["imagePath"],
        "outputAttributes": ["predictedDigit"],
    }
    query = {
        "entities": [{"type": "HandwritingDigit"}],
        "watchedAttributes": ["https://smartdatamodels.org/dataModel.MachineLearning/predictedDigit"],
    }
    with pytest.raises(SubscriptionQueryError, match="loop"):
        data_subscription(
            query, model=model, processing_id="urn:ngsi-ld:MLProcessing:p", endpoint_uri="http://x/y"
        )


# ------------------------------------------------------------------------------------------------ /predict


@pytest.fixture
def predict_url(runtime: tuple[ModelService, str]) -> str:
    return runtime[1] + "/predict"


@pytest.mark.parametrize(
    ("content", "headers", "status"),
    [
        (b"abc", {}, 415),
        (b"abc", {"Content-Type": "text/plain"}, 415),
        (b"abc", {"Content-Type": "image/png"}, 422),
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", {"Content-Type": "image/gif"}, 422),
        (b"", {"Content-Type": "image/png"}, 400),
        (b"[1]", JSON, 400),
        (b"{", JSON, 400),
        (b'{"imageDataB64": 5}', JSON, 400),
        (b'{"imageDataB64": "data:image/png;base64,@@@"}', JSON, 400),
        (b'{"imageDataB64": "data:image/png;base64,"}', JSON, 400),
        (b'{"imageDataB64": "data:image/png;base64"}', JSON, 400),
        (b"[" * 5000 + b"]" * 5000, JSON, 400),
        (b"\0" * (MAX_IMAGE_BYTES + 1), {"Content-Type": "image/png"}, 413),
    ],
)
def test_predict_answers_problem_details(
    predict_url: str, content: bytes, headers: dict[str, str], status: int
) -> None:
    response = httpx.post(predict_url, content=content, headers=headers, trust_env=False, timeout=10)
    assert_problem(response, status)


def test_predict_multipart_without_an_image_field(predict_url: str) -> None:
    response = httpx.post(
        predict_url, files={"other": ("a.png", holdout_png(0), "image/png")}, trust_env=False
    )
    assert_problem(response, 400)
    good = httpx.post(predict_url, files={"image": ("a.png", holdout_png(2), "image/png")}, trust_env=False)
    assert good.status_code == 200 and good.json()["predictedDigit"] == label(2)


def test_predict_with_a_non_latin1_data_uri_is_a_problem_not_a_500(predict_url: str) -> None:
    response = httpx.post(predict_url, json={"imageDataB64": "data:image/png,%E2%82%AC"}, trust_env=False)
    assert_problem(response, 422)


def test_predict_with_a_broken_multipart_body_is_a_problem(predict_url: str) -> None:
    for content_type in ("multipart/form-data; boundary=x", "multipart/form-data"):
        response = httpx.post(
            predict_url, content=b"garbage", headers={"Content-Type": content_type}, trust_env=False
        )
        assert_problem(response, 400)


def test_predict_of_a_real_rgba_canvas_image(predict_url: str) -> None:
    images, _ = holdout()
    rgba = np.zeros((*images[4].shape, 4), dtype=np.uint8)
    rgba[..., 3] = images[4]
    buffer = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buffer, format="PNG")
    response = httpx.post(
        predict_url, content=buffer.getvalue(), headers={"Content-Type": "image/png"}, trust_env=False
    )
    assert response.status_code == 200 and response.json()["predictedDigit"] == label(4)
