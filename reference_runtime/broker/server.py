"""Run the embedded broker with uvicorn (``sdm-runtime broker``)."""

from __future__ import annotations

from pathlib import Path

import uvicorn

from .app import create_app

DEFAULT_DB_PATH = Path("var") / "broker.sqlite"


def run(
    host: str = "127.0.0.1",
    port: int = 1026,
    db_path: str | Path = DEFAULT_DB_PATH,
    *,
    log_level: str = "info",
    extra_contexts: dict[str, Path] | None = None,
) -> None:
    """Serve the broker until interrupted. Port 1026 is the one Orion-LD, Scorpio and Stellio use, so a
    runtime configured for a real broker on localhost works unchanged. The SQLite file (and its folder) is
    created if missing; restarting on the same file keeps every entity and subscription.
    ``extra_contexts``: more @context URLs the broker knows, each served from a local file."""
    app = create_app(db_path, extra_contexts=extra_contexts)
    # A short graceful-shutdown bound: idle keep-alive clients must not make Ctrl-C hang.
    uvicorn.run(app, host=host, port=port, log_level=log_level, lifespan="on", timeout_graceful_shutdown=5)
