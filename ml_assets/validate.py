"""Run all four models on a dataset and print metrics vs baselines and timings.

    python -m ml_assets.validate --uci ../shared/datasets/uci_online_retail/online_retail.csv.gz
    python -m ml_assets.validate --uci ../shared/datasets/uci_online_retail_ii/online_retail_II_2009_2010.csv.gz \
                                       ../shared/datasets/uci_online_retail/online_retail.csv.gz
    python -m ml_assets.validate --generated data/landing      # generator output folder

Reads files directly (DuckDB), maps them to the input contracts, no warehouse needed.
For generator output: ``transactions/*.csv.gz`` (Online Retail II layout), categories
from ``products/products.xlsx`` (both sheets), ``customers/customers.csv`` and
``events/*.csv.gz`` (user_id = customer_id for known customers).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd

from ml_assets.data import lines_from_transactions, prepare_customers, prepare_events


def _duck(sql: str, params: list | None = None) -> pd.DataFrame:
    import duckdb

    con = duckdb.connect()
    try:
        con.execute("SET threads TO 2")
        return con.execute(sql, params or []).df()
    finally:
        con.close()


def read_csv_any(path: str | Path) -> pd.DataFrame:
    """All-text read of one CSV(.gz); falls back to Latin-1 when it is not UTF-8."""
    base = "select * from read_csv(?, header=true, all_varchar=true, strict_mode=false"
    try:
        return _duck(base + ")", [str(path)])
    except Exception:  # noqa: BLE001 - duckdb raises InvalidInputException subclasses
        return _duck(base + ", encoding='latin-1', ignore_errors=true)", [str(path)])


def load_uci(*paths: str | Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One or more Online Retail files (I or II layout) stacked into one ``lines`` frame.

    Online Retail II's first sheet (2009-12 .. 2010-12) and Online Retail (2010-12 ..
    2011-12) overlap on 2010-12-01 .. 2010-12-09 with identical lines; each file's own exact
    duplicates are dropped first, then lines that appear in more than one file are kept
    once (525,461 + 541,909 raw rows give 1,033,035 lines).
    """
    parts = [lines_from_transactions(read_csv_any(p)) for p in paths]
    lines = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True).drop_duplicates(ignore_index=True)
    return lines, pd.DataFrame(), pd.DataFrame()


def load_generated(folder: str | Path, with_events: bool = True
                   ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    folder = Path(folder)
    files = sorted((folder / "transactions").glob("*.csv*"))
    raw = pd.concat([read_csv_any(f) for f in files], ignore_index=True)
    lines = lines_from_transactions(raw)
    prod_file = folder / "products" / "products.xlsx"
    if prod_file.exists():
        sheets = pd.read_excel(prod_file, sheet_name=None, dtype={"stock_code": str})
        prods = pd.concat(sheets.values(), ignore_index=True).dropna(subset=["stock_code"])
        cat = prods.drop_duplicates("stock_code").set_index("stock_code")["category"]
        lines["category"] = lines["stock_code"].map(cat).astype("string")
    customers = pd.DataFrame()
    cust_file = folder / "customers" / "customers.csv"
    if cust_file.exists():
        customers = prepare_customers(read_csv_any(cust_file))
    events = pd.DataFrame()
    if with_events and (folder / "events").exists():
        ev = _duck("select try_cast(user_id as bigint) as user_id, "
                   "try_cast(replace(event_time, ' UTC', '') as timestamp) as event_time, "
                   "event_type, user_session from read_csv(?, header=true, all_varchar=true, "
                   "ignore_errors=true)", [str(folder / "events" / "*.csv.gz")])
        events = prepare_events(ev.dropna(subset=["user_id", "event_time"]))
    return lines, customers, events


def run_all(lines: pd.DataFrame, customers: pd.DataFrame, events: pd.DataFrame) -> dict:
    from ml_assets.churn import run_churn
    from ml_assets.forecasting import run_forecasting
    from ml_assets.recommendations import run_recommendations
    from ml_assets.segmentation import run_segmentation

    out = {}
    total = 0.0
    for name, fn in [
        ("churn", lambda: run_churn(lines, customers, events)),
        ("segmentation", lambda: run_segmentation(lines, customers)),
        ("forecasting", lambda: run_forecasting(lines)),
        ("recommendations", lambda: run_recommendations(lines, customers)),
    ]:
        t = time.perf_counter()
        res = fn()
        dt = time.perf_counter() - t
        total += dt
        out[name] = {"seconds": round(dt, 1), "publishable": res.run.publishable,
                     "reason": res.run.reason, "metrics": res.run.metrics,
                     "baselines": res.run.baselines, "notes": res.run.notes}
        print(f"\n=== {name} ({dt:.1f}s)\n{res.run.markdown_table()}", flush=True)
    print(f"\ntotal model time: {total:.1f}s")
    out["total_seconds"] = round(total, 1)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--uci", nargs="+", metavar="FILE",
                   help="Online Retail CSV(.gz) files, I and/or II layout (several are stacked)")
    g.add_argument("--generated", help="generator output folder")
    ap.add_argument("--no-events", action="store_true")
    ap.add_argument("--json", help="write the results here")
    a = ap.parse_args(argv)
    t = time.perf_counter()
    if a.uci:
        lines, customers, events = load_uci(*a.uci)
    else:
        lines, customers, events = load_generated(a.generated, not a.no_events)
    print(f"loaded {len(lines):,} lines, {lines['customer_id'].nunique():,} customers, "
          f"{lines['stock_code'].nunique():,} products, {len(customers):,} profiles, "
          f"{len(events):,} events in {time.perf_counter() - t:.1f}s", flush=True)
    res = run_all(lines, customers, events)
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
