"""SQLite persistence of the embedded broker: entities, subscriptions with their notification statistics,
and the contexts the broker hosts for notifications.

Notifications wait in an ``outbox`` table until they have been attempted, so a restart delivers those that
were still queued (at least once: one in flight when the process stopped goes out again).

One connection, guarded by a lock: the broker is a single process whose writes are tiny, so serialising
them is cheaper than a pool and can never end in "database is locked". WAL lets a second process (a test,
``sqlite3`` on the command line) read while the broker writes; ``synchronous=NORMAL`` is durable across a
process crash, which is what a restart of the broker on the same file needs. Documents are JSON (orjson).
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entities (
    id TEXT PRIMARY KEY,
    doc BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS entity_types (
    type TEXT NOT NULL,
    entity_id TEXT NOT NULL REFERENCES entities(id) ON DELETE CASCADE,
    PRIMARY KEY (type, entity_id)
);
CREATE INDEX IF NOT EXISTS entity_types_by_entity ON entity_types(entity_id);
CREATE TABLE IF NOT EXISTS subscriptions (
    id TEXT PRIMARY KEY,
    doc BLOB NOT NULL,
    times_sent INTEGER NOT NULL DEFAULT 0,
    times_failed INTEGER NOT NULL DEFAULT 0,
    last_notification TEXT,
    last_success TEXT,
    last_failure TEXT,
    status TEXT
);
CREATE TABLE IF NOT EXISTS hosted_contexts (
    id TEXT PRIMARY KEY,
    doc BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    subscription_id TEXT NOT NULL,
    url TEXT NOT NULL,
    headers BLOB NOT NULL,
    body BLOB NOT NULL,
    timeout REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_by_subscription ON outbox(subscription_id);
"""


class AlreadyExists(Exception):
    pass


