"""Raw ingestion: one test per bad-input class, each proving earlier data is untouched."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from ecom_platform.lib import ingest, landing_read
from ecom_platform.lib.ingest import LandingFile
from ecom_platform.lib.ingest import load as ingest_load
from ecom_platform.lib.ingest import typed as ingest_typed

HEADER_II = "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n"
GOOD_ROWS = [
    "489434,85048,15CM CHRISTMAS GLASS BALL 20 LIGHTS,12,2009-12-01 07:45:00,6.95,13085,United Kingdom",
    "489434,79323P,PINK CHERRY LIGHTS,12,2009-12-01 07:45:00,6.75,13085,United Kingdom",
    "C489449,22087,PAPER BUNTING WHITE LACE,-12,2009-12-01 10:33:00,2.95,16321,Australia",
    "489436,POST,POSTAGE,1,2009-12-01 09:06:00,18.00,,United Kingdom",
]


def xlsx_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    buf = io.BytesIO()
    with pd.ExcelWriter(buf) as xw:
        for name, frame in sheets.items():
            frame.to_excel(xw, sheet_name=name, index=False)
    return buf.getvalue()


TX_COLUMNS = ["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID", "Country"]
TX_ROW = ["489434", "85048", "GLASS BALL", 12, "2009-12-01 07:45:00", 6.95, 13085, "United Kingdom"]


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
        "489434",
        "85048",
        12,
        pd.Timestamp("2009-12-01 07:45:00").to_pydatetime(),
        Decimal("6.950"),
        13085,
        "United Kingdom",
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


CP1252_DESCRIPTIONS = [
    "GRANNY’S “BEST” TIN – €5…",  # ’ “ ” – € …: bytes 0x92 0x93 0x94 0x96 0x80 0x85
    "CRÈME BRÛLÉE ½ PRICE",  # Latin-1 range
    "ODD BYTE \x81 AND \x9d",  # unassigned in cp1252: kept as Latin-1 would
]


@pytest.mark.parametrize("rel", ["transactions/win.csv", "transactions/win.csv.gz"])
def test_windows_1252_file_keeps_quotes_and_euro(env, rel):
    con, landing = env
    rows = [f"51000{i},2211{i},{d},1,2009-12-02 09:00:00,1.00,13085,France" for i, d in enumerate(CP1252_DESCRIPTIONS)]
    data = HEADER_II.encode() + b"".join(
        (r.encode("latin-1") if "\x81" in r else r.encode("cp1252")) + b"\n" for r in rows
    )
    assert b"\x92" in data and b"\x80" in data and b"\x85" in data
    path = write(landing, rel, gzip.compress(data, mtime=0) if rel.endswith(".gz") else data)
    res = ingest_one(con, landing, rel)
    assert (res.status, res.rows_accepted, res.rows_rejected) == ("loaded", 3, 0), res.error
    got = con.execute(
        "SELECT description, _source_file, _file_sha256 FROM raw.transactions WHERE _source_file = ? "
        "ORDER BY _row_number",
        [rel],
    ).fetchall()
    assert [g[0] for g in got] == CP1252_DESCRIPTIONS
    # Lineage is the landing file's, not the temporary UTF-8 copy's.
    assert {g[1:] for g in got} == {(rel, hashlib.sha256(path.read_bytes()).hexdigest())}
    baseline_intact(con)


def test_windows_1252_byte_in_the_header_is_not_mistaken_for_data(env):
    con, landing = env
    header = HEADER_II.strip() + ",Note – internal\n"
    write(landing, "transactions/hdr.csv", header + GOOD_ROWS[0].replace("489434", "520001") + ",ok\n", "cp1252")
    res = ingest_one(con, landing, "transactions/hdr.csv")
    assert (res.status, res.rows_accepted) == ("loaded", 1), res.error
    assert con.execute(
        "SELECT invoice FROM raw.transactions WHERE _source_file = 'transactions/hdr.csv'"
    ).fetchall() == [("520001",)]


def test_utf8_file_with_one_windows_1252_line_keeps_both(env):
    """Only the line that is not UTF-8 is read as Windows-1252; the UTF-8 lines are not garbled."""
    con, landing = env
    data = (
        HEADER_II.encode()
        + "530001,1,CAFÉ “NOIR”,1,2009-12-02 09:00:00,1.00,1,France\n".encode()
        + "530002,2,NAÏVE’S MUG,1,2009-12-02 09:00:00,1.00,1,France\n".encode("cp1252")
        + "530003,3,CRÈME €,1,2009-12-02 09:00:00,1.00,1,France\n".encode()
    )
    write(landing, "transactions/mixed_enc.csv", data)
    res = ingest_one(con, landing, "transactions/mixed_enc.csv")
    assert (res.status, res.rows_accepted, res.rows_rejected) == ("loaded", 3, 0)
    assert con.execute(
        "SELECT description FROM raw.transactions WHERE _source_file = 'transactions/mixed_enc.csv' ORDER BY _row_number"
    ).fetchall() == [("CAFÉ “NOIR”",), ("NAÏVE’S MUG",), ("CRÈME €",)]


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 64])
def test_transcoding_streams_in_chunks_without_splitting_characters(tmp_path, chunk):
    lines = [
        b"a,b\r\n",
        "1,é€’ utf8\r\n".encode(),
        "2,’€é cp1252\r\n".encode("cp1252"),
        b"3,plain\r",  # a lone CR line end
        "4,ü\n".encode(),
    ]
    src = tmp_path / "in.csv.gz"
    src.write_bytes(gzip.compress(b"".join(lines)))
    tmp, encoding = landing_read._transcode_to_utf8(src, "x/in.csv.gz", "csv.gz", chunk=chunk)
    try:
        assert Path(tmp).read_bytes().decode("utf-8") == ("a,b\r\n1,é€’ utf8\r\n2,’€é cp1252\r\n3,plain\r4,ü\n")
        assert encoding == "windows-1252"
    finally:
        os.unlink(tmp)


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
        (
            "489500,22111,SCOTTIE DOG,N/A,2009-12-02 09:00:00,1.25,13085,United Kingdom",
            "quantity 'N/A' is not a valid integer",
        ),
        (
            "489500,22111,SCOTTIE DOG,12.5,2009-12-02 09:00:00,1.25,13085,United Kingdom",
            "quantity '12.5' is not a valid integer",
        ),
        (
            "489501,22111,SCOTTIE DOG,3,yesterday,1.25,13085,United Kingdom",
            "invoice_date 'yesterday' is not a valid timestamp",
        ),
        (
            "489502,22111,SCOTTIE DOG,3,2009-12-02 09:00:00,one pound,13085,United Kingdom",
            "price 'one pound' is not a valid decimal(18,3)",
        ),
        (",22111,SCOTTIE DOG,3,2009-12-02 09:00:00,1.25,13085,United Kingdom", "invoice is missing"),
        (
            "489503,22111,SCOTTIE DOG,3,2009-12-02 09:00:00,1.25,ABC,United Kingdom",
            "customer_id 'ABC' is not a valid bigint",
        ),
        # range rules: valid types, absurd values (the row that once overflowed the marts)
        (
            "489504,22111,SCOTTIE DOG,2000000000,2009-12-02 09:00:00,1.25,13085,United Kingdom",
            "quantity 2000000000 is outside the allowed range (absolute value at most 1,000,000, ECOM_MAX_QUANTITY)",
        ),
        (
            "489505,22111,SCOTTIE DOG,3,2009-12-02 09:00:00,999999999999.999,13085,United Kingdom",
            "price 999999999999.999 is outside the allowed range (absolute value at most 1,000,000, ECOM_MAX_PRICE)",
        ),
        (
            "489506,22111,SCOTTIE DOG,2000000000,2009-12-02 09:00:00,999999999999.999,13085,United Kingdom",
            "quantity 2000000000 is outside the allowed range (absolute value at most 1,000,000, ECOM_MAX_QUANTITY); "
            "price 999999999999.999 is outside the allowed range (absolute value at most 1,000,000, ECOM_MAX_PRICE)",
        ),
        (
            "489507,22111,SCOTTIE DOG,3,1899-12-30 00:00:00,1.25,13085,United Kingdom",
            "invoice_date 1899-12-30 00:00:00 is outside the allowed dates (1990-01-01 to 7 days after today, "
            "ECOM_MIN_DATE / ECOM_MAX_DAYS_AHEAD)",
        ),
        (
            "489508,22111,SCOTTIE DOG,3,2999-01-01 00:00:00,1.25,13085,United Kingdom",
            "invoice_date 2999-01-01 00:00:00 is outside the allowed dates (1990-01-01 to 7 days after today, "
            "ECOM_MIN_DATE / ECOM_MAX_DAYS_AHEAD)",
        ),
    ],
)
def test_bad_value_is_quarantined_rest_loads(env, bad_row, reason):
    con, landing = env
    good = "489600,22112,CHOCOLATE HOT WATER BOTTLE,2,2009-12-03 10:00:00,4.95,13086,France"
    write(landing, "transactions/day2.csv.gz", HEADER_II + good + "\n" + bad_row + "\n")
    res = ingest_one(con, landing, "transactions/day2.csv.gz")
    assert (res.status, res.rows_read, res.rows_accepted, res.rows_rejected) == ("loaded", 2, 1, 1)
    ((row_number, got_reason, raw_text),) = quarantine(con, "transactions/day2.csv.gz")
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
    ((row_number, reason, raw_text),) = quarantine(con, "transactions/ragged.csv")
    # The second data record (line 3 of the file, the header is not a record).
    assert row_number == 2 and raw_text == "500002,1,2,3,4,5,6,7,8,9"
    assert reason.startswith("unparseable CSV line (too many columns)")
    baseline_intact(con)


RECORDS = [  # (record position, CSV text); the invoice is the position
    (1, '900001,22111,"SCOTTIE DOG\nHOT WATER BOTTLE",1,2009-12-02 09:00:00,4.95,13085,France'),
    (2, "900002,22112,RAGGED,1,2009-12-02 09:00:00,4.95,13085,France,extra"),
    (3, "900003,22113,BAD QUANTITY,N/A,2009-12-02 09:00:00,4.95,13085,France"),
    (4, "900004,22114,GOOD,2,2009-12-02 09:00:00,4.95,13085,France"),
    (5, "900005,22115,TOO FEW"),
    (6, "900006,22116,GOOD,3,2009-12-02 09:00:00,4.95,13085,France"),
]


def lineage(con, rel):
    rows = con.execute(
        "SELECT invoice, _row_number FROM raw.transactions WHERE _source_file = ? ORDER BY _row_number", [rel]
    ).fetchall()
    return [(int(inv), n) for inv, n in rows]


def test_row_number_is_the_record_position_accepted_or_quarantined(env):
    """Header, a quoted line break and a blank line are not records; ragged lines and bad values are."""
    con, landing = env
    lines = [text for _, text in RECORDS]
    lines.insert(1, "")  # a blank line before record 2
    write(landing, "transactions/mixed.csv", HEADER_II + "\n".join(lines) + "\n")
    res = ingest_one(con, landing, "transactions/mixed.csv")
    assert (res.rows_read, res.rows_accepted, res.rows_rejected) == (6, 3, 3)
    assert lineage(con, "transactions/mixed.csv") == [(900001, 1), (900004, 4), (900006, 6)]
    got = quarantine(con, "transactions/mixed.csv")
    assert [(n, reason.split(":")[0]) for n, reason, _ in got] == [
        (2, "unparseable CSV line (too many columns)"),
        (3, "quantity 'N/A' is not a valid integer"),
        (5, "unparseable CSV line (missing columns)"),
    ]
    assert got[0][2] == RECORDS[1][1] and json.loads(got[1][2])["Invoice"] == "900003"
    # Corrected file: the formerly quarantined records keep their numbers, nobody moves.
    fixed = [text.replace(",extra", "").replace("N/A", "1") for pos, text in RECORDS if pos != 5]
    fixed.insert(4, "900005,22115,TOO FEW,1,2009-12-02 09:00:00,4.95,13085,France")
    write(landing, "transactions/mixed.csv", HEADER_II + "\n".join(fixed) + "\n")
    assert ingest_one(con, landing, "transactions/mixed.csv").status == "replaced"
    assert lineage(con, "transactions/mixed.csv") == [(900000 + n, n) for n in range(1, 7)]
    assert quarantine(con, "transactions/mixed.csv") == []
    baseline_intact(con)


def test_row_numbers_on_a_large_crlf_file_never_collide(env):
    """Several 1 MiB blocks, CRLF line ends, blank lines and unparseable lines in between."""
    con, landing = env
    n = 30_000
    bad = {7, 12_345, 12_346, 29_999}
    lines = [HEADER_II.strip()]
    for i in range(1, n + 1):
        if i in bad:
            lines.append(f"{900000 + i},X,RAGGED {i},1,2009-12-02 09:00:00,1.00,1,France,extra,more")
        else:
            lines.append(f"{900000 + i},X,LINE {i} {'X' * 40},1,2009-12-02 09:00:00,1.00,1,France")
        if i % 9_000 == 0:
            lines.append("")
    write(landing, "transactions/big.csv", "\r\n".join(lines) + "\r\n")
    res = ingest_one(con, landing, "transactions/big.csv")
    assert (res.rows_read, res.rows_rejected) == (n, len(bad))
    accepted = lineage(con, "transactions/big.csv")
    assert all(inv - 900000 == num for inv, num in accepted)
    quarantined = [(int(text.split(",")[0]) - 900000, num) for num, _, text in quarantine(con, "transactions/big.csv")]
    assert quarantined == [(i, i) for i in sorted(bad)]
    assert sorted([num for _, num in accepted] + [num for _, num in quarantined]) == list(range(1, n + 1))


@pytest.mark.parametrize(
    "text, wanted, expected",
    [
        # a quoted line break is not a line; "bad" is line 4 after 1 blank, "bad2" line 8 after 3
        ('h1,h2\r\n\r\na,"x\r\n\r\ny"\r\nbad\r\n\r\n\r\nb,c\r\nbad2\r\nc,d\r\n', [4, 8], {4: 1, 8: 3}),
        # a stray quote inside an unquoted field (12" RULER) opens nothing
        ('h1,h2\n"a","b"\nc,d\n4,5 "6,7\n\nbad\ne,f\n', [4, 6], {4: 0, 6: 1}),
    ],
)
def test_blank_lines_are_counted_as_duckdb_numbers_lines(tmp_path, text, wanted, expected):
    path = tmp_path / "f.csv"
    path.write_bytes(text.encode())
    con = duckdb.connect()
    landing_read._read_csv(con, str(path), "f.csv")
    assert [
        line for (line,) in con.execute("SELECT DISTINCT line FROM _land_rejects ORDER BY line").fetchall()
    ] == wanted
    assert landing_read._blank_lines_before(str(path), False, wanted, '"') == expected


def test_stray_quote_keeps_row_numbers(env):
    con, landing = env
    ok = "{},22114,{},1,2009-12-02 09:00:00,2.95,13085,France"
    lines = [
        ok.format(900001, "PLAIN"),
        ok.format(900002, '12" RULER'),
        "",
        "900003,ragged,line",
        ok.format(900004, "AFTER"),
    ]
    write(landing, "transactions/quote.csv", HEADER_II + "\n".join(lines) + "\n")
    res = ingest_one(con, landing, "transactions/quote.csv")
    assert (res.rows_read, res.rows_rejected) == (4, 1)
    assert lineage(con, "transactions/quote.csv") == [(900001, 1), (900002, 2), (900004, 4)]
    assert [n for n, _, _ in quarantine(con, "transactions/quote.csv")] == [3]


@pytest.mark.parametrize("quoted", [False, True])
@pytest.mark.parametrize("gz", [False, True])
def test_over_long_line_is_quarantined_rest_loads(env, quoted, gz):
    """A 3 MB line (over DuckDB's 2,000,000-byte line limit) among the lines its dialect
    guess reads: that one record is quarantined at its position, the others load."""
    con, landing = env
    field = "X" * 3_000_000
    long = f"910006,22116,{chr(34) + field + chr(34) if quoted else field},1,2009-12-02 09:00:00,4.95,13085,France"
    rows = [f"91000{i},2211{i},GOOD {i},{i},2009-12-02 09:00:00,1.25,13085,France" for i in range(1, 6)]
    rel = "transactions/long.csv" + (".gz" if gz else "")
    write(landing, rel, HEADER_II + "\n".join(rows + [long, rows[0].replace("910001", "910007")]) + "\n")
    res = ingest_one(con, landing, rel)
    assert (res.status, res.rows_read, res.rows_accepted, res.rows_rejected) == ("loaded", 7, 6, 1)
    ((row_number, reason, raw_text),) = quarantine(con, rel)
    assert row_number == 6
    assert reason.startswith("unparseable CSV line (line size over maximum)") and "2000000" in reason
    assert raw_text.startswith("910006,22116,") and len(raw_text) <= 10_000  # the line's start only
    assert lineage(con, rel) == [(910001, 1), (910002, 2), (910003, 3), (910004, 4), (910005, 5), (910007, 7)]
    baseline_intact(con)


@pytest.mark.parametrize(
    "encoding,bom,suffix",
    [
        ("utf-16-le", b"\xff\xfe", ".tsv"),  # Excel's "Unicode Text": UTF-16 LE, tabs, CRLF
        ("utf-16-be", b"\xfe\xff", ".csv"),
        ("utf-16-le", b"", ".csv"),  # no byte order mark
        ("utf-32-le", b"\xff\xfe\x00\x00", ".csv"),
    ],
)
def test_utf16_and_utf32_files_load(env, encoding, bom, suffix):
    con, landing = env
    sep = "\t" if suffix == ".tsv" else ","
    lines = [
        HEADER_II.strip(),
        "920001,22111,CAFÉ CRÈME MUG €,2,2009-12-02 09:00:00,4.95,13085,Österreich",
        "920002,22112,“QUOTED” BOWL,1,2009-12-02 09:00:00,2.10,,France",
    ]
    text = "\r\n".join(line.replace(",", sep) for line in lines) + "\r\n"
    rel = "transactions/unicode" + suffix
    write(landing, rel, bom + text.encode(encoding))
    res = ingest_one(con, landing, rel)
    assert (res.status, res.rows_accepted, res.rows_rejected) == ("loaded", 2, 0), res.error
    assert res.read_as == f"{'UTF-32' if '32' in encoding else 'UTF-16' if bom else encoding.upper()} text"
    rows = con.execute(
        "SELECT invoice, description, price, customer_id, country FROM raw.transactions "
        "WHERE _source_file = ? ORDER BY _row_number",
        [rel],
    ).fetchall()
    assert rows == [
        ("920001", "CAFÉ CRÈME MUG €", Decimal("4.950"), 13085, "Österreich"),
        ("920002", "“QUOTED” BOWL", Decimal("2.100"), None, "France"),
    ]
    baseline_intact(con)


def test_broken_utf16_is_rejected_with_the_byte(env):
    con, landing = env
    data = b"\xff\xfe" + (HEADER_II + GOOD_ROWS[0] + "\n").encode("utf-16-le") + b"\x00"  # an odd last byte
    write(landing, "transactions/cut.csv", data)
    res = ingest_one(con, landing, "transactions/cut.csv")
    assert res.status == "rejected"
    assert res.error.startswith("transactions/cut.csv: starts as UTF-16 text but is not valid UTF-16 about byte ")
    baseline_intact(con)


DECIMAL_COMMA = (
    "Invoice;StockCode;Description;Quantity;InvoiceDate;Price;Customer ID;Country\n"
    "930001;85048;KUGEL;12;01.12.2009 07:45;2,55;13085;Germany\n"
    "930002;85049;LAMPE;1;13.12.2009 17:05:30;1.234,50;13085;Germany\n"
    "930003;85050;TASSE;-2;14.12.2009;18;;Germany\n"
    "930004;85051;TELLER;3;15.12.2009 08:00;-0,5;13086;Germany\n"
    "930005;85052;KORK;1.000;15.12.2009 08:00;0,01;13086;Germany\n"
)


def test_decimal_comma_file_loads_with_the_right_prices(env):
    """European spreadsheets: ';' delimiter, '2,55' and '1.234,50', dd.mm.yyyy dates."""
    con, landing = env
    write(landing, "transactions/de.csv", DECIMAL_COMMA)
    res = ingest_one(con, landing, "transactions/de.csv")
    assert (res.status, res.rows_accepted, res.rows_rejected) == ("loaded", 5, 0)
    assert res.read_as == "decimal comma (2,55 read as 2.55)"
    rows = con.execute(
        "SELECT invoice, quantity, price, CAST(invoice_date AS VARCHAR) FROM raw.transactions "
        "WHERE _source_file = 'transactions/de.csv' ORDER BY _row_number"
    ).fetchall()
    assert rows == [
        ("930001", 12, Decimal("2.550"), "2009-12-01 07:45:00"),
        ("930002", 1, Decimal("1234.500"), "2009-12-13 17:05:30"),
        ("930003", -2, Decimal("18.000"), "2009-12-14 00:00:00"),
        ("930004", 3, Decimal("-0.500"), "2009-12-15 08:00:00"),
        ("930005", 1000, Decimal("0.010"), "2009-12-15 08:00:00"),
    ]  # a thousands point
    baseline_intact(con)


def test_a_file_mixing_decimal_comma_and_point_is_not_guessed(env):
    """'2,55' beside '2.55': which is right cannot be told, so the comma values are
    quarantined with their text (never read as 255 or 2.55 by guess)."""
    con, landing = env
    text = DECIMAL_COMMA.replace("1.234,50", "1234.50")
    write(landing, "transactions/mixed.csv", text)
    res = ingest_one(con, landing, "transactions/mixed.csv")
    assert (res.status, res.rows_accepted, res.rows_rejected, res.read_as) == ("loaded", 2, 3, None)
    assert [(n, r) for n, r, _ in quarantine(con, "transactions/mixed.csv")] == [
        (1, "price '2,55' is not a valid decimal(18,3)"),
        (4, "price '-0,5' is not a valid decimal(18,3)"),
        (5, "price '0,01' is not a valid decimal(18,3)"),
    ]
    # a decimal point file keeps its thousands ("1,234" is not a decimal comma)
    write(
        landing,
        "transactions/us.csv",
        HEADER_II
        + '940001,1,MUG,2,2009-12-02 09:00:00,"1,234.50",1,UK\n'
        + "940002,2,BOWL,1,2009-12-02 09:00:00,2.5,1,UK\n",
    )
    res = ingest_one(con, landing, "transactions/us.csv")
    assert res.read_as is None


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
    assert (
        quarantine(con, "events/e.csv")[0][1]
        == "event_type 'hover' is not one of view, cart, remove_from_cart, purchase"
    )


# ------------------------------------------------------------------ unreadable files -> rejected


@pytest.mark.parametrize(
    "rel, content, message",
    [
        ("transactions/empty.csv", b"", "transactions/empty.csv: the file is empty (0 bytes)"),
        ("transactions/header_only.csv", HEADER_II.encode(), "transactions/header_only.csv: header only, no data rows"),
        (
            "transactions/logo.csv",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
            "transactions/logo.csv: looks binary (NUL bytes), not a CSV text file",
        ),
        (
            "transactions/notes.csv",
            b"Dear team,\nplease find the figures attached.\n",
            "transactions/notes.csv: missing required column(s) invoice, stock_code, quantity, invoice_date, price "
            "for source 'transactions'; header found: Dear team",
        ),
        (
            "transactions/no_price.csv",
            b"Invoice,StockCode,Quantity,InvoiceDate\n1,A,1,2010-01-01 00:00:00\n",
            "transactions/no_price.csv: missing required column(s) price for source 'transactions'; "
            "header found: Invoice, StockCode, Quantity, InvoiceDate",
        ),
        (
            "transactions/broken.csv.gz",
            b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage-not-deflate",
            "transactions/broken.csv.gz: cannot be",
        ),
        (
            "transactions/corrupt.parquet",
            b"PAR1" + b"\x00garbage" * 20 + b"PAR1",
            "transactions/corrupt.parquet: cannot be read as Parquet: Invalid Input Error: Footer length error "
            "in file 'transactions/corrupt.parquet'",
        ),
        (
            "transactions/export.parquet",
            HEADER_II.encode() + GOOD_ROWS[0].encode(),
            "transactions/export.parquet: cannot be read as Parquet: Invalid Input Error: No magic bytes found "
            "at end of file 'transactions/export.parquet'",
        ),
        (
            "transactions/renamed.xlsx",
            HEADER_II.encode() + GOOD_ROWS[0].encode(),
            "transactions/renamed.xlsx: cannot be read as XLSX: File is not a zip file",
        ),
        (
            "transactions/two_layouts.xlsx",
            xlsx_bytes(
                {
                    "Jan": pd.DataFrame([TX_ROW], columns=TX_COLUMNS),
                    "Feb": pd.DataFrame([TX_ROW[:2] + TX_ROW[3:]], columns=TX_COLUMNS[:2] + TX_COLUMNS[3:]),
                }
            ),
            "transactions/two_layouts.xlsx: sheet 'Feb' has header ['Invoice', 'StockCode', 'Quantity', "
            "'InvoiceDate', 'Price', 'Customer ID', 'Country'] but the first sheet has ['Invoice', 'StockCode', "
            "'Description', 'Quantity', 'InvoiceDate', 'Price', 'Customer ID', 'Country']; all sheets of one "
            "workbook must share a layout",
        ),
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


def test_same_bytes_in_another_source_folder_load_into_that_source(env):
    """The same bytes under products/ and customers/ land in two different tables: not a copy."""
    con, landing = env
    text = "customer_id,stock_code,description\n17850,85123A,HEART\n"
    for rel in ("products/a.csv", "customers/a.csv", "products/b.csv"):
        write(landing, rel, text)
    assert ingest_one(con, landing, "products/a.csv", source="products").status == "loaded"
    res = ingest_one(con, landing, "customers/a.csv", source="customers")
    assert (res.status, res.rows_accepted, res.error) == ("loaded", 1, None)
    assert con.execute("SELECT customer_id, _source_file FROM raw.customers").fetchall() == [(17850, "customers/a.csv")]
    res = ingest_one(con, landing, "products/b.csv", source="products")
    assert (res.status, res.error) == ("skipped", "identical to products/a.csv, already loaded")
    assert con.execute("SELECT stock_code, _source_file FROM raw.products").fetchall() == [("85123A", "products/a.csv")]


def test_corrected_file_replaces_only_its_own_rows(env):
    con, landing = env
    write(
        landing,
        "transactions/day2.csv",
        HEADER_II + GOOD_ROWS[0].replace("489434", "600001") + "\nbad,1,x,N/A,2010-01-01,1,1,UK\n",
    )
    ingest_one(con, landing, "transactions/day2.csv")
    assert len(quarantine(con, "transactions/day2.csv")) == 1
    write(
        landing,
        "transactions/day2.csv",
        HEADER_II + "\n".join(r.replace("489434", "600002") for r in GOOD_ROWS[:2]) + "\n",
    )
    res = ingest_one(con, landing, "transactions/day2.csv", run_id="run-fix")
    assert (res.status, res.rows_accepted) == ("replaced", 2)
    assert con.execute(
        "SELECT invoice, count(*) FROM raw.transactions WHERE _source_file = 'transactions/day2.csv' GROUP BY 1"
    ).fetchall() == [("600002", 2)]
    assert quarantine(con, "transactions/day2.csv") == []  # the old version's rejects went with it
    baseline_intact(con)


def version(invoice: str, n: int = 2) -> str:
    return HEADER_II + "\n".join(r.replace("489434", invoice) for r in GOOD_ROWS[:n]) + "\n"


def rows_of(con, rel):
    return con.execute(
        "SELECT invoice, count(*), min(_file_sha256) FROM raw.transactions WHERE _source_file = ? GROUP BY 1 ORDER BY 1",
        [rel],
    ).fetchall()


def test_going_back_to_an_earlier_version_reloads_it(env):
    """a.csv v1 -> v2 -> v1: the warehouse must end with v1's rows, not keep v2's."""
    con, landing = env
    rel = "transactions/a.csv"
    v1 = write(landing, rel, version("810001")).read_bytes()
    assert ingest_one(con, landing, rel).status == "loaded"
    write(landing, rel, version("810002", 1))
    assert ingest_one(con, landing, rel).status == "replaced"
    write(landing, rel, v1)
    res = ingest_one(con, landing, rel, run_id="run-back")
    assert (res.status, res.rows_accepted) == ("replaced", 2)
    assert rows_of(con, rel) == [("810001", 2, hashlib.sha256(v1).hexdigest())]
    assert ingest_one(con, landing, rel).status == "skipped"  # and now it is unchanged
    assert con.execute(
        "SELECT status, rows_accepted, run_id FROM raw.ingest_log WHERE file_name = ? ORDER BY finished_at", [rel]
    ).fetchall() == [("loaded", 2, "run-x"), ("replaced", 1, "run-x"), ("replaced", 2, "run-back")]
    baseline_intact(con)


def test_corrected_file_equal_to_another_file_drops_its_old_rows(env):
    """b.csv is rewritten with other.csv's bytes: b's old rows go, other's stay, nothing twice."""
    con, landing = env
    other = write(landing, "transactions/other.csv", version("820001")).read_bytes()
    write(landing, "transactions/b.csv", version("820002", 1))
    assert ingest_one(con, landing, "transactions/other.csv").status == "loaded"
    assert ingest_one(con, landing, "transactions/b.csv").status == "loaded"
    write(landing, "transactions/b.csv", other)
    res = ingest_one(con, landing, "transactions/b.csv", run_id="run-same")
    assert (res.status, res.rows_read) == ("replaced", 0)
    note = (
        "identical to transactions/other.csv, already loaded (not loaded twice); the 1 rows and quarantine "
        "entries of the previous version of transactions/b.csv were removed"
    )
    assert res.error == note
    assert log_row(con, "transactions/b.csv") == ("replaced", 0, 0, 0, note)
    assert rows_of(con, "transactions/b.csv") == []
    assert rows_of(con, "transactions/other.csv") == [("820001", 2, hashlib.sha256(other).hexdigest())]
    assert ingest_one(con, landing, "transactions/b.csv").status == "skipped"
    # other.csv changes: b.csv's bytes are no longer in the warehouse, so b.csv now loads them.
    write(landing, "transactions/other.csv", version("820003", 1))
    assert ingest_one(con, landing, "transactions/other.csv").status == "replaced"
    assert ingest_one(con, landing, "transactions/b.csv").status == "loaded"
    assert rows_of(con, "transactions/b.csv") == [("820001", 2, hashlib.sha256(other).hexdigest())]
    assert rows_of(con, "transactions/other.csv")[0][:2] == ("820003", 1)
    assert con.execute(
        "SELECT count(*) FROM (SELECT 1 FROM raw.transactions GROUP BY _file_sha256, _row_number HAVING count(*) > 1)"
    ).fetchone() == (0,)
    baseline_intact(con)


def test_new_name_for_bytes_no_longer_loaded_is_loaded(env):
    """copy.csv holds base.csv's first bytes, but base.csv has since been corrected."""
    con, landing = env
    first = (landing / "transactions" / "base.csv").read_bytes()
    write(landing, "transactions/base.csv", version("830001", 1))
    assert ingest_one(con, landing, "transactions/base.csv").status == "replaced"
    write(landing, "transactions/copy.csv", first)
    res = ingest_one(con, landing, "transactions/copy.csv")
    assert (res.status, res.rows_accepted, res.error) == ("loaded", 4, None)
    assert rows_of(con, "transactions/copy.csv")[0][:2] == ("489434", 2)


def test_rejected_bytes_under_a_new_name_are_rejected_under_that_name(env):
    con, landing = env
    write(landing, "transactions/empty.csv", b"")
    assert ingest_one(con, landing, "transactions/empty.csv").status == "rejected"
    write(landing, "transactions/empty2.csv", b"")
    res = ingest_one(con, landing, "transactions/empty2.csv")
    assert (res.status, res.error) == ("rejected", "transactions/empty2.csv: the file is empty (0 bytes)")
    assert ingest_one(con, landing, "transactions/empty2.csv").status == "pending_rejected"


def test_rejected_correction_keeps_the_loaded_version(env):
    """v1 loaded, v2 rejected (v1's rows stay), v1 back: nothing to do; v2 again: not retried."""
    con, landing = env
    rel = "transactions/day.csv"
    v1 = write(landing, rel, version("840001")).read_bytes()
    ingest_one(con, landing, rel)
    write(landing, rel, HEADER_II)
    assert ingest_one(con, landing, rel).status == "rejected"
    assert rows_of(con, rel)[0][:2] == ("840001", 2)
    write(landing, rel, v1)
    assert ingest_one(con, landing, rel).status == "skipped"
    write(landing, rel, HEADER_II)
    assert ingest_one(con, landing, rel).status == "pending_rejected"
    assert rows_of(con, rel)[0][:2] == ("840001", 2)


def test_crash_mid_load_leaves_no_partial_rows(env, monkeypatch):
    con, landing = env
    write(landing, "transactions/day3.csv", HEADER_II + GOOD_ROWS[1].replace("489434", "700001") + "\n")

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ingest_load, "_log", boom)  # fails after the rows were inserted
    with pytest.raises(RuntimeError, match="disk full"):
        ingest_one(con, landing, "transactions/day3.csv")
    assert con.execute("SELECT count(*) FROM raw.transactions WHERE invoice = '700001'").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM raw.transactions").fetchone() == (4,)
    monkeypatch.undo()
    assert ingest_one(con, landing, "transactions/day3.csv").status == "loaded"  # a rerun is safe
    assert con.execute("SELECT count(*) FROM raw.transactions").fetchone() == (5,)


