"""The BI copy's versions on disk: atomic swaps, locks, read-only files, pruning."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from ecom_platform.lib.publish.common import CURRENT_LINK, DB_NAME, DEFAULT_KEEP, MIN_KEEP, VERSIONS_DIR, PublishError


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_tree(root: Path) -> None:
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            with contextlib.suppress(OSError):
                fd = os.open(os.path.join(dirpath, f), os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        _fsync_dir(Path(dirpath))


def _make_read_only(root: Path) -> None:
    """Published files are never written again: 0444, so a read-write open fails for non-root users."""
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            with contextlib.suppress(OSError):
                os.chmod(os.path.join(dirpath, f), 0o444)


@contextlib.contextmanager
def _publish_lock(bi_dir: Path) -> Iterator[None]:
    """One publisher at a time per bi_dir (the Dagster writer pool already serialises runs)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX
        yield
        return
    fd = os.open(bi_dir / ".publish.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _locked_inodes() -> set[tuple[int, int, int]] | None:
    """(major, minor, inode) of every file with a POSIX/OFD/flock lock (Linux), else None."""
    try:
        text = Path("/proc/locks").read_text()
    except OSError:
        return None
    out = set()
    for m in re.finditer(r"\s([0-9a-f]+):([0-9a-f]+):(\d+)\s", text):
        out.add((int(m.group(1), 16), int(m.group(2), 16), int(m.group(3))))
    return out


def _in_use(db_file: Path, locked: set[tuple[int, int, int]] | None) -> bool:
    """True when some DuckDB connection (any process) holds a lock on the file."""
    if locked is None:
        return False
    try:
        st = db_file.stat()
    except OSError:
        return False
    return (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino) in locked


_VERSION_RX = re.compile(r"^(\d{6,})-[0-9TZ]+$")


def list_versions(bi_dir: Path | str) -> list[Path]:
    """Complete version folders, oldest first."""
    vdir = Path(bi_dir) / VERSIONS_DIR
    if not vdir.is_dir():
        return []
    found = [p for p in vdir.iterdir() if p.is_dir() and _VERSION_RX.match(p.name)]
    return sorted(found, key=lambda p: int(_VERSION_RX.match(p.name).group(1)))


def current_version(bi_dir: Path | str) -> Path | None:
    """The version folder readers see now (resolved ``current``), or None."""
    link = Path(bi_dir) / CURRENT_LINK
    if not link.is_symlink():
        return None
    return link.resolve()


def stable_path(bi_dir: Path | str) -> Path:
    """The path BI tools open: ``<bi_dir>/ecom_bi.duckdb`` (always the current version).

    Not ``bi.duckdb``: DuckDB names the catalog after the file, and a catalog ``bi``
    makes ``bi.sales_daily`` ambiguous with the schema ``bi``.
    """
    return Path(bi_dir) / DB_NAME


def _replace_symlink(link: Path, target: str) -> None:
    """Point ``link`` at ``target`` atomically (symlink to a temp name, then rename over)."""
    tmp = link.with_name(f".{link.name}.{uuid.uuid4().hex}.tmp")
    os.symlink(target, tmp)
    try:
        os.replace(tmp, link)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _ensure_static_link(link: Path, target: str) -> None:
    if link.is_symlink() and os.readlink(link) == target:
        return
    if link.exists() and not link.is_symlink():
        raise PublishError(f"{link} exists and is not a symlink: move it away (the BI entry point must be a link)")
    _replace_symlink(link, target)


def _check_keep(keep: int) -> None:
    if keep < MIN_KEEP:
        raise ValueError(
            f"keep={keep}: keep at least {MIN_KEEP} versions. A reader that resolved `current` just "
            "before a swap, and has not locked the file yet, must still find the previous version."
        )


def prune_versions(bi_dir: Path | str, keep: int = DEFAULT_KEEP) -> tuple[list[str], list[str]]:
    """Delete complete versions older than the newest ``keep`` (never the current one).

    ``keep`` is at least :data:`MIN_KEEP`. A version whose DuckDB file is still locked by a
    reader is left for a later prune. Only DuckDB locks are seen (``/proc/locks``): a Parquet
    reader holds none, and a reader between resolving the link and opening the file holds
    none yet (which is why the previous version is always kept).
    Returns (pruned names, names kept because in use).
    """
    _check_keep(keep)
    bi_dir = Path(bi_dir)
    versions = list_versions(bi_dir)
    cur = current_version(bi_dir)
    old = versions[:-keep]
    locked = _locked_inodes()
    pruned, in_use = [], []
    for v in old:
        if cur is not None and v.resolve() == cur:
            continue
        if _in_use(v / DB_NAME, locked):
            in_use.append(v.name)
            continue
        # Rename first so a half-deleted folder never looks like a complete version.
        trash = v.with_name(f"{v.name}.deleting")
        try:
            os.rename(v, trash)
        except OSError:
            continue
        shutil.rmtree(trash, ignore_errors=True)
        pruned.append(v.name)
    for leftover in (bi_dir / VERSIONS_DIR).glob("*.deleting"):
        shutil.rmtree(leftover, ignore_errors=True)
    return pruned, in_use
