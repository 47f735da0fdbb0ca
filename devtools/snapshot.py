"""Snapshot of every table a build writes, to prove a refactor changes no output.

``make snapshot`` builds a fresh shop at scale 0.2 (generator seed 42) in a temporary data
folder with ``make run``'s own command, then records for every table and view of the
warehouse its row count and an order-independent checksum of every column (the sum of the
row hashes, so duplicate rows count), and compares them with the snapshot committed in
``devtools/snapshots/``. Identical: exit 0. Different: every table and column that
differs is named, exit 1.

Columns that differ between two builds of the same code by nature (wall-clock times, run
ids) are left out, listed in ``VOLATILE``; floating-point values are rounded to 9
significant digits first. Usage::

    python -m devtools.snapshot build  [--scale 0.2] [--out FILE]   # build and snapshot
    python -m devtools.snapshot take   WAREHOUSE [--out FILE]        # snapshot a warehouse
    python -m devtools.snapshot compare EXPECTED ACTUAL              # exit 1 when different
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "devtools" / "snapshots" / "scale-0.2.json"

# (schema.table or "*", column): differs between two builds of the same code by nature
VOLATILE = {
    ("*", "_ingested_at"),
    ("*", "_run_id"),
    ("*", "run_id"),
    ("*", "dagster_run_id"),
    ("*", "profile_ingested_at"),
    ("*", "quarantined_at"),
    ("*", "recorded_at"),
    ("*", "run_at"),
    ("*", "evaluated_at"),
    ("*", "last_published_at"),
    ("*", "last_loaded_at"),
    ("raw.ingest_log", "started_at"),
    ("raw.ingest_log", "finished_at"),
    ("staging.stg_ingestion__ingest_log", "started_at"),
    ("staging.stg_ingestion__ingest_log", "finished_at"),
}
# ops: the failure log of this machine's runs; dbt_state: what windowed builds keep, internal
SKIPPED_SCHEMAS = ("information_schema", "pg_catalog", "ops", "dbt_state")
FLOAT_TYPES = ("DOUBLE", "FLOAT", "REAL")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _column_expr(column: str, data_type: str) -> str:
    col = _quote(column)
    if data_type in FLOAT_TYPES:
        # 9 significant digits: the last bits of a float sum depend on the order of addition
        return (
            f"hash(CASE WHEN {col} IS NULL OR isnan({col}) OR isinf({col}) THEN {col}::VARCHAR "
            f"ELSE printf('%.8e', {col}) END)"
        )
    return f"hash({col})"


def take(warehouse: Path) -> dict:
    """{"schema.table": {"rows": n, "columns": {column: checksum}, "volatile": [...]}}."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            f"WHERE table_schema NOT IN ({', '.join(repr(s) for s in SKIPPED_SCHEMAS)}) "
            "AND table_catalog = current_database() ORDER BY 1, 2"
        ).fetchall()
        out = {}
        for schema, table in tables:
            name = f"{schema}.{table}"
            cols = con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = ? AND table_name = ? AND table_catalog = current_database() "
                "ORDER BY ordinal_position",
                [schema, table],
            ).fetchall()
            kept = [(c, t) for c, t in cols if (name, c) not in VOLATILE and ("*", c) not in VOLATILE]
            sums = ", ".join(f"sum({_column_expr(c, t)}::HUGEINT)::VARCHAR" for c, t in kept)
            row = con.execute(
                f"SELECT count(*){', ' + sums if sums else ''} FROM {_quote(schema)}.{_quote(table)}"
            ).fetchone()
            out[name] = {
                "rows": row[0],
                "columns": {c: row[i + 1] for i, (c, _) in enumerate(kept)},
                "volatile": sorted(c for c, _ in cols if (c, _) not in kept),
            }
        return out
    finally:
        con.close()


