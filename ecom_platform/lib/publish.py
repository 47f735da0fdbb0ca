"""Publish the BI copy: a separate, read-only, versioned DuckDB file (+ Parquet) for BI tools.

DuckDB allows one writing process per file, so a BI tool must never hold the live
warehouse. :func:`publish_bi_copy` copies the BI-facing tables (every ``bi.*`` table and
the ML outputs in :data:`ML_TABLES` that exist) into a NEW file and then swaps a
symlink, so readers always see one complete version:

```
<bi_dir>/
  ecom_bi.duckdb -> current/ecom_bi.duckdb static symlink: THE path readers open
  manifest.json  -> current/manifest.json  static symlink
  parquet        -> current/parquet        static symlink (one file per table)
  current        -> versions/000042-20250101T120000Z   swapped atomically (os.replace)
  versions/
    000041-.../  ecom_bi.duckdb  manifest.json  parquet/<schema>/<table>.parquet
    000042-.../  ...
```

Atomicity: a version is built under ``versions/<name>.building`` (in DuckDB 1.0's storage
format, see :data:`DEFAULT_STORAGE_VERSION`), verified by reopening it read-only, made
read-only on disk (0444), fsynced, renamed to ``versions/<name>`` and only then published by
replacing the ``current`` symlink with ``os.replace`` (one ``rename(2)``). A path lookup
of ``ecom_bi.duckdb`` resolves either the old or the new version, never a half-built file; a
reader that already has the old file open keeps reading the old inode. The last
``keep`` versions are kept (at least 2: a reader that resolved the link just before a swap
and has not yet taken its DuckDB lock still finds the previous version); older ones are
deleted unless a reader still holds a DuckDB lock on them (seen in ``/proc/locks`` on
Linux), in which case they wait for a later publish. Only DuckDB locks count: a Parquet
reader or a tool pointed at a ``versions/<name>`` folder holds no lock and is not protected.

Governance: column names are checked against :data:`DENYLIST` (names, e-mails, phone
numbers, postal addresses, exact birth dates, IP addresses, payment and government
identifiers); one match fails the publish before anything is swapped. With a
``pseudonym_key``, every customer identifier column (:data:`ID_COLUMN_PATTERN`:
``customer_id``, ``user_id``, ``*_customer_id``, ``*_user_id``) is replaced by
``HMAC-SHA256(key, id)`` truncated to a positive 63-bit BIGINT, the same mapping in every
table, so joins between tables still work. Without a key ids are copied as they are
(the warehouse's customer numbers are already opaque shop numbers; set the key
whenever the copy leaves the team that may see them).

No Dagster imports: the Dagster asset in ``ecom_platform/defs/bi.py`` is a thin wrapper.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb

BI_SCHEMA = "bi"
ML_SCHEMA = "ml"
META_SCHEMA = "meta"
ML_TABLES = (
    "churn_scores",
    "customer_segments",
    "segment_profiles",
    "demand_forecast",
    "forecast_backtest",
    "product_recommendations",
    "frequently_bought_together",
    "model_metrics",
    "model_status",
)
DB_NAME = "ecom_bi.duckdb"  # not "bi.duckdb": its catalog would clash with schema `bi`
MANIFEST_NAME = "manifest.json"
PARQUET_DIR = "parquet"
VERSIONS_DIR = "versions"
CURRENT_LINK = "current"
DEFAULT_KEEP = 3
# Never fewer than 2: the previous version must survive a prune for a reader that resolved
# `current` just before the swap but has not taken its DuckDB lock yet (pruning sees locks only).
MIN_KEEP = 2
# Written in the storage format of DuckDB 1.0 so BI drivers that embed an older DuckDB (ODBC,
# JDBC for Metabase, Node for Evidence, duckdb_engine on an older duckdb) can open it. DuckDB 2.0
# would otherwise write its newest format, which no 1.x reader opens. None = newest format.
DEFAULT_STORAGE_VERSION = "v1.0.0"

# Customer identifiers: pseudonymised when a key is given.
ID_COLUMN_PATTERN = re.compile(r"^(?:.*_)?(?:customer_id|user_id)$")

# Direct personal data: a column whose (lower-cased) name matches fails the publish.
DENYLIST: tuple[tuple[str, str], ...] = (
    (r"(^|_)e?_?mail(_?address)?$|email", "e-mail address"),
    (
        r"^name$|(^|_)(first|last|full|given|family|middle|sur|customer|contact|person|user)_?name$|^surname$",
        "person name",
    ),
    (
        r"(^|_)(phone|phone_number|phone_no|telephone|telephone_number|tel|tel_no|fax)($|_)|(^|_)(mobile|mobile_number|mobile_no|mobile_phone)$",
        "phone number",
    ),
    (
        r"(^|_)(street|address|address_line\d*|postcode|post_code|postal_code|zip|zip_code|house_number)($|_)",
        "postal address",
    ),
    (r"birth_?date|date_of_birth|(^|_)dob($|_)|birthday", "exact birth date"),
    (r"(^|_)ip($|_)|ip_?address", "IP address"),
    (r"iban|card_?number|credit_?card|(^|_)pan($|_)|bank_?account|account_number", "payment identifier"),
    (
        r"passport|(^|_)ssn($|_)|national_id|national_insurance|(^|_)nino($|_)|tax_id|social_security",
        "government identifier",
    ),
    (r"password|passwd|secret|token", "credential"),
)
_DENY = [(re.compile(p), why) for p, why in DENYLIST]

_INTEGER_TYPES = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
}
_NUMERIC_PREFIXES = ("DOUBLE", "FLOAT", "REAL", "DECIMAL", "NUMERIC")


class PublishError(RuntimeError):
    """The BI copy could not be published; the current version is unchanged."""


class PersonalDataError(PublishError):
    """A column name matches the personal-data denylist."""


@dataclass
class _Table:
    schema: str
    name: str
    columns: list[tuple[str, str]]  # (name, duckdb type)
    id_columns: list[str] = field(default_factory=list)

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


# ----------------------------------------------------------------------------- helpers
def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def denylisted(column: str) -> str | None:
    """The reason a column name is refused, or None."""
    norm = re.sub(r"[^a-z0-9]+", "_", column.strip().lower()).strip("_")
    for rx, why in _DENY:
        if rx.search(norm):
            return why
    return None


def check_denylist(tables: dict[str, list[str]]) -> None:
    """Raise :class:`PersonalDataError` naming every ``schema.table.column`` on the denylist."""
    hits = []
    for qualified, cols in tables.items():
        for c in cols:
            why = denylisted(c)
            if why:
                hits.append(f"{qualified}.{c} ({why})")
    if hits:
        raise PersonalDataError(
            "publishing refused: personal data in the BI copy: "
            + ", ".join(hits)
            + ". The BI copy must not expose names, e-mails, phone numbers, addresses, exact "
            "birth dates or other direct identifiers: drop or mask the column in the model "
            "that produces it (dbt bi model or ML asset)."
        )


def pseudonym(value: object, key: str | bytes) -> int:
    """The pseudonym of one id: HMAC-SHA256(key, canonical text), first 8 bytes, 63 bits.

    Canonical text: integers (and integral floats/decimals) in decimal, other values
    as trimmed text, so ``12345``, ``12345.0`` and ``"12345"`` map alike.
    """
    return _hmac63(_key_bytes(key), _canonical(value))


def key_fingerprint(key: str | bytes) -> str:
    """A short public fingerprint of the key: tells whether two versions share a mapping."""
    return hmac.new(_key_bytes(key), b"ecom-bi-pseudonym-key-fingerprint", hashlib.sha256).hexdigest()[:12]


def _key_bytes(key: str | bytes) -> bytes:
    b = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if not b:
        raise ValueError("pseudonym key is empty")
    return b


def _canonical(value: object) -> str:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return str(int(value))
    return str(value).strip()


def _hmac63(key: bytes, text: str) -> int:
    digest = hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") & 0x7FFF_FFFF_FFFF_FFFF


def _canonical_sql(col: str, dtype: str, alias: str = "t") -> str:
    """SQL for the canonical text of an id column (must agree with :func:`_canonical`)."""
    c = f"{alias}.{_q(col)}"
    t = dtype.upper()
    if t in _INTEGER_TYPES or t == "BOOLEAN":
        return f"CAST(CAST({c} AS HUGEINT) AS VARCHAR)"
    if t.startswith(_NUMERIC_PREFIXES):
        return f"CASE WHEN {c} = trunc({c}) THEN CAST(CAST({c} AS HUGEINT) AS VARCHAR) ELSE CAST({c} AS VARCHAR) END"
    return f"trim(CAST({c} AS VARCHAR))"


def _is_numeric(dtype: str) -> bool:
    t = dtype.upper()
    return t in _INTEGER_TYPES or t.startswith(_NUMERIC_PREFIXES)


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


# ----------------------------------------------------------------------------- discovery
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
        t = _Table(schema, name, [(c, d) for c, d in cols])
        t.id_columns = [c for c, _ in t.columns if ID_COLUMN_PATTERN.match(c.lower())]
        tables.append(t)
    present = {t.name for t in tables if t.schema == ML_SCHEMA}
    missing_ml = [f"{ML_SCHEMA}.{t}" for t in ML_TABLES if t not in present]
    return tables, missing_ml


# ----------------------------------------------------------------------------- main
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
    (``schema.table`` list), ``rows`` (per table), ``missing_ml_tables``,
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


def _check_keep(keep: int) -> None:
    if keep < MIN_KEEP:
        raise ValueError(
            f"keep={keep}: keep at least {MIN_KEEP} versions. A reader that resolved `current` just "
            "before a swap, and has not locked the file yet, must still find the previous version."
        )


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
        check_denylist({t.qualified: [c for c, _ in t.columns] for t in tables})
        for m in missing_ml:
            say(f"{m} is not in the warehouse yet: published without it")

        if key is not None:
            n_ids = _build_pseudonym_map(con, src, tables, key)
            say(f"pseudonymised {n_ids:,} distinct customer ids with HMAC-SHA256")

        for schema in sorted({t.schema for t in tables}):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS dst.{_q(schema)}")
        rows: dict[str, int] = {}
        for t in tables:
            con.execute(f"CREATE TABLE dst.{_q(t.schema)}.{_q(t.name)} AS {_select_sql(t, src, key is not None)}")
            rows[t.qualified] = int(con.execute(f"SELECT count(*) FROM dst.{_q(t.schema)}.{_q(t.name)}").fetchone()[0])
            say(f"copied {t.qualified}: {rows[t.qualified]:,} rows")
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
        "pseudonymised": key is not None,
        "pseudonymised_columns": pseudonymised_cols,
    }


def _build_pseudonym_map(con: duckdb.DuckDBPyConnection, src: str, tables: list[_Table], key: bytes) -> int:
    """TEMP table ``_pseudo_map(src, pid)`` over every id value of every table (never persisted)."""
    import pyarrow as pa

    parts = [
        f"SELECT {_canonical_sql(c, dict(t.columns)[c])} AS src FROM {_q(src)}.{_q(t.schema)}.{_q(t.name)} AS t "
        f"WHERE t.{_q(c)} IS NOT NULL"
        for t in tables
        for c in t.id_columns
    ]
    if not parts:
        con.execute("CREATE TEMP TABLE _pseudo_map (src VARCHAR, pid BIGINT)")
        return 0
    srcs = [r[0] for r in con.execute(" UNION ".join(parts)).fetchall()]
    pids = [_hmac63(key, s) for s in srcs]
    if len(set(pids)) != len(pids):  # ~n²/2^64: practically never, but never silently merge two people
        raise PublishError("pseudonym collision: two customer ids map to the same pseudonym; use another key")
    mapping = pa.table({"src": pa.array(srcs, pa.string()), "pid": pa.array(pids, pa.int64())})
    con.register("_pseudo_map_arrow", mapping)
    try:
        con.execute("CREATE TEMP TABLE _pseudo_map AS SELECT src, pid FROM _pseudo_map_arrow")
    finally:
        con.unregister("_pseudo_map_arrow")
    return len(srcs)


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