CRASH_CHILD = textwrap.dedent(
    """
    import os, sys
    import duckdb
    from pathlib import Path
    from ecom_platform.lib import ingest, landing_read
    from ecom_platform.lib.ingest import load as ingest_load

    warehouse, landing, rel = sys.argv[1:4]
    con = duckdb.connect(warehouse)

    def die(con, res, *args):
        # Inside the file's transaction, after its rows and quarantine were inserted.
        n = con.execute("SELECT count(*) FROM raw.transactions WHERE _source_file = ?", [rel]).fetchone()[0]
        print(f"inserted {n}", flush=True)
        os._exit(17)

    ingest_load._log = die
    ingest.ingest_file(con, ingest.LandingFile("transactions", Path(landing) / rel, rel), "run-crash")
    print("not reached", flush=True)
    """
)


def test_process_killed_mid_load_leaves_nothing_and_rerun_loads(env, tmp_path):
    """A real process dies (os._exit, no cleanup) inside the load transaction of a real file."""
    con, landing = env
    rows = [
        f"{860000 + i},2211{i % 10},ITEM {i},{i % 7 + 1},2009-12-0{i % 9 + 1} 10:00:00,1.25,{13000 + i % 50},France"
        for i in range(20_000)
    ]
    rows[100] = rows[100].replace(",1.25,", ",free,")  # one quarantined record too
    rel = "transactions/big_day.csv.gz"
    write(landing, rel, HEADER_II + "\n".join(rows) + "\n")
    con.close()  # DuckDB lets one process write a database file at a time
    child = subprocess.run(
        [sys.executable, "-c", CRASH_CHILD, str(tmp_path / "wh.duckdb"), str(landing), rel],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert (child.returncode, child.stdout) == (17, "inserted 19999\n"), child.stderr
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    try:
        assert con.execute("SELECT count(*) FROM raw.transactions WHERE _source_file = ?", [rel]).fetchone() == (0,)
        assert quarantine(con, rel) == []
        assert log_row(con, rel) is None
        baseline_intact(con)
        res = ingest_one(con, landing, rel, run_id="run-rerun")
        assert (res.status, res.rows_accepted, res.rows_rejected) == ("loaded", 19_999, 1)
        assert con.execute(
            "SELECT count(*), count(DISTINCT _row_number), sum(quantity) FROM raw.transactions WHERE _source_file = ?",
            [rel],
        ).fetchone() == (19_999, 19_999, sum(i % 7 + 1 for i in range(20_000) if i != 100))
        assert [r[:2] for r in quarantine(con, rel)] == [(101, "price 'free' is not a valid decimal(18,3)")]
        assert log_row(con, rel)[:4] == ("loaded", 20_000, 19_999, 1)
        baseline_intact(con)
    finally:
        con.close()


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
        "transactions/readme.txt: refused, unsupported file type (expected one of .csv.gz, .csv, .tsv, .parquet, "
        ".xlsx); a tab-separated text export (Excel's Unicode Text) loads renamed to .tsv",
    ]


