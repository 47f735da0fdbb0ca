"""The Dagster instance's event log: Dagster's SQLite storage without a new engine and connection per event.

``dagster.yaml`` (copied into DAGSTER_HOME by ``make``) names :class:`EventLogStorage`. Runs,
sensors, the UI and the daemon all store events through it, in the same files as Dagster's
default storage (``$DAGSTER_HOME/history/runs/``), so a home made before keeps its history.
The folder comes from the environment variable DAGSTER_HOME, as for every Dagster process:
code that opens an instance by path (``DagsterInstance.from_config(folder)``) sets
DAGSTER_HOME to that folder first.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as db
from dagster import StringSource
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from sqlalchemy.pool import QueuePool

# engines kept at once: a long-lived process (the UI, the daemon) touches many runs' shards
MAX_ENGINES = 16


class EventLogStorage(SqliteEventLogStorage):
    """Dagster's ``SqliteEventLogStorage``, keeping one SQLAlchemy engine per database file.

    Dagster's storage creates and disposes of an engine for every connection it opens: one for
    each stored event, three for an asset check's evaluation (the run's file, then the index
    twice). A new engine also starts with an empty compiled-statement cache, so every INSERT
    is compiled again. A dbt step records one event per model and one per test (~360 checks
    in a refresh), and the run records one "planned" event for each before it starts, so this
    cost was a large part of a refresh's fixed seconds (docs/benchmarks.md, Measured choices).

    Here the engine of each file is kept (the last ``MAX_ENGINES`` files) and reused, and so is
    its connection. Dagster keeps its files in SQLite's WAL mode, where closing the last
    connection to a file checkpoints the log into the file and syncs it to disk: once per
    stored event, with Dagster's open-use-close. A connection kept open skips that, and
    ``synchronous=NORMAL`` (SQLite's advice for WAL) syncs the log at checkpoints rather than
    at every commit. Each write is still its own transaction, which other processes (the UI,
    the daemon, another run) see once committed, as before. A process killed at any moment
    (kill -9, out of memory) loses nothing it committed: the log is in the OS's hands and the
    next connection recovers it. Only a power cut or an OS crash can lose the events of the
    last moments (never corrupt a file). A run of 300 checks: 5.5 s with an engine per file
    alone, 2.5 s with the connection kept too (docs/benchmarks.md, Measured choices).

    Overrides the private ``_connect`` of dagster 1.13 (pinned in constraints.txt);
    tests/unit/test_event_log.py fails if Dagster stops calling it.
    """

    def __init__(self, dagster_home: str, inst_data: Any = None):
        self._engines: OrderedDict[str, db.Engine] = OrderedDict()
        super().__init__(base_dir=os.path.join(dagster_home, "history", "runs"), inst_data=inst_data)

    @classmethod
    def config_type(cls) -> dict:
        return {"dagster_home": StringSource}

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: dict) -> EventLogStorage:  # type: ignore[override]
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> db.Engine:
        engine = self._engines.get(shard)
        if engine is None:
            engine = db.create_engine(
                self.conn_string_for_shard(shard),
                # one connection kept (uses are serialised by _db_lock, from any thread)
                poolclass=QueuePool,
                pool_size=1,
                max_overflow=2,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            )
            db.event.listen(engine, "connect", _sync_at_checkpoints)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            self._engines[shard] = engine
            while len(self._engines) > MAX_ENGINES:
                self._engines.popitem(last=False)[1].dispose()
        else:
            self._engines.move_to_end(shard)
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Any]:
        with self._db_lock:
            with self._engine(shard).connect() as conn, conn.begin():
                yield conn

    def release_shard(self, shard: str) -> None:
        """Close the kept connection to ``shard``'s file (before the file is deleted)."""
        with self._db_lock:
            engine = self._engines.pop(shard, None)
            if engine is not None:
                engine.dispose()

    def dispose(self) -> None:
        super().dispose()
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()


def _sync_at_checkpoints(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
