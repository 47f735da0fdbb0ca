"""Which landing files there are: discovery, ignored names, refused paths, content hashes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ecom_platform.lib.landing_read import (
    SUPPORTED_SUFFIXES,
    file_format,
)
from ecom_platform.lib.schemas import (
    SOURCES,
)

IGNORED_SUFFIXES = (".tmp", ".part", ".crdownload")


@dataclass
class LandingFile:
    source: str
    path: Path
    rel: str  # path relative to the landing folder, with forward slashes


def _ignored(name: str) -> bool:
    return name.startswith((".", "_")) or name.lower().endswith(IGNORED_SUFFIXES)


def discover_files(landing_dir: Path, sources: Iterable[str] | None = None) -> tuple[list[LandingFile], list[str]]:
    """Files waiting in ``landing_dir/<source>/`` (recursively), sorted by path.

    Returns ``(files, refused)`` where ``refused`` holds one message per path that was
    not accepted (symlink, outside the folder, unsupported extension).
    """
    landing_dir = Path(landing_dir)
    root = landing_dir.resolve()
    files: list[LandingFile] = []
    refused: list[str] = []
    for source in sources or SOURCES:
        folder = landing_dir / source
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(landing_dir).as_posix()
            if any(_ignored(part) for part in path.relative_to(folder).parts):
                continue
            if path.is_symlink():
                refused.append(f"{rel}: refused, symlinks are not followed in the landing folder")
                continue
            if path.is_dir():
                continue
            try:
                path.resolve().relative_to(root)
            except ValueError:
                refused.append(f"{rel}: refused, resolves outside the landing folder {root}")
                continue
            if file_format(path) is None:
                hint = (
                    "; a tab-separated text export (Excel's Unicode Text) loads renamed to .tsv"
                    if path.name.lower().endswith(".txt")
                    else ""
                )
                refused.append(
                    f"{rel}: refused, unsupported file type (expected one of {', '.join(SUPPORTED_SUFFIXES)}){hint}"
                )
                continue
            files.append(LandingFile(source=source, path=path, rel=rel))
    return files, refused


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()
