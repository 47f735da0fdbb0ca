"""A BI reader in its own process: query the published BI copy in a loop, check every read.

Used by ``tests/integration/test_bi_reader_during_full_run.py``; imports only ``duckdb`` and
the standard library, like any BI client. Usage::

    python bi_reader_loop.py <bi_dir> <stop file> <report.json> <ready file>

Each iteration opens a fresh read-only connection to ``<bi_dir>/ecom_bi.duckdb`` (as a BI
tool without pooling does), runs every query inside one transaction and checks that the
relations agree within that read:

- ``bi.sales_daily``, ``bi.product_bestsellers`` and ``bi.product_sales_weekly`` have the
  same net revenue and net units (three models over the same order lines);
- ``bi.customer_rfm`` and ``bi.rfm_segments`` have the same customers and net revenue;
- ``ml.customer_segments`` has as many rows as ``ml.segment_profiles`` counts customers,
  and every segmented or churn-scored customer is in ``bi.customer_rfm``;
- ``meta.tables`` row counts equal the real row count of every published table.

Every 5th iteration also reads Parquet the documented way: resolve ``current`` once with
``os.path.realpath`` and read the version folder's manifest and files. Each read's totals
are recorded per version; the test checks that a version always shows the same totals.
The loop stops after one last read once the stop file exists.
"""

from __future__ import annotations

import json
import os
import sys
import time

import duckdb

QUERIES = {
    "version": "SELECT version FROM meta.publish_info",
    "sales": "SELECT sum(net_revenue), sum(net_units), sum(orders), count(*) FROM bi.sales_daily",
    "bestsellers": "SELECT sum(net_revenue), sum(net_units) FROM bi.product_bestsellers",
    "weekly": "SELECT sum(net_revenue), sum(net_units) FROM bi.product_sales_weekly",
    "rfm": "SELECT count(*), sum(net_revenue) FROM bi.customer_rfm",
    "segments": "SELECT sum(customers), sum(total_net_revenue) FROM bi.rfm_segments",
    "ml_segments": """SELECT (SELECT count(*) FROM ml.customer_segments),
                             (SELECT sum(n_customers) FROM ml.segment_profiles),
                             (SELECT count(*) FROM ml.customer_segments
                               WHERE customer_id NOT IN (SELECT customer_id FROM bi.customer_rfm)),
                             {churn_unknown}""",
    "model_runs": "SELECT count(*), count(DISTINCT dagster_run_id) FROM ml.model_metrics",
    "meta_tables": "SELECT table_schema, table_name, row_count FROM meta.tables ORDER BY ALL",
}


def read_duckdb(path: str) -> tuple[str, dict, list[str]]:
    """One read in one transaction: (version, totals, problems)."""
    con = duckdb.connect(path, read_only=True)
    try:
        con.execute("BEGIN TRANSACTION")
        # ml.churn_scores is absent while the shop is below churn's minimum (ml.model_status says why)
        has_churn = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'ml' AND table_name = 'churn_scores'"
        ).fetchone()[0]
        churn_unknown = (
            "(SELECT count(*) FROM ml.churn_scores WHERE customer_id NOT IN (SELECT customer_id FROM bi.customer_rfm))"
            if has_churn
            else "0"
        )
        r = {k: con.execute(q.replace("{churn_unknown}", churn_unknown)).fetchall() for k, q in QUERIES.items()}
        counted = {
            (s, t): con.execute(f'SELECT count(*) FROM "{s}"."{t}"').fetchone()[0] for s, t, _ in r["meta_tables"]
        }
        con.execute("COMMIT")
    finally:
        con.close()
    ((version,),) = r["version"]
    revenue, units, orders, days = r["sales"][0]
    problems = []
    if r["bestsellers"][0] != (revenue, units) or r["weekly"][0] != (revenue, units):
        problems.append(
            f"sales_daily {revenue}/{units} vs bestsellers {r['bestsellers'][0]} "
            f"vs weekly {r['weekly'][0]} (revenue/units)"
        )
    customers, rfm_revenue = r["rfm"][0]
    if r["segments"][0] != (customers, rfm_revenue):
        problems.append(f"customer_rfm {customers}/{rfm_revenue} vs rfm_segments {r['segments'][0]}")
    n_seg, n_prof, seg_unknown, churn_unknown = r["ml_segments"][0]
    if n_seg != n_prof or seg_unknown or churn_unknown:
        problems.append(
            f"ml.customer_segments {n_seg} rows vs segment_profiles {n_prof} customers; "
            f"{seg_unknown} segmented and {churn_unknown} scored customers not in bi.customer_rfm"
        )
    for s, t, n in r["meta_tables"]:
        if counted[(s, t)] != n:
            problems.append(f"meta.tables says {s}.{t} has {n} rows, it has {counted[(s, t)]}")
    if len(r["meta_tables"]) < 18:
        problems.append(f"only {len(r['meta_tables'])} tables published")
    totals = {
        "revenue": str(revenue),
        "units": int(units),
        "orders": int(orders),
        "days": int(days),
        "customers": int(customers),
        "rfm_revenue": str(rfm_revenue),
        "model_metrics_rows": int(r["model_runs"][0][0]),
        "model_runs": int(r["model_runs"][0][1]),
    }
    return version, totals, problems


