"""The model service: the event-driven MLOps loop, and the direct ``/predict`` endpoint.

Steps (numbering of the reference sequence):
  6-9   register the MLModel and subscribe to the MLProcessing jobs that reference it;
  14-18 on a job notification, read its SubscriptionQuery and create the data subscription from it;
  21-28 on a data notification, load the image, infer with ONNX Runtime, write the outputs back.
Everything goes through the NGSI-LD HTTP API (:mod:`reference_runtime.ngsi_client`), never through the
internals of a particular broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from reference_runtime.images import ImageSourceError, load_image
from reference_runtime.inference import DigitClassifier, Prediction
from reference_runtime.ngsi_client import NgsiClient, NgsiError
from reference_runtime.preprocess import ImageError
from reference_runtime.subscriptions import (
    SubscriptionQueryError,
    control_subscription,
    data_subscription,
    same_subscription,
    selected_outputs,
)
from sdmtool.forms import to_key_values, to_normalized

log = logging.getLogger("sdm-runtime")

CONTROL_PATH = "/notify/control"
DATA_PATH = "/notify/data"
ARTIFACT_PATH = "/artifacts"


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Job:
    """What the runtime knows of one MLProcessing entity it works for."""

    processing_id: str
    subscription_id: str
    output_entity: str | None
    status: str = "active"
    processed: int = 0
    failed: int = 0
    last_error: str | None = None
    last_processed: str | None = None
    dirty: bool = True
    # Per entity id, the image location most recently notified and the one whose prediction was written:
    # a repeated notification is not reprocessed, and a slow result for an image the entity no longer
    # points at is dropped instead of overwriting a newer one.
    latest: OrderedDict[str, str] = field(default_factory=OrderedDict)
    written: OrderedDict[str, str] = field(default_factory=OrderedDict)
    in_flight: set[tuple[str, str]] = field(default_factory=set)

    def start(self, entity_id: str, location: str) -> bool:
        """Note that ``location`` is the entity's current image; ``False`` when it needs no (new) work."""
        if self.written.get(entity_id) == location and self.latest.get(entity_id) == location:
            return False
        if (entity_id, location) in self.in_flight:
            return False
        _bounded_set(self.latest, entity_id, location)
        self.in_flight.add((entity_id, location))
        return True

    def is_current(self, entity_id: str, location: str) -> bool:
        return self.latest.get(entity_id) == location

    def finish(self, entity_id: str, location: str, *, written: bool) -> None:
        self.in_flight.discard((entity_id, location))
        if written:
            _bounded_set(self.written, entity_id, location)


def _bounded_set(cache: OrderedDict[str, str], key: str, value: str, limit: int = 100_000) -> None:
    cache[key] = value
    cache.move_to_end(key)
    if len(cache) > limit:
        cache.popitem(last=False)


@dataclass
class ServiceConfig:
    broker_url: str = "http://127.0.0.1:1026"
    public_url: str = "http://127.0.0.1:5001"  # how the broker and consumers reach this service
    workers: int = 2
    status_interval: float = 1.0
    reconcile_interval: float = 30.0


