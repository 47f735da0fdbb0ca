"""Deterministic generator of a realistic online shop (two years, 2024-01-01 .. 2025-12-31).

One coherent world: customers with latent purchase rates, tastes and churn; a catalogue
with Zipf popularity, price changes, launches, retirements and planted bundles; orders
with weekly and yearly seasonality, growth and promotions; a clickstream whose purchase
events are the order lines; and the quirks of real exports (cancellations, anonymous
orders, non-merchandise codes, zero prices, exact duplicates, several descriptions per
stock code, Latin-1 text, two sheets in one workbook, a few malformed rows).

    from devtools.generator import generate
    manifest = generate(Path("landing"), scale=0.01, seed=42)

or ``python -m devtools.generator --out landing --scale 0.01 --seed 42``.
The model is documented in ``docs/generator.md``. Pure Python: no Dagster imports.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from . import _vocab as V
from ._events import ANON_BASE, EVENT_NAMES, MonthEvents, block_events, month_browse_sessions
from ._io import (
    copy_csv,
    dict_array,
    fixed_width_strings,
    fmt_pence,
    fmt_price_millis,
    gzip_and_publish,
    publish,
    tmp_name,
    write_xlsx,
)
from ._orders import (
    KIND_CANCEL,
    KIND_KNOWN,
    CategorySampler,
    Headers,
    MonthLines,
    Params,
    Store,
    block_lines,
    build_headers,
)
from ._world import (
    COUNTRIES,
    DAY_SECONDS,
    END,
    MONTH_LABELS,
    MONTH_START_DAY,
    N_DAYS,
    N_MONTHS,
    START,
    Customers,
    Products,
    build_calendar,
    build_customers,
    build_products,
)

__all__ = [
    "generate",
    "sizes_for_scale",
    "GENERATOR_VERSION",
    "TRANSACTIONS_HEADER",
    "EVENTS_HEADER",
    "CUSTOMERS_HEADER",
    "PRODUCTS_HEADER",
    "PRODUCT_SHEETS",
    "NON_MERCH_CODES",
    "ANON_USER_BASE",
]

GENERATOR_VERSION = "1.0"
TRANSACTIONS_HEADER = [
    "Invoice",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "Price",
    "Customer ID",
    "Country",
]
EVENTS_HEADER = [
    "event_time",
    "event_type",
    "product_id",
    "category_id",
    "category_code",
    "brand",
    "price",
    "user_id",
    "user_session",
]
CUSTOMERS_HEADER = [
    "customer_id",
    "full_name",
    "email",
    "birth_date",
    "income",
    "household_size",
    "signup_date",
    "channel",
    "country",
]
PRODUCTS_HEADER = ["stock_code", "product_id", "description", "category", "brand", "list_price"]
PRODUCT_SHEETS = ("Catalogue", "Discontinued")
NON_MERCH_CODES = [c for c, _ in V.NON_MERCH]
ANON_USER_BASE = ANON_BASE
EPOCH0 = int(START.astype("datetime64[s]").astype(np.int64))
MAX_SCALE = 1000.0


def sizes_for_scale(scale: float) -> dict:
    """Customers, products, target order lines and malformed rows for a scale."""
    n_products = round(4000 * scale**0.5) if scale <= 1 else round(4000 * scale**0.25)
    return {
        "n_customers": max(30, round(5000 * scale)),
        "n_products": max(150, n_products),
        "target_lines": 1_000_000 * scale,
        "bad_transactions": max(2, round(36 * scale)),
        "bad_events": max(2, round(24 * scale)),
        "bad_customers": max(1, round(3 * math.sqrt(scale))),
    }


def _check_args(scale, seed) -> tuple[float, int]:
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale):
        raise ValueError(f"scale must be a finite number, got {scale!r}")
    if not 0.001 <= scale <= MAX_SCALE:
        raise ValueError(f"scale must be between 0.001 and {MAX_SCALE:g}, got {scale!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return float(scale), int(seed)


# --------------------------------------------------------------------------- tables


def _ts_array(seconds: np.ndarray) -> pa.Array:
    return pa.array((EPOCH0 + np.asarray(seconds, np.int64)).astype("datetime64[s]"))


def _tx_table(
    lines: MonthLines,
    H: Headers,
    cust: Customers,
    prods: Products,
    lo: int,
    hi: int,
    code_dict: pa.Array,
    desc_dict: pa.Array,
    country_dict: pa.Array,
) -> pa.Table:
    inv = np.char.add(np.where(H.kind[lo:hi] >= KIND_CANCEL, "C", ""), H.number[lo:hi].astype(str))
    uniq, pinv = np.unique(lines.millis, return_inverse=True)
    cid = H.cust[lines.h]
    n = len(lines.h)
    return pa.table(
        {
            "Invoice": dict_array(lines.h - lo, pa.array(inv.tolist(), pa.string())),
            "StockCode": dict_array(lines.code, code_dict),
            "Description": dict_array(np.maximum(lines.desc, 0), desc_dict, null_mask=lines.desc < 0),
            "Quantity": pa.array(lines.qty, pa.int64()),
            "InvoiceDate": _ts_array(H.t[lines.h]),
            "Price": dict_array(pinv, fmt_price_millis(uniq)),
            "Customer ID": pa.array(np.where(cid >= 0, cust.ids[np.maximum(cid, 0)], 0), pa.int64(), mask=cid < 0),
            "Country": dict_array(H.country[lines.h], country_dict),
            "k": pa.array(np.arange(n, dtype=np.int64) * 2),
        }
    )


TX_SELECT = """
SELECT CAST("Invoice" AS VARCHAR) AS "Invoice", CAST("StockCode" AS VARCHAR) AS "StockCode",
       CAST("Description" AS VARCHAR) AS "Description", CAST("Quantity" AS VARCHAR) AS "Quantity",
       strftime("InvoiceDate", '%Y-%m-%d %H:%M:%S') AS "InvoiceDate", CAST("Price" AS VARCHAR) AS "Price",
       CAST("Customer ID" AS VARCHAR) AS "Customer ID", CAST("Country" AS VARCHAR) AS "Country", k
