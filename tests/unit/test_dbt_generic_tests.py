"""The generic tests written in dbt_project/macros/generic_tests. `unique_combination_of_columns`
finds exactly the combinations that a plain GROUP BY over the values finds, in both its forms:
over a table (a relation: a hash first, then the values) and over a scoped subquery (one pass).
`not_null_columns` names each column holding NULLs with their count.

The macro's body is rendered with Jinja as dbt renders it (`model` is the relation, or the
subquery get_where_subquery returns; the arguments are its keyword arguments) and run in
DuckDB on small tables."""

import re

import duckdb
import jinja2
import pytest

from ecom_platform.config import DBT_PROJECT_DIR

GENERIC_TESTS = DBT_PROJECT_DIR / "macros" / "generic_tests"
# The project's engine macros (macros/portable.sql) as the DuckDB build renders them: each
# `ecom_platform.<name>` call resolves to its `default__<name>` form, as adapter.dispatch does.
PORTABLE = jinja2.Environment().from_string((DBT_PROJECT_DIR / "macros" / "portable.sql").read_text()).module


class _DuckDB:
    def __getattr__(self, name: str):
        return getattr(PORTABLE, f"default__{name}")


class Relation(str):
    """What dbt passes for an unscoped model: a relation (it has an identifier)."""

    @property
    def identifier(self) -> str:
        return str(self)


def render_test(name: str, **arguments) -> str:
    """The body of the generic test `name` (macros/generic_tests/<name>.sql), rendered."""
    path = GENERIC_TESTS / f"{name}.sql"
    body = re.search(rf"{{%\s*test {name}\(.*?\)\s*%}}(.*){{%\s*endtest\s*%}}", path.read_text(), re.S)
    assert body, f"{path}: no test block"
    return jinja2.Environment().from_string(body.group(1)).render(ecom_platform=_DuckDB(), **arguments)


def render(model: str, columns: list[str]) -> str:
    return render_test("unique_combination_of_columns", model=model, combination_of_columns=columns)


def failures(con, model: str, columns: list[str]) -> list[tuple]:
    return sorted(con.execute(render(model, columns)).fetchall(), key=str)


def plain_group_by(con, model: str, columns: list[str]) -> list[tuple]:
    cols = ", ".join(columns)
    return sorted(
        con.execute(f"select {cols}, count(*) from {model} group by {cols} having count(*) > 1").fetchall(), key=str
    )


@pytest.fixture(params=["relation", "subquery"])
def as_model(request):
    """The table `name` as the test's model: a relation, or a subquery over every row."""
    if request.param == "relation":
        return Relation
    return lambda name: f"(select * from {name}) dbt_subquery"


def test_a_relation_is_read_twice_by_hash_a_subquery_once():
    assert "repeated_hashes" in render(Relation("lines"), ["a", "b"])
    one_pass = render("(select * from lines) dbt_subquery", ["a", "b"])
    assert "repeated_hashes" not in one_pass and one_pass.count("from (select * from lines)") == 1


@pytest.fixture
def con():
    c = duckdb.connect()
    c.execute("""
        create table lines as
        select 'sha-' || (i % 7) as _file_sha256, i // 7 as _row_number from range(7000) t(i)
    """)
    yield c
    c.close()


def test_passes_when_every_combination_is_unique(con, as_model):
    assert failures(con, as_model("lines"), ["_file_sha256", "_row_number"]) == []


def test_reports_each_repeated_combination_with_its_count(con, as_model):
    con.execute("insert into lines values ('sha-3', 42), ('sha-3', 42), ('sha-5', 0)")
    expected = [("sha-3", 42, 3), ("sha-5", 0, 2)]
    assert failures(con, as_model("lines"), ["_file_sha256", "_row_number"]) == expected
    assert plain_group_by(con, "lines", ["_file_sha256", "_row_number"]) == expected


def test_same_value_in_one_column_only_is_not_a_repeat(con, as_model):
    # ('sha-1', 1) and ('sha-2', 1) share a row number, not the combination
    assert failures(con, as_model("lines"), ["_file_sha256", "_row_number"]) == []
    assert len(failures(con, as_model("lines"), ["_row_number"])) == 1000


def test_nulls_group_together_as_in_group_by(con, as_model):
    con.execute("insert into lines values (NULL, 1), (NULL, 1), (NULL, 2)")
    assert failures(con, as_model("lines"), ["_file_sha256", "_row_number"]) == [(None, 1, 2)]
    assert plain_group_by(con, "lines", ["_file_sha256", "_row_number"]) == [(None, 1, 2)]


def test_model_given_as_a_filtered_subquery(con):
    # dbt passes a `where` config (and macros/new_rows.sql its run filter) as a subquery
    con.execute("insert into lines values ('sha-3', 42)")
    model = "(select * from lines where _file_sha256 <> 'sha-3') dbt_subquery"
    assert failures(con, model, ["_file_sha256", "_row_number"]) == []
    assert failures(con, Relation("lines"), ["_file_sha256", "_row_number"]) == [("sha-3", 42, 2)]


def test_not_null_columns_names_each_column_with_nulls_and_their_count(con):
    con.execute("create table people (id integer, name varchar, city varchar)")
    sql = render_test("not_null_columns", model="people", columns=["id", "name", "city"])
    assert con.execute(sql).fetchall() == []  # an empty table passes
    con.execute("insert into people values (1, 'a', 'x'), (2, NULL, NULL), (3, NULL, 'y'), (NULL, 'b', 'z')")
    assert sorted(con.execute(sql).fetchall()) == [("city", 1), ("id", 1), ("name", 2)]
    # one column: the same as dbt's not_null, as a count
    assert con.execute(render_test("not_null_columns", model="people", columns=["name"])).fetchall() == [("name", 2)]
    # a scoped model (a subquery) reads only its rows
    scoped = "(select * from people where id <= 1) dbt_subquery"
    assert con.execute(render_test("not_null_columns", model=scoped, columns=["id", "name"])).fetchall() == []