# Values at the edges of the typing rules: bare and signed integers, floats written as
# ids, hex / exponent / underscore forms DuckDB would cast but the rules refuse, padding,
# time-zone suffixes, other date formats, and every NULL token in several spellings.
_EDGE_VALUES = [
    "12",
    "+12",
    "-12",
    "0012",
    "12.5",
    "12.0",
    "12.00",
    "1_000",
    "0x1F",
    "1e3",
    "--5",
    "5-",
    "+-5",
    "-",
    "+",
    "1-2",
    " 12",
    "12 ",
    "9223372036854775808",
    "2147483648",
    "1,000",
    "٣",
    "17850.0",
    "0.82",
    " 1.10 ",
    "abc",
    "2025-11-01 00:04:50 UTC",
    "2025-11-01 00:04:50  UTC",
    "2025-11-01T00:04:50Z",
    "2025-11-01 00:04:50 utc",
    "2025-11-01 00:04:50+02",
    "2025-11-01",
    " 2025-11-01 10:00 ",
    "11/01/2025 10:00",
    "01.11.2025 10:00",
    "01.11.2025 10:00:05",
    "01.11.2025",
    "12/1/2010 8:26",
    "2025-13-01 00:00:00",
    "2025-12-32",
    *[v for t in ingest.NULL_TOKENS for v in (t, t.upper(), f"  {t} ", t.title())],
    None,
]
_EDGE_TYPES = ["VARCHAR", "INTEGER", "BIGINT", "DECIMAL(18,2)", "DECIMAL(18,3)", "TIMESTAMP", "DATE"]