class Store:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE in transaction()).
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
        self._lock = threading.RLock()
        self._depth = 0  # nesting level of transaction() on the owning thread
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.execute("PRAGMA busy_timeout=30000")
            self._conn.executescript(_SCHEMA)
            self._conn.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Serialise a read-modify-write; nested use joins the outer transaction."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")
            finally:
                self._depth = 0

    # -- entities

    def get_entity(self, entity_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute("SELECT doc FROM entities WHERE id = ?", (entity_id,)).fetchone()
        return orjson.loads(row[0]) if row else None

    def insert_entity(self, doc: dict[str, Any]) -> None:
        with self.transaction():
            try:
                self._conn.execute(
                    "INSERT INTO entities(id, doc) VALUES (?, ?)", (doc["id"], orjson.dumps(doc))
                )
            except sqlite3.IntegrityError:
                raise AlreadyExists(doc["id"]) from None
            self._write_types(doc)

    def replace_entity(self, doc: dict[str, Any]) -> None:
        """Overwrite an existing entity (keeps its row, so queries keep their creation order)."""
        with self.transaction():
            self._conn.execute("UPDATE entities SET doc = ? WHERE id = ?", (orjson.dumps(doc), doc["id"]))
            self._conn.execute("DELETE FROM entity_types WHERE entity_id = ?", (doc["id"],))
            self._write_types(doc)

    def _write_types(self, doc: dict[str, Any]) -> None:
        self._conn.executemany(
            "INSERT OR IGNORE INTO entity_types(type, entity_id) VALUES (?, ?)",
            [(t, doc["id"]) for t in doc["type"]],
        )

    def delete_entity(self, entity_id: str) -> bool:
        with self.transaction():
            cursor = self._conn.execute("DELETE FROM entities WHERE id = ?", (entity_id,))
        return cursor.rowcount > 0

    def iter_entities(
        self, types: Sequence[str] | None = None, ids: Sequence[str] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Entities in creation order, pre-filtered by any of ``types`` and/or ``ids`` (exact filtering,
        e.g. of AND type selections, is the caller's)."""
        sql = "SELECT doc FROM entities"
        clauses: list[str] = []
        params: list[Any] = []
        if types is not None:
            marks = ",".join("?" * len(types))
            clauses.append(f"id IN (SELECT entity_id FROM entity_types WHERE type IN ({marks}))")
            params.extend(types)
        if ids is not None:
            clauses.append(f"id IN ({','.join('?' * len(ids))})")
            params.extend(ids)
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY rowid"
        with self._lock:
            rows = self._conn.execute(sql, params).fetchall()
        for (doc,) in rows:
            yield orjson.loads(doc)

    def count_entities(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM entities").fetchone()[0])

    # -- subscriptions

    def insert_subscription(self, doc: dict[str, Any]) -> None:
        with self.transaction():
            try:
                self._conn.execute(
                    "INSERT INTO subscriptions(id, doc) VALUES (?, ?)", (doc["id"], orjson.dumps(doc))
                )
            except sqlite3.IntegrityError:
                raise AlreadyExists(doc["id"]) from None

    def replace_subscription(self, doc: dict[str, Any]) -> None:
        with self.transaction():
            self._conn.execute(
                "UPDATE subscriptions SET doc = ? WHERE id = ?", (orjson.dumps(doc), doc["id"])
            )

    def get_subscription(self, sub_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute("SELECT doc FROM subscriptions WHERE id = ?", (sub_id,)).fetchone()
        return orjson.loads(row[0]) if row else None

    def list_subscriptions(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._conn.execute("SELECT doc FROM subscriptions ORDER BY rowid").fetchall()
        return [orjson.loads(doc) for (doc,) in rows]

    def delete_subscription(self, sub_id: str) -> bool:
        with self.transaction():
            cursor = self._conn.execute("DELETE FROM subscriptions WHERE id = ?", (sub_id,))
            self._conn.execute("DELETE FROM outbox WHERE subscription_id = ?", (sub_id,))
        return cursor.rowcount > 0

    def subscription_stats(self, sub_id: str) -> dict[str, Any]:
        with self._lock:
            row = self._conn.execute(
                "SELECT times_sent, times_failed, last_notification, last_success, last_failure, status "
                "FROM subscriptions WHERE id = ?",
                (sub_id,),
            ).fetchone()
        if row is None:
            return {}
        keys = ("timesSent", "timesFailed", "lastNotification", "lastSuccess", "lastFailure", "status")
        return dict(zip(keys, row, strict=True))

    def record_notification(
        self, sub_id: str, at: str, *, success: bool, outbox_seq: int | None = None
    ) -> None:
        """Count one sent notification (no-op if the subscription was deleted meanwhile) and take it out of
        the outbox, in one transaction."""
        if success:
            sql = (
                "UPDATE subscriptions SET times_sent = times_sent + 1, last_notification = ?, "
                "last_success = ?, status = 'ok' WHERE id = ?"
            )
        else:
            sql = (
                "UPDATE subscriptions SET times_sent = times_sent + 1, times_failed = times_failed + 1, "
                "last_notification = ?, last_failure = ?, status = 'failed' WHERE id = ?"
            )
        with self.transaction():
            self._conn.execute(sql, (at, at, sub_id))
            if outbox_seq is not None:
                self._conn.execute("DELETE FROM outbox WHERE seq = ?", (outbox_seq,))

    # -- notifications waiting for delivery

    def add_to_outbox(
        self, sub_id: str, url: str, headers: dict[str, str], body: bytes, timeout: float
    ) -> int:
        with self.transaction():
            cursor = self._conn.execute(
                "INSERT INTO outbox(subscription_id, url, headers, body, timeout) VALUES (?, ?, ?, ?, ?)",
                (sub_id, url, orjson.dumps(headers), body, timeout),
            )
        return int(cursor.lastrowid or 0)

    def remove_from_outbox(self, seq: int) -> None:
        with self.transaction():
            self._conn.execute("DELETE FROM outbox WHERE seq = ?", (seq,))

    def pending_notifications(self) -> list[tuple[int, str, str, dict[str, str], bytes, float]]:
        """(seq, subscription id, url, headers, body, timeout) of every queued notification, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT seq, subscription_id, url, headers, body, timeout FROM outbox ORDER BY seq"
            ).fetchall()
        return [
            (seq, sub, url, orjson.loads(headers), bytes(body), float(timeout))
            for seq, sub, url, headers, body, timeout in rows
        ]

    def instance_id(self) -> str:
        """A random id of this database, created once: marks the notifications this broker sends."""
        with self.transaction():
            row = self._conn.execute("SELECT value FROM meta WHERE key = 'instance_id'").fetchone()
            if row is not None:
                return str(row[0])
            value = uuid.uuid4().hex
            self._conn.execute("INSERT INTO meta(key, value) VALUES ('instance_id', ?)", (value,))
        return value

    # -- contexts the broker serves for notifications whose subscription context is not one URL

    def put_hosted_context(self, context_id: str, doc: Any) -> None:
        with self.transaction():
            self._conn.execute(
                "INSERT OR IGNORE INTO hosted_contexts(id, doc) VALUES (?, ?)",
                (context_id, orjson.dumps(doc)),
            )

    def get_hosted_context(self, context_id: str) -> Any | None:
        with self._lock:
            row = self._conn.execute("SELECT doc FROM hosted_contexts WHERE id = ?", (context_id,)).fetchone()
        return orjson.loads(row[0]) if row else None
