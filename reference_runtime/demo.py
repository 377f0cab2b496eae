"""The main job: real handwritten digits through a context broker and back, end to end.

Starts the embedded broker and the model service as separate processes speaking HTTP on loopback, plays the
consumer (provisions the SubscriptionQuery and MLProcessing, subscribes to the predictions) and the data
producer (publishes held-out MNIST digits as HandwritingDigit entities with their PNG files), then checks
that every digit came back predicted and that every entity in the broker is valid.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reference_runtime.dataset import holdout
from reference_runtime.ngsi_client import NgsiClient
from sdmtool.forms import to_normalized

DEMO_TYPES = ("MLModel", "MLProcessing", "SubscriptionQuery", "HandwritingDigit")
QUERY_ID = "urn:ngsi-ld:SubscriptionQuery:demo-digits"
PROCESSING_ID = "urn:ngsi-ld:MLProcessing:demo-digits"


@dataclass
class Summary:
    sent: int
    predicted: int
    correct: int
    latencies_ms: list[float]
    invalid_entities: int
    validated_entities: int
    missing: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    rate: float = 0.0  # digits published per second; 0 = all at once

    @property
    def accuracy(self) -> float:
        return self.correct / self.sent if self.sent else 0.0

    @property
    def ok(self) -> bool:
        return self.predicted == self.sent and self.invalid_entities == 0 and not self.missing

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        if len(self.latencies_ms) == 1:
            return self.latencies_ms[0]
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[round(q) - 1]

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "predicted": self.predicted,
            "accuracy": round(self.accuracy, 4),
            "latency_ms_p50": round(self.percentile(50), 1),
            "latency_ms_p95": round(self.percentile(95), 1),
            "invalid_entities": self.invalid_entities,
            "validated_entities": self.validated_entities,
            "missing": self.missing,
            "duration_s": round(self.duration_s, 2),
            "rate_per_s": self.rate,
        }


def format_summary(summary: Summary) -> str:
    d = summary.as_dict()
    pace = f"{summary.rate:g} digits/s" if summary.rate > 0 else "all digits at once"
    lines = [
        f"digits sent              {d['sent']}",
        f"predictions received     {d['predicted']}",
        f"accuracy                 {d['accuracy']:.2%}  ({summary.correct}/{summary.sent} correct)",
        f"latency p50              {d['latency_ms_p50']} ms  (entity created -> prediction notified, {pace})",
        f"latency p95              {d['latency_ms_p95']} ms",
        f"entities validated       {d['validated_entities']}",
        f"invalid entities         {d['invalid_entities']}",
        f"total time               {d['duration_s']} s",
    ]
    if summary.missing:
        lines.append(f"MISSING predictions for  {', '.join(summary.missing[:10])}")
    lines.append("OK" if summary.ok else "FAILED")
    return "\n".join(lines)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def child_process(args: list[str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "reference_runtime.cli", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def wait_until(check: Any, what: str, timeout: float, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(httpx.HTTPError):
            result = await check()
            if result:
                return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(interval)


class Consumer:
    """The consumer application of the loop: it is notified of every prediction written."""

    def __init__(self) -> None:
        self.received: dict[str, tuple[float, int]] = {}

    async def notify(self, request: Request) -> Response:
        arrived = time.perf_counter()
        body = await request.json()
        for entity in body.get("data", []):
            digit = entity.get("predictedDigit")
            if isinstance(digit, int) and entity.get("id") not in self.received:
                self.received[entity["id"]] = (arrived, digit)
        return Response(status_code=200)

    @contextlib.asynccontextmanager
    async def serving(self, port: int) -> AsyncIterator[None]:
        app = Starlette(routes=[Route("/notify", self.notify, methods=["POST"])])
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        task = asyncio.create_task(server.serve())
        try:
            await wait_until(lambda: asyncio.sleep(0, server.started), "the consumer receiver", 10)
            yield
        finally:
            server.should_exit = True
            await task


def digit_png(pixels: Any) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


async def _run(count: int, rate: float, timeout: float, workdir: Path, say: Any) -> Summary:
    started = time.perf_counter()
    broker_port, runtime_port, consumer_port = free_port(), free_port(), free_port()
    broker_url = f"http://127.0.0.1:{broker_port}"
    runtime_url = f"http://127.0.0.1:{runtime_port}"
    images_dir = workdir / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    consumer = Consumer()

    with (
        child_process(
            ["broker", "--port", str(broker_port), "--db", str(workdir / "broker.sqlite")],
            workdir / "broker.log",
        ),
        child_process(
            ["serve", "--broker", broker_url, "--port", str(runtime_port), "--wait", "30"],
            workdir / "runtime.log",
        ),
    ):
        async with (
            httpx.AsyncClient(timeout=5.0) as http,
            NgsiClient(broker_url) as broker,
            consumer.serving(consumer_port),
        ):
            health = await wait_until(
                lambda: _json_or_none(http.get(runtime_url + "/health")), "the model service", 60, 0.1
            )
            model_id = health["model"]
            say(f"broker {broker_url}, model service {runtime_url}, model {model_id}")

            # Step 12-13: the consumer subscribes to the predictions (never to the inputs).
            await broker.create_subscription(
                {
                    "id": "urn:ngsi-ld:Subscription:demo-consumer",
                    "type": "Subscription",
                    "entities": [{"type": "HandwritingDigit"}],
                    "watchedAttributes": ["predictedDigit"],
                    "notification": {
                        "attributes": ["predictedDigit", "confidence", "datePredicted"],
                        "format": "keyValues",
                        "endpoint": {
                            "uri": f"http://127.0.0.1:{consumer_port}/notify",
                            "accept": "application/json",
                        },
                    },
                }
            )
            # Step 10-11: what to process, with which model.
            await broker.upsert_entity(
                to_normalized(
                    {
                        "id": QUERY_ID,
                        "type": "SubscriptionQuery",
                        "subscriptionName": "Handwritten digits to recognise",
                        "entities": [{"type": "HandwritingDigit"}],
                        "watchedAttributes": ["imagePath"],
                        "notification": {"attributes": ["imagePath", "imageMetadata"], "format": "keyValues"},
                    }
                )
            )
            await broker.upsert_entity(
                to_normalized(
                    {
                        "id": PROCESSING_ID,
                        "type": "MLProcessing",
                        "name": "Demo: recognise handwritten digits",
                        "refMLModel": model_id,
                        "refSubscriptionQuery": QUERY_ID,
                        "objective": "Write the recognised digit back to every HandwritingDigit entity",
                        "processingStatus": "pending",
                    }
                )
            )

            async def job_active() -> bool:
                processing = await broker.get_entity(PROCESSING_ID, key_values=True)
                if processing.get("processingStatus") == "failed":
                    raise RuntimeError(f"the MLProcessing job failed: {processing.get('lastError')}")
                return processing.get("processingStatus") == "active"

            await wait_until(job_active, "the MLProcessing job to become active", 30)
            say("MLProcessing active; publishing digits")

            # Step 19-20: the data producer publishes held-out digits.
            images, labels = holdout()
            count = min(count, len(labels))
            created_at: dict[str, float] = {}
            truth: dict[str, int] = {}
            interval = 1.0 / rate if rate > 0 else 0.0
            publish_start = time.perf_counter()
            for index in range(count):
                # A steady rate, as from a real producer: latency then measures the loop, not a queue.
                delay = publish_start + index * interval - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                entity_id = f"urn:ngsi-ld:HandwritingDigit:demo-{index:04d}"
                png = digit_png(images[index])
                path = images_dir / f"digit-{index:04d}.png"
                path.write_bytes(png)
                entity = {
                    "id": entity_id,
                    "type": "HandwritingDigit",
                    "imagePath": path.resolve().as_uri(),
                    "imageMetadata": {
                        "mediaType": "image/png",
                        "width": 28,
                        "height": 28,
                        "colorMode": "L",
                        "sizeBytes": len(png),
                    },
                    "annotatedDigit": int(labels[index]),
                }
                truth[entity_id] = int(labels[index])
                created_at[entity_id] = time.perf_counter()
                await broker.upsert_entity(to_normalized(entity))
            elapsed = time.perf_counter() - publish_start
            say(f"published {count} digits in {elapsed:.1f} s; waiting for the predictions")

            with contextlib.suppress(TimeoutError):
                await wait_until(
                    lambda: asyncio.sleep(0, len(consumer.received) >= count), "the predictions", timeout
                )

            async def counters_flushed() -> bool:
                processing = await broker.get_entity(PROCESSING_ID, key_values=True)
                return int(processing.get("processedCount") or 0) >= len(consumer.received)

            with contextlib.suppress(TimeoutError):
                await wait_until(counters_flushed, "the job counters", 5)

            dump = [entity for kind in DEMO_TYPES for entity in await broker.query_entities(kind)]

    dump_path = workdir / "broker-dump.json"
    dump_path.write_text(json.dumps(dump, indent=2))
    invalid = validate_dump(dump_path)

    latencies = [
        (consumer.received[eid][0] - created_at[eid]) * 1000 for eid in created_at if eid in consumer.received
    ]
    correct = sum(1 for eid, (_, digit) in consumer.received.items() if truth.get(eid) == digit)
    return Summary(
        sent=count,
        predicted=sum(1 for eid in created_at if eid in consumer.received),
        correct=correct,
        latencies_ms=sorted(latencies),
        invalid_entities=invalid,
        validated_entities=len(dump),
        missing=sorted(eid for eid in created_at if eid not in consumer.received),
        duration_s=time.perf_counter() - started,
        rate=rate,
    )


async def _json_or_none(request: Any) -> Any:
    response = await request
    return response.json() if response.status_code == 200 else None


def validate_dump(dump_path: Path) -> int:
    """Count the invalid entities of a broker dump, running ``sdmtool validate`` as a user would."""
    command = [sys.executable, "-m", "sdmtool.cli", "validate", "--format", "json", str(dump_path)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode not in (0, 1):
        raise RuntimeError(f"sdmtool validate could not check {dump_path}: {result.stdout}{result.stderr}")
    report = json.loads(result.stdout)
    return len({f["index"] for f in report["findings"] if f["severity"] == "error"})


# What a demo run writes in its folder. A rerun starts from none of them: with the previous broker database,
# the same images would be upserted unchanged and, rightly, notify nobody.
_RUN_FILES = (
    "broker.sqlite",
    "broker.sqlite-wal",
    "broker.sqlite-shm",
    "broker.log",
    "runtime.log",
    "broker-dump.json",
)


def _clear_previous_run(folder: Path) -> bool:
    """Removes the files a previous run wrote in ``folder`` (only those); True when there were some."""
    found = False
    for name in _RUN_FILES:
        path = folder / name
        if path.is_file():
            path.unlink()
            found = True
    images = folder / "images"
    if images.is_dir():
        shutil.rmtree(images)
        found = True
    return found


def run_demo(
    *,
    count: int = 200,
    rate: float = 50.0,
    timeout: float = 90.0,
    workdir: Path | None = None,
    progress: bool = True,
) -> Summary:
    def say(message: str) -> None:
        if progress:
            print(f"[demo] {message}", file=sys.stderr, flush=True)

    keep = workdir is not None
    folder = workdir or Path(tempfile.mkdtemp(prefix="sdm-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    if _clear_previous_run(folder):
        say(f"removed the files of a previous demo run in {folder}")
    try:
        summary = asyncio.run(_run(count, rate, timeout, folder, say))
        if not summary.ok:
            keep = True
            say(f"files kept in {folder}")
    except (TimeoutError, RuntimeError) as err:
        say(f"error: {err}")
        for log in ("broker.log", "runtime.log"):
            text = (folder / log).read_text(errors="replace") if (folder / log).exists() else ""
            if text.strip():
                say(f"--- last lines of {log} ---\n" + "\n".join(text.splitlines()[-20:]))
        keep = True
        say(f"files kept in {folder}")
        return Summary(
            sent=count,
            predicted=0,
            correct=0,
            latencies_ms=[],
            invalid_entities=0,
            validated_entities=0,
            missing=["(demo aborted)"],
        )
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
    return summary