@pytest.mark.parametrize("sql_type", _EDGE_TYPES)
def test_fast_typing_gives_what_the_general_rules_give(sql_type):
    con = duckdb.connect()
    con.execute("CREATE TABLE v (x VARCHAR)")
    con.executemany("INSERT INTO v VALUES (?)", [[x] for x in _EDGE_VALUES])
    typed, null = ingest_typed._typed_and_null('"x"', sql_type)
    rows = con.execute(
        f"""
        WITH a AS (SELECT x, {typed} AS t, {ingest_typed._typed_expr('"x"', sql_type)} AS want_t,
                          {ingest_typed._is_null_token('"x"')} AS want_n FROM v)
        SELECT x, t, want_t, {null.format(t="t")} AS n, want_n FROM a
        """
    ).fetchall()
    assert len(rows) == len(_EDGE_VALUES)
    wrong = [r for r in rows if r[1] != r[2] or r[3] != r[4]]
    assert not wrong, wrong
    # the shortcut for non-text types rests on this: no NULL token types as a value
    if sql_type != "VARCHAR":
        tokens = [r for r in rows if r[4] and r[2] is not None]
        assert not tokens, tokens
    # and the list does reach both sides of every rule
    assert any(r[1] is None for r in rows) and any(r[1] is not None for r in rows)
    assert any(r[3] for r in rows) and not all(r[3] for r in rows)


