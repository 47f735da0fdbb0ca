"""The synthetic shop generator: layout, determinism, quirks, coherence between sources.

Small scales only (0.01-0.02), so the whole file runs in a few seconds.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from devtools.generator import (
    CUSTOMERS_HEADER,
    EVENTS_HEADER,
    NON_MERCH_CODES,
    PRODUCT_SHEETS,
    PRODUCTS_HEADER,
    TRANSACTIONS_HEADER,
    generate,
)
from devtools.generator.__main__ import main as cli_main

pytestmark = pytest.mark.component  # trains models / builds shops or Dagster runs: make test, not test-fast

SCALE = 0.02
SEED = 7
INT = re.compile(r"-?[0-9]+")
UINT = re.compile(r"[0-9]+")
DEC = re.compile(r"-?[0-9]+(\.[0-9]+)?")
EVENT_TYPES = {"view", "cart", "remove_from_cart", "purchase"}


# --------------------------------------------------------------------------- helpers


def read_csv(path: Path, encoding: str = "utf-8") -> tuple[list[str], list[list[str]]]:
    if path.suffix == ".gz":
        text = gzip.decompress(path.read_bytes()).decode(encoding)
    else:
        text = path.read_bytes().decode(encoding)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return rows[0], rows[1:]


def _ts(text: str, fmt: str) -> datetime | None:
    try:
        return datetime.strptime(text, fmt)
    except ValueError:
        return None


def tx_ok(r: list[str]) -> bool:
    """Strict typing of one transactions row (the bronze contract, no leniency)."""
    inv, code, _desc, qty, date, price, cid, _country = r
    return bool(
        inv
        and code
        and INT.fullmatch(qty)
        and _ts(date, "%Y-%m-%d %H:%M:%S")
        and DEC.fullmatch(price)
        and (cid == "" or UINT.fullmatch(cid))
    )


def ev_ok(r: list[str]) -> bool:
    t, etype, pid, cat_id, _code, _brand, price, uid, sess = r
    return bool(
        _ts(t, "%Y-%m-%d %H:%M:%S UTC")
        and etype in EVENT_TYPES
        and UINT.fullmatch(pid)
        and (cat_id == "" or UINT.fullmatch(cat_id))
        and (price == "" or DEC.fullmatch(price))
        and UINT.fullmatch(uid)
        and sess
    )


def cust_ok(r: list[str]) -> bool:
    cid, _name, _email, birth, income, hh, signup, _ch, _ctry = r
    return bool(
        UINT.fullmatch(cid)
        and (birth == "" or _ts(birth, "%Y-%m-%d"))
        and (income == "" or DEC.fullmatch(income))
        and (hh == "" or UINT.fullmatch(hh))
        and (signup == "" or _ts(signup, "%Y-%m-%d"))
    )


def prod_ok(r: tuple) -> bool:
    code, pid, _desc, _cat, _brand, price = r
    return bool(
        code not in (None, "")
        and (pid is None or isinstance(pid, int))
        and (price is None or isinstance(price, (int, float)))
    )


def load(out: Path, source: str) -> list[list[str]]:
    rows: list[list[str]] = []
    for p in sorted((out / source).glob("*.csv.gz")):
        rows += read_csv(p)[1]
    return rows


@pytest.fixture(scope="module", params=[(SEED, None), (SEED + 1, 5)], ids=["one-block", "five-blocks"])
def shop(request, tmp_path_factory) -> tuple[Path, dict]:
    """A small shop, generated whole per month and in blocks of days (the large-scale path)."""
    seed, blocks = request.param
    out = tmp_path_factory.mktemp("shop")
    manifest = generate(out, scale=SCALE, seed=seed, progress=None, blocks_per_month=blocks)
    assert manifest["blocks_per_month"] == (blocks or 1)
    return out, manifest


@pytest.fixture(scope="module")
def tx(shop) -> list[list[str]]:
    return [r for r in load(shop[0], "transactions") if tx_ok(r)]


@pytest.fixture(scope="module")
def events(shop) -> list[list[str]]:
    return [r for r in load(shop[0], "events") if ev_ok(r)]


@pytest.fixture(scope="module")
def catalogue(shop) -> dict[int, str]:
    wb = openpyxl.load_workbook(shop[0] / "products" / "products.xlsx", read_only=True)
    out = {}
    for ws in wb.worksheets:
        for row in list(ws.iter_rows(values_only=True))[1:]:
            if prod_ok(row):
                out[row[1]] = row[0]
    wb.close()
    return out


def merch(r: list[str]) -> bool:
    return r[1] not in NON_MERCH_CODES


# --------------------------------------------------------------------------- layout


def test_layout_headers_and_manifest(shop):
    out, m = shop
    months = [f"{y}-{mo:02d}" for y in (2024, 2025) for mo in range(1, 13)]
    for month in months:
        assert (out / "transactions" / f"transactions_{month}.csv.gz").is_file()
        assert (out / "events" / f"events_{month}.csv.gz").is_file()
    assert read_csv(out / "transactions" / "transactions_2024-01.csv.gz")[0] == TRANSACTIONS_HEADER
    assert read_csv(out / "events" / "events_2025-12.csv.gz")[0] == EVENTS_HEADER
    assert read_csv(out / "customers" / "customers.csv", "latin-1")[0] == CUSTOMERS_HEADER
    # Nothing half-written or temporary is left behind.
    leftovers = [p.name for p in out.rglob("*") if p.name.endswith(".tmp") or p.name == "_generator_tmp"]
    assert leftovers == []
    on_disk = json.loads((out / "_generator_manifest.json").read_text(encoding="utf-8"))
    assert on_disk == json.loads(json.dumps(m))
    for key in (
        "seed",
        "scale",
        "start_date",
        "end_date",
        "files",
        "totals",
        "quirks",
        "bundles",
        "promotions",
        "n_customers",
        "n_churned",
        "n_products",
    ):
        assert key in m
    assert (m["scale"], m["start_date"], m["end_date"]) == (SCALE, "2024-01-01", "2025-12-31")
    assert len(m["files"]) == 50
    for f in m["files"]:
        assert hashlib.sha256((out / f["path"]).read_bytes()).hexdigest() == f["sha256"]
    assert m["n_customers"] == 100 and 0 < m["n_churned"] < m["n_customers"]
    assert len(m["promotions"]) >= 4
    for p in m["promotions"]:
        assert "2024-01-01" <= p["start"] <= p["end"] <= "2025-12-31" and 0 < p["discount"] < 1


def test_row_counts_and_bad_rows_match_a_strict_parse(shop):
    out, m = shop
    checked = Counter()
    for f in m["files"]:
        path = out / f["path"]
        if f["source"] == "products":
            wb = openpyxl.load_workbook(path, read_only=True)
            rows = [r for ws in wb.worksheets for r in list(ws.iter_rows(values_only=True))[1:]]
            wb.close()
            bad = sum(not prod_ok(r) for r in rows)
        else:
            header, rows = read_csv(path, "latin-1" if f["source"] == "customers" else "utf-8")
            assert all(len(r) == len(header) for r in rows), f["path"]
            check = {"transactions": tx_ok, "events": ev_ok, "customers": cust_ok}[f["source"]]
            bad = sum(not check(r) for r in rows)
        assert len(rows) == f["rows_written"], f["path"]
        assert bad == f["bad_rows"], f["path"]
        checked[f["source"]] += bad
    for source, total in m["totals"].items():
        assert checked[source] == total["bad_rows"]
        assert total["bad_rows"] >= 1
        assert total["rows_written"] == sum(f["rows_written"] for f in m["files"] if f["source"] == source)


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    a = generate(tmp_path / "a", scale=0.01, seed=3, progress=None)
    b = generate(tmp_path / "b", scale=0.01, seed=3, progress=None)
    c = generate(tmp_path / "c", scale=0.01, seed=4, progress=None)
    assert [(f["path"], f["sha256"]) for f in a["files"]] == [(f["path"], f["sha256"]) for f in b["files"]]
    assert (tmp_path / "a" / "_generator_manifest.json").read_bytes() == (
        tmp_path / "b" / "_generator_manifest.json"
    ).read_bytes()
    differing = {f["path"] for f, g in zip(a["files"], c["files"]) if f["sha256"] != g["sha256"]}
    assert differing == {f["path"] for f in a["files"]}


# --------------------------------------------------------------------------- quirks


def test_quirk_counts_and_rates(shop, tx):
    _, m = shop
    q = m["quirks"]
    n = len(tx)
    assert n == m["transactions"]["lines"]
    cancels = [r for r in tx if r[0].startswith("C")]
    assert all(int(r[3]) < 0 for r in cancels)
    assert all(r[0].startswith("C") for r in tx if int(r[3]) < 0)
    assert len(cancels) == q["cancellation_lines"] and 0.008 < len(cancels) / n < 0.04
    anon = sum(r[6] == "" for r in tx)
    assert anon == q["anonymous_lines"] and 0.12 < anon / n < 0.30
    # Anonymous orders are anonymous as a whole.
    by_inv = defaultdict(set)
    for r in tx:
        by_inv[r[0]].add(r[6] == "")
    assert all(len(v) == 1 for v in by_inv.values())
    nm = [r for r in tx if not merch(r)]
    assert len(nm) == q["non_merch_lines"] and "POST" in {r[1] for r in nm}
    assert sum(r[5] in ("0", "0.0") for r in tx) == q["zero_price_lines"] >= 1
    counts = Counter(tuple(r) for r in tx)
    assert sum(c - 1 for c in counts.values()) == q["duplicate_lines"] >= 1
    descs = defaultdict(set)
    for r in tx:
        if merch(r) and r[2].strip():
            descs[r[1]].add(r[2].strip())
    assert sum(len(v) > 1 for v in descs.values()) >= 1
    # Prices in shortest form, as in the UCI export: '2.55', '18', '0.001', never '2.50'.
    assert all(re.fullmatch(r"[0-9]+(\.[0-9]{0,2}[1-9])?", r[5]) for r in tx)


def test_cancellations_reference_earlier_purchases(tx):
    bought = defaultdict(list)
    for r in tx:
        if not r[0].startswith("C") and r[6]:
            bought[(r[6], r[1])].append((r[4], int(r[3])))
    cancels = [r for r in tx if r[0].startswith("C") and merch(r)]
    assert cancels
    for r in cancels:
        assert r[6], "merchandise cancellations belong to known customers"
        earlier = [qty for ts, qty in bought[(r[6], r[1])] if ts < r[4]]
        assert earlier and max(earlier) >= -int(r[3]), r


# --------------------------------------------------------------------------- signal


def test_yearly_seasonality_and_trend(tx):
    weekly = defaultdict(float)
    yearly = defaultdict(float)
    for r in tx:
        if merch(r):
            d = datetime.strptime(r[4], "%Y-%m-%d %H:%M:%S")
            iso = d.isocalendar()
            weekly[(iso[0], iso[1], d.month)] += int(r[3]) * float(r[5])
            yearly[d.year] += int(r[3]) * float(r[5])
    peak = [v for (y, w, mo), v in weekly.items() if mo in (11, 12)]
    base = [v for (y, w, mo), v in weekly.items() if 2 <= mo <= 9]
    assert sum(peak) / len(peak) > 1.25 * sum(base) / len(base)
    assert yearly[2025] > 1.1 * yearly[2024]
    weekdays = Counter(datetime.strptime(r[4], "%Y-%m-%d %H:%M:%S").weekday() for r in tx if not r[0].startswith("C"))
    assert weekdays[5] < 0.02 * sum(weekdays.values())  # almost no Saturday orders, as in UCI


def test_bundles_are_bought_together(shop, tx):
    _, m = shop
    baskets = defaultdict(set)
    for r in tx:
        if not r[0].startswith("C") and merch(r):
            baskets[r[0]].add(r[1])
    n = len(baskets)
    count = Counter(c for b in baskets.values() for c in b)
    lifts = []
    for bundle in m["bundles"]:
        a, b = bundle[0], bundle[1]
        both = sum(1 for x in baskets.values() if a in x and b in x)
        if count[a] >= 5 and count[b] >= 5:
            lifts.append(both * n / (count[a] * count[b]))
    assert len(lifts) >= 4
    assert sorted(lifts)[len(lifts) // 2] > 3


def test_no_activity_after_churn(shop, tx, events):
    out, m = shop
    header, rows = read_csv(out / m["truth_file"]["path"])
    truth = {r[0]: dict(zip(header, r)) for r in rows}
    churned = {cid: t["churn_date"] for cid, t in truth.items() if t["churned_in_window"] == "true"}
    assert len(churned) == m["n_churned"]
    for r in tx:
        if r[6] in churned:
            assert r[4][:10] < churned[r[6]], r
    for r in events:
        if r[7] in churned:
            assert r[0][:10] < churned[r[7]], r


# --------------------------------------------------------------------------- sources agree


def test_customers_csv_is_latin1(shop, tx):
    out, m = shop
    raw = (out / "customers" / "customers.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("latin-1")
    assert re.search(r"[À-ÿ]", text)
    header, rows = read_csv(out / "customers" / "customers.csv", "latin-1")
    good = [r for r in rows if cust_ok(r)]
    assert len(good) == m["n_customers"]
    ids = [int(r[0]) for r in good]
    assert min(ids) == 10000 and len(set(ids)) == len(ids)
    assert 0.05 < sum(r[4] == "" for r in good) / len(good) < 0.15
    assert {r[7] for r in good} <= {"organic", "paid_search", "social", "email", "referral"}
    assert {r[6] for r in tx if r[6]} <= {str(i) for i in ids}


def test_products_xlsx_has_two_sheets(shop, tx, catalogue):
    out, m = shop
    wb = openpyxl.load_workbook(out / "products" / "products.xlsx", read_only=True)
    assert wb.sheetnames == list(PRODUCT_SHEETS)
    for ws in wb.worksheets:
        assert list(next(ws.iter_rows(values_only=True))) == PRODUCTS_HEADER
    wb.close()
    assert len(catalogue) == m["n_products"]
    codes = set(catalogue.values())
    assert {r[1] for r in tx if merch(r)} <= codes
    assert {c for b in m["bundles"] for c in b} <= codes


def test_purchase_events_are_the_known_customers_order_lines(tx, events, catalogue):
    lines = Counter()
    for r in tx:
        if r[6] and not r[0].startswith("C") and merch(r):
            lines[(r[6], r[1], r[4])] = 1  # exact duplicate lines are one purchase
    purchases = Counter()
    for r in events:
        if r[1] == "purchase":
            assert int(r[7]) < 900_000_000
            purchases[(r[7], catalogue[int(r[2])], r[0][:-4])] += 1
    assert purchases and max(purchases.values()) == 1
    assert set(purchases) == set(lines)
    # Anonymous visitors browse but never buy in the clickstream.
    anon = [r for r in events if int(r[7]) >= 900_000_000]
    assert anon and {r[1] for r in anon} <= {"view", "cart", "remove_from_cart"}


def test_events_sorted_within_month_files(shop):
    out, _ = shop
    for p in sorted((out / "events").glob("*.csv.gz")):
        month = p.stem.split("_")[1][:7]
        times = [r[0] for r in read_csv(p)[1] if ev_ok(r)]
        assert times == sorted(times)
        assert {t[:7] for t in times} == {month}


# --------------------------------------------------------------------------- arguments


def test_bad_arguments_are_refused(tmp_path, capsys):
    with pytest.raises(ValueError, match="scale"):
        generate(tmp_path, scale=0, progress=None)
    with pytest.raises(ValueError, match="seed"):
        generate(tmp_path, scale=0.01, seed=-1, progress=None)
    with pytest.raises(ValueError, match="blocks_per_month"):
        generate(tmp_path, scale=0.01, blocks_per_month=0, progress=None)
    with pytest.raises(SystemExit) as exc:
        cli_main(["--out", str(tmp_path), "--scale", "abc"])
    assert exc.value.code == 2
    assert "--scale" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli_main(["--scale", "0.01"])  # --out is required
