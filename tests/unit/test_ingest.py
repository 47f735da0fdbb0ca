"""Raw ingestion: one test per bad-input class, each proving earlier data is untouched."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from decimal import Decimal

from ecom_platform.lib import ingest
from ecom_platform.lib.ingest import LandingFile

HEADER_II = "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n"
GOOD_ROWS = [
    "489434,85048,15CM CHRISTMAS GLASS BALL 20 LIGHTS,12,2009-12-01 07:45:00,6.95,13085,United Kingdom",
    "489434,79323P,PINK CHERRY LIGHTS,12,2009-12-01 07:45:00,6.75,13085,United Kingdom",
    "C489449,22087,PAPER BUNTING WHITE LACE,-12,2009-12-01 10:33:00,2.95,16321,Australia",
    "489436,POST,POSTAGE,1,2009-12-01 09:06:00,18.00,,United Kingdom",
]


@pytest.fixture()
def env(tmp_path):
    """A landing folder with one good baseline file already loaded."""
    landing = tmp_path / "landing"
    (landing / "transactions").mkdir(parents=True)
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    ingest.ensure_raw_schema(con)
    write(landing, "transactions/base.csv", HEADER_II + "\n".join(GOOD_ROWS) + "\n")
    results, _ = ingest.ingest_source(con, landing, "transactions", "run-base")
    assert [r.status for r in results] == ["loaded"]
    yield con, landing
    con.close()


def write(landing: Path, rel: str, text: str | bytes, encoding: str = "utf-8") -> Path:
    path = landing / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text if isinstance(text, bytes) else text.encode(encoding)
    if rel.endswith(".gz") and not isinstance(text, bytes):
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)
    return path


def ingest_one(con, landing, rel, source="transactions", run_id="run-x"):
    lf = LandingFile(source=source, path=landing / rel, rel=rel)
    return ingest.ingest_file(con, lf, run_id)


def baseline_intact(con):
    n, total = con.execute(
        "SELECT count(*), sum(quantity * price) FROM raw.transactions WHERE _source_file = 'transactions/base.csv'"
    ).fetchone()
    assert n == 4
    assert float(total) == pytest.approx(12 * 6.95 + 12 * 6.75 - 12 * 2.95 + 18.0)


def quarantine(con, rel):
    return con.execute(
        "SELECT row_number, reason, raw_text FROM raw.quarantine WHERE file_name = ? ORDER BY row_number", [rel]
    ).fetchall()


def log_row(con, rel):
    return con.execute(
        "SELECT status, rows_read, rows_accepted, rows_rejected, error FROM raw.ingest_log "
        "WHERE file_name = ? ORDER BY finished_at DESC LIMIT 1",
        [rel],
    ).fetchone()


# ------------------------------------------------------------------ the happy path


def test_baseline_types_and_lineage(env):
    con, _ = env
    row = con.execute(
        "SELECT invoice, stock_code, quantity, invoice_date, price, customer_id, country, "
        "_source_file, _row_number, _run_id, length(_file_sha256) "
        "FROM raw.transactions ORDER BY _row_number LIMIT 1"
    ).fetchone()
    assert row[:7] == (
        "489434", "85048", 12, pd.Timestamp("2009-12-01 07:45:00").to_pydatetime(),
        Decimal("6.950"), 13085, "United Kingdom",
    )
    assert row[7:] == ("transactions/base.csv", 1, "run-base", 64)
    # Missing customer id is NULL, not 0 and not a quarantine.
    assert con.execute("SELECT customer_id FROM raw.transactions WHERE stock_code = 'POST'").fetchone() == (None,)
    assert log_row(con, "transactions/base.csv")[:4] == ("loaded", 4, 4, 0)


def test_online_retail_i_names_latin1_and_us_dates(env):
    con, landing = env
    text = (
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
        "536365,85123A,CAFÉ HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850.0,United Kingdom\n"
    )
    write(landing, "transactions/ori.csv", text, encoding="latin-1")
    res = ingest_one(con, landing, "transactions/ori.csv")
    assert (res.status, res.rows_accepted, res.rows_rejected) == ("loaded", 1, 0)
    row = con.execute(
        "SELECT description, invoice_date, customer_id FROM raw.transactions WHERE invoice = '536365'"
    ).fetchone()
    assert row == ("CAFÉ HEART T-LIGHT HOLDER", pd.Timestamp("2010-12-01 08:26").to_pydatetime(), 17850)
    baseline_intact(con)


def test_xlsx_reads_every_sheet(env, tmp_path):
    con, landing = env
    path = landing / "products" / "catalogue.xlsx"
    path.parent.mkdir(parents=True)
    cols = ["stock_code", "product_id", "description", "category", "brand", "list_price"]
    with pd.ExcelWriter(path) as xw:
        pd.DataFrame([["85123A", 1, "HEART", "home.decor", "Acme", 2.55]], columns=cols).to_excel(
            xw, sheet_name="Catalogue", index=False
        )
        pd.DataFrame(
            [["71053", 2, "LANTERN", "home.light", "Acme", 3.39], ["22423", 3, "CAKESTAND", None, None, 12.75]],
            columns=cols,
        ).to_excel(xw, sheet_name="Discontinued", index=False)
    res = ingest_one(con, landing, "products/catalogue.xlsx", source="products")
    assert (res.status, res.rows_accepted) == ("loaded", 3)
    rows = con.execute(
        "SELECT _source_sheet, stock_code, product_id, list_price FROM raw.products ORDER BY _row_number"
    ).fetchall()
    assert [(r[0], r[1], r[2], float(r[3])) for r in rows] == [
        ("Catalogue", "85123A", 1, 2.55),
        ("Discontinued", "71053", 2, 3.39),
        ("Discontinued", "22423", 3, 12.75),
    ]


def test_parquet_and_events_utc_suffix(env):
    con, landing = env
    path = landing / "events" / "day.parquet"
    path.parent.mkdir(parents=True)
    pd.DataFrame(
        {
            "event_time": ["2019-10-01 00:00:00 UTC", "2019-10-01 00:00:05 UTC"],
            "event_type": ["view", "purchase"],
            "product_id": [44600062, 3900821],
            "category_id": [2103807459595387724, 2053013552326770905],
            "category_code": [None, "appliances.environment.water_heater"],
            "brand": ["shiseido", "aqua"],
            "price": [35.79, 33.20],
            "user_id": [541312140, 554748717],
            "user_session": ["72d76fde", "9333dfbd"],
        }
    ).to_parquet(path)
    res = ingest_one(con, landing, "events/day.parquet", source="events")
    assert (res.status, res.rows_accepted, res.rows_rejected) == ("loaded", 2, 0)
    assert con.execute("SELECT max(event_time), sum(category_id) FROM raw.events").fetchone() == (
        pd.Timestamp("2019-10-01 00:00:05").to_pydatetime(),
        2103807459595387724 + 2053013552326770905,
    )


# ------------------------------------------------------------------ bad rows -> quarantine


@pytest.mark.parametrize(
    "bad_row, reason",
    [
        ("489500,22111,SCOTTIE DOG,N/A,2009-12-02 09:00:00,1.25,13085,United Kingdom",
         "quantity 'N/A' is not a valid integer"),
        ("489500,22111,SCOTTIE DOG,12.5,2009-12-02 09:00:00,1.25,13085,United Kingdom",
         "quantity '12.5' is not a valid integer"),
        ("489501,22111,SCOTTIE DOG,3,yesterday,1.25,13085,United Kingdom",
         "invoice_date 'yesterday' is not a valid timestamp"),
        ("489502,22111,SCOTTIE DOG,3,2009-12-02 09:00:00,one pound,13085,United Kingdom",
         "price 'one pound' is not a valid decimal(18,3)"),
        (",22111,SCOTTIE DOG,3,2009-12-02 09:00:00,1.25,13085,United Kingdom", "invoice is missing"),
        ("489503,22111,SCOTTIE DOG,3,2009-12-02 09:00:00,1.25,ABC,United Kingdom",
         "customer_id 'ABC' is not a valid bigint"),
    ],
)
def test_bad_value_is_quarantined_rest_loads(env, bad_row, reason):
    con, landing = env
    good = "489600,22112,CHOCOLATE HOT WATER BOTTLE,2,2009-12-03 10:00:00,4.95,13086,France"
    write(landing, "transactions/day2.csv.gz", HEADER_II + good + "\n" + bad_row + "\n")
    res = ingest_one(con, landing, "transactions/day2.csv.gz")
    assert (res.status, res.rows_read, res.rows_accepted, res.rows_rejected) == ("loaded", 2, 1, 1)
    (row_number, got_reason, raw_text), = quarantine(con, "transactions/day2.csv.gz")
    assert row_number == 2
    assert got_reason == reason
    assert json.loads(raw_text)["StockCode"] == "22111"
    assert con.execute("SELECT count(*) FROM raw.transactions WHERE invoice = '489600'").fetchone() == (1,)
    baseline_intact(con)


def test_malformed_line_is_quarantined_with_its_text(env):
    con, landing = env
    text = HEADER_II + GOOD_ROWS[0].replace("489434", "500001") + "\n500002,1,2,3,4,5,6,7,8,9\n"
    write(landing, "transactions/ragged.csv", text)
    res = ingest_one(con, landing, "transactions/ragged.csv")
    assert (res.rows_read, res.rows_accepted, res.rows_rejected) == (2, 1, 1)
    (line, reason, raw_text), = quarantine(con, "transactions/ragged.csv")
    assert line == 3 and raw_text == "500002,1,2,3,4,5,6,7,8,9"
    assert reason.startswith("unparseable CSV line (too many columns)")
    baseline_intact(con)


def test_unknown_event_type_is_quarantined(env):
    con, landing = env
    text = (
        "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session\r\n"
        "2019-10-01 00:00:00 UTC,view,1,2,,b,1.00,10,s1\r\n"
        "2019-10-01 00:00:01 UTC,hover,1,2,,b,1.00,10,s1\r\n"
    )
    write(landing, "events/e.csv", text)
    res = ingest_one(con, landing, "events/e.csv", source="events")
    assert (res.rows_accepted, res.rows_rejected) == (1, 1)
    assert quarantine(con, "events/e.csv")[0][1] == "event_type 'hover' is not one of view, cart, remove_from_cart, purchase"


# ------------------------------------------------------------------ unreadable files -> rejected


@pytest.mark.parametrize(
    "rel, content, message",
    [
        ("transactions/empty.csv", b"", "transactions/empty.csv: the file is empty (0 bytes)"),
        ("transactions/header_only.csv", HEADER_II.encode(), "transactions/header_only.csv: header only, no data rows"),
        ("transactions/logo.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
         "transactions/logo.csv: looks binary (NUL bytes), not a CSV text file"),
        ("transactions/notes.csv", b"Dear team,\nplease find the figures attached.\n",
         "transactions/notes.csv: missing required column(s) invoice, stock_code, quantity, invoice_date, price "
         "for source 'transactions'; header found: Dear team"),
        ("transactions/no_price.csv",
         b"Invoice,StockCode,Quantity,InvoiceDate\n1,A,1,2010-01-01 00:00:00\n",
         "transactions/no_price.csv: missing required column(s) price for source 'transactions'; "
         "header found: Invoice, StockCode, Quantity, InvoiceDate"),
        ("transactions/broken.csv.gz", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage-not-deflate",
         "transactions/broken.csv.gz: cannot be"),
    ],
)
def test_unreadable_file_is_rejected_and_nothing_else_changes(env, rel, content, message):
    con, landing = env
    before = con.execute("SELECT count(*) FROM raw.transactions").fetchone()
    write(landing, rel, content)
    res = ingest_one(con, landing, rel)
    assert res.status == "rejected"
    assert res.error.startswith(message), res.error
    assert log_row(con, rel)[0] == "rejected" and log_row(con, rel)[4] == res.error
    assert con.execute("SELECT count(*) FROM raw.transactions").fetchone() == before
    assert quarantine(con, rel) == []
    baseline_intact(con)
    # Not retried forever: the same bytes again are reported, not re-read.
    again = ingest_one(con, landing, rel)
    assert again.status == "pending_rejected" and again.error == res.error


# ------------------------------------------------------------------ idempotency and replacement


def test_same_file_twice_is_a_noop(env):
    con, landing = env
    res = ingest_one(con, landing, "transactions/base.csv")
    assert res.status == "skipped"
    assert con.execute("SELECT count(*) FROM raw.transactions").fetchone() == (4,)
    assert con.execute("SELECT count(*) FROM raw.ingest_log").fetchone() == (1,)


def test_same_bytes_under_another_name_are_not_duplicated(env):
    con, landing = env
    (landing / "transactions" / "copy.csv").write_bytes((landing / "transactions" / "base.csv").read_bytes())
    res = ingest_one(con, landing, "transactions/copy.csv")
    assert res.status == "skipped" and res.error == "identical to transactions/base.csv, already loaded"
    assert con.execute("SELECT count(*) FROM raw.transactions").fetchone() == (4,)


def test_corrected_file_replaces_only_its_own_rows(env):
    con, landing = env
    write(landing, "transactions/day2.csv", HEADER_II + GOOD_ROWS[0].replace("489434", "600001") + "\nbad,1,x,N/A,2010-01-01,1,1,UK\n")
    ingest_one(con, landing, "transactions/day2.csv")
    assert len(quarantine(con, "transactions/day2.csv")) == 1
    write(landing, "transactions/day2.csv", HEADER_II + "\n".join(r.replace("489434", "600002") for r in GOOD_ROWS[:2]) + "\n")
    res = ingest_one(con, landing, "transactions/day2.csv", run_id="run-fix")
    assert (res.status, res.rows_accepted) == ("replaced", 2)
    assert con.execute(
        "SELECT invoice, count(*) FROM raw.transactions WHERE _source_file = 'transactions/day2.csv' GROUP BY 1"
    ).fetchall() == [("600002", 2)]
    assert quarantine(con, "transactions/day2.csv") == []  # the old version's rejects went with it
    baseline_intact(con)


def test_crash_mid_load_leaves_no_partial_rows(env, monkeypatch):
    con, landing = env
    write(landing, "transactions/day3.csv", HEADER_II + GOOD_ROWS[1].replace("489434", "700001") + "\n")

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ingest, "_log", boom)  # fails after the rows were inserted
    with pytest.raises(RuntimeError, match="disk full"):
        ingest_one(con, landing, "transactions/day3.csv")
    assert con.execute("SELECT count(*) FROM raw.transactions WHERE invoice = '700001'").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM raw.transactions").fetchone() == (4,)
    monkeypatch.undo()
    assert ingest_one(con, landing, "transactions/day3.csv").status == "loaded"  # a rerun is safe
    assert con.execute("SELECT count(*) FROM raw.transactions").fetchone() == (5,)


# ------------------------------------------------------------------ discovery


def test_discovery_ignores_temp_files_and_refuses_escapes(tmp_path):
    landing = tmp_path / "landing"
    write(landing, "transactions/a.csv", HEADER_II)
    write(landing, "transactions/b.csv.tmp", HEADER_II)
    write(landing, "transactions/_manifest.csv", HEADER_II)
    write(landing, "transactions/readme.txt", "hi")
    outside = tmp_path / "secret.csv"
    outside.write_text(HEADER_II)
    os.symlink(outside, landing / "transactions" / "link.csv")
    files, refused = ingest.discover_files(landing)
    assert [f.rel for f in files] == ["transactions/a.csv"]
    assert sorted(refused) == [
        "transactions/link.csv: refused, symlinks are not followed in the landing folder",
        "transactions/readme.txt: refused, unsupported file type (expected one of .csv, .csv.gz, .parquet, .xlsx)",
    ]
