"""The landing-folder sensor's decisions, as pure functions (no Dagster imports).

Given the previous cursor (JSON) and what the landing folder holds now, decide which files
are ready, the new cursor, the run key and, when nothing is ready, why. The sensor in
``ecom_platform/defs/automation/landing.py`` only lists the folder, calls :func:`decide`, and turns
the decision into a ``RunRequest``.

Rules
-----
- A file is *ready* when it is new or changed (size or mtime differ from what the cursor
  last committed for it) **and** its size and mtime are the same as at the previous look
  (one tick earlier): a file still being written is never picked up. ``.tmp`` / ``.part``
  names, dot- and underscore-names, symlinks and paths leaving the landing folder are
  already filtered (and the last two reported) by ``ingest.discover_files``.
- A ready file is hashed. Same bytes as committed (only touched) -> the cursor follows,
  no run. Otherwise it joins this tick's batch, and the cursor commits its (size, mtime,
  sha256, days) so the same bytes are never requested twice: a file that fails ingestion
  is not retried forever (ingestion also remembers rejected sha256s).
- Every ready file of a tick goes into one run (up to ``max_files``; the rest are ready at
  the next tick). The run key is deterministic: ``<file>@<sha256>`` for one file, and
  ``batch@<sha256 of the sorted (file, sha256) pairs>`` for several.
- The days a batch touches (the day window of the dbt models downstream) are the days of
  the new file contents plus, for a changed file, the days of the version it replaces (kept in
  the cursor), so rows that moved out of a day are removed there too.
- Files that disappeared are dropped from the cursor.
- The first look (an empty cursor, e.g. the first tick of `make dev` after `make run`)
  starts from what the warehouse already holds: a file whose name, size and sha256 match
  its latest ``raw.ingest_log`` row (``known``) is adopted into the cursor without a run,
  at once (its bytes are already ingested, so it needs no stability wait). Its days are
  unknown to the cursor, so if it later changes, the refresh covers every day.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

CURSOR_VERSION = 1
DEFAULT_MAX_FILES_PER_RUN = 500
# Sources whose rows carry the business day that the daily facts are kept by.
DAY_SOURCES = ("transactions", "events")


@dataclass(frozen=True)
class FileStat:
    """One file in the landing folder as listed now."""

    rel: str  # path relative to the landing folder, forward slashes
    source: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class ReadyFile:
    rel: str
    source: str
    size: int
    mtime_ns: int
    sha256: str
    days: tuple[str, ...] | None  # 'YYYY-MM-DD' covered by the new content; None = unknown
    previous_days: tuple[str, ...] | None  # days of the version it replaces ((): new file)
    changed: bool  # True: replaces a version this sensor requested before


@dataclass
class Decision:
    ready: list[ReadyFile]
    cursor: str
    run_key: str | None
    skip_reason: str | None
    waiting: list[str] = field(default_factory=list)  # new/changed, not yet stable
    deferred: list[str] = field(default_factory=list)  # stable, beyond max_files: next tick
    touched: list[str] = field(default_factory=list)  # mtime changed, same bytes
    unreadable: list[str] = field(default_factory=list)  # could not be hashed this tick
    forgotten: list[str] = field(default_factory=list)  # gone from the folder
    refused: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)  # already ingested (raw.ingest_log)

    @property
    def sources(self) -> list[str]:
        return sorted({f.source for f in self.ready})

    @property
    def files(self) -> list[str]:
        return [f.rel for f in self.ready]

    @property
    def days(self) -> list[str]:
        """Every day (old and new content) the batch's day-carrying files touch."""
        out: set[str] = set()
        for f in self.ready:
            if f.source in DAY_SOURCES:
                out.update(f.days or ())
                out.update(f.previous_days or ())
        return sorted(out)

    @property
    def days_unknown(self) -> list[str]:
        """Day-carrying files whose days could not be determined (the run must cover everything)."""
        return [f.rel for f in self.ready if f.source in DAY_SOURCES and (f.days is None or f.previous_days is None)]


def empty_cursor() -> dict:
    return {"v": CURSOR_VERSION, "files": {}, "looks": {}}


def load_cursor(raw: str | None) -> dict:
    """Parse a cursor; anything unreadable or of another version starts afresh."""
    if not raw:
        return empty_cursor()
    try:
        data = json.loads(raw)
    except (TypeError, ValueError):
        return empty_cursor()
    if not isinstance(data, dict) or data.get("v") != CURSOR_VERSION:
        return empty_cursor()
    files = data.get("files") if isinstance(data.get("files"), dict) else {}
    looks = data.get("looks") if isinstance(data.get("looks"), dict) else {}
    return {"v": CURSOR_VERSION, "files": files, "looks": looks}


def dump_cursor(cursor: dict) -> str:
    return json.dumps(cursor, sort_keys=True, separators=(",", ":"))


def run_key_for(pairs: Iterable[tuple[str, str]]) -> str:
    """``<file>@<sha256>`` for one file; ``batch@<sha256 of sorted pairs>`` for several."""
    pairs = sorted(pairs)
    if not pairs:
        raise ValueError("no files")
    if len(pairs) == 1:
        rel, sha = pairs[0]
        return f"{rel}@{sha}"
    digest = hashlib.sha256("\n".join(f"{rel}\t{sha}" for rel, sha in pairs).encode()).hexdigest()
    return f"batch@{digest}"