class ModelService:
    def __init__(
        self,
        config: ServiceConfig,
        classifier: DigitClassifier,
        model_entity: Mapping[str, Any],
        *,
        broker: NgsiClient | None = None,
    ) -> None:
        self.config = config
        self.classifier = classifier
        self.model = dict(model_entity)
        self.model["modelUrl"] = f"{config.public_url}{ARTIFACT_PATH}/{classifier.model_path.name}"
        self.model_id: str = self.model["id"]
        self.broker = broker or NgsiClient(config.broker_url)
        self.http = httpx.AsyncClient(timeout=10.0)
        self.jobs: dict[str, Job] = {}
        self._by_subscription: dict[str, Job] = {}
        self._queue: asyncio.Queue[tuple[Job, dict[str, Any]]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._job_lock = asyncio.Lock()
        self._failures: dict[str, str] = {}  # processing id -> last error reported

    # Life cycle -----------------------------------------------------------------------------------------
    async def start(self) -> None:
        await self.register()
        for _ in range(self.config.workers):
            self._tasks.append(asyncio.create_task(self._worker()))
        self._tasks.append(asyncio.create_task(self._status_flusher()))
        self._tasks.append(asyncio.create_task(self._reconciler()))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(httpx.HTTPError, NgsiError):
            await self.flush_status()
        await self.http.aclose()
        await self.broker.aclose()

    async def register(self) -> None:
        """Steps 6-9: upsert the MLModel, subscribe to its jobs, and take over the jobs that exist already."""
        await self.broker.upsert_entity(to_normalized(self.model))
        await self.broker.create_subscription(
            control_subscription(self.model_id, self.config.public_url + CONTROL_PATH)
        )
        await self.reconcile()

    async def reconcile(self) -> None:
        """Bring the broker back in line with the jobs: pick up jobs whose notification was missed (runtime
        restarted, notification lost), repair data subscriptions that were deleted or changed behind our
        back (or whose SubscriptionQuery changed), and drop the jobs whose MLProcessing is gone."""
        found = await self.broker.query_entities(
            "MLProcessing", q=f'refMLModel=="{self.model_id}"', key_values=True
        )
        for processing in found:
            await self.activate(processing)
        present = {str(p.get("id")) for p in found}
        for processing_id in [pid for pid in self.jobs if pid not in present]:
            await self.retire(processing_id, "its MLProcessing entity no longer exists")

    async def retire(self, processing_id: str, reason: str) -> None:
        """Stop working for a job: forget it and delete its data subscription."""
        async with self._job_lock:
            job = self.jobs.pop(processing_id, None)
            if job is None:
                return
            self._by_subscription.pop(job.subscription_id, None)
        log.info("MLProcessing %s retired: %s", processing_id, reason)
        await self.broker.delete_subscription(job.subscription_id)

    # Steps 14-18 ----------------------------------------------------------------------------------------
    async def handle_control(self, notification: Mapping[str, Any]) -> None:
        data = notification.get("data")
        for entity in data if isinstance(data, list) else []:
            if not isinstance(entity, dict) or not isinstance(entity.get("id"), str):
                log.warning("ignored a malformed item of a control notification: %.200r", entity)
                continue
            processing = to_key_values(entity)
            if processing.get("refMLModel") != self.model_id:
                # The job was moved to another model: it is not ours any more.
                await self.retire(str(processing.get("id")), "it references another model now")
                continue
            await self.activate(processing)

    async def activate(self, processing: Mapping[str, Any]) -> Job | None:
        """Make sure the job's data subscription exists and says what its SubscriptionQuery asks; idempotent,
        so it serves first activation, repeated notifications and periodic reconciliation alike."""
        processing_id = str(processing["id"])
        async with self._job_lock:
            try:
                query_id = processing.get("refSubscriptionQuery")
                if not isinstance(query_id, str):
                    raise SubscriptionQueryError("the MLProcessing has no refSubscriptionQuery")
                try:
                    query = to_key_values(await self.broker.get_entity(query_id))
                except NgsiError as err:
                    raise SubscriptionQueryError(f"cannot read SubscriptionQuery {query_id}: {err}") from err
                if query.get("type") != "SubscriptionQuery":
                    raise SubscriptionQueryError(
                        f"{query_id} is a {query.get('type')}, not a SubscriptionQuery"
                    )
                subscription = data_subscription(
                    query,
                    model=self.model,
                    processing_id=processing_id,
                    endpoint_uri=self.config.public_url + DATA_PATH,
                )
                existing = await self.broker.get_subscription(subscription["id"])
                if existing is not None and not same_subscription(existing, subscription):
                    log.warning(
                        "data subscription %s of %s differs from what its SubscriptionQuery asks "
                        "(endpoint %s); recreating it",
                        subscription["id"],
                        processing_id,
                        (existing.get("notification") or {}).get("endpoint", {}).get("uri"),
                    )
                    await self.broker.delete_subscription(subscription["id"])
                    existing = None
                if existing is None:
                    await self.broker.create_subscription(subscription)
            except (SubscriptionQueryError, NgsiError) as err:
                failed_job = self.jobs.pop(processing_id, None)
                if failed_job is not None:
                    self._by_subscription.pop(failed_job.subscription_id, None)
                    with contextlib.suppress(NgsiError):
                        await self.broker.delete_subscription(failed_job.subscription_id)
                if self._failures.get(processing_id) != str(err):  # report a failure once, not every cycle
                    self._failures[processing_id] = str(err)
                    log.warning("MLProcessing %s failed: %s", processing_id, err)
                    await self._write_status(
                        processing_id, {"processingStatus": "failed", "lastError": str(err)}
                    )
                return None

            self._failures.pop(processing_id, None)
            job = self.jobs.get(processing_id)
            if job is None:
                job = Job(
                    processing_id=processing_id,
                    subscription_id=subscription["id"],
                    output_entity=processing.get("refOutputEntity"),
                    processed=int(processing.get("processedCount") or 0),
                    failed=int(processing.get("failedCount") or 0),
                )
                self.jobs[processing_id] = job
                self._by_subscription[job.subscription_id] = job
                log.info("MLProcessing %s active: subscription %s", processing_id, job.subscription_id)
                # Entities created before the subscription existed (or while this runtime was down) were never
                # notified: look for them once.
                self._tasks.append(asyncio.create_task(self._catch_up(job, query)))
            else:
                job.output_entity = processing.get("refOutputEntity")
            if processing.get("processingStatus") != job.status:
                job.dirty = True
        await self.flush_status()
        return job

    async def _catch_up(self, job: Job, query: Mapping[str, Any]) -> None:
        """Queue the matching entities that have the model's input but none of its outputs yet.

        Only possible when results go back to the data entity itself; NGSI-LD ``q`` cannot test for an absent
        attribute, so the filter runs here.
        """
        if job.output_entity:
            return
        input_name = self.model["inputAttributes"][0]
        outputs = set(self.model.get("outputAttributes") or [])
        try:
            for selector in query.get("entities") or []:
                # The broker applies id and idPattern exactly as it does for the subscription itself.
                found = await self.broker.query_entities(
                    selector["type"],
                    q=query.get("q"),
                    entity_id=selector.get("id"),
                    id_pattern=selector.get("idPattern"),
                    key_values=True,
                )
                for entity in found:
                    if input_name in entity and not outputs.intersection(entity):
                        self._queue.put_nowait((job, entity))
        except (NgsiError, httpx.HTTPError, KeyError, TypeError) as err:
            log.warning("catching up on the entities of %s failed: %s", job.processing_id, err)

    # Steps 21-28 ----------------------------------------------------------------------------------------
    def accept_data(self, notification: Mapping[str, Any]) -> int:
        """Queue the entities of a data notification; the receiver answers 200 before inference runs."""
        job = self._by_subscription.get(str(notification.get("subscriptionId")))
        if job is None:
            log.info("ignored a notification of unknown subscription %s", notification.get("subscriptionId"))
            return 0
        data = notification.get("data")
        if not isinstance(data, list):
            log.warning("ignored a notification of %s: its data is not a list", job.subscription_id)
            return 0
        queued = 0
        for entity in data:
            if isinstance(entity, dict):
                self._queue.put_nowait((job, entity))
                queued += 1
        return queued

    async def _worker(self) -> None:
        while True:
            job, entity = await self._queue.get()
            try:
                await self.process(job, entity)
            except Exception:  # a bug must not kill the worker; it is logged and counted
                log.exception("unexpected error while processing %s", entity.get("id"))
                job.failed += 1
                job.dirty = True
            finally:
                self._queue.task_done()

    async def process(self, job: Job, entity: Mapping[str, Any]) -> bool:
        data = to_key_values(entity)
        entity_id = str(data.get("id"))
        input_name = self.model["inputAttributes"][0]
        location = data.get(input_name)
        if not isinstance(location, str):
            # Defence in depth against loops: a notification without the input is not ours to process.
            log.info("ignored %s: no %s in the notification", entity_id, input_name)
            return False
        if not job.start(entity_id, location):
            log.debug("ignored %s: %s already processed or in progress", entity_id, location)
            return False
        written = False
        try:
            image = await load_image(location, self.http)
            prediction = await asyncio.to_thread(self.classifier.predict, image)
            if not job.is_current(entity_id, location):
                log.info("dropped the result for %s: its image changed meanwhile", entity_id)
                return False
            target = job.output_entity or entity_id
            outputs = self.outputs(prediction)
            attrs = to_normalized({"id": target, "type": str(data.get("type")), **outputs})
            await self.broker.append_attrs(
                target, {k: v for k, v in attrs.items() if k not in ("id", "type")}
            )
            written = True
        except (ImageSourceError, ImageError, NgsiError, httpx.HTTPError) as err:
            job.failed += 1
            job.last_error = f"{entity_id}: {err}"
            job.dirty = True
            log.warning("prediction for %s failed: %s", entity_id, err)
            return False
        finally:
            job.finish(entity_id, location, written=written)
        job.processed += 1
        job.last_processed = outputs.get("datePredicted") or utc_now()
        job.dirty = True
        return True

    def outputs(self, prediction: Prediction) -> dict[str, Any]:
        produced = {
            "predictedDigit": prediction.digit,
            "confidence": prediction.confidence,
            "digitScores": prediction.scores,
            "refMLModel": self.model_id,
            "modelVersion": self.model.get("version"),
            "datePredicted": utc_now(),
        }
        return selected_outputs(self.model, produced)

    # Status of the jobs ---------------------------------------------------------------------------------
    async def _write_status(self, processing_id: str, status: Mapping[str, Any]) -> None:
        attrs = to_normalized({"id": processing_id, "type": "MLProcessing", **status})
        try:
            await self.broker.append_attrs(
                processing_id, {k: v for k, v in attrs.items() if k not in ("id", "type")}
            )
        except NgsiError as err:
            log.warning("cannot update the status of %s: %s", processing_id, err)

    async def flush_status(self) -> None:
        """Write the counters of changed jobs; batched so that a burst of predictions costs one update."""
        for job in list(self.jobs.values()):
            if not job.dirty:
                continue
            job.dirty = False
            status: dict[str, Any] = {
                "processingStatus": job.status,
                "processedCount": job.processed,
                "failedCount": job.failed,
            }
            if job.last_processed:
                status["dateLastProcessed"] = job.last_processed
            if job.last_error:
                status["lastError"] = job.last_error
            await self._write_status(job.processing_id, status)

    async def _status_flusher(self) -> None:
        while True:
            await asyncio.sleep(self.config.status_interval)
            try:
                await self.flush_status()
            except httpx.HTTPError as err:
                log.warning("status update failed: %s", err)

    async def _reconciler(self) -> None:
        while True:
            await asyncio.sleep(self.config.reconcile_interval)
            try:
                await self.reconcile()
            except (httpx.HTTPError, NgsiError) as err:
                log.warning("reconciliation failed: %s", err)

    async def drain(self) -> None:
        """Wait until every queued entity is processed (tests and the demo use it)."""
        await self._queue.join()
