"""Data-quality checks that SQL tests in dbt cannot express well (pure, no Dagster imports).

Each returns a :class:`CheckOutcome`; Dagster asset checks wrap them thinly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from ecom_platform.lib.schemas import SOURCES


@dataclass
class CheckOutcome:
    passed: bool
    description: str
    metadata: dict = field(default_factory=dict)


def required_not_null(con: duckdb.DuckDBPyConnection, source: str) -> CheckOutcome:
    src = SOURCES[source]
    required = [c.name for c in src.columns if c.required]
    lineage = ["_source_file", "_file_sha256", "_row_number", "_ingested_at", "_run_id"]
    cols = required + lineage
    counts = con.execute(
        "SELECT " + ", ".join(f'count(*) - count("{c}")' for c in cols) + f" FROM {src.table}"
    ).fetchone()
    nulls = {c: int(n) for c, n in zip(cols, counts) if n}
    if nulls:
        return CheckOutcome(False, f"{src.table}: NULLs in required columns: {nulls}", {"null_counts": nulls})
    return CheckOutcome(True, f"{src.table}: no NULLs in {', '.join(cols)}", {"columns_checked": cols})


def unique_lineage_key(con: duckdb.DuckDBPyConnection, source: str, run_id: str | None = None) -> CheckOutcome:
    """Every (file sha256, row number) of the source's table occurs once.

    With ``run_id``, only the keys of the files that run loaded are checked (a landing-sensor
    run): two rows share a key only if they share a file's sha256, and every older file was
    checked when it arrived, so the table is still checked whole, at the cost of the new
    files instead of the history (at scale 10, 4.2 s for 31.7M events, 0.01 s for a day's).
    """
    src = SOURCES[source]
    scope, params, of_what = "", [], ""
    if run_id is not None:
        scope = f"WHERE _file_sha256 IN (SELECT DISTINCT _file_sha256 FROM {src.table} WHERE _run_id = ?)"
        params, of_what = [run_id], " of the files this run loaded"
    # A 64-bit hash of the key is grouped first, then only the rows whose hash repeats are
    # grouped by the key itself: equal keys have equal hashes, so the result is the same as
    # grouping every row by its 64-character sha256 and row number, at about 60% of the cost.
    dupes = con.execute(
        f"""
        WITH scoped AS (SELECT _file_sha256, _row_number FROM {src.table} {scope}),
        repeated_hashes AS (
            SELECT hash(_file_sha256, _row_number) AS h FROM scoped GROUP BY h HAVING count(*) > 1
        )
        SELECT _file_sha256, _row_number, count(*) AS n FROM scoped
        WHERE hash(_file_sha256, _row_number) IN (SELECT h FROM repeated_hashes)
        GROUP BY ALL HAVING count(*) > 1 ORDER BY n DESC LIMIT 5
        """,
        params,
    ).fetchall()
    if dupes:
        total = con.execute(
            f"""SELECT count(*) FROM (
                SELECT 1 FROM {src.table} {scope} GROUP BY _file_sha256, _row_number HAVING count(*) > 1
            )""",
            params,
        ).fetchone()[0]
        return CheckOutcome(
            False,
            f"{src.table}: {total} lineage keys (file sha256, row number) occur more than once, "
            "so some file was loaded twice",
            {"duplicate_keys": int(total), "examples": [list(map(str, d)) for d in dupes]},
        )
    return CheckOutcome(True, f"{src.table}: every (file sha256, row number){of_what} is unique")


def quarantine_rate(con: duckdb.DuckDBPyConnection, source: str, max_rate: float) -> CheckOutcome:
    src = SOURCES[source]
    accepted = con.execute(f"SELECT count(*) FROM {src.table}").fetchone()[0]
    rejected = con.execute("SELECT count(*) FROM raw.quarantine WHERE source = ?", [source]).fetchone()[0]
    total = accepted + rejected
    rate = rejected / total if total else 0.0
    top = con.execute(
        """
        SELECT regexp_replace(reason, '''[^'']*''', '''…''', 'g') AS r, count(*) AS n
        FROM raw.quarantine WHERE source = ? GROUP BY r ORDER BY n DESC, r LIMIT 5
        """,
        [source],
    ).fetchall()
    meta = {
        "rows_accepted": int(accepted),
        "rows_quarantined": int(rejected),
        "quarantine_rate": round(rate, 6),
        "threshold": max_rate,
        "top_reasons": {r: int(n) for r, n in top},
    }
    passed = rate <= max_rate
    verdict = "within" if passed else "ABOVE"
    return CheckOutcome(
        passed,
        f"{source}: {rejected:,} of {total:,} rows quarantined ({rate:.4%}), {verdict} the {max_rate:.2%} threshold",
        meta,
    )
