"""All sandbox state: accounts, API keys and Stripe objects, in memory and optionally SQLite.

Objects are kept per (account, livemode) scope so one key never sees another scope's data.
Fields under the top-level key ``_sb`` are private bookkeeping and never leave the server.
With a database path every change is written through at once (JSON per row).
"""

from __future__ import annotations

import copy
import json
import sqlite3
import threading
from dataclasses import dataclass
from typing import Any

PRIVATE = "_sb"


@dataclass(frozen=True)
class Scope:
    """One account in one mode: the unit of isolation."""

    account: str
    livemode: bool


def public(obj: dict[str, Any]) -> dict[str, Any]:
    """A deep copy without private bookkeeping, safe to serialise."""
    out = copy.deepcopy(obj)
    out.pop(PRIVATE, None)
    return out


def private(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.setdefault(PRIVATE, {})


_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
  account TEXT NOT NULL, livemode INTEGER NOT NULL, id TEXT NOT NULL,
  seq INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (account, livemode, id));
CREATE TABLE IF NOT EXISTS accounts (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS api_keys (key TEXT PRIMARY KEY, data TEXT NOT NULL);
"""


class Store:
    """Thread-safe object store; hold ``lock`` across a read-modify-write sequence."""

    def __init__(self, db_path: str | None = None) -> None:
        self.lock = threading.RLock()
        self.accounts: dict[str, dict[str, Any]] = {}
        self.keys: dict[str, dict[str, Any]] = {}
        self._objects: dict[Scope, dict[str, dict[str, Any]]] = {}
        self._seq: dict[str, int] = {}
        self._index: dict[str, Scope] = {}
        self._counter = 0
        self._db: sqlite3.Connection | None = None
        if db_path:
            self._db = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
            self._db.executescript(_SCHEMA)
            self._load()

    def _load(self) -> None:
        assert self._db is not None
        for (data,) in self._db.execute("SELECT data FROM accounts"):
            acct = json.loads(data)
            self.accounts[acct["id"]] = acct
        for (data,) in self._db.execute("SELECT data FROM api_keys"):
            key = json.loads(data)
            self.keys[key["key"]] = key
        rows = self._db.execute("SELECT account, livemode, id, seq, data FROM objects ORDER BY seq")
        for account, livemode, obj_id, seq, data in rows:
            scope = Scope(account, bool(livemode))
            self._objects.setdefault(scope, {})[obj_id] = json.loads(data)
            self._seq[obj_id] = seq
            self._index[obj_id] = scope
            self._counter = max(self._counter, seq)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    # accounts and keys
    def save_account(self, acct: dict[str, Any]) -> None:
        with self.lock:
            self.accounts[acct["id"]] = acct
            if self._db is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO accounts VALUES (?, ?)", (acct["id"], json.dumps(acct))
                )

    def save_key(self, key: dict[str, Any]) -> None:
        with self.lock:
            self.keys[key["key"]] = key
            if self._db is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO api_keys VALUES (?, ?)", (key["key"], json.dumps(key))
                )

    # objects
    def put(self, scope: Scope, obj: dict[str, Any]) -> dict[str, Any]:
        """Insert or replace ``obj`` (keyed by its ``id``) and persist it."""
        with self.lock:
            obj_id = obj["id"]
            if obj_id not in self._seq:
                self._counter += 1
                self._seq[obj_id] = self._counter
            self._objects.setdefault(scope, {})[obj_id] = obj
            self._index[obj_id] = scope
            if self._db is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?)",
                    (
                        scope.account,
                        int(scope.livemode),
                        obj_id,
                        self._seq[obj_id],
                        json.dumps(obj),
                    ),
                )
            return obj

    def get(self, scope: Scope, obj_id: str) -> dict[str, Any] | None:
        with self.lock:
            return self._objects.get(scope, {}).get(obj_id)

    def delete(self, scope: Scope, obj_id: str) -> None:
        with self.lock:
            self._objects.get(scope, {}).pop(obj_id, None)
            self._index.pop(obj_id, None)
            if self._db is not None:
                self._db.execute(
                    "DELETE FROM objects WHERE account=? AND livemode=? AND id=?",
                    (scope.account, int(scope.livemode), obj_id),
                )

    def locate(self, obj_id: str) -> tuple[Scope, dict[str, Any]] | None:
        """Find an object by id in any scope (for the control API only)."""
        with self.lock:
            scope = self._index.get(obj_id)
            if scope is None:
                return None
            obj = self._objects[scope].get(obj_id)
            return (scope, obj) if obj is not None else None

    def all_objects(self) -> list[tuple[Scope, dict[str, Any]]]:
        """Every stored object with its scope (for rebuilding schedules after a restart)."""
        with self.lock:
            return [(s, o) for s, objs in self._objects.items() for o in objs.values()]

    def of_type(self, scope: Scope, object_type: str) -> list[dict[str, Any]]:
        """Objects of one type, newest first (by creation order)."""
        with self.lock:
            objs = [
                o for o in self._objects.get(scope, {}).values() if o.get("object") == object_type
            ]
            objs.sort(key=lambda o: self._seq[o["id"]], reverse=True)
            return objs
