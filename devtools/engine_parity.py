"""Table-by-table equality of two builds of the warehouse (DuckDB's and Spark's), in DuckDB.

    python -m devtools.engine_parity LEFT.duckdb RIGHT.duckdb [--schemas marts,bi]

Both files hold the same tables (the Spark engine copies what Spark built into its DuckDB
file). For every base table of the schemas: the same columns with the same types, in the
same order, and the same rows as a multiset (``EXCEPT ALL`` both ways), so money is equal
to the cent (DECIMAL compared exactly) and codes are equal character for character.
Exits 1 and names each table that differs.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ecom_platform.lib.warehouse import sql_ident, sql_literal

DEFAULT_SCHEMAS = ("marts", "bi")


@dataclass
class TableParity:
    schema: str
    name: str
    rows_left: int = 0
    rows_right: int = 0
    only_left: int = 0  # rows of the left build missing from the right one (with multiplicity)
    only_right: int = 0
    column_differences: list[str] = field(default_factory=list)
    missing: str | None = None  # "left" / "right": the table is absent from that build

    @property
    def equal(self) -> bool:
        return not (self.missing or self.column_differences or self.only_left or self.only_right)

    def describe(self) -> str:
        where = f"{self.schema}.{self.name}"
        if self.missing:
            return f"{where}: missing from the {self.missing} build"
        if self.column_differences:
            return f"{where}: columns differ: {'; '.join(self.column_differences)}"
        if self.only_left or self.only_right:
            return f"{where}: {self.only_left} row(s) only left, {self.only_right} only right"
        return f"{where}: equal, {self.rows_left:,} rows"


def _tables(con: duckdb.DuckDBPyConnection, catalog: str, schemas: tuple[str, ...]) -> set[tuple[str, str]]:
    rows = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_catalog = ? AND table_type = 'BASE TABLE' AND table_schema IN (SELECT unnest(?))",
        [catalog, list(schemas)],
    ).fetchall()
    return {(s, t) for s, t in rows}


def _columns(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, name: str) -> list[tuple[str, str]]:
    return con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = ? AND table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [catalog, schema, name],
    ).fetchall()


def compare(left: Path | str, right: Path | str, schemas: tuple[str, ...] = DEFAULT_SCHEMAS) -> list[TableParity]:
    """Every table of ``schemas`` in either file, compared (read-only)."""
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH {sql_literal(str(left))} AS l (READ_ONLY)")
        con.execute(f"ATTACH {sql_literal(str(right))} AS r (READ_ONLY)")
        in_left, in_right = _tables(con, "l", schemas), _tables(con, "r", schemas)
        out = []
        for schema, name in sorted(in_left | in_right):
            result = TableParity(schema, name)
            out.append(result)
            if (schema, name) not in in_right or (schema, name) not in in_left:
                result.missing = "right" if (schema, name) not in in_right else "left"
                continue
            lcols, rcols = _columns(con, "l", schema, name), _columns(con, "r", schema, name)
            if lcols != rcols:
                result.column_differences = [f"{a} vs {b}" for a, b in zip(lcols, rcols) if a != b] or [
                    f"{len(lcols)} vs {len(rcols)} columns"
                ]
                continue
            lt = f"l.{sql_ident(schema)}.{sql_ident(name)}"
            rt = f"r.{sql_ident(schema)}.{sql_ident(name)}"
            result.rows_left = con.execute(f"SELECT count(*) FROM {lt}").fetchone()[0]
            result.rows_right = con.execute(f"SELECT count(*) FROM {rt}").fetchone()[0]
            result.only_left = con.execute(
                f"SELECT count(*) FROM (SELECT * FROM {lt} EXCEPT ALL SELECT * FROM {rt})"
            ).fetchone()[0]
            result.only_right = con.execute(
                f"SELECT count(*) FROM (SELECT * FROM {rt} EXCEPT ALL SELECT * FROM {lt})"
            ).fetchone()[0]
        return out
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("left")
    parser.add_argument("right")
    parser.add_argument("--schemas", default=",".join(DEFAULT_SCHEMAS))
    args = parser.parse_args(argv)
    results = compare(args.left, args.right, tuple(s for s in args.schemas.split(",") if s))
    for r in results:
        print(("ok    " if r.equal else "DIFF  ") + r.describe())
    different = [r for r in results if not r.equal]
    print(f"{len(results) - len(different)} of {len(results)} tables equal")
    return 1 if different else 0


if __name__ == "__main__":
    sys.exit(main())