def read_parquet(bi_dir: str) -> tuple[str, dict, list[str]]:
    """The documented Parquet recipe: resolve `current` once, read everything from that folder."""
    folder = os.path.realpath(os.path.join(bi_dir, "current"))
    with open(os.path.join(folder, "manifest.json")) as f:
        manifest = json.load(f)
    pq = os.path.join(folder, "parquet")
    con = duckdb.connect()
    try:
        revenue, units = con.execute(
            "SELECT sum(net_revenue), sum(net_units) FROM read_parquet(?)",
            [os.path.join(pq, "bi", "sales_daily.parquet")],
        ).fetchone()
        best = con.execute(
            "SELECT sum(net_revenue), sum(net_units) FROM read_parquet(?)",
            [os.path.join(pq, "bi", "product_bestsellers.parquet")],
        ).fetchone()
        n_files = con.execute("SELECT count(*) FROM glob(?)", [os.path.join(pq, "*", "*.parquet")]).fetchone()[0]
    finally:
        con.close()
    problems = []
    if best != (revenue, units):
        problems.append(f"parquet sales_daily {revenue}/{units} vs bestsellers {best}")
    if n_files != len(manifest["tables"]):
        problems.append(f"{n_files} parquet files, manifest lists {len(manifest['tables'])} tables")
    return manifest["version"], {"revenue": str(revenue), "units": int(units)}, problems


def main() -> None:
    bi_dir, stop, out, ready = sys.argv[1:5]
    path = os.path.join(bi_dir, "ecom_bi.duckdb")
    report = {
        "reads": 0,
        "parquet_reads": 0,
        "errors": [],
        "inconsistent": [],
        "versions": {},
        "parquet_versions": {},
        "read_times": [],
    }
    i = 0
    while True:
        last = os.path.exists(stop)  # once the run is over: one more read, of the final version
        t = time.time()
        try:
            version, totals, problems = read_duckdb(path)
            report["reads"] += 1
            report["read_times"].append(round(t, 3))
            v = report["versions"].setdefault(version, {"reads": 0, "first": t, "last": t, "totals": []})
            v["reads"] += 1
            v["last"] = t
            if totals not in v["totals"]:
                v["totals"].append(totals)
            report["inconsistent"] += [f"{version}: {p}" for p in problems]
            if i % 5 == 0:
                pversion, ptotals, pproblems = read_parquet(bi_dir)
                report["parquet_reads"] += 1
                pv = report["parquet_versions"].setdefault(pversion, [])
                if ptotals not in pv:
                    pv.append(ptotals)
                report["inconsistent"] += [f"{pversion} (parquet): {p}" for p in pproblems]
            if not os.path.exists(ready):
                open(ready, "w").close()
        except Exception as e:  # any error is a failure of the design under test
            report["errors"].append(f"{time.time():.3f} {type(e).__name__}: {e}"[:500])
        i += 1
        if last:
            break
        time.sleep(0.1)
    with open(out, "w") as f:
        json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
