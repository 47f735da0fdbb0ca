"""Reference implementations for the benchmark: the same two marts without the platform.

``kpi_sales_daily`` and ``customer_rfm`` computed straight from the landing files, twice:

* :func:`floor_tables` -- the *floor*: one plain DuckDB SQL script over ``read_csv`` of the
  transaction files, no orchestration, no staging tables, nothing persisted;
* :func:`pandas_tables` -- the *peer*: the same in pandas, reading the files in chunks.

Both reproduce, step by step, what the platform does between the landing folder and the
two marts (``ecom_platform/lib/ingest/`` typing and quarantine rules;
``dbt_project/models``: ``stg_retail__transactions``, ``int_retail__order_lines``,
``fct_order_lines``, ``kpi_sales_daily``, ``customer_rfm``; the seeds
``non_merchandise_codes`` and ``rfm_segment_map``; docs/rfm.md):

1. a row is kept when every typed column parses (required ones present: invoice, stock
   code, quantity, invoice date, price; a present customer id must be a whole number;
   quantities must be whole numbers, ``'12.5'`` is rejected); text is trimmed, ``''`` is
   NULL;
2. exact duplicates -- identical on invoice, stock code, description, quantity, invoice
   date, price, customer id and country -- are kept once;
3. ``line_amount = quantity x price`` at 3 decimals; ``invoice_day`` the invoice date;
   a cancellation is an invoice starting with ``C``; a line is merchandise unless its stock
   code matches the seed (exact or prefix, case-insensitive);
4. ``kpi_sales_daily``: one row per day from the first to the last merchandise day, zeros
   on days without sales; ``customer_rfm``: as in docs/rfm.md, ``ntile(5)`` with the
   documented tie-breaks, segment from the seed.

:func:`warehouse_tables` reads the platform's own two marts, :func:`compare` checks that
two results agree (exact on integers, to the cent on money). Money is carried as integer
thousandths (``*_milli`` columns, cast in SQL) so nothing is lost to floating point.

Pure code: no Dagster, no environment variables. Only transaction files in CSV or CSV.GZ
are read (the generator's layout, and UCI's exported as CSV); the encoding is UTF-8 with a
fallback to Latin-1 per file, as ingestion does.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

KPI_KEY = ["sales_day"]
KPI_INT_COLS = ["orders", "cancellations", "units", "unique_customers"]
KPI_MONEY_COLS = ["revenue", "gross_revenue", "cancelled_revenue"]
RFM_KEY = ["customer_id"]

NULL_TOKENS = ("", "nan", "none", "null", "<na>", "nat")
# normalised header -> column (ingestion's aliases for the transactions source)
TX_ALIASES = {
    "invoice": ("invoice", "invoiceno"),
    "stock_code": ("stockcode",),
    "description": ("description",),
    "quantity": ("quantity",),
    "invoice_date": ("invoicedate",),
    "price": ("price", "unitprice"),
    "customer_id": ("customerid",),
    "country": ("country",),
}
TX_REQUIRED = ("invoice", "stock_code", "quantity", "invoice_date", "price")
BUSINESS_COLS = list(TX_ALIASES)


# ------------------------------------------------------------------------------ files


def transaction_files(landing_dir: Path) -> list[Path]:
    """The CSV / CSV.GZ transaction files ingestion would read (hidden and partial ones skipped)."""
    folder = Path(landing_dir) / "transactions"
    out = []
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).parts
        if any(part.startswith((".", "_")) or part.lower().endswith((".tmp", ".part", ".crdownload")) for part in rel):
            continue
        if p.is_file() and not p.is_symlink() and p.name.lower().endswith((".csv", ".csv.gz")):
            out.append(p)
    return out


def _normalise_header(name: str) -> str:
    return "".join(ch for ch in str(name).strip().lower() if ch.isalnum())


def _open_text(path: Path):
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")


def file_encoding(path: Path, probe: int = 1 << 20) -> str:
    """'utf-8' unless the first MiB does not decode as UTF-8 (then 'latin-1')."""
    with _open_text(path) as fh:
        head = fh.read(probe)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the probe's end
            return "latin-1"
    return "utf-8"


def header_mapping(path: Path, encoding: str = "utf-8") -> dict[str, str]:
    """column -> the file's header name, via ingestion's aliases."""
    with _open_text(path) as fh:
        first = fh.readline().decode(encoding).rstrip("\r\n")
    header = [h.strip().strip('"') for h in first.split(",")]
    by_norm: dict[str, str] = {}
    for h in header:
        by_norm.setdefault(_normalise_header(h), h)
    mapping = {}
    for col, aliases in TX_ALIASES.items():
        for a in (_normalise_header(col),) + aliases:
            if a in by_norm:
                mapping[col] = by_norm[a]
                break
    missing = [c for c in TX_REQUIRED if c not in mapping]
    if missing:
        raise ValueError(f"{path}: missing required column(s) {', '.join(missing)}")
    return mapping


def _seed(seeds_dir: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(Path(seeds_dir) / f"{name}.csv", dtype=str, keep_default_na=False)


# ------------------------------------------------------------------------------ floor


def _sql_str(v: str) -> str:
    return "'" + str(v).replace("'", "''") + "'"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _floor_select(path: Path) -> str:
    """Typed SELECT of one file (all VARCHAR in, ingestion's rules out, `_ok` = row accepted)."""
    enc = file_encoding(path)
    m = header_mapping(path, enc)

    def v(col):
        return f"NULLIF(TRIM({_q(m[col])}), '')" if col in m else "CAST(NULL AS VARCHAR)"

    def is_null(col):
        if col not in m:
            return "true"
        tokens = ", ".join(_sql_str(t) for t in NULL_TOKENS)
        return f"({_q(m[col])} IS NULL OR lower(trim({_q(m[col])})) IN ({tokens}))"

    def whole(col, t):
        x = v(col)
        return (
            f"CASE WHEN regexp_full_match({x}, '[+-]?[0-9]+') THEN TRY_CAST({x} AS {t}) "
            f"WHEN regexp_full_match({x}, '[+-]?[0-9]+\\.0+') THEN TRY_CAST(split_part({x}, '.', 1) AS {t}) END"
        )

    ts = f"regexp_replace({v('invoice_date')}, '\\s*(UTC|Z)$', '')"
    typed = {
        "invoice": v("invoice"),
        "stock_code": v("stock_code"),
        "description": v("description"),
        "quantity": whole("quantity", "INTEGER"),
        "invoice_date": (
            f"COALESCE(TRY_CAST({ts} AS TIMESTAMP), TRY_STRPTIME({ts}, '%m/%d/%Y %H:%M'), "
            f"TRY_STRPTIME({ts}, '%m/%d/%Y %H:%M:%S'), TRY_STRPTIME({ts}, '%d.%m.%Y %H:%M'))"
        ),
        "price": (
            f"COALESCE(TRY_CAST({v('price')} AS DECIMAL(18,3)), "
            f"TRY_CAST(TRY_CAST({v('price')} AS DOUBLE) AS DECIMAL(18,3)))"
        ),
        "customer_id": whole("customer_id", "BIGINT"),
        "country": v("country"),
    }
    # accepted: required columns present, and every present value parses
    ok = [f"NOT {is_null(c)}" for c in TX_REQUIRED]
    ok += [f"({is_null(c)} OR ({typed[c]}) IS NOT NULL)" for c in typed if c in m]
    cols = ",\n               ".join(f"{e} AS {c}" for c, e in typed.items())
    return (
        f"SELECT {cols},\n               ({' AND '.join(ok)}) AS _ok\n"
        f"        FROM read_csv({_sql_str(str(path))}, header = true, all_varchar = true, "
        f"encoding = {_sql_str(enc)}, ignore_errors = true, null_padding = false, auto_detect = true)"
    )


def floor_sql(landing_dir: Path, seeds_dir: Path) -> str:
    """The floor: one DuckDB SQL script from the landing files to the two marts."""
    files = transaction_files(landing_dir)
    if not files:
        raise ValueError(f"no transaction CSV files under {Path(landing_dir) / 'transactions'}")
    union = "\n        UNION ALL BY NAME\n        ".join(_floor_select(p) for p in files)
    nm = _sql_str(str(Path(seeds_dir) / "non_merchandise_codes.csv"))
    segmap = _sql_str(str(Path(seeds_dir) / "rfm_segment_map.csv"))
    return f"""
-- the accepted lines, typed, with a hash of the business columns; a table of its own, not a
-- CTE read twice below: DuckDB keeps a CTE read twice in memory, a table it can spill
CREATE OR REPLACE TEMP TABLE floor_typed AS
SELECT * EXCLUDE (_ok),
       hash(invoice, stock_code, description, quantity, invoice_date, price, customer_id, country) AS _h
FROM (
        {union}
)
WHERE _ok;

-- exact duplicate lines kept once (identical on every business column). Only lines whose
-- hash repeats can be duplicates, so only those go through DISTINCT: a DISTINCT over all
-- 8 columns of 48M lines (scale 50) ran out of a 4 GB memory limit instead of spilling
CREATE OR REPLACE TEMP TABLE floor_deduped AS
WITH repeated AS (
    SELECT _h FROM floor_typed GROUP BY _h HAVING count(*) > 1
)
SELECT * EXCLUDE (_h) FROM floor_typed ANTI JOIN repeated USING (_h)
UNION ALL
SELECT DISTINCT * EXCLUDE (_h) FROM floor_typed SEMI JOIN repeated USING (_h);

CREATE OR REPLACE TEMP TABLE floor_lines AS
WITH nm AS (
    SELECT upper(code) AS code, match_type FROM read_csv({nm}, header = true, all_varchar = true)
),
codes AS (
    SELECT c.stock_code FROM (SELECT DISTINCT stock_code FROM floor_deduped) c
    JOIN nm ON (nm.match_type = 'exact' AND upper(c.stock_code) = nm.code)
            OR (nm.match_type = 'prefix' AND starts_with(upper(c.stock_code), nm.code))
    GROUP BY c.stock_code
)
SELECT d.invoice, d.customer_id, d.quantity,
       CAST(d.invoice_date AS DATE) AS invoice_day,
       CAST(d.quantity * d.price AS DECIMAL(18, 3)) AS amount,
       starts_with(upper(d.invoice), 'C') AS is_cancellation,
       codes.stock_code IS NULL AS is_merchandise
FROM floor_deduped d LEFT JOIN codes ON d.stock_code = codes.stock_code;

CREATE OR REPLACE TEMP TABLE floor_kpi_sales_daily AS
WITH daily AS (
    SELECT invoice_day,
           sum(amount) AS revenue,
           coalesce(sum(amount) FILTER (WHERE NOT is_cancellation), 0) AS gross_revenue,
           coalesce(-sum(amount) FILTER (WHERE is_cancellation), 0) AS cancelled_revenue,
           count(DISTINCT invoice) FILTER (WHERE NOT is_cancellation) AS orders,
           count(DISTINCT invoice) FILTER (WHERE is_cancellation) AS cancellations,
           sum(quantity) AS units,
           count(DISTINCT customer_id) FILTER (WHERE NOT is_cancellation) AS unique_customers
    FROM floor_lines WHERE is_merchandise GROUP BY invoice_day
),
days AS (
    SELECT CAST(d AS DATE) AS sales_day
    FROM (SELECT min(invoice_day) AS lo, max(invoice_day) AS hi FROM daily) s,
         range(s.lo, s.hi + 1, INTERVAL 1 DAY) AS t(d)
)
SELECT days.sales_day,
       CAST(coalesce(revenue, 0) AS DECIMAL(18, 3)) AS revenue,
       CAST(coalesce(gross_revenue, 0) AS DECIMAL(18, 3)) AS gross_revenue,
       CAST(coalesce(cancelled_revenue, 0) AS DECIMAL(18, 3)) AS cancelled_revenue,
       coalesce(orders, 0) AS orders,
       coalesce(cancellations, 0) AS cancellations,
       CAST(coalesce(units, 0) AS BIGINT) AS units,
       coalesce(unique_customers, 0) AS unique_customers
FROM days LEFT JOIN daily ON days.sales_day = daily.invoice_day
ORDER BY days.sales_day;

CREATE OR REPLACE TEMP TABLE floor_customer_rfm AS
WITH lines AS (
    SELECT * FROM floor_lines WHERE customer_id IS NOT NULL
),
snap AS (SELECT max(invoice_day) + 1 AS snapshot_date FROM lines),
per_customer AS (
    SELECT customer_id,
           max(invoice_day) FILTER (WHERE NOT is_cancellation) AS last_day,
           count(DISTINCT invoice) FILTER (WHERE NOT is_cancellation) AS frequency,
           sum(amount) AS monetary
    FROM lines GROUP BY customer_id
),
measured AS (
    SELECT customer_id,
           CAST(date_diff('day', last_day, (SELECT snapshot_date FROM snap)) AS INTEGER) AS recency_days,
           CAST(frequency AS INTEGER) AS frequency,
           CAST(monetary AS DECIMAL(18, 3)) AS monetary
    FROM per_customer WHERE frequency > 0
),
scored AS (
    SELECT *,
           CAST(ntile(5) OVER (ORDER BY recency_days DESC, customer_id ASC) AS INTEGER) AS r_score,
           CAST(ntile(5) OVER (ORDER BY frequency ASC, customer_id ASC) AS INTEGER) AS f_score,
           CAST(ntile(5) OVER (ORDER BY monetary ASC, customer_id ASC) AS INTEGER) AS m_score
    FROM measured
),
segmap AS (SELECT rfm_code, segment FROM read_csv({segmap}, header = true, all_varchar = true))
SELECT s.customer_id, s.recency_days, s.frequency, s.monetary, s.r_score, s.f_score, s.m_score,
       CAST(s.r_score AS VARCHAR) || CAST(s.f_score AS VARCHAR) || CAST(s.m_score AS VARCHAR) AS rfm_code,
       segmap.segment
FROM scored s
LEFT JOIN segmap
  ON CAST(s.r_score AS VARCHAR) || CAST(s.f_score AS VARCHAR) || CAST(s.m_score AS VARCHAR) = segmap.rfm_code
ORDER BY s.customer_id;
"""


def floor_tables(
    landing_dir: Path,
    seeds_dir: Path,
    *,
    memory_limit: str | None = None,
    threads: int | None = None,
    temp_dir: Path | None = None,
) -> dict[str, pd.DataFrame]:
    """Run the floor script in an in-memory DuckDB (spilling to ``temp_dir``) and return both marts."""
    con = duckdb.connect(":memory:")
    try:
        if memory_limit:
            con.execute(f"SET memory_limit = {_sql_str(memory_limit)}")
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        if temp_dir:
            Path(temp_dir).mkdir(parents=True, exist_ok=True)
            con.execute(f"SET temp_directory = {_sql_str(str(temp_dir))}")
        con.execute("SET preserve_insertion_order = false")
        con.execute(floor_sql(landing_dir, seeds_dir))
        kpi = con.execute(f"SELECT {KPI_SELECT} FROM floor_kpi_sales_daily").df()
        rfm = con.execute(f"SELECT {RFM_SELECT} FROM floor_customer_rfm").df()
    finally:
        con.close()
    return {"kpi_sales_daily": normalise_kpi(kpi), "customer_rfm": normalise_rfm(rfm)}


# ------------------------------------------------------------------------------ pandas


def _whole_numbers(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(values as float64 with NaN for missing/invalid, is-valid mask) of a stripped text column."""
    ok = s.str.fullmatch(r"[+-]?[0-9]+(?:\.0+)?", na=False)
    vals = pd.to_numeric(s.where(ok).str.split(".", n=1).str[0], errors="coerce")
    return vals, ok


def _type_chunk(raw: pd.DataFrame, m: dict[str, str]) -> pd.DataFrame:
    """Ingestion's typing on one chunk of text columns; returns only the accepted rows."""
    n = len(raw)
    txt = {}
    nulls = {}
    for col in BUSINESS_COLS:
        if col in m:
            s = raw[m[col]].str.strip()
            nulls[col] = s.str.lower().isin(NULL_TOKENS) | s.isna()
            txt[col] = s.mask(s == "")
        else:
            txt[col] = pd.Series([None] * n, index=raw.index, dtype=object)
            nulls[col] = pd.Series(True, index=raw.index)
    ok = pd.Series(True, index=raw.index)
    for col in TX_REQUIRED:
        ok &= ~nulls[col]

    qty, qty_ok = _whole_numbers(txt["quantity"])
    cid, cid_ok = _whole_numbers(txt["customer_id"])
    ok &= qty_ok
    ok &= nulls["customer_id"] | cid_ok

    price = pd.to_numeric(txt["price"], errors="coerce")
    price_ok = price.notna() & np.isfinite(price)
    ok &= price_ok
    price_milli = (price.where(price_ok, 0) * 1000).round()

    ts = txt["invoice_date"].str.replace(r"\s*(UTC|Z)$", "", regex=True)
    when = pd.to_datetime(ts, format="ISO8601", errors="coerce")
    for fmt in ("%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%d.%m.%Y %H:%M"):
        missing = when.isna() & ts.notna()
        if not missing.any():
            break
        when = when.fillna(pd.to_datetime(ts.where(missing), format=fmt, errors="coerce"))
    ok &= when.notna()

    out = pd.DataFrame(
        {
            "invoice": txt["invoice"][ok],
            "stock_code": txt["stock_code"][ok],
            "description": txt["description"][ok],
            "quantity": qty[ok].astype("int64"),
            "invoice_date": when[ok],
            "price_milli": price_milli[ok].astype("int64"),
            "customer_id": cid[ok].astype("Int64"),
            "country": txt["country"][ok],
        }
    )
    for col in ("invoice", "stock_code", "description", "country"):
        out[col] = out[col].astype("category")
    return out


def _read_transactions_pandas(landing_dir: Path, chunksize: int) -> pd.DataFrame:
    parts = []
    for path in transaction_files(landing_dir):
        enc = file_encoding(path)
        m = header_mapping(path, enc)
        reader = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            encoding=enc,
            usecols=list(m.values()),
            chunksize=chunksize,
            on_bad_lines="skip",
            compression="gzip" if path.name.lower().endswith(".gz") else None,
        )
        for chunk in reader:
            parts.append(_type_chunk(chunk, m))
    from pandas.api.types import union_categoricals

    cols = {}
    for col in BUSINESS_COLS if parts else []:
        name = "price_milli" if col == "price" else col
        series = [p[name] for p in parts]
        if isinstance(series[0].dtype, pd.CategoricalDtype):
            cols[name] = pd.Series(union_categoricals(series, ignore_order=True))
        else:
            cols[name] = pd.concat(series, ignore_index=True)
    return pd.DataFrame(cols)


def pandas_tables(landing_dir: Path, seeds_dir: Path, *, chunksize: int = 500_000) -> dict[str, pd.DataFrame]:
    """The pandas peer: same definitions, files read in chunks, typed, concatenated, deduplicated."""
    lines = _read_transactions_pandas(landing_dir, chunksize)
    if lines.empty:
        raise ValueError(f"no accepted transaction rows under {landing_dir}")
    dup = lines.duplicated(
        subset=[
            "invoice",
            "stock_code",
            "description",
            "quantity",
            "invoice_date",
            "price_milli",
            "customer_id",
            "country",
        ],
        keep="first",
    )
    lines = lines[~dup]
    # invoices stay categorical: count distinct on their integer codes, flag cancellations per category
    inv = lines["invoice"].cat
    cancel_cat = pd.Series(inv.categories).str.upper().str.startswith("C").to_numpy()
    codes = lines["stock_code"].cat
    up = pd.Series(codes.categories).str.upper()
    nm = _seed(seeds_dir, "non_merchandise_codes")
    exact = set(nm.loc[nm.match_type == "exact", "code"].str.upper())
    prefixes = tuple(nm.loc[nm.match_type == "prefix", "code"].str.upper())
    non_merch_cat = (up.isin(exact) | (up.str.startswith(prefixes) if prefixes else False)).to_numpy()
    inv_codes = inv.codes.to_numpy()
    df = pd.DataFrame(
        {
            "invoice": inv_codes,
            "customer_id": lines["customer_id"].array,
            "quantity": lines["quantity"].to_numpy(),
            "invoice_day": lines["invoice_date"].dt.normalize().to_numpy(),
            "amount_milli": (lines["quantity"] * lines["price_milli"]).to_numpy(),
            "is_merchandise": ~non_merch_cat[codes.codes.to_numpy()],
            "is_cancellation": cancel_cat[inv_codes],
        }
    )
    del lines

    # kpi_sales_daily
    merch = df[df.is_merchandise]
    g = merch.groupby("invoice_day")
    non_c = merch[~merch.is_cancellation]
    canc = merch[merch.is_cancellation]
    daily = pd.DataFrame(
        {
            "revenue_milli": g["amount_milli"].sum(),
            "gross_revenue_milli": non_c.groupby("invoice_day")["amount_milli"].sum(),
            "cancelled_revenue_milli": -canc.groupby("invoice_day")["amount_milli"].sum(),
            "orders": non_c.groupby("invoice_day")["invoice"].nunique(),
            "cancellations": canc.groupby("invoice_day")["invoice"].nunique(),
            "units": g["quantity"].sum(),
            "unique_customers": non_c.groupby("invoice_day")["customer_id"].nunique(),
        }
    )
    days = pd.date_range(daily.index.min(), daily.index.max(), freq="D")
    kpi = daily.reindex(days).fillna(0).astype("int64").rename_axis("sales_day").reset_index()
    kpi["sales_day"] = kpi["sales_day"].dt.date
    del merch, non_c, canc

    # customer_rfm
    known = df[df.customer_id.notna()]
    snapshot = known["invoice_day"].max() + pd.Timedelta(days=1)
    kc = known[~known.is_cancellation]
    per = pd.DataFrame(
        {
            "monetary_milli": known.groupby("customer_id")["amount_milli"].sum(),
            "last_day": kc.groupby("customer_id")["invoice_day"].max(),
            "frequency": kc.groupby("customer_id")["invoice"].nunique(),
        }
    )
    per = per[per.frequency.fillna(0) > 0].rename_axis("customer_id").reset_index()
    per["customer_id"] = per["customer_id"].astype("int64")
    per["recency_days"] = (snapshot - per["last_day"]).dt.days.astype("int64")
    per["frequency"] = per["frequency"].astype("int64")
    per["r_score"] = _ntile5(per, ["recency_days", "customer_id"], [False, True])
    per["f_score"] = _ntile5(per, ["frequency", "customer_id"], [True, True])
    per["m_score"] = _ntile5(per, ["monetary_milli", "customer_id"], [True, True])
    per["rfm_code"] = per.r_score.astype(str) + per.f_score.astype(str) + per.m_score.astype(str)
    segmap = _seed(seeds_dir, "rfm_segment_map")
    per["segment"] = per["rfm_code"].map(dict(zip(segmap.rfm_code, segmap.segment)))
    rfm = per[
        [
            "customer_id",
            "recency_days",
            "frequency",
            "monetary_milli",
            "r_score",
            "f_score",
            "m_score",
            "rfm_code",
            "segment",
        ]
    ]
    return {"kpi_sales_daily": normalise_kpi(kpi), "customer_rfm": normalise_rfm(rfm)}


def ntile(n_rows: int, buckets: int) -> np.ndarray:
    """SQL ntile over n ordered rows: the first ``n % buckets`` buckets get one row more."""
    q, r = divmod(n_rows, buckets)
    i = np.arange(n_rows)
    big = r * (q + 1)  # rows in the larger buckets
    return np.where(i < big, i // max(q + 1, 1), r + (i - big) // max(q, 1)) + 1


def _ntile5(df: pd.DataFrame, by: list[str], ascending: list[bool]) -> pd.Series:
    order = df.sort_values(by, ascending=ascending, kind="mergesort").index
    out = pd.Series(0, index=df.index, dtype="int64")
    out.loc[order] = ntile(len(df), 5)
    return out


# ------------------------------------------------------------------------------ ours + compare


def warehouse_tables(warehouse_path: Path) -> dict[str, pd.DataFrame]:
    """The platform's marts.kpi_sales_daily and marts.customer_rfm, read-only."""
    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        kpi = con.execute(f"SELECT {KPI_SELECT} FROM marts.kpi_sales_daily").df()
        rfm = con.execute(f"SELECT {RFM_SELECT} FROM marts.customer_rfm").df()
    finally:
        con.close()
    return {"kpi_sales_daily": normalise_kpi(kpi), "customer_rfm": normalise_rfm(rfm)}


# money leaves DuckDB as exact integer thousandths, never as float
KPI_SELECT = ", ".join(
    ["sales_day"] + [f"CAST({c} * 1000 AS BIGINT) AS {c}_milli" for c in KPI_MONEY_COLS] + KPI_INT_COLS
)
RFM_SELECT = (
    "customer_id, recency_days, frequency, CAST(monetary * 1000 AS BIGINT) AS monetary_milli, "
    "r_score, f_score, m_score, CAST(rfm_code AS VARCHAR) AS rfm_code, segment"
)


def normalise_kpi(df: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({"sales_day": pd.to_datetime(df["sales_day"]).dt.date})
    for c in KPI_MONEY_COLS:
        out[f"{c}_milli"] = df[f"{c}_milli"].astype("int64")
    for c in KPI_INT_COLS:
        out[c] = df[c].astype("int64")
    return _finish(out, KPI_KEY)


def normalise_rfm(df: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({"customer_id": df["customer_id"].astype("int64")})
    for c in ["recency_days", "frequency"]:
        out[c] = df[c].astype("int64")
    out["monetary_milli"] = df["monetary_milli"].astype("int64")
    for c in ["r_score", "f_score", "m_score"]:
        out[c] = df[c].astype("int64")
    out["rfm_code"] = df["rfm_code"].astype(str)
    out["segment"] = df["segment"].astype(object).where(df["segment"].notna(), None)
    return _finish(out, RFM_KEY)


def _finish(df: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    return df.sort_values(key, kind="mergesort").reset_index(drop=True)


def compare(
    a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame], name_a: str = "a", name_b: str = "b", max_examples: int = 5
) -> dict:
    """Do two results agree? Exact on integers, keys and text; money to the cent (|diff| < 0.005).

    Returns ``{"agree": bool, "tables": {table: {"rows": (n_a, n_b), "only_in_a", "only_in_b",
    "mismatches": {column: count}, "examples": [...]}}}``.
    """
    report: dict = {"agree": True, "tables": {}, "pair": f"{name_a} vs {name_b}"}
    for table, key in (("kpi_sales_daily", KPI_KEY), ("customer_rfm", RFM_KEY)):
        x, y = a[table], b[table]
        merged = x.merge(y, on=key, how="outer", suffixes=("_a", "_b"), indicator=True)
        only_a = int((merged["_merge"] == "left_only").sum())
        only_b = int((merged["_merge"] == "right_only").sum())
        both = merged[merged["_merge"] == "both"]
        mism: dict[str, int] = {}
        examples = []
        for col in [c for c in x.columns if c not in key]:
            ca, cb = both[f"{col}_a"], both[f"{col}_b"]
            if col.endswith("_milli"):
                bad = (ca.astype("int64") - cb.astype("int64")).abs() >= 5
            else:
                bad = ~((ca == cb) | (ca.isna() & cb.isna()))
            n_bad = int(bad.sum())
            if n_bad:
                mism[col] = n_bad
                for _, row in both[bad].head(max_examples).iterrows():
                    examples.append(
                        {
                            **{k: str(row[k]) for k in key},
                            "column": col,
                            name_a: _plain(row[f"{col}_a"]),
                            name_b: _plain(row[f"{col}_b"]),
                        }
                    )
        ok = not (only_a or only_b or mism)
        report["agree"] &= ok
        report["tables"][table] = {
            "agree": ok,
            "rows": [len(x), len(y)],
            "only_in_" + name_a: only_a,
            "only_in_" + name_b: only_b,
            "mismatches": mism,
            "examples": examples[:max_examples],
        }
    return report


def _plain(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    return (
        None
        if v is None or (isinstance(v, float) and np.isnan(v))
        else str(v)
        if not isinstance(v, (int, float))
        else v
    )


def totals(tables: dict[str, pd.DataFrame]) -> dict:
    """Headline numbers of one result (for the report)."""
    kpi, rfm = tables["kpi_sales_daily"], tables["customer_rfm"]
    return {
        "days": int(len(kpi)),
        "revenue": round(int(kpi["revenue_milli"].sum()) / 1000, 3),
        "orders": int(kpi["orders"].sum()),
        "units": int(kpi["units"].sum()),
        "rfm_customers": int(len(rfm)),
        "rfm_monetary": round(int(rfm["monetary_milli"].sum()) / 1000, 3),
    }
