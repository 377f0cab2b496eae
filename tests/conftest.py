"""Shared fixtures: real uvicorn servers on loopback ports, the embedded broker, a notification receiver.

Everything runs over real HTTP on 127.0.0.1 with ephemeral ports, in threads of the test process, so the
runtime's end-to-end tests can reuse these fixtures exactly as the broker tests do:

- ``serve_app(app) -> RunningServer``: any ASGI app in a uvicorn thread (stopped at teardown);
- ``broker_factory(db_path=None, **create_app_options) -> RunningServer``: an embedded broker;
- ``broker_url``: base URL (``http://127.0.0.1:<port>``) of a fresh broker on a temporary SQLite file;
- ``shared_broker_url``: one broker per test module, for tests that leave no state behind;
- ``api``, ``shared_api``: an ``httpx.Client`` on the NGSI-LD API (``/ngsi-ld/v1``) of either broker;
- ``notification_receiver``: a Starlette app recording every request it gets (``.endpoint()`` is the URL to
  put in a subscription, ``.wait_for(n)`` polls with a timeout, ``.status_code`` sets its answer).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from reference_runtime.broker import create_app
from tests.support import api_client

_START_TIMEOUT = 10.0


@dataclass
class RunningServer:
    """A uvicorn server in a daemon thread; ``url`` has no trailing slash."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        if not self.thread.is_alive():
            return
        self.server.should_exit = True
        self.thread.join(timeout=_START_TIMEOUT)


def loopback_socket() -> socket.socket:
    """A socket bound to an ephemeral loopback port, for an app that must know its own URL before it starts.

    proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted sockets only when the listening socket
    says TCP explicitly; without it every response with a body waits ~40 ms for a delayed ACK.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def start_server(app: ASGIApp, sock: socket.socket | None = None) -> RunningServer:
    # Bind first, so the port is known before uvicorn starts and no other process can take it meanwhile.
    sock = sock or loopback_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + _START_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.005)
    return RunningServer(f"http://127.0.0.1:{port}", server, thread)


@pytest.fixture
def serve_app() -> Iterator[Callable[..., RunningServer]]:
    started: list[RunningServer] = []

    def serve(app: ASGIApp, sock: socket.socket | None = None) -> RunningServer:
        running = start_server(app, sock)
        started.append(running)
        return running

    yield serve
    # Signal every server first, then wait: each uvicorn shutdown takes ~0.2 s, and in parallel they overlap.
    for running in started:
        running.server.should_exit = True
    for running in reversed(started):
        running.stop()


@pytest.fixture
def broker_factory(
    serve_app: Callable[[ASGIApp], RunningServer], tmp_path: Path
) -> Callable[..., RunningServer]:
    def start(db_path: str | Path | None = None, **options: Any) -> RunningServer:
        return serve_app(create_app(db_path or tmp_path / "broker.sqlite", **options))

    return start


@pytest.fixture
def broker_url(broker_factory: Callable[..., RunningServer]) -> str:
    return broker_factory().url


@pytest.fixture(scope="module")
def shared_broker_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One broker for a whole test module, for tests that do not depend on its state (validation errors):
    each uvicorn shutdown costs ~0.2 s, which adds up over many parametrized cases."""
    running = start_server(create_app(tmp_path_factory.mktemp("shared-broker") / "broker.sqlite"))
    yield running.url
    running.stop()


@pytest.fixture
def api(broker_url: str) -> Iterator[httpx.Client]:
    with api_client(broker_url) as client:
        yield client


@pytest.fixture
def shared_api(shared_broker_url: str) -> Iterator[httpx.Client]:
    with api_client(shared_broker_url) as client:
        yield client


@dataclass
class ReceivedRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any  # parsed JSON, or the raw bytes if the body was not JSON


@dataclass
class NotificationReceiver:
    """Records every request; answers ``status_code`` (200 by default: the only answer all brokers count
    as a successful notification)."""

    url: str = ""
    status_code: int = 200
    received: list[ReceivedRequest] = field(default_factory=list)
    _condition: threading.Condition = field(default_factory=threading.Condition)

    def endpoint(self, path: str = "/notify") -> str:
        return self.url + path

    def record(self, item: ReceivedRequest) -> None:
        with self._condition:
            self.received.append(item)
            self._condition.notify_all()

    def wait_for(
        self,
        count: int = 1,
        timeout: float = 5.0,
        predicate: Callable[[ReceivedRequest], bool] | None = None,
    ) -> list[ReceivedRequest]:
        """The recorded requests (matching ``predicate``) once there are ``count``; AssertionError after
        ``timeout`` seconds."""

        def matching() -> list[ReceivedRequest]:
            return [r for r in self.received if predicate is None or predicate(r)]

        with self._condition:
            if not self._condition.wait_for(lambda: len(matching()) >= count, timeout=timeout):
                raise AssertionError(f"expected {count} notification(s), got {len(matching())} in {timeout}s")
            return matching()

    def assert_nothing_more(self, count: int, settle: float = 0.3) -> None:
        """After ``settle`` seconds, still exactly ``count`` requests: for "must not notify" checks."""
        with self._condition:
            self._condition.wait_for(lambda: len(self.received) > count, timeout=settle)
            assert len(self.received) == count, [r.body for r in self.received[count:]]

    def clear(self) -> None:
        with self._condition:
            self.received.clear()


def receiver_app(receiver: NotificationReceiver) -> Starlette:
    async def record(request: Request) -> Response:
        raw = await request.body()
        try:
            body: Any = orjson.loads(raw)
        except orjson.JSONDecodeError:
            body = raw
        receiver.record(
            ReceivedRequest(
                request.method,
                request.url.path,
                request.url.query,
                {k.lower(): v for k, v in request.headers.items()},
                body,
            )
        )
        return Response(status_code=receiver.status_code)

    return Starlette(routes=[Route("/{path:path}", record, methods=["POST", "PUT", "PATCH"])])


@pytest.fixture
def notification_receiver(serve_app: Callable[[ASGIApp], RunningServer]) -> NotificationReceiver:
    receiver = NotificationReceiver()
    receiver.url = serve_app(receiver_app(receiver)).url
    return receiver
