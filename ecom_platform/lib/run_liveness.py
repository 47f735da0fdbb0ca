"""Is the process that executes a run still alive? (no Dagster here)

A run that is killed (kill -9, the OOM killer, a reboot) never tells Dagster it ended: it
stays STARTED and keeps its slot of the single-writer pool, so every later writer would
wait forever. Each process that executes a run therefore holds an exclusive ``flock`` on
``<folder>/<run_id>.alive`` for as long as it lives; the operating system drops the lock
the moment the process dies, whatever killed it. :func:`state` tells a live run (the lock
is held) from a dead one (the file is there and lockable) from one that never marked
itself (no file).
"""

from __future__ import annotations

import fcntl
import os
import socket
from datetime import UTC, datetime
from pathlib import Path

# run_id -> the open file whose lock marks this process as the run's executor
_HELD: dict[str, object] = {}

ALIVE, DEAD, UNKNOWN = "alive", "dead", "unknown"


def _path(folder: Path | str, run_id: str) -> Path:
    if not run_id or "/" in run_id or run_id.startswith("."):
        raise ValueError(f"not a run id: {run_id!r}")
    return Path(folder) / f"{run_id}.alive"


def hold(folder: Path | str, run_id: str) -> None:
    """Mark this process as the one executing ``run_id`` until it exits (idempotent)."""
    if run_id in _HELD:
        return
    path = _path(folder, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+")  # noqa: SIM115 - kept open (and locked) for the process's life
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()  # another live process of the same run (a step subprocess) holds it
        return
    fh.seek(0)
    fh.truncate()
    fh.write(f"pid {os.getpid()} on {socket.gethostname()} since {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}\n")
    fh.flush()
    _HELD[run_id] = fh


def release(run_id: str) -> None:
    """Drop this process's mark for ``run_id`` (the run ended normally)."""
    fh = _HELD.pop(run_id, None)
    if fh is not None:
        Path(fh.name).unlink(missing_ok=True)
        fh.close()


def state(folder: Path | str, run_id: str) -> tuple[str, str]:
    """``(ALIVE | DEAD | UNKNOWN, what the marker says)`` for ``run_id``."""
    path = _path(folder, run_id)
    if not path.exists():
        return UNKNOWN, "no liveness marker"
    if run_id in _HELD:
        return ALIVE, "this process"
    with open(path, "a+") as fh:
        fh.seek(0)
        who = fh.read().strip()
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return ALIVE, who
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    return DEAD, who


def forget(folder: Path | str, run_id: str) -> None:
    """Remove a dead run's marker."""
    _path(folder, run_id).unlink(missing_ok=True)
