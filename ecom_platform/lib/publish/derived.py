"""BI tables built at publish time, where a dbt model cannot be: they join the ML outputs
(written after dbt has run) with the marts.

Each table has a contract here: its columns with types and descriptions, its key and the
warehouse tables it needs. The publish builds it from the live warehouse (raw ids) into an
in-memory scratch catalog, checks it against the contract (names, types, key unique and
not null: a mismatch is a :class:`PublishError` naming the table and column), then copies
it into the BI copy like every other table, pseudonymising its id columns with the same
mapping. A table whose inputs are missing (a model that has never published) or lack a
column it reads is left out and named, and the dashboard says why.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from ecom_platform.lib.publish.common import BI_SCHEMA, PublishError, _lit, _q, _Table
from ecom_platform.lib.publish.privacy import id_columns

# A customer is "at risk" from this predicted churn probability on.
AT_RISK_PROBABILITY = 0.5

# The forecast totals of bi.product_forecast cover this many weeks from the first forecast week.
FORECAST_SUM_WEEKS = 4


@dataclass(frozen=True)
class DerivedTable:
    name: str  # in schema bi
    description: str
    columns: tuple[tuple[str, str, str], ...]  # (name, DuckDB type, description)
    key: tuple[str, ...]
    needs: tuple[str, ...]  # warehouse tables, schema.table
    sql: str  # {src} = the warehouse's catalog

    @property
    def qualified(self) -> str:
        return f"{BI_SCHEMA}.{self.name}"


CUSTOMERS_AT_RISK = DerivedTable(
    name="customers_at_risk",
    description=(
        "Grain: one customer whose predicted churn probability is at least "
        f"{AT_RISK_PROBABILITY} (ml.churn_scores), ranked by revenue at risk. Built at publish "
        "time from the churn model's latest published scores and the RFM mart; absent when the "
        "churn model has never published (ml.model_status says why)."
    ),
    columns=(
        ("risk_rank", "INTEGER", "1 = the most revenue at risk (ties: higher churn probability, then customer id)."),
        ("customer_id", "BIGINT", "The customer (pseudonymised in the BI copy when a key is set)."),
        ("country", "VARCHAR", "The customer's country (most frequent on their invoices)."),
        ("rfm_segment", "VARCHAR", "The customer's RFM segment (bi.customer_rfm.segment); NULL when not scored."),
        ("churn_probability", "DOUBLE", "Predicted probability that the customer does not order in the next period."),
        ("risk_band", "VARCHAR", "The churn model's band for the probability: low, medium or high."),
        ("last_order_date", "DATE", "Day of the customer's last non-cancelled order."),
        ("order_count", "INTEGER", "Distinct non-cancelled invoices (RFM frequency)."),
        ("net_revenue", "DECIMAL(18,2)", "Net revenue the customer brought, cancellations netted (RFM monetary)."),
        ("revenue_at_risk", "DECIMAL(18,2)", "net_revenue x churn_probability: the value a loss would cost, weighted."),
        ("top_drivers", "VARCHAR", "The features that moved this customer's score most, with their signed effect."),
        ("as_of_date", "DATE", "The day the churn scores were computed for."),
    ),
    key=("customer_id",),
    needs=("ml.churn_scores", "marts.customer_rfm", "marts.dim_customers"),
    sql=f"""
        WITH scored AS (
            SELECT s.customer_id, s.churn_probability, s.risk_band, s.top_drivers, s.as_of_date,
                   r.segment, r.frequency, r.monetary, c.country, c.last_order_at
            FROM {{src}}.ml.churn_scores AS s
            LEFT JOIN {{src}}.marts.customer_rfm AS r ON r.customer_id = s.customer_id
            LEFT JOIN {{src}}.marts.dim_customers AS c ON c.customer_id = s.customer_id
            WHERE s.churn_probability >= {AT_RISK_PROBABILITY}
        )
        SELECT
            CAST(row_number() OVER (ORDER BY coalesce(monetary, 0) * churn_probability DESC,
                                    churn_probability DESC, customer_id) AS INTEGER) AS risk_rank,
            CAST(customer_id AS BIGINT) AS customer_id,
            CAST(country AS VARCHAR) AS country,
            CAST(segment AS VARCHAR) AS rfm_segment,
            CAST(churn_probability AS DOUBLE) AS churn_probability,
            CAST(risk_band AS VARCHAR) AS risk_band,
            CAST(last_order_at AS DATE) AS last_order_date,
            CAST(frequency AS INTEGER) AS order_count,
            CAST(round(monetary, 2) AS DECIMAL(18,2)) AS net_revenue,
            CAST(round(coalesce(monetary, 0) * churn_probability, 2) AS DECIMAL(18,2)) AS revenue_at_risk,
            CAST(top_drivers AS VARCHAR) AS top_drivers,
            CAST(as_of_date AS DATE) AS as_of_date
        FROM scored
    """,
)


PRODUCT_FORECAST = DerivedTable(
    name="product_forecast",
    description=(
        "Grain: one product the demand forecast covers (ml.demand_forecast, product series in "
        f"units). The next {FORECAST_SUM_WEEKS} weeks' forecast beside the last {FORECAST_SUM_WEEKS} complete weeks "
        "sold, with the safety stock and reorder point. Built at publish time; absent when the "
        "forecast model has never published (ml.model_status says why)."
    ),
    columns=(
        ("stock_code", "VARCHAR", "The product."),
        ("product_description", "VARCHAR", "The product's description (bi.product_bestsellers)."),
        ("category", "VARCHAR", "The product's category; NULL without a product catalogue."),
        ("revenue_rank", "INTEGER", "The product's rank by net revenue over all history (1 = best)."),
        ("first_forecast_week", "DATE", "Monday of the first forecast week (the week after the last complete one)."),
        (
            f"units_last_{FORECAST_SUM_WEEKS}_weeks",
            "BIGINT",
            f"Net units sold in the {FORECAST_SUM_WEEKS} weeks before first_forecast_week.",
        ),
        (
            f"forecast_next_{FORECAST_SUM_WEEKS}_weeks",
            "DOUBLE",
            f"Forecast units over the {FORECAST_SUM_WEEKS} weeks from first_forecast_week.",
        ),
        (
            f"lower_80_next_{FORECAST_SUM_WEEKS}_weeks",
            "DOUBLE",
            "Sum of the weekly 80% lower bounds over the same weeks.",
        ),
        (
            f"upper_80_next_{FORECAST_SUM_WEEKS}_weeks",
            "DOUBLE",
            "Sum of the weekly 80% upper bounds over the same weeks.",
        ),
        ("lead_time_weeks", "DOUBLE", "Supplier lead time the reorder point assumes, in weeks."),
        ("service_level", "DOUBLE", "Probability of not running out during the lead time that safety stock targets."),
        ("safety_stock", "DOUBLE", "Units held against forecast error over the lead time."),
        (
            "reorder_point_units",
            "DOUBLE",
            "Reorder when stock falls to this many units: lead-time demand + safety stock.",
        ),
        ("model", "VARCHAR", "The forecast model that produced these figures."),
    ),
    key=("stock_code",),
    needs=("ml.demand_forecast", "bi.product_bestsellers", "bi.product_sales_weekly"),
    sql=f"""
        WITH f AS (
            SELECT stock_code,
                   any_value(category) AS category,
                   CAST(min(week_start) AS DATE) AS first_week,
                   sum(forecast) FILTER (WHERE horizon <= {FORECAST_SUM_WEEKS}) AS fc,
                   sum(lower_80) FILTER (WHERE horizon <= {FORECAST_SUM_WEEKS}) AS lo,
                   sum(upper_80) FILTER (WHERE horizon <= {FORECAST_SUM_WEEKS}) AS hi,
                   any_value(lead_time_weeks) AS lead_time_weeks,
                   any_value(service_level) AS service_level,
                   any_value(safety_stock) AS safety_stock,
                   any_value(reorder_point_units) AS reorder_point_units,
                   any_value(model) AS model
            FROM {{src}}.ml.demand_forecast
            WHERE series_type = 'product' AND measure = 'units'
            GROUP BY stock_code
        ),
        recent AS (
            SELECT f.stock_code, sum(w.net_units) AS units
            FROM f JOIN {{src}}.bi.product_sales_weekly AS w
              ON w.stock_code = f.stock_code
             AND w.week_start >= f.first_week - INTERVAL {7 * FORECAST_SUM_WEEKS} DAY
             AND w.week_start < f.first_week
            GROUP BY f.stock_code
        )
        SELECT
            CAST(f.stock_code AS VARCHAR) AS stock_code,
            CAST(b.product_description AS VARCHAR) AS product_description,
            CAST(f.category AS VARCHAR) AS category,
            CAST(b.revenue_rank AS INTEGER) AS revenue_rank,
            f.first_week AS first_forecast_week,
            CAST(coalesce(recent.units, 0) AS BIGINT) AS units_last_{FORECAST_SUM_WEEKS}_weeks,
            CAST(f.fc AS DOUBLE) AS forecast_next_{FORECAST_SUM_WEEKS}_weeks,
            CAST(f.lo AS DOUBLE) AS lower_80_next_{FORECAST_SUM_WEEKS}_weeks,
            CAST(f.hi AS DOUBLE) AS upper_80_next_{FORECAST_SUM_WEEKS}_weeks,
            CAST(f.lead_time_weeks AS DOUBLE) AS lead_time_weeks,
            CAST(f.service_level AS DOUBLE) AS service_level,
            CAST(f.safety_stock AS DOUBLE) AS safety_stock,
            CAST(f.reorder_point_units AS DOUBLE) AS reorder_point_units,
            CAST(f.model AS VARCHAR) AS model
        FROM f
        LEFT JOIN {{src}}.bi.product_bestsellers AS b ON b.stock_code = f.stock_code
        LEFT JOIN recent ON recent.stock_code = f.stock_code
        ORDER BY b.revenue_rank NULLS LAST, f.stock_code
    """,
)


DERIVED_TABLES: tuple[DerivedTable, ...] = (CUSTOMERS_AT_RISK, PRODUCT_FORECAST)

SCRATCH = "scratch"


def _present(con: duckdb.DuckDBPyConnection, catalog: str) -> set[str]:
    return {
        f"{s}.{t}"
        for s, t in con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_catalog = ?", [catalog]
        ).fetchall()
    }


def build_derived(con: duckdb.DuckDBPyConnection, src: str) -> tuple[list[_Table], dict[str, str]]:
    """Build every derived table whose inputs exist into ``scratch.bi`` (attached in memory).

    Returns the tables built (to copy like the others, from catalog ``scratch``) and, for
    each table left out, why.
    """
    con.execute(f"ATTACH IF NOT EXISTS ':memory:' AS {SCRATCH}")
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCRATCH}.{BI_SCHEMA}")
    present = _present(con, src)
    built: list[_Table] = []
    skipped: dict[str, str] = {}
    for d in DERIVED_TABLES:
        absent = [n for n in d.needs if n not in present]
        if absent:
            skipped[d.qualified] = f"not built: {', '.join(absent)} not in the warehouse"
            continue
        target = f"{SCRATCH}.{BI_SCHEMA}.{_q(d.name)}"
        try:
            con.execute(f"CREATE OR REPLACE TABLE {target} AS {d.sql.format(src=_q(src))}")
        except duckdb.BinderException as e:  # an input without a column this table reads
            skipped[d.qualified] = f"not built: its inputs lack a column it reads ({str(e).splitlines()[0]})"
            continue
        check_contract(con, d, target)
        con.execute(f"COMMENT ON TABLE {target} IS {_lit(d.description)}")
        for name, _, text in d.columns:
            con.execute(f"COMMENT ON COLUMN {target}.{_q(name)} IS {_lit(text)}")
        columns = [(n, t) for n, t, _ in d.columns]
        built.append(_Table(BI_SCHEMA, d.name, columns, id_columns(columns)))
    return built, skipped


def check_contract(con: duckdb.DuckDBPyConnection, d: DerivedTable, target: str) -> None:
    """The table has the contract's columns in order with its types, and its key is unique and not null."""
    catalog, schema, _ = target.split(".", 2)
    got = con.execute(
        """SELECT column_name, data_type FROM information_schema.columns
           WHERE table_catalog = ? AND table_schema = ? AND table_name = ? ORDER BY ordinal_position""",
        [catalog, schema, d.name],
    ).fetchall()
    want = [(n, t) for n, t, _ in d.columns]
    if got != want:
        diff = [f"{w[0]} {w[1]} (got {g[0]} {g[1]})" for w, g in zip(want, got) if w != g]
        extra = f"; {len(got)} columns, the contract has {len(want)}" if len(got) != len(want) else ""
        raise PublishError(f"{d.qualified} breaks its contract: {', '.join(diff) or 'column count'}{extra}")
    key = ", ".join(_q(k) for k in d.key)
    nulls = " OR ".join(f"{_q(k)} IS NULL" for k in d.key)
    (n_null,) = con.execute(f"SELECT count(*) FROM {target} WHERE {nulls}").fetchone()
    if n_null:
        raise PublishError(f"{d.qualified} breaks its contract: {n_null} row(s) with a NULL key ({key})")
    (n_dup,) = con.execute(
        f"SELECT count(*) FROM (SELECT {key} FROM {target} GROUP BY {key} HAVING count(*) > 1)"
    ).fetchone()
    if n_dup:
        raise PublishError(f"{d.qualified} breaks its contract: {n_dup} duplicated key value(s) ({key})")
