"""The direct ``POST /predict`` endpoint of the demo app, on real held-out digits, over loopback HTTP."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from reference_runtime.app import create_app
from reference_runtime.dataset import holdout
from reference_runtime.inference import load_classifier
from reference_runtime.service import ModelService, ServiceConfig
from tests.conftest import RunningServer, loopback_socket


def encode(pixels: np.ndarray, fmt: str = "PNG", mode: str = "L") -> bytes:
    image = Image.fromarray(pixels, mode="L")
    if mode == "RGBA":  # what a browser canvas sends: transparent background, ink in the alpha channel only
        rgba = np.zeros((*pixels.shape, 4), dtype=np.uint8)
        rgba[..., 3] = pixels
        image = Image.fromarray(rgba, mode="RGBA")
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def model() -> tuple[Any, dict[str, Any]]:
    return load_classifier(None)


@pytest.fixture
def runtime_url(serve_app: Callable[..., RunningServer], broker_url: str, model: tuple[Any, dict]) -> str:
    sock = loopback_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    service = ModelService(ServiceConfig(broker_url=broker_url, public_url=url), *model)
    return serve_app(create_app(service), sock).url


def check_answer(response: httpx.Response, label: int, model_entity: dict[str, Any]) -> None:
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"predictedDigit", "confidence", "scores", "model", "modelVersion"}
    assert body["predictedDigit"] == label
    assert len(body["scores"]) == 10 and sum(body["scores"]) == pytest.approx(1.0, abs=1e-4)
    assert body["confidence"] == pytest.approx(max(body["scores"]))
    assert body["scores"].index(max(body["scores"])) == label
    assert body["model"] == model_entity["id"] and body["modelVersion"] == model_entity["version"]


def test_every_request_shape_predicts_real_digits(runtime_url: str, model: tuple[Any, dict]) -> None:
    images, labels = holdout()
    correct = 0
    shapes = 0
    with httpx.Client(base_url=runtime_url) as client:
        for index in range(30):
            label = int(labels[index])
            raw = encode(images[index])
            answers = [
                client.post("/predict", content=raw, headers={"Content-Type": "image/png"}),
                client.post("/predict", files={"image": ("digit.png", raw, "image/png")}),
                client.post(
                    "/predict",
                    json={
                        "imageDataB64": "data:image/png;base64,"
                        + base64.b64encode(encode(images[index], mode="RGBA")).decode()
                    },
                ),
                client.post(
                    "/predict", content=encode(images[index], "JPEG"), headers={"Content-Type": "image/jpeg"}
                ),
            ]
            for answer in answers:
                shapes += 1
                assert answer.status_code == 200, answer.text
                correct += answer.json()["predictedDigit"] == label
        # One digit checked in full detail for each shape.
        check_answer(
            client.post("/predict", content=encode(images[0]), headers={"Content-Type": "image/png"}),
            int(labels[0]),
            model[1],
        )
    assert correct / shapes >= 0.95


@pytest.mark.parametrize(
    ("kwargs", "status", "message"),
    [
        ({"content": b"not an image", "headers": {"Content-Type": "image/png"}}, 422, "image"),
        ({"content": b"", "headers": {"Content-Type": "image/png"}}, 400, "no image"),
        ({"content": b"x", "headers": {"Content-Type": "text/plain"}}, 415, "multipart"),
        ({"json": {"imageDataB64": "data:image/png;base64,@@@"}}, 400, "base64"),
        ({"json": {"image": "x"}}, 400, "imageDataB64"),
        ({"content": b"{not json", "headers": {"Content-Type": "application/json"}}, 400, "JSON"),
        ({"files": {"other": ("a.png", b"x", "image/png")}}, 400, "'image'"),
        ({"content": b"\0" * (11 * 1024 * 1024), "headers": {"Content-Type": "image/png"}}, 413, "larger"),
    ],
)
def test_bad_requests_get_problem_details(
    runtime_url: str, kwargs: dict[str, Any], status: int, message: str
) -> None:
    response = httpx.post(runtime_url + "/predict", timeout=30, **kwargs)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status and body["type"].startswith("https://uri.etsi.org/ngsi-ld/errors/")
    assert message.lower() in body["detail"].lower()


def test_a_blank_canvas_is_refused(runtime_url: str) -> None:
    blank = encode(np.zeros((28, 28), dtype=np.uint8), mode="RGBA")
    response = httpx.post(runtime_url + "/predict", content=blank, headers={"Content-Type": "image/png"})
    assert response.status_code == 422
    assert "ink" in response.json()["detail"].lower()
