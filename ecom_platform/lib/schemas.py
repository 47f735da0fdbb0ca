"""The bronze contract: the columns of every ``raw.*`` table.

One place that ingestion, dbt sources and tests read. Pure data, no Dagster imports.

Each source lists its typed columns. ``aliases`` maps the normalised header of a
landing file (lower case, spaces/underscores/dashes removed) to the column, so
Online Retail I (``InvoiceNo, UnitPrice, CustomerID``) and II (``Invoice, Price,
Customer ID``) both land in the same table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Lineage columns added to every raw source table.
LINEAGE_COLUMNS: list[tuple[str, str]] = [
    ("_source_file", "VARCHAR"),  # path relative to the landing folder
    ("_source_sheet", "VARCHAR"),  # XLSX sheet name, NULL for other formats
    ("_file_sha256", "VARCHAR"),  # sha256 of the file as it lay in the landing folder
    ("_row_number", "BIGINT"),  # 1-based record position in the file: header and blank lines excluded, across sheets
    ("_ingested_at", "TIMESTAMP"),
    ("_run_id", "VARCHAR"),
]


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str
    required: bool = False
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Source:
    name: str
    columns: tuple[Column, ...]
    # Column holding the business date (the day window of a refresh), if any.
    date_column: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def table(self) -> str:
        return f"raw.{self.name}"

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


@dataclass(frozen=True)
class Ranges:
    """The sane window of a value at ingestion: a row outside it is quarantined with the
    reason, the rest of its file loads. With these bounds no row that passes can overflow
    the money arithmetic downstream: |quantity| <= 10^6 times |price| <= 10^6 (3 decimals)
    is at most 10^12, 16 digits of a DECIMAL(18, 3) line amount. Configurable
    (``ECOM_MAX_QUANTITY``, ``ECOM_MAX_PRICE``, ``ECOM_MIN_DATE``, ``ECOM_MAX_DAYS_AHEAD``)."""

    max_quantity: int = 1_000_000  # |quantity| of an order line
    max_price: float = 1_000_000.0  # |price| of an order line or an event (negative: adjustments)
    min_date: str = "1990-01-01"  # invoice_date / event_time on or after
    max_days_ahead: int = 7  # ... and at most this many days after today


DEFAULT_RANGES = Ranges()


def normalise_header(name: str) -> str:
    """``'Customer ID'`` -> ``'customerid'``; ``'InvoiceNo'`` -> ``'invoiceno'``."""
    return "".join(ch for ch in str(name).strip().lower() if ch.isalnum())


TRANSACTIONS = Source(
    name="transactions",
    date_column="invoice_date",
    columns=(
        Column("invoice", "VARCHAR", True, ("invoice", "invoiceno")),
        Column("stock_code", "VARCHAR", True, ("stockcode",)),
        Column("description", "VARCHAR", False, ("description",)),
        Column("quantity", "INTEGER", True, ("quantity",)),
        Column("invoice_date", "TIMESTAMP", True, ("invoicedate",)),
        Column("price", "DECIMAL(18,3)", True, ("price", "unitprice")),
        Column("customer_id", "BIGINT", False, ("customerid",)),
        Column("country", "VARCHAR", False, ("country",)),
    ),
)

EVENTS = Source(
    name="events",
    date_column="event_time",
    columns=(
        # Stored in UTC; the files say e.g. '2019-10-01 00:00:00 UTC'.
        Column("event_time", "TIMESTAMP", True, ("eventtime",)),
        Column("event_type", "VARCHAR", True, ("eventtype",)),
        Column("product_id", "BIGINT", True, ("productid",)),
        Column("category_id", "BIGINT", False, ("categoryid",)),
        Column("category_code", "VARCHAR", False, ("categorycode",)),
        Column("brand", "VARCHAR", False, ("brand",)),
        Column("price", "DECIMAL(18,2)", False, ("price",)),
        Column("user_id", "BIGINT", True, ("userid",)),
        Column("user_session", "VARCHAR", False, ("usersession",)),
    ),
)

CUSTOMERS = Source(
    name="customers",
    columns=(
        Column("customer_id", "BIGINT", True, ("customerid", "id")),
        Column("full_name", "VARCHAR", False, ("fullname", "name")),
        Column("email", "VARCHAR", False, ("email",)),
        Column("birth_date", "DATE", False, ("birthdate", "dateofbirth")),
        Column("income", "DECIMAL(18,2)", False, ("income", "annualincome")),
        Column("household_size", "INTEGER", False, ("householdsize", "household")),
        Column("signup_date", "DATE", False, ("signupdate",)),
        Column("channel", "VARCHAR", False, ("channel", "acquisitionchannel")),
        Column("country", "VARCHAR", False, ("country",)),
    ),
)

PRODUCTS = Source(
    name="products",
    columns=(
        Column("stock_code", "VARCHAR", True, ("stockcode",)),
        Column("product_id", "BIGINT", False, ("productid",)),
        Column("description", "VARCHAR", False, ("description",)),
        Column("category", "VARCHAR", False, ("category",)),
        Column("brand", "VARCHAR", False, ("brand",)),
        Column("list_price", "DECIMAL(18,2)", False, ("listprice", "price")),
    ),
)

SOURCES: dict[str, Source] = {s.name: s for s in (TRANSACTIONS, EVENTS, CUSTOMERS, PRODUCTS)}

EVENT_TYPES = ("view", "cart", "remove_from_cart", "purchase")

INGEST_LOG_DDL = """
CREATE TABLE IF NOT EXISTS raw.ingest_log (
    source        VARCHAR NOT NULL,
    file_name     VARCHAR NOT NULL,   -- path relative to the landing folder
    file_sha256   VARCHAR NOT NULL,
    file_bytes    BIGINT,
    rows_read     BIGINT,
    rows_accepted BIGINT,
    rows_rejected BIGINT,
    status        VARCHAR NOT NULL,   -- loaded | replaced | skipped | rejected
    error         VARCHAR,
    run_id        VARCHAR,
    started_at    TIMESTAMP,
    finished_at   TIMESTAMP
)
"""

QUARANTINE_DDL = """
CREATE TABLE IF NOT EXISTS raw.quarantine (
    source         VARCHAR NOT NULL,
    file_name      VARCHAR NOT NULL,
    file_sha256    VARCHAR NOT NULL,
    row_number     BIGINT,            -- record position in the file, numbered as _row_number (also for unparseable lines)
    raw_text       VARCHAR,           -- the record as read, JSON of the raw strings or the raw line
    reason         VARCHAR NOT NULL,
    run_id         VARCHAR,
    quarantined_at TIMESTAMP
)
"""
