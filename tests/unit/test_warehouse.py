import duckdb

from ecom_platform.lib.warehouse import table_row_counts


def test_row_counts_cover_base_tables_only_in_one_pass():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA marts; CREATE SCHEMA staging")
    con.execute("CREATE TABLE marts.fct AS SELECT range AS i FROM range(7)")
    con.execute("CREATE TABLE marts.empty (i INTEGER)")
    con.execute('CREATE TABLE staging."odd name" AS SELECT 1 AS i')
    con.execute("CREATE VIEW staging.v AS SELECT * FROM marts.fct")
    counts = table_row_counts(con, [("marts", "fct"), ("marts", "empty"), ("staging", "odd name"),
                                    ("staging", "v"), ("marts", "missing")])
    assert counts == {("marts", "fct"): 7, ("marts", "empty"): 0, ("staging", "odd name"): 1}
    assert table_row_counts(con, []) == {}
    assert table_row_counts(con, [("staging", "v")]) == {}
