"""Is a landing file still being written? The one rule every entry point applies before it
loads a file (no Dagster here).

A file is *stable* when it was last modified at least ``settle_seconds`` ago and its size
and modification time do not change while we look (when a file is younger than that, the
second look is ``settle_seconds`` later): a file still being copied or exported keeps
changing. Old files cost no wait. The landing sensor applies the
same rule across its ticks (:mod:`ecom_platform.lib.landing_watch`); the ingestion asset
(whatever started it: ``make run``, the UI, a schedule) applies it here before loading.
Files still changing after ``max_wait_seconds`` are not loaded this time and are named;
the next run, or the sensor, loads them once they are complete.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

DEFAULT_SETTLE_SECONDS = 2.0
DEFAULT_MAX_WAIT_SECONDS = 60.0


def _look(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_size, st.st_mtime_ns


def _young(look: tuple[int, int], now: float, settle_seconds: float) -> bool:
    """Modified less than ``settle_seconds`` ago. A time in the future (a clock that differs
    from the machine that wrote the file) is not young: the two equal looks decide."""
    return 0 <= now - look[1] / 1e9 < settle_seconds


def split_stable(
    items: Iterable[T],
    path_of: Callable[[T], Path],
    settle_seconds: float = DEFAULT_SETTLE_SECONDS,
    max_wait_seconds: float = DEFAULT_MAX_WAIT_SECONDS,
    log: Callable[[str], None] = lambda msg: None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[list[T], list[T]]:
    """``(stable, still_changing)``: waits (up to ``max_wait_seconds``, saying so once) for
    files modified in the last ``settle_seconds`` or changing between two looks."""
    items = list(items)
    if not items:
        return [], []
    deadline = clock() + max_wait_seconds
    pending = items
    stable: list[T] = []
    told = False
    while True:
        first = {id(i): _look(path_of(i)) for i in pending}
        now = clock()
        young = [i for i in pending if first[id(i)] is not None and _young(first[id(i)], now, settle_seconds)]
        if young:  # only then is a second look worth the wait
            sleep(settle_seconds)
        second = {id(i): _look(path_of(i)) for i in pending}
        now = clock()
        still = []
        for i in pending:
            a, b = first[id(i)], second[id(i)]
            if a is not None and a == b and not _young(b, now, settle_seconds):
                stable.append(i)
            elif b is not None:
                still.append(i)
        if not still or clock() >= deadline:
            break
        if not told:
            log(
                f"waiting up to {max_wait_seconds:.0f} s for {len(still)} file(s) still being written: "
                + ", ".join(str(path_of(i)) for i in still[:5])
                + ("…" if len(still) > 5 else "")
            )
            told = True
        pending = still
    order = {id(i): n for n, i in enumerate(items)}
    stable.sort(key=lambda i: order[id(i)])
    return stable, still
