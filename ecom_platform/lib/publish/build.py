"""Building and publishing one version of the BI copy from the live warehouse."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from ecom_platform.lib.publish.common import (
    BI_SCHEMA,
    CURRENT_LINK,
    DB_NAME,
    DEFAULT_KEEP,
    DEFAULT_STORAGE_VERSION,
    MANIFEST_NAME,
    META_SCHEMA,
    ML_SCHEMA,
    ML_TABLES,
    PARQUET_DIR,
    VERSIONS_DIR,
    PublishError,
    _lit,
    _q,
    _Table,
)
from ecom_platform.lib.publish.derived import SCRATCH, build_derived
from ecom_platform.lib.publish.privacy import (
    DENYLIST,
    _build_pseudonym_map,
    _canonical_sql,
    _is_numeric,
    _key_bytes,
    check_denylist,
    id_columns,
    key_fingerprint,
)
from ecom_platform.lib.publish.versions import (
    _VERSION_RX,
    _check_keep,
    _ensure_static_link,
    _fsync_dir,
    _fsync_tree,
    _make_read_only,
    _publish_lock,
    _replace_symlink,
    list_versions,
    prune_versions,
    stable_path,
)


def _source_tables(con: duckdb.DuckDBPyConnection, catalog: str) -> tuple[list[_Table], list[str]]:
    rows = con.execute(
        """
        SELECT table_schema, table_name
        FROM information_schema.tables
        WHERE table_catalog = ? AND (
              table_schema = ?
           OR (table_schema = ? AND table_name IN (SELECT unnest(?))))
        ORDER BY CASE table_schema WHEN ? THEN 0 ELSE 1 END, table_name
        """,
        [catalog, BI_SCHEMA, ML_SCHEMA, list(ML_TABLES), BI_SCHEMA],
    ).fetchall()
    tables = []
    for schema, name in rows:
        cols = con.execute(
            """
            SELECT column_name, data_type FROM information_schema.columns
            WHERE table_catalog = ? AND table_schema = ? AND table_name = ?
            ORDER BY ordinal_position
            """,
            [catalog, schema, name],
        ).fetchall()
        tables.append(_Table(schema, name, cols, id_columns(cols)))
    present = {t.name for t in tables if t.schema == ML_SCHEMA}
    missing_ml = [f"{ML_SCHEMA}.{t}" for t in ML_TABLES if t not in present]
    return tables, missing_ml


def publish_bi_copy(
    warehouse_path: Path | str,
    bi_dir: Path | str,
    pseudonym_key: str | bytes | None = None,
    progress: Callable[[str], None] | None = None,
    keep: int = DEFAULT_KEEP,
    storage_version: str | None = DEFAULT_STORAGE_VERSION,
    source_label: str | None = None,
) -> dict:
    """Build a new BI version from the live warehouse and make it current atomically.

    Reads ``warehouse_path`` through a read-only ATTACH (run it where no other process
    writes the file: the Dagster asset is in the single-writer pool). Returns a summary:
    ``path`` (the stable reader path), ``version``, ``version_path``, ``tables``
    (``schema.table`` list), ``rows`` (per table), ``missing_ml_tables``, ``derived_tables_not_built``,
    ``pseudonymised``, ``pseudonymised_columns``, ``parquet_dir``, ``manifest``,
    ``pruned``, ``kept_in_use`` and ``seconds``. Raises :class:`PersonalDataError` or
    :class:`PublishError` without touching the current version.

    ``keep``: how many versions to keep, at least :data:`MIN_KEEP` (in-use older ones wait
    for a later publish); ``storage_version``: DuckDB storage format of the copy (default:
    readable by DuckDB 1.0+); ``source_label``: how ``meta.publish_info.source_warehouse``
    and the manifest name the warehouse, a relative path (default: the file name only, so
    no host path leaks into the copy; the Dagster asset passes the path relative to the
    data directory, e.g. ``dev/warehouse.duckdb``).
    """
    t0 = time.perf_counter()
    say = progress or (lambda _msg: None)
    warehouse_path = Path(warehouse_path).resolve()
    bi_dir = Path(bi_dir).resolve()
    _check_keep(keep)
    source = _source_label(warehouse_path, source_label)
    if not warehouse_path.is_file():
        raise PublishError(f"warehouse {warehouse_path} does not exist: materialize the pipeline first")
    key = _key_bytes(pseudonym_key) if pseudonym_key else None
    bi_dir.mkdir(parents=True, exist_ok=True)
    (bi_dir / VERSIONS_DIR).mkdir(exist_ok=True)

    with _publish_lock(bi_dir):
        # Leftovers of a crashed publish (only one publisher runs, we hold the lock).
        for stale in (bi_dir / VERSIONS_DIR).glob("*.building"):
            shutil.rmtree(stale, ignore_errors=True)
        existing = list_versions(bi_dir)
        counter = int(_VERSION_RX.match(existing[-1].name).group(1)) + 1 if existing else 1
        now = datetime.now(UTC)
        name = f"{counter:06d}-{now.strftime('%Y%m%dT%H%M%S%fZ')}"
        building = bi_dir / VERSIONS_DIR / f"{name}.building"
        final = bi_dir / VERSIONS_DIR / name
        building.mkdir()
        try:
            summary = _build_version(warehouse_path, building, name, now, key, say, storage_version, source)
            _make_read_only(building)
            _fsync_tree(building)
            os.rename(building, final)
            _fsync_dir(final.parent)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise

        # The swap: one rename of the `current` symlink. Then the static entry points.
        _replace_symlink(bi_dir / CURRENT_LINK, os.path.join(VERSIONS_DIR, name))
        _ensure_static_link(bi_dir / DB_NAME, os.path.join(CURRENT_LINK, DB_NAME))
        _ensure_static_link(bi_dir / MANIFEST_NAME, os.path.join(CURRENT_LINK, MANIFEST_NAME))
        _ensure_static_link(bi_dir / PARQUET_DIR, os.path.join(CURRENT_LINK, PARQUET_DIR))
        _fsync_dir(bi_dir)
        say(f"published BI version {name}: {len(summary['tables'])} tables -> {stable_path(bi_dir)}")

        pruned, kept_in_use = prune_versions(bi_dir, keep=keep)
        if pruned:
            say(f"pruned {len(pruned)} old version(s): {', '.join(pruned)}")
        if kept_in_use:
            say(f"kept {len(kept_in_use)} old version(s) still open by a reader: {', '.join(kept_in_use)}")

    summary.update(
        path=str(stable_path(bi_dir)),
        version_path=str(final / DB_NAME),
        parquet_dir=str(final / PARQUET_DIR),
        manifest=str(final / MANIFEST_NAME),
        pruned=pruned,
        kept_in_use=kept_in_use,
        seconds=round(time.perf_counter() - t0, 3),
    )
    return summary


def relative_source_label(warehouse: Path, data_dir: Path) -> str:
    """The warehouse as a copy should name it: relative to the data dir, else the file name."""
    try:
        return Path(warehouse).resolve().relative_to(Path(data_dir).resolve()).as_posix()
    except ValueError:
        return Path(warehouse).name


def _source_label(warehouse_path: Path, label: str | None) -> str:
    """How the copy names its source: never an absolute host path."""
    if label is None:
        return warehouse_path.name
    if os.path.isabs(label) or re.match(r"^[A-Za-z]:[\\/]", label):
        raise ValueError(f"source_label {label!r} must be relative (no host paths in the BI copy)")
    return label


def _open_source(warehouse_path: Path) -> tuple[duckdb.DuckDBPyConnection, str]:
    """A connection that reads the live warehouse, and the catalog name to read it by.

    Normally an in-memory connection with the warehouse ATTACHed READ_ONLY as ``src``.
    When this process already has the warehouse open read-write (a Dagster step of the
    same run in the single-writer pool), DuckDB refuses a second handle on the file, so
    the publish reuses that database instance instead (still only reading it).
    """
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH {_lit(warehouse_path)} AS src (READ_ONLY)")
        return con, "src"
    except duckdb.Error as e:
        con.close()
        if "already attached" not in str(e) and "different configuration" not in str(e):
            raise
    try:
        shared = duckdb.connect(str(warehouse_path))
    except duckdb.Error:
        shared = duckdb.connect(str(warehouse_path), read_only=True)
    catalog = shared.execute("SELECT current_database()").fetchone()[0]
    return shared, catalog


def _build_version(
    warehouse_path: Path,
    folder: Path,
    name: str,
    now: datetime,
    key: bytes | None,
    say: Callable[[str], None],
    storage_version: str | None = DEFAULT_STORAGE_VERSION,
    source: str = "",
) -> dict:
    db_file = folder / DB_NAME
    pq_root = folder / PARQUET_DIR
    con, src = _open_source(warehouse_path)
    try:
        opts = f" (STORAGE_VERSION {_lit(storage_version)})" if storage_version else ""
        con.execute(f"ATTACH {_lit(db_file)} AS dst{opts}")
        tables, missing_ml = _source_tables(con, src)
        if not any(t.schema == BI_SCHEMA for t in tables):
            raise PublishError(f"no tables in schema `{BI_SCHEMA}` of {warehouse_path}: build the dbt bi models first")
        for m in missing_ml:
            say(f"{m} is not in the warehouse yet: published without it")
        # Tables joining the ML outputs with the marts, built here (dbt runs before the models).
        derived, not_built = build_derived(con, src)
        for table, why in not_built.items():
            say(f"{table} {why}: published without it")
        check_denylist({t.qualified: [c for c, _ in t.columns] for t in tables + derived})

        if key is not None:
            n_ids = _build_pseudonym_map(con, src, tables, key)
            say(f"pseudonymised {n_ids:,} distinct customer ids with HMAC-SHA256")

        for schema in sorted({t.schema for t in tables}):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS dst.{_q(schema)}")
        rows: dict[str, int] = {}
        # the warehouse's tables, then those built above (their ids are among the warehouse's)
        for catalog, t in [(src, t) for t in tables] + [(SCRATCH, t) for t in derived]:
            con.execute(f"CREATE TABLE dst.{_q(t.schema)}.{_q(t.name)} AS {_select_sql(t, catalog, key is not None)}")
            rows[t.qualified] = int(con.execute(f"SELECT count(*) FROM dst.{_q(t.schema)}.{_q(t.name)}").fetchone()[0])
            _copy_comments(con, catalog, t)
            say(f"{'built' if catalog == SCRATCH else 'copied'} {t.qualified}: {rows[t.qualified]:,} rows")
        tables = tables + derived
        con.execute(f"DETACH {SCRATCH}")
        con.execute("DROP TABLE IF EXISTS temp._pseudo_map")

        # What was written (types after the copy), checked again against the denylist.
        out_cols = {
            t.qualified: con.execute(
                """SELECT column_name, data_type FROM information_schema.columns
                   WHERE table_catalog = 'dst' AND table_schema = ? AND table_name = ?
                   ORDER BY ordinal_position""",
                [t.schema, t.name],
            ).fetchall()
            for t in tables
        }
        check_denylist({k: [c for c, _ in v] for k, v in out_cols.items()})

        pseudonymised_cols = {t.qualified: t.id_columns for t in tables if key is not None and t.id_columns}
        con.execute(f"CREATE SCHEMA dst.{META_SCHEMA}")
        con.execute(
            f"""CREATE TABLE dst.{META_SCHEMA}.publish_info AS SELECT
                   ?::VARCHAR AS version, ?::TIMESTAMPTZ AS published_at, ?::VARCHAR AS source_warehouse,
                   ?::BOOLEAN AS pseudonymised, ?::VARCHAR AS pseudonym_key_id, ?::VARCHAR AS duckdb_version""",
            [name, now, source, key is not None, key_fingerprint(key) if key else None, duckdb.__version__],
        )
        con.execute(
            f"""CREATE TABLE dst.{META_SCHEMA}.tables (table_schema VARCHAR, table_name VARCHAR,
                   row_count BIGINT, column_count INTEGER, pseudonymised_columns VARCHAR[])"""
        )
        for t in tables:
            con.execute(
                f"INSERT INTO dst.{META_SCHEMA}.tables VALUES (?, ?, ?, ?, ?)",
                [
                    t.schema,
                    t.name,
                    rows[t.qualified],
                    len(out_cols[t.qualified]),
                    pseudonymised_cols.get(t.qualified, []),
                ],
            )

        parquet_files = {}
        for t in tables:
            (pq_root / t.schema).mkdir(parents=True, exist_ok=True)
            target = pq_root / t.schema / f"{t.name}.parquet"
            con.execute(f"COPY dst.{_q(t.schema)}.{_q(t.name)} TO {_lit(target)} (FORMAT parquet, COMPRESSION zstd)")
            parquet_files[t.qualified] = str(target.relative_to(folder))
        con.execute("CHECKPOINT dst")
        con.execute("DETACH dst")
    finally:
        with contextlib.suppress(Exception):
            con.execute("DETACH dst")
        with contextlib.suppress(Exception):
            if src == "src":
                con.execute("DETACH src")
        con.close()

    # Verify the finished file as a reader will see it before anyone can.
    check = duckdb.connect(str(db_file), read_only=True)
    try:
        for q, n in rows.items():
            schema, tname = q.split(".", 1)
            got = check.execute(f"SELECT count(*) FROM {_q(schema)}.{_q(tname)}").fetchone()[0]
            if got != n:
                raise PublishError(f"verification failed: {q} has {got} rows in the new copy, expected {n}")
    finally:
        check.close()
    if Path(str(db_file) + ".wal").exists():
        raise PublishError(f"{db_file}.wal left behind after CHECKPOINT: refusing to publish")

    manifest = {
        "version": name,
        "published_at": now.isoformat(),
        "source_warehouse": source,
        "duckdb_version": duckdb.__version__,
        "storage_version": storage_version or "latest",
        "pseudonymised": key is not None,
        "pseudonymisation": (
            "customer identifier columns replaced by HMAC-SHA256(key, id) truncated to a positive "
            "63-bit BIGINT (text columns keep the number as text); same mapping in every table"
            if key is not None
            else "none: customer ids copied as they are (no ECOM_BI_PSEUDONYM_KEY set)"
        ),
        "pseudonym_key_id": key_fingerprint(key) if key else None,
        "denylist": [why for _, why in DENYLIST],
        "missing_ml_tables": missing_ml,
        "derived_tables_not_built": not_built,
        "tables": [
            {
                "schema": t.schema,
                "table": t.name,
                "rows": rows[t.qualified],
                "columns": [{"name": c, "type": d} for c, d in out_cols[t.qualified]],
                "pseudonymised_columns": pseudonymised_cols.get(t.qualified, []),
                "parquet": parquet_files[t.qualified],
            }
            for t in tables
        ],
        "meta_tables": [f"{META_SCHEMA}.publish_info", f"{META_SCHEMA}.tables"],
    }
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    return {
        "version": name,
        "tables": [t.qualified for t in tables],
        "rows": rows,
        "missing_ml_tables": missing_ml,
        "derived_tables_not_built": not_built,
        "pseudonymised": key is not None,
        "pseudonymised_columns": pseudonymised_cols,
    }


def _select_sql(t: _Table, catalog: str, pseudonymise: bool) -> str:
    src = f"{_q(catalog)}.{_q(t.schema)}.{_q(t.name)}"
    if not pseudonymise or not t.id_columns:
        return f"SELECT * FROM {src}"
    types = dict(t.columns)
    exprs = []
    for name, dtype in t.columns:
        if name in t.id_columns:
            lookup = f"(SELECT m.pid FROM temp._pseudo_map m WHERE m.src = {_canonical_sql(name, dtype)})"
            expr = lookup if _is_numeric(types[name]) else f"CAST({lookup} AS VARCHAR)"
            exprs.append(f"{expr} AS {_q(name)}")
        else:
            exprs.append(f"t.{_q(name)}")
    return f"SELECT {', '.join(exprs)} FROM {src} AS t"


def _copy_comments(con: duckdb.DuckDBPyConnection, src: str, t: _Table) -> None:
    """The table's and its columns' descriptions (dbt's, kept in the warehouse as DuckDB
    comments by ``persist_docs``), so a BI tool reading the catalogue shows them."""
    where = [src, t.schema, t.name]
    (table_comment,) = con.execute(
        "SELECT comment FROM duckdb_tables() WHERE database_name = ? AND schema_name = ? AND table_name = ?", where
    ).fetchone() or (None,)
    target = f"dst.{_q(t.schema)}.{_q(t.name)}"
    if table_comment:
        con.execute(f"COMMENT ON TABLE {target} IS {_lit(table_comment)}")
    for column, comment in con.execute(
        "SELECT column_name, comment FROM duckdb_columns() "
        "WHERE database_name = ? AND schema_name = ? AND table_name = ? AND comment IS NOT NULL AND comment <> ''",
        where,
    ).fetchall():
        con.execute(f"COMMENT ON COLUMN {target}.{_q(column)} IS {_lit(comment)}")
