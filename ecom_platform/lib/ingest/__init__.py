"""Raw (bronze) ingestion: landing files -> typed ``raw.*`` tables.

Pure logic over a DuckDB connection, no Dagster imports, so it is testable on its own.

Rules, in the order they apply to one file:

1. The file is found under ``<landing>/<source>/``. Names starting with ``.`` or ``_``
   and names ending in ``.tmp`` / ``.part`` are ignored (being written, or metadata).
   Symlinks and paths that resolve outside the landing folder are refused.
2. Its sha256 is computed and compared with ``raw.ingest_log`` (see :func:`_decide`):
   the same path with the bytes it last loaded is a no-op (``skipped``); the same path
   with the bytes it was last rejected for is not retried (``pending_rejected``). A new
   path whose bytes another file currently holds in the warehouse is not loaded twice
   (``skipped``, "identical to ..."). A path that held other content and now holds such
   bytes has its old rows removed (``replaced``, with a note naming the other file).
   Anything else is read and loaded; a path that held other content is ``replaced``.
3. It is read into a table of text columns by :mod:`ecom_platform.lib.landing_read`: CSV,
   CSV.GZ, tab-separated text, Parquet or XLSX (every sheet); UTF-8, UTF-16/32 or
   Windows-1252 text; a CSV line that cannot be parsed (ragged, over-long) is set aside
   with its position. Header names are mapped through ``schemas.py`` aliases, so Online
   Retail I and II both fit. A file that cannot be read at all (empty, binary, not a
   table, missing required columns) raises :class:`IngestError` naming the file and the
   problem; it is logged as ``rejected`` and nothing of it is loaded.
4. Each record is typed. A record that fails typing or validation, or a CSV line that
   cannot be parsed, goes to ``raw.quarantine`` with its raw text and the reason; the
   rest of the file loads. ``_row_number`` (and ``raw.quarantine.row_number``) is the
   1-based position of the record among the file's data records (header and blank lines
   excluded; across sheets for XLSX), the same whether it was accepted or quarantined.
5. One transaction per file: the file's previous rows (a corrected version under the
   same name) are replaced, rows and quarantine and the ``raw.ingest_log`` row land
   together, or nothing does.
"""

from ecom_platform.lib.ingest.discovery import IGNORED_SUFFIXES, LandingFile, discover_files, sha256_of
from ecom_platform.lib.ingest.load import (
    FileResult,
    ensure_raw_schema,
    file_days,
    ingest_file,
    ingest_source,
    summarise,
)
from ecom_platform.lib.ingest.typed import NULL_TOKENS, decimal_comma, map_header
from ecom_platform.lib.landing_read import SUPPORTED_SUFFIXES, IngestError, file_format
from ecom_platform.lib.schemas import SOURCES, Ranges

__all__ = [
    "IGNORED_SUFFIXES",
    "NULL_TOKENS",
    "SOURCES",
    "SUPPORTED_SUFFIXES",
    "FileResult",
    "IngestError",
    "LandingFile",
    "Ranges",
    "decimal_comma",
    "discover_files",
    "ensure_raw_schema",
    "file_days",
    "file_format",
    "ingest_file",
    "ingest_source",
    "map_header",
    "sha256_of",
    "summarise",
]