def _short(items: Sequence[str], n: int = 5) -> str:
    shown = ", ".join(items[:n])
    return shown + (f" (+{len(items) - n} more)" if len(items) > n else "")


def decide(
    previous_cursor: str | None,
    listing: Sequence[FileStat],
    hash_file: Callable[[str], str],
    file_days: Callable[[str, str], Sequence[str] | None] | None = None,
    refused: Sequence[str] = (),
    max_files: int = DEFAULT_MAX_FILES_PER_RUN,
    known: Mapping[str, tuple[str, int | None]] | None = None,
) -> Decision:
    """One sensor tick.

    ``hash_file(rel)`` returns the sha256 of a file (raising ``OSError`` if it cannot be
    read now); ``file_days(rel, source)`` the sorted 'YYYY-MM-DD' days its rows cover, or
    None when unknown. Both are only called for files that are stable and new or changed.
    ``known``: ``{rel: (sha256, bytes)}`` of the files ingestion already took (its latest
    ``raw.ingest_log`` row); used only when the cursor is empty (see the module rules).
    """
    cur = load_cursor(previous_cursor)
    committed: dict = cur["files"]
    looks: dict = cur["looks"]
    new_files: dict = {}
    new_looks: dict = {}
    decision = Decision(ready=[], cursor="", run_key=None, skip_reason=None, refused=list(refused))

    present = set()
    candidates: list[FileStat] = []
    first_look = not committed and not looks
    for f in sorted(listing, key=lambda s: s.rel):
        present.add(f.rel)
        state = committed.get(f.rel)
        if first_look and known and f.rel in known and known[f.rel][1] in (None, f.size):
            try:
                sha = hash_file(f.rel)
            except OSError:
                sha = None
            if sha == known[f.rel][0]:
                new_files[f.rel] = {
                    "source": f.source,
                    "size": f.size,
                    "mtime_ns": f.mtime_ns,
                    "sha256": sha,
                    "days": None,
                }
                decision.adopted.append(f.rel)
                continue
        if state and state.get("size") == f.size and state.get("mtime_ns") == f.mtime_ns:
            new_files[f.rel] = state  # unchanged since it was committed
            continue
        if state:
            new_files[f.rel] = state  # keep the committed version until the change is taken
        if looks.get(f.rel) == [f.size, f.mtime_ns]:
            candidates.append(f)
        else:
            new_looks[f.rel] = [f.size, f.mtime_ns]
            decision.waiting.append(f.rel)

    for f in candidates:
        state = committed.get(f.rel)
        if len(decision.ready) >= max_files:
            new_looks[f.rel] = [f.size, f.mtime_ns]  # still stable: ready at the next tick
            decision.deferred.append(f.rel)
            continue
        try:
            sha = hash_file(f.rel)
        except OSError:
            decision.unreadable.append(f.rel)
            continue  # gone or locked: look again from scratch next tick
        if state and state.get("sha256") == sha:
            new_files[f.rel] = {**state, "size": f.size, "mtime_ns": f.mtime_ns}
            decision.touched.append(f.rel)
            continue
        days = None
        if file_days is not None and f.source in DAY_SOURCES:
            found = file_days(f.rel, f.source)
            days = tuple(sorted(set(found))) if found is not None else None
        elif f.source not in DAY_SOURCES:
            days = ()
        if state:
            prev = state.get("days")
            previous_days = tuple(prev) if isinstance(prev, list) else None
        else:
            previous_days = ()
        decision.ready.append(
            ReadyFile(
                rel=f.rel,
                source=f.source,
                size=f.size,
                mtime_ns=f.mtime_ns,
                sha256=sha,
                days=days,
                previous_days=previous_days,
                changed=bool(state),
            )
        )
        new_files[f.rel] = {
            "source": f.source,
            "size": f.size,
            "mtime_ns": f.mtime_ns,
            "sha256": sha,
            "days": list(days) if days is not None else None,
        }

    decision.forgotten = sorted(set(committed) - present)
    decision.cursor = dump_cursor({"v": CURSOR_VERSION, "files": new_files, "looks": new_looks})
    if decision.ready:
        decision.run_key = run_key_for((f.rel, f.sha256) for f in decision.ready)
    else:
        decision.skip_reason = skip_reason(decision, n_files=len(listing))
    return decision


def skip_reason(decision: Decision, n_files: int) -> str:
    parts = []
    if decision.waiting:
        parts.append(
            f"{len(decision.waiting)} new or changed file(s) not yet stable (size/mtime must hold "
            f"for two looks): {_short(decision.waiting)}"
        )
    if decision.touched:
        parts.append(f"{len(decision.touched)} file(s) touched but unchanged: {_short(decision.touched)}")
    if decision.unreadable:
        parts.append(f"{len(decision.unreadable)} file(s) unreadable this tick: {_short(decision.unreadable)}")
    if decision.forgotten:
        parts.append(f"{len(decision.forgotten)} file(s) gone from the folder: {_short(decision.forgotten)}")
    if decision.refused:
        parts.append(f"{len(decision.refused)} path(s) refused: {_short(list(decision.refused), 3)}")
    if decision.adopted:
        parts.append(
            f"{len(decision.adopted)} file(s) already in the warehouse (raw.ingest_log) taken as loaded, no run"
        )
    if not parts:
        parts.append(f"nothing new in the landing folder ({n_files} file(s) already taken)")
    return "; ".join(parts)
