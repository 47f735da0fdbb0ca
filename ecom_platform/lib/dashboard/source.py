"""What the dashboard reads: the BI copy's catalogue, and why a panel has no data.

A panel whose table is missing or empty gets a reason a person can act on: the model that
did not publish and why (``ml.model_status``), the optional input that has not landed
and where to drop it (``bi.data_sources``), or the table that is not there yet.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import duckdb

from ecom_platform.lib.warehouse import sql_ident

# The optional input whose absence leaves a table empty.
TABLE_INPUT = {
    "bi.category_popularity": "events",
    "bi.funnel_conversion": "events",
    "bi.category_price_stats": "events",
    "bi.user_engagement": "events",
    "bi.user_top_category_brand": "events",
}

# Tables the publish step builds from a model's output (their model is the reason they are absent).
DERIVED_FROM = {"bi.customers_at_risk": "ml.churn_scores", "bi.product_forecast": "ml.demand_forecast"}


def plain(value):
    """A JSON-ready value: dates as ISO text, decimals as floats."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


@dataclass
class Source:
    con: duckdb.DuckDBPyConnection
    tables: dict[str, list[str]] = field(default_factory=dict)  # "schema.table" -> columns
    rows: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, dict] = field(default_factory=dict)  # ml.model_status by model
    sources: dict[str, dict] = field(default_factory=dict)  # bi.data_sources by input

    @classmethod
    def open(cls, con: duckdb.DuckDBPyConnection) -> Source:
        src = cls(con)
        for schema, table, col in con.execute(
            """SELECT table_schema, table_name, column_name FROM information_schema.columns
               WHERE table_schema IN ('bi', 'ml', 'meta') ORDER BY table_schema, table_name, ordinal_position"""
        ).fetchall():
            src.tables.setdefault(f"{schema}.{table}", []).append(col)
        for t in src.tables:
            s, n = t.split(".", 1)
            src.rows[t] = int(con.execute(f"SELECT count(*) FROM {sql_ident(s)}.{sql_ident(n)}").fetchone()[0])
        for table, attr, key in (("ml.model_status", "statuses", "model"), ("bi.data_sources", "sources", "source")):
            if src.has(table):
                getattr(src, attr).update({r[key]: r for r in src.records(f"SELECT * FROM {table}")})
        return src

    def has(self, table: str) -> bool:
        return self.rows.get(table, 0) > 0

    def q(self, sql: str, params: list | None = None) -> list[tuple]:
        return self.con.execute(sql, params or []).fetchall()

    def records(self, sql: str, params: list | None = None) -> list[dict]:
        cur = self.con.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [{n: plain(v) for n, v in zip(names, r)} for r in cur.fetchall()]

    def columns(self, sql: str, params: list | None = None) -> dict[str, list]:
        """Column-wise lists (compact in JSON)."""
        cur = self.con.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        rows = cur.fetchall()
        return {n: [plain(r[i]) for r in rows] for i, n in enumerate(names)}

    # ------------------------------------------------------------------ reasons
    def input_gap(self, source: str, purpose: str = "to fill this panel") -> str | None:
        """ "No events file has landed ..." when that optional input has no file loaded."""
        src = self.sources.get(source)
        if src is None or src.get("files_loaded"):
            return None
        return (
            f"No {source} file has landed: drop {source} exports into {src['landing_folder']} "
            f"{purpose} (it fills: {src['fills']})."
        )

    def model_of(self, table: str) -> tuple[str, dict] | None:
        name = DERIVED_FROM.get(table, table).split(".", 1)[1]
        for model, st in self.statuses.items():
            if name in [t.strip() for t in (st.get("tables") or "").split(",")]:
                return model, st
        return None

    def model_gap(self, table: str) -> str | None:
        """The reason the model behind ``table`` has not published it, when it has not."""
        found = self.model_of(table)
        if not found or found[1].get("published"):
            return None
        model, st = found
        change = st.get("what_would_change_it")
        return f"Model {model} not published: {st['reason']}." + (f" What would change it: {change}." if change else "")

    def missing(self, *tables: str) -> str | None:
        """Why the first of ``tables`` that is missing or empty cannot fill a panel (None: all there)."""
        for table in tables:
            if self.has(table):
                continue
            if (table.startswith("ml.") or table in DERIVED_FROM) and (gap := self.model_gap(table)):
                return gap
            if table in TABLE_INPUT and (gap := self.input_gap(TABLE_INPUT[table])):
                return gap
            if table not in self.tables:
                if table.startswith("ml.") or table in DERIVED_FROM:
                    return f"Not yet available: {table} is not in the BI copy yet (the model has not published it)."
                return f"Not yet available: {table} is not in the BI copy (publish again with this version)."
            return f"Not yet available: {table} has no rows yet."
        return None

    def stale_note(self, table: str) -> str | None:
        """A model's table shown as last published while the latest run did not publish."""
        if not self.has(table):
            return None
        found = self.model_of(table)
        if not found or found[1].get("published"):
            return None
        gap = self.model_gap(table)
        when = plain(found[1].get("last_published_at")) or "earlier"
        return f"Showing the version published {when}; the latest run did not publish. {gap}"
