"""Helpers shared by several test modules: clients of the embedded broker and what the tests check with them.

A plain module (``from tests.support import ...``); the fixtures stay in conftest.py.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
from PIL import Image

from reference_runtime.broker.errors import HTTP_ONLY_ERRORS
from reference_runtime.dataset import holdout
from reference_runtime.ngsi_client import link_header
from sdmtool.forms import to_key_values, to_normalized
from sdmtool.resources import SUBJECT_CONTEXT_URL

ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"
CONTEXT_REL = "http://www.w3.org/ns/json-ld#context"
LINK = f'<{SUBJECT_CONTEXT_URL}>; rel="{CONTEXT_REL}"; type="application/ld+json"'

# ------------------------------------------------------------------------------- the broker's HTTP API


def api_client(base_url: str, **headers: str) -> httpx.Client:
    return httpx.Client(base_url=base_url + "/ngsi-ld/v1", trust_env=False, timeout=10, headers=headers)


def assert_problem(response: httpx.Response, status: int, name: str) -> dict[str, Any]:
    """A complete ProblemDetails (all five members) with the given status and NGSI-LD error type (or, for an
    error clause 5.5.2 gives no type, about:blank)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    problem = response.json()
    assert problem["type"] == ("about:blank" if name in HTTP_ONLY_ERRORS else ERRORS + name)
    assert problem["status"] == status
    assert isinstance(problem["title"], str) and problem["title"]
    assert isinstance(problem["detail"], str) and problem["detail"]
    assert problem["instance"].startswith("/ngsi-ld/v1/")
    return problem


# ------------------------------------------------------------------------- the runtime's MLOps loop


class Broker:
    """Synchronous NGSI-LD calls for the runtime tests' consumer and producer roles (keyValues in, and out
    with ``get_kv``), with the subject context in a Link header."""

    def __init__(self, url: str, *, trust_env: bool = True) -> None:
        self.http = httpx.Client(
            base_url=url + "/ngsi-ld/v1",
            headers={"Link": link_header(SUBJECT_CONTEXT_URL)},
            timeout=5.0,
            trust_env=trust_env,
        )

    def create(self, entity: dict[str, Any]) -> None:
        response = self.http.post("/entities", json=to_normalized(entity))
        assert response.status_code == 201, response.text

    def patch(self, entity_id: str, attrs: dict[str, Any]) -> None:
        response = self.http.patch(f"/entities/{entity_id}/attrs", json=attrs)
        assert response.status_code == 204, response.text

    def get(self, entity_id: str) -> dict[str, Any]:
        response = self.http.get(f"/entities/{entity_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def get_kv(self, entity_id: str) -> dict[str, Any]:
        return to_key_values(self.get(entity_id))

    def subscribe(self, subscription: dict[str, Any]) -> None:
        response = self.http.post("/subscriptions", json=subscription)
        assert response.status_code == 201, response.text

    def subscriptions(self) -> list[dict[str, Any]]:
        return self.http.get("/subscriptions").json()

    def subscription(self, sub_id: str) -> dict[str, Any] | None:
        response = self.http.get(f"/subscriptions/{sub_id}")
        return response.json() if response.status_code == 200 else None

    def wait_for(
        self, entity_id: str, check: Callable[[dict[str, Any]], bool], timeout: float = 10.0
    ) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            entity = self.get_kv(entity_id)
            if check(entity):
                return entity
            assert time.monotonic() < deadline, f"timed out; last state of {entity_id}: {entity}"
            time.sleep(0.05)


def provision(
    broker: Broker,
    model_id: str,
    *,
    query_id: str,
    processing_id: str,
    query: Mapping[str, Any] | None = None,
    **processing: Any,
) -> None:
    """A SubscriptionQuery on the imagePath of HandwritingDigit entities (``query`` replaces members of it)
    and a pending MLProcessing job that wires it to ``model_id`` (``processing`` replaces or adds members)."""
    broker.create(
        {
            "id": query_id,
            "type": "SubscriptionQuery",
            "entities": [{"type": "HandwritingDigit"}],
            "watchedAttributes": ["imagePath"],
            "notification": {"attributes": ["imagePath", "imageMetadata"], "format": "keyValues"},
            **(query or {}),
        }
    )
    broker.create(
        {
            "id": processing_id,
            "type": "MLProcessing",
            "refMLModel": model_id,
            "refSubscriptionQuery": query_id,
            "processingStatus": "pending",
            **processing,
        }
    )


def holdout_png(index: int) -> bytes:
    """Held-out digit ``index`` as the bytes of a PNG file."""
    buffer = io.BytesIO()
    Image.fromarray(holdout()[0][index], mode="L").save(buffer, format="PNG")
    return buffer.getvalue()
