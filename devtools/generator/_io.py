"""Deterministic writers: CSV (via DuckDB), gzip (mtime 0), XLSX (fixed zip timestamps).

Every file is written to ``<name>.tmp`` and renamed into place, so a folder sensor never
sees half a file.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import shutil
import zipfile
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

GZIP_LEVEL = 3  # level 6 is ~2x slower for ~11% smaller files; gzip is the bottleneck at large scales
FIXED_ZIP_TIME = (2026, 1, 1, 0, 0, 0)
FIXED_DOC_TIME = "2026-01-01T00:00:00Z"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 22):
            h.update(block)
    return h.hexdigest()


def tmp_name(path: Path) -> Path:
    return path.with_name(path.name + ".tmp")


def publish(tmp: Path, final: Path) -> tuple[str, int]:
    os.replace(tmp, final)
    return sha256_file(final), final.stat().st_size


def gzip_and_publish(plain: Path | list[Path], final: Path) -> tuple[str, int]:
    """Compress one plain CSV, or several parts sharing a header, into ``final``.

    The gzip header carries no file name and mtime 0, so equal input gives equal bytes.
    The plain files are removed.
    """
    parts = [plain] if isinstance(plain, Path) else list(plain)
    tmp = tmp_name(final)
    with open(tmp, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=GZIP_LEVEL, mtime=0) as gz:
            for i, part in enumerate(parts):
                with open(part, "rb") as src:
                    if i:
                        src.readline()  # the header is written once, by the first part
                    shutil.copyfileobj(src, gz, 1 << 22)
    for part in parts:
        part.unlink()
    return publish(tmp, final)


def dict_array(indices: np.ndarray, dictionary, null_mask: np.ndarray | None = None) -> pa.DictionaryArray:
    idx = pa.array(np.asarray(indices, np.int32), mask=null_mask)
    if not isinstance(dictionary, pa.Array):
        dictionary = pa.array(list(dictionary), pa.string())
    return pa.DictionaryArray.from_arrays(idx, dictionary)


def fixed_width_strings(data: np.ndarray) -> pa.StringArray:
    """(n, w) uint8 ASCII -> arrow strings without a Python loop."""
    n, w = data.shape
    offsets = np.arange(0, w * (n + 1), w, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(data).tobytes()))


def fmt_price_millis(millis: np.ndarray) -> list[str]:
    """Shortest decimal form of prices held in 1/1000: 2550 -> '2.55', 18000 -> '18', 1 -> '0.001'."""
    out = []
    for v in np.asarray(millis, np.int64).tolist():
        sign = "-" if v < 0 else ""
        v = abs(v)
        out.append(sign + f"{v // 1000}.{v % 1000:03d}".rstrip("0").rstrip("."))
    return out


def fmt_pence(pence: np.ndarray) -> list[str]:
    return [f"{v // 100}.{v % 100:02d}" for v in np.asarray(pence, np.int64).tolist()]


def copy_csv(con, table: pa.Table, select_sql: str, bad: pa.Table | None, path: Path) -> None:
    """Write ``select_sql`` (run over the registered table ``good``) as CSV to ``path``.

    DuckDB formats the columns (in row order, no sort); each malformed row of ``bad``
    (all strings, ``k`` = 2 * position + 1) is spliced in right after good row ``k // 2``;
    DuckDB then writes the result in insertion order with minimal quoting.
    """
    con.register("good", table)
    try:
        formatted = con.sql(select_sql).to_arrow_table()
    finally:
        con.unregister("good")
    if "k" in formatted.column_names:
        formatted = formatted.drop_columns(["k"])
    formatted = formatted.cast(pa.schema([pa.field(f.name, pa.string()) for f in formatted.schema]))
    if bad is not None and bad.num_rows:
        bad = bad.sort_by("k")
        after = (np.asarray(bad.column("k").to_numpy()) // 2 + 1).tolist()
        bad = bad.drop_columns(["k"]).cast(formatted.schema)
        pieces, prev = [], 0
        for i, cut in enumerate(after):
            pieces.append(formatted.slice(prev, cut - prev))
            pieces.append(bad.slice(i, 1))
            prev = cut
        pieces.append(formatted.slice(prev))
        formatted = pa.concat_tables(pieces)
    con.register("final_rows", formatted)
    try:
        con.execute(f"COPY final_rows TO '{path.as_posix()}' (FORMAT csv, HEADER true)")
    finally:
        con.unregister("final_rows")


def write_xlsx(path: Path, sheets: list[tuple[str, list[str], list[list]]]) -> tuple[str, int]:
    """Write sheets with openpyxl, then re-pack the zip with fixed timestamps (byte-stable)."""
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    fixed = datetime(2026, 1, 1)
    wb.properties.created = fixed
    wb.properties.modified = fixed
    wb.properties.creator = "ecom_platform generator"
    for title, header, rows in sheets:
        ws = wb.create_sheet(title)
        ws.append(header)
        for r in rows:
            ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = data.decode("utf-8")
                text = re.sub(
                    r"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)", rf"\g<1>{FIXED_DOC_TIME}\g<3>", text
                )
                data = text.encode("utf-8")
            zi = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            zi.create_system = 3
            zout.writestr(zi, data)
    tmp = tmp_name(path)
    tmp.write_bytes(out.getvalue())
    return publish(tmp, path)
