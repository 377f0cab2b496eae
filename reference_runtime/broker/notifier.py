"""Notification delivery (ETSI GS CIM 009 clause 5.3.1 body, 5.8 behaviour) with httpx.

The broker hands over a fully built notification after its write is committed; delivery happens in the
background so that the HTTP response of the write never waits for a receiver. Each subscription has its own
queue and worker, so notifications of one subscription arrive in the order of the writes while a slow
receiver does not hold up the others. Every attempt is counted in the store: only a 200 answer is a success
by default (Stellio's rule, and the only one that satisfies all brokers' receivers), anything else, a
timeout or a refused connection included, is a failure. There are no retries, as on the real brokers.

Robustness rules:
- a notification is written to the store's outbox before it is queued and leaves it once attempted, so
  the notifications still queued when the broker stops go out after a restart;
- connections are not pooled under a global cap: a hundred receivers that hang must not make a healthy
  receiver wait for a free connection (and fail);
- a subscription holds at most ``max_pending`` queued notifications: beyond that, while its receiver is
  slow or hangs, new ones are dropped and counted as failed rather than piling up in memory;
- every notification carries ``NOTIFIER_HEADER`` with the id of the broker's database, and the broker
  refuses requests that carry its own id: a subscription whose endpoint is the broker itself would
  otherwise write each notification back as an entity, which could notify again, without end.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson

from sdmtool.resources import is_core_context_url

from .contexts import CORE_CONTEXT_URL, JSONLD_CONTEXT_REL, ContextEntry
from .entities import now_iso
from .store import Store

log = logging.getLogger(__name__)

_FORMAT_HEADER = {"normalized": "Normalized", "concise": "Concise", "keyValues": "Simplified"}
NOTIFIER_HEADER = "X-Sdmtool-Broker-Notification"
DEFAULT_MAX_PENDING = 10_000


@dataclass
class Notification:
    subscription_id: str
    url: str
    body: bytes
    headers: dict[str, str]
    timeout: float
    created: float = field(default_factory=time.monotonic)
    seq: int | None = None  # row in the store's outbox


def link_header(url: str) -> str:
    return f'<{url}>; rel="{JSONLD_CONTEXT_REL}"; type="application/ld+json"'


def context_link_url(entries: Sequence[ContextEntry], hosted_url: str | None) -> str:
    """The single URL to put in a ``Link`` header for a subscription's context: the core context if it has
    none, its one URL if it has exactly one besides the core (which is implicit anyway), else the copy the
    broker hosts (Scorpio does the same)."""
    urls = [e for e in entries if isinstance(e, str) and not is_core_context_url(e)]
    inline = [e for e in entries if not isinstance(e, str)]
    if not urls and not inline:
        return CORE_CONTEXT_URL
    if len(urls) == 1 and not inline:
        return urls[0]
    return hosted_url or CORE_CONTEXT_URL


def build_notification(
    sub: Mapping[str, Any],
    data: list[dict[str, Any]],
    *,
    default_timeout: float,
    append_subscription_id: bool = False,
) -> Notification:
    """The NGSI-LD Notification for ``data`` (entities already rendered and compacted for ``sub``)."""
    notification = sub["notification"]
    endpoint = notification["endpoint"]
    entries: list[ContextEntry] = sub.get("context") or []
    body: dict[str, Any] = {
        "id": f"urn:ngsi-ld:Notification:{uuid.uuid4()}",
        "type": "Notification",
        "subscriptionId": sub["id"],
        "notifiedAt": now_iso(),
        "data": data,
    }
    fmt = notification.get("format", "normalized")
    headers = {"Ngsild-Attribute-Format": _FORMAT_HEADER.get(fmt, _FORMAT_HEADER["keyValues"])}
    if endpoint.get("accept", "application/json") == "application/ld+json":
        headers["Content-Type"] = "application/ld+json"
        context: Any = entries if len(entries) != 1 else entries[0]
        # Once, at the top level, as Orion-LD does.
        body = {"@context": context or CORE_CONTEXT_URL, **body}
    else:
        headers["Content-Type"] = "application/json"
        headers["Link"] = link_header(context_link_url(entries, sub.get("hostedContext")))
    for pair in endpoint.get("receiverInfo", []):
        headers[pair["key"]] = pair["value"]
    url = endpoint["uri"]
    if append_subscription_id:
        url += ("&" if "?" in url else "?") + urlencode({"subscriptionId": sub["id"]})
    timeout = endpoint["timeout"] / 1000 if "timeout" in endpoint else default_timeout
    return Notification(sub["id"], url, orjson.dumps(body), headers, timeout)


class Notifier:
    """Per-subscription ordered, background delivery; statistics go to the store."""

    def __init__(
        self,
        store: Store,
        *,
        success_statuses: frozenset[int] = frozenset({200}),
        max_pending: int = DEFAULT_MAX_PENDING,
        instance_id: str = "",
    ) -> None:
        self._store = store
        self._success = success_statuses
        self._max_pending = max_pending
        self.instance_id = instance_id
        self._queues: dict[str, asyncio.Queue[Notification]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._client: httpx.AsyncClient | None = None
        self._resumed = False
        # Wall-clock time of the last notification per subscription, for throttling.
        self._last_sent: dict[str, float] = {}

    def _ensure_client(self) -> httpx.AsyncClient:
        if self._client is None:
            # trust_env=False: a proxy configured in the environment must not capture loopback receivers.
            # No cap on connections: each subscription has one worker, so at most one connection per
            # subscription is busy, and receivers that hang must not starve the others.
            limits = httpx.Limits(max_connections=None, max_keepalive_connections=64)
            self._client = httpx.AsyncClient(trust_env=False, follow_redirects=False, limits=limits)
        return self._client

    async def start(self) -> None:
        """Open the HTTP client and queue the notifications a previous run left in the outbox."""
        self._ensure_client()
        if self._resumed:
            return
        self._resumed = True
        pending = self._store.pending_notifications()
        for seq, sub_id, url, headers, body, timeout in pending:
            self._enqueue(Notification(sub_id, url, body, headers, timeout, seq=seq))
        if pending:
            log.info("resuming %d notification(s) queued before the last stop", len(pending))

    async def aclose(self, drain_timeout: float = 2.0) -> None:
        """Let queued notifications go out for a moment, then stop; the rest stay in the outbox."""
        with contextlib.suppress(TimeoutError):
            await self.wait_idle(drain_timeout)
        for task in list(self._workers.values()):
            task.cancel()
        for task in list(self._workers.values()):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._workers.clear()
        self._queues.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def wait_idle(self, timeout: float) -> None:
        """Wait until every queue is empty and every worker done (TimeoutError otherwise)."""
        async with asyncio.timeout(timeout):
            while self._workers:
                await asyncio.gather(*list(self._workers.values()), return_exceptions=True)

    def pending(self, sub_id: str) -> int:
        queue = self._queues.get(sub_id)
        return queue.qsize() if queue is not None else 0

    def throttled(self, sub_id: str, throttling: float | None, last_persisted: str | None) -> bool:
        """True if a notification now would come sooner than ``throttling`` seconds after the previous one;
        otherwise record now as the time of the last notification."""
        now = time.time()
        if throttling:
            last = self._last_sent.get(sub_id)
            if last is None and last_persisted:
                last = _epoch(last_persisted)
            if last is not None and now - last < throttling:
                return True
        self._last_sent[sub_id] = now
        return False

    def forget(self, sub_id: str) -> None:
        """The subscription is deleted: drop what is still queued for it."""
        self._last_sent.pop(sub_id, None)
        queue = self._queues.get(sub_id)
        while queue is not None and not queue.empty():
            queue.get_nowait()

    def submit(self, notification: Notification) -> None:
        """Queue a notification; must be called from the event loop that runs the broker."""
        sub_id = notification.subscription_id
        if self.pending(sub_id) >= self._max_pending:
            log.warning(
                "notification for %s dropped: %d wait for its receiver already", sub_id, self._max_pending
            )
            self._store.record_notification(sub_id, now_iso(), success=False)
            return
        notification.seq = self._store.add_to_outbox(
            sub_id, notification.url, notification.headers, notification.body, notification.timeout
        )
        self._enqueue(notification)

    def _enqueue(self, notification: Notification) -> None:
        sub_id = notification.subscription_id
        queue = self._queues.get(sub_id)
        if queue is None:
            queue = self._queues[sub_id] = asyncio.Queue()
        queue.put_nowait(notification)
        if sub_id not in self._workers:
            self._workers[sub_id] = asyncio.get_running_loop().create_task(self._work(sub_id))

    async def _work(self, sub_id: str) -> None:
        queue = self._queues[sub_id]
        try:
            while True:
                try:
                    item = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                await self._deliver(item)
        finally:
            # No await between the empty check and this cleanup, so submit() never sees a dying worker.
            self._workers.pop(sub_id, None)
            if queue.empty() and self._queues.get(sub_id) is queue:
                self._queues.pop(sub_id, None)

    async def _deliver(self, item: Notification) -> None:
        client = self._ensure_client()
        if not self._store.subscription_stats(item.subscription_id):
            # Deleted since the notification was queued (possibly before a restart): nobody wants it.
            if item.seq is not None:
                self._store.remove_from_outbox(item.seq)
            return
        headers = {**item.headers, NOTIFIER_HEADER: self.instance_id}
        success = False
        try:
            response = await client.post(item.url, content=item.body, headers=headers, timeout=item.timeout)
            success = response.status_code in self._success
            if not success:
                log.info("notification for %s answered %s", item.subscription_id, response.status_code)
        except Exception as exc:  # refused, timed out, or a URI httpx rejects: all count as a failure
            log.info("notification for %s failed: %s", item.subscription_id, exc)
        try:
            self._store.record_notification(
                item.subscription_id, now_iso(), success=success, outbox_seq=item.seq
            )
        except Exception:  # the store may be closing at shutdown; statistics are best effort then
            log.exception("could not record a notification of %s", item.subscription_id)


def _epoch(timestamp: str) -> float | None:
    try:
        return datetime.fromisoformat(timestamp).timestamp()
    except ValueError:
        return None