FROM good
"""

EV_SELECT = """
SELECT strftime(event_time, '%Y-%m-%d %H:%M:%S') || ' UTC' AS event_time,
       CAST(event_type AS VARCHAR) AS event_type, CAST(product_id AS VARCHAR) AS product_id,
       CAST(category_id AS VARCHAR) AS category_id, CAST(category_code AS VARCHAR) AS category_code,
       CAST(brand AS VARCHAR) AS brand, CAST(price AS VARCHAR) AS price, CAST(user_id AS VARCHAR) AS user_id,
       CAST(user_session AS VARCHAR) AS user_session, k
FROM good
"""


def _ev_table(ev: MonthEvents, prods: Products, cat_dict: pa.Array, brand_dict: pa.Array) -> pa.Table:
    uniq, pinv = np.unique(ev.pence, return_inverse=True)
    cat = prods.cat[ev.prod]
    brand = prods.brand[ev.prod]
    n = len(ev.t)
    return pa.table(
        {
            "event_time": _ts_array(ev.t),
            "event_type": dict_array(ev.etype, pa.array(list(EVENT_NAMES), pa.string())),
            "product_id": pa.array(prods.product_id[ev.prod], pa.int64()),
            "category_id": pa.array(prods.category_id[cat], pa.int64()),
            "category_code": dict_array(cat, cat_dict),
            "brand": dict_array(np.maximum(brand, 0), brand_dict, null_mask=brand < 0),
            "price": dict_array(pinv, fmt_pence(uniq)),
            "user_id": pa.array(ev.user, pa.int64()),
            "user_session": dict_array(ev.session, fixed_width_strings(ev.uuids)),
            "k": pa.array(np.arange(n, dtype=np.int64) * 2),
        }
    )


def _bad_table(header: list[str], rows: list[tuple[int, list]]) -> pa.Table:
    cols = {h: pa.array([r[1][i] for r in rows], pa.string()) for i, h in enumerate(header)}
    cols["k"] = pa.array([2 * r[0] + 1 for r in rows], pa.int64())
    return pa.table(cols)


def _bad_tx_rows(
    rng, n_bad: int, counter: int, lines: MonthLines, H: Headers, cust: Customers, prods: Products, m: int
) -> list[tuple[int, list]]:
    """Malformed copies of real lines, each inserted right after its source line."""
    rows = []
    n = len(lines.h)
    for i in range(n_bad):
        j = int(rng.integers(n))
        h = int(lines.h[j])
        c = int(H.cust[h])
        d = int(lines.desc[j])
        ts = str((START + 0).astype("datetime64[s]") + int(H.t[h])).replace("T", " ")
        row = [
            ("C" if H.kind[h] >= KIND_CANCEL else "") + str(int(H.number[h])),
            prods.code_table[lines.code[j]],
            prods.desc_table[d] if d >= 0 else None,
            str(int(lines.qty[j])),
            ts,
            fmt_price_millis(lines.millis[j : j + 1])[0],
            str(int(cust.ids[c])) if c >= 0 else None,
            COUNTRIES[int(H.country[h])],
        ]
        kind = (counter + i) % 6
        if kind == 0:
            row[3] = "N/A"
        elif kind == 1:
            row[4] = f"{MONTH_LABELS[m]}-32 {ts[11:]}"
        elif kind == 2:
            row[5] = "£" + row[5]
        elif kind == 3:
            row[6] = (row[6] + "O") if row[6] else "unknown"
        elif kind == 4:
            row[1] = None
        else:
            row[3] = "twelve"
        rows.append((j, row))
    return rows


def _bad_ev_rows(rng, n_bad: int, counter: int, ev: MonthEvents, prods: Products, m: int) -> list[tuple[int, list]]:
    rows = []
    n = len(ev.t)
    for i in range(n_bad):
        j = int(rng.integers(n))
        p = int(ev.prod[j])
        b = int(prods.brand[p])
        ts = str(START.astype("datetime64[s]") + int(ev.t[j])).replace("T", " ") + " UTC"
        row = [
            ts,
            "view",
            str(int(prods.product_id[p])),
            str(int(prods.category_id[prods.cat[p]])),
            V.CATEGORIES[prods.cat[p]].code,
            V.BRANDS[b] if b >= 0 else None,
            fmt_pence(ev.pence[j : j + 1])[0],
            str(int(ev.user[j])),
            bytes(ev.uuids[ev.session[j]]).decode(),
        ]
        kind = (counter + i) % 5
        if kind == 0:
            row[1] = "hover"
        elif kind == 1:
            row[7] = "user_" + row[7]
        elif kind == 2:
            row[0] = f"{MONTH_LABELS[m]}-32 {ts[11:]}"
        elif kind == 3:
            row[2] = None
        else:
            row[6] = "free"
        rows.append((j, row))
    return rows


def _spread(rng, total: int, parts: int) -> np.ndarray:
    """Split ``total`` malformed rows over the months (at least one in the first month)."""
    out = rng.multinomial(total - 1, np.full(parts, 1 / parts))
    out[0] += 1
    return out


# --------------------------------------------------------------------------- static files


def _write_customers(con, cust: Customers, out: Path, tmpdir: Path, n_bad: int, rng) -> dict:
    folder = out / "customers"
    folder.mkdir(parents=True, exist_ok=True)
    tbl = {k: list(v) for k, v in cust.table.items()}
    n = cust.n
    pos = np.sort(rng.choice(n, n_bad, replace=n_bad > n))
    rows = []
    for i, j in enumerate(pos.tolist()):
        row = [tbl[c][j] for c in CUSTOMERS_HEADER]
        row[0] = "N/A" if i % 2 == 0 else f"CUST-{row[0]}"
        rows.append((j, row))
    good = pa.table(
        {
            **{c: pa.array(tbl[c], pa.string()) for c in CUSTOMERS_HEADER},
            "k": pa.array(np.arange(n, dtype=np.int64) * 2),
        }
    )
    bad = _bad_table(CUSTOMERS_HEADER, rows)
    plain = tmpdir / "customers.csv"
    select = "SELECT " + ", ".join(f'"{c}"' for c in CUSTOMERS_HEADER) + ", k FROM good"
    copy_csv(con, good, select, bad, plain)
    final = folder / "customers.csv"
    tmp = tmp_name(final)
    tmp.write_bytes(plain.read_text(encoding="utf-8").encode("latin-1"))
    plain.unlink()
    sha, size = publish(tmp, final)
    return {
        "path": "customers/customers.csv",
        "source": "customers",
        "rows_written": n + len(rows),
        "bad_rows": len(rows),
        "sha256": sha,
        "bytes": size,
    }


def _write_products(prods: Products, cal, out: Path) -> dict:
    folder = out / "products"
    folder.mkdir(parents=True, exist_ok=True)
    last_day = np.where(prods.disc_m < N_MONTHS, _month_start(prods.disc_m) - 1, N_DAYS - 1)
    list_pence = prods.price_cents(np.arange(prods.n), last_day)
    order = np.argsort(prods.code.astype(str), kind="stable")
    catalogue, retired = [], []
    for i in order.tolist():
        b = int(prods.brand[i])
        row = [
            str(prods.code[i]),
            int(prods.product_id[i]),
            prods.desc[i].strip(),
            V.CATEGORIES[prods.cat[i]].code,
            V.BRANDS[b] if b >= 0 else None,
            round(int(list_pence[i]) / 100, 2),
        ]
        (retired if prods.disc_m[i] < N_MONTHS else catalogue).append(row)
    # One malformed row (no stock code) so that quarantine has work.
    catalogue.append([None, None, "SAMPLE ITEM - DO NOT USE", "home.decor", None, 0.0])
    sha, size = write_xlsx(
        folder / "products.xlsx",
        [(PRODUCT_SHEETS[0], PRODUCTS_HEADER, catalogue), (PRODUCT_SHEETS[1], PRODUCTS_HEADER, retired)],
    )
    return {
        "path": "products/products.xlsx",
        "source": "products",
        "rows_written": len(catalogue) + len(retired),
        "bad_rows": 1,
        "sha256": sha,
        "bytes": size,
        "sheets": {PRODUCT_SHEETS[0]: len(catalogue), PRODUCT_SHEETS[1]: len(retired)},
    }


def _month_start(m: np.ndarray) -> np.ndarray:
    return MONTH_START_DAY[m]


def _write_truth(cust: Customers, H: Headers, out: Path, tmpdir: Path, con) -> dict:
    n = cust.n
    known = H.kind == KIND_KNOWN
    orders = np.bincount(H.cust[known], minlength=n)
    churn_in = cust.churn_day < N_DAYS
    churn_date = np.where(
        churn_in, (START + np.floor(np.minimum(cust.churn_day, N_DAYS)).astype(np.int64)).astype(str), ""
    )
    tbl = pa.table(
        {
            "customer_id": pa.array(cust.ids),
            "signup_date": pa.array(cust.table["signup_date"].tolist(), pa.string()),
            "churned_in_window": pa.array(churn_in),
            "churn_date": pa.array([s or None for s in churn_date.tolist()], pa.string()),
            "never_buyer": pa.array(cust.never_buyer),
            "orders_in_window": pa.array(orders.astype(np.int64)),
            "orders_per_year_when_active": pa.array(np.round(cust.rate * 365.25, 4)),
            "churn_hazard_per_year": pa.array(np.round(cust.hazard, 4)),
            "spend_level": pa.array(np.round(cust.spend, 4)),
            "basket_size_factor": pa.array(np.round(cust.basket, 4)),
            "k": pa.array(np.arange(n, dtype=np.int64)),
        }
    )
    plain = tmpdir / "truth.csv"
    cols = [c for c in tbl.column_names if c != "k"]
    copy_csv(con, tbl, "SELECT " + ", ".join(cols) + ", k FROM good", None, plain)
    final = out / "_generator_truth_customers.csv.gz"
    sha, size = gzip_and_publish(plain, final)
    return {"path": final.name, "sha256": sha, "bytes": size, "rows": n}


# --------------------------------------------------------------------------- main


def generate(
    out_dir: Path,
    scale: float = 1.0,
    seed: int = 42,
    progress: Callable[[str], None] | None = print,
    blocks_per_month: int | None = None,
) -> dict:
    """Generate the shop into ``out_dir`` and return the manifest (also written as JSON).

    Same ``seed`` and ``scale`` give byte-identical files (on the same zlib). Sizes scale
    with ``scale``: about 5,000 customers, 4,000 products, 1,000,000 order lines and
    2,500,000 events at scale 1 (see ``sizes_for_scale`` and docs/generator.md).

    Each month is generated in ``blocks_per_month`` blocks of whole days (default: one
    block per started 4 units of scale), which bounds memory; the block count is part
    of the random stream layout, so keep the default for reproducible bytes.
    """
    scale, seed = _check_args(scale, seed)
    if blocks_per_month is not None and not (isinstance(blocks_per_month, int) and 1 <= blocks_per_month <= 31):
        raise ValueError(f"blocks_per_month must be an integer between 1 and 31, got {blocks_per_month!r}")
    log = progress or (lambda _msg: None)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    sizes = sizes_for_scale(scale)
    P = Params()

    cal = build_calendar(np.random.default_rng([seed, 1]))
    prods = build_products(np.random.default_rng([seed, 2]), sizes["n_products"], cal)
    cust = build_customers(np.random.default_rng([seed, 3]), sizes["n_customers"], cal, prods)
    H, hstats = build_headers(np.random.default_rng([seed, 4]), cal, cust, prods, sizes["target_lines"], P)
    n_known_orders = int((H.kind == KIND_KNOWN).sum())
    rng_bad = np.random.default_rng([seed, 5])
    bad_tx = _spread(rng_bad, sizes["bad_transactions"], N_MONTHS)
    bad_ev = _spread(rng_bad, sizes["bad_events"], N_MONTHS)
    log(
        f"world: {cust.n:,} customers, {prods.n:,} products, {len(prods.bundles)} bundles, "
        f"{len(H.t):,} invoices planned ({time.perf_counter() - t_start:.1f}s)"
    )

    tmpdir = out / "_generator_tmp"
    shutil.rmtree(tmpdir, ignore_errors=True)
    tmpdir.mkdir()
    for sub in ("transactions", "events"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET threads TO 2")
    files: list[dict] = []
    pending: list[tuple[dict, Future]] = []
    quirks = {
        k: 0
        for k in (
            "cancellation_lines",
            "anonymous_lines",
            "non_merch_lines",
            "zero_price_lines",
            "duplicate_lines",
            "missing_description_lines",
            "alternative_description_lines",
        )
    }
    tx_tot = {"lines": 0, "invoices": 0, "bundle_lines_added": 0}
    ev_tot: dict[str, int] = {}
    monthly: list[dict] = []
    try:
        files.append(_write_customers(con, cust, out, tmpdir, sizes["bad_customers"], np.random.default_rng([seed, 6])))
        files.append(_write_products(prods, cal, out))
        log(f"customers.csv and products.xlsx written ({time.perf_counter() - t_start:.1f}s)")
        code_dict = pa.array(prods.code_table, pa.string())
        desc_dict = pa.array(prods.desc_table, pa.string())
        country_dict = pa.array(list(COUNTRIES), pa.string())
        cat_dict = pa.array([c.code for c in V.CATEGORIES], pa.string())
        brand_dict = pa.array(list(V.BRANDS), pa.string())
        store = Store()
        n_blocks = blocks_per_month or max(1, math.ceil(scale / 4))
        bad_counter = [0, 0]
        with ThreadPoolExecutor(max_workers=2) as pool:
            for m in range(N_MONTHS):
                t_m = time.perf_counter()
                label = MONTH_LABELS[m]
                sampler = CategorySampler(prods, m)
                browse = month_browse_sessions(m, cal, cust, P, n_known_orders, np.random.default_rng([seed, 11, m]))
                # Blocks of whole days keep memory bounded at large scales (one block up to scale 4).
                cuts = np.unique(
                    np.linspace(MONTH_START_DAY[m], MONTH_START_DAY[m + 1], n_blocks + 1).round().astype(np.int64)
                )
                rng_m = np.random.default_rng([seed, 12, m])
                bad_block_tx = np.bincount(rng_m.integers(0, len(cuts) - 1, int(bad_tx[m])), minlength=len(cuts) - 1)
                bad_block_ev = np.bincount(rng_m.integers(0, len(cuts) - 1, int(bad_ev[m])), minlength=len(cuts) - 1)
                tx_parts, ev_parts = [], []
                carry_tx = carry_ev = 0
                m_lines = m_events = m_inv = m_bad_tx = m_bad_ev = 0
                m_rev = 0.0
                for b in range(len(cuts) - 1):
                    d0, d1 = int(cuts[b]), int(cuts[b + 1])
                    lo, hi = (int(x) for x in np.searchsorted(H.t, [d0 * DAY_SECONDS, d1 * DAY_SECONDS]))
                    lines, st = block_lines(
                        m,
                        lo,
                        hi,
                        H,
                        cal,
                        cust,
                        prods,
                        P,
                        np.random.default_rng([seed, 10, m, b]),
                        store,
                        sampler,
                        force_zero_price=(m == 0 and b == 0),
                    )
                    bsel = slice(*np.searchsorted(browse[0], [d0 * DAY_SECONDS, d1 * DAY_SECONDS]))
                    ev, est = block_events(
                        m,
                        d0,
                        d1,
                        lines,
                        H,
                        cal,
                        cust,
                        prods,
                        P,
                        np.random.default_rng([seed, 13, m, b]),
                        sampler,
                        (browse[0][bsel], browse[1][bsel], browse[2][bsel]),
                    )
                    # Malformed rows copy a real row of the block; an empty block passes them on.
                    carry_tx += int(bad_block_tx[b])
                    carry_ev += int(bad_block_ev[b])
                    btx = (
                        _bad_tx_rows(rng_m, carry_tx, bad_counter[0], lines, H, cust, prods, m) if len(lines.h) else []
                    )
                    bev = _bad_ev_rows(rng_m, carry_ev, bad_counter[1], ev, prods, m) if len(ev.t) else []
                    carry_tx -= len(btx)
                    carry_ev -= len(bev)
                    bad_counter[0] += len(btx)
                    bad_counter[1] += len(bev)
                    plain = tmpdir / f"transactions_{label}_{b:03d}.csv"
                    copy_csv(
                        con,
                        _tx_table(lines, H, cust, prods, lo, hi, code_dict, desc_dict, country_dict),
                        TX_SELECT,
                        _bad_table(TRANSACTIONS_HEADER, btx),
                        plain,
                    )
                    tx_parts.append(plain)
                    plain = tmpdir / f"events_{label}_{b:03d}.csv"
                    copy_csv(
                        con,
                        _ev_table(ev, prods, cat_dict, brand_dict),
                        EV_SELECT,
                        _bad_table(EVENTS_HEADER, bev),
                        plain,
                    )
                    ev_parts.append(plain)
                    for k in quirks:
                        quirks[k] += st[k]
                    for k in tx_tot:
                        tx_tot[k] += st[k]
                    for k, v in est.items():
                        ev_tot[k] = ev_tot.get(k, 0) + v
                    m_lines += st["lines"]
                    m_inv += st["invoices"]
                    m_rev += st["revenue"]
                    m_events += est["events"]
                    m_bad_tx += len(btx)
                    m_bad_ev += len(bev)
                    del lines, ev
                for rel, parts, rows, bad, src in (
                    (f"transactions/transactions_{label}.csv.gz", tx_parts, m_lines, m_bad_tx, "transactions"),
                    (f"events/events_{label}.csv.gz", ev_parts, m_events, m_bad_ev, "events"),
                ):
                    entry = {"path": rel, "source": src, "rows_written": rows + bad, "bad_rows": bad}
                    pending.append((entry, pool.submit(gzip_and_publish, parts, out / rel)))
                while len(pending) > 4:  # bounded backlog of files waiting for gzip
                    entry, fut = pending.pop(0)
                    entry["sha256"], entry["bytes"] = fut.result()
                    files.append(entry)
                monthly.append(
                    {
                        "month": label,
                        "lines": m_lines,
                        "invoices": m_inv,
                        "revenue": round(m_rev, 2),
                        "events": m_events,
                    }
                )
                log(
                    f"{label}: {m_lines:,} lines, {m_inv:,} invoices, {m_events:,} events "
                    f"({time.perf_counter() - t_m:.1f}s, total {time.perf_counter() - t_start:.1f}s)"
                )
            for entry, fut in pending:
                entry["sha256"], entry["bytes"] = fut.result()
                files.append(entry)
        truth = _write_truth(cust, H, out, tmpdir, con)
    finally:
        con.close()
        shutil.rmtree(tmpdir, ignore_errors=True)

    files.sort(key=lambda f: f["path"])
    totals = {}
    for src in ("transactions", "events", "customers", "products"):
        fs = [f for f in files if f["source"] == src]
        totals[src] = {
            "files": len(fs),
            "rows_written": sum(f["rows_written"] for f in fs),
            "bad_rows": sum(f["bad_rows"] for f in fs),
            "bytes": sum(f["bytes"] for f in fs),
        }
    n_lines = tx_tot["lines"]
    churned = cust.churn_day < N_DAYS
    manifest = {
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "scale": scale,
        "start_date": str(START),
        "end_date": str(END),
        "n_customers": int(cust.n),
        "n_churned": int(churned.sum()),
        "n_never_buyers": int(cust.never_buyer.sum()),
        "n_products": int(prods.n),
        "n_products_discontinued": int((prods.disc_m < N_MONTHS).sum()),
        "n_products_launched_in_window": int((prods.launch_m > 0).sum()),
        "n_categories": len(V.CATEGORIES),
        "blocks_per_month": n_blocks,
        "files": files,
        "totals": totals,
        "transactions": {
            "lines": n_lines,
            "invoices": tx_tot["invoices"],
            "invoice_numbers": [int(H.number[0]), int(H.number[-1])] if len(H.number) else [],
            "bundle_trigger_lines": tx_tot["bundle_lines_added"],
        },
        "events": ev_tot,
        "quirks": quirks,
        "quirk_rates": {k: round(v / max(n_lines, 1), 5) for k, v in quirks.items()},
        "multi_description_stock_codes": int((prods.alt >= 0).sum()),
        "non_merch_codes": NON_MERCH_CODES,
        "anonymous_user_id_min": ANON_USER_BASE,
        "bundles": [[str(prods.code[p]) for p in b] for b in prods.bundles],
        "bundle_product_ids": [[int(prods.product_id[p]) for p in b] for b in prods.bundles],
        "promotions": cal.promotions,
        "monthly": monthly,
        "truth_file": truth,
        "params": {k: getattr(P, k) for k in P.__dataclass_fields__},
    }
    path = out / "_generator_manifest.json"
    tmp = tmp_name(path)
    tmp.write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    log(
        f"done: {n_lines:,} order lines, {ev_tot.get('events', 0):,} events, {len(files)} files in {out} "
        f"({time.perf_counter() - t_start:.1f}s)"
    )
    return manifest