def compare(expected: dict, actual: dict) -> list[str]:
    """One line per difference; empty when identical."""
    out = []
    for name in sorted(set(expected) | set(actual)):
        if name not in actual:
            out.append(f"{name}: missing (expected {expected[name]['rows']:,} rows)")
            continue
        if name not in expected:
            out.append(f"{name}: new table ({actual[name]['rows']:,} rows)")
            continue
        exp, act = expected[name], actual[name]
        if exp["rows"] != act["rows"]:
            out.append(f"{name}: {act['rows']:,} rows, expected {exp['rows']:,}")
        for col in sorted(set(exp["columns"]) | set(act["columns"])):
            if col not in act["columns"]:
                out.append(f"{name}.{col}: column missing")
            elif col not in exp["columns"]:
                out.append(f"{name}.{col}: new column")
            elif exp["columns"][col] != act["columns"][col]:
                out.append(f"{name}.{col}: values differ")
    return out


def build(scale: float, seed: int, work: Path) -> Path:
    """A fresh shop at ``scale`` built by `make run`'s command in ``work``; the warehouse path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECOM_") and k != "DAGSTER_HOME"}
    env.update(
        ECOM_DATA_DIR=str(work / "data"),
        ECOM_SCALE=str(scale),
        ECOM_SEED=str(seed),
        DAGSTER_HOME=str(work / "dagster_home"),
    )
    (work / "dagster_home").mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    print(f"building a scale-{scale:g} shop (seed {seed}) in {work} ...", flush=True)
    proc = subprocess.run(
        [sys.executable, "-m", "ecom_platform.cli", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if proc.returncode != 0:
        sys.stdout.write(proc.stdout[-5000:])
        raise SystemExit(f"the build failed (exit {proc.returncode}); its output's end is above")
    print(f"built in {time.monotonic() - started:.0f} s", flush=True)
    return work / "data" / "dev" / "warehouse.duckdb"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.snapshot", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build a fresh shop, snapshot it, compare with the baseline")
    b.add_argument("--scale", type=float, default=0.2)
    b.add_argument("--seed", type=int, default=42)
    b.add_argument("--out", type=Path, help="also write the snapshot here")
    b.add_argument("--expected", type=Path, default=BASELINE, help="the snapshot to compare with")
    b.add_argument("--keep", type=Path, help="build in this folder and keep it")
    t = sub.add_parser("take", help="snapshot an existing warehouse")
    t.add_argument("warehouse", type=Path)
    t.add_argument("--out", type=Path)
    c = sub.add_parser("compare", help="compare two snapshot files")
    c.add_argument("expected", type=Path)
    c.add_argument("actual", type=Path)
    args = parser.parse_args(argv)

    if args.command == "compare":
        diffs = compare(json.loads(args.expected.read_text()), json.loads(args.actual.read_text()))
        print("\n".join(diffs) if diffs else "identical")
        return 1 if diffs else 0
    if args.command == "take":
        snap = take(args.warehouse)
    else:
        if args.keep:
            snap = take(build(args.scale, args.seed, args.keep.resolve()))
        else:
            with tempfile.TemporaryDirectory(prefix="ecom-snapshot-") as work:
                snap = take(build(args.scale, args.seed, Path(work)))
    text = json.dumps(snap, indent=1, sort_keys=True) + "\n"
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        print(f"snapshot of {len(snap)} tables written to {args.out}")
    if args.command == "take":
        if not args.out:
            sys.stdout.write(text)
        return 0
    if not args.expected.exists():
        print(f"no snapshot to compare with at {args.expected}: pass --out {args.expected} to record one")
        return 0
    diffs = compare(json.loads(args.expected.read_text()), snap)
    print(
        f"compared {len(snap)} tables ({sum(t['rows'] for t in snap.values()):,} rows) with {args.expected}: "
        + ("identical" if not diffs else f"{len(diffs)} difference(s)")
    )
    print("\n".join(diffs))
    return 1 if diffs else 0


if __name__ == "__main__":
    raise SystemExit(main())