def test_what_passes_the_range_rules_cannot_overflow_a_line_amount(env):
    """The largest row the rules let through, multiplied as the marts do, fits DECIMAL(18, 3);
    the bounds are configurable."""
    con, landing = env
    edge = "489700,22111,EDGE,-1000000,2009-12-02 09:00:00,1000000.000,13085,United Kingdom"
    write(landing, "transactions/edge.csv", HEADER_II + edge + "\n")
    assert ingest_one(con, landing, "transactions/edge.csv").rows_accepted == 1
    amount = con.execute(
        "SELECT CAST(quantity * price AS DECIMAL(18, 3)) FROM raw.transactions WHERE invoice = '489700'"
    ).fetchone()[0]
    assert amount == Decimal("-1000000000000.000")
    tight = ingest.Ranges(max_quantity=10, max_price=5.0, min_date="2009-12-02", max_days_ahead=1)
    write(landing, "transactions/tight.csv", HEADER_II + "489701,22111,X,11,2009-12-02 09:00:00,6,13085,UK\n")
    res = ingest.ingest_file(
        con, LandingFile("transactions", landing / "transactions/tight.csv", "transactions/tight.csv"), "run-t", tight
    )
    assert (res.rows_accepted, res.rows_rejected) == (0, 1)
    assert "at most 10," in quarantine(con, "transactions/tight.csv")[0][1]
    baseline_intact(con)
